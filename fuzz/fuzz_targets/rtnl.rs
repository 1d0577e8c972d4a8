//! The rtnetlink parser on arbitrary bytes (as if a datagram from the
//! kernel): never panics, and every route, rule, address and neighbour entry it accepts
//! encodes to a request that parses back to the same thing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use roost::linux::rtnl::{self, msg, AddrMsg, LinkMsg, Msg, NeighMsg, Reply, RouteMsg, RuleMsg};

fn round_trip(m: &Msg) {
    match m {
        Msg::NewRoute(r) | Msg::DelRoute(r) => {
            let q = r.request(rtnl::route::RTM_NEWROUTE);
            assert_eq!(RouteMsg::parse(&q.body).as_ref(), Some(r));
        }
        Msg::NewRule(r) | Msg::DelRule(r) => {
            let q = r.request(rtnl::rule::RTM_NEWRULE);
            assert_eq!(RuleMsg::parse(&q.body).as_ref(), Some(r));
        }
        Msg::NewAddr(a) | Msg::DelAddr(a) => {
            let q = a.request(rtnl::addr::RTM_NEWADDR);
            assert_eq!(AddrMsg::parse(&q.body).as_ref(), Some(a));
        }
        Msg::NewNeigh(n) => {
            let q = n.request(rtnl::neigh::RTM_NEWNEIGH);
            assert_eq!(NeighMsg::parse(&q.body).as_ref(), Some(n));
        }
        Msg::NewLink(_) | Msg::DelLink(_) => {}
    }
}

fuzz_target!(|data: &[u8]| {
    // As a datagram.
    for r in rtnl::parse(data) {
        if let Reply::Msg { msg, .. } = r {
            round_trip(&msg);
        }
    }
    // As one message body of every kind.
    for a in msg::attrs(data, 0) {
        assert!(a.data.len() <= data.len());
    }
    let _ = LinkMsg::parse(data);
    for kind in [16, 20, 24, 28, 32] {
        if let Some(m) = Msg::decode(kind, data) {
            round_trip(&m);
        }
    }
});
