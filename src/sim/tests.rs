//! Simulator scenarios: the protocol's acceptance figures. Thresholds are
//! exact and in simulated time; figures are printed (run with --nocapture).

use super::*;
use std::net::Ipv6Addr;

fn run(topo: &str, secs: u64, loss: f64, seed: u64) -> Summary {
    let mut c = SimConfig::new(Topology::parse(topo, seed).unwrap(), secs * 1000, seed);
    c.loss = loss;
    Sim::new(c).run()
}

fn assert_clean(s: &Summary) {
    assert_eq!(s.loops, 0, "{s:?}");
    assert_eq!(s.blackholes, 0, "{s:?}");
    assert_eq!(s.reached, s.pairs, "{s:?}");
    assert!(s.converged_ms.is_some(), "{s:?}");
}

#[test]
fn converges_loop_free_on_chain_grid_and_random_meshes() {
    for seed in 1..=3 {
        for topo in ["chain:10", "grid:5x5", "rgg:100"] {
            let s = run(topo, 60, 0.0, seed);
            eprintln!(
                "{topo} seed {seed}: converged in {:?} ms, path quality {}",
                s.converged_ms, s.path_quality
            );
            assert_clean(&s);
            assert!(s.path_quality >= 0.99, "{s:?}");
        }
    }
}

#[test]
fn cold_start_within_one_second() {
    for topo in ["chain:6", "grid:4x4"] {
        for seed in 1..=3 {
            let s = run(topo, 10, 0.0, seed);
            let ms = s.converged_ms.unwrap();
            eprintln!("{topo} seed {seed}: all pairs routed after {ms} ms");
            assert!(ms <= 1000, "{s:?}");
        }
    }
}

/// A silent cut (no carrier change) of the active path's first link on a
/// two-path topology, at several phases against the hello timers.
#[test]
fn silent_cut_fails_over_within_two_seconds() {
    let mut worst = 0;
    let mut all = Vec::new();
    for seed in 1..=5 {
        for phase in [0u64, 150, 300, 450, 600] {
            let mut c = SimConfig::new(Topology::parse("twopath:1", 0).unwrap(), 75_000, seed);
            // Active path: 0-2-1 (two hops); the other: 0-3-4-1.
            c.events.push(LinkEvent {
                a: 0,
                b: 2,
                at_ms: 60_000 + phase,
                restore: false,
            });
            let s = Sim::new(c).run();
            let cut = &s.cuts[0];
            assert!(cut.affected_pairs > 0, "{s:?}");
            let ms = cut.reroute_ms.expect("never rerouted");
            worst = worst.max(ms);
            all.push(ms);
            assert!(ms <= 2000, "seed {seed} phase {phase}: {ms} ms");
            assert_clean(&s);
        }
    }
    all.sort();
    eprintln!(
        "silent cut reroute: median {} ms, worst {worst} ms over {} runs",
        all[all.len() / 2],
        all.len()
    );
}

#[test]
fn steady_overhead_grows_gently_with_n() {
    let mut figures = Vec::new();
    for n in [5usize, 20, 40, 100] {
        // 480 s measured: two full cycles of the NEIGHBOURS TLV (every 8th
        // own OGM, 240 s), so the map's cost is in the figure.
        let mut c = SimConfig::new(Topology::parse(&format!("rgg:{n}"), 1).unwrap(), 600_000, 1);
        c.measure_from_ms = Some(120_000);
        let s = Sim::new(c).run();
        assert_clean(&s);
        eprintln!(
            "N={n}: {} B/s and {} packets/s per node",
            s.bytes_per_node_s, s.packets_per_node_s
        );
        figures.push((n, s.bytes_per_node_s));
    }
    let b = |n: usize| figures.iter().find(|f| f.0 == n).map(|f| f.1).unwrap();
    assert!(b(20) <= 150.0, "N=20: {} B/s", b(20));
    // babeld grows ~2.9 B/s per added node (35 → 136 B/s from N=5 to 40).
    let slope = (b(40) - b(5)) / 35.0;
    let slope100 = (b(100) - b(5)) / 95.0;
    eprintln!("growth: {slope:.2} B/s per node (5→40), {slope100:.2} (5→100)");
    assert!(slope <= 2.9 && slope100 <= 2.9);
}

