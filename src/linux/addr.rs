//! The one kernel address Roost owns: the zero-config originator, a /128
//! on `lo` (or a configured interface), tagged with address protocol
//! [`ROUTE_PROTOCOL`] (`IFA_PROTO`, `ip -6 addr` shows `proto 77`) so that
//! Roost recognises its own address and never touches any other.
//!
//! Kept small on purpose: add, delete and list own addresses.

use std::io;
use std::net::{IpAddr, Ipv6Addr};

use super::rtnl::addr::{self, IFA_F_NODAD, RTM_DELADDR, RTM_NEWADDR};
use super::rtnl::msg::{AF_INET6, NLM_F_CREATE, NLM_F_EXCL};
use super::rtnl::{AddrMsg, Msg, Nl};
use crate::config::ROUTE_PROTOCOL;

fn message(ifindex: u32, addr: Ipv6Addr) -> AddrMsg {
    AddrMsg {
        flags: IFA_F_NODAD,
        proto: Some(ROUTE_PROTOCOL),
        ..AddrMsg::new(IpAddr::V6(addr), 128, ifindex)
    }
}

/// Adds `addr`/128 to `ifindex` as Roost's. An address that is already
/// there is left alone: `AlreadyExists`.
pub fn add(ifindex: u32, addr: Ipv6Addr) -> io::Result<()> {
    let req = message(ifindex, addr).request(RTM_NEWADDR);
    Nl::request_once(NLM_F_CREATE | NLM_F_EXCL, req)
}

/// Deletes `addr`/128 from `ifindex`; callers only pass addresses
/// [`list`] says are Roost's.
pub fn del(ifindex: u32, addr: Ipv6Addr) -> io::Result<()> {
    let req = message(ifindex, addr).request(RTM_DELADDR);
    Nl::request_once(0, req)
}

/// Roost's addresses (protocol [`ROUTE_PROTOCOL`]): (ifindex, address).
pub fn list() -> io::Result<Vec<(u32, Ipv6Addr)>> {
    let mut out = Vec::new();
    for m in Nl::new(&[], false)?.dump(addr::dump_request(AF_INET6))? {
        let Msg::NewAddr(m) = m else {
            continue;
        };
        if let (Some(ROUTE_PROTOCOL), Some(IpAddr::V6(a))) = (m.proto, m.address) {
            out.push((m.index, a));
        }
    }
    Ok(out)
}
