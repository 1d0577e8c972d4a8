//! FIB rule messages (`struct fib_rule_hdr` + FRA_* attributes):
//! RTM_NEWRULE, RTM_DELRULE, RTM_GETRULE.

use std::net::IpAddr;

use super::msg::{attrs, Req, Writer};

pub const RTM_NEWRULE: u16 = 32;
pub const RTM_DELRULE: u16 = 33;
pub const RTM_GETRULE: u16 = 34;

const FRA_SRC: u16 = 2;
const FRA_PRIORITY: u16 = 6;
const FRA_SUPPRESS_PREFIXLEN: u16 = 14;
const FRA_TABLE: u16 = 15;
const FRA_PROTOCOL: u16 = 21;

pub const FR_ACT_TO_TBL: u8 = 1;

/// `struct fib_rule_hdr`.
const FIXED: usize = 12;

/// The parts of a rule Roost reads and writes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleMsg {
    pub family: u8,
    pub src_len: u8,
    pub action: u8,
    /// FRA_TABLE if present, else the header's table (0: none).
    pub table: u32,
    pub priority: Option<u32>,
    pub protocol: Option<u8>,
    pub suppress_prefixlen: Option<u32>,
    pub src: Option<IpAddr>,
}

impl RuleMsg {
    /// Parses a rule message body; `None` if its fixed part is missing.
    pub fn parse(body: &[u8]) -> Option<RuleMsg> {
        let h = body.get(..FIXED)?;
        let mut m = RuleMsg {
            family: h[0],
            src_len: h[2],
            table: u32::from(h[4]),
            action: h[7],
            ..RuleMsg::default()
        };
        for a in attrs(body, FIXED) {
            match a.kind {
                FRA_SRC => m.src = a.ip(m.family).or(m.src),
                FRA_PRIORITY => m.priority = a.u32().or(m.priority),
                FRA_SUPPRESS_PREFIXLEN => m.suppress_prefixlen = a.u32().or(m.suppress_prefixlen),
                FRA_TABLE => m.table = a.u32().unwrap_or(m.table),
                FRA_PROTOCOL => m.protocol = a.u8().or(m.protocol),
                _ => {}
            }
        }
        Some(m)
    }

    /// The request `kind` (RTM_NEWRULE or RTM_DELRULE) for this rule.
    pub fn request(&self, kind: u16) -> Req {
        let table = u8::try_from(self.table).unwrap_or(0);
        let mut w = Writer::new(&[
            self.family,
            0,
            self.src_len,
            0,
            table,
            0,
            0,
            self.action,
            0,
            0,
            0,
            0,
        ]);
        if let Some(p) = self.priority {
            w.u32(FRA_PRIORITY, p);
        }
        if self.table != 0 {
            w.u32(FRA_TABLE, self.table);
        }
        if let Some(p) = self.protocol {
            w.u8(FRA_PROTOCOL, p);
        }
        if let Some(s) = self.suppress_prefixlen {
            w.u32(FRA_SUPPRESS_PREFIXLEN, s);
        }
        if let Some(s) = self.src {
            w.ip(FRA_SRC, s);
        }
        w.finish(kind)
    }
}

/// A dump request for every rule of `family`.
pub fn dump_request(family: u8) -> Req {
    Writer::new(&[family, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).finish(RTM_GETRULE)
}

#[cfg(test)]
mod tests {
    use super::super::msg::test_util::attr;
    use super::super::msg::{AF_INET, AF_INET6};
    use super::*;

    #[test]
    fn parses_a_kernel_rule() {
        // As the kernel dumps `7500: from all lookup main suppress_prefixlength 0 proto 77`.
        let mut b = vec![AF_INET, 0, 0, 0, 254, 0, 0, FR_ACT_TO_TBL, 0, 0, 0, 0];
        b.extend(attr(FRA_TABLE, &254u32.to_ne_bytes()));
        b.extend(attr(FRA_SUPPRESS_PREFIXLEN, &0u32.to_ne_bytes()));
        b.extend(attr(13, &u32::MAX.to_ne_bytes())); // FRA_SUPPRESS_IFGROUP
        b.extend(attr(FRA_PROTOCOL, &[77]));
        b.extend(attr(FRA_PRIORITY, &7500u32.to_ne_bytes()));
        let m = RuleMsg::parse(&b).unwrap();
        assert_eq!(
            m,
            RuleMsg {
                family: AF_INET,
                src_len: 0,
                action: FR_ACT_TO_TBL,
                table: 254,
                priority: Some(7500),
                protocol: Some(77),
                suppress_prefixlen: Some(0),
                src: None,
            }
        );
    }

    #[test]
    fn request_round_trips_and_bad_attributes_are_skipped() {
        let m = RuleMsg {
            family: AF_INET6,
            src_len: 64,
            action: FR_ACT_TO_TBL,
            table: 7700,
            priority: Some(7700),
            protocol: Some(77),
            suppress_prefixlen: None,
            src: "fd00:5::".parse().ok(),
        };
        let r = m.request(RTM_NEWRULE);
        assert_eq!(r.body[4], 0);
        assert_eq!(RuleMsg::parse(&r.body), Some(m.clone()));
        let mut b = r.body.clone();
        b.extend(attr(FRA_PROTOCOL, &[1, 2])); // wrong size: ignored
        b.extend(attr(FRA_SRC, &[1, 2, 3, 4])); // wrong family: ignored
        assert_eq!(RuleMsg::parse(&b), Some(m));
        assert_eq!(RuleMsg::parse(&b[..4]), None);
    }
}