#[test]
fn routes_stay_stable_under_ten_percent_loss() {
    for seed in 1..=3 {
        let mut c = SimConfig::new(Topology::parse("rgg:20", seed).unwrap(), 600_000, seed);
        c.loss = 0.1;
        c.measure_from_ms = Some(180_000);
        let s = Sim::new(c).run();
        eprintln!(
            "rgg:20 seed {seed} 10% loss: {} next-hop changes per node per minute, path quality {}",
            s.nexthop_changes_per_node_min, s.path_quality
        );
        assert_clean(&s);
        assert!(s.nexthop_changes_per_node_min <= 1.0, "{s:?}");
    }
}

#[test]
fn asymmetric_link_is_avoided() {
    // 0-1 direct, but 0→1 loses 90%; a clean detour 0-2-1.
    let mut c = SimConfig::new(
        Topology::parse("edges:3:0-1,0-2,2-1", 0).unwrap(),
        60_000,
        1,
    );
    c.link_loss.insert((0, 1), 0.9);
    let s = Sim::new(c);
    let mut s = s;
    s.run_until(60_000);
    assert_eq!(s.next_hop(0, 1), Some(2));
    assert_eq!(s.next_hop(1, 0), Some(2));
    assert_clean(&s.summary());
}

/// Restarts node 4 at `at` and returns how long until all pairs reach.
fn reboot_and_wait(s: &mut Sim, at: u64, seed: u64) -> u64 {
    s.run_until(at);
    assert!(s.all_pairs_reach());
    s.restart_node(4, seed);
    for t in (at..at + 10_000).step_by(50) {
        s.run_until(t);
        if s.all_pairs_reach() {
            return t - at;
        }
    }
    panic!("the rebooted node never got back");
}

#[test]
fn rebooted_node_with_new_seqnos_is_routed_again() {
    let c = SimConfig::new(Topology::parse("grid:3x3", 0).unwrap(), 120_000, 4);
    let mut s = Sim::new(c);
    // Twice within the 30 s reset protection: the RESTARTED flag lets the
    // second reboot's seqnos in too.
    let first = reboot_and_wait(&mut s, 40_000, 99);
    let second = reboot_and_wait(&mut s, 50_000, 7);
    eprintln!("rebooted centre node routed both ways again after {first} ms, and {second} ms after a second reboot");
    assert!(first <= 2000 && second <= 2000);
    s.run_until(120_000);
    assert_clean(&s.summary());
}

#[test]
fn same_seed_gives_identical_output() {
    let a = cli("rgg:30:5", 0.05, &["0-1@20".into()], &[], 40.0, 7, vec![]);
    let b = cli("rgg:30:5", 0.05, &["0-1@20".into()], &[], 40.0, 7, vec![]);
    // the link may not exist in this graph: then both fail identically
    assert_eq!(a, b);
    let c = cli(
        "chain:4",
        0.0,
        &["1-2@5".into()],
        &["1-2@10".into()],
        20.0,
        3,
        vec![],
    )
    .unwrap();
    assert_eq!(
        c,
        cli(
            "chain:4",
            0.0,
            &["1-2@5".into()],
            &["1-2@10".into()],
            20.0,
            3,
            vec![]
        )
        .unwrap()
    );
}

