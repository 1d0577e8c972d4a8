//! Zero-config in the engine: the derived originator and client LAN
//! prefixes, the node id sent with them, and the detection and resolution
//! of duplicates (docs/CONFIG.md, "Zero-config addressing").
//!
//! Two kinds of duplicate:
//!
//! * **Originator**: another node sends OGMs with our originator address
//!   (seen as an OGM of our own address carrying a foreign NODE_ID). Of
//!   the two, the higher node id gives way ([`crate::zeroconf::id_loser`]).
//!   Every other node that sees both claimants keeps the winner's and only
//!   passes the loser's OGMs on, so both claimants hear of each other.
//! * **Prefix**: another originator announces one of our derived LAN
//!   prefixes. The higher originator address gives way
//!   ([`crate::zeroconf::loser`]).
//!
//! The loser takes its next attempt number and derives again (both
//! attempts after an originator duplicate: a twin MAC also means a twin
//! LAN slot), re-announces at once and reports it (`Event::Renumbered`).

use std::net::Ipv6Addr;

use crate::prefix::Prefix;
use crate::zeroconf::Site;

/// What the driver tells the engine to derive from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZeroconfConfig {
    pub site: Site,
    /// The MAC the addresses are derived from (possibly an override).
    pub mac: [u8; 6],
    /// Sent in the NODE_ID TLV of every own OGM.
    pub node_id: [u8; 8],
    /// Use the derived originator (false: an explicit one wins).
    pub derive_originator: bool,
}

/// The last duplicate seen, for status.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Duplicate {
    /// `originator` or `prefix`.
    pub kind: &'static str,
    /// The contested originator address or prefix.
    pub what: String,
    /// The other claimant: its node id (originator) or originator (prefix).
    pub other: String,
    /// This node gave way (derived again).
    pub gave_way: bool,
}

/// Zero-config state of a running engine.
#[derive(Clone, Debug)]
pub(super) struct ZcState {
    pub cfg: ZeroconfConfig,
    pub originator_attempt: u32,
    pub lan_attempt: u32,
    pub originator: Ipv6Addr,
    pub lan6: Prefix,
    pub lan4: Prefix,
    pub duplicates: u32,
    pub last: Option<Duplicate>,
}

impl ZcState {
    pub fn new(cfg: ZeroconfConfig) -> ZcState {
        let d = cfg.site.derive(cfg.mac, 0);
        ZcState {
            cfg,
            originator_attempt: 0,
            lan_attempt: 0,
            originator: d.originator,
            lan6: d.lan6,
            lan4: d.lan4,
            duplicates: 0,
            last: None,
        }
    }

    /// Takes the next attempt(s) and derives again.
    pub fn renumber(&mut self, originator_too: bool) {
        if originator_too {
            self.originator_attempt = self.originator_attempt.saturating_add(1);
            self.originator = self
                .cfg
                .site
                .derive(self.cfg.mac, self.originator_attempt)
                .originator;
        }
        self.lan_attempt = self.lan_attempt.saturating_add(1);
        let d = self.cfg.site.derive(self.cfg.mac, self.lan_attempt);
        self.lan6 = d.lan6;
        self.lan4 = d.lan4;
    }

    /// The node id sent on the wire: ours, or all zero when the originator
    /// is configured (it cannot give way, so it always wins: the lowest
    /// id).
    pub fn wire_id(&self) -> [u8; 8] {
        if self.cfg.derive_originator {
            self.cfg.node_id
        } else {
            [0; 8]
        }
    }

    pub fn lans(&self) -> [Prefix; 2] {
        [self.lan6, self.lan4]
    }

    /// Remembers a duplicate; true when it differs from the last one
    /// (logged once per change).
    pub fn note(&mut self, d: Duplicate) -> bool {
        let new = self.last.as_ref() != Some(&d);
        if new {
            self.duplicates = self.duplicates.saturating_add(1);
            self.last = Some(d);
        }
        new
    }

    pub fn status(&self, originator_in_use: Ipv6Addr) -> ZeroconfStatus {
        let router = |p: Prefix| match p.addr() {
            std::net::IpAddr::V4(a) => std::net::IpAddr::V4((u32::from(a) | 1).into()),
            std::net::IpAddr::V6(a) => std::net::IpAddr::V6((u128::from(a) | 1).into()),
        };
        ZeroconfStatus {
            site6: self.cfg.site.prefix6,
            site4: self.cfg.site.prefix4,
            lan4_length: self.cfg.site.lan4_len,
            mac: self
                .cfg
                .mac
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(":"),
            node_id: hex_id(&self.wire_id()),
            derived_originator: self.originator,
            originator_derived: self.cfg.derive_originator && self.originator == originator_in_use,
            lan: vec![self.lan6, self.lan4],
            routers: vec![router(self.lan6), router(self.lan4)],
            originator_attempt: self.originator_attempt,
            attempt: self.lan_attempt,
            duplicates: self.duplicates,
            last_duplicate: self.last.clone(),
        }
    }
}

/// Zero-config values for `roost status` (docs/CLI.md).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ZeroconfStatus {
    pub site6: Prefix,
    pub site4: Prefix,
    pub lan4_length: u8,
    pub mac: String,
    pub node_id: String,
    pub derived_originator: Ipv6Addr,
    /// The derived originator is the one in use (no explicit one).
    pub originator_derived: bool,
    /// The client LAN prefixes announced: IPv6, IPv4.
    pub lan: Vec<Prefix>,
    /// This node's address in each LAN (first host).
    pub routers: Vec<std::net::IpAddr>,
    pub originator_attempt: u32,
    /// The LAN slot's attempt number (0 unless a duplicate moved it).
    pub attempt: u32,
    /// Duplicates seen since start.
    pub duplicates: u32,
    pub last_duplicate: Option<Duplicate>,
}

/// The NODE_ID in a TLV area, if any.
pub(super) fn node_id_of(tlvs: &[u8]) -> Option<[u8; 8]> {
    crate::wire::Tlvs::new(tlvs)
        .flatten()
        .find_map(|t| match t {
            crate::wire::Tlv::NodeId(id) => Some(id),
            _ => None,
        })
}

/// Hex of a node id, for logs.
pub fn hex_id(id: &[u8; 8]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}
