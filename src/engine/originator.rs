//! Per-originator state: the alternatives heard through each neighbour,
//! sequence-number windows with reboot protection, the feasibility distance
//! that keeps routes loop-free, and the next-hop switching rule.

use std::net::Ipv6Addr;

use super::api::{IfaceId, Time};
use super::params::{Params, SEQNO_WINDOW, TQ_AVG_RING, TQ_MIN_USABLE};
use super::{seqno, tq};
use crate::prefix::Prefix;

/// An alternative this many seqnos behind the newest, silent for an OGM
/// interval, is stale.
const SEQNO_LAG: i32 = 3;

/// Alternatives kept per originator: enough to fail over, bounded memory.
pub const MAX_ALTS: usize = 6;

/// A neighbour: (interface, link-local address).
pub type NeighKey = (IfaceId, Ipv6Addr);

/// What an originator's route looks like through one neighbour.
#[derive(Debug, Clone)]
pub struct Alt {
    pub seqno: u32,
    ring: [u8; TQ_AVG_RING],
    len: u8,
    pos: u8,
    /// The TQ this neighbour advertised last (feasibility is checked on it).
    pub last_adv: u8,
    pub updated: Time,
    pub ttl: u8,
    /// Link TQ of its neighbour when last recorded (for eviction only).
    link: u8,
}

impl Alt {
    fn new(seqno: u32, adv: u8, ttl: u8, now: Time) -> Alt {
        let mut a = Alt {
            seqno,
            ring: [0; TQ_AVG_RING],
            len: 0,
            pos: 0,
            last_adv: adv,
            updated: now,
            ttl,
            link: 0,
        };
        a.reset(adv);
        a
    }

    /// Adds a sample from a new flood round to the averaging ring.
    fn push(&mut self, adv: u8) {
        self.ring[usize::from(self.pos)] = adv;
        self.pos = (self.pos + 1) % TQ_AVG_RING as u8;
        self.len = (self.len + 1).min(TQ_AVG_RING as u8);
        self.last_adv = adv;
    }

    /// A triggered update replaces history: the route itself changed.
    fn reset(&mut self, adv: u8) {
        self.ring = [adv; TQ_AVG_RING];
        self.len = 1;
        self.pos = 1 % TQ_AVG_RING as u8;
        self.last_adv = adv;
    }

    /// What keeping this alternative is worth: advertised × link TQ.
    fn worth(&self) -> u32 {
        u32::from(self.avg()) * u32::from(self.link)
    }

    /// Average advertised TQ over the ring; 0 after a retraction.
    pub fn avg(&self) -> u8 {
        if self.last_adv == 0 || self.len == 0 {
            return 0;
        }
        let n = usize::from(self.len);
        let sum: u32 = self.ring[..n].iter().map(|&v| u32::from(v)).sum();
        (sum / n as u32) as u8
    }
}

/// What a neighbour advertised for an originator.
#[derive(Debug, Clone, Copy)]
pub struct Heard {
    pub seqno: u32,
    pub tq: u8,
    pub ttl: u8,
    /// A triggered update (replaces the averaging history).
    pub update: bool,
}

/// How a received seqno relates to what we know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqnoCheck {
    /// Newer than anything seen: a new flood round.
    New,
    /// Within the window behind the newest.
    Known,
    /// Out of window, accepted as the originator rebooting.
    Reset,
    /// Out of window inside the reset protection time: drop.
    Protected,
}

