//! Keeps Roost's kernel routing table equal to the engine's desired routes.
//!
//! Every route Roost installs lives in its table and carries protocol
//! [`ROUTE_PROTOCOL`], so it can be found again after a crash. IPv6
//! destinations go via the neighbour's link-local address; IPv4 destinations
//! use `RTA_VIA` with that same IPv6 address (`via inet6 fe80::… dev …`), so
//! mesh interfaces need no IPv4 address.
//!
//! The kernel keys routes by (destination, metric): a metric change is done
//! make-before-break (add the new route, then delete the old one). Requests
//! are batched and sent without blocking; `installed` changes only when the
//! kernel ACKs. A refused route is retried with exponential backoff.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, RawFd};
use std::time::Duration;

use super::log;
use super::rtnl::msg::{AF_INET, AF_INET6};
use super::rtnl::route::{
    self as rt, RTM_DELROUTE, RTM_NEWROUTE, RTN_UNICAST, RTN_UNSPEC, RT_SCOPE_NOWHERE,
    RT_SCOPE_UNIVERSE,
};
use super::rtnl::{
    self as nl, Msg, Nl, Reply, Req, RouteMsg, NLM_F_ACK, NLM_F_CREATE, NLM_F_REPLACE,
};
use crate::config::ROUTE_PROTOCOL;
use crate::engine::fxhash::FxHashMap;
use crate::engine::{Route, RouteChange, Time};
use crate::prefix::Prefix;

/// Requests in flight at most (bounds the queued ACKs).
const MAX_INFLIGHT: usize = 256;
const BACKOFF_FIRST_MS: u64 = 1000;
const BACKOFF_MAX_MS: u64 = 60_000;
/// IPv6 stores metric 0 as this (IP6_RT_PRIO_USER).
const V6_DEFAULT_METRIC: u32 = 1024;

/// A route as the kernel holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct KernelRoute {
    pub dst: Prefix,
    pub via: Ipv6Addr,
    pub oif: u32,
    pub metric: u32,
}

