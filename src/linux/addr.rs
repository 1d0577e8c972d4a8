//! The one kernel address Roost owns: the zero-config originator, a /128
//! on `lo` (or a configured interface), tagged with address protocol
//! [`ROUTE_PROTOCOL`] (`IFA_PROTO`, `ip -6 addr` shows `proto 77`) so that
//! Roost recognises its own address and never touches any other.
//!
//! Kept small on purpose: add, delete and list own addresses.

use std::io;
use std::net::{IpAddr, Ipv6Addr};

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressMessage, AddressProtocol, AddressScope,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::nl::Nl;
use crate::config::ROUTE_PROTOCOL;

fn message(ifindex: u32, addr: Ipv6Addr) -> AddressMessage {
    let mut m = AddressMessage::default();
    m.header.family = AddressFamily::Inet6;
    m.header.prefix_len = 128;
    m.header.scope = AddressScope::Universe;
    m.header.index = ifindex;
    m.attributes = vec![
        AddressAttribute::Address(IpAddr::V6(addr)),
        AddressAttribute::Flags(AddressFlags::Nodad),
        AddressAttribute::Protocol(AddressProtocol::Other(ROUTE_PROTOCOL)),
    ];
    m
}

fn result(errno: Option<i32>) -> io::Result<()> {
    match errno {
        Some(0) => Ok(()),
        Some(e) => Err(io::Error::from_raw_os_error(e)),
        None => Err(io::Error::other("no answer from the kernel")),
    }
}

/// Adds `addr`/128 to `ifindex` as Roost's. An address that is already
/// there is left alone: `AlreadyExists`.
pub fn add(ifindex: u32, addr: Ipv6Addr) -> io::Result<()> {
    let req = RouteNetlinkMessage::NewAddress(message(ifindex, addr));
    let codes = Nl::new(&[], false)?.request(vec![(NLM_F_CREATE | NLM_F_EXCL, req)])?;
    result(codes.first().copied())
}

/// Deletes `addr`/128 from `ifindex`; callers only pass addresses
/// [`list`] says are Roost's.
pub fn del(ifindex: u32, addr: Ipv6Addr) -> io::Result<()> {
    let req = RouteNetlinkMessage::DelAddress(message(ifindex, addr));
    let codes = Nl::new(&[], false)?.request(vec![(0, req)])?;
    result(codes.first().copied())
}

/// Roost's addresses (protocol [`ROUTE_PROTOCOL`]): (ifindex, address).
pub fn list() -> io::Result<Vec<(u32, Ipv6Addr)>> {
    let mut q = AddressMessage::default();
    q.header.family = AddressFamily::Inet6;
    let mut out = Vec::new();
    for m in Nl::new(&[], false)?.dump(RouteNetlinkMessage::GetAddress(q))? {
        let RouteNetlinkMessage::NewAddress(m) = m else {
            continue;
        };
        let ours = m
            .attributes
            .iter()
            .any(|a| matches!(a, AddressAttribute::Protocol(p) if u8::from(*p) == ROUTE_PROTOCOL));
        let addr = m.attributes.iter().find_map(|a| match a {
            AddressAttribute::Address(IpAddr::V6(a)) => Some(*a),
            _ => None,
        });
        if let (true, Some(a)) = (ours, addr) {
            out.push((m.header.index, a));
        }
    }
    Ok(out)
}