#[test]
fn every_node_learns_the_whole_map() {
    let topo = Topology::parse("rgg:20", 2).unwrap();
    let edges = topo.edges.clone();
    let c = SimConfig::new(topo, 60_000, 2);
    let mut s = Sim::new(c);
    s.run_until(60_000);
    let mut want: Vec<(Ipv6Addr, Ipv6Addr)> = edges
        .iter()
        .flat_map(|&(a, b)| {
            [
                (originator(a), originator(b)),
                (originator(b), originator(a)),
            ]
        })
        .collect();
    want.sort();
    for i in 0..s.cfg.topo.n {
        let t = s.engines[i].topology();
        assert_eq!(t.nodes.len(), 20, "node {i}");
        assert!(t.nodes.iter().all(|n| n.reachable));
        let mut got: Vec<(Ipv6Addr, Ipv6Addr)> =
            t.links.iter().map(|l| (l.source, l.target)).collect();
        got.sort();
        assert_eq!(got, want, "node {i}");
        assert!(t.links.iter().all(|l| l.tq == 255));
        let g = crate::netjson::network_graph(&t);
        assert_eq!(g["type"], "NetworkGraph");
        assert_eq!(g["links"].as_array().map(|a| a.len()), Some(want.len()));
    }
}

#[test]
fn authenticated_mesh_converges_and_the_trailer_costs_its_bytes() {
    let key = crate::auth::Key::new(&[7; 32]).unwrap();
    let mut figures = Vec::new();
    for keys in [vec![], vec![key]] {
        let mut c = SimConfig::new(Topology::parse("rgg:20", 1).unwrap(), 600_000, 1);
        c.measure_from_ms = Some(120_000);
        c.keys = keys;
        let s = Sim::new(c).run();
        assert_clean(&s);
        eprintln!(
            "rgg:20 auth={}: converged {} ms, {} B/s and {} packets/s per node",
            !figures.is_empty(),
            s.converged_ms.unwrap_or(0),
            s.bytes_per_node_s,
            s.packets_per_node_s
        );
        assert!(s.converged_ms.is_some_and(|t| t < 500), "{s:?}");
        figures.push((s.bytes_per_node_s, s.packets_per_node_s));
    }
    // The budget holds with the trailer: ≤ 150 B/s per node at N = 20.
    assert!(figures[1].0 <= 150.0, "keyed: {} B/s", figures[1].0);
    // The steady-state cost is the 8-byte MAC per datagram, nothing more.
    let extra = figures[1].0 - figures[0].0;
    let mac = crate::auth::MAC_LEN as f64 * figures[1].1;
    assert!(
        extra <= mac + 1.0,
        "auth costs {extra:.1} B/s, MAC alone {mac:.1}"
    );
}

#[test]
fn zero_config_costs_its_node_ids_and_lan_prefixes() {
    // Keyed rgg:20: the same two LAN prefixes per node, configured, then
    // derived (zero-config adds NODE_ID, 10 bytes, to every OGM about it).
    let key = crate::auth::Key::new(&[7; 32]).unwrap();
    let site = crate::zeroconf::example_site();
    let mut figures = Vec::new();
    for zeroconf in [false, true] {
        let mut c = SimConfig::new(Topology::parse("rgg:20", 1).unwrap(), 600_000, 1);
        c.measure_from_ms = Some(120_000);
        c.keys = vec![key.clone()];
        if zeroconf {
            c.zeroconf = Some(site);
        } else {
            for i in 0..20 {
                let d = site.derive(super::sim_mac(i), 0);
                c.announce.insert(i, vec![d.lan6, d.lan4]);
            }
        }
        let s = Sim::new(c).run();
        assert_clean(&s);
        eprintln!(
            "rgg:20 keyed, LANs {}: converged {} ms, {} B/s and {} packets/s per node",
            if zeroconf { "derived" } else { "configured" },
            s.converged_ms.unwrap_or(0),
            s.bytes_per_node_s,
            s.packets_per_node_s
        );
        assert!(s.converged_ms.is_some_and(|t| t < 500), "{s:?}");
        figures.push(s.bytes_per_node_s);
    }
    // NODE_ID: 10 bytes on each originator's OGM every 30 s, forwarded by
    // every node, plus the same on dumps and updates: well under 10 B/s.
    let node_id = figures[1] - figures[0];
    assert!(
        (0.0..10.0).contains(&node_id),
        "NODE_ID costs {node_id:.1} B/s"
    );
}

