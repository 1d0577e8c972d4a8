//! Kernel neighbour entries for Roost's neighbours: one *managed* entry
//! (Linux ≥ 5.16) per mesh neighbour's link-local address, tagged with
//! protocol [`ROUTE_PROTOCOL`], so the kernel keeps the next hops of
//! Roost's routes resolved all the time.
//!
//! Why: Roost's own traffic is multicast, so without them the kernel
//! resolves a next hop only when the first data packet needs it. After a
//! route or gateway change that costs a Neighbour Solicitation round,
//! repeated after 1 s for every one lost: on a 20 %-lossy link, a second
//! or two of queued traffic, measured in the gateway switch-over test.
//!
//! Entries are removed when the neighbour goes and at exit; stale ones
//! (a crash) at start. A kernel without managed entries refuses them:
//! logged once, everything else works as before.

use std::io;
use std::net::{IpAddr, Ipv6Addr};

use super::rtnl::msg::AF_INET6;
use super::rtnl::neigh::{self, NTF_EXT_MANAGED, RTM_DELNEIGH, RTM_NEWNEIGH};
use super::rtnl::{Msg, NeighMsg, Nl, NLM_F_CREATE, NLM_F_REPLACE};
use crate::config::ROUTE_PROTOCOL;

fn result(errno: Option<i32>) -> io::Result<()> {
    match errno {
        Some(0) => Ok(()),
        Some(e) => Err(io::Error::from_raw_os_error(e)),
        None => Err(io::Error::other("no answer from the kernel")),
    }
}

/// Asks the kernel to keep `addr` on `ifindex` resolved.
pub fn add_managed(ifindex: u32, addr: Ipv6Addr) -> io::Result<()> {
    let m = NeighMsg {
        proto: Some(ROUTE_PROTOCOL),
        ext_flags: NTF_EXT_MANAGED,
        ..NeighMsg::new(IpAddr::V6(addr), ifindex)
    };
    let req = m.request(RTM_NEWNEIGH);
    let codes = Nl::new(&[], false)?.request(vec![(NLM_F_CREATE | NLM_F_REPLACE, req)])?;
    result(codes.first().copied())
}

/// Deletes the entry for `addr` on `ifindex`, if it is Roost's.
pub fn del(ifindex: u32, addr: Ipv6Addr) -> io::Result<()> {
    if !list()?.contains(&(ifindex, addr)) {
        return Ok(());
    }
    let req = NeighMsg::new(IpAddr::V6(addr), ifindex).request(RTM_DELNEIGH);
    let codes = Nl::new(&[], false)?.request(vec![(0, req)])?;
    result(codes.first().copied())
}

/// Roost's entries (protocol [`ROUTE_PROTOCOL`]): (ifindex, address).
pub fn list() -> io::Result<Vec<(u32, Ipv6Addr)>> {
    let mut out = Vec::new();
    for m in Nl::new(&[], false)?.dump(neigh::dump_request(AF_INET6))? {
        let Msg::NewNeigh(m) = m else {
            continue;
        };
        if let (Some(ROUTE_PROTOCOL), Some(IpAddr::V6(a))) = (m.proto, m.dst) {
            out.push((m.index, a));
        }
    }
    Ok(out)
}

/// Deletes every entry of Roost's; returns how many.
pub fn remove_all() -> io::Result<usize> {
    let own = list()?;
    let reqs = own
        .iter()
        .map(|(i, a)| (0, NeighMsg::new(IpAddr::V6(*a), *i).request(RTM_DELNEIGH)))
        .collect();
    Nl::new(&[], false)?.request(reqs)?;
    Ok(own.len())
}
