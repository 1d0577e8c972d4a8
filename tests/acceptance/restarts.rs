//! Restart cycles and wall-clock jumps (issue 9).
//!
//! * `hundred_restarts`: the middle of a keyed chain 1–2–3 is SIGKILLed and
//!   restarted 100 times (each time as soon as it answers `roost status`);
//!   afterwards every node has exactly its routes (no stale, no duplicate)
//!   and routes of other protocols, in table 76 and in main, are untouched.
//! * `wall_clock_jumps`: node 1 runs under libfaketime with the monotonic
//!   clock left alone while its wall clock jumps back and forth by days and
//!   years: no neighbour is lost, routes stay, timers keep running.

use super::*;

/// Routes of other protocols the daemon must leave alone.
fn foreign_routes(node: &Node) -> Vec<String> {
    let mut out = Vec::new();
    for args in [
        ["-4", "route", "show", "table", "76", "proto", "static"],
        ["-4", "route", "show", "table", "main", "proto", "static"],
        ["-6", "route", "show", "table", "76", "proto", "boot"],
    ] {
        out.extend(node.ns.ip_lenient(&args).lines().map(str::to_string));
    }
    out
}

fn keyed_chain(test: &'static str) -> Mesh {
    let mut m = Mesh::new(test, 3);
    m.connect(1, 2);
    m.connect(2, 3);
    let key = m.dir.0.join("mesh.key");
    std::fs::write(&key, "0f".repeat(32)).unwrap();
    for n in 1..=3 {
        m.node_mut(n).extra = vec!["--key-file".into(), key.to_str().unwrap().into()];
    }
    m
}

#[test]
fn hundred_restarts() {
    if !have_root() {
        return;
    }
    let cycles: usize = std::env::var("ROOST_RESTART_CYCLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    let mut m = keyed_chain("restart100");
    for n in 1..=3u8 {
        for r in [
            "route add 192.0.2.0/24 dev lo table 76 proto static",
            "route add 198.51.100.0/24 dev lo proto static",
            "-6 route add 2001:db8::/32 dev lo table 76 proto boot",
        ] {
            m.node(n).ns.ip(&r.split(' ').collect::<Vec<_>>());
        }
    }
    let foreign: Vec<Vec<String>> = (1..=3).map(|n| foreign_routes(m.node(n))).collect();
    assert!(foreign.iter().all(|f| f.len() == 3), "{foreign:?}");
    m.start_all();
    m.wait_converged(Duration::from_secs(20));
    let t0 = Instant::now();
    let mut ups = Vec::new();
    for cycle in 0..cycles {
        let code = m.node_mut(2).stop(nix::sys::signal::Signal::SIGKILL);
        assert_eq!(code, None);
        m.node_mut(2).start();
        let t = Instant::now();
        wait_until("restarted daemon answers", Duration::from_secs(10), || {
            m.node(2).try_status().is_some()
        });
        ups.push(t.elapsed().as_secs_f64());
        if cycle % 5 == 0 {
            // Killed with its routes installed: the next start must flush them.
            wait_until("node 2 routed", Duration::from_secs(10), || {
                m.routes_exact(2).is_ok()
            });
        }
        if cycle % 25 == 24 {
            // Now and then, let the mesh settle and check everything.
            m.wait_converged(Duration::from_secs(15));
        }
    }
    let loop_s = t0.elapsed().as_secs_f64();
    let settle = m.wait_converged(Duration::from_secs(15));
    std::thread::sleep(Duration::from_secs(2));
    m.all_routes_exact().unwrap();
    for n in 1..=3u8 {
        assert_eq!(
            foreign_routes(m.node(n)),
            foreign[usize::from(n - 1)],
            "node {n}"
        );
    }
    ups.sort_by(f64::total_cmp);
    eprintln!(
        "{cycles} kill/restart cycles in {loop_s:.1} s (daemon answering after median {:.0} ms, max {:.0} ms); \
         converged {:.2} s after the last; 0 stale routes; other protocols' routes untouched",
        ups[ups.len() / 2] * 1000.0,
        ups[ups.len() - 1] * 1000.0,
        settle.as_secs_f64()
    );
}

#[test]
fn wall_clock_jumps() {
    if !have_root() {
        return;
    }
    assert!(
        Command::new("faketime").arg("-h").output().is_ok(),
        "`faketime` is missing: apt-get install faketime"
    );
    let mut m = keyed_chain("clock");
    let stamp = m.dir.0.join("faketime");
    std::fs::write(&stamp, "+0\n").unwrap();
    // Node 1 under libfaketime: every wall-clock read follows the file;
    // CLOCK_MONOTONIC is not faked.
    let lib = ["/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"]
        .into_iter()
        .chain(std::iter::once("/usr/lib/faketime/libfaketime.so.1"))
        .find(|p| std::path::Path::new(p).exists())
        .expect("libfaketime.so.1");
    let probe = Command::new("date")
        .arg("+%Y")
        .env("LD_PRELOAD", lib)
        .env("FAKETIME", "@2001-02-03 04:05:06")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&probe.stdout).trim(),
        "2001",
        "libfaketime works"
    );
    // `ip netns exec` passes its environment on to the daemon.
    m.node_mut(1).env = vec![
        ("LD_PRELOAD".into(), lib.into()),
        ("FAKETIME_DONT_FAKE_MONOTONIC".into(), "1".into()),
        (
            "FAKETIME_TIMESTAMP_FILE".into(),
            stamp.to_str().unwrap().into(),
        ),
        ("FAKETIME_NO_CACHE".into(), "1".into()),
    ];
    m.start_all();
    m.wait_converged(Duration::from_secs(20));
    let pid = m.node(1).daemon.as_ref().unwrap().0.id();
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    assert!(
        maps.contains("libfaketime"),
        "the daemon runs under libfaketime"
    );
    let downs = |m: &Mesh| {
        (1..=3u8)
            .map(|n| {
                std::fs::read_to_string(&m.node(n).log)
                    .unwrap_or_default()
                    .lines()
                    .filter(|l| l.contains(" down on ") || l.ends_with(" unreachable"))
                    .count()
            })
            .sum::<usize>()
    };
    let before = downs(&m);
    let up0 = m.node(1).status_json()["uptime_s"].as_u64().unwrap();
    let t0 = Instant::now();
    for jump in [
        "-10d",
        "+1y",
        "@1999-12-31 23:59:59",
        "+365d",
        "-3650d",
        "@2038-01-19 03:14:00",
        "+0",
    ] {
        std::fs::write(&stamp, format!("{jump}\n")).unwrap();
        std::thread::sleep(Duration::from_millis(1500));
        m.all_routes_exact().unwrap();
    }
    let up1 = m.node(1).status_json()["uptime_s"].as_u64().unwrap();
    let elapsed = t0.elapsed().as_secs();
    assert!(
        up1 >= up0 + elapsed.saturating_sub(1) && up1 <= up0 + elapsed + 1,
        "uptime {up0} → {up1} over {elapsed} s"
    );
    assert_eq!(
        downs(&m),
        before,
        "no neighbour or originator went down:\n{}",
        m.logs()
    );
    // Timers still run: own OGMs keep going out.
    let tx0 = m.node(1).status_json()["counters"]["tx_packets"]
        .as_u64()
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    let tx1 = m.node(1).status_json()["counters"]["tx_packets"]
        .as_u64()
        .unwrap();
    assert!(tx1 >= tx0 + 2, "hellos continue: {tx0} → {tx1}");
    eprintln!("wall clock jumped 7 times over {elapsed} s under libfaketime: routes kept, uptime {up0} → {up1} s, 0 neighbours lost");
}
