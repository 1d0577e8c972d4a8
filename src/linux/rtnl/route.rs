//! Route messages (`struct rtmsg` + RTA_* attributes): RTM_NEWROUTE,
//! RTM_DELROUTE, RTM_GETROUTE.

use std::net::IpAddr;

use super::msg::{attrs, family_of, ip_from, Req, Writer};

pub const RTM_NEWROUTE: u16 = 24;
pub const RTM_DELROUTE: u16 = 25;
pub const RTM_GETROUTE: u16 = 26;

const RTA_DST: u16 = 1;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RTA_PRIORITY: u16 = 6;
const RTA_TABLE: u16 = 15;
const RTA_VIA: u16 = 18;

pub const RT_SCOPE_UNIVERSE: u8 = 0;
pub const RT_SCOPE_NOWHERE: u8 = 255;
pub const RTN_UNSPEC: u8 = 0;
pub const RTN_UNICAST: u8 = 1;
/// Header table value meaning "see RTA_TABLE".
const RT_TABLE_COMPAT: u8 = 252;

/// `struct rtmsg`.
const FIXED: usize = 12;

/// The parts of a route message Roost reads and writes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RouteMsg {
    pub family: u8,
    pub dst_len: u8,
    /// RTA_TABLE if present, else the header's table.
    pub table: u32,
    pub protocol: u8,
    pub scope: u8,
    pub kind: u8,
    pub dst: Option<IpAddr>,
    pub gateway: Option<IpAddr>,
    /// RTA_VIA (a gateway of another family).
    pub via: Option<IpAddr>,
    pub oif: Option<u32>,
    pub priority: Option<u32>,
}

impl RouteMsg {
    /// Parses a route message body; `None` if its fixed part is missing.
    /// Attributes that do not parse are left out.
    pub fn parse(body: &[u8]) -> Option<RouteMsg> {
        let h = body.get(..FIXED)?;
        let mut m = RouteMsg {
            family: h[0],
            dst_len: h[1],
            table: u32::from(h[4]),
            protocol: h[5],
            scope: h[6],
            kind: h[7],
            ..RouteMsg::default()
        };
        for a in attrs(body, FIXED) {
            match a.kind {
                RTA_DST => m.dst = a.ip(m.family).or(m.dst),
                RTA_GATEWAY => m.gateway = a.ip(m.family).or(m.gateway),
                RTA_VIA => {
                    if let (Some(f), Some(addr)) = (a.data.get(..2), a.data.get(2..)) {
                        let f = u16::from_ne_bytes([f[0], f[1]]);
                        if let Ok(f) = u8::try_from(f) {
                            m.via = ip_from(f, addr).or(m.via);
                        }
                    }
                }
                RTA_OIF => m.oif = a.u32().or(m.oif),
                RTA_PRIORITY => m.priority = a.u32().or(m.priority),
                RTA_TABLE => m.table = a.u32().unwrap_or(m.table),
                _ => {}
            }
        }
        Some(m)
    }

    /// The request `kind` (RTM_NEWROUTE or RTM_DELROUTE) for this route.
    pub fn request(&self, kind: u16) -> Req {
        let table = u8::try_from(self.table).unwrap_or(RT_TABLE_COMPAT);
        let mut w = Writer::new(&[
            self.family,
            self.dst_len,
            0,
            0,
            table,
            self.protocol,
            self.scope,
            self.kind,
            0,
            0,
            0,
            0,
        ]);
        if let Some(d) = self.dst {
            w.ip(RTA_DST, d);
        }
        w.u32(RTA_TABLE, self.table);
        if let Some(p) = self.priority {
            w.u32(RTA_PRIORITY, p);
        }
        if let Some(o) = self.oif {
            w.u32(RTA_OIF, o);
        }
        if let Some(g) = self.gateway {
            w.ip(RTA_GATEWAY, g);
        }
        if let Some(v) = self.via {
            let mut b = Vec::with_capacity(18);
            b.extend_from_slice(&u16::from(family_of(&v)).to_ne_bytes());
            match v {
                IpAddr::V4(a) => b.extend_from_slice(&a.octets()),
                IpAddr::V6(a) => b.extend_from_slice(&a.octets()),
            }
            w.attr(RTA_VIA, &b);
        }
        w.finish(kind)
    }
}

