//! Serializable snapshots of engine state for the control socket and tests.

use std::collections::BTreeMap;
use std::net::Ipv6Addr;

use super::api::{IfaceId, IfaceKind};
use crate::prefix::Prefix;

/// Packet counters. Plain u64 fields (no atomics: 32-bit MIPS has none).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counters {
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub tx_packets: u64,
    pub tx_bytes: u64,
    /// Ethernet frame bytes: UDP payload + 8 + 40 + 14 per datagram.
    pub tx_frame_bytes: u64,
    pub rx_ogms: u64,
    pub tx_ogms: u64,
    /// Dropped inputs by reason (stable names).
    pub dropped: BTreeMap<&'static str, u64>,
}

impl Counters {
    pub fn drop(&mut self, reason: &'static str) {
        *self.dropped.entry(reason).or_insert(0) += 1;
    }
    pub fn dropped_total(&self) -> u64 {
        self.dropped.values().sum()
    }
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct IfaceStatus {
    pub ifindex: IfaceId,
    pub name: String,
    pub kind: IfaceKind,
    pub link_local: Ipv6Addr,
    pub max_payload: usize,
    pub hello_interval_ms: u32,
    pub neighbours: usize,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct NeighbourStatus {
    pub ifindex: IfaceId,
    pub iface: String,
    pub addr: Ipv6Addr,
    /// The neighbour's originator address, once learned.
    pub originator: Option<Ipv6Addr>,
    /// Fraction of its datagrams we receive (0..=255).
    pub rx_quality: u8,
    /// Fraction of ours it receives, as it told us (0..=255).
    pub tx_quality: u8,
    /// Link TQ used for routing (tx × asymmetry penalty).
    pub link_tq: u8,
    pub bidirectional: bool,
    /// Our own OGMs this neighbour rebroadcast back to us.
    pub echoes: u32,
    pub last_seen_ms_ago: u64,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct AlternativeStatus {
    pub via: Ipv6Addr,
    pub ifindex: IfaceId,
    pub tq: u8,
    pub seqno: u32,
    pub feasible: bool,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct OriginatorStatus {
    pub originator: Ipv6Addr,
    pub seqno: u32,
    /// Best next hop (link-local) and interface, if routed.
    pub via: Option<Ipv6Addr>,
    pub ifindex: Option<IfaceId>,
    pub tq: u8,
    pub last_seen_ms_ago: u64,
    pub announced: Vec<Prefix>,
    pub hostname: Option<String>,
    pub gateway: Option<(u32, u32)>,
    pub alternatives: Vec<AlternativeStatus>,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Status {
    pub originator: Ipv6Addr,
    pub announced: Vec<Prefix>,
    pub counters: Counters,
    pub interfaces: Vec<IfaceStatus>,
    pub neighbours: Vec<NeighbourStatus>,
    pub originators: Vec<OriginatorStatus>,
    /// Zero-config values (`None`: off).
    pub zeroconf: Option<super::ZeroconfStatus>,
}

/// Builds a snapshot of the engine's state.
pub(super) fn snapshot(e: &super::Engine, now: super::Time) -> Status {
    let interfaces = e
        .ifaces
        .iter()
        .map(|(id, i)| IfaceStatus {
            ifindex: *id,
            name: i.name.clone(),
            kind: i.kind,
            link_local: i.link_local,
            max_payload: i.max_payload,
            hello_interval_ms: e.cfg.params.kind(i.kind).hello_ms,
            neighbours: e.neighbours.keys().filter(|(n, _)| n == id).count(),
        })
        .collect();
    let iface_name = |id: &IfaceId| e.ifaces.get(id).map(|i| i.name.clone()).unwrap_or_default();
    let neighbours = e
        .neighbours
        .values()
        .map(|n| {
            let fresh = e.ihu_fresh_ms(n);
            let echo = u64::from(e.cfg.params.route_timeout_ms);
            let link_tq = n.link_tq(now, fresh, echo);
            NeighbourStatus {
                ifindex: n.iface,
                iface: iface_name(&n.iface),
                addr: n.addr,
                originator: n.originator,
                rx_quality: n.rx_quality(now),
                tx_quality: n.tx_quality(now, fresh, echo),
                link_tq,
                bidirectional: link_tq > 0,
                echoes: n.echoes,
                last_seen_ms_ago: now.since(n.last_heard),
            }
        })
        .collect();
    let mut originators: Vec<OriginatorStatus> = e
        .origs
        .values()
        .map(|o| OriginatorStatus {
            originator: o.addr,
            seqno: o.newest,
            via: o.best.map(|b| b.1),
            ifindex: o.best.map(|b| b.0),
            tq: o.best_tq,
            last_seen_ms_ago: now.since(o.last_seen),
            announced: o.announced.clone(),
            hostname: o.hostname.clone(),
            gateway: o.gateway,
            alternatives: o
                .alts
                .iter()
                .map(|(k, a)| AlternativeStatus {
                    via: k.1,
                    ifindex: k.0,
                    tq: super::tq::path(a.avg(), e.link_tq_of(k), e.cfg.params.hop_penalty),
                    seqno: a.seqno,
                    feasible: o.feasible(a),
                })
                .collect(),
        })
        .collect();
    originators.sort_unstable_by_key(|o| o.originator);
    Status {
        originator: e.cfg.originator,
        announced: e.own_announce.clone(),
        counters: e.counters.clone(),
        interfaces,
        neighbours,
        originators,
        zeroconf: e.zeroconf_status(),
    }
}

/// A node of the whole-mesh map.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TopoNode {
    pub originator: Ipv6Addr,
    pub hostname: Option<String>,
    pub announced: Vec<Prefix>,
    pub gateway: bool,
    /// This node has a route to it (always true for the local node).
    pub reachable: bool,
    pub local: bool,
}

/// A directed link of the map: `source` hears `target` with link TQ `tq`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TopoLink {
    pub source: Ipv6Addr,
    pub target: Ipv6Addr,
    pub tq: u8,
}

/// The whole mesh as this node knows it: itself, every originator, its own
/// links and the links every originator reported in its NEIGHBOURS TLV.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Topology {
    pub router_id: Ipv6Addr,
    pub nodes: Vec<TopoNode>,
    pub links: Vec<TopoLink>,
}

/// Builds the map.
pub(super) fn topology(e: &super::Engine) -> Topology {
    let me = e.cfg.originator;
    let mut nodes = vec![TopoNode {
        originator: me,
        hostname: e.cfg.hostname.clone(),
        announced: e.own_announce.clone(),
        gateway: false,
        reachable: true,
        local: true,
    }];
    let mut origs: Vec<_> = e.origs.values().collect();
    origs.sort_unstable_by_key(|o| o.addr);
    for o in &origs {
        nodes.push(TopoNode {
            originator: o.addr,
            hostname: o.hostname.clone(),
            announced: o.announced.clone(),
            gateway: o.gateway.is_some(),
            reachable: o.best.is_some(),
            local: false,
        });
    }
    let mut links: Vec<TopoLink> = e
        .own_topology()
        .into_iter()
        .map(|(target, tq)| TopoLink {
            source: me,
            target,
            tq,
        })
        .collect();
    for o in &origs {
        links.extend(o.topology.iter().map(|&(target, tq)| TopoLink {
            source: o.addr,
            target,
            tq,
        }));
    }
    // Every link end is a node, even one we hold no state for.
    let mut known: std::collections::BTreeSet<Ipv6Addr> =
        nodes.iter().map(|n| n.originator).collect();
    for l in &links {
        if known.insert(l.target) {
            nodes.push(TopoNode {
                originator: l.target,
                hostname: None,
                announced: Vec::new(),
                gateway: false,
                reachable: false,
                local: false,
            });
        }
    }
    Topology {
        router_id: me,
        nodes,
        links,
    }
}