/// Gateways: every client's internet traffic, followed hop by hop through
/// the gateway plans (pins first), leaves the mesh at the gateway that
/// client chose.
fn assert_exits_at_choice(s: &Sim) {
    for i in 0..s.cfg.topo.n {
        let p = &s.plans[i];
        if p.serving {
            continue;
        }
        let want = p
            .own
            .map(|g| g.gateway)
            .unwrap_or_else(|| panic!("node {i} has no gateway: {p:?}"));
        let exit = s.internet_exit(i).unwrap();
        assert_eq!(originator(exit), want, "node {i}");
    }
}

#[test]
fn gateway_pins_keep_a_sticky_choice_along_the_path() {
    // 0 - 1 - 2 - 3: node 0 offers an uplink from the start, node 2 from
    // 20 s. Clients choose with class `stable`, so node 3 keeps gateway 0:
    // its traffic must cross gateway 2 without leaving there.
    let mut c = SimConfig::new(Topology::parse("chain:4", 0).unwrap(), 60_000, 1);
    c.gateways.insert(0, (100, 20));
    c.gateway_class = Some(crate::engine::gateway::GwClass::Stable);
    let mut s = Sim::new(c);
    s.run_until(20_000);
    assert_exits_at_choice(&s);
    s.set_gateway_offer(2, Some((1000, 200)));
    s.run_until(60_000);
    assert!(s.plans[2].serving);
    assert_eq!(s.plans[3].own.map(|g| g.gateway), Some(originator(0)));
    assert_eq!(s.internet_exit(3), Ok(0));
    assert_eq!(s.internet_exit(1), Ok(0));
    assert_eq!(s.internet_exit(2), Ok(2));
    // Node 2 pins node 3's originator toward gateway 0 (via node 1).
    let pin = s.plans[2]
        .pins
        .iter()
        .find(|p| p.source == crate::engine::originator_prefix(originator(3)))
        .copied();
    assert_eq!(pin.map(|p| p.gateway), Some(originator(0)));
    assert_exits_at_choice(&s);
}

#[test]
fn gateway_failover_when_an_uplink_goes() {
    for seed in 1..=3 {
        let mut c = SimConfig::new(Topology::parse("grid:4x4", 0).unwrap(), 60_000, seed);
        c.gateways.insert(0, (100, 20));
        c.gateways.insert(15, (100, 20));
        let mut s = Sim::new(c);
        s.run_until(30_000);
        assert_exits_at_choice(&s);
        let users: Vec<usize> = (1..15).filter(|&i| s.internet_exit(i) == Ok(0)).collect();
        assert!(!users.is_empty());
        let before: Vec<u32> = s.engines.iter().map(|e| e.gateway_role().2).collect();
        s.set_gateway_offer(0, None);
        let cut = s.now;
        let mut done = None;
        while s.now < cut + 10_000 {
            let t = s.now + 10;
            s.run_until(t);
            if (0..15).all(|i| s.internet_exit(i) == Ok(15)) {
                done = Some(s.now - cut);
                break;
            }
        }
        let ms = done.unwrap_or_else(|| panic!("seed {seed}: no failover: {:?}", s.plans));
        eprintln!(
            "grid:4x4 seed {seed}: {} clients moved to the other gateway in {ms} ms",
            users.len()
        );
        assert!(ms <= 1000, "{ms} ms");
        s.run_until(60_000);
        assert_exits_at_choice(&s);
        // Only the clients of the lost gateway (and it) moved, once.
        for (i, b) in before.iter().enumerate().take(15).skip(1) {
            let moved = s.engines[i].gateway_role().2 - b;
            assert_eq!(moved, u32::from(users.contains(&i)), "node {i}");
        }
    }
}