/// A dump request for every route of `family`.
pub fn dump_request(family: u8) -> Req {
    Writer::new(&[family, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).finish(RTM_GETROUTE)
}

#[cfg(test)]
mod tests {
    use super::super::msg::test_util::attr;
    use super::super::msg::{AF_INET, AF_INET6};
    use super::*;

    fn fixed(family: u8, dst_len: u8, table: u8, proto: u8) -> Vec<u8> {
        vec![
            family,
            dst_len,
            0,
            0,
            table,
            proto,
            0,
            RTN_UNICAST,
            0,
            0,
            0,
            0,
        ]
    }

    #[test]
    fn parses_a_kernel_route() {
        let mut b = fixed(AF_INET, 24, 252, 77);
        b.extend(attr(RTA_TABLE, &76u32.to_ne_bytes()));
        b.extend(attr(RTA_DST, &[10, 1, 2, 0]));
        b.extend(attr(RTA_PRIORITY, &5u32.to_ne_bytes()));
        b.extend(attr(RTA_OIF, &3u32.to_ne_bytes()));
        let mut via = (AF_INET6 as u16).to_ne_bytes().to_vec();
        via.extend_from_slice(&"fe80::1".parse::<std::net::Ipv6Addr>().unwrap().octets());
        b.extend(attr(RTA_VIA, &via));
        b.extend(attr(99, &[1, 2, 3])); // unknown: skipped
        let m = RouteMsg::parse(&b).unwrap();
        assert_eq!(m.table, 76);
        assert_eq!(m.protocol, 77);
        assert_eq!(m.dst, "10.1.2.0".parse().ok());
        assert_eq!(m.dst_len, 24);
        assert_eq!(m.priority, Some(5));
        assert_eq!(m.oif, Some(3));
        assert_eq!(m.via, "fe80::1".parse().ok());
        assert_eq!(m.gateway, None);
    }

    #[test]
    fn malformed_attributes_are_skipped() {
        let mut b = fixed(AF_INET6, 64, 76, 77);
        b.extend(attr(RTA_DST, &[1, 2, 3, 4])); // v4 bytes in a v6 route
        b.extend(attr(RTA_OIF, &[1, 2])); // short
        b.extend(attr(RTA_PRIORITY, &1024u32.to_ne_bytes()));
        b.extend(attr(RTA_VIA, &[1])); // truncated rtvia
        let mut tail = attr(RTA_GATEWAY, &[0; 16]);
        tail.truncate(10); // cut mid-attribute
        b.extend(tail);
        let m = RouteMsg::parse(&b).unwrap();
        assert_eq!(m.table, 76);
        assert_eq!(m.dst, None);
        assert_eq!(m.oif, None);
        assert_eq!(m.priority, Some(1024));
        assert_eq!(m.via, None);
        assert_eq!(m.gateway, None);
        assert_eq!(RouteMsg::parse(&b[..11]), None);
    }

    #[test]
    fn request_round_trips() {
        let m = RouteMsg {
            family: AF_INET6,
            dst_len: 48,
            table: 1000,
            protocol: 77,
            scope: RT_SCOPE_UNIVERSE,
            kind: RTN_UNICAST,
            dst: "fd00:1::".parse().ok(),
            gateway: "fe80::2".parse().ok(),
            via: None,
            oif: Some(7),
            priority: Some(1024),
        };
        let r = m.request(RTM_NEWROUTE);
        assert_eq!(r.kind, RTM_NEWROUTE);
        assert_eq!(r.body[4], 252);
        assert_eq!(RouteMsg::parse(&r.body), Some(m.clone()));
        let v4 = RouteMsg {
            family: AF_INET,
            dst: "10.0.0.0".parse().ok(),
            dst_len: 8,
            gateway: None,
            via: "fe80::2".parse().ok(),
            table: 76,
            ..m
        };
        let r = v4.request(RTM_DELROUTE);
        assert_eq!(r.body[4], 76);
        assert_eq!(RouteMsg::parse(&r.body), Some(v4));
    }
}
