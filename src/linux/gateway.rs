//! Gateways in the kernel (docs/CONFIG.md, "Gateways"):
//!
//! * the node's own default routes learned from the mesh (IPv4 and IPv6,
//!   via the next hop toward its chosen gateway) in the gateway table, which
//!   the rule at `RULE_PRIO_GATEWAY` consults after main;
//! * one pin table per gateway that other clients' traffic is pinned to,
//!   holding default routes toward that gateway, and the pin rules
//!   (`from <client source> lookup <pin table>`, before main) that send each
//!   client's internet traffic toward the gateway *it* chose, at every hop;
//! * the uplink watch for gateway mode `auto`: does main have a default
//!   route via a non-mesh interface?
//!
//! Changes are rare (a gateway choice, a next hop toward a gateway), so
//! they are applied with blocking netlink requests.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, RawFd};

use super::log;
use super::route::{dump_tables, parse_route, route_message, KernelRoute};
use super::rtnl::msg::{AF_INET, AF_INET6};
use super::rtnl::route::{self as rt, RTM_DELROUTE, RTM_NEWROUTE, RTN_UNICAST};
use super::rtnl::{Msg, Nl, Reply, RouteMsg, NLM_F_CREATE, NLM_F_REPLACE};
use super::rules::{self, Rule};
use crate::config::{ROUTE_PROTOCOL, RULE_PRIO_PIN};
use crate::engine::gateway::{GatewayPlan, GwPath, Pin};
use crate::prefix::Prefix;

const RT_TABLE_MAIN: u32 = 254;
/// Metric of the gateway default routes (IPv6 has no metric 0).
const GW_METRIC: u32 = 100;

/// Keeps the gateway routes and pin rules equal to the engine's plan.
pub struct GatewaySync {
    gateway_table: u32,
    pin_base: u32,
    pin_tables: u32,
    /// Pin table slot of each gateway (kept while the gateway is pinned to,
    /// so a table never changes meaning under a rule).
    slots: BTreeMap<Ipv6Addr, u32>,
    routes: BTreeMap<(u32, bool), KernelRoute>,
    rules: BTreeSet<Rule>,
    last: GatewayPlan,
    /// The pins not installed because traffic already goes the same way.
    pub skipped_pins: usize,
    /// The pins not installed because no pin table was free.
    pub dropped_pins: usize,
}

fn default_route(v4: bool, p: &GwPath) -> KernelRoute {
    let dst = if v4 {
        Prefix::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0)
    } else {
        Prefix::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0)
    };
    KernelRoute {
        // Both are valid prefixes; the fallback is never used.
        dst: dst.unwrap_or_else(|| Prefix::host(IpAddr::V6(Ipv6Addr::UNSPECIFIED))),
        via: p.via,
        oif: p.iface,
        metric: GW_METRIC,
    }
}

impl GatewaySync {
    /// Removes Roost's routes left in the gateway and pin tables.
    pub fn new(gateway_table: u32, pin_base: u32, pin_tables: u32) -> io::Result<GatewaySync> {
        let mut g = GatewaySync {
            gateway_table,
            pin_base,
            pin_tables,
            slots: BTreeMap::new(),
            routes: BTreeMap::new(),
            rules: BTreeSet::new(),
            last: GatewayPlan::default(),
            skipped_pins: 0,
            dropped_pins: 0,
        };
        let n = g.remove_routes()?;
        if n > 0 {
            log::info!("removed {n} stale gateway routes");
        }
        Ok(g)
    }

    fn ours(&self, t: u32) -> bool {
        t == self.gateway_table || (self.pin_base..self.pin_base + self.pin_tables).contains(&t)
    }

    /// Deletes every route of Roost's protocol in the gateway and pin
    /// tables; returns how many.
    pub fn remove_routes(&mut self) -> io::Result<usize> {
        let stale = dump_tables(|t| self.ours(t))?;
        let mut nl = Nl::new(&[], false)?;
        let reqs = stale
            .iter()
            .map(|(t, k)| (0, route_message(*t, k, true).request(RTM_DELROUTE)))
            .collect();
        let n = nl.request(reqs)?.iter().filter(|c| **c == 0).count();
        self.routes.clear();
        self.rules.clear();
        self.slots.clear();
        Ok(n)
    }

