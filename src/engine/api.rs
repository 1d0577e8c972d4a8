//! The engine's inputs and outputs: everything that crosses the sans-IO seam.

use std::fmt;
use std::net::Ipv6Addr;

use crate::prefix::Prefix;

/// Monotonic time in milliseconds since an arbitrary epoch chosen by the driver.
/// The engine never reads a clock; every call carries `now`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time(pub u64);

impl Time {
    pub const ZERO: Time = Time(0);
    pub const NEVER: Time = Time(u64::MAX);

    pub fn millis(self) -> u64 {
        self.0
    }
    pub fn plus(self, ms: u64) -> Time {
        Time(self.0.saturating_add(ms))
    }
    /// Milliseconds from `earlier` to `self` (0 if `earlier` is later).
    pub fn since(self, earlier: Time) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03}s", self.0 / 1000, self.0 % 1000)
    }
}

/// The driver's name for an interface: the kernel ifindex on Linux, a
/// per-node number in the simulator.
pub type IfaceId = u32;

/// Interface kinds set the hello timing and the same-interface penalty.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IfaceKind {
    Wireless,
    Wired,
    Tunnel,
}

impl IfaceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IfaceKind::Wireless => "wireless",
            IfaceKind::Wired => "wired",
            IfaceKind::Tunnel => "tunnel",
        }
    }
}

impl std::str::FromStr for IfaceKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "wireless" => Ok(IfaceKind::Wireless),
            "wired" => Ok(IfaceKind::Wired),
            "tunnel" => Ok(IfaceKind::Tunnel),
            other => Err(format!(
                "'{other}' is not an interface type (wireless, wired, tunnel)"
            )),
        }
    }
}

/// What the driver tells the engine.
#[derive(Clone, Debug)]
pub enum Input {
    /// An interface is usable: up, with carrier and a link-local address.
    /// Sending it again updates kind/MTU/address.
    InterfaceUp {
        iface: IfaceId,
        name: String,
        kind: IfaceKind,
        /// Largest UDP payload that fits the link MTU (MTU − 48 for IPv6+UDP).
        max_payload: usize,
        link_local: Ipv6Addr,
    },
    /// The interface went down, lost carrier or vanished: its neighbours are
    /// retracted at once.
    InterfaceDown { iface: IfaceId },
    /// A datagram arrived on `iface` from link-local `src`.
    Packet {
        iface: IfaceId,
        src: Ipv6Addr,
        bytes: Vec<u8>,
    },
    /// Replace the prefixes this node announces (config reload).
    SetAnnounce(Vec<Prefix>),
    /// Replace the hostname this node announces (config reload).
    SetHostname(Option<String>),
    /// Offer (or stop offering) this node's uplink to the mesh: (down, up)
    /// bandwidth in units of 100 kbit/s. Gateway mode `auto` sends this as
    /// the node's own default route comes and goes.
    SetGatewayOffer(Option<(u32, u32)>),
    /// A deadline the engine asked for (via `Output::Timeout`) has passed.
    Timer,
}

/// One desired kernel route.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Route {
    pub dst: Prefix,
    /// Link-local address of the next hop.
    pub via: Ipv6Addr,
    pub iface: IfaceId,
    /// Kernel metric (constant `ROUTE_METRIC`; TQ is in `tq`).
    pub metric: u32,
    /// The originator that announced `dst`.
    pub originator: Ipv6Addr,
    pub tq: u8,
}

/// A change to the desired routing table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteChange {
    /// Install or replace the route for `route.dst`.
    Set(Route),
    /// No route for this destination any more.
    Remove(Prefix),
}

/// Notable things that happened, for logs and tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    NeighbourUp {
        iface: IfaceId,
        addr: Ipv6Addr,
    },
    NeighbourDown {
        iface: IfaceId,
        addr: Ipv6Addr,
        reason: &'static str,
    },
    /// An originator became reachable (it has a route now).
    OriginatorUp {
        originator: Ipv6Addr,
    },
    /// An originator became unreachable (no usable route left).
    OriginatorDown {
        originator: Ipv6Addr,
    },
    /// An originator's sequence numbers jumped back: accepted as a reboot.
    SeqnoReset {
        originator: Ipv6Addr,
    },
    /// Two originators announce the same prefix: `chosen` (the lowest
    /// address, or this node when it announces it too) is used.
    PrefixConflict {
        prefix: Prefix,
        chosen: Ipv6Addr,
        other: Ipv6Addr,
    },
    /// `originator`'s prefix contains `other`'s `more_specific` one: both
    /// are routed, longest-prefix match decides.
    PrefixOverlap {
        prefix: Prefix,
        originator: Ipv6Addr,
        more_specific: Prefix,
        other: Ipv6Addr,
    },
    /// Another node (node id `other_node`) claims our originator address
    /// (zero-config). `gave_way`: this node derives again.
    DuplicateOriginator {
        originator: Ipv6Addr,
        other_node: [u8; 8],
        gave_way: bool,
    },
    /// Another originator announces one of our derived LAN prefixes.
    DuplicatePrefix {
        prefix: Prefix,
        other: Ipv6Addr,
        gave_way: bool,
    },
    /// Zero-config derived new values after a duplicate.
    Renumbered {
        old_originator: Ipv6Addr,
        originator: Ipv6Addr,
        lan: Vec<Prefix>,
        originator_attempt: u32,
        attempt: u32,
    },
}

/// What the engine asks the driver to do.
#[derive(Clone, Debug)]
pub enum Output {
    /// Send `bytes` as one UDP datagram to the protocol's multicast group on `iface`.
    Transmit {
        iface: IfaceId,
        bytes: Vec<u8>,
    },
    /// Apply these changes to the routing table (in order).
    Routes(Vec<RouteChange>),
    Event(Event),
    /// The gateway plan changed: install it in place of the previous one.
    Gateways(super::gateway::GatewayPlan),
    /// Nothing more to do now: call `handle_input(now, Input::Timer)` at this time
    /// (or earlier, when anything else arrives).
    Timeout(Time),
}