#[test]
fn flapping_path_moves_a_client_at_most_once() {
    // Client 2 reaches gateway 0 directly (the link that flaps) or over the
    // lossy 2-3-0, and gateway 1 over the clean 2-4-1.
    let topo = Topology::parse("edges:5:0-2,2-3,3-0,2-4,4-1", 0).unwrap();
    for seed in 1..=3 {
        let mut c = SimConfig::new(topo.clone(), 200_000, seed);
        c.gateways.insert(0, (100, 20));
        c.gateways.insert(1, (100, 20));
        for (a, b) in [(2, 3), (3, 2), (3, 0), (0, 3)] {
            c.link_loss.insert((a, b), 0.3);
        }
        for k in 0..10u64 {
            let at = 60_000 + k * 8_000;
            c.events.push(LinkEvent {
                a: 0,
                b: 2,
                at_ms: at,
                restore: false,
            });
            c.events.push(LinkEvent {
                a: 0,
                b: 2,
                at_ms: at + 4_000,
                restore: true,
            });
        }
        let mut s = Sim::new(c);
        s.run_until(59_000);
        let before = s.engines[2].gateway_role().2;
        assert_eq!(s.internet_exit(2), Ok(0), "seed {seed}");
        s.run_until(200_000);
        let moves = s.engines[2].gateway_role().2 - before;
        eprintln!("seed {seed}: client moved {moves} times over 10 flaps");
        assert!(moves <= 1, "seed {seed}: {moves} moves");
        assert_exits_at_choice(&s);
    }
}

/// The netns gateways test's mesh: gateways 0 and 1 (the link 1-2 loses
/// 20 %), client 5 behind 3 (clean) and 4 (4→5 loses 20 %, from the start
/// or only when the flapping starts, `late_loss`); 3-5 flaps 10 times
/// from 60 s. Returns how often the client's choice changed during the
/// flaps, after checking it chose gateway 0 before.
fn gateway_flaps(seed: u64, late_loss: bool) -> u32 {
    let topo = Topology::parse("edges:6:0-2,1-2,2-3,2-4,3-5,4-5", 0).unwrap();
    let mut c = SimConfig::new(topo, 110_000, seed);
    c.kind = IfaceKind::Wired;
    c.gateways.insert(0, (500, 100));
    c.gateways.insert(1, (500, 100));
    for (a, b) in [(1, 2), (2, 1)] {
        c.link_loss.insert((a, b), 0.2);
    }
    if !late_loss {
        c.link_loss.insert((4, 5), 0.2);
    }
    for k in 0..10u64 {
        let at = 60_000 + k * 4_000;
        for (at_ms, restore) in [(at, false), (at + 2_000, true)] {
            c.events.push(LinkEvent {
                a: 3,
                b: 5,
                at_ms,
                restore,
            });
        }
    }
    let mut s = Sim::new(c);
    s.run_until(59_900);
    assert_eq!(
        s.engines[5].gateway_choice(),
        Some(originator(0)),
        "seed {seed}"
    );
    s.cfg.link_loss.insert((4, 5), 0.2);
    let before = s.engines[5].gateway_role().2;
    s.run_until(110_000);
    s.engines[5].gateway_role().2 - before
}

#[test]
fn lost_flood_copy_on_the_spare_path_does_not_move_the_client() {
    // When the spare path's last copy of gateway 0's OGM was lost, the
    // route via 4 is one seqno behind (unfeasible) at the cut, and gateway
    // 0 is unreachable until the seqno request is answered: the client
    // holds its choice meanwhile (GW_HOLD_MS) instead of moving to 1.
    let mut total = 0;
    for seed in 1..=20 {
        let moves = gateway_flaps(seed, false);
        assert!(moves <= 1, "seed {seed}: {moves} moves");
        total += moves;
    }
    eprintln!("20 seeds × 10 flaps: the client moved {total} times");
}

