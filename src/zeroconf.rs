//! Zero-config addressing: a node's originator address, client LAN
//! prefixes and hostname, derived from the site's prefixes and its MAC.
//!
//! The scheme (docs/CONFIG.md, "Zero-config addressing") is stable: the
//! same site and MAC give the same values on every release, on the router
//! (first-boot setup, `roost setup`) and in the daemon.
//!
//! * Originator: the site's IPv6 prefix, subnet 0, and the modified EUI-64
//!   of the MAC: unique as long as MACs are. From attempt 1 on (after a
//!   duplicate), the interface identifier is a hash of the MAC and the
//!   attempt instead, with the universal/local bit cleared (local).
//! * Client LAN: slot `s` in 1..2^b (b = the bits between the site prefixes
//!   and the LAN prefixes, at most 16; slot 0 holds the originators): IPv6
//!   `site6 + s` as a /64, IPv4 `site4 + s` as a /`lan4_len`. The node's
//!   router addresses are the first host of each. The slot is a hash of the
//!   MAC and an attempt counter, so two nodes whose slots collide resolve it
//!   by the loser taking its next attempt (see [`loser`]).
//! * Hostname: `<site code>-<last three MAC bytes in hex>`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::prefix::Prefix;

/// MurmurHash3's 64-bit finalizer. Written out here, not shared: the
/// derived addresses must never change with a hasher elsewhere.
fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^ (k >> 33)
}

/// The site's prefixes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Site {
    /// An IPv6 prefix of length ≤ 63 (normally a ULA /48).
    pub prefix6: Prefix,
    /// An IPv4 prefix shorter than `lan4_len` (e.g. 10.0.0.0/8).
    pub prefix4: Prefix,
    /// The length of each node's IPv4 client LAN (e.g. 24).
    pub lan4_len: u8,
}

/// What a node derives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Derived {
    pub originator: Ipv6Addr,
    pub slot: u32,
    pub lan6: Prefix,
    pub lan4: Prefix,
    /// The node's own address in each LAN (its first host).
    pub router6: Ipv6Addr,
    pub router4: Ipv4Addr,
}

impl Site {
    /// Checks the lengths; the error names what is wrong.
    pub fn new(prefix6: Prefix, prefix4: Prefix, lan4_len: u8) -> Result<Site, String> {
        if prefix6.is_ipv4() || prefix6.len() > 63 {
            return Err(format!(
                "site IPv6 prefix {prefix6} must be IPv6 and at most /63 (e.g. a ULA /48)"
            ));
        }
        if !prefix4.is_ipv4() || !(16..=30).contains(&lan4_len) || prefix4.len() >= lan4_len {
            return Err(format!(
                "site IPv4 prefix {prefix4} must be IPv4 and shorter than the LAN length /{lan4_len} (16..30)"
            ));
        }
        Ok(Site {
            prefix6,
            prefix4,
            lan4_len,
        })
    }

    /// Bits of the slot number: what both families have room for, ≤ 16.
    pub fn slot_bits(&self) -> u32 {
        let b6 = 64 - u32::from(self.prefix6.len());
        let b4 = u32::from(self.lan4_len - self.prefix4.len());
        b6.min(b4).min(16)
    }

    /// Derives a node's values from its MAC; `attempt` is 0 unless an
    /// earlier slot collided.
    pub fn derive(&self, mac: [u8; 6], attempt: u32) -> Derived {
        let slots = (1u64 << self.slot_bits()) - 1;
        let m = mac.iter().fold(0u64, |a, &b| a << 8 | u64::from(b));
        let slot =
            (fmix64(m ^ u64::from(attempt) << 48 ^ 0x726f_6f73_7400_0000) % slots + 1) as u32;
        // Site::new checks the families; a hand-built Site gets the
        // unspecified address rather than a panic.
        let site6 = match self.prefix6.addr() {
            IpAddr::V6(a) => a,
            IpAddr::V4(_) => Ipv6Addr::UNSPECIFIED,
        };
        let site4 = match self.prefix4.addr() {
            IpAddr::V4(a) => a,
            IpAddr::V6(_) => Ipv4Addr::UNSPECIFIED,
        };
        let base6 = u128::from(site6);
        let mut eui = [0u8; 8];
        eui[..3].copy_from_slice(&mac[..3]);
        eui[0] ^= 0x02;
        eui[3] = 0xff;
        eui[4] = 0xfe;
        eui[5..].copy_from_slice(&mac[3..]);
        let iid = if attempt == 0 {
            u64::from_be_bytes(eui)
        } else {
            // Bit 57 is the modified EUI-64's universal/local bit: 0, local.
            fmix64(m ^ u64::from(attempt) << 48 ^ 0x6f72_6967_0000_0000) & !(1 << 57)
        };
        let originator = Ipv6Addr::from(base6 | u128::from(iid));
        let lan6 = base6 | u128::from(slot) << 64;
        let lan4 = u32::from(site4) | slot << (32 - u32::from(self.lan4_len));
        Derived {
            originator,
            slot,
            lan6: Prefix::new(IpAddr::V6(Ipv6Addr::from(lan6)), 64).unwrap_or(self.prefix6),
            lan4: Prefix::new(IpAddr::V4(Ipv4Addr::from(lan4)), self.lan4_len)
                .unwrap_or(self.prefix4),
            router6: Ipv6Addr::from(lan6 | 1),
            router4: Ipv4Addr::from(lan4 | 1),
        }
    }
}

/// Of two originators claiming the same address or prefix, the one that
/// gives way (takes its next attempt): the higher address. Both sides
/// decide the same without talking.
pub fn loser(a: Ipv6Addr, b: Ipv6Addr) -> Ipv6Addr {
    a.max(b)
}

