//! Address messages (`struct ifaddrmsg` + IFA_* attributes): RTM_NEWADDR,
//! RTM_DELADDR, RTM_GETADDR.

use std::net::IpAddr;

use super::msg::{attrs, family_of, Req, Writer};

pub const RTM_NEWADDR: u16 = 20;
pub const RTM_DELADDR: u16 = 21;
pub const RTM_GETADDR: u16 = 22;

const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_FLAGS: u16 = 8;
const IFA_PROTO: u16 = 11;

pub const IFA_F_NODAD: u32 = 0x02;
pub const IFA_F_DADFAILED: u32 = 0x08;
pub const IFA_F_TENTATIVE: u32 = 0x40;
pub const RT_SCOPE_UNIVERSE: u8 = 0;
pub const RT_SCOPE_HOST: u8 = 254;

/// `struct ifaddrmsg`.
const FIXED: usize = 8;

/// The parts of an address message Roost reads and writes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddrMsg {
    pub family: u8,
    pub prefix_len: u8,
    /// IFA_F_* flags: IFA_FLAGS if present (all 32 bits), else the header's 8.
    pub flags: u32,
    pub scope: u8,
    pub index: u32,
    /// IFA_ADDRESS (the peer on point-to-point links, else the address).
    pub address: Option<IpAddr>,
    /// IFA_LOCAL (the local address; IPv4 only, usually).
    pub local: Option<IpAddr>,
    /// IFA_PROTO: who added the address.
    pub proto: Option<u8>,
}

impl AddrMsg {
    /// Parses an address message body; `None` if its fixed part is missing.
    pub fn parse(body: &[u8]) -> Option<AddrMsg> {
        let h = body.get(..FIXED)?;
        let mut m = AddrMsg {
            family: h[0],
            prefix_len: h[1],
            flags: u32::from(h[2]),
            scope: h[3],
            index: u32::from_ne_bytes([h[4], h[5], h[6], h[7]]),
            ..AddrMsg::default()
        };
        for a in attrs(body, FIXED) {
            match a.kind {
                IFA_ADDRESS => m.address = a.ip(m.family).or(m.address),
                IFA_LOCAL => m.local = a.ip(m.family).or(m.local),
                IFA_FLAGS => m.flags = a.u32().unwrap_or(m.flags),
                IFA_PROTO => m.proto = a.u8().or(m.proto),
                _ => {}
            }
        }
        Some(m)
    }

    /// The local address: IFA_LOCAL if present, else IFA_ADDRESS.
    pub fn local_addr(&self) -> Option<IpAddr> {
        self.local.or(self.address)
    }

    /// An address `addr/prefix_len` on link `index` (scope universe), for
    /// RTM_NEWADDR / RTM_DELADDR.
    pub fn new(addr: IpAddr, prefix_len: u8, index: u32) -> AddrMsg {
        AddrMsg {
            family: family_of(&addr),
            prefix_len,
            index,
            address: Some(addr),
            local: Some(addr),
            ..AddrMsg::default()
        }
    }

    /// The request `kind` (RTM_NEWADDR or RTM_DELADDR). The low 8 flag bits
    /// go in the header; IFA_FLAGS is sent when higher ones are set.
    pub fn request(&self, kind: u16) -> Req {
        let mut fixed = [
            self.family,
            self.prefix_len,
            self.flags as u8,
            self.scope,
            0,
            0,
            0,
            0,
        ];
        fixed[4..].copy_from_slice(&self.index.to_ne_bytes());
        let mut w = Writer::new(&fixed);
        if let Some(a) = self.local {
            w.ip(IFA_LOCAL, a);
        }
        if let Some(a) = self.address {
            w.ip(IFA_ADDRESS, a);
        }
        if self.flags > 0xff {
            w.u32(IFA_FLAGS, self.flags);
        }
        if let Some(p) = self.proto {
            w.u8(IFA_PROTO, p);
        }
        w.finish(kind)
    }
}

/// A dump request for every address of `family` (0: all).
pub fn dump_request(family: u8) -> Req {
    Writer::new(&[family, 0, 0, 0, 0, 0, 0, 0]).finish(RTM_GETADDR)
}

#[cfg(test)]
mod tests {
    use super::super::msg::test_util::attr;
    use super::super::msg::{AF_INET, AF_INET6};
    use super::*;

    #[test]
    fn parses_a_kernel_address() {
        let mut b = vec![AF_INET6, 64, IFA_F_TENTATIVE as u8, 253];
        b.extend_from_slice(&3u32.to_ne_bytes());
        let ll: std::net::Ipv6Addr = "fe80::1".parse().unwrap();
        b.extend(attr(IFA_ADDRESS, &ll.octets()));
        b.extend(attr(6, &[0; 16])); // IFA_CACHEINFO: skipped
        b.extend(attr(IFA_FLAGS, &(IFA_F_TENTATIVE | 0x100).to_ne_bytes()));
        b.extend(attr(IFA_PROTO, &[3]));
        let m = AddrMsg::parse(&b).unwrap();
        assert_eq!(m.family, AF_INET6);
        assert_eq!(m.index, 3);
        assert_eq!(m.prefix_len, 64);
        assert_eq!(m.flags, IFA_F_TENTATIVE | 0x100);
        assert_eq!(m.local_addr(), Some(IpAddr::V6(ll)));
        assert_eq!(m.proto, Some(3));
        assert_eq!(AddrMsg::parse(&b[..7]), None);
    }

    #[test]
    fn request_round_trips() {
        let mut m = AddrMsg::new("10.9.8.7".parse().unwrap(), 32, 1);
        m.scope = RT_SCOPE_HOST;
        m.proto = Some(77);
        m.flags = IFA_F_NODAD | 0x200;
        let r = m.request(RTM_NEWADDR);
        assert_eq!(r.kind, RTM_NEWADDR);
        let back = AddrMsg::parse(&r.body).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.family, AF_INET);
        // A short IFA_FLAGS keeps the header's flags.
        let mut b = r.body.clone();
        b.truncate(8);
        b.extend(attr(IFA_FLAGS, &[1]));
        assert_eq!(AddrMsg::parse(&b).unwrap().flags, u32::from(r.body[2]));
    }
}