    /// The plan last applied.
    pub fn plan(&self) -> &GatewayPlan {
        &self.last
    }

    /// The pin table of `gateway`, if it has one.
    pub fn pin_table(&self, gateway: &Ipv6Addr) -> Option<u32> {
        self.slots.get(gateway).map(|s| self.pin_base + s)
    }

    /// Makes the kernel match `plan`. `own_uplink`: main has a default
    /// route of this node's own (then pins toward our chosen gateway are
    /// needed too, or forwarded traffic would leave by our uplink).
    pub fn apply(&mut self, plan: &GatewayPlan, own_uplink: bool) -> io::Result<()> {
        self.last = plan.clone();
        let mut want_routes: BTreeMap<(u32, bool), KernelRoute> = BTreeMap::new();
        if let (Some(p), false) = (plan.own, plan.serving) {
            for v4 in [true, false] {
                want_routes.insert((self.gateway_table, v4), default_route(v4, &p));
            }
        }
        // Pins toward the gateway we use ourselves need no rule while main
        // has no default: traffic falls through to our gateway table.
        let own_gw = plan.own.map(|p| p.gateway).filter(|_| !plan.serving);
        let (skip, pins): (Vec<&Pin>, Vec<&Pin>) = plan
            .pins
            .iter()
            .partition(|p| Some(p.gateway) == own_gw && !own_uplink);
        self.skipped_pins = skip.len();
        let used: BTreeSet<Ipv6Addr> = pins.iter().map(|p| p.gateway).collect();
        self.slots.retain(|g, _| used.contains(g));
        for g in &used {
            if self.slots.contains_key(g) {
                continue;
            }
            let taken: BTreeSet<u32> = self.slots.values().copied().collect();
            if let Some(s) = (0..self.pin_tables).find(|s| !taken.contains(s)) {
                self.slots.insert(*g, s);
            }
        }
        let mut want_rules = BTreeSet::new();
        self.dropped_pins = 0;
        for pin in &pins {
            let (Some(table), Some(path)) = (
                self.pin_table(&pin.gateway),
                plan.paths.iter().find(|p| p.gateway == pin.gateway),
            ) else {
                self.dropped_pins += 1;
                continue;
            };
            for v4 in [true, false] {
                want_routes.insert((table, v4), default_route(v4, path));
            }
            want_rules.insert(Rule {
                v4: pin.source.is_ipv4(),
                priority: RULE_PRIO_PIN,
                table,
                suppress_prefixlen: None,
                src: Some(pin.source),
            });
        }
        if self.dropped_pins > 0 {
            log::warning!(
                "{} pins dropped: more than {} gateways are pinned to",
                self.dropped_pins,
                self.pin_tables
            );
        }
        // Routes first (make), then rules, then stale routes (break).
        let mut nl = Nl::new(&[], false)?;
        let set: Vec<_> = want_routes
            .iter()
            .filter(|(k, r)| self.routes.get(k) != Some(r))
            .map(|((t, _), r)| (*t, *r))
            .collect();
        let reqs = set
            .iter()
            .map(|(t, r)| {
                (
                    NLM_F_CREATE | NLM_F_REPLACE,
                    route_message(*t, r, false).request(RTM_NEWROUTE),
                )
            })
            .collect();
        for ((t, r), code) in set.iter().zip(nl.request(reqs)?) {
            if code != 0 {
                log::warning!(
                    "cannot set default route via {} in table {t}: {}",
                    r.via,
                    io::Error::from_raw_os_error(code)
                );
            }
        }
        let add: Vec<Rule> = want_rules.difference(&self.rules).copied().collect();
        let del: Vec<Rule> = self.rules.difference(&want_rules).copied().collect();
        rules::change(&add, &del)?;
        self.rules = want_rules;
        let gone: Vec<_> = self
            .routes
            .iter()
            .filter(|(k, _)| !want_routes.contains_key(k))
            .map(|((t, _), r)| (*t, *r))
            .collect();
        let reqs = gone
            .iter()
            .map(|(t, r)| (0, route_message(*t, r, true).request(RTM_DELROUTE)))
            .collect();
        for ((t, r), code) in gone.iter().zip(nl.request(reqs)?) {
            if code != 0 && code != libc::ESRCH {
                log::warning!(
                    "cannot delete default route {} in table {t}: {}",
                    r.dst,
                    io::Error::from_raw_os_error(code)
                );
            }
        }
        self.routes = want_routes;
        Ok(())
    }

