//! Neighbour messages (`struct ndmsg` + NDA_* attributes): RTM_NEWNEIGH,
//! RTM_DELNEIGH, RTM_GETNEIGH.

use std::net::IpAddr;

use super::msg::{attrs, family_of, Req, Writer};

pub const RTM_NEWNEIGH: u16 = 28;
pub const RTM_DELNEIGH: u16 = 29;
pub const RTM_GETNEIGH: u16 = 30;

const NDA_DST: u16 = 1;
const NDA_PROTOCOL: u16 = 12;
const NDA_FLAGS_EXT: u16 = 15;

/// The kernel keeps a managed entry resolved on its own (Linux ≥ 5.16).
pub const NTF_EXT_MANAGED: u32 = 1;

/// `struct ndmsg`.
const FIXED: usize = 12;

/// The parts of a neighbour entry Roost reads and writes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NeighMsg {
    pub family: u8,
    pub index: u32,
    /// NUD_* state bits.
    pub state: u16,
    pub dst: Option<IpAddr>,
    /// NDA_PROTOCOL: who added the entry.
    pub proto: Option<u8>,
    /// NDA_FLAGS_EXT (NTF_EXT_*).
    pub ext_flags: u32,
}

impl NeighMsg {
    /// Parses a neighbour message body; `None` if its fixed part is missing.
    pub fn parse(body: &[u8]) -> Option<NeighMsg> {
        let h = body.get(..FIXED)?;
        let mut m = NeighMsg {
            family: h[0],
            index: u32::from_ne_bytes([h[4], h[5], h[6], h[7]]),
            state: u16::from_ne_bytes([h[8], h[9]]),
            ..NeighMsg::default()
        };
        for a in attrs(body, FIXED) {
            match a.kind {
                NDA_DST => m.dst = a.ip(m.family).or(m.dst),
                NDA_PROTOCOL => m.proto = a.u8().or(m.proto),
                NDA_FLAGS_EXT => m.ext_flags = a.u32().unwrap_or(m.ext_flags),
                _ => {}
            }
        }
        Some(m)
    }

    /// An entry for `dst` on link `index` (state NUD_NONE: the kernel
    /// resolves it).
    pub fn new(dst: IpAddr, index: u32) -> NeighMsg {
        NeighMsg {
            family: family_of(&dst),
            index,
            dst: Some(dst),
            ..NeighMsg::default()
        }
    }

    /// The request `kind` (RTM_NEWNEIGH or RTM_DELNEIGH).
    pub fn request(&self, kind: u16) -> Req {
        let mut fixed = [0u8; FIXED];
        fixed[0] = self.family;
        fixed[4..8].copy_from_slice(&self.index.to_ne_bytes());
        fixed[8..10].copy_from_slice(&self.state.to_ne_bytes());
        let mut w = Writer::new(&fixed);
        if let Some(d) = self.dst {
            w.ip(NDA_DST, d);
        }
        if let Some(p) = self.proto {
            w.u8(NDA_PROTOCOL, p);
        }
        if self.ext_flags != 0 {
            w.u32(NDA_FLAGS_EXT, self.ext_flags);
        }
        w.finish(kind)
    }
}

/// A dump request for every neighbour entry of `family` (0: all).
pub fn dump_request(family: u8) -> Req {
    Writer::new(&[family, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).finish(RTM_GETNEIGH)
}

#[cfg(test)]
mod tests {
    use super::super::msg::test_util::attr;
    use super::super::msg::AF_INET6;
    use super::*;

    #[test]
    fn parses_a_kernel_entry() {
        // What `ip neigh replace fe80::1 dev X managed protocol 77` reads
        // back: REACHABLE (0x02), lladdr and cache info skipped.
        let mut b = vec![AF_INET6, 0, 0, 0];
        b.extend_from_slice(&4u32.to_ne_bytes());
        b.extend_from_slice(&2u16.to_ne_bytes());
        b.extend_from_slice(&[0, 1]);
        let ll: std::net::Ipv6Addr = "fe80::1".parse().unwrap();
        b.extend(attr(NDA_DST, &ll.octets()));
        b.extend(attr(2, &[0xea, 0x41, 0x5d, 0x0e, 0x94, 0x24]));
        b.extend(attr(NDA_PROTOCOL, &[77]));
        b.extend(attr(NDA_FLAGS_EXT, &NTF_EXT_MANAGED.to_ne_bytes()));
        let m = NeighMsg::parse(&b).unwrap();
        assert_eq!(m.index, 4);
        assert_eq!(m.state, 2);
        assert_eq!(m.dst, Some(IpAddr::V6(ll)));
        assert_eq!(m.proto, Some(77));
        assert_eq!(m.ext_flags, NTF_EXT_MANAGED);
        assert_eq!(NeighMsg::parse(&b[..11]), None);
    }

    #[test]
    fn request_matches_iproute2() {
        // iproute2 6.1 sends exactly this body for the command above
        // (attribute order aside: it puts NDA_PROTOCOL first).
        let m = NeighMsg {
            proto: Some(77),
            ext_flags: NTF_EXT_MANAGED,
            ..NeighMsg::new("fe80::1".parse().unwrap(), 4)
        };
        let r = m.request(RTM_NEWNEIGH);
        assert_eq!(r.body.len(), 12 + 20 + 8 + 8);
        assert_eq!(&r.body[..4], &[AF_INET6, 0, 0, 0]);
        assert_eq!(NeighMsg::parse(&r.body), Some(m));
    }
}
