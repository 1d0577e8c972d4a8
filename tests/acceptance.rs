//! Acceptance tests of the daemon: whole meshes of `roost run` daemons in
//! throw-away network namespaces joined by veth pairs.
//!
//! * `chain_of_five`: every node reaches every other node (IPv4 and IPv6);
//! * `two_paths_silent_cut` / `two_paths_carrier_loss`: failover when the
//!   active path dies silently (nftables drop, carrier stays up) or loses
//!   carrier, measured with a continuous ping;
//! * `kill_and_restart_*`: a SIGKILLed daemon restarts without duplicate or
//!   stale routes, and its routes come back quickly;
//! * `sigterm_cleanup`: SIGTERM removes Roost's routes, rules and managed
//!   neighbour entries only;
//! * `interfaces_come_and_go`: an interface missing at start is adopted when
//!   it appears; one deleted and re-created at run time is picked up again.
//!
//! Needs root. Without root the tests print a notice and pass, unless
//! `CI=true`, where they fail loudly. Each test creates its own namespaces
//! (named `roosttest-<pid>-<test>-<node>`) and interfaces (inside those
//! namespaces only, so names cannot clash between tests), runs daemons with
//! their own control sockets in a temporary directory, and tears everything
//! down on drop, also when it fails: the processes it started (by pid), then
//! the namespaces. No traffic leaves the namespaces.

mod common;
use common::mesh::*;
use common::{have_root, run, Netns};
// Also for the submodules (auth_mesh, flood, restarts).
#[allow(unused_imports)]
use std::{fs::File, process::Command};

use std::time::{Duration, Instant};

#[test]
fn chain_of_five() {
    if !have_root() {
        return;
    }
    let mut m = Mesh::new("chain5", 5);
    for i in 1..5 {
        m.connect(i, i + 1);
    }
    m.start_all();
    let t = m.wait_converged(Duration::from_secs(20));
    eprintln!("chain of 5: routes complete after {:.2} s", t.as_secs_f64());
    let failed = m.ping_all(Instant::now() + Duration::from_secs(20));
    assert!(failed.is_empty(), "pings failed: {failed:?}");
    m.all_routes_exact().unwrap();
    // The status of the middle node shows both neighbours and every
    // originator.
    let st = m.node(3).status_json();
    assert_eq!(st["originator"], "fd77::3");
    assert_eq!(st["kernel"]["in_sync"], true, "{st}");
    let ifs = st["mesh_interfaces"].as_array().unwrap();
    assert_eq!(ifs.len(), 2);
    assert!(ifs.iter().all(|i| i["state"] == "up"), "{st}");
    // Any node draws the whole chain: 5 nodes, 4 links each way (the
    // neighbour lists ride on the first own OGMs, 15-16 s after start).
    let mut g = serde_json::Value::Null;
    wait_until(
        "node 1 knows the whole map",
        Duration::from_secs(30),
        || {
            g = m.node(1).netjson();
            g["links"].as_array().map(|l| l.len()) == Some(8)
        },
    );
    assert_eq!(g["type"], "NetworkGraph");
    assert_eq!(g["nodes"].as_array().map(|n| n.len()), Some(5), "{g}");
    let links = g["links"].as_array().unwrap();
    for (a, b) in [(1, 2), (2, 3), (3, 4), (4, 5)] {
        for (x, y) in [(a, b), (b, a)] {
            assert!(
                links
                    .iter()
                    .any(|l| l["source"] == format!("fd77::{x}")
                        && l["target"] == format!("fd77::{y}")),
                "no link {x}->{y}: {g}"
            );
        }
    }
}

/// Nodes 1 (A), 2 (B), 3 (C), 4 (D), 5 (Z): paths A-B-Z (two hops,
/// preferred) and A-C-D-Z (three hops). Returns the mesh, converged and
/// with both paths known to A.
fn two_paths(test: &'static str) -> Mesh {
    let mut m = Mesh::new(test, 5);
    m.connect(1, 2);
    m.connect(2, 5);
    m.connect(1, 3);
    m.connect(3, 4);
    m.connect(4, 5);
    m.start_all();
    m.wait_converged(Duration::from_secs(20));
    let z = m.node(5).v4();
    wait_until("A pings Z", Duration::from_secs(10), || m.node(1).ping(&z));
    m
}

/// A's interface currently used to reach Z.
fn active_iface(m: &Mesh) -> String {
    let z = m.node(5).v4();
    let r = m
        .node(1)
        .routes()
        .into_iter()
        .find(|l| l.starts_with(&format!("{z} ")))
        .expect("route to Z");
    let w: Vec<&str> = r.split(' ').collect();
    let i = w.iter().position(|x| *x == "dev").unwrap();
    w[i + 1].to_string()
}

