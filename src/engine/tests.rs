//! Two engines wired back to back through the sans-IO API: what a driver
//! sees (transmits, route changes, events, deadlines).

use super::*;

struct Node {
    e: Engine,
    routes: BTreeMap<Prefix, Route>,
    events: Vec<Event>,
    deadline: Time,
}

fn node(i: u16, announce: &[&str]) -> Node {
    node_at(i, announce, u64::from(i), 0)
}

/// Node `i` started at `now` with random seed `seed`.
fn node_at(i: u16, announce: &[&str], seed: u64, now: u64) -> Node {
    let cfg = EngineConfig {
        originator: Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, i),
        announce: announce.iter().map(|p| p.parse().unwrap()).collect(),
        hostname: Some(format!("node{i}")),
        gateway_offer: None,
        gateway_class: None,
        zeroconf: None,
        params: Params::default(),
    };
    started(cfg, seed, now, ll(i), &[1])
}

/// An engine for `cfg` with wired interfaces `ifaces` up (link-local `ll`).
fn started(cfg: EngineConfig, seed: u64, now: u64, ll: Ipv6Addr, ifaces: &[IfaceId]) -> Node {
    let mut e = Engine::new(cfg, seed, Time(now));
    for &iface in ifaces {
        e.handle_input(
            Time(now),
            Input::InterfaceUp {
                iface,
                name: format!("veth{iface}"),
                kind: IfaceKind::Wired,
                max_payload: 1452,
                link_local: ll,
            },
        );
    }
    Node {
        e,
        routes: BTreeMap::new(),
        events: Vec::new(),
        deadline: Time::ZERO,
    }
}

fn ll(i: u16) -> Ipv6Addr {
    Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, i)
}

/// Drains one engine; returns the datagrams it sent.
fn drain(n: &mut Node) -> Vec<Vec<u8>> {
    let mut sent = Vec::new();
    drain_with(n, |_, bytes| sent.push(bytes));
    sent
}

/// Drains one engine, handing every datagram to `tx` with its interface.
fn drain_with(n: &mut Node, mut tx: impl FnMut(IfaceId, Vec<u8>)) {
    loop {
        match n.e.poll_output() {
            Output::Transmit { iface, bytes } => tx(iface, bytes),
            Output::Routes(changes) => {
                for c in changes {
                    match c {
                        RouteChange::Set(r) => {
                            n.routes.insert(r.dst, r);
                        }
                        RouteChange::Remove(p) => {
                            n.routes.remove(&p);
                        }
                    }
                }
            }
            Output::Event(ev) => n.events.push(ev),
            Output::Gateways(_) => {}
            Output::Timeout(t) => {
                n.deadline = t;
                return;
            }
        }
    }
}

/// Runs both nodes until `until`, delivering a→b only while `a_to_b`.
fn run(a: &mut Node, b: &mut Node, until: u64, a_to_b: bool) {
    run_tapped(a, b, until, a_to_b, &mut |_| {});
}

/// [`run`], showing `tap` every datagram A sends.
fn run_tapped(a: &mut Node, b: &mut Node, until: u64, a_to_b: bool, tap: &mut dyn FnMut(&[u8])) {
    loop {
        let t = a.deadline.min(b.deadline);
        if t.0 > until {
            return;
        }
        for (from, addr, deliver) in [(0, ll(1), a_to_b), (1, ll(2), true)] {
            let (src, dst) = if from == 0 {
                (&mut *a, &mut *b)
            } else {
                (&mut *b, &mut *a)
            };
            if src.deadline <= t {
                src.e.handle_input(t, Input::Timer);
            }
            let sent = drain(src);
            for bytes in sent {
                if from == 0 {
                    tap(&bytes);
                }
                if deliver {
                    dst.e.handle_input(
                        t.plus(1),
                        Input::Packet {
                            iface: 1,
                            src: addr,
                            bytes,
                        },
                    );
                }
            }
            drain(dst);
        }
    }
}

