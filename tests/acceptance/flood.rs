//! Flood (issue 9): a test process next to node 1 sends, as fast as it can
//! for 30 s (`ROOST_FLOOD_SECS`), datagrams that claim to hear node 1 and
//! carry OGMs of 100 000 forged originators. Node 1 must keep its RSS under
//! the cap, keep its route to node 2, and answer `roost status` throughout.

use super::*;
use roost::wire::{Builder, HeaderRepr, IhuEntry, IhuRepr, OgmRepr, MSG_IHU, MSG_OGM};
use std::net::{Ipv6Addr, SocketAddrV6, UdpSocket};

const FORGED: u32 = 100_000;
const PER_DATAGRAM: u32 = 40;
/// The RSS node 1 must stay under (default caps: 4096 originators); a
/// 32 MB router has about 24 MB for user space.
const RSS_CAP_KB: u64 = 24 * 1024;

fn forged(seq: u16, me: Ipv6Addr, first: u32) -> Vec<u8> {
    let h = HeaderRepr {
        flags: 0,
        length: 0,
        seqno: seq,
        interval_ms: 750,
    };
    let mut b = Builder::new(h, 1400);
    let e = [IhuEntry {
        iid: IhuEntry::iid_of(&me),
        rxq: 255,
    }];
    b.push(MSG_IHU, IhuRepr::buffer_len(1), |buf| {
        IhuRepr::emit(&e, buf)
    });
    for k in first..first + PER_DATAGRAM {
        let k = k % FORGED;
        let o = OgmRepr {
            originator: Ipv6Addr::new(0xfd66, 0, 0, 0, 0, 0, (k >> 16) as u16, k as u16),
            seqno: seq.into(),
            ttl: 50,
            tq: 255,
            flags: 0x02,
            tlv_bytes: &[],
        };
        b.push(MSG_OGM, o.buffer_len(), |buf| o.emit(buf));
    }
    b.finish()
}

fn proc_field(pid: u32, file: &str, key: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/{file}")).unwrap_or_default();
    text.lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let get = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    get(11) + get(12)
}

#[test]
fn flood_of_forged_originators() {
    if !have_root() {
        return;
    }
    let secs: u64 = std::env::var("ROOST_FLOOD_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let mut m = Mesh::new("flood", 2);
    m.connect(1, 2);
    let fl = Netns::bare("flood-f");
    run(&[
        "link",
        "add",
        "mf",
        "netns",
        &m.node(1).ns.name,
        "type",
        "veth",
        "peer",
        "name",
        "fx",
        "netns",
        &fl.name,
    ]);
    m.node(1).ns.ip(&["link", "set", "mf", "up"]);
    fl.ip(&["link", "set", "fx", "up"]);
    m.node_mut(1).ifaces.push("mf".into());
    m.start_all();
    m.wait_converged(Duration::from_secs(20));
    let pid = m.node(1).daemon.as_ref().unwrap().0.id();
    m.node(1).ns.wait_dad();
    let me = m.node(1).ns.link_local("mf");
    fl.wait_dad();
    let fx = fl.enter(|| nix::net::if_::if_nametoindex("fx").unwrap());
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    let fl_name = fl.name.clone();
    let flooder = std::thread::spawn(move || {
        let f = File::open(format!("/run/netns/{fl_name}")).unwrap();
        // SAFETY: a valid namespace fd; only this thread changes netns.
        assert_eq!(
            unsafe { libc::setns(std::os::fd::AsRawFd::as_raw_fd(&f), libc::CLONE_NEWNET) },
            0
        );
        let s = UdpSocket::bind("[::]:0").unwrap();
        let dst = SocketAddrV6::new(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 0x76), 4310, 0, fx);
        let (mut sent, mut failed) = (0u64, 0u64);
        let mut seq = 0u16;
        let mut first = 0u32;
        while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
            let d = forged(seq, me, first);
            seq = seq.wrapping_add(1);
            first = (first + PER_DATAGRAM) % FORGED;
            match s.send_to(&d, dst) {
                Ok(_) => sent += 1,
                Err(_) => failed += 1,
            }
        }
        (sent, failed)
    });
    let rss0 = proc_field(pid, "status", "VmRSS:");
    let ticks0 = cpu_ticks(pid);
    let t0 = Instant::now();
    let (mut answered, mut asked, mut route_lost, mut peak_rss) = (0, 0, 0, 0u64);
    while t0.elapsed() < Duration::from_secs(secs) {
        std::thread::sleep(Duration::from_millis(500));
        peak_rss = peak_rss.max(proc_field(pid, "status", "VmRSS:"));
        asked += 1;
        if m.node(1).try_status().is_some() {
            answered += 1;
        }
        if !m
            .node(1)
            .routes()
            .iter()
            .any(|r| r.starts_with("10.77.0.2 "))
        {
            route_lost += 1;
        }
    }
    let elapsed = t0.elapsed().as_secs_f64();
    let cpu = (cpu_ticks(pid) - ticks0) as f64 / 100.0 / elapsed;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (sent, failed) = flooder.join().unwrap();
    let hwm = proc_field(pid, "status", "VmHWM:");
    let st = m.node(1).status_json();
    let c = &st["counters"];
    eprintln!(
        "flood {secs} s: {sent} datagrams sent ({:.0}/s, {failed} send errors), node 1 received {} \
         ({} rate-limited), {} originators kept (cap 4096), {} routes installed; \
         RSS {rss0} kB before, peak {peak_rss} kB (VmHWM {hwm} kB), CPU {:.0} % of a core; \
         status answered {answered}/{asked}; legit route missing in {route_lost} samples",
        sent as f64 / elapsed,
        c["rx_packets"],
        c["dropped"]["rate_limited"],
        st["originators"].as_u64().unwrap_or(0),
        st["kernel"]["installed"],
        cpu * 100.0,
    );
    assert_eq!(answered, asked, "roost status answered throughout");
    assert_eq!(route_lost, 0, "the legitimate route stayed");
    assert!(hwm < RSS_CAP_KB, "VmHWM {hwm} kB");
    assert!(st["originators"].as_u64().unwrap() <= 4096);
    drop(fl);
}
