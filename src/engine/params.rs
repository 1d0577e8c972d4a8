//! Every protocol constant and default, in one place. `docs/PROTOCOL.md`
//! section "Constants" is the prose twin of this file: change both together.

use super::api::IfaceKind;

/// Largest TQ value (a perfect path).
pub const TQ_MAX: u8 = 255;
/// OGMs forwarded with this TTL by their originator.
pub const DEFAULT_TTL: u8 = 50;
/// Routes with a TQ below this are not used.
pub const TQ_MIN_USABLE: u8 = 5;
/// Ring of advertised-TQ samples averaged per (originator, neighbour).
pub const TQ_AVG_RING: usize = 4;
/// Retractions are sent this many extra times (with the next hellos).
pub const RETRACT_REPEATS: u8 = 2;
/// An OGM whose TLVs changed (announcements, gateway offer or choice) is
/// sent, and forwarded, this many extra times: gateway pins along the
/// path hinge on those TLVs, and one lost copy would leave a hop on a stale
/// choice until the next round, 30 s later.
pub const TLV_CHANGE_REPEATS: u8 = 1;
/// Seqnos further behind than this (or further ahead than 2^31) are outside
/// the window: dropped, unless accepted as a reboot (see `reset_protection_ms`).
pub const SEQNO_WINDOW: u32 = 64;

/// Per-interface-kind timing and penalties.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KindParams {
    /// Hello interval: the longest a neighbour waits for our next datagram.
    pub hello_ms: u32,
    /// Extra penalty when an OGM leaves by the interface it arrived on.
    pub same_iface_penalty: u8,
}

/// Tunable engine parameters. `Default` gives the documented defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Params {
    pub wireless: KindParams,
    pub wired: KindParams,
    pub tunnel: KindParams,
    /// Originator message interval.
    pub ogm_interval_ms: u32,
    /// Own OGMs are sent early by up to this much (jitter).
    pub ogm_jitter_ms: u32,
    /// Every this-many own OGMs carries the NEIGHBOURS TLV (and the next
    /// one after the neighbour set changed).
    pub topology_every: u32,
    /// Hellos are sent early by up to interval/this (jitter).
    pub hello_jitter_div: u32,
    /// Every this-many hellos carries an IHU list.
    pub ihu_every: u32,
    /// Delay before a triggered send (aggregates bursts of changes).
    pub trigger_delay_ms: u32,
    /// Per-hop penalty, out of 255.
    pub hop_penalty: u8,
    /// Switch next hop at once if the alternative beats the current by this
    /// many TQ points (and by 1/8).
    pub switch_margin: u8,
    /// A next hop younger than this yields to any better alternative.
    pub settle_ms: u32,
    /// Routing sees a neighbour's link TQ change only once it moved this much.
    pub link_deadband: u8,
    /// A triggered update is sent when an originator's TQ changes by at least this.
    pub trigger_tq_delta: u8,
    /// An alternative expires this long after its last update.
    pub route_timeout_ms: u32,
    /// Originator state is dropped this long after it became unreachable.
    pub purge_ms: u32,
    /// After a seqno reset was accepted for an originator, further resets are
    /// refused for this long.
    pub reset_protection_ms: u32,
    /// A datagram never exceeds the interface's max payload nor this.
    pub max_datagram: usize,
    /// Originators kept at most; when full, unrouted ones make room for
    /// newcomers, routed ones never do (docs/PROTOCOL.md §10).
    pub max_originators: usize,
    /// Neighbours per interface kept at most.
    pub max_neighbours: usize,
    /// Datagrams per second processed from one neighbour, and the burst
    /// it may save up (dumps of big tables come in bursts).
    pub neighbour_rate: u32,
    pub neighbour_burst: u32,
}

impl Default for Params {
    fn default() -> Params {
        Params {
            wireless: KindParams {
                hello_ms: 780,
                same_iface_penalty: 10,
            },
            wired: KindParams {
                hello_ms: 780,
                same_iface_penalty: 0,
            },
            tunnel: KindParams {
                hello_ms: 2000,
                same_iface_penalty: 0,
            },
            ogm_interval_ms: 30_000,
            ogm_jitter_ms: 1000,
            topology_every: 8,
            hello_jitter_div: 16,
            ihu_every: 5,
            trigger_delay_ms: 20,
            hop_penalty: 10,
            switch_margin: 10,
            settle_ms: 10_000,
            link_deadband: 12,
            trigger_tq_delta: 16,
            route_timeout_ms: 125_000,
            purge_ms: 200_000,
            reset_protection_ms: 30_000,
            max_datagram: 1400,
            max_originators: 4096,
            max_neighbours: 256,
            neighbour_rate: 100,
            neighbour_burst: 400,
        }
    }
}

impl Params {
    pub fn kind(&self, kind: IfaceKind) -> KindParams {
        match kind {
            IfaceKind::Wireless => self.wireless,
            IfaceKind::Wired => self.wired,
            IfaceKind::Tunnel => self.tunnel,
        }
    }
}
