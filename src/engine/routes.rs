//! The desired routing table: every routed originator's host prefix and
//! announced prefixes, with overlaps resolved deterministically.
//!
//! * The same prefix from several originators: the lowest originator
//!   address wins (everywhere in the mesh the same one, whatever the
//!   TQs), and a prefix this node announces is never routed elsewhere.
//! * A more or less specific prefix from another originator: both are
//!   installed and the kernel's longest-prefix match decides.
//!
//! Each is reported once per change (`Event::PrefixConflict`,
//! `Event::PrefixOverlap`).

use std::collections::{BTreeMap, BTreeSet};

use super::fxhash::FxHashMap;
use std::net::Ipv6Addr;

use super::api::{Event, Route, RouteChange};
use super::originator::Originator;
use super::originator_prefix;
use crate::prefix::Prefix;

/// Kernel metric of every Roost route (one route per destination).
pub const ROUTE_METRIC: u32 = 100;

#[derive(Debug, Default)]
pub struct RouteTable {
    installed: BTreeMap<Prefix, Route>,
    owners: FxHashMap<Prefix, BTreeSet<Ipv6Addr>>,
    claims: FxHashMap<Ipv6Addr, Vec<Prefix>>,
    dirty: BTreeSet<Prefix>,
    /// Last reported conflict per prefix, to log each change once.
    conflicts: FxHashMap<Prefix, Ipv6Addr>,
    /// Installed prefixes that are not host routes (overlap candidates).
    nets: BTreeSet<Prefix>,
    /// Overlaps reported: (less specific, more specific).
    overlaps: BTreeSet<(Prefix, Prefix)>,
}

impl RouteTable {
    fn set_claims(&mut self, addr: Ipv6Addr, new: Vec<Prefix>) {
        let old = self.claims.remove(&addr).unwrap_or_default();
        for p in &old {
            if !new.contains(p) {
                if let Some(s) = self.owners.get_mut(p) {
                    s.remove(&addr);
                    if s.is_empty() {
                        self.owners.remove(p);
                    }
                }
            }
            self.dirty.insert(*p);
        }
        for p in &new {
            self.owners.entry(*p).or_default().insert(addr);
            self.dirty.insert(*p);
        }
        if !new.is_empty() {
            self.claims.insert(addr, new);
        }
    }

    /// An originator's route or announcements may have changed.
    pub fn originator_changed(&mut self, o: &Originator) {
        let mut claims = vec![originator_prefix(o.addr)];
        for p in &o.announced {
            if !claims.contains(p) {
                claims.push(*p);
            }
        }
        self.set_claims(o.addr, claims);
    }

    pub fn originator_removed(&mut self, o: &Originator) {
        self.set_claims(o.addr, Vec::new());
    }

    /// Re-decide `p` at the next commit (e.g. this node stopped or started
    /// announcing it).
    pub fn touch(&mut self, p: Prefix) {
        self.dirty.insert(p);
    }

    /// Installed routes of other originators that overlap `r`'s
    /// destination (one contains the other), as (less, more specific).
    fn overlaps_of(&self, r: &Route) -> Vec<((Prefix, Prefix), Ipv6Addr)> {
        let covers = |a: &Prefix, b: &Prefix| a.len() <= b.len() && a.contains(b.addr());
        let check = |q: &Prefix| -> Option<((Prefix, Prefix), Ipv6Addr)> {
            let other = self.installed.get(q)?;
            if *q == r.dst || other.originator == r.originator {
                return None;
            }
            if covers(q, &r.dst) {
                Some(((*q, r.dst), other.originator))
            } else if covers(&r.dst, q) {
                Some(((r.dst, *q), other.originator))
            } else {
                None
            }
        };
        if r.dst.is_host() {
            self.nets.iter().filter_map(check).collect()
        } else {
            self.installed.keys().filter_map(check).collect()
        }
    }

    /// Recomputes dirty prefixes; returns the changes since the last commit.
    pub fn commit(
        &mut self,
        origs: &FxHashMap<Ipv6Addr, Originator>,
        own: Ipv6Addr,
        own_announce: &[Prefix],
        event: &mut impl FnMut(Event),
    ) -> Vec<RouteChange> {
        let mut changes = Vec::new();
        let own_host = originator_prefix(own);
        for p in std::mem::take(&mut self.dirty) {
            let local = p == own_host || own_announce.contains(&p);
            let mut best: Option<(&Originator, u8)> = None;
            let mut routed = 0;
            if let Some(owners) = self.owners.get(&p) {
                for a in owners {
                    let Some(o) = origs.get(a) else { continue };
                    if o.best.is_none() {
                        continue;
                    }
                    routed += 1;
                    // Owners are sorted: the first routed one is the lowest.
                    if best.is_none() {
                        best = Some((o, o.best_tq));
                    }
                }
            }
            if let Some((b, _)) = best {
                if local || routed > 1 {
                    let chosen = if local { own } else { b.addr };
                    let other = if local {
                        b.addr
                    } else {
                        self.owners
                            .get(&p)
                            .and_then(|s| s.iter().find(|a| **a != b.addr).copied())
                            .unwrap_or(b.addr)
                    };
                    if self.conflicts.insert(p, chosen) != Some(chosen) {
                        event(Event::PrefixConflict {
                            prefix: p,
                            chosen,
                            other,
                        });
                    }
                }
            } else if local {
                // Nobody else claims it (any more): report the next one.
                self.conflicts.remove(&p);
            }
            let want = match best {
                Some((o, t)) if !local => o.best.map(|(iface, via)| Route {
                    dst: p,
                    via,
                    iface,
                    metric: ROUTE_METRIC,
                    originator: o.addr,
                    tq: t,
                }),
                _ => None,
            };
            match (want, self.installed.get(&p)) {
                (Some(w), Some(cur)) if *cur == w => {}
                (Some(w), Some(cur))
                    if cur.via == w.via
                        && cur.iface == w.iface
                        && cur.originator == w.originator =>
                {
                    // Only the TQ moved: no kernel change needed.
                    self.installed.insert(p, w);
                }
                (Some(w), _) => {
                    self.installed.insert(p, w.clone());
                    if !p.is_host() {
                        self.nets.insert(p);
                    }
                    for (pair, other) in self.overlaps_of(&w) {
                        if self.overlaps.insert(pair) {
                            let (less, more) = pair;
                            let (o_less, o_more) = if less == p {
                                (w.originator, other)
                            } else {
                                (other, w.originator)
                            };
                            event(Event::PrefixOverlap {
                                prefix: less,
                                originator: o_less,
                                more_specific: more,
                                other: o_more,
                            });
                        }
                    }
                    changes.push(RouteChange::Set(w));
                }
                (None, Some(_)) => {
                    self.installed.remove(&p);
                    self.nets.remove(&p);
                    self.conflicts.remove(&p);
                    self.overlaps.retain(|(a, b)| *a != p && *b != p);
                    changes.push(RouteChange::Remove(p));
                }
                (None, None) => {}
            }
        }
        changes
    }

    pub fn all(&self) -> Vec<Route> {
        self.installed.values().cloned().collect()
    }
}
