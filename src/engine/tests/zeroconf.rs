//! Chains of engines: overlapping announcements, and zero-config
//! duplicates (the same originator address, the same LAN prefix).

use super::*;
use crate::zeroconf::node_id;

/// A chain of nodes 1..=n; node k's interface 1 faces k−1, interface 2
/// faces k+1.
struct Chain {
    nodes: Vec<Node>,
    /// Datagrams from node `from` to node `to` (1-based) are lost until
    /// `until` ms.
    mute: Option<(u16, u16, u64)>,
}

fn site() -> crate::zeroconf::Site {
    crate::zeroconf::example_site()
}

/// Node `i` of a chain of `n`, zero-config from `mac` when given (its
/// node id from `hw`, its hardware MAC).
fn chain_node(i: u16, n: u16, announce: &[&str], zc: Option<([u8; 6], [u8; 6])>) -> Node {
    let cfg = EngineConfig {
        originator: Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, i),
        announce: announce.iter().map(|p| p.parse().unwrap()).collect(),
        hostname: None,
        gateway_offer: None,
        gateway_class: None,
        zeroconf: zc.map(|(mac, hw)| ZeroconfConfig {
            site: site(),
            mac,
            node_id: node_id(hw),
            derive_originator: true,
        }),
        params: Params::default(),
    };
    // Interface 1 faces node i−1, interface 2 node i+1.
    let ifaces: Vec<IfaceId> = [(1, i > 1), (2, i < n)]
        .into_iter()
        .filter_map(|(f, there)| there.then_some(f))
        .collect();
    started(cfg, u64::from(i) * 7919, 0, ll(i), &ifaces)
}

impl Chain {
    fn new(nodes: Vec<Node>) -> Chain {
        let mut c = Chain { nodes, mute: None };
        for n in &mut c.nodes {
            drain(n);
        }
        c
    }

    fn node(&self, i: u16) -> &Node {
        &self.nodes[usize::from(i - 1)]
    }

    /// Runs every node until `until` ms; datagrams take 1 ms.
    fn run(&mut self, until: u64) {
        let mut inflight: Vec<(Time, usize, IfaceId, Ipv6Addr, Vec<u8>)> = Vec::new();
        loop {
            let next_rx = inflight.iter().map(|f| f.0).min().unwrap_or(Time::NEVER);
            let t = self
                .nodes
                .iter()
                .map(|n| n.deadline)
                .min()
                .unwrap_or(Time::NEVER)
                .min(next_rx);
            if t.0 > until {
                return;
            }
            let (due, later): (Vec<_>, Vec<_>) = inflight.into_iter().partition(|f| f.0 <= t);
            inflight = later;
            for (_, to, iface, src, bytes) in due {
                let n = &mut self.nodes[to];
                n.e.handle_input(t, Input::Packet { iface, src, bytes });
            }
            let count = self.nodes.len();
            let mute = self.mute;
            for k in 0..count {
                let n = &mut self.nodes[k];
                if n.deadline <= t {
                    n.e.handle_input(t, Input::Timer);
                }
                drain_with(n, |iface, bytes| {
                    // Interface 1 faces k−1, interface 2 faces k+1.
                    let to = if iface == 1 { k - 1 } else { k + 1 };
                    let src = ll(k as u16 + 1);
                    let muted = mute.is_some_and(|(from, into, until)| {
                        usize::from(from) == k + 1 && usize::from(into) == to + 1 && t.0 < until
                    });
                    if !muted {
                        inflight.push((t.plus(1), to, 3 - iface, src, bytes));
                    }
                });
            }
        }
    }

    /// Node `at` routes `dst` toward node `owner` (via its neighbour on
    /// that side).
    fn routes_toward(&self, at: u16, dst: Prefix, owner: u16) -> bool {
        let want = if owner < at { ll(at - 1) } else { ll(at + 1) };
        self.node(at)
            .routes
            .get(&dst)
            .is_some_and(|r| r.via == want)
    }
}

fn p(s: &str) -> Prefix {
    s.parse().unwrap()
}

