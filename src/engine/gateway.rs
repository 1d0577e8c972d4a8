//! Gateways: which one this node sends its internet traffic to (selection
//! classes, stickiness), and the gateway plan the driver installs: the
//! node's own default route and the pins that keep every other client's
//! traffic on the path to the gateway *that client* chose (docs/CONFIG.md,
//! "Gateways").

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::Ipv6Addr;

use super::api::{IfaceId, Time};
use super::fxhash::FxHashMap;
use super::originator::Originator;
use super::originator_prefix;
use super::params::TQ_MIN_USABLE;
use crate::prefix::Prefix;

/// A better gateway must stay better by the class's margin this long before
/// a client moves to it (a flapping path never gets the client to move).
pub const SWITCH_SETTLE_MS: u64 = 10_000;
/// Each voluntary move within this time of the previous one doubles the
/// settle time (up to 16×): a path flapping slower than the settle time
/// moves a client a few times at most, not at every flap.
pub const SWITCH_DAMPING_MS: u64 = 300_000;
const MAX_DAMPING_SHIFT: u32 = 4;
/// A chosen gateway whose route just went away while the next hops left
/// are only waiting for a newer seqno (asked for; usually under a second)
/// stays chosen this long: a lost flood copy on the other path must not
/// move the client and break its NAT sessions. So does a chosen gateway
/// when no gateway at all is left (every neighbour lost for a moment).
pub const GW_HOLD_MS: u64 = 3_000;

/// How a client chooses among gateways (after batman-adv's `gw_sel_class`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum GwClass {
    /// Best TQ; move only to a gateway better by this many TQ points.
    Tq(u8),
    /// Best TQ when choosing; never move while the chosen one is reachable.
    Stable,
    /// Best `TQ² × downlink bandwidth`; move only to one better by this
    /// many percent.
    Bandwidth(u16),
}

impl Default for GwClass {
    fn default() -> GwClass {
        GwClass::Tq(20)
    }
}

impl fmt::Display for GwClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GwClass::Tq(m) => write!(f, "tq={m}"),
            GwClass::Stable => f.write_str("stable"),
            GwClass::Bandwidth(p) => write!(f, "bandwidth={p}"),
        }
    }
}

impl std::str::FromStr for GwClass {
    type Err = String;
    fn from_str(s: &str) -> Result<GwClass, String> {
        let (name, arg) = match s.split_once('=') {
            Some((n, a)) => (n, Some(a)),
            None => (s, None),
        };
        let num = |default: u32, max: u32| -> Result<u32, String> {
            match arg {
                None => Ok(default),
                Some(a) => a
                    .parse::<u32>()
                    .ok()
                    .filter(|v| *v <= max)
                    .ok_or_else(|| format!("'{s}': the margin must be a number 0..={max}")),
            }
        };
        match name {
            "tq" => Ok(GwClass::Tq(num(20, 255)? as u8)),
            "stable" if arg.is_none() => Ok(GwClass::Stable),
            "bandwidth" => Ok(GwClass::Bandwidth(num(25, 1000)? as u16)),
            _ => Err(format!(
                "'{s}' is not a gateway class (tq[=MARGIN], stable, bandwidth[=PERCENT])"
            )),
        }
    }
}

/// A reachable gateway as a client sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub addr: Ipv6Addr,
    pub tq: u8,
    /// Announced bandwidth, units of 100 kbit/s.
    pub down: u32,
    pub up: u32,
}

fn score(class: GwClass, c: &Candidate) -> u64 {
    match class {
        GwClass::Tq(_) | GwClass::Stable => u64::from(c.tq),
        GwClass::Bandwidth(_) => {
            let tq = u64::from(c.tq);
            tq * tq * u64::from(c.down.max(1))
        }
    }
}

/// Whether `new` beats `cur` by the class's margin.
fn beats(class: GwClass, new: &Candidate, cur: &Candidate) -> bool {
    match class {
        GwClass::Tq(m) => u16::from(new.tq) >= u16::from(cur.tq) + u16::from(m.max(1)),
        GwClass::Stable => false,
        GwClass::Bandwidth(p) => {
            u128::from(score(class, new)) * 100
                > u128::from(score(class, cur)) * (100 + u128::from(p))
        }
    }
}

