//! Policy routing rules (IPv4 and IPv6), tagged with Roost's protocol:
//!
//! ```text
//! 7500: from all lookup main suppress_prefixlength 0   proto 77
//! 7600: from all lookup <table>                        proto 77
//! ```
//!
//! The first lets main's specific routes (LAN, uplink, local) win over
//! mesh routes while main's default route does not; Roost's table holds only
//! specific mesh routes, so the node's own default traffic is never hijacked.

use std::io;

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::route::RouteProtocol;
use netlink_packet_route::rule::{RuleAction, RuleAttribute, RuleMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::log;
use super::nl::Nl;
use crate::config::{ROUTE_PROTOCOL, RULE_PRIO_MAIN_SPECIFIC, RULE_PRIO_TABLE};

const RT_TABLE_MAIN: u32 = 254;

/// One rule of the layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    pub v4: bool,
    pub priority: u32,
    pub table: u32,
    pub suppress_prefixlen: Option<u32>,
}

/// The documented layout for `table`.
pub fn layout(table: u32) -> Vec<Rule> {
    let mut v = Vec::new();
    for v4 in [true, false] {
        v.push(Rule {
            v4,
            priority: RULE_PRIO_MAIN_SPECIFIC,
            table: RT_TABLE_MAIN,
            suppress_prefixlen: Some(0),
        });
        v.push(Rule {
            v4,
            priority: RULE_PRIO_TABLE,
            table,
            suppress_prefixlen: None,
        });
    }
    v
}

fn message(r: &Rule) -> RuleMessage {
    let mut m = RuleMessage::default();
    m.header.family = if r.v4 {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    };
    m.header.action = RuleAction::ToTable;
    m.header.table = u8::try_from(r.table).unwrap_or(0);
    m.attributes.push(RuleAttribute::Priority(r.priority));
    m.attributes.push(RuleAttribute::Table(r.table));
    m.attributes
        .push(RuleAttribute::Protocol(RouteProtocol::Other(
            ROUTE_PROTOCOL,
        )));
    if let Some(s) = r.suppress_prefixlen {
        m.attributes.push(RuleAttribute::SuppressPrefixLen(s));
    }
    m
}

/// Removes rules of earlier runs, then adds the layout for `table`.
pub fn install(table: u32) -> io::Result<()> {
    remove_all()?;
    let mut nl = Nl::new(&[], false)?;
    let rules = layout(table);
    let reqs = rules
        .iter()
        .map(|r| {
            (
                NLM_F_CREATE | NLM_F_EXCL,
                RouteNetlinkMessage::NewRule(message(r)),
            )
        })
        .collect();
    for (r, code) in rules.iter().zip(nl.request(reqs)?) {
        match code {
            0 | libc::EEXIST => {}
            c => {
                return Err(io::Error::new(
                    io::Error::from_raw_os_error(c).kind(),
                    format!(
                        "cannot add {} rule priority {} (lookup {}): {}",
                        if r.v4 { "IPv4" } else { "IPv6" },
                        r.priority,
                        r.table,
                        io::Error::from_raw_os_error(c)
                    ),
                ))
            }
        }
    }
    log::debug!("rules installed at priorities {RULE_PRIO_MAIN_SPECIFIC} and {RULE_PRIO_TABLE}");
    Ok(())
}

/// Deletes every rule tagged with Roost's protocol; returns how many.
pub fn remove_all() -> io::Result<usize> {
    let mut nl = Nl::new(&[], false)?;
    let mut ours = Vec::new();
    for family in [AddressFamily::Inet, AddressFamily::Inet6] {
        let mut m = RuleMessage::default();
        m.header.family = family;
        for msg in nl.dump(RouteNetlinkMessage::GetRule(m))? {
            if let RouteNetlinkMessage::NewRule(r) = msg {
                let tagged = r.attributes.iter().any(|a| {
                    matches!(a, RuleAttribute::Protocol(p) if *p == RouteProtocol::Other(ROUTE_PROTOCOL))
                });
                if tagged {
                    ours.push(r);
                }
            }
        }
    }
    let reqs = ours
        .into_iter()
        .map(|r| (0, RouteNetlinkMessage::DelRule(r)))
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