#[test]
fn identical_prefixes_go_to_the_lowest_originator_and_overlaps_to_both() {
    let mut c = Chain::new(vec![
        chain_node(1, 4, &["10.9.0.0/24", "10.1.0.0/16"], None),
        chain_node(2, 4, &[], None),
        chain_node(3, 4, &[], None),
        // Closer to nodes 3 (and as close to 2): TQ would pick it.
        chain_node(4, 4, &["10.9.0.0/24", "10.1.2.0/24"], None),
    ]);
    c.run(120_000);
    for at in 2..=3 {
        assert!(c.routes_toward(at, p("10.9.0.0/24"), 1), "node {at}");
        assert!(c.routes_toward(at, p("10.1.0.0/16"), 1), "node {at}");
        assert!(c.routes_toward(at, p("10.1.2.0/24"), 4), "node {at}");
        let ev = &c.node(at).events;
        let conflicts = ev
            .iter()
            .filter(|e| matches!(e, Event::PrefixConflict { prefix, .. } if *prefix == p("10.9.0.0/24")))
            .count();
        assert_eq!(conflicts, 1, "node {at}: logged once: {ev:?}");
        let overlaps: Vec<&Event> = ev
            .iter()
            .filter(|e| matches!(e, Event::PrefixOverlap { .. }))
            .collect();
        assert_eq!(
            overlaps,
            [&Event::PrefixOverlap {
                prefix: p("10.1.0.0/16"),
                originator: "fd77::1".parse().unwrap(),
                more_specific: p("10.1.2.0/24"),
                other: "fd77::4".parse().unwrap(),
            }],
            "node {at}"
        );
    }
    // Each announcer keeps its own.
    assert!(!c.node(4).routes.contains_key(&p("10.9.0.0/24")));
    assert!(!c.node(1).routes.contains_key(&p("10.9.0.0/24")));
}

#[test]
fn twins_with_one_derived_address_are_told_apart_and_one_gives_way() {
    let mac = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55];
    let (hw1, hw4) = ([0x02, 0, 0, 0, 0, 1], [0x02, 0, 0, 0, 0, 4]);
    let mut c = Chain::new(vec![
        chain_node(1, 4, &[], Some((mac, hw1))),
        chain_node(2, 4, &[], None),
        chain_node(3, 4, &[], None),
        chain_node(4, 4, &[], Some((mac, hw4))),
    ]);
    let twin = site().derive(mac, 0).originator;
    assert_eq!(c.node(1).e.originator(), twin);
    assert_eq!(c.node(4).e.originator(), twin);
    // Dumps and triggered updates carry the claims: resolved well before
    // the first flood (15 s after start), the loser's route to the winner
    // included.
    c.run(5_000);
    for n in [1, 4] {
        let z = c.node(n).e.zeroconf_status().unwrap();
        assert_eq!(z.duplicates, 1, "node {n} detected it by 5 s");
        if z.last_duplicate.unwrap().gave_way {
            let other = 5 - n;
            assert!(
                c.routes_toward(n, Prefix::host(twin.into()), other),
                "node {n} routes the winner's address by 5 s"
            );
        }
    }
    c.run(120_000);
    let loser = if crate::zeroconf::id_loser(node_id(hw1), node_id(hw4)) == node_id(hw1) {
        1
    } else {
        4
    };
    let winner = 5 - loser;
    assert_eq!(c.node(winner).e.originator(), twin);
    let moved = c.node(loser).e.originator();
    assert_eq!(moved, site().derive(mac, 1).originator);
    for n in [1, 4] {
        let dup = c
            .node(n)
            .events
            .iter()
            .filter(|e| matches!(e, Event::DuplicateOriginator { .. }))
            .count();
        assert_eq!(dup, 1, "node {n} detects it once: {:?}", c.node(n).events);
        let z = c.node(n).e.zeroconf_status().unwrap();
        assert_eq!(z.duplicates, 1);
        assert_eq!(z.last_duplicate.unwrap().gave_way, n == loser);
    }
    // Every node routes both addresses, and both LANs, to the right node.
    let lans = |n: u16| c.node(n).e.zeroconf_status().unwrap().lan;
    assert_ne!(lans(1), lans(4));
    for at in 1..=4u16 {
        for (owner, addr) in [(winner, twin), (loser, moved)] {
            if at == owner {
                continue;
            }
            assert!(
                c.routes_toward(at, Prefix::host(addr.into()), owner),
                "node {at}: {addr} toward node {owner}: {:?}",
                c.node(at).routes.get(&Prefix::host(addr.into()))
            );
            for lan in lans(owner) {
                assert!(c.routes_toward(at, lan, owner), "node {at}: {lan}");
            }
        }
    }
}

#[test]
fn the_winner_hears_of_a_loser_whose_claim_never_left() {
    // Node 3 (the loser) hears node 1's claim through node 2 before anything
    // it sends gets through: only its last word for the old address (a
    // retraction naming it, repeated) tells node 1.
    let mac = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55];
    let (mut hw1, mut hw3) = ([0x02, 0, 0, 0, 0, 1], [0x02, 0, 0, 0, 0, 3]);
    if crate::zeroconf::id_loser(node_id(hw1), node_id(hw3)) == node_id(hw1) {
        std::mem::swap(&mut hw1, &mut hw3);
    }
    let mut c = Chain::new(vec![
        chain_node(1, 3, &[], Some((mac, hw1))),
        chain_node(2, 3, &[], None),
        chain_node(3, 3, &[], Some((mac, hw3))),
    ]);
    c.mute = Some((3, 2, 1_000));
    c.run(900);
    let z3 = c.node(3).e.zeroconf_status().unwrap();
    assert_eq!(z3.originator_attempt, 1, "node 3 gave way while muted");
    c.run(10_000);
    let z1 = c.node(1).e.zeroconf_status().unwrap();
    assert_eq!(
        z1.duplicates,
        1,
        "node 1 heard of it: {:?}",
        c.node(1).events
    );
    assert!(!z1.last_duplicate.unwrap().gave_way);
    let twin = site().derive(mac, 0).originator;
    assert!(c.routes_toward(2, Prefix::host(twin.into()), 1));
    assert!(c.routes_toward(3, Prefix::host(twin.into()), 1));
}