/// The client's sticky choice.
#[derive(Clone, Debug)]
pub struct Selector {
    pub class: GwClass,
    pub current: Option<Ipv6Addr>,
    /// A gateway beating the current one by the margin, and since when.
    challenger: Option<(Ipv6Addr, Time)>,
    /// Times the choice changed (for status).
    pub switches: u32,
    /// The last voluntary move and the damping it brought.
    last_move: Option<Time>,
    damping: u32,
    /// When the first gateway was taken: until the settle time has passed
    /// (routes still converging), a better one is taken without margin, so
    /// the first gateway heard at start does not stick.
    taken_at: Option<Time>,
    /// Since when no gateway at all has been a candidate while we had one
    /// chosen: the choice is kept for [`GW_HOLD_MS`] (there is nothing to
    /// move to, and the same one back is then no move).
    none_since: Option<Time>,
}

impl Selector {
    pub fn new(class: GwClass) -> Selector {
        Selector {
            class,
            current: None,
            challenger: None,
            switches: 0,
            last_move: None,
            damping: 0,
            taken_at: None,
            none_since: None,
        }
    }

    /// How long a challenger must stay better now.
    pub fn settle_ms(&self) -> u64 {
        SWITCH_SETTLE_MS << self.damping
    }

    /// Re-evaluates the choice; returns whether it changed. The current
    /// gateway is kept while it is a candidate, unless another one has
    /// beaten it by the margin for [`SWITCH_SETTLE_MS`]; when it is gone,
    /// the best candidate is taken at once.
    pub fn update(&mut self, now: Time, cands: &[Candidate]) -> bool {
        self.update_holding(now, cands, false)
    }

    /// [`Selector::update`], where `holding` says the current gateway is
    /// not a candidate only because its route is recovering (see
    /// [`GW_HOLD_MS`]): it is then kept.
    pub fn update_holding(&mut self, now: Time, cands: &[Candidate], holding: bool) -> bool {
        let class = self.class;
        let best = cands.iter().max_by(|a, b| {
            score(class, a)
                .cmp(&score(class, b))
                .then(b.addr.cmp(&a.addr))
        });
        let cur = self
            .current
            .and_then(|a| cands.iter().find(|c| c.addr == a));
        let fresh = self
            .taken_at
            .is_some_and(|t| now.since(t) < SWITCH_SETTLE_MS);
        if best.is_some() {
            self.none_since = None;
        }
        let next = match (cur, best) {
            (None, _) if holding && self.current.is_some() => {
                self.challenger = None;
                self.current
            }
            (None, None) if self.current.is_some() => {
                self.challenger = None;
                let since = *self.none_since.get_or_insert(now);
                if now.since(since) < GW_HOLD_MS {
                    self.current
                } else {
                    None
                }
            }
            (None, b) => {
                self.challenger = None;
                // Only the very first choice gets the grace: after losing a
                // gateway, the replacement must earn a move back.
                if self.switches == 0 {
                    self.taken_at = Some(now);
                }
                b.map(|b| b.addr)
            }
            (Some(c), Some(b)) if fresh && score(class, b) > score(class, c) => {
                self.challenger = None;
                Some(b.addr)
            }
            (Some(c), Some(b)) if b.addr != c.addr && beats(class, b, c) => match self.challenger {
                Some((a, since)) if a == b.addr => {
                    if now.since(since) >= self.settle_ms() {
                        self.challenger = None;
                        let recent = self
                            .last_move
                            .is_some_and(|t| now.since(t) < SWITCH_DAMPING_MS);
                        self.damping = if recent {
                            (self.damping + 1).min(MAX_DAMPING_SHIFT)
                        } else {
                            0
                        };
                        self.last_move = Some(now);
                        Some(b.addr)
                    } else {
                        Some(c.addr)
                    }
                }
                _ => {
                    self.challenger = Some((b.addr, now));
                    Some(c.addr)
                }
            },
            (Some(c), _) => {
                self.challenger = None;
                Some(c.addr)
            }
        };
        if next == self.current {
            return false;
        }
        self.current = next;
        self.switches = self.switches.wrapping_add(1);
        true
    }
}

/// The next hop toward a gateway.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct GwPath {
    pub gateway: Ipv6Addr,
    /// Link-local address of the next hop, and its interface.
    pub via: Ipv6Addr,
    pub iface: IfaceId,
    pub tq: u8,
}

/// Internet traffic from `source` (another client's address or announced
/// prefix) goes toward `gateway`, the gateway that client chose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Pin {
    pub source: Prefix,
    pub gateway: Ipv6Addr,
}

