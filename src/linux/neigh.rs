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
//! (a crash) at start. An entry the kernel learned by itself is replaced
//! by Roost's; a static one, or one another program added (it carries a
//! protocol), is left alone. A kernel without managed entries refuses them:
//! logged once, everything else works as before.

use std::io;
use std::net::{IpAddr, Ipv6Addr};

use super::rtnl::msg::AF_INET6;
use super::rtnl::neigh::{self, NTF_EXT_MANAGED, RTM_DELNEIGH, RTM_NEWNEIGH};
use super::rtnl::{Msg, NeighMsg, Nl, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE};
use crate::config::ROUTE_PROTOCOL;

const NUD_NOARP: u16 = 0x40;
const NUD_PERMANENT: u16 = 0x80;

/// What to do about the kernel's entry for a neighbour's address.
#[derive(Debug, PartialEq, Eq)]
enum Plan {
    /// None yet: create ours.
    Create,
    /// One the kernel learned by itself: replace it with ours.
    TakeOver,
    /// Ours already, or someone else's (static, or added by another
    /// program): leave it.
    Leave,
}

fn plan(existing: Option<&NeighMsg>) -> Plan {
    match existing {
        None => Plan::Create,
        Some(m) if m.proto == Some(ROUTE_PROTOCOL) => Plan::Leave,
        Some(m) if m.proto.is_some() || m.state & (NUD_NOARP | NUD_PERMANENT) != 0 => Plan::Leave,
        Some(_) => Plan::TakeOver,
    }
}

/// Asks the kernel to keep `addr` on `ifindex` resolved, unless an entry
/// someone else made is there; returns whether the entry is Roost's now.
pub fn add_managed(ifindex: u32, addr: Ipv6Addr) -> io::Result<bool> {
    let existing = entries()?
        .into_iter()
        .find(|m| m.index == ifindex && m.dst == Some(IpAddr::V6(addr)));
    let flags = match plan(existing.as_ref()) {
        Plan::Create => NLM_F_CREATE | NLM_F_EXCL,
        Plan::TakeOver => NLM_F_CREATE | NLM_F_REPLACE,
        Plan::Leave => return Ok(false),
    };
    let m = NeighMsg {
        proto: Some(ROUTE_PROTOCOL),
        ext_flags: NTF_EXT_MANAGED,
        ..NeighMsg::new(IpAddr::V6(addr), ifindex)
    };
    Nl::request_once(flags, m.request(RTM_NEWNEIGH)).map(|()| true)
}

/// Every IPv6 neighbour entry.
fn entries() -> io::Result<Vec<NeighMsg>> {
    Ok(Nl::new(&[], false)?
        .dump(neigh::dump_request(AF_INET6))?
        .into_iter()
        .filter_map(|m| match m {
            Msg::NewNeigh(n) => Some(n),
            _ => None,
        })
        .collect())
}

/// Deletes the entry for `addr` on `ifindex` (one [`add_managed`] made).
pub fn del(ifindex: u32, addr: Ipv6Addr) -> io::Result<()> {
    let req = NeighMsg::new(IpAddr::V6(addr), ifindex).request(RTM_DELNEIGH);
    Nl::request_once(0, req)
}

/// Roost's entries (protocol [`ROUTE_PROTOCOL`]): (ifindex, address).
pub fn list() -> io::Result<Vec<(u32, Ipv6Addr)>> {
    Ok(entries()?
        .into_iter()
        .filter_map(|m| match (m.proto, m.dst) {
            (Some(ROUTE_PROTOCOL), Some(IpAddr::V6(a))) => Some((m.index, a)),
            _ => None,
        })
        .collect())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(state: u16, proto: Option<u8>) -> NeighMsg {
        NeighMsg {
            state,
            proto,
            ..NeighMsg::new("fe80::1".parse().unwrap(), 3)
        }
    }

    #[test]
    fn only_kernel_learned_entries_are_taken_over() {
        assert_eq!(plan(None), Plan::Create);
        // REACHABLE / STALE, learned by the kernel.
        assert_eq!(plan(Some(&entry(0x02, None))), Plan::TakeOver);
        assert_eq!(plan(Some(&entry(0x04, None))), Plan::TakeOver);
        // Ours already.
        assert_eq!(plan(Some(&entry(0x02, Some(ROUTE_PROTOCOL)))), Plan::Leave);
        // Static (`ip neigh add ... nud permanent`), NOARP, or another
        // program's.
        assert_eq!(plan(Some(&entry(NUD_PERMANENT, None))), Plan::Leave);
        assert_eq!(plan(Some(&entry(NUD_NOARP, None))), Plan::Leave);
        assert_eq!(plan(Some(&entry(0x02, Some(4)))), Plan::Leave);
    }
}