/// Of two nodes claiming the same originator address, the one that gives
/// way: the higher node id (the NODE_ID TLV, [`node_id`]).
pub fn id_loser(a: [u8; 8], b: [u8; 8]) -> [u8; 8] {
    a.max(b)
}

/// A node's identity on the wire (NODE_ID TLV): a hash of its hardware
/// MAC, so it survives restarts and differs from the MAC override that
/// makes two nodes derive the same addresses.
pub fn node_id(mac: [u8; 6]) -> [u8; 8] {
    let m = mac.iter().fold(0u64, |a, &b| a << 8 | u64::from(b));
    fmix64(m ^ 0x6e6f_6465_0000_0000).to_be_bytes()
}

/// `<code>-<last three MAC bytes>`, e.g. `ffm-33a4f1`; the code is cut to
/// what keeps the name a valid 63-byte DNS label of `[a-z0-9-]`.
pub fn hostname(site_code: &str, mac: [u8; 6]) -> String {
    let code: String = site_code
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(56)
        .collect();
    let code = code.trim_matches('-');
    let tail = format!("{:02x}{:02x}{:02x}", mac[3], mac[4], mac[5]);
    if code.is_empty() {
        format!("node-{tail}")
    } else {
        format!("{code}-{tail}")
    }
}

/// The site of the docs' examples (`fd77:1234:5678::/48`, `10.0.0.0/8`,
/// /24 LANs).
#[cfg(test)]
pub(crate) fn example_site() -> Site {
    Site::new(
        "fd77:1234:5678::/48".parse().unwrap(),
        "10.0.0.0/8".parse().unwrap(),
        24,
    )
    .unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> Site {
        example_site()
    }

    #[test]
    fn stable_values() {
        // Pinned: a change here breaks every deployed mesh's addresses.
        let d = site().derive([0x02, 0x11, 0x22, 0x33, 0x44, 0x55], 0);
        assert_eq!(
            d.originator,
            "fd77:1234:5678:0:11:22ff:fe33:4455"
                .parse::<Ipv6Addr>()
                .unwrap()
        );
        assert_eq!(d.slot, 982);
        assert_eq!(d.lan6.to_string(), "fd77:1234:5678:3d6::/64");
        assert_eq!(d.lan4.to_string(), "10.3.214.0/24");
        assert_eq!(d.router4, Ipv4Addr::new(10, 3, 214, 1));
        assert_eq!(
            d.router6,
            "fd77:1234:5678:3d6::1".parse::<Ipv6Addr>().unwrap()
        );
    }

    #[test]
    fn slots_stay_in_range_and_attempts_move() {
        let s = Site::new(
            "fd00::/60".parse().unwrap(),
            "192.168.0.0/20".parse().unwrap(),
            24,
        )
        .unwrap();
        assert_eq!(s.slot_bits(), 4);
        for m in 0..500u32 {
            let mac = [0x02, 0, 0, (m >> 16) as u8, (m >> 8) as u8, m as u8];
            let d = s.derive(mac, 0);
            assert!((1..16).contains(&d.slot), "{d:?}");
            assert!(s.prefix4.contains(IpAddr::V4(d.router4)));
            assert!(s.prefix6.contains(IpAddr::V6(d.router6)));
        }
        let mac = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55];
        let slots: std::collections::BTreeSet<u32> =
            (0..8).map(|a| site().derive(mac, a).slot).collect();
        assert!(slots.len() >= 7, "attempts should move the slot: {slots:?}");
        // ... and the originator, which stays in the site's subnet 0.
        let origs: std::collections::BTreeSet<Ipv6Addr> =
            (0..8).map(|a| site().derive(mac, a).originator).collect();
        assert_eq!(origs.len(), 8);
        for o in &origs {
            assert_eq!(o.segments()[..4], [0xfd77, 0x1234, 0x5678, 0]);
        }
    }

    #[test]
    fn bad_sites_and_names() {
        let p = |s: &str| s.parse::<Prefix>().unwrap();
        assert!(Site::new(p("fd00::/64"), p("10.0.0.0/8"), 24).is_err());
        assert!(Site::new(p("10.0.0.0/8"), p("10.0.0.0/8"), 24).is_err());
        assert!(Site::new(p("fd00::/48"), p("10.0.0.0/24"), 24).is_err());
        assert_eq!(hostname("FFM", [0, 0, 0, 0x33, 0xa4, 0xf1]), "ffm-33a4f1");
        assert_eq!(hostname("--", [0, 0, 0, 1, 2, 3]), "node-010203");
        assert_eq!(
            loser("fd00::2".parse().unwrap(), "fd00::1".parse().unwrap()),
            "fd00::2".parse::<Ipv6Addr>().unwrap()
        );
        let (a, b) = (node_id([2, 0, 0, 0, 0, 1]), node_id([2, 0, 0, 0, 0, 2]));
        assert_ne!(a, b);
        assert_eq!(id_loser(a, b), id_loser(b, a));
    }

    #[test]
    fn later_attempts_are_pinned() {
        // Pinned like attempt 0: renumbered nodes keep their addresses.
        let d = site().derive([0x02, 0x11, 0x22, 0x33, 0x44, 0x55], 1);
        assert_eq!(
            d.originator,
            "fd77:1234:5678:0:d39:68fc:2cf:a10a"
                .parse::<Ipv6Addr>()
                .unwrap()
        );
        assert_eq!(d.slot, 45574);
        assert_eq!(d.lan6.to_string(), "fd77:1234:5678:b206::/64");
        assert_eq!(d.lan4.to_string(), "10.178.6.0/24");
        assert_eq!(d.originator.segments()[4] & 0x0200, 0, "{}", d.originator);
    }
}
