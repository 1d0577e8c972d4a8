//! A deterministic discrete-event simulator: N engines, one virtual clock.
//!
//! Every node has one wireless interface on a broadcast medium: a datagram
//! reaches each neighbour in the topology independently, dropped with the
//! per-direction loss of that link. Links can be cut and restored at given
//! times (carrier stays up: the engines are not told). Same seed, same
//! output, on every CPU: the summary holds only simulated quantities.

mod measure;
mod topo;

pub use measure::Summary;
pub use topo::Topology;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use crate::engine::fxhash::FxHashMap;
use std::net::Ipv6Addr;
use std::rc::Rc;

use crate::engine::gateway::{GatewayPlan, GwClass};
use crate::engine::{
    Engine, EngineConfig, Event, IfaceKind, Input, Output, Params, RouteChange, Time,
};

/// Payload limit of the simulated interface (1500-byte MTU).
const MAX_PAYLOAD: usize = 1452;
/// One-way latency of the medium.
const LATENCY_MS: u64 = 1;
const IFACE: u32 = 1;

pub use crate::engine::rng::Rng as SplitMix;

/// A link cut (`restore == false`) or restore at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkEvent {
    pub a: usize,
    pub b: usize,
    pub at_ms: u64,
    pub restore: bool,
}

impl LinkEvent {
    /// Parses `A-B@T` (T in seconds, fractional allowed).
    pub fn parse(s: &str, restore: bool) -> Result<LinkEvent, String> {
        let bad = || format!("bad link event '{s}' (expected A-B@SECONDS)");
        let (ab, t) = s.split_once('@').ok_or_else(bad)?;
        let (a, b) = ab.split_once('-').ok_or_else(bad)?;
        let t: f64 = t.parse().map_err(|_| bad())?;
        if t.is_nan() || t < 0.0 {
            return Err(bad());
        }
        Ok(LinkEvent {
            a: a.parse().map_err(|_| bad())?,
            b: b.parse().map_err(|_| bad())?,
            at_ms: (t * 1000.0).round() as u64,
            restore,
        })
    }
}

/// Everything a run needs.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub topo: Topology,
    /// Default loss per direction on every link.
    pub loss: f64,
    /// Per-direction overrides: (from, to) → loss.
    pub link_loss: HashMap<(usize, usize), f64>,
    pub events: Vec<LinkEvent>,
    pub duration_ms: u64,
    pub seed: u64,
    pub params: Params,
    pub kind: IfaceKind,
    /// Steady-state measurements start here (default: half the run).
    pub measure_from_ms: Option<u64>,
    /// Mesh keys every node uses (empty: no authentication).
    pub keys: Vec<crate::auth::Key>,
    /// Nodes offering an uplink: node → (down, up) in 100 kbit/s.
    pub gateways: HashMap<usize, (u32, u32)>,
    /// How the other nodes choose a gateway (`None`: they don't).
    pub gateway_class: Option<GwClass>,
    /// Every node derives its LAN prefixes from this site (zero-config;
    /// originators stay `originator(i)`) and sends NODE_ID.
    pub zeroconf: Option<crate::zeroconf::Site>,
    /// Prefixes node i announces (configured).
    pub announce: HashMap<usize, Vec<crate::prefix::Prefix>>,
}

