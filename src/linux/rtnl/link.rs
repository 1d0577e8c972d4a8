//! Link messages (`struct ifinfomsg` + IFLA_* attributes): RTM_NEWLINK,
//! RTM_DELLINK, RTM_GETLINK.

use super::msg::{attrs, Req, Writer};

pub const RTM_NEWLINK: u16 = 16;
pub const RTM_DELLINK: u16 = 17;
pub const RTM_GETLINK: u16 = 18;

const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_OPERSTATE: u16 = 16;

pub const IFF_UP: u32 = 0x1;
pub const IFF_LOWER_UP: u32 = 0x1_0000;

/// `struct ifinfomsg`.
const FIXED: usize = 16;
/// MAX_ADDR_LEN: longer link-layer addresses are ignored.
const MAX_ADDR_LEN: usize = 32;
/// Longer names are ignored (IFNAMSIZ is 16; altnames are not IFLA_IFNAME).
const MAX_NAME: usize = 64;

/// The parts of a link message Roost reads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkMsg {
    pub index: u32,
    /// IFF_* flags.
    pub flags: u32,
    pub name: Option<String>,
    pub mtu: Option<u32>,
    pub operstate: Option<u8>,
    /// The link-layer address (at most 32 bytes).
    pub address: Option<Vec<u8>>,
}

impl LinkMsg {
    /// Parses a link message body; `None` if its fixed part is missing.
    pub fn parse(body: &[u8]) -> Option<LinkMsg> {
        let h = body.get(..FIXED)?;
        let mut m = LinkMsg {
            index: u32::from_ne_bytes([h[4], h[5], h[6], h[7]]),
            flags: u32::from_ne_bytes([h[8], h[9], h[10], h[11]]),
            ..LinkMsg::default()
        };
        for a in attrs(body, FIXED) {
            match a.kind {
                IFLA_IFNAME if a.data.len() <= MAX_NAME => m.name = Some(a.string()),
                IFLA_MTU => m.mtu = a.u32().or(m.mtu),
                IFLA_OPERSTATE => m.operstate = a.u8().or(m.operstate),
                IFLA_ADDRESS if a.data.len() <= MAX_ADDR_LEN => m.address = Some(a.data.to_vec()),
                _ => {}
            }
        }
        Some(m)
    }
}

/// A dump request for every link.
pub fn dump_request() -> Req {
    Writer::new(&[0; FIXED]).finish(RTM_GETLINK)
}

#[cfg(test)]
mod tests {
    use super::super::msg::test_util::attr;
    use super::*;

    fn fixed(index: u32, flags: u32) -> Vec<u8> {
        let mut b = vec![0, 0];
        b.extend_from_slice(&1u16.to_ne_bytes()); // ARPHRD_ETHER
        b.extend_from_slice(&index.to_ne_bytes());
        b.extend_from_slice(&flags.to_ne_bytes());
        b.extend_from_slice(&0u32.to_ne_bytes());
        b
    }

    #[test]
    fn parses_a_kernel_link() {
        let mut b = fixed(4, IFF_UP | IFF_LOWER_UP | 0x1000);
        b.extend(attr(IFLA_IFNAME, b"mesh0\0"));
        b.extend(attr(13, &1000u32.to_ne_bytes())); // IFLA_TXQLEN
        b.extend(attr(IFLA_OPERSTATE, &[6]));
        b.extend(attr(IFLA_MTU, &1500u32.to_ne_bytes()));
        b.extend(attr(0x8000 | 18, &attr(1, b"veth"))); // IFLA_LINKINFO, nested: skipped
        b.extend(attr(IFLA_ADDRESS, &[2, 0, 0, 0, 0, 1]));
        // The final empty nested attribute, header in the other byte order
        // (qemu-mips): dropped, the rest is kept.
        let mut last = attr(0x8000 | 60, &[]);
        last[..2].reverse();
        last[2..4].reverse();
        b.extend(last);
        let m = LinkMsg::parse(&b).unwrap();
        assert_eq!(m.index, 4);
        assert_eq!(m.flags & (IFF_UP | IFF_LOWER_UP), IFF_UP | IFF_LOWER_UP);
        assert_eq!(m.name.as_deref(), Some("mesh0"));
        assert_eq!(m.mtu, Some(1500));
        assert_eq!(m.operstate, Some(6));
        assert_eq!(m.address, Some(vec![2, 0, 0, 0, 0, 1]));
    }

    #[test]
    fn bad_attributes_are_skipped() {
        let mut b = fixed(9, 0);
        b.extend(attr(IFLA_MTU, &[1, 2, 3]));
        b.extend(attr(IFLA_ADDRESS, &[0xaa; 64])); // too long
        b.extend(attr(IFLA_IFNAME, &[0xff, 0xfe, b'x'])); // not UTF-8, no NUL
        let m = LinkMsg::parse(&b).unwrap();
        assert_eq!(m.mtu, None);
        assert_eq!(m.address, None);
        assert_eq!(m.name.as_deref(), Some("\u{fffd}\u{fffd}x"));
        assert_eq!(LinkMsg::parse(&b[..15]), None);
        assert_eq!(dump_request().body.len(), FIXED);
    }
}
