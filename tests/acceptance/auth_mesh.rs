//! Authenticated mesh (issue 9): nodes 1–4 share a key and converge; node 5
//! has another key; a replayer re-sends node 1's captured datagrams after
//! node 1 is gone. Nodes 1, 2, 5 and the replayer share one bridged
//! segment; 2–3, 3–4 and 4–1 are veth pairs.

use super::*;
use std::net::{Ipv6Addr, SocketAddrV6, UdpSocket};

const GROUP: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 0x76);

/// Puts `ns` on the bridge `br0` of `bridge` with an interface named `mb`.
fn attach(bridge: &Netns, ns: &Netns, tag: &str) {
    let port = format!("p{tag}");
    run(&[
        "link",
        "add",
        "mb",
        "netns",
        &ns.name,
        "type",
        "veth",
        "peer",
        "name",
        &port,
        "netns",
        &bridge.name,
    ]);
    bridge.ip(&["link", "set", &port, "master", "br0", "up"]);
    ns.ip(&["link", "set", "mb", "up"]);
}

fn auth_drops(st: &serde_json::Value) -> u64 {
    ["auth_replay", "auth_unverified", "auth_bad_mac"]
        .iter()
        .map(|r| st["counters"]["dropped"][r].as_u64().unwrap_or(0))
        .sum()
}

fn routes_to(node: &Node, n: u8) -> usize {
    let (v4, v6) = (format!("10.77.0.{n} "), format!("fd77::{n} "));
    node.routes()
        .iter()
        .filter(|r| format!("{r} ").starts_with(&v4) || format!("{r} ").starts_with(&v6))
        .count()
}