#[test]
fn two_engines_route_each_other_and_retract_after_a_silent_cut() {
    let mut a = node(1, &["10.0.0.1/32"]);
    let mut b = node(2, &["10.0.0.2/32"]);
    drain(&mut a);
    drain(&mut b);
    run(&mut a, &mut b, 3000, true);
    let dst: Prefix = "10.0.0.1/32".parse().unwrap();
    let r = b.routes.get(&dst).expect("B routes A's announced prefix");
    assert_eq!((r.via, r.iface, r.metric), (ll(1), 1, routes::ROUTE_METRIC));
    assert!(b.routes.contains_key(&"fd77::1/128".parse().unwrap()));
    assert!(a.routes.contains_key(&"10.0.0.2/32".parse().unwrap()));
    assert_eq!(b.routes.len(), 2);
    assert_eq!(b.e.routes().len(), 2, "routes() matches the stream");
    assert!(b.events.contains(&Event::OriginatorUp {
        originator: Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 1)
    }));
    let st = b.e.status(Time(3000));
    assert_eq!(st.originators[0].hostname.as_deref(), Some("node1"));
    assert!(st.neighbours[0].bidirectional);
    // A goes silent towards B: B drops it within the hold time (2.25 × 750 ms).
    run(&mut a, &mut b, 6000, false);
    assert!(b.routes.is_empty(), "{:?}", b.routes);
    assert!(b
        .events
        .iter()
        .any(|e| matches!(e, Event::NeighbourDown { .. })));
    assert!(b.events.contains(&Event::OriginatorDown {
        originator: Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 1)
    }));
    assert!(b.e.routes().is_empty());
}

#[test]
fn garbage_is_counted_and_dropped() {
    let mut a = node(1, &[]);
    drain(&mut a);
    for bytes in [
        vec![],
        vec![0u8; 3],
        b"Ro\x01\x01\0\0\0\x0c\0\0\0\x4bextra".to_vec(),
    ] {
        a.e.handle_input(
            Time(5),
            Input::Packet {
                iface: 1,
                src: ll(9),
                bytes,
            },
        );
    }
    a.e.handle_input(
        Time(5),
        Input::Packet {
            iface: 1,
            src: "2001:db8::1".parse().unwrap(),
            bytes: vec![1],
        },
    );
    a.e.handle_input(
        Time(5),
        Input::Packet {
            iface: 7,
            src: ll(9),
            bytes: vec![1],
        },
    );
    let c = a.e.counters();
    assert_eq!(c.rx_packets, 5);
    assert_eq!(c.dropped.get("truncated"), Some(&2));
    assert_eq!(c.dropped.get("trailing_bytes"), Some(&1));
    assert_eq!(c.dropped.get("source_not_link_local"), Some(&1));
    assert_eq!(c.dropped.get("unknown_interface"), Some(&1));
    assert!(a.e.status(Time(5)).neighbours.is_empty());
}

/// Hostile input: random but well-formed datagrams (random originators,
/// seqnos, TQs, TLVs, IHUs, seqno requests, hello seqnos) and raw garbage,
/// from many sources, with time jumping around. No panic; state stays bounded.
#[test]
fn random_traffic_never_panics_and_stays_bounded() {
    use crate::wire::{Builder, HeaderRepr, IhuEntry, IhuRepr, OgmRepr, MSG_IHU, MSG_OGM};
    let mut n = node(1, &["10.0.0.1/32"]);
    drain(&mut n);
    let mut r = rng::Rng::new(42);
    let mut now = 0u64;
    for i in 0..60_000u32 {
        now += r.below(40);
        let src = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2 + r.below(300) as u16);
        let mut b = Builder::new(
            HeaderRepr {
                flags: r.below(4) as u8,
                length: 0,
                seqno: r.below(65536) as u16,
                interval_ms: 10 + r.below(3000) as u32,
            },
            1400,
        );
        for _ in 0..r.below(6) {
            match r.below(4) {
                0 => {
                    let e: Vec<IhuEntry> = (0..r.below(5))
                        .map(|_| IhuEntry {
                            iid: if r.below(2) == 0 {
                                IhuEntry::iid_of(&ll(1))
                            } else {
                                [r.below(256) as u8; 8]
                            },
                            rxq: r.below(256) as u8,
                        })
                        .collect();
                    b.push(MSG_IHU, IhuRepr::buffer_len(e.len()), |buf| {
                        IhuRepr::emit(&e, buf)
                    });
                }
                1 => {
                    let req = SeqReq {
                        originator: Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, r.below(50) as u16),
                        seqno: r.next_u64() as u32,
                        hop_limit: r.below(40) as u8,
                        target: [0; 8],
                    };
                    b.push(MSG_SEQREQ, 29, |buf| req.emit(buf));
                }
                _ => {
                    let mut tlvs = Vec::new();
                    for _ in 0..r.below(3) {
                        let t = match r.below(3) {
                            0 => Tlv::Prefix(
                                Prefix::new(
                                    std::net::Ipv4Addr::from(r.next_u64() as u32).into(),
                                    r.below(33) as u8,
                                )
                                .unwrap(),
                            ),
                            1 => Tlv::Hostname("x"),
                            _ => Tlv::Gateway { down: 10, up: 1 },
                        };
                        t.emit(&mut tlvs);
                    }
                    let o = OgmRepr {
                        originator: Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, r.below(20_000) as u16),
                        seqno: if r.below(2) == 0 {
                            r.below(8) as u32
                        } else {
                            r.next_u64() as u32
                        },
                        ttl: r.below(60) as u8,
                        tq: r.below(256) as u8,
                        flags: r.below(16) as u8,
                        tlv_bytes: &tlvs,
                    };
                    b.push(MSG_OGM, o.buffer_len(), |buf| o.emit(buf));
                }
            }
        }
        let mut bytes = b.finish();
        if i % 7 == 0 && !bytes.is_empty() {
            let at = r.below(bytes.len() as u64) as usize;
            bytes[at] = r.next_u64() as u8;
        }
        n.e.handle_input(
            Time(now),
            Input::Packet {
                iface: 1,
                src,
                bytes,
            },
        );
        if n.deadline.0 <= now {
            n.e.handle_input(Time(now), Input::Timer);
        }
        drain(&mut n);
    }
    let st = n.e.status(Time(now));
    assert!(st.neighbours.len() <= Params::default().max_neighbours);
    assert!(st.originators.len() <= Params::default().max_originators);
    assert!(st
        .originators
        .iter()
        .all(|o| o.alternatives.len() <= originator::MAX_ALTS));
    assert!(n.e.reqs_seen.len() <= MAX_REQS_SEEN);
    assert!(st.counters.rx_packets == 60_000);
}