/// Runs a probe from A to Z (IPv4 and IPv6), applies `cut` after 2 s,
/// waits `after`, and returns the longest gaps (IPv4, IPv6) after the cut.
fn measure_outage(m: &Mesh, cut: impl FnOnce(), after: Duration) -> (f64, f64) {
    let (a, z) = (m.node(1), m.node(5));
    let p4 = Probe::start(a, &z.v4(), m.dir.0.join("probe4.txt"));
    let p6 = Probe::start(a, &z.v6(), m.dir.0.join("probe6.txt"));
    std::thread::sleep(Duration::from_secs(2));
    let t_cut = unix_now();
    cut();
    std::thread::sleep(after);
    let mut gaps = Vec::new();
    for p in [p4, p6] {
        let started = p.started;
        let (replies, stopped) = p.finish();
        let before = replies.iter().filter(|&&t| t < t_cut).count();
        assert!(
            before > 10,
            "probe had only {before} replies in the 2 s before the cut (started {started})"
        );
        let last = replies.last().copied().unwrap_or(0.0);
        assert!(
            stopped - last < 1.0,
            "the probe did not recover: last reply {:.2} s before the end",
            stopped - last
        );
        gaps.push(longest_gap(&replies, t_cut, stopped));
    }
    (gaps[0], gaps[1])
}

#[test]
fn two_paths_silent_cut() {
    if !have_root() {
        return;
    }
    let m = two_paths("silentcut");
    let dev = active_iface(&m);
    eprintln!("silent cut: A reaches Z via {dev}");
    let a = m.node(1);
    let (g4, g6) = measure_outage(
        &m,
        || {
            a.nft(&format!(
                "table inet roostcut {{\n\
                 chain cutin {{ type filter hook input priority 0; iifname \"{dev}\" drop; }}\n\
                 chain cutfwd {{ type filter hook forward priority 0; iifname \"{dev}\" drop; oifname \"{dev}\" drop; }}\n\
                 chain cutout {{ type filter hook output priority 0; oifname \"{dev}\" drop; }}\n\
                 }}\n"
            ))
        },
        Duration::from_secs(8),
    );
    eprintln!("silent cut outage: IPv4 {g4:.2} s, IPv6 {g6:.2} s");
    assert!(
        g4 <= 6.0 && g6 <= 6.0,
        "outage IPv4 {g4:.2} s, IPv6 {g6:.2} s"
    );
    assert_ne!(active_iface(&m), dev, "A still routes via the cut link");
    // The link still has carrier: this was a silent cut.
    assert!(a.ns.ip(&["link", "show", &dev]).contains("LOWER_UP"));
}

#[test]
fn two_paths_carrier_loss() {
    if !have_root() {
        return;
    }
    let m = two_paths("carrier");
    let dev = active_iface(&m);
    eprintln!("carrier loss: A reaches Z via {dev}");
    let a = m.node(1);
    let (g4, g6) = measure_outage(
        &m,
        || {
            a.ns.ip(&["link", "set", &dev, "down"]);
        },
        Duration::from_secs(4),
    );
    eprintln!("carrier loss outage: IPv4 {g4:.2} s, IPv6 {g6:.2} s");
    assert!(
        g4 <= 1.0 && g6 <= 1.0,
        "outage IPv4 {g4:.2} s, IPv6 {g6:.2} s"
    );
    assert_ne!(active_iface(&m), dev);
}

