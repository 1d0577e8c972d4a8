//! Measurements: convergence, loops and blackholes by walking next hops,
//! path quality against an oracle built from the true link losses, control
//! overhead, next-hop churn, and rerouting time after cuts.

use std::collections::{BinaryHeap, HashMap};
use std::net::Ipv6Addr;

use super::{host_target, LinkEvent, Sim};
use crate::engine::{tq, RouteChange, TQ_MIN_USABLE};

/// Data of one cut.
#[derive(Debug, Clone)]
pub struct CutRecord {
    pub event: LinkEvent,
    pub affected: Vec<(usize, usize)>,
    /// When each affected pair first had a working path again.
    pub pair_back: Vec<Option<u64>>,
    pub reroute_at: Option<u64>,
}

#[derive(Debug)]
pub struct Meter {
    n: usize,
    pub measure_from: u64,
    pub neighbour_losses: u64,
    tx_bytes: Vec<u64>,
    tx_packets: Vec<u64>,
    via: Vec<HashMap<Ipv6Addr, Ipv6Addr>>,
    routed: usize,
    pub converged_at: Option<u64>,
    pub nexthop_changes: u64,
    pub routes_changed: bool,
    pub cuts: Vec<CutRecord>,
}

impl Meter {
    pub fn new(n: usize, measure_from: u64) -> Meter {
        Meter {
            n,
            measure_from,
            neighbour_losses: 0,
            tx_bytes: vec![0; n],
            tx_packets: vec![0; n],
            via: vec![HashMap::new(); n],
            routed: 0,
            converged_at: None,
            nexthop_changes: 0,
            routes_changed: false,
            cuts: Vec::new(),
        }
    }

    pub fn on_transmit(&mut self, i: usize, now: u64, payload: usize) {
        if now >= self.measure_from {
            self.tx_bytes[i] += payload as u64 + crate::engine::FRAME_OVERHEAD;
            self.tx_packets[i] += 1;
        }
    }

    pub fn on_route(&mut self, i: usize, now: u64, c: &RouteChange) {
        let Some((dst, via)) = host_target(c) else {
            return;
        };
        let prev = match via {
            Some(v) => self.via[i].insert(dst, v),
            None => self.via[i].remove(&dst),
        };
        match (prev.is_some(), via.is_some()) {
            (false, true) => self.routed += 1,
            (true, false) => self.routed -= 1,
            _ => {}
        }
        if now >= self.measure_from && prev != via {
            self.nexthop_changes += 1;
        }
        if self.converged_at.is_none() && self.routed == self.n * (self.n - 1) {
            self.converged_at = Some(now);
        }
    }

    /// A node restarted: its installed routes are gone.
    pub fn forget_node(&mut self, i: usize) {
        self.routed -= self.via[i].len();
        self.via[i].clear();
    }

    pub fn on_cut(&mut self, event: LinkEvent, affected: Vec<(usize, usize)>) {
        self.cuts.push(CutRecord {
            pair_back: vec![None; affected.len()],
            event,
            affected,
            reroute_at: None,
        });
    }

    /// Index of the newest cut still waiting to be rerouted.
    pub fn pending_cut(&self) -> Option<usize> {
        let k = self.cuts.len().checked_sub(1)?;
        self.cuts[k].reroute_at.is_none().then_some(k)
    }
}

/// Result of following next hops from a source to a destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Walk {
    Reached(Vec<usize>),
    Loop,
    Blackhole,
}

pub fn walk(sim: &Sim, s: usize, d: usize) -> Walk {
    let n = sim.cfg.topo.n;
    let mut path = vec![s];
    let mut seen = vec![false; n];
    let mut cur = s;
    seen[s] = true;
    while cur != d {
        let Some(nh) = sim.next_hop(cur, d) else {
            return Walk::Blackhole;
        };
        if !sim.link_up(cur, nh) {
            return Walk::Blackhole;
        }
        if seen[nh] {
            return Walk::Loop;
        }
        seen[nh] = true;
        path.push(nh);
        cur = nh;
    }
    Walk::Reached(path)
}