mod auth;
mod limits;
mod zeroconf;

/// Wildcard SEQREQs targeted at `target` in datagram `bytes`.
fn table_asks(bytes: &[u8], target: &Ipv6Addr) -> usize {
    let Ok(dg) = crate::wire::parse(bytes) else {
        return 0;
    };
    dg.messages
        .flatten()
        .filter(|m| m.kind == MSG_SEQREQ)
        .filter_map(|m| SeqReq::parse(m.body).ok())
        .filter(|r| r.originator.is_unspecified() && r.target == IhuEntry::iid_of(target))
        .count()
}

#[test]
fn a_neighbour_without_its_own_ogm_is_asked_for_its_table_a_bounded_number_of_times() {
    use crate::wire::{Builder, HeaderRepr, IhuRepr, MSG_IHU};
    // Neighbour ll(2) hears node 1 (its IHU lists it) but never sends an
    // OGM: node 1 asks it for its table once a second from 1 s after
    // meeting it, 10 times, then stops; when it restarts, 10 more.
    let mut n = node(1, &[]);
    drain(&mut n);
    let hello = |seq: u16| {
        let mut b = Builder::new(
            HeaderRepr {
                flags: 0,
                length: 0,
                seqno: seq,
                interval_ms: 780,
            },
            1400,
        );
        let e = [IhuEntry {
            iid: IhuEntry::iid_of(&ll(1)),
            rxq: 255,
        }];
        b.push(MSG_IHU, IhuRepr::buffer_len(1), |buf| {
            IhuRepr::emit(&e, buf)
        });
        b.finish()
    };
    let mut asks = Vec::new();
    let mut seq = 1000u16;
    let mut next_hello = 0u64;
    for now in (0..60_000u64).step_by(10) {
        if now == 30_000 {
            seq = 5; // restarted: hello seqnos start over
        }
        if now >= next_hello {
            n.e.handle_input(
                Time(now),
                Input::Packet {
                    iface: 1,
                    src: ll(2),
                    bytes: hello(seq),
                },
            );
            seq = seq.wrapping_add(1);
            next_hello = now + 780;
        }
        if n.deadline.0 <= now {
            n.e.handle_input(Time(now), Input::Timer);
        }
        for bytes in drain(&mut n) {
            asks.extend(std::iter::repeat_n(now, table_asks(&bytes, &ll(2))));
        }
    }
    let (first, second): (Vec<u64>, Vec<u64>) = asks.iter().partition(|&&t| t < 30_000);
    assert_eq!(first.len(), 10, "{asks:?}");
    assert_eq!(second.len(), 10, "{asks:?}");
    assert!(first[0] >= 1000 && second[0] >= 31_000, "{asks:?}");
    // One per housekeeping pass (1 s), each in the next hello after it.
    assert!(first.windows(2).all(|w| w[1] - w[0] >= 700), "{asks:?}");
}