#[derive(Debug, Clone)]
pub struct Originator {
    pub addr: Ipv6Addr,
    pub newest: u32,
    last_reset: Option<Time>,
    pub alts: Vec<(NeighKey, Alt)>,
    pub best: Option<NeighKey>,
    pub best_tq: u8,
    /// When the current next hop was chosen.
    best_since: Time,
    /// Feasibility distance: (seqno, best TQ we advertised for it).
    pub fd: Option<(u32, u8)>,
    /// Newest seqno we flooded onward.
    pub forwarded: Option<u32>,
    /// TQ in our last advertisement (0: retracted or never).
    pub advertised_tq: u8,
    /// Raw TLVs from the newest OGM that carried them, re-sent verbatim.
    pub tlvs: Vec<u8>,
    tlv_seqno: Option<u32>,
    /// The seqno whose OGM changed its gateway offer, gateway choice or
    /// announcements.
    pub tlvs_changed_at: Option<u32>,
    pub announced: Vec<Prefix>,
    pub hostname: Option<String>,
    pub gateway: Option<(u32, u32)>,
    pub last_seen: Time,
    pub unreachable_since: Option<Time>,
    pub last_request: Option<Time>,
    /// Its newest OGM said it restarted recently (passed on in updates).
    pub restarted: bool,
    /// Its neighbours and link TQs, from its last NEIGHBOURS TLV.
    pub topology: Vec<(Ipv6Addr, u8)>,
    /// The gateway it chose, from its last GW_CHOICE TLV (kept across OGMs
    /// without one).
    pub gw_choice: Option<Ipv6Addr>,
    /// Its node id, from its last NODE_ID TLV (zero-config nodes).
    pub node_id: Option<[u8; 8]>,
    /// The last OGM of another node claiming this address that we passed
    /// on: (its node id, seqno).
    pub twin_forwarded: Option<([u8; 8], u32)>,
}

impl Originator {
    pub fn new(addr: Ipv6Addr, seqno: u32, now: Time) -> Originator {
        Originator {
            addr,
            newest: seqno,
            last_reset: None,
            alts: Vec::new(),
            best: None,
            best_tq: 0,
            best_since: now,
            fd: None,
            forwarded: None,
            advertised_tq: 0,
            tlvs: Vec::new(),
            tlv_seqno: None,
            tlvs_changed_at: None,
            announced: Vec::new(),
            hostname: None,
            gateway: None,
            last_seen: now,
            unreachable_since: Some(now),
            last_request: None,
            restarted: false,
            topology: Vec::new(),
            gw_choice: None,
            node_id: None,
            twin_forwarded: None,
        }
    }

    /// Classifies `s` against the newest seqno, applying BATMAN-style reboot
    /// protection: an out-of-window seqno is taken as a reboot at most once
    /// per `reset_protection_ms`, unless the OGM says its originator has just
    /// restarted (`restarted`), which is always believed (authentication,
    /// in the hardening release, is what makes that claim trustworthy).
    pub fn check_seqno(&mut self, s: u32, now: Time, p: &Params, restarted: bool) -> SeqnoCheck {
        let d = seqno::diff(s, self.newest);
        if d > 0 && d <= i32::from(u16::MAX) {
            self.newest = s;
            return SeqnoCheck::New;
        }
        if d <= 0 && d >= -(SEQNO_WINDOW as i32) {
            return SeqnoCheck::Known;
        }
        let protected = self
            .last_reset
            .is_some_and(|t| now.since(t) < u64::from(p.reset_protection_ms));
        if protected && !restarted {
            return SeqnoCheck::Protected;
        }
        self.last_reset = Some(now);
        self.newest = s;
        self.fd = None;
        self.forwarded = None;
        self.tlv_seqno = None;
        self.alts.clear();
        SeqnoCheck::Reset
    }

    /// Records what neighbour `key` advertised. `update` marks a triggered
    /// update (replaces the averaging history). Returns false if the
    /// information is older than what we have from that neighbour, or not
    /// kept (a retraction of nothing, or weaker than every kept alternative).
    pub fn record(
        &mut self,
        key: NeighKey,
        heard: Heard,
        now: Time,
        link_tq: &impl Fn(&NeighKey) -> u8,
    ) -> bool {
        let Heard {
            seqno: s,
            tq: adv,
            ttl,
            update,
        } = heard;
        self.last_seen = now;
        let full = self.alts.len() >= MAX_ALTS;
        match self.alts.iter_mut().find(|(k, _)| *k == key) {
            None if adv == 0 => false,
            None if full => {
                // Full: replace the weakest alternative (advertised TQ times
                // link TQ) that we do not route through.
                let best = self.best;
                let lt = link_tq(&key);
                let new_worth = u32::from(adv) * u32::from(lt);
                let weakest = self
                    .alts
                    .iter_mut()
                    .filter(|(k, _)| Some(*k) != best)
                    .min_by_key(|(k, a)| (a.worth(), *k));
                match weakest {
                    Some(w) if w.1.worth() < new_worth => {
                        *w = (key, Alt::new(s, adv, ttl, now));
                        w.1.link = lt;
                        true
                    }
                    _ => false,
                }
            }
            None => {
                let mut a = Alt::new(s, adv, ttl, now);
                a.link = link_tq(&key);
                self.alts.push((key, a));
                true
            }
            Some((_, a)) => {
                let d = seqno::diff(s, a.seqno);
                if d < 0 {
                    return false;
                }
                if d > 0 && !update && adv > 0 && a.last_adv > 0 {
                    a.push(adv);
                } else {
                    a.reset(adv);
                }
                a.seqno = s;
                a.updated = now;
                a.ttl = ttl;
                a.link = link_tq(&key);
                true
            }
        }
    }

