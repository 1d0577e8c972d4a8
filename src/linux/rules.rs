//! Policy routing rules (IPv4 and IPv6), tagged with Roost's protocol:
//!
//! ```text
//! 7500: from all lookup main suppress_prefixlength 0   proto 77
//! 7600: from all lookup <table>                        proto 77
//! 7700: from <source> lookup <pin table>               proto 77  (gateway pins, see gateway.rs)
//! 32800: from all lookup <gateway table>               proto 77
//! ```
//!
//! The first lets main's specific routes (LAN, uplink, local) win over
//! mesh routes while main's default route does not; Roost's table holds only
//! specific mesh routes, so the node's own default traffic is never hijacked.

use std::io;

use super::log;
use super::rtnl::msg::{AF_INET, AF_INET6};
use super::rtnl::rule::{self, FR_ACT_TO_TBL, RTM_DELRULE, RTM_NEWRULE};
use super::rtnl::{Msg, Nl, RuleMsg, NLM_F_CREATE, NLM_F_EXCL};
use crate::config::{ROUTE_PROTOCOL, RULE_PRIO_GATEWAY, RULE_PRIO_MAIN_SPECIFIC, RULE_PRIO_TABLE};
use crate::prefix::Prefix;

const RT_TABLE_MAIN: u32 = 254;

/// One rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rule {
    pub v4: bool,
    pub priority: u32,
    pub table: u32,
    pub suppress_prefixlen: Option<u32>,
    /// Source selector (`from PREFIX`); `None`: from all.
    pub src: Option<Prefix>,
}

/// The documented static layout for `table` and `gateway_table`.
pub fn layout(table: u32, gateway_table: u32) -> Vec<Rule> {
    let mut v = Vec::new();
    for v4 in [true, false] {
        let rule = |priority, table, suppress_prefixlen| Rule {
            v4,
            priority,
            table,
            suppress_prefixlen,
            src: None,
        };
        v.push(rule(RULE_PRIO_MAIN_SPECIFIC, RT_TABLE_MAIN, Some(0)));
        v.push(rule(RULE_PRIO_TABLE, table, None));
        v.push(rule(RULE_PRIO_GATEWAY, gateway_table, None));
    }
    v
}

fn message(r: &Rule) -> RuleMsg {
    RuleMsg {
        family: if r.v4 { AF_INET } else { AF_INET6 },
        src_len: r.src.map_or(0, |p| p.len()),
        action: FR_ACT_TO_TBL,
        table: r.table,
        priority: Some(r.priority),
        protocol: Some(ROUTE_PROTOCOL),
        suppress_prefixlen: r.suppress_prefixlen,
        src: r.src.map(|p| p.addr()),
    }
}

/// Removes rules of earlier runs, then adds the layout.
pub fn install(table: u32, gateway_table: u32) -> io::Result<()> {
    remove_all()?;
    change(&layout(table, gateway_table), &[])?;
    log::debug!("rules installed at priorities {RULE_PRIO_MAIN_SPECIFIC}, {RULE_PRIO_TABLE} and {RULE_PRIO_GATEWAY}");
    Ok(())
}

/// Adds `add` (existing ones are fine) and deletes `del` (missing ones are
/// fine). Stops at the first other error.
pub fn change(add: &[Rule], del: &[Rule]) -> io::Result<()> {
    let mut nl = Nl::new(&[], false)?;
    let reqs = add
        .iter()
        .map(|r| (NLM_F_CREATE | NLM_F_EXCL, message(r).request(RTM_NEWRULE)))
        .chain(del.iter().map(|r| (0, message(r).request(RTM_DELRULE))))
        .collect();
    let all = add
        .iter()
        .map(|r| (r, "add"))
        .chain(del.iter().map(|r| (r, "delete")));
    for ((r, what), code) in all.zip(nl.request(reqs)?) {
        match code {
            0 | libc::EEXIST | libc::ENOENT => {}
            c => {
                let e = io::Error::from_raw_os_error(c);
                return Err(io::Error::new(
                    e.kind(),
                    format!(
                        "cannot {what} {} rule priority {}{} (lookup {}): {e}",
                        if r.v4 { "IPv4" } else { "IPv6" },
                        r.priority,
                        r.src.map(|p| format!(" from {p}")).unwrap_or_default(),
                        r.table,
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Deletes every rule tagged with Roost's protocol; returns how many.
pub fn remove_all() -> io::Result<usize> {
    let mut nl = Nl::new(&[], false)?;
    let mut ours = Vec::new();
    for family in [AF_INET, AF_INET6] {
        for msg in nl.dump(rule::dump_request(family))? {
            if let Msg::NewRule(r) = msg {
                if r.protocol == Some(ROUTE_PROTOCOL) {
                    ours.push(r);
                }
            }
        }
    }
    let reqs = ours
        .into_iter()
        .map(|r| (0, r.request(RTM_DELRULE)))
        .collect();
    let mut n = 0;
    for code in nl.request(reqs)? {
        match code {
            0 => n += 1,
            libc::ENOENT => {}
            c => log::warning!("cannot delete rule: {}", io::Error::from_raw_os_error(c)),
        }
    }
    Ok(n)
}