#[test]
fn authenticated_mesh_keeps_out_wrong_keys_and_replays() {
    if !have_root() {
        return;
    }
    let mut m = Mesh::new("auth", 5);
    let bridge = Netns::bare("auth-br");
    bridge.ip(&[
        "link",
        "add",
        "br0",
        "type",
        "bridge",
        "mcast_snooping",
        "0",
    ]);
    bridge.ip(&["link", "set", "br0", "up"]);
    let replayer = Netns::bare("auth-rp");
    for n in [1u8, 2, 5] {
        attach(&bridge, &m.node(n).ns, &n.to_string());
        m.node_mut(n).ifaces.push("mb".into());
    }
    attach(&bridge, &replayer, "r");
    m.connect(2, 3);
    m.connect(3, 4);
    m.connect(4, 1);
    let good = m.dir.0.join("good.key");
    let bad = m.dir.0.join("bad.key");
    std::fs::write(&good, format!("{}\n", "5a".repeat(32))).unwrap();
    std::fs::write(&bad, format!("{}\n", "a5".repeat(32))).unwrap();
    for n in 1..=5u8 {
        let k = if n == 5 { &bad } else { &good };
        m.node_mut(n).extra = vec!["--key-file".into(), k.to_str().unwrap().into()];
    }
    // The replayer listens on the segment before anybody speaks.
    let rp_if = replayer.enter(|| nix::net::if_::if_nametoindex("mb").unwrap());
    let rp_name = replayer.name.clone();
    let cap = std::thread::spawn(move || {
        let path = format!("/run/netns/{rp_name}");
        let fd = File::open(path).unwrap();
        // SAFETY: a valid namespace fd; only this thread changes netns.
        assert_eq!(
            unsafe { libc::setns(std::os::fd::AsRawFd::as_raw_fd(&fd), libc::CLONE_NEWNET) },
            0
        );
        let s = UdpSocket::bind("[::]:4310").unwrap();
        s.join_multicast_v6(&GROUP, rp_if).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut got = Vec::new();
        let t0 = Instant::now();
        let mut buf = [0u8; 2048];
        while t0.elapsed() < Duration::from_secs(12) {
            if let Ok((n, std::net::SocketAddr::V6(from))) = s.recv_from(&mut buf) {
                got.push((*from.ip(), buf[..n].to_vec()));
            }
        }
        got
    });
    m.start_all();
    let t0 = Instant::now();
    wait_until(
        "nodes 1-4 routed to each other",
        Duration::from_secs(20),
        || {
            (1..=4u8).all(|a| {
                (1..=4u8)
                    .filter(|&b| b != a)
                    .all(|b| routes_to(m.node(a), b) == 2)
            })
        },
    );
    eprintln!(
        "authenticated 4-node mesh converged in {:.2} s",
        t0.elapsed().as_secs_f64()
    );
    let failed: Vec<String> = (1..=4u8)
        .flat_map(|a| (1..=4u8).filter(move |&b| b != a).map(move |b| (a, b)))
        .filter(|&(a, b)| !m.node(a).ping(&format!("10.77.0.{b}")))
        .map(|(a, b)| format!("{a}->{b}"))
        .collect();
    assert!(failed.is_empty(), "pings failed: {failed:?}");
    let captured = cap.join().unwrap();
    m.node(1).ns.wait_dad();
    let n1 = m.node(1).ns.link_local("mb");
    let from1: Vec<Vec<u8>> = captured
        .iter()
        .filter(|(src, _)| *src == n1)
        .map(|(_, b)| b.clone())
        .collect();
    assert!(
        from1.len() >= 10,
        "captured {} datagrams of node 1",
        from1.len()
    );
    // Node 5 (wrong key) learnt nothing and taught nothing.
    for n in 1..=5u8 {
        let r = m.node(n).routes();
        let to5 = routes_to(m.node(n), 5);
        assert_eq!(to5, 0, "node {n} routes node 5: {r:?}");
    }
    assert!(m.node(5).routes().is_empty(), "{:?}", m.node(5).routes());
    let st5 = m.node(1).status_json();
    let wrong_key = st5["counters"]["dropped"]["auth_unknown_key"]
        .as_u64()
        .unwrap_or(0);
    let st = m.node(5).status_json();
    let tried5 = st["counters"]["tx_packets"].as_u64().unwrap_or(0);
    eprintln!(
        "wrong-key node 5: sent {tried5} datagrams, node 1 dropped {wrong_key} (auth_unknown_key), 0 routes installed anywhere"
    );
    assert!(wrong_key > 0);
    // Node 1 goes away; its routes vanish everywhere.
    m.node_mut(1).stop(nix::sys::signal::Signal::SIGTERM);
    wait_until("node 1 unrouted", Duration::from_secs(15), || {
        (2..=4u8).all(|a| routes_to(m.node(a), 1) == 0)
    });
    // Replay node 1's datagrams from its own address and from another one.
    let before = auth_drops(&m.node(2).status_json());
    let spoof = n1;
    replayer.ip(&["addr", "add", &format!("{spoof}/64"), "dev", "mb", "nodad"]);
    let tried = replayer.enter(move || {
        let mut tried = 0u64;
        let dst = SocketAddrV6::new(GROUP, 4310, 0, rp_if);
        let spoofed = UdpSocket::bind(SocketAddrV6::new(spoof, 0, 0, rp_if)).unwrap();
        let own = UdpSocket::bind(SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, 0, 0, 0)).unwrap();
        for round in 0..3 {
            for b in &from1 {
                for s in [&spoofed, &own] {
                    if s.send_to(b, dst).is_ok() {
                        tried += 1;
                    }
                }
                if round > 0 {
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
        tried
    });
    std::thread::sleep(Duration::from_secs(3));
    let after = auth_drops(&m.node(2).status_json());
    let dropped = after - before;
    eprintln!(
        "replayer: {tried} datagrams sent, node 2 dropped {dropped} as replay/unverified, accepted {}",
        tried.saturating_sub(dropped)
    );
    assert_eq!(dropped, tried, "every replayed datagram dropped at node 2");
    for n in 2..=5u8 {
        assert_eq!(routes_to(m.node(n), 1), 0, "node {n} routes node 1 again");
    }
    drop(bridge);
}
