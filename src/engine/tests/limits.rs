//! Caps and rate limits under a flood of forged originators.

use super::*;
use crate::wire::{Builder, HeaderRepr};

/// A datagram from a forger: optionally an IHU saying it hears `me`
/// perfectly (so it looks bidirectional), then forged OGMs `first..first+n`.
fn forged(seq: u16, me: Option<Ipv6Addr>, first: u32, n: u32) -> Vec<u8> {
    let h = HeaderRepr {
        flags: 0,
        length: 0,
        seqno: seq,
        interval_ms: 750,
    };
    let mut b = Builder::new(h, 1400);
    if let Some(me) = me {
        let e = [IhuEntry {
            iid: IhuEntry::iid_of(&me),
            rxq: 255,
        }];
        b.push(MSG_IHU, IhuRepr::buffer_len(1), |buf| {
            IhuRepr::emit(&e, buf)
        });
    }
    for k in first..first + n {
        let o = OgmRepr {
            originator: Ipv6Addr::new(0xfd66, 0, 0, 0, 0, 0, (k >> 16) as u16, k as u16),
            seqno: 1,
            ttl: 50,
            tq: 255,
            flags: OGM_FLAG_OWN,
            tlv_bytes: &[],
        };
        b.push(MSG_OGM, o.buffer_len(), |buf| o.emit(buf));
    }
    b.finish()
}

fn capped(i: u16, max_originators: usize) -> Node {
    let mut n = node(i, &[&format!("10.0.0.{i}/32")]);
    n.e.cfg.params = Params {
        max_originators,
        ..Params::default()
    };
    n
}

#[test]
fn a_flood_of_forged_originators_stays_under_the_cap_and_routes_stay() {
    for bidirectional in [false, true] {
        let mut a = capped(1, 50);
        let mut b = node(2, &["10.0.0.2/32"]);
        drain(&mut a);
        drain(&mut b);
        run(&mut a, &mut b, 3000, true);
        let legit: Prefix = "10.0.0.2/32".parse().unwrap();
        assert!(a.routes.contains_key(&legit));
        // 40 000 forged originators, 40 per datagram, 1000 datagrams in 1 s:
        // more than the rate limit lets through.
        let me = bidirectional.then_some(ll(1));
        let mut t = 3000;
        for d in 0..1000u32 {
            let bytes = forged(d as u16, me, d * 40, 40);
            t += 1;
            a.e.handle_input(
                Time(t),
                Input::Packet {
                    iface: 1,
                    src: ll(9),
                    bytes,
                },
            );
            if a.deadline.0 <= t {
                a.e.handle_input(Time(t), Input::Timer);
            }
            drain(&mut a);
            run(&mut a, &mut b, t, true);
        }
        let st = a.e.status(Time(t));
        let c = &st.counters.dropped;
        eprintln!(
            "bidirectional forger {bidirectional}: {} originators kept, drops {c:?}",
            st.originators.len()
        );
        assert!(st.originators.len() <= 50);
        assert!(a.routes.contains_key(&legit), "legit route kept");
        assert!(c.get("rate_limited").copied().unwrap_or(0) > 0);
        if bidirectional {
            // Forged originators got routes: newcomers wait, nothing routed is evicted.
            assert!(c.get("originator_cap").copied().unwrap_or(0) > 0);
        } else {
            // Unrouted junk makes room for newcomers.
            assert!(c.get("originator_evicted").copied().unwrap_or(0) > 0);
        }
    }
}