impl SimConfig {
    pub fn new(topo: Topology, duration_ms: u64, seed: u64) -> SimConfig {
        SimConfig {
            topo,
            loss: 0.0,
            link_loss: HashMap::new(),
            events: Vec::new(),
            duration_ms,
            seed,
            params: Params::default(),
            kind: IfaceKind::Wireless,
            measure_from_ms: None,
            keys: Vec::new(),
            gateways: HashMap::new(),
            gateway_class: Some(GwClass::default()),
            zeroconf: None,
            announce: HashMap::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    Link(usize),
    Timer(usize),
    Deliver { to: usize, from: usize, pkt: usize },
}

/// A fresh engine for node `i`.
fn new_engine(cfg: &SimConfig, i: usize, seed: u64, now: u64) -> Engine {
    let c = EngineConfig {
        originator: originator(i),
        announce: cfg.announce.get(&i).cloned().unwrap_or_default(),
        hostname: None,
        gateway_offer: cfg.gateways.get(&i).copied(),
        gateway_class: cfg.gateway_class,
        zeroconf: cfg.zeroconf.map(|site| {
            let mac = sim_mac(i);
            crate::engine::ZeroconfConfig {
                site,
                mac,
                node_id: crate::zeroconf::node_id(mac),
                derive_originator: false,
            }
        }),
        params: cfg.params.clone(),
    };
    let mut e = Engine::new(c, seed, Time(now));
    e.set_keys(cfg.keys.clone());
    e
}

/// The MAC zero-config derives from in the simulator, for node `i`.
pub fn sim_mac(i: usize) -> [u8; 6] {
    [0x02, 0, 0, 0, (i >> 8) as u8, i as u8]
}

/// Originator address of node `i`.
pub fn originator(i: usize) -> Ipv6Addr {
    Ipv6Addr::new(
        0xfd72,
        0x6f6f,
        0x7374,
        0,
        0,
        0,
        (i >> 16) as u16,
        (i & 0xffff) as u16 + 1,
    )
}

/// Link-local address of node `i`'s interface.
pub fn link_local(i: usize) -> Ipv6Addr {
    Ipv6Addr::new(
        0xfe80,
        0,
        0,
        0,
        0x0200,
        0x5eff,
        (i >> 16) as u16,
        (i & 0xffff) as u16 + 1,
    )
}

/// Node index of a simulated link-local address.
pub fn node_of_link_local(a: &Ipv6Addr) -> Option<usize> {
    let s = a.segments();
    if s[0] != 0xfe80 || s[4] != 0x0200 || s[5] != 0x5eff {
        return None;
    }
    let i = (usize::from(s[6]) << 16) | usize::from(s[7]);
    i.checked_sub(1)
}

pub struct Sim {
    pub cfg: SimConfig,
    pub engines: Vec<Engine>,
    adj: Vec<Vec<usize>>,
    /// Directed link state: (from, to) → up.
    up: FxHashMap<(usize, usize), bool>,
    queue: BinaryHeap<Reverse<(u64, u64, Ev)>>,
    packets: FxHashMap<usize, (Rc<Vec<u8>>, usize)>,
    next_pkt: usize,
    seq: u64,
    deadline: Vec<u64>,
    rng: SplitMix,
    pub now: u64,
    pub events_processed: u64,
    pub meter: measure::Meter,
    /// Each node's latest gateway plan, and how often it changed.
    pub plans: Vec<GatewayPlan>,
    pub gateway_changes: Vec<u32>,
}

impl Sim {
    pub fn new(cfg: SimConfig) -> Sim {
        let n = cfg.topo.n;
        let adj = cfg.topo.adjacency();
        let mut up = FxHashMap::default();
        for &(a, b) in &cfg.topo.edges {
            up.insert((a, b), true);
            up.insert((b, a), true);
        }
        let engines = (0..n)
            .map(|i| {
                let seed = cfg.seed.wrapping_mul(1_000_003).wrapping_add(i as u64);
                new_engine(&cfg, i, seed, 0)
            })
            .collect();
        let meter = measure::Meter::new(n, cfg.measure_from_ms.unwrap_or(cfg.duration_ms / 2));
        let mut s = Sim {
            rng: SplitMix::new(cfg.seed ^ 0x6d65_6469_756d),
            engines,
            adj,
            up,
            queue: BinaryHeap::new(),
            packets: FxHashMap::default(),
            next_pkt: 0,
            seq: 0,
            deadline: vec![u64::MAX; n],
            now: 0,
            events_processed: 0,
            meter,
            plans: vec![GatewayPlan::default(); n],
            gateway_changes: vec![0; n],
            cfg,
        };
        for (k, e) in s.cfg.events.clone().iter().enumerate() {
            s.push(e.at_ms, Ev::Link(k));
        }
        for i in 0..n {
            s.bring_up(i);
        }
        s
    }

    fn push(&mut self, at: u64, ev: Ev) {
        self.seq += 1;
        self.queue.push(Reverse((at, self.seq, ev)));
    }

    fn loss(&self, from: usize, to: usize) -> f64 {
        self.cfg
            .link_loss
            .get(&(from, to))
            .copied()
            .unwrap_or(self.cfg.loss)
    }

    pub fn link_up(&self, from: usize, to: usize) -> bool {
        self.up.get(&(from, to)).copied().unwrap_or(false)
    }

    /// Handles everything node `i` wants to do now.
    fn drain(&mut self, i: usize) {
        loop {
            match self.engines[i].poll_output() {
                Output::Transmit { bytes, .. } => {
                    self.meter.on_transmit(i, self.now, bytes.len());
                    let pkt = self.next_pkt;
                    self.next_pkt += 1;
                    let mut receivers = 0;
                    for k in 0..self.adj[i].len() {
                        let j = self.adj[i][k];
                        if !self.link_up(i, j) {
                            continue;
                        }
                        let loss = self.loss(i, j);
                        if loss > 0.0 && self.rng.unit() < loss {
                            continue;
                        }
                        receivers += 1;
                        self.push(
                            self.now + LATENCY_MS,
                            Ev::Deliver {
                                to: j,
                                from: i,
                                pkt,
                            },
                        );
                    }
                    if receivers > 0 {
                        self.packets.insert(pkt, (Rc::new(bytes), receivers));
                    }
                }
                Output::Routes(changes) => {
                    for c in &changes {
                        self.meter.on_route(i, self.now, c);
                    }
                    if !changes.is_empty() {
                        self.meter.routes_changed = true;
                    }
                }
                Output::Event(Event::NeighbourDown { .. }) => {
                    if self.now >= self.meter.measure_from {
                        self.meter.neighbour_losses += 1;
                    }
                }
                Output::Event(_) => {}
                Output::Gateways(plan) => {
                    if self.plans[i] != plan {
                        self.gateway_changes[i] += 1;
                    }
                    self.plans[i] = plan;
                }
                Output::Timeout(t) => {
                    let t = t.0.max(self.now);
                    if t != self.deadline[i] && t != u64::MAX {
                        self.deadline[i] = t;
                        self.push(t, Ev::Timer(i));
                    }
                    return;
                }
            }
        }
    }

    /// Runs until `until_ms` (inclusive of events at that time).
    pub fn run_until(&mut self, until_ms: u64) {
        while let Some(Reverse((t, _, _))) = self.queue.peek() {
            if *t > until_ms {
                break;
            }
            let Some(Reverse((t, _, ev))) = self.queue.pop() else {
                break;
            };
            self.now = t;
            self.events_processed += 1;
            match ev {
                Ev::Timer(i) => {
                    if self.deadline[i] != t {
                        continue;
                    }
                    self.deadline[i] = u64::MAX;
                    self.engines[i].handle_input(Time(t), Input::Timer);
                    self.drain(i);
                }
                Ev::Deliver { to, from, pkt } => {
                    let Some((bytes, left)) = self.packets.get_mut(&pkt) else {
                        continue;
                    };
                    *left -= 1;
                    let data = if *left == 0 {
                        let (b, _) = self.packets.remove(&pkt).unwrap_or_default();
                        Rc::try_unwrap(b).unwrap_or_else(|rc| (*rc).clone())
                    } else {
                        (**bytes).clone()
                    };
                    // A datagram in flight when its link was cut is lost.
                    if !self.link_up(from, to) {
                        continue;
                    }
                    let input = Input::Packet {
                        iface: IFACE,
                        src: link_local(from),
                        bytes: data,
                    };
                    self.engines[to].handle_input(Time(t), input);
                    self.drain(to);
                }
                Ev::Link(k) => {
                    let e = self.cfg.events[k];
                    if !e.restore {
                        let affected = measure::pairs_crossing(self, e.a, e.b);
                        self.meter.on_cut(e, affected);
                    }
                    self.up.insert((e.a, e.b), e.restore);
                    self.up.insert((e.b, e.a), e.restore);
                }
            }
            if self.meter.routes_changed {
                self.meter.routes_changed = false;
                if let Some(k) = self.meter.pending_cut() {
                    if measure::update_cut(self, k, t) {
                        self.meter.cuts[k].reroute_at = Some(t);
                    }
                }
            }
        }
        self.now = self.now.max(until_ms);
    }

    /// Replaces node `i`'s engine with a fresh one (a reboot: new random
    /// seqnos, empty tables). Its old routes are forgotten by the meter.
    pub fn restart_node(&mut self, i: usize, seed: u64) {
        self.engines[i] = new_engine(&self.cfg, i, seed, self.now);
        self.meter.forget_node(i);
        self.plans[i] = GatewayPlan::default();
        self.deadline[i] = u64::MAX;
        self.bring_up(i);
    }

    /// Gives node `i`'s engine its one wireless interface.
    fn bring_up(&mut self, i: usize) {
        let input = Input::InterfaceUp {
            iface: IFACE,
            name: "wlan0".into(),
            kind: self.cfg.kind,
            max_payload: MAX_PAYLOAD,
            link_local: link_local(i),
        };
        self.engines[i].handle_input(Time(self.now), input);
        self.drain(i);
    }

    /// Are all ordered pairs connected by working next-hop walks?
    pub fn all_pairs_reach(&self) -> bool {
        let n = self.cfg.topo.n;
        (0..n).all(|s| {
            (0..n).all(|d| s == d || matches!(measure::walk(self, s, d), measure::Walk::Reached(_)))
        })
    }

    /// Summary of the run so far.
    pub fn summary(&self) -> Summary {
        measure::summarise(self)
    }

    /// Runs the whole configured duration and summarises.
    pub fn run(mut self) -> Summary {
        self.run_until(self.cfg.duration_ms);
        measure::summarise(&self)
    }

    /// Offers (or withdraws) node `i`'s uplink now, as gateway mode `auto`
    /// does when the node's default route comes or goes.
    pub fn set_gateway_offer(&mut self, i: usize, offer: Option<(u32, u32)>) {
        self.engines[i].handle_input(Time(self.now), Input::SetGatewayOffer(offer));
        self.drain(i);
    }

    /// Where internet traffic from node `i` (sourced from its originator
    /// address) leaves the mesh, following every hop's gateway plan the way
    /// the kernel would: pins first, then the hop's own uplink (serving),
    /// then its own chosen gateway. `Err` on a loop or a dead end.
    pub fn internet_exit(&self, i: usize) -> Result<usize, String> {
        let src = crate::engine::originator_prefix(originator(i));
        let mut at = i;
        for _ in 0..=self.cfg.topo.n {
            let plan = &self.plans[at];
            let pinned = (at != i)
                .then(|| plan.pins.iter().find(|p| p.source == src))
                .flatten()
                .and_then(|p| plan.paths.iter().find(|g| g.gateway == p.gateway));
            let via = match (pinned, plan.serving, plan.own) {
                (Some(p), _, _) => p.via,
                (None, true, _) => return Ok(at),
                (None, false, Some(p)) => p.via,
                (None, false, None) => return Err(format!("no gateway at node {at}")),
            };
            at = node_of_link_local(&via).ok_or_else(|| format!("bad next hop {via}"))?;
        }
        Err(format!("internet traffic of node {i} loops"))
    }

    /// Next hop (node index) of node `i` toward node `d`.
    pub fn next_hop(&self, i: usize, d: usize) -> Option<usize> {
        self.engines[i]
            .next_hop(&originator(d))
            .and_then(|(_, ll)| node_of_link_local(&ll))
    }
}

/// Applies a route change to a per-node view (used by the meter).
pub(crate) fn host_target(c: &RouteChange) -> Option<(Ipv6Addr, Option<Ipv6Addr>)> {
    match c {
        RouteChange::Set(r) => match r.dst.addr() {
            std::net::IpAddr::V6(a) if r.dst.is_host() => Some((a, Some(r.via))),
            _ => None,
        },
        RouteChange::Remove(p) => match p.addr() {
            std::net::IpAddr::V6(a) if p.is_host() => Some((a, None)),
            _ => None,
        },
    }
}

/// `roost sim` entry: parses the arguments' values and prints one JSON
/// line. `keys`: mesh keys every node uses (`--key-file`).
pub fn cli(
    topo: &str,
    loss: f64,
    cuts: &[String],
    restores: &[String],
    duration_s: f64,
    seed: u64,
    keys: Vec<crate::auth::Key>,
) -> Result<String, String> {
    let topo = Topology::parse(topo, seed)?;
    if !(0.0..=1.0).contains(&loss) {
        return Err(format!("--loss {loss}: must be between 0 and 1"));
    }
    let mut cfg = SimConfig::new(topo, (duration_s * 1000.0).round() as u64, seed);
    cfg.loss = loss;
    cfg.keys = keys;
    for c in cuts {
        cfg.events.push(LinkEvent::parse(c, false)?);
    }
    for r in restores {
        cfg.events.push(LinkEvent::parse(r, true)?);
    }
    for e in &cfg.events {
        if !cfg.topo.edges.contains(&(e.a.min(e.b), e.a.max(e.b))) {
            return Err(format!("link {}-{} is not in the topology", e.a, e.b));
        }
    }
    let mut s = Sim::new(cfg);
    s.run_until(s.cfg.duration_ms);
    let summary = s.summary();
    // The process ends right after this: freeing millions of small
    // allocations one by one would only cost time (seconds at 1000 nodes).
    std::mem::forget(s);
    serde_json::to_string(&summary).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests;