#[test]
fn a_neighbour_heard_again_is_asked_for_its_table() {
    // 2 stops hearing 1 (one way: 1 still hears 2, so 1 never notices),
    // drops it, and hears it again 2 s later. 1 sends no dump by itself;
    // 2 asks for one (wildcard SEQREQ targeted at 1) and has its routes
    // back within 0.05-0.7 s (without asking: 1.6-2.3 s here, waiting for
    // 1's next IHU, and up to an OGM round in the netns gateway test).
    let topo = Topology::parse("edges:3:0-1,1-2", 0).unwrap();
    let mut worst = 0;
    for seed in 1..=10 {
        let mut c = SimConfig::new(topo.clone(), 80_000, seed);
        c.kind = IfaceKind::Wired;
        let mut s = Sim::new(c);
        s.run_until(40_000);
        assert_eq!(s.next_hop(2, 0), Some(1), "seed {seed}");
        s.up.insert((1, 2), false);
        s.run_until(44_000);
        assert_eq!(s.next_hop(2, 0), None, "seed {seed}: 1 not dropped");
        s.up.insert((1, 2), true);
        let mut t = 44_000;
        while s.next_hop(2, 0).is_none() && t < 80_000 {
            t += 10;
            s.run_until(t);
        }
        eprintln!(
            "seed {seed}: route back {} ms after 1 is heard again",
            t - 44_000
        );
        assert!(t - 44_000 <= 1_200, "seed {seed}: {} ms", t - 44_000);
        worst = worst.max(t - 44_000);
    }
    eprintln!("worst {worst} ms");
}

#[test]
fn losing_every_neighbour_for_a_moment_does_not_move_the_client() {
    // 4→5 turns lossy only when the flapping starts: a neighbour measured
    // clean is dropped after 2 missed hellos, so now and then the client
    // loses both neighbours at once, and with them every gateway, for a
    // moment. It keeps its choice (GW_HOLD_MS) instead of dropping it and
    // taking the same one back: no move.
    let mut total = 0;
    for seed in 1..=60 {
        let moves = gateway_flaps(seed, true);
        assert!(moves <= 1, "seed {seed}: {moves} moves");
        total += moves;
    }
    eprintln!("60 seeds × 10 flaps, loss starting with them: {total} moves");
}

/// Milliseconds from node 1 joining (link 1-2 up, fresh engine, 20 % loss
/// each way on that link) until node 2 routes to it and it routes to all.
fn late_join_ms(seed: u64) -> u64 {
    // The netns gateway test's shape: 0 = G1, 1 = G2 (joins late), 2 = its
    // only neighbour, 5 = the client.
    let topo = Topology::parse("edges:6:0-2,1-2,2-3,2-4,3-5,4-5", 0).unwrap();
    let mut c = SimConfig::new(topo, 200_000, seed);
    c.kind = IfaceKind::Wired;
    c.link_loss.insert((1, 2), 0.2);
    c.link_loss.insert((2, 1), 0.2);
    let mut s = Sim::new(c);
    s.up.insert((1, 2), false);
    s.up.insert((2, 1), false);
    s.run_until(20_000);
    s.up.insert((1, 2), true);
    s.up.insert((2, 1), true);
    s.restart_node(1, seed + 1000);
    let mut t = 20_000;
    while t < 200_000
        && !(s.next_hop(2, 1).is_some() && (0..6).all(|i| i == 1 || s.next_hop(1, i).is_some()))
    {
        t += 10;
        s.run_until(t);
    }
    t - 20_000
}

#[test]
fn a_node_joining_over_a_lossy_link_is_routed_within_seconds() {
    // Its first-contact dump (with its own OGM) or its first IHUs may be
    // lost; then its neighbour asks it for its table, once a second, rather
    // than wait for its next OGM flood (30 s) or IHU. Without asking, over
    // these 200 seeds: p90 15.9 s, worst 56 s (with asking: 3.2 s, 6.3 s).
    let mut ms: Vec<(u64, u64)> = (1..=200).map(|seed| (late_join_ms(seed), seed)).collect();
    ms.sort_unstable();
    let (median, p90, worst) = (ms[100], ms[180], ms[199]);
    eprintln!("late join over a 20 % lossy link, 200 seeds: median {median:?}, p90 {p90:?}, worst {worst:?} (ms, seed)");
    assert!(worst.0 <= 12_000, "{worst:?}");
}