#[test]
fn a_derived_prefix_announced_elsewhere_moves_the_higher_originator() {
    let mac = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55];
    let taken = site().derive(mac, 0).lan6;
    let mut c = Chain::new(vec![
        chain_node(1, 3, &[], Some((mac, mac))),
        chain_node(2, 3, &[], None),
        // fd77::3 is lower than node 1's derived fd77:1234:5678:…
        chain_node(3, 3, &[&taken.to_string()], None),
    ]);
    c.run(60_000);
    let z = c.node(1).e.zeroconf_status().unwrap();
    assert_eq!(z.attempt, 1);
    assert_eq!(z.originator_attempt, 0, "the originator stays");
    assert_eq!(z.lan[0], site().derive(mac, 1).lan6);
    assert!(c.node(1).events.contains(&Event::DuplicatePrefix {
        prefix: taken,
        other: "fd77::3".parse().unwrap(),
        gave_way: true,
    }));
    assert!(c.routes_toward(2, taken, 3));
    assert!(c.routes_toward(2, z.lan[0], 1));
    assert!(c.routes_toward(3, z.lan[0], 1));
    assert!(
        c.routes_toward(1, taken, 3),
        "node 1 routes what it gave up"
    );
}

#[test]
fn a_configured_originator_never_gives_way() {
    // Node 1: zero-config with an explicit originator equal to what node 3
    // derives; node 3 must move (node 1 sends node id 0: always wins).
    let mac = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55];
    let twin = site().derive(mac, 0).originator;
    let n1 = chain_node(
        1,
        3,
        &[],
        Some(([0x02, 0, 0, 0, 0, 1], [0x02, 0, 0, 0, 0, 1])),
    );
    let mut cfg = n1.e.cfg.clone();
    cfg.originator = twin;
    if let Some(z) = cfg.zeroconf.as_mut() {
        z.derive_originator = false;
        z.node_id = [0xff; 8];
    }
    let n1 = started(cfg, 1, 0, ll(1), &[2]);
    let mut c = Chain::new(vec![
        n1,
        chain_node(2, 3, &[], None),
        chain_node(3, 3, &[], Some((mac, [0x02, 0, 0, 0, 0, 3]))),
    ]);
    c.run(30_000);
    assert_eq!(c.node(1).e.originator(), twin);
    assert_ne!(c.node(3).e.originator(), twin);
    assert!(c.routes_toward(2, Prefix::host(twin.into()), 1));
}

#[test]
fn node_id_rides_only_on_zero_config_nodes() {
    let plain = chain_node(1, 1, &["10.0.0.1/32"], None);
    assert!(crate::engine::zeroconf::node_id_of(&plain.e.own_tlvs).is_none());
    let mac = [0x02, 0, 0, 0, 0, 9];
    let zc = chain_node(1, 1, &[], Some((mac, mac)));
    assert_eq!(
        crate::engine::zeroconf::node_id_of(&zc.e.own_tlvs),
        Some(node_id(mac))
    );
}

#[test]
fn the_send_queue_keeps_two_claimants_of_one_address_apart() {
    let ogm = |seqno: u32, id: Option<[u8; 8]>| {
        let mut tlvs = Vec::new();
        if let Some(id) = id {
            Tlv::NodeId(id).emit(&mut tlvs);
        }
        QueuedOgm {
            originator: "fd77::9".parse().unwrap(),
            seqno,
            ttl: 10,
            tq: 200,
            flags: OGM_FLAG_UPDATE,
            tlvs,
            repeat: 0,
        }
    };
    let header = || HeaderRepr {
        flags: 0,
        length: 0,
        seqno: 1,
        interval_ms: 780,
    };
    let mut q = TxQueue::default();
    q.push_ogm(ogm(5, Some([1; 8])));
    q.push_ogm(ogm(9, Some([2; 8])));
    // Same claimant: merged as before (the newer seqno).
    q.push_ogm(ogm(6, Some([1; 8])));
    q.push_ogm(ogm(7, None));
    let (_, sent) = q.drain(None, 1400, header);
    let seqnos: Vec<u32> = sent.iter().map(|o| o.seqno).collect();
    assert_eq!(seqnos, [7, 9], "one OGM per claimant: {seqnos:?}");
}