/// What the driver installs for gateways (declarative, like the routes).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct GatewayPlan {
    /// This node offers its own uplink: its traffic follows its main table.
    pub serving: bool,
    /// The gateway this node chose and the next hop toward it: the node's
    /// own default routes (consulted after main).
    pub own: Option<GwPath>,
    /// Next hops toward every gateway a pin refers to.
    pub paths: Vec<GwPath>,
    /// Other clients' sources and the gateway each must reach (consulted
    /// before main, after the specific routes).
    pub pins: Vec<Pin>,
}

fn path_to(origs: &FxHashMap<Ipv6Addr, Originator>, g: Ipv6Addr) -> Option<GwPath> {
    let o = origs.get(&g)?;
    let (iface, via) = o.best?;
    (o.best_tq >= TQ_MIN_USABLE).then_some(GwPath {
        gateway: g,
        via,
        iface,
        tq: o.best_tq,
    })
}

/// The reachable gateways (other than `own`).
pub fn candidates(
    origs: &FxHashMap<Ipv6Addr, Originator>,
    gateways: &BTreeSet<Ipv6Addr>,
    own: Ipv6Addr,
) -> Vec<Candidate> {
    gateways
        .iter()
        .filter(|g| **g != own)
        .filter_map(|g| {
            let o = origs.get(g)?;
            let (down, up) = o.gateway?;
            let p = path_to(origs, *g)?;
            Some(Candidate {
                addr: *g,
                tq: p.tq,
                down,
                up,
            })
        })
        .collect()
}