/// Pairs whose current path uses the link a–b (either direction).
pub fn pairs_crossing(sim: &Sim, a: usize, b: usize) -> Vec<(usize, usize)> {
    let n = sim.cfg.topo.n;
    let mut out = Vec::new();
    for s in 0..n {
        for d in 0..n {
            if s == d {
                continue;
            }
            if let Walk::Reached(p) = walk(sim, s, d) {
                if p.windows(2)
                    .any(|w| (w[0] == a && w[1] == b) || (w[0] == b && w[1] == a))
                {
                    out.push((s, d));
                }
            }
        }
    }
    out
}

/// Marks the affected pairs of cut `k` that have a working path now;
/// returns true when all have.
pub fn update_cut(sim: &mut Sim, k: usize, now: u64) -> bool {
    let pending: Vec<usize> = (0..sim.meter.cuts[k].affected.len())
        .filter(|&i| sim.meter.cuts[k].pair_back[i].is_none())
        .collect();
    let mut back = Vec::new();
    for i in pending {
        let (s, d) = sim.meter.cuts[k].affected[i];
        if matches!(walk(sim, s, d), Walk::Reached(_)) {
            back.push(i);
        }
    }
    let c = &mut sim.meter.cuts[k];
    for i in back {
        c.pair_back[i] = Some(now);
    }
    c.pair_back.iter().all(|b| b.is_some())
}

fn q(loss: f64) -> u8 {
    ((1.0 - loss) * 255.0).round().clamp(0.0, 255.0) as u8
}

/// Link TQ of the directed link u→v from the true losses.
fn oracle_link(sim: &Sim, u: usize, v: usize) -> u8 {
    if !sim.link_up(u, v) || !sim.link_up(v, u) {
        return 0;
    }
    tq::link(q(sim.loss(u, v)), q(sim.loss(v, u)))
}

/// Best achievable TQ from every node to `d` (max-product Dijkstra).
fn oracle_to(sim: &Sim, adj: &[Vec<usize>], d: usize) -> Vec<u8> {
    let hp = sim.cfg.params.hop_penalty;
    let sp = sim.cfg.params.kind(sim.cfg.kind).same_iface_penalty;
    let mut best = vec![0u8; adj.len()];
    best[d] = 255;
    let mut heap = BinaryHeap::new();
    heap.push((255u8, d));
    while let Some((t, v)) = heap.pop() {
        if t < best[v] {
            continue;
        }
        // What v advertises: forwarders re-send on their one interface.
        let adv = if v == d { t } else { tq::same_iface(t, sp) };
        for &u in &adj[v] {
            let cand = tq::path(adv, oracle_link(sim, u, v), hp);
            if cand > best[u] {
                best[u] = cand;
                heap.push((cand, u));
            }
        }
    }
    best
}

fn path_tq(sim: &Sim, path: &[usize]) -> u8 {
    let hp = sim.cfg.params.hop_penalty;
    let sp = sim.cfg.params.kind(sim.cfg.kind).same_iface_penalty;
    let mut t = 255u8;
    for (i, w) in path.windows(2).rev().enumerate() {
        let adv = if i == 0 { t } else { tq::same_iface(t, sp) };
        t = tq::path(adv, oracle_link(sim, w[0], w[1]), hp);
    }
    t
}