    /// Stores TLVs if they come from a seqno at least as new as the stored ones.
    /// Returns true when the stored bytes changed.
    pub fn offer_tlvs(&mut self, s: u32, bytes: &[u8]) -> bool {
        if self.tlv_seqno.is_some_and(|t| seqno::newer(t, s)) {
            return false;
        }
        self.tlv_seqno = Some(s);
        if self.tlvs == bytes {
            return false;
        }
        self.tlvs = bytes.to_vec();
        true
    }

    pub fn feasible(&self, a: &Alt) -> bool {
        match self.fd {
            None => true,
            Some((fs, ftq)) => seqno::newer(a.seqno, fs) || (a.seqno == fs && a.last_adv >= ftq),
        }
    }

    /// Is the alternative usable apart from feasibility? It must not be
    /// retracted, must have been confirmed within the route timeout, and
    /// must not have fallen `SEQNO_LAG` seqnos behind without news for an
    /// OGM interval: a neighbour that stopped passing on the originator's
    /// floods would otherwise keep us (and everyone downstream, since we
    /// only forward floods from our next hop) on stale information. Under
    /// loss a round often misses a far node, hence the slack.
    fn usable(&self, a: &Alt, now: Time, p: &Params) -> bool {
        let age = now.since(a.updated);
        a.avg() > 0
            && age <= u64::from(p.route_timeout_ms)
            && (seqno::diff(self.newest, a.seqno) < SEQNO_LAG
                || age <= u64::from(p.ogm_interval_ms))
    }