/// Builds the plan of node `own`.
pub fn plan(
    origs: &FxHashMap<Ipv6Addr, Originator>,
    gateways: &BTreeSet<Ipv6Addr>,
    choosers: &BTreeSet<Ipv6Addr>,
    own: Ipv6Addr,
    serving: bool,
    choice: Option<Ipv6Addr>,
) -> GatewayPlan {
    let own_path = if serving {
        None
    } else {
        choice.and_then(|g| path_to(origs, g))
    };
    let mut by_source: BTreeMap<Prefix, Ipv6Addr> = BTreeMap::new();
    let mut paths: BTreeMap<Ipv6Addr, GwPath> = BTreeMap::new();
    for c in choosers {
        if *c == own {
            continue;
        }
        let Some(o) = origs.get(c) else { continue };
        let Some(g) = o.gw_choice else { continue };
        // Traffic for our own uplink needs no pin: main routes it out.
        if g == own || !gateways.contains(&g) || o.best.is_none() {
            continue;
        }
        let Some(p) = path_to(origs, g) else { continue };
        paths.insert(g, p);
        let sources = std::iter::once(originator_prefix(*c))
            .chain(o.announced.iter().copied().filter(|p| p.len() > 0));
        for s in sources {
            by_source.entry(s).or_insert(g);
        }
    }
    let pins: Vec<Pin> = by_source
        .into_iter()
        .map(|(source, gateway)| Pin { source, gateway })
        .collect();
    paths.retain(|g, _| pins.iter().any(|p| p.gateway == *g));
    GatewayPlan {
        serving,
        own: own_path,
        paths: paths.into_values().collect(),
        pins,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(last: u16, tq: u8, down: u32) -> Candidate {
        Candidate {
            addr: Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, last),
            tq,
            down,
            up: 10,
        }
    }

    #[test]
    fn classes_parse_and_print() {
        for (s, c) in [
            ("tq", GwClass::Tq(20)),
            ("tq=35", GwClass::Tq(35)),
            ("stable", GwClass::Stable),
            ("bandwidth", GwClass::Bandwidth(25)),
            ("bandwidth=50", GwClass::Bandwidth(50)),
        ] {
            assert_eq!(s.parse::<GwClass>(), Ok(c));
        }
        assert_eq!(GwClass::default().to_string(), "tq=20");
        for bad in ["fast", "tq=300", "tq=x", "stable=3", ""] {
            assert!(bad.parse::<GwClass>().is_err(), "{bad}");
        }
    }

    #[test]
    fn takes_the_best_and_sticks_within_the_margin() {
        let mut s = Selector::new(GwClass::Tq(20));
        // The first gateway heard is taken, and a better one replaces it
        // without margin while routes converge.
        assert!(s.update(Time(0), &[cand(1, 150, 10)]));
        assert!(s.update(Time(500), &[cand(1, 150, 10), cand(2, 160, 10)]));
        assert_eq!(s.current, Some(cand(2, 0, 0).addr));
        let t = 10_000;
        assert!(!s.update(Time(t), &[cand(1, 200, 10), cand(2, 220, 10)]));
        // The other one gets better, but not by 20: stay.
        assert!(!s.update(Time(t + 1000), &[cand(1, 235, 10), cand(2, 220, 10)]));
        // Better by 20, but only for a moment: stay.
        assert!(!s.update(Time(t + 2000), &[cand(1, 245, 10), cand(2, 220, 10)]));
        assert!(!s.update(Time(t + 3000), &[cand(1, 200, 10), cand(2, 220, 10)]));
        assert!(!s.update(Time(t + 4000), &[cand(1, 245, 10), cand(2, 220, 10)]));
        assert!(!s.update(Time(t + 13_999), &[cand(1, 245, 10), cand(2, 220, 10)]));
        // ... and for the settle time: move.
        assert!(s.update(Time(t + 14_000), &[cand(1, 245, 10), cand(2, 220, 10)]));
        assert_eq!(s.current, Some(cand(1, 0, 0).addr));
        // The chosen one vanishes: the other at once.
        assert!(s.update(Time(t + 14_500), &[cand(2, 100, 10)]));
        assert_eq!(s.current, Some(cand(2, 0, 0).addr));
        // None left: kept for the hold time, then none.
        assert!(!s.update(Time(t + 15_000), &[]));
        assert!(!s.update(Time(t + 17_999), &[]));
        assert!(s.update(Time(t + 18_000), &[]));
        assert_eq!(s.current, None);
        assert_eq!(s.switches, 5);
    }

    #[test]
    fn a_recovering_gateway_is_held() {
        let mut s = Selector::new(GwClass::Tq(20));
        s.update(Time(0), &[cand(1, 250, 10), cand(2, 200, 10)]);
        // Gateway 1's route is recovering: kept, however good 2 is.
        assert!(!s.update_holding(Time(20_000), &[cand(2, 255, 10)], true));
        assert_eq!(s.current, Some(cand(1, 0, 0).addr));
        assert_eq!(s.switches, 1);
        // Back: nothing moved.
        assert!(!s.update(Time(20_500), &[cand(1, 250, 10), cand(2, 255, 10)]));
        // The hold is over (the engine stops holding): the other at once.
        assert!(s.update_holding(Time(24_000), &[cand(2, 255, 10)], false));
        assert_eq!(s.current, Some(cand(2, 0, 0).addr));
        // Holding with no choice keeps none and takes the best.
        let mut n = Selector::new(GwClass::Tq(20));
        assert!(n.update_holding(Time(0), &[cand(2, 200, 10)], true));
        assert_eq!(n.current, Some(cand(2, 0, 0).addr));
    }

    #[test]
    fn moves_back_and_forth_are_damped() {
        let mut s = Selector::new(GwClass::Tq(20));
        let (a, b) = (cand(1, 250, 10), cand(2, 200, 10));
        let (a_weak, b_strong) = (cand(1, 150, 10), cand(2, 220, 10));
        s.update(Time(0), &[a, b]);
        // A path that flips every 30 s (longer than the settle time).
        let mut t = 0;
        let mut moves = Vec::new();
        for flip in 0..20 {
            let cands = if flip % 2 == 0 {
                [a_weak, b_strong]
            } else {
                [a, b]
            };
            for _ in 0..30 {
                t += 1000;
                if s.update(Time(t), &cands) {
                    moves.push(t);
                }
            }
        }
        // Undamped, it would move at every one of the 20 flips.
        assert!(moves.len() <= 6, "{moves:?}");
        assert!(s.settle_ms() > SWITCH_SETTLE_MS);
    }

    #[test]
    fn stable_never_moves_and_bandwidth_weighs_the_uplink() {
        let mut s = Selector::new(GwClass::Stable);
        s.update(Time(0), &[cand(1, 100, 10)]);
        for i in 10..100 {
            assert!(!s.update(Time(i * 1000), &[cand(1, 100, 10), cand(2, 255, 1000)]));
        }
        let mut b = Selector::new(GwClass::Bandwidth(25));
        // 200² × 10 = 400 000 against 150² × 100 = 2 250 000.
        b.update(Time(0), &[cand(1, 200, 10), cand(2, 150, 100)]);
        assert_eq!(b.current, Some(cand(2, 0, 0).addr));
        // Equal scores within 25 %: stay.
        for i in 10..30 {
            assert!(!b.update(Time(i * 1000), &[cand(1, 250, 40), cand(2, 150, 100)]));
        }
    }
}
