//! TLVs carried inside an OGM: `type u8, length u8, body[length]`.
//! Unknown types are skipped by their length.
//!
//! | type | name     | body                                            |
//! |------|----------|-------------------------------------------------|
//! | 1    | PREFIX4  | plen u8 (0..=32), ceil(plen/8) address bytes    |
//! | 2    | PREFIX6  | plen u8 (0..=128), ceil(plen/8) address bytes   |
//! | 3    | GATEWAY  | down be32, up be32 (units of 100 kbit/s)        |
//! | 4    | HOSTNAME | 1..=63 bytes of UTF-8                           |
//! | 5    | NEIGHBOURS | n × (originator[16], link TQ u8), n ≤ 15      |
//! | 6    | GW_CHOICE | originator[16] of the sender's chosen gateway (all zero: none) |
//! | 7    | NODE_ID  | 8 bytes: the sender's node identity (zero-config duplicates) |

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::message::next_tl;
use super::{be32, Error};
use crate::prefix::Prefix;

pub const TLV_PREFIX4: u8 = 1;
pub const TLV_PREFIX6: u8 = 2;
pub const TLV_GATEWAY: u8 = 3;
pub const TLV_HOSTNAME: u8 = 4;
pub const TLV_NEIGHBOURS: u8 = 5;
pub const TLV_GW_CHOICE: u8 = 6;
pub const TLV_NODE_ID: u8 = 7;
/// Length of a NODE_ID body.
pub const NODE_ID_LEN: usize = 8;
/// One NEIGHBOURS entry: originator (16) + link TQ (1).
pub const NEIGHBOUR_ENTRY_LEN: usize = 17;
/// TLVs share the message framing: `type u8, length u8`.
const TLV_HEADER_LEN: usize = super::message::MSG_HEADER_LEN;
const HOSTNAME_MAX: usize = 63;