impl KernelRoute {
    pub fn from_route(r: &Route) -> KernelRoute {
        let metric = if !r.dst.is_ipv4() && r.metric == 0 {
            V6_DEFAULT_METRIC
        } else {
            r.metric
        };
        KernelRoute {
            dst: r.dst,
            via: r.via,
            oif: r.iface,
            metric,
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Op {
    Set(KernelRoute),
    Del(KernelRoute),
}

#[derive(Clone, Debug)]
struct Backoff {
    until: Time,
    delay_ms: u64,
    error: String,
}

/// A route the kernel refused, for status output.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Failing {
    pub dst: Prefix,
    pub error: String,
    pub retry_in_ms: u64,
}

/// Summary for the control socket.
#[derive(Clone, Debug, serde::Serialize)]
pub struct KernelSummary {
    pub table: u32,
    pub protocol: u8,
    pub desired: usize,
    pub installed: usize,
    pub pending: usize,
    pub in_sync: bool,
    pub failing: Vec<Failing>,
}

pub struct RouteSync {
    nl: Nl,
    table: u32,
    desired: BTreeMap<Prefix, Route>,
    /// What the kernel has (as far as ACKs and dumps tell), by (dst, metric).
    installed: BTreeMap<(Prefix, u32), KernelRoute>,
    inflight: FxHashMap<u32, (Prefix, Op)>,
    busy: FxHashMap<Prefix, usize>,
    dirty: BTreeSet<Prefix>,
    backoff: FxHashMap<Prefix, Backoff>,
}

impl RouteSync {
    /// Opens the netlink socket and removes every route of Roost's protocol
    /// from `table` (left over from a crash).
    pub fn new(table: u32) -> io::Result<RouteSync> {
        let mut s = RouteSync {
            nl: Nl::new(&[], true)?,
            table,
            desired: BTreeMap::new(),
            installed: BTreeMap::new(),
            inflight: FxHashMap::default(),
            busy: FxHashMap::default(),
            dirty: BTreeSet::new(),
            backoff: FxHashMap::default(),
        };
        let n = s.remove_all()?;
        if n > 0 {
            log::info!("removed {n} stale routes from table {table}");
        }
        Ok(s)
    }

    /// Applies engine changes to the desired table (sent by [`Self::flush`]).
    pub fn apply(&mut self, changes: Vec<RouteChange>) {
        for c in changes {
            match c {
                RouteChange::Set(r) => {
                    self.dirty.insert(r.dst);
                    self.desired.insert(r.dst, r);
                }
                RouteChange::Remove(p) => {
                    self.dirty.insert(p);
                    self.desired.remove(&p);
                }
            }
        }
    }

    /// Replaces the whole desired table.
    pub fn set_desired(&mut self, routes: Vec<Route>) {
        let new: BTreeMap<Prefix, Route> = routes.into_iter().map(|r| (r.dst, r)).collect();
        for (p, r) in &self.desired {
            if new.get(p) != Some(r) {
                self.dirty.insert(*p);
            }
        }
        self.dirty
            .extend(new.keys().filter(|p| !self.desired.contains_key(p)));
        self.desired = new;
    }

    /// Sends the requests needed to move the kernel towards the desired table.
    pub fn flush(&mut self, now: Time) {
        let mut batch: Vec<(Prefix, Op)> = Vec::new();
        let dirty: Vec<Prefix> = self.dirty.iter().copied().collect();
        for p in dirty {
            if self.inflight.len() + batch.len() >= MAX_INFLIGHT {
                break;
            }
            if self.busy.get(&p).is_some_and(|&n| n > 0) {
                continue;
            }
            let want = self.desired.get(&p).map(KernelRoute::from_route);
            let have: Vec<KernelRoute> = self
                .installed
                .range((p, 0)..=(p, u32::MAX))
                .map(|(_, k)| *k)
                .collect();
            let in_backoff = self.backoff.get(&p).is_some_and(|b| now < b.until);
            let satisfied = want.is_none_or(|w| have.contains(&w));
            let mut ops = Vec::new();
            if let Some(w) = want {
                if !satisfied && !in_backoff {
                    ops.push(Op::Set(w));
                }
            }
            // Make before break: stale routes go once the wanted one is in
            // (or cannot be installed right now).
            if satisfied || in_backoff {
                ops.extend(
                    have.iter()
                        .filter(|h| Some(**h) != want)
                        .map(|h| Op::Del(*h)),
                );
            }
            if ops.is_empty() && (satisfied || !in_backoff) {
                self.dirty.remove(&p);
            }
            if !ops.is_empty() {
                self.dirty.remove(&p);
                batch.extend(ops.into_iter().map(|o| (p, o)));
            }
        }
        for chunk in batch.chunks(nl::BATCH) {
            let reqs = chunk.iter().map(|(_, op)| self.request(op)).collect();
            match self.nl.send(reqs) {
                Ok(seqs) => {
                    for (seq, (p, op)) in seqs.into_iter().zip(chunk) {
                        self.inflight.insert(seq, (*p, *op));
                        *self.busy.entry(*p).or_insert(0) += 1;
                    }
                }
                Err(e) => {
                    log::warning!("netlink send failed: {e}; will retry");
                    for (p, _) in chunk {
                        self.dirty.insert(*p);
                        self.fail(*p, now, e.to_string());
                    }
                }
            }
        }
    }

    fn request(&self, op: &Op) -> (u16, Req) {
        match op {
            Op::Set(k) => (
                NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE,
                route_message(self.table, k, false).request(RTM_NEWROUTE),
            ),
            Op::Del(k) => (
                NLM_F_ACK,
                route_message(self.table, k, true).request(RTM_DELROUTE),
            ),
        }
    }

    fn fail(&mut self, p: Prefix, now: Time, error: String) {
        let delay_ms = self
            .backoff
            .get(&p)
            .map_or(BACKOFF_FIRST_MS, |b| (b.delay_ms * 2).min(BACKOFF_MAX_MS));
        self.backoff.insert(
            p,
            Backoff {
                until: now.plus(delay_ms),
                delay_ms,
                error,
            },
        );
    }

    /// Reads ACKs. Call when the socket is readable (until it returns).
    /// On lost ACKs (`ENOBUFS`) it dumps the table and reconciles fully.
    pub fn handle_readable(&mut self, now: Time) -> io::Result<()> {
        if self.drain_acks(now)? {
            log::warning!("netlink: ACKs lost (ENOBUFS); resynchronising routes");
            return self.resync(now);
        }
        Ok(())
    }

    /// Reads every pending ACK. Returns true if the kernel dropped some
    /// (ENOBUFS): the caller must resynchronise.
    fn drain_acks(&mut self, now: Time) -> io::Result<bool> {
        let mut overrun = false;
        loop {
            match self.nl.recv() {
                Ok(replies) => {
                    for r in replies {
                        if let Reply::Ack { seq, errno } = r {
                            self.on_ack(seq, errno, now);
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(overrun),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if nl::is_overrun(&e) => overrun = true,
                Err(e) => return Err(e),
            }
        }
    }

    fn on_ack(&mut self, seq: u32, errno: i32, now: Time) {
        let Some((p, op)) = self.inflight.remove(&seq) else {
            return;
        };
        if let Some(n) = self.busy.get_mut(&p) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.busy.remove(&p);
            }
        }
        self.dirty.insert(p);
        match (op, errno) {
            (Op::Set(k), 0) => {
                self.installed.insert((p, k.metric), k);
                if self.backoff.remove(&p).is_some() {
                    log::info!("route {p} installed after earlier failures");
                }
            }
            (Op::Del(k), 0) => {
                self.installed.remove(&(p, k.metric));
            }
            (Op::Del(k), libc::ESRCH) => {
                // Already gone (e.g. the kernel flushed it with its interface).
                self.installed.remove(&(p, k.metric));
            }
            (op, errno) => {
                let err = io::Error::from_raw_os_error(errno).to_string();
                let what = match op {
                    Op::Set(k) => format!(
                        "add route {p} via {} dev #{} metric {}",
                        k.via, k.oif, k.metric
                    ),
                    Op::Del(k) => format!("delete route {p} metric {}", k.metric),
                };
                self.fail(p, now, err.clone());
                let delay = self.backoff.get(&p).map_or(0, |b| b.delay_ms);
                log::warning!("kernel refused to {what}: {err}; retrying in {delay} ms");
            }
        }
    }

    /// Drains pending ACKs, dumps the table and marks every difference dirty.
    pub fn resync(&mut self, now: Time) -> io::Result<()> {
        // Lost ACKs do not matter here: the dump below is the truth.
        self.drain_acks(now)?;
        let dumped = dump(self.table)?;
        self.inflight.clear();
        self.busy.clear();
        self.installed = dumped.into_iter().map(|k| ((k.dst, k.metric), k)).collect();
        self.dirty.extend(self.desired.keys().copied());
        self.dirty.extend(self.installed.keys().map(|(p, _)| *p));
        Ok(())
    }

    /// Deletes every route of Roost's protocol in the table (blocking).
    /// Returns how many were deleted.
    pub fn remove_all(&mut self) -> io::Result<usize> {
        let routes = dump(self.table)?;
        let mut conn = Nl::new(&[], false)?;
        let reqs = routes
            .iter()
            .map(|k| (0, route_message(self.table, k, true).request(RTM_DELROUTE)))
            .collect();
        let codes = conn.request(reqs)?;
        let mut n = 0;
        for (k, c) in routes.iter().zip(codes) {
            match c {
                0 => n += 1,
                libc::ESRCH => {}
                c => log::warning!(
                    "cannot delete route {}: {}",
                    k.dst,
                    io::Error::from_raw_os_error(c)
                ),
            }
        }
        self.installed.clear();
        self.inflight.clear();
        self.busy.clear();
        self.dirty.extend(self.desired.keys().copied());
        Ok(n)
    }

    /// The earliest retry time, if a refused route is waiting.
    pub fn next_deadline(&self) -> Option<Time> {
        self.backoff
            .iter()
            .filter(|(p, _)| self.dirty.contains(*p))
            .map(|(_, b)| b.until)
            .min()
    }

    /// The routes the engine wants, by destination.
    pub fn desired(&self) -> impl Iterator<Item = &Route> {
        self.desired.values()
    }

    pub fn is_idle(&self) -> bool {
        self.inflight.is_empty()
    }

    pub fn summary(&self, now: Time) -> KernelSummary {
        let installed_ok = self
            .desired
            .values()
            .filter(|r| {
                let k = KernelRoute::from_route(r);
                self.installed.get(&(k.dst, k.metric)) == Some(&k)
            })
            .count();
        let mut failing: Vec<Failing> = self
            .backoff
            .iter()
            .map(|(p, b)| Failing {
                dst: *p,
                error: b.error.clone(),
                retry_in_ms: b.until.since(now),
            })
            .collect();
        failing.sort_unstable_by_key(|f| f.dst);
        KernelSummary {
            table: self.table,
            protocol: ROUTE_PROTOCOL,
            desired: self.desired.len(),
            installed: self.installed.len(),
            pending: self.inflight.len(),
            in_sync: installed_ok == self.desired.len()
                && self.installed.len() == self.desired.len(),
            failing,
        }
    }

    /// Flushes and waits (blocking, up to `timeout`) until every request is
    /// answered. For tests and shutdown.
    pub fn settle(&mut self, now: Time, timeout: Duration) -> io::Result<()> {
        let end = std::time::Instant::now() + timeout;
        loop {
            self.flush(now);
            if self.inflight.is_empty() {
                return Ok(());
            }
            let left = end.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "netlink ACKs missing",
                ));
            }
            nl::wait_readable(self.nl.as_raw_fd(), left);
            self.handle_readable(now)?;
        }
    }
}