fn r3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The one-line result of a run. Only simulated quantities.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Summary {
    pub topo: String,
    pub nodes: usize,
    pub links: usize,
    pub seed: u64,
    pub loss: f64,
    pub duration_s: f64,
    pub converged_ms: Option<u64>,
    pub pairs: usize,
    pub reached: usize,
    pub loops: usize,
    pub blackholes: usize,
    /// Pairs with no usable path in the true graph: disconnected, or so
    /// far apart that the best possible TQ is below TQ_MIN_USABLE (5).
    /// Excluded from blackholes.
    pub disconnected: usize,
    /// Mean of (oracle TQ of the chosen path / best oracle TQ) over reached pairs.
    pub path_quality: f64,
    /// Share of reached pairs within 5% of the oracle's best TQ.
    pub optimal_share: f64,
    pub measured_from_s: f64,
    pub bytes_per_node_s: f64,
    pub packets_per_node_s: f64,
    pub nexthop_changes_per_node_min: f64,
    /// Neighbours declared lost during the measured span.
    pub neighbour_losses: u64,
    pub cuts: Vec<CutSummary>,
    pub events: u64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct CutSummary {
    pub link: String,
    pub at_s: f64,
    pub affected_pairs: usize,
    /// Time from the cut until every affected pair had a working path again.
    pub reroute_ms: Option<u64>,
    /// Median over affected pairs of the time until that pair had a working
    /// path again (pairs never back count as infinite).
    pub reroute_median_ms: Option<u64>,
}

pub fn summarise(sim: &Sim) -> Summary {
    let n = sim.cfg.topo.n;
    let adj = sim.cfg.topo.adjacency();
    let (mut reached, mut loops, mut blackholes, mut disconnected) = (0, 0, 0, 0);
    let (mut quality, mut optimal) = (0.0f64, 0usize);
    for d in 0..n {
        let best = oracle_to(sim, &adj, d);
        for (s, &best_s) in best.iter().enumerate() {
            if s == d {
                continue;
            }
            match walk(sim, s, d) {
                Walk::Reached(p) => {
                    reached += 1;
                    let t = path_tq(sim, &p);
                    let b = best_s.max(1);
                    quality += f64::from(t) / f64::from(b);
                    if f64::from(t) >= 0.95 * f64::from(b) {
                        optimal += 1;
                    }
                }
                Walk::Loop => loops += 1,
                Walk::Blackhole if best_s < TQ_MIN_USABLE => disconnected += 1,
                Walk::Blackhole => blackholes += 1,
            }
        }
    }
    let m = &sim.meter;
    let span_s = (sim.now.saturating_sub(m.measure_from)) as f64 / 1000.0;
    let per_node = |v: &[u64]| {
        if span_s > 0.0 {
            v.iter().sum::<u64>() as f64 / n as f64 / span_s
        } else {
            0.0
        }
    };
    Summary {
        topo: sim.cfg.topo.name.clone(),
        nodes: n,
        links: sim.cfg.topo.edges.len(),
        seed: sim.cfg.seed,
        loss: sim.cfg.loss,
        duration_s: sim.cfg.duration_ms as f64 / 1000.0,
        converged_ms: m.converged_at,
        pairs: n * (n - 1),
        reached,
        loops,
        blackholes,
        disconnected,
        path_quality: if reached > 0 {
            r3(quality / reached as f64)
        } else {
            0.0
        },
        optimal_share: if reached > 0 {
            r3(optimal as f64 / reached as f64)
        } else {
            0.0
        },
        measured_from_s: m.measure_from as f64 / 1000.0,
        bytes_per_node_s: r3(per_node(&m.tx_bytes)),
        packets_per_node_s: r3(per_node(&m.tx_packets)),
        nexthop_changes_per_node_min: if span_s > 0.0 {
            r3(m.nexthop_changes as f64 / n as f64 / (span_s / 60.0))
        } else {
            0.0
        },
        neighbour_losses: m.neighbour_losses,
        cuts: m
            .cuts
            .iter()
            .map(|c| CutSummary {
                link: format!("{}-{}", c.event.a, c.event.b),
                at_s: c.event.at_ms as f64 / 1000.0,
                affected_pairs: c.affected.len(),
                reroute_ms: c.reroute_at.map(|t| t - c.event.at_ms),
                reroute_median_ms: {
                    let mut v: Vec<u64> =
                        c.pair_back.iter().map(|b| b.unwrap_or(u64::MAX)).collect();
                    v.sort();
                    v.get(v.len() / 2)
                        .filter(|t| **t != u64::MAX)
                        .map(|t| t - c.event.at_ms)
                },
            })
            .collect(),
        events: sim.events_processed,
    }
}