/// One TLV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tlv<'a> {
    Prefix(Prefix),
    /// Bandwidth in units of 100 kbit/s.
    Gateway {
        down: u32,
        up: u32,
    },
    Hostname(&'a str),
    /// The sender's neighbours (their originators) and its link TQ to each.
    Neighbours(NeighbourList<'a>),
    /// The gateway the originator sends its internet traffic to
    /// (`None`: it has none).
    GatewayChoice(Option<Ipv6Addr>),
    /// The originator's node identity: tells two nodes that claim the same
    /// originator address apart.
    NodeId([u8; NODE_ID_LEN]),
    Unknown {
        kind: u8,
        body: &'a [u8],
    },
}

impl<'a> Tlv<'a> {
    fn parse(kind: u8, body: &'a [u8]) -> Result<Tlv<'a>, Error> {
        match kind {
            TLV_PREFIX4 | TLV_PREFIX6 => {
                let (&plen, addr) = body.split_first().ok_or(Error::BadPrefix)?;
                let width = if kind == TLV_PREFIX4 { 4 } else { 16 };
                let bytes = usize::from(plen).div_ceil(8);
                if usize::from(plen) > width * 8 || addr.len() != bytes {
                    return Err(Error::BadPrefix);
                }
                let mut full = [0u8; 16];
                full[..bytes].copy_from_slice(addr);
                let ip = if kind == TLV_PREFIX4 {
                    IpAddr::V4(Ipv4Addr::new(full[0], full[1], full[2], full[3]))
                } else {
                    IpAddr::V6(Ipv6Addr::from(full))
                };
                // Host bits set on the wire are cleared (Prefix::new masks).
                Prefix::new(ip, plen)
                    .map(Tlv::Prefix)
                    .ok_or(Error::BadPrefix)
            }
            TLV_GATEWAY => {
                if body.len() != 8 {
                    return Err(Error::BadTlvLength);
                }
                Ok(Tlv::Gateway {
                    down: be32(body, 0),
                    up: be32(body, 4),
                })
            }
            TLV_HOSTNAME => {
                if body.is_empty() || body.len() > HOSTNAME_MAX {
                    return Err(Error::BadHostname);
                }
                std::str::from_utf8(body)
                    .map(Tlv::Hostname)
                    .map_err(|_| Error::BadHostname)
            }
            TLV_NEIGHBOURS => NeighbourList::new(body)
                .map(Tlv::Neighbours)
                .ok_or(Error::BadTlvLength),
            TLV_GW_CHOICE => {
                let a: [u8; 16] = body.try_into().map_err(|_| Error::BadTlvLength)?;
                let a = Ipv6Addr::from(a);
                Ok(Tlv::GatewayChoice((!a.is_unspecified()).then_some(a)))
            }
            TLV_NODE_ID => body
                .try_into()
                .map(Tlv::NodeId)
                .map_err(|_| Error::BadTlvLength),
            kind => Ok(Tlv::Unknown { kind, body }),
        }
    }

    fn kind(&self) -> u8 {
        match self {
            Tlv::Prefix(p) if p.is_ipv4() => TLV_PREFIX4,
            Tlv::Prefix(_) => TLV_PREFIX6,
            Tlv::Gateway { .. } => TLV_GATEWAY,
            Tlv::Hostname(_) => TLV_HOSTNAME,
            Tlv::Neighbours(_) => TLV_NEIGHBOURS,
            Tlv::GatewayChoice(_) => TLV_GW_CHOICE,
            Tlv::NodeId(_) => TLV_NODE_ID,
            Tlv::Unknown { kind, .. } => *kind,
        }
    }

    fn body_len(&self) -> usize {
        match self {
            Tlv::Prefix(p) => 1 + usize::from(p.len()).div_ceil(8),
            Tlv::Gateway { .. } => 8,
            Tlv::Hostname(h) => hostname_cut(h),
            Tlv::Neighbours(l) => l.body.len(),
            Tlv::GatewayChoice(_) => 16,
            Tlv::NodeId(_) => NODE_ID_LEN,
            Tlv::Unknown { body, .. } => body.len().min(255),
        }
    }

    /// Total encoded size, header included.
    pub fn buffer_len(&self) -> usize {
        TLV_HEADER_LEN + self.body_len()
    }

    /// Appends the encoded TLV to `out`.
    pub fn emit(&self, out: &mut Vec<u8>) {
        let len = self.body_len();
        out.push(self.kind());
        out.push(len as u8);
        match self {
            Tlv::Prefix(p) => {
                out.push(p.len());
                let bytes = usize::from(p.len()).div_ceil(8);
                match p.addr() {
                    IpAddr::V4(a) => out.extend_from_slice(&a.octets()[..bytes]),
                    IpAddr::V6(a) => out.extend_from_slice(&a.octets()[..bytes]),
                }
            }
            Tlv::Gateway { down, up } => {
                out.extend_from_slice(&down.to_be_bytes());
                out.extend_from_slice(&up.to_be_bytes());
            }
            Tlv::Hostname(h) => out.extend_from_slice(&h.as_bytes()[..len]),
            Tlv::Neighbours(l) => out.extend_from_slice(l.body),
            Tlv::GatewayChoice(g) => {
                out.extend_from_slice(&g.unwrap_or(Ipv6Addr::UNSPECIFIED).octets())
            }
            Tlv::NodeId(id) => out.extend_from_slice(id),
            Tlv::Unknown { body, .. } => out.extend_from_slice(&body[..len]),
        }
    }
}

/// A validated NEIGHBOURS body (borrowed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeighbourList<'a> {
    body: &'a [u8],
}

impl<'a> NeighbourList<'a> {
    /// Wraps an encoded list; `None` unless it is whole entries.
    pub fn new(body: &'a [u8]) -> Option<NeighbourList<'a>> {
        body.len()
            .is_multiple_of(NEIGHBOUR_ENTRY_LEN)
            .then_some(NeighbourList { body })
    }

    pub fn entries(&self) -> impl Iterator<Item = (Ipv6Addr, u8)> + 'a {
        self.body.chunks_exact(NEIGHBOUR_ENTRY_LEN).map(|c| {
            let mut o = [0u8; 16];
            o.copy_from_slice(&c[..16]);
            (Ipv6Addr::from(o), c[16])
        })
    }

    /// Encodes up to 15 entries (what fits a TLV) into `out`.
    pub fn encode(entries: &[(Ipv6Addr, u8)], out: &mut Vec<u8>) {
        for (o, tq) in entries.iter().take(255 / NEIGHBOUR_ENTRY_LEN) {
            out.extend_from_slice(&o.octets());
            out.push(*tq);
        }
    }
}

/// Length of a hostname truncated to 63 bytes on a char boundary.
fn hostname_cut(h: &str) -> usize {
    let mut end = h.len().min(HOSTNAME_MAX);
    while !h.is_char_boundary(end) {
        end -= 1;
    }
    end
}

/// Iterator over TLVs; yields one error and stops on malformed input.
#[derive(Debug, Clone, Copy)]
pub struct Tlvs<'a> {
    rest: &'a [u8],
}

impl<'a> Tlvs<'a> {
    pub fn new(bytes: &'a [u8]) -> Tlvs<'a> {
        Tlvs { rest: bytes }
    }
}

impl<'a> Iterator for Tlvs<'a> {
    type Item = Result<Tlv<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let r = next_tl(&mut self.rest)?.and_then(|(kind, body)| Tlv::parse(kind, body));
        if r.is_err() {
            self.rest = &[];
        }
        Some(r)
    }
}