impl AsRawFd for RouteSync {
    fn as_raw_fd(&self) -> RawFd {
        self.nl.as_raw_fd()
    }
}

/// Dumps the routes of Roost's protocol in `table` (both families).
pub fn dump(table: u32) -> io::Result<Vec<KernelRoute>> {
    Ok(dump_tables(|t| t == table)?
        .into_iter()
        .map(|(_, k)| k)
        .collect())
}

/// Dumps the routes of Roost's protocol in every table `want` accepts,
/// with their table.
pub fn dump_tables(want: impl Fn(u32) -> bool) -> io::Result<Vec<(u32, KernelRoute)>> {
    let mut conn = Nl::new(&[], false)?;
    let mut out = Vec::new();
    for family in [AF_INET, AF_INET6] {
        for msg in conn.dump(rt::dump_request(family))? {
            if let Msg::NewRoute(m) = msg {
                if m.protocol != ROUTE_PROTOCOL {
                    continue;
                }
                if let Some((t, k)) = parse_route(&m) {
                    if want(t) {
                        out.push((t, k));
                    }
                }
            }
        }
    }
    Ok(out)
}

/// The table and route of a route message (any protocol). The next hop is
/// the IPv6 gateway (RTA_GATEWAY or RTA_VIA); unspecified if there is none.
pub(crate) fn parse_route(m: &RouteMsg) -> Option<(u32, KernelRoute)> {
    let v6 = |a: Option<IpAddr>| match a {
        Some(IpAddr::V6(a)) => Some(a),
        _ => None,
    };
    let via = v6(m.via).or(v6(m.gateway)).unwrap_or(Ipv6Addr::UNSPECIFIED);
    let dst = match (m.dst, m.family) {
        (Some(a), _) => a,
        (None, AF_INET) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        (None, AF_INET6) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        _ => return None,
    };
    Some((
        m.table,
        KernelRoute {
            dst: Prefix::new(dst, m.dst_len)?,
            via,
            oif: m.oif.unwrap_or(0),
            metric: m.priority.unwrap_or(0),
        },
    ))
}

/// The netlink message adding (`del == false`) or deleting `k`.
pub(crate) fn route_message(table: u32, k: &KernelRoute, del: bool) -> RouteMsg {
    let v4 = k.dst.is_ipv4();
    RouteMsg {
        family: if v4 { AF_INET } else { AF_INET6 },
        dst_len: k.dst.len(),
        // Tables above 255 only fit RTA_TABLE (the header says 252).
        table,
        protocol: ROUTE_PROTOCOL,
        // Deleting matches any scope and type; only ours (protocol) with
        // this metric.
        scope: if del {
            RT_SCOPE_NOWHERE
        } else {
            RT_SCOPE_UNIVERSE
        },
        kind: if del { RTN_UNSPEC } else { RTN_UNICAST },
        dst: (k.dst.len() > 0).then(|| k.dst.addr()),
        gateway: (!del && !v4).then_some(IpAddr::V6(k.via)),
        via: (!del && v4).then_some(IpAddr::V6(k.via)),
        oif: (!del).then_some(k.oif),
        priority: Some(k.metric),
    }
}