/// A triangle with a tail, 1-2, 2-3, 1-3, 3-4: node 3 is killed with
/// SIGKILL and restarted after each of `pauses` (seconds) in turn. Checks
/// that the stale routes are flushed, that node 3's routes are back within
/// 2 s of the restart (and everybody's soon after), and that no duplicate
/// or stale route appears.
fn kill_and_restart(test: &'static str, pauses: &[u64]) {
    let mut m = Mesh::new(test, 4);
    m.connect(1, 2);
    m.connect(2, 3);
    m.connect(1, 3);
    m.connect(3, 4);
    m.start_all();
    m.wait_converged(Duration::from_secs(20));
    for (round, &pause) in (1..).zip(pauses) {
        let old = m.wait_routes_stable(3, Duration::from_millis(1500), Duration::from_secs(20));
        let code = m.node_mut(3).stop(nix::sys::signal::Signal::SIGKILL);
        assert_eq!(code, None, "killed by a signal");
        std::thread::sleep(Duration::from_secs(pause));
        // The killed daemon's routes stay in the kernel until it restarts.
        assert_eq!(m.node(3).routes(), old);
        m.node_mut(3).start();
        let t0 = Instant::now();
        // The stale routes are still there until the new daemon has flushed
        // them: routes count as back once the daemon answers (it flushes
        // before serving clients) and reports them installed.
        let want = m.expected(3).len();
        let mut seen = Vec::new();
        let back = loop {
            let r = m.node(3).routes();
            if m.routes_exact(3).is_ok()
                && m.node(3).try_status().is_some_and(|st| {
                    st["kernel"]["installed"] == want && st["kernel"]["in_sync"] == true
                })
                && m.routes_exact(3).is_ok()
            {
                break t0.elapsed();
            }
            if seen.last() != Some(&r) {
                seen.push(r);
            }
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "routes of the restarted node not back in 10 s; states seen: {seen:#?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        let log = std::fs::read_to_string(&m.node(3).log).unwrap();
        let flushed = format!("removed {want} stale routes from table 76");
        assert_eq!(log.matches(&flushed).count(), round, "{log}");
        eprintln!(
            "restart {pause} s after SIGKILL: routes back after {:.2} s",
            back.as_secs_f64()
        );
        // Everybody reaches the restarted node, and through it node 4.
        let t_all = m.wait_converged(Duration::from_secs(10)) + back;
        eprintln!(
            "restart {pause} s after SIGKILL: all nodes' routes exact after {:.2} s",
            t_all.as_secs_f64()
        );
        let failed = m.ping_all(Instant::now() + Duration::from_secs(10));
        assert!(failed.is_empty(), "pings failed: {failed:?}");
        // No duplicates or stale routes show up later either.
        std::thread::sleep(Duration::from_secs(2));
        m.all_routes_exact().unwrap();
        assert!(
            back <= Duration::from_secs(2),
            "routes back after {:.2} s (> 2 s)",
            back.as_secs_f64()
        );
    }
}

#[test]
fn kill_and_restart_at_once() {
    if !have_root() {
        return;
    }
    // The neighbours do not notice the restart before the new daemon speaks.
    kill_and_restart("restart0", &[0]);
}

#[test]
fn kill_and_restart_after_loss() {
    if !have_root() {
        return;
    }
    // The neighbours have declared the node lost (after ~1.6 s).
    kill_and_restart("restart3", &[3]);
}

/// A second restart within the 30 s seqno reset protection
/// (docs/PROTOCOL.md §6.2) must not leave the node unreachable.
#[test]
fn kill_and_restart_twice() {
    if !have_root() {
        return;
    }
    kill_and_restart("restart2x", &[3, 3]);
}

/// The link-local address of `dev` in `ns`.
fn link_local(ns: &Netns, dev: &str) -> String {
    let out = ns.ip(&["-6", "-br", "addr", "show", "dev", dev, "scope", "link"]);
    let a = out
        .split_whitespace()
        .nth(2)
        .and_then(|a| a.split('/').next())
        .unwrap_or_default()
        .to_string();
    assert!(a.starts_with("fe80::"), "{dev}: {out}");
    a
}

#[test]
fn sigterm_cleanup() {
    if !have_root() {
        return;
    }
    let mut m = Mesh::new("sigterm", 2);
    m.connect(1, 2);
    let ns = &m.node(1).ns;
    // Foreign routes and a rule in the same table, present before start.
    ns.ip(&[
        "route",
        "add",
        "blackhole",
        "10.99.0.0/24",
        "table",
        "76",
        "proto",
        "static",
    ]);
    ns.ip(&[
        "-6",
        "route",
        "add",
        "blackhole",
        "fd99::/64",
        "table",
        "76",
        "proto",
        "static",
    ]);
    ns.ip(&[
        "route",
        "add",
        "10.98.0.0/24",
        "via",
        "inet6",
        "fe80::99",
        "dev",
        "m2",
        "table",
        "76",
        "proto",
        "static",
    ]);
    ns.ip(&["rule", "add", "pref", "8000", "lookup", "176"]);
    ns.ip(&[
        "-6",
        "neigh",
        "add",
        "fe80::98",
        "lladdr",
        "02:00:00:00:00:98",
        "dev",
        "m2",
        "nud",
        "permanent",
    ]);
    let foreign = |ns: &Netns| {
        let mut v = Vec::new();
        for fam in ["-4", "-6"] {
            v.push(ns.ip(&[fam, "route", "show", "table", "76", "proto", "static"]));
        }
        v.push(ns.ip(&["rule", "show", "pref", "8000"]));
        v.push(ns.ip(&["-6", "neigh", "show", "fe80::98"]));
        v
    };
    let before = foreign(ns);
    assert!(before[0].contains("10.99.0.0/24") && before[0].contains("10.98.0.0/24"));
    // Node 2 has a static entry for node 1's link-local: Roost leaves it.
    let n1_ll = link_local(&m.node(1).ns, "m2");
    let link: serde_json::Value =
        serde_json::from_str(&m.node(1).ns.ip(&["-j", "link", "show", "m2"])).unwrap();
    let n1_mac = link[0]["address"].as_str().unwrap().to_string();
    m.node(2).ns.ip(&[
        "-6",
        "neigh",
        "add",
        &n1_ll,
        "lladdr",
        &n1_mac,
        "dev",
        "m1",
        "nud",
        "permanent",
    ]);
    m.start_all();
    m.wait_converged(Duration::from_secs(20));
    let n1 = m.node(1);
    assert!(n1.ns.ip(&["rule"]).contains("lookup 76 proto 77"));
    assert!(n1.ns.ip(&["-6", "rule"]).contains("lookup 76 proto 77"));
    assert_eq!(foreign(&n1.ns), before, "foreign routes touched at start");
    // The neighbour's link-local has a managed kernel entry of Roost's.
    let peer = link_local(&m.node(2).ns, "m1");
    let entries = n1.ns.ip(&["-6", "neigh", "show", "proto", "77"]);
    assert!(
        entries.contains(&peer) && entries.contains("managed"),
        "{peer}: {entries}"
    );
    let static_entry = m
        .node(2)
        .ns
        .ip(&["-6", "neigh", "show", &n1_ll, "dev", "m1"]);
    assert!(
        static_entry.contains("PERMANENT") && !static_entry.contains("proto"),
        "{static_entry}"
    );

    let code = m.node_mut(1).stop(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(code, Some(0));
    let n1 = m.node(1);
    assert!(n1.routes().is_empty(), "left: {:?}", n1.routes());
    for fam in ["-4", "-6"] {
        let rules = n1.ns.ip(&[fam, "rule"]);
        assert!(!rules.contains("proto 77"), "rules left: {rules}");
    }
    assert_eq!(foreign(&n1.ns), before, "foreign routes touched at stop");
    let entries = n1.ns.ip(&["-6", "neigh", "show", "proto", "77"]);
    assert!(
        entries.trim().is_empty(),
        "neighbour entries left: {entries}"
    );
    assert!(!n1.sock.exists(), "control socket left");
    // The other node is unaffected (and will lose its routes to node 1).
    assert!(m.node(2).daemon.is_some());
}

#[test]
fn interfaces_come_and_go() {
    if !have_root() {
        return;
    }
    let mut m = Mesh::new("ifaces", 3);
    // 1-2 exists from the start; 2-3 appears later.
    m.connect(1, 2);
    m.plan_link(2, 3);
    m.start_all();
    let st = m.node(3).status_json();
    assert_eq!(st["mesh_interfaces"][0]["state"], "missing", "{st}");
    std::thread::sleep(Duration::from_secs(1));
    let d = m.node_mut(3).daemon.as_mut().unwrap();
    assert!(d.0.try_wait().unwrap().is_none(), "daemon exited");
    m.link(2, 3);
    let t = m.wait_converged(Duration::from_secs(20));
    eprintln!(
        "interface missing at start: routes after {:.2} s once it appeared",
        t.as_secs_f64()
    );

    // Delete link 2-3 (both ends go): the routes over it go.
    m.node(2).ns.ip(&["link", "del", "m3"]);
    let t = wait_until(
        "routes over the deleted link to go",
        Duration::from_secs(5),
        || {
            m.node(3).routes().is_empty()
                && !m
                    .node(1)
                    .routes()
                    .iter()
                    .any(|r| r.starts_with("10.77.0.3 "))
        },
    );
    eprintln!(
        "interface deleted: routes gone after {:.2} s",
        t.as_secs_f64()
    );
    let st = m.node(2).status_json();
    let ifs = st["mesh_interfaces"].as_array().unwrap();
    assert!(
        ifs.iter()
            .any(|i| i["name"] == "m3" && i["state"] == "missing"),
        "{st}"
    );

    // Re-created (new ifindex): picked up again.
    m.link(2, 3);
    let t = m.wait_converged(Duration::from_secs(20));
    eprintln!(
        "interface re-created: routes after {:.2} s",
        t.as_secs_f64()
    );
    let failed = m.ping_all(Instant::now() + Duration::from_secs(10));
    assert!(failed.is_empty(), "pings failed: {failed:?}");
}

#[path = "acceptance/auth_mesh.rs"]
mod auth_mesh;
#[path = "acceptance/flood.rs"]
mod flood;
#[path = "acceptance/restarts.rs"]
mod restarts;