    /// Whether the kernel still holds what was applied (for status).
    pub fn in_sync(&self) -> io::Result<bool> {
        let have: BTreeSet<(u32, KernelRoute)> =
            dump_tables(|t| self.ours(t))?.into_iter().collect();
        let want: BTreeSet<(u32, KernelRoute)> = self
            .routes
            .iter()
            .map(|((t, _), r)| {
                let mut r = *r;
                if !r.dst.is_ipv4() && r.metric == 0 {
                    r.metric = 1024;
                }
                (*t, r)
            })
            .collect();
        Ok(have == want)
    }

    /// Re-applies the last plan from scratch (after a netlink error or a
    /// periodic check found the kernel different).
    pub fn resync(&mut self, own_uplink: bool) -> io::Result<()> {
        let plan = self.last.clone();
        self.routes.clear();
        let mut nl = Nl::new(&[], false)?;
        let stale = dump_tables(|t| self.ours(t))?;
        let reqs = stale
            .iter()
            .map(|(t, k)| (0, route_message(*t, k, true).request(RTM_DELROUTE)))
            .collect();
        nl.request(reqs)?;
        let old: Vec<Rule> = self.rules.iter().copied().collect();
        rules::change(&[], &old)?;
        self.rules.clear();
        self.apply(&plan, own_uplink)
    }
}

/// Watches main's default routes (gateway mode `auto`).
pub struct UplinkWatch {
    nl: Nl,
}

impl UplinkWatch {
    pub fn new() -> io::Result<UplinkWatch> {
        Ok(UplinkWatch {
            nl: Nl::new(&[libc::RTNLGRP_IPV4_ROUTE, libc::RTNLGRP_IPV6_ROUTE], true)?,
        })
    }

    /// Reads route notifications; true if main's default routes may have
    /// changed (or notifications were lost).
    pub fn handle_readable(&mut self) -> bool {
        let mut maybe = false;
        loop {
            match self.nl.recv() {
                Ok(replies) => {
                    for r in replies {
                        if let Reply::Msg {
                            msg: Msg::NewRoute(m) | Msg::DelRoute(m),
                            ..
                        } = r
                        {
                            maybe |= m.dst_len == 0 && m.protocol != ROUTE_PROTOCOL;
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return maybe,
                Err(_) => return true,
            }
        }
    }
}

impl AsRawFd for UplinkWatch {
    fn as_raw_fd(&self) -> RawFd {
        self.nl.as_raw_fd()
    }
}

/// Whether main holds a unicast default route (either family) that is not
/// Roost's and does not leave by a mesh interface.
pub fn has_uplink(mesh_ifindexes: &[u32]) -> io::Result<bool> {
    let mut conn = Nl::new(&[], false)?;
    for family in [AF_INET, AF_INET6] {
        for msg in conn.dump(rt::dump_request(family))? {
            if let Msg::NewRoute(m) = msg {
                if is_uplink(&m, mesh_ifindexes) {
                    return Ok(true);
                }
            }
        }
    }
    Ok(false)
}

fn is_uplink(m: &RouteMsg, mesh: &[u32]) -> bool {
    if m.dst_len != 0 || m.kind != RTN_UNICAST || m.protocol == ROUTE_PROTOCOL {
        return false;
    }
    match parse_route(m) {
        Some((t, k)) => t == RT_TABLE_MAIN && !mesh.contains(&k.oif),
        None => false,
    }
}