    /// Path TQ through each usable alternative that is feasible or is the
    /// current next hop. (Keeping the current next hop when its advertised
    /// TQ drops below the feasibility distance avoids churn; the caller asks
    /// the originator for a new seqno, which restores feasibility.)
    fn candidates<'a>(
        &'a self,
        now: Time,
        p: &'a Params,
        link_tq: &'a impl Fn(&NeighKey) -> u8,
    ) -> impl Iterator<Item = (NeighKey, u8)> + 'a {
        self.alts.iter().filter_map(move |(k, a)| {
            if !self.usable(a, now, p) || !(self.feasible(a) || Some(*k) == self.best) {
                return None;
            }
            let t = tq::path(a.avg(), link_tq(k), p.hop_penalty);
            (t >= TQ_MIN_USABLE).then_some((*k, t))
        })
    }

    /// May a flood copy from `key` (not our next hop) be passed on? Yes if
    /// that alternative is feasible and its path TQ is within the switching
    /// margin of our best.
    pub fn forwardable_from(&self, key: &NeighKey, link_tq: u8, p: &Params) -> bool {
        let Some((_, a)) = self.alts.iter().find(|(k, _)| k == key) else {
            return false;
        };
        let t = tq::path(a.avg(), link_tq, p.hop_penalty);
        self.feasible(a)
            && t >= TQ_MIN_USABLE
            && t.saturating_add(p.switch_margin.max(self.best_tq / 8)) >= self.best_tq
    }

    /// Is a new seqno worth asking for? Yes when we route through an
    /// unfeasible alternative, or have no route but usable unfeasible ones.
    pub fn wants_seqno(&self, now: Time, p: &Params) -> bool {
        match self.best {
            Some(b) => self.alts.iter().any(|(k, a)| *k == b && !self.feasible(a)),
            None => self
                .alts
                .iter()
                .any(|(_, a)| self.usable(a, now, p) && !self.feasible(a)),
        }
    }

    /// Chooses the next hop. Switching rule: keep the current next hop while
    /// it is usable, unless another beats it by `switch_margin` TQ points and
    /// by 1/8 of the current TQ. A route younger than `settle_ms` (just
    /// learned or just switched, when better news may still be arriving)
    /// yields to anything 2 points better. Without a usable current next
    /// hop, take the best (ties: lowest key). Returns true if the next hop
    /// or its TQ changed.
    pub fn select(&mut self, now: Time, p: &Params, link_tq: &impl Fn(&NeighKey) -> u8) -> bool {
        let mut best: Option<(NeighKey, u8)> = None;
        let mut current: Option<u8> = None;
        for (k, t) in self.candidates(now, p, link_tq) {
            if Some(k) == self.best {
                current = Some(t);
            }
            if best.is_none_or(|(bk, bt)| t > bt || (t == bt && k < bk)) {
                best = Some((k, t));
            }
        }
        let young = now.since(self.best_since) < u64::from(p.settle_ms);
        let chosen = match (self.best, current, best) {
            (Some(cur), Some(ct), Some((bk, bt))) if bk != cur => {
                let margin = if young {
                    2
                } else {
                    p.switch_margin.max(ct / 8)
                };
                if bt >= ct.saturating_add(margin) {
                    Some((bk, bt))
                } else {
                    Some((cur, ct))
                }
            }
            (_, _, b) => b,
        };
        let (nb, nt) = match chosen {
            Some((k, t)) => (Some(k), t),
            None => (None, 0),
        };
        let changed = nb != self.best || nt != self.best_tq;
        if nb.is_none() && self.best.is_some() {
            self.unreachable_since = Some(now);
        } else if nb.is_some() {
            self.unreachable_since = None;
        }
        if nb != self.best {
            self.best_since = now;
        }
        self.best = nb;
        self.best_tq = nt;
        changed
    }

    /// Notes that we advertised `tq` for `s`; raises the feasibility distance.
    pub fn advertised(&mut self, s: u32, tq: u8) {
        self.advertised_tq = tq;
        if tq == 0 {
            return;
        }
        self.fd = match self.fd {
            Some((fs, ft)) if fs == s => Some((fs, ft.max(tq))),
            Some((fs, ft)) if seqno::newer(fs, s) => Some((fs, ft)),
            _ => Some((s, tq)),
        };
    }

    /// Seqno of the alternative we route through (what we re-advertise).
    pub fn best_seqno(&self) -> u32 {
        self.best
            .and_then(|b| self.alts.iter().find(|(k, _)| *k == b))
            .map(|(_, a)| a.seqno)
            .unwrap_or(self.newest)
    }

    pub fn best_ttl(&self) -> u8 {
        self.best
            .and_then(|b| self.alts.iter().find(|(k, _)| *k == b))
            .map(|(_, a)| a.ttl)
            .unwrap_or(0)
    }

    /// Forgets everything learned through one neighbour.
    pub fn forget(&mut self, key: &NeighKey) -> bool {
        let before = self.alts.len();
        self.alts.retain(|(k, _)| k != key);
        before != self.alts.len()
    }

    /// Drops alternatives not updated within the route timeout.
    pub fn expire(&mut self, now: Time, p: &Params) -> bool {
        let before = self.alts.len();
        self.alts
            .retain(|(_, a)| now.since(a.updated) <= u64::from(p.route_timeout_ms));
        before != self.alts.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(seqno: u32, tq: u8, ttl: u8, update: bool) -> Heard {
        Heard {
            seqno,
            tq,
            ttl,
            update,
        }
    }

    fn key(i: u8) -> NeighKey {
        (1, Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, u16::from(i)))
    }

    fn o() -> Originator {
        Originator::new(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 9), 100, Time(0))
    }

    #[test]
    fn seqno_window_and_reset_protection() {
        let p = Params::default();
        let mut x = o();
        assert_eq!(x.check_seqno(101, Time(0), &p, false), SeqnoCheck::New);
        assert_eq!(x.check_seqno(101, Time(0), &p, false), SeqnoCheck::Known);
        assert_eq!(x.check_seqno(90, Time(0), &p, false), SeqnoCheck::Known);
        // wrap-around is just newer
        let mut w = Originator::new(
            Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 9),
            u32::MAX - 1,
            Time(0),
        );
        assert_eq!(w.check_seqno(3, Time(0), &p, false), SeqnoCheck::New);
        assert_eq!(w.newest, 3);
        // a reboot: far behind → accepted once, then protected for 30 s
        assert_eq!(x.check_seqno(5, Time(1000), &p, false), SeqnoCheck::Reset);
        assert_eq!(x.newest, 5);
        assert_eq!(x.check_seqno(6, Time(1100), &p, false), SeqnoCheck::New);
        assert_eq!(
            x.check_seqno(70_000_000, Time(2000), &p, false),
            SeqnoCheck::Protected
        );
        assert_eq!(
            x.check_seqno(70_000_000, Time(32_000), &p, false),
            SeqnoCheck::Reset
        );
        // inside the protection time again, but the originator says it
        // just restarted: believed at once
        assert_eq!(x.check_seqno(9, Time(32_500), &p, true), SeqnoCheck::Reset);
        assert_eq!(x.newest, 9);
    }

    #[test]
    fn averaging_ring_and_retraction() {
        let mut x = o();
        x.record(key(1), h(100, 200, 50, false), Time(0), &|_| 255);
        x.record(key(1), h(101, 100, 50, false), Time(1), &|_| 255);
        assert_eq!(x.alts[0].1.avg(), 150);
        // triggered update replaces history
        x.record(key(1), h(101, 90, 50, true), Time(2), &|_| 255);
        assert_eq!(x.alts[0].1.avg(), 90);
        // retraction zeroes it; older info is refused
        x.record(key(1), h(101, 0, 50, true), Time(3), &|_| 255);
        assert_eq!(x.alts[0].1.avg(), 0);
        assert!(!x.record(key(1), h(99, 255, 50, false), Time(4), &|_| 255));
    }

    #[test]
    fn switching_rule_has_hysteresis_and_feasibility() {
        let p = Params::default();
        let lt = |_: &NeighKey| 255u8;
        let t = |ms: u64| Time(ms);
        let mut x = o();
        x.record(key(1), h(100, 200, 50, false), t(0), &|_| 255);
        assert!(x.select(t(0), &p, &lt));
        assert_eq!(x.best, Some(key(1)));
        // while young, a slightly better route wins
        x.record(key(2), h(100, 205, 50, false), t(100), &|_| 255);
        x.select(t(100), &p, &lt);
        assert_eq!(x.best, Some(key(2)));
        // settled: key 1 improving by less than the margin does not move it
        let later = u64::from(p.settle_ms) + 1000;
        x.record(key(1), h(100, 215, 50, true), t(later), &|_| 255);
        x.select(t(later), &p, &lt);
        assert_eq!(x.best, Some(key(2)));
        // by more than max(switch_margin, 1/8): switch
        x.record(key(1), h(100, 240, 50, true), t(later), &|_| 255);
        x.select(t(later), &p, &lt);
        assert_eq!(x.best, Some(key(1)));
        assert_eq!(x.best_tq, tq::path(240, 255, p.hop_penalty));
        // we advertise 230; a neighbour advertising less for the same seqno
        // may route through us: unfeasible, and our own next hop retracts
        x.advertised(100, 230);
        x.record(key(1), h(100, 0, 50, true), t(later), &|_| 255);
        x.record(key(2), h(100, 220, 50, true), t(later), &|_| 255);
        x.select(t(later), &p, &lt);
        assert_eq!(x.best, None);
        assert!(x.wants_seqno(t(later), &p));
        // a newer seqno makes it feasible again
        x.check_seqno(101, t(later), &p, false);
        x.record(key(2), h(101, 220, 50, false), t(later), &|_| 255);
        x.select(t(later), &p, &lt);
        assert_eq!(x.best, Some(key(2)));
        // the current next hop dropping under the feasibility distance is
        // kept (no churn), and a seqno is asked for
        x.advertised(101, 210);
        x.record(key(2), h(101, 200, 50, true), t(later + 1), &|_| 255);
        x.select(t(later + 1), &p, &lt);
        assert_eq!(x.best, Some(key(2)));
        assert!(x.wants_seqno(t(later + 1), &p));
    }
}
