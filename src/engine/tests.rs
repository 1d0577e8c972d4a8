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
    let cfg = EngineConfig {
        originator: Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, i),
        announce: announce.iter().map(|p| p.parse().unwrap()).collect(),
        hostname: Some(format!("node{i}")),
        params: Params::default(),
    };
    let mut e = Engine::new(cfg, u64::from(i), Time(0));
    e.handle_input(
        Time(0),
        Input::InterfaceUp {
            iface: 1,
            name: "veth0".into(),
            kind: IfaceKind::Wired,
            max_payload: 1452,
            link_local: ll(i),
        },
    );
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
    loop {
        match n.e.poll_output() {
            Output::Transmit { bytes, .. } => sent.push(bytes),
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
            Output::Timeout(t) => {
                n.deadline = t;
                return sent;
            }
        }
    }
}

/// Runs both nodes until `until`, delivering a→b only while `a_to_b`.
fn run(a: &mut Node, b: &mut Node, until: u64, a_to_b: bool) {
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
