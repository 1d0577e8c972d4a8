//! Internet sharing through mesh gateways, in throw-away network namespaces:
//!
//! ```text
//!   internet ns (upstream router 203.0.113.254 / 2001:db8:1::fe,
//!   "host" 198.51.100.10 / 2001:db8:100::10 on its lo)
//!        | up0                          | up0
//!   G1 (node 1) --- 3 --- 4 --- 6 (client)
//!   G2 (node 2) --/  \--- 5 --/
//!       (link 2-3 loses 20 %: G1 is the better gateway)
//! ```
//!
//! Gateways run `--gateway auto` and NAT (nft masquerade, IPv4 and IPv6)
//! into their uplink; everyone else is a client. The test checks that the
//! client reaches the host through the better gateway, that a long-lived TCP
//! connection survives a route change on its path, that a flapping path does
//! not move the client more than once, and measures the switch-over when
//! the better gateway's default route goes away.
//!
//! Needs root; fails loudly under `CI=true` without it. Namespaces are
//! `roosttest-<pid>-gw-*`; nothing leaves them.

mod common;
use common::mesh::*;
use common::{have_root, run, veth, Netns};

use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const HOST4: &str = "198.51.100.10";
const HOST6: &str = "2001:db8:100::10";

/// Moves the calling thread into namespace `name`.
fn setns(name: &str) {
    let fd = File::open(format!("/run/netns/{name}")).expect("open netns file");
    // SAFETY: a valid namespace fd; only this thread changes netns.
    let r = unsafe { libc::setns(fd.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(r, 0, "setns: {}", std::io::Error::last_os_error());
}

fn tx_packets(ns: &Netns, dev: &str) -> u64 {
    let j: serde_json::Value =
        serde_json::from_str(&ns.ip(&["-s", "-j", "link", "show", dev])).unwrap();
    j[0]["stats64"]["tx"]["packets"].as_u64().unwrap()
}

/// Which gateway carries the client's traffic: pings the host 10 times and
/// returns the gateway (1 or 2) whose uplink sent them.
fn carrier(m: &Mesh, host: &str) -> u8 {
    let before = [
        tx_packets(&m.node(1).ns, "up0"),
        tx_packets(&m.node(2).ns, "up0"),
    ];
    let ok = (0..10).filter(|_| m.node(6).ping(host)).count();
    assert!(ok >= 8, "client reached {host} only {ok}/10 times");
    let after = [
        tx_packets(&m.node(1).ns, "up0"),
        tx_packets(&m.node(2).ns, "up0"),
    ];
    let d = [after[0] - before[0], after[1] - before[1]];
    assert!(d[0] >= 8 || d[1] >= 8, "uplink counters moved by {d:?}");
    if d[0] >= d[1] {
        1
    } else {
        2
    }
}

/// One ping from the client to `host`: answered, and sent out by G`g`'s
/// uplink?
fn one_ping_via(m: &Mesh, host: &str, g: u8) -> bool {
    let before = tx_packets(&m.node(g).ns, "up0");
    m.node(6).ping(host) && tx_packets(&m.node(g).ns, "up0") > before
}

fn cut(node: &Node, dev: &str) {
    node.nft(&format!(
        "table inet roostcut {{\n\
         chain cutin {{ type filter hook input priority 0; iifname \"{dev}\" drop; }}\n\
         chain cutout {{ type filter hook output priority 0; oifname \"{dev}\" drop; }}\n\
         chain cutfwd {{ type filter hook forward priority 0; iifname \"{dev}\" drop; oifname \"{dev}\" drop; }}\n\
         }}\n"
    ));
}

/// Drops `pct` % of what arrives on `dev`.
fn lossy(node: &Node, dev: &str, pct: u8) {
    node.nft(&format!(
        "table inet roostloss {{\n chain i {{\n type filter hook input priority 0;\n iifname \"{dev}\" numgen random mod 100 < {pct} drop\n }}\n}}\n"
    ));
}

fn uncut(node: &Node) {
    run(&[
        "netns",
        "exec",
        &node.ns.name,
        "nft",
        "delete",
        "table",
        "inet",
        "roostcut",
    ]);
}

fn gateway_status(node: &Node) -> serde_json::Value {
    node.status_json()["gateway"].clone()
}

/// The gateways `node` knows (`roost gateways --json`).
fn known_gateways(node: &Node) -> Vec<String> {
    let out = std::process::Command::new("ip")
        .args(["netns", "exec", &node.ns.name, BIN, "gateways", "--json"])
        .args(["--control-socket", node.sock.to_str().unwrap()])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    v["gateways"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|g| g["originator"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn selected(node: &Node) -> Option<String> {
    gateway_status(node)["selected"]
        .as_str()
        .map(str::to_string)
}

#[test]
fn gateway_failover_tcp_and_flaps() {
    if !have_root() {
        return;
    }
    let mut m = Mesh::new("gw", 6);
    for (a, b) in [(1, 3), (2, 3), (3, 4), (3, 5), (4, 6), (5, 6)] {
        m.connect(a, b);
    }
    // The internet: an upstream router joined to both gateways' uplinks.
    let inet = Netns::bare("gw-inet");
    inet.ip(&["link", "add", "br0", "type", "bridge"]);
    inet.ip(&["link", "set", "br0", "up"]);
    inet.ip(&["addr", "add", "203.0.113.254/24", "dev", "br0"]);
    inet.ip(&["addr", "add", "2001:db8:1::fe/64", "dev", "br0", "nodad"]);
    inet.ip(&["addr", "add", &format!("{HOST4}/32"), "dev", "lo"]);
    inet.ip(&["addr", "add", &format!("{HOST6}/128"), "dev", "lo"]);
    for g in [1u8, 2] {
        let node = m.node(g);
        let peer = format!("g{g}");
        veth("up0", &node.ns.name, &peer, &inet.name);
        inet.ip(&["link", "set", &peer, "master", "br0", "up"]);
        node.ns.ip(&["link", "set", "up0", "up"]);
        node.ns
            .ip(&["addr", "add", &format!("203.0.113.{g}/24"), "dev", "up0"]);
        node.ns.ip(&[
            "addr",
            "add",
            &format!("2001:db8:1::{g}/64"),
            "dev",
            "up0",
            "nodad",
        ]);
        node.ns.ip(&[
            "route",
            "add",
            "default",
            "via",
            "203.0.113.254",
            "dev",
            "up0",
        ]);
        node.ns.ip(&[
            "-6",
            "route",
            "add",
            "default",
            "via",
            "2001:db8:1::fe",
            "dev",
            "up0",
        ]);
        for fam in ["ip", "ip6"] {
            node.nft(&format!(
                "table {fam} roostnat {{\n chain post {{\n type nat hook postrouting priority 100;\n oifname \"up0\" masquerade\n }}\n}}\n"
            ));
        }
        // Mesh transit is not tracked (docs/CONFIG.md, NAT at the
        // gateway): a client's packet relayed mesh to mesh here while pins
        // settle would otherwise leave a conntrack entry without NAT that
        // the rest of its flow follows out of the uplink, unanswerable.
        node.nft(
            "table inet roosttransit {\n chain pre {\n type filter hook prerouting priority raw;\n iifname \"m*\" fib daddr oifname \"m*\" notrack\n }\n}\n",
        );
        m.node_mut(g).extra = vec!["--gateway".into(), "auto=50/10".into()];
    }
    // G2's mesh link loses 20 % each way (at 30 %, 8 hellos in a row are lost once in ~15 000, which under load took G2 off the mesh in one run of ~100 s): G1 is the better gateway.
    for (node, dev) in [(2u8, "m3"), (3, "m2")] {
        lossy(m.node(node), dev, 20);
    }
    // G2 starts once the client has chosen G1. Started together, G2 was
    // sometimes heard first; G1 then has to beat it by the class's 20-point
    // margin, and G2's path TQ, measured over a 20 %-lossy link, starts out
    // near G1's and settles only slowly (170-218 against 226 in the
    // simulator): the move took from 0 to over 60 s. Starting G2 later
    // checks instead that a worse gateway appearing takes nobody.
    for n in [1u8, 3, 4, 5, 6] {
        m.node_mut(n).start();
    }
    let g1 = m.node(1).v6();
    let t = wait_until("the client to choose G1", Duration::from_secs(30), || {
        selected(m.node(6)).as_deref() == Some(g1.as_str())
    });
    eprintln!("client chose G1 after {:.1} s", t.as_secs_f64());
    m.node_mut(2).start();
    // 20 % loss on G2's link slows the last routes at G2 and G3.
    m.wait_converged(Duration::from_secs(60));
    let g2 = m.node(2).v6();
    wait_until("the client to hear of G2", Duration::from_secs(30), || {
        known_gateways(m.node(6)).contains(&g2)
    });
    assert_eq!(selected(m.node(6)).as_deref(), Some(g1.as_str()));
    assert_eq!(gateway_status(m.node(1))["serving"], true);
    assert_eq!(gateway_status(m.node(2))["serving"], true);
    // Mesh defaults in the client's gateway table (77), rule after main.
    let r4 = m.node(6).ns.ip(&["-4", "route", "show", "table", "77"]);
    let r6 = m.node(6).ns.ip(&["-6", "route", "show", "table", "77"]);
    assert!(
        r4.contains("default via inet6 fe80::") && r4.contains("proto 77"),
        "{r4}"
    );
    assert!(
        r6.contains("default via fe80::") && r6.contains("proto 77"),
        "{r6}"
    );
    let rules = m.node(6).ns.ip(&["-4", "rule"]);
    assert!(
        rules.contains("32800:\tfrom all lookup 77 proto 77"),
        "{rules}"
    );
    // The client may have just moved from G2 (heard first) to G1: until
    // every hop has heard of it, pins disagree for a moment and packets
    // loop (TTL-bounded) between the hop that knows and the one that
    // does not. Let that settle.
    let t = wait_until(
        "the client to reach the host",
        Duration::from_secs(10),
        || (0..5).all(|_| m.node(6).ping(HOST4) && m.node(6).ping(HOST6)),
    );
    eprintln!(
        "client reaches the host after another {:.2} s",
        t.as_secs_f64()
    );
    assert_eq!(carrier(&m, HOST4), 1);
    assert_eq!(carrier(&m, HOST6), 1);

    // A long-lived TCP connection across a route change on the path.
    let inet_name = inet.name.clone();
    // The server in the "internet": echoes one connection.
    {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            setns(&inet_name);
            let l = TcpListener::bind((HOST4, 7777)).unwrap();
            tx.send(()).unwrap();
            let (mut s, _) = l.accept().unwrap();
            let mut b = [0u8; 64];
            while let Ok(n) = s.read(&mut b) {
                if n == 0 || s.write_all(&b[..n]).is_err() {
                    break;
                }
            }
        });
        rx.recv().unwrap();
    }
    let client_ns = m.node(6).ns.name.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let tcp = std::thread::spawn(move || {
        setns(&client_ns);
        let addr: SocketAddr = format!("{HOST4}:7777").parse().unwrap();
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let (mut echoed, mut gap, mut last) = (0u32, 0f64, Instant::now());
        let mut b = [0u8; 1];
        while !stop2.load(Ordering::Relaxed) {
            s.write_all(b"x").map_err(|e| format!("write: {e}"))?;
            s.read_exact(&mut b).map_err(|e| format!("read: {e}"))?;
            echoed += 1;
            gap = gap.max(last.elapsed().as_secs_f64());
            last = Instant::now();
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok::<(u32, f64), String>((echoed, gap))
    });
    std::thread::sleep(Duration::from_secs(2));
    // Cut the client's active first hop silently; the other path remains.
    let first = m.node(6).ns.ip(&["-4", "route", "show", "table", "77"]);
    let dev = if first.contains("dev m4") { "m4" } else { "m5" };
    cut(m.node(6), dev);
    std::thread::sleep(Duration::from_secs(8));
    uncut(m.node(6));
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    let (echoed, gap) = tcp.join().unwrap().expect("the TCP connection survives");
    eprintln!("TCP across a path change: {echoed} echoes, longest wait {gap:.2} s");
    assert!(echoed > 50);
    assert_eq!(selected(m.node(6)).as_deref(), Some(g1.as_str()));

    // A mid-quality path (5-6 loses 20 %) while 4-6 flaps 10 times.
    let switches = |m: &Mesh| gateway_status(m.node(6))["switches"].as_u64().unwrap();
    lossy(m.node(6), "m5", 20);
    let before = switches(&m);
    for _ in 0..10 {
        cut(m.node(6), "m4");
        std::thread::sleep(Duration::from_secs(2));
        uncut(m.node(6));
        std::thread::sleep(Duration::from_secs(2));
    }
    let moved = switches(&m) - before;
    eprintln!("10 flaps of 4-6 (5-6 at 20 % loss): the client moved {moved} times");
    assert!(moved <= 1, "client moved {moved} times");
    run(&[
        "netns",
        "exec",
        &m.node(6).ns.name,
        "nft",
        "delete",
        "table",
        "inet",
        "roostloss",
    ]);
    wait_until("the client back on G1", Duration::from_secs(60), || {
        selected(m.node(6)).as_deref() == Some(g1.as_str())
    });

    // G1's uplink goes: its default routes vanish; traffic moves to G2.
    let probe = Probe::start(m.node(6), HOST4, m.dir.0.join("probe.txt"));
    std::thread::sleep(Duration::from_secs(2));
    let t_cut = unix_now();
    m.node(1).ns.ip(&["route", "del", "default"]);
    m.node(1).ns.ip(&["-6", "route", "del", "default"]);
    let g2 = m.node(2).v6();
    wait_until("the client to move to G2", Duration::from_secs(9), || {
        selected(m.node(6)).as_deref() == Some(g2.as_str())
    });
    // The probe runs 12 s past the cut: an outage longer than the 9 s
    // asserted shows as such, not as a probe stopped too early.
    std::thread::sleep(Duration::from_secs_f64(
        (t_cut + 12.0 - unix_now()).max(0.0),
    ));
    let (replies, stopped) = probe.finish();
    let outage = longest_gap(&replies, t_cut, stopped);
    let first_after = replies.iter().copied().find(|&t| t > t_cut);
    eprintln!(
        "uplink of G1 removed: switch-over (longest gap in a 50 ms ping) {outage:.2} s, first reply after {:.2} s",
        first_after.map_or(f64::NAN, |t| t - t_cut)
    );
    assert!(first_after.is_some(), "no reply after the cut");
    assert!(outage <= 9.0, "switch-over took {outage:.2} s");
    assert_eq!(gateway_status(m.node(1))["serving"], false);
    // New flows: a hop that missed the client's new choice (G2's only link
    // loses 20 %) pins them toward G1 until it hears it; see the closing
    // remark in docs/BENCHMARKS.md, Gateways.
    wait_until("new pings to leave by G2", Duration::from_secs(40), || {
        one_ping_via(&m, HOST4, 2) && one_ping_via(&m, HOST6, 2)
    });
    let t_new = unix_now() - t_cut;
    eprintln!("uplink of G1 removed: new flows through G2 {t_new:.2} s after the cut");
    assert_eq!(carrier(&m, HOST4), 2);
    assert_eq!(carrier(&m, HOST6), 2);
}
