//! Watches links and addresses (RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR,
//! RTNLGRP_IPV6_IFADDR) so interfaces that go down, lose carrier, disappear,
//! come back or get their link-local address late are handled without a
//! restart, and the prefixes of `announce_interface` follow the kernel.
//!
//! The watch socket subscribes first, then a separate blocking socket dumps
//! the current state; queued notifications replayed on top are idempotent.
//! On `ENOBUFS` (lost notifications) the state is dumped again.

use std::collections::BTreeSet;
use std::io;
use std::net::{IpAddr, Ipv6Addr};
use std::os::fd::{AsRawFd, RawFd};

use super::log;
use super::rtnl::addr::{self, IFA_F_DADFAILED, IFA_F_TENTATIVE};
use super::rtnl::link::{self, IFF_LOWER_UP, IFF_UP};
use super::rtnl::msg::{AF_INET, AF_INET6};
use super::rtnl::{self as nl, AddrMsg, Msg, Nl, Reply};
use crate::engine::fxhash::FxHashMap;

/// What Roost needs to know of a link.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkInfo {
    pub index: u32,
    pub name: String,
    /// Administratively up (IFF_UP).
    pub up: bool,
    /// Carrier (IFF_LOWER_UP).
    pub carrier: bool,
    pub mtu: u32,
    pub mac: Option<[u8; 6]>,
    /// Usable (not tentative, not DAD-failed) link-local addresses.
    pub link_locals: BTreeSet<Ipv6Addr>,
    /// Other addresses (IPv4 and IPv6, not link-local, not DAD-failed)
    /// with their prefix lengths.
    pub addrs: BTreeSet<(IpAddr, u8)>,
}

impl LinkInfo {
    /// The prefixes of the link's (non-link-local) addresses.
    pub fn prefixes(&self) -> Vec<crate::prefix::Prefix> {
        let mut v: Vec<crate::prefix::Prefix> = self
            .addrs
            .iter()
            .filter(|(a, _)| !a.is_loopback() && !a.is_multicast() && !a.is_unspecified())
            .filter_map(|&(a, len)| crate::prefix::Prefix::new(a, len))
            .collect();
        v.dedup();
        v
    }
}

impl LinkInfo {
    /// Up, with carrier and a usable link-local address: the lowest one,
    /// unless `prefer` is still present.
    pub fn usable_link_local(&self, prefer: Option<Ipv6Addr>) -> Option<Ipv6Addr> {
        if !self.up || !self.carrier {
            return None;
        }
        match prefer {
            Some(p) if self.link_locals.contains(&p) => Some(p),
            _ => self.link_locals.iter().next().copied(),
        }
    }

    /// Why the link is not usable, for logs.
    pub fn why_unusable(&self) -> &'static str {
        if !self.up {
            "administratively down"
        } else if !self.carrier {
            "no carrier"
        } else if self.link_locals.is_empty() {
            "no usable link-local address yet"
        } else {
            "usable"
        }
    }
}

pub struct LinkWatch {
    nl: Nl,
    links: FxHashMap<u32, LinkInfo>,
}

impl LinkWatch {
    pub fn new() -> io::Result<LinkWatch> {
        let nl = Nl::new(
            &[
                libc::RTNLGRP_LINK,
                libc::RTNLGRP_IPV4_IFADDR,
                libc::RTNLGRP_IPV6_IFADDR,
            ],
            true,
        )?;
        let mut w = LinkWatch {
            nl,
            links: FxHashMap::default(),
        };
        w.full_dump()?;
        Ok(w)
    }

    fn full_dump(&mut self) -> io::Result<()> {
        let mut conn = Nl::new(&[], false)?;
        self.links.clear();
        for m in conn.dump(link::dump_request())? {
            self.apply(m);
        }
        for family in [AF_INET, AF_INET6] {
            for m in conn.dump(addr::dump_request(family))? {
                self.apply(m);
            }
        }
        Ok(())
    }

    /// Reads notifications; returns true if anything may have changed.
    pub fn handle_readable(&mut self) -> io::Result<bool> {
        let mut changed = false;
        loop {
            match self.nl.recv() {
                Ok(replies) => {
                    for r in replies {
                        if let Reply::Msg { msg, .. } = r {
                            changed |= self.apply(msg);
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(changed),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if nl::is_overrun(&e) => {
                    log::warning!("netlink: link notifications lost (ENOBUFS); dumping again");
                    self.full_dump()?;
                    changed = true;
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn apply(&mut self, msg: Msg) -> bool {
        match msg {
            Msg::NewLink(m) => {
                let index = m.index;
                let e = self.links.entry(index).or_default();
                e.index = index;
                e.up = m.flags & IFF_UP != 0;
                e.carrier = m.flags & IFF_LOWER_UP != 0;
                if let Some(n) = m.name {
                    if e.name != n && !e.name.is_empty() {
                        log::debug!("link #{index} renamed {} -> {n}", e.name);
                    }
                    e.name = n;
                }
                if let Some(mtu) = m.mtu {
                    e.mtu = mtu;
                }
                if let Some(b) = m.address {
                    e.mac = <[u8; 6]>::try_from(b.as_slice()).ok();
                }
                true
            }
            Msg::DelLink(m) => self.links.remove(&m.index).is_some(),
            Msg::NewAddr(m) => self.address(&m, true),
            Msg::DelAddr(m) => self.address(&m, false),
            _ => false,
        }
    }

    /// An address appeared (or changed flags) or went away.
    fn address(&mut self, m: &AddrMsg, add: bool) -> bool {
        let Some(link) = self.links.get_mut(&m.index) else {
            return false;
        };
        // IPv4: IFA_LOCAL is the interface's address (IFA_ADDRESS the
        // peer's on point-to-point links); IPv6 has IFA_ADDRESS.
        let addr = match m.local_addr() {
            Some(IpAddr::V6(a)) if is_link_local(&a) => a,
            Some(a) => {
                let key = (a, m.prefix_len);
                return if add && m.flags & IFA_F_DADFAILED == 0 {
                    link.addrs.insert(key)
                } else {
                    link.addrs.remove(&key)
                };
            }
            None => return false,
        };
        let usable = add && m.flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED) == 0;
        if usable {
            link.link_locals.insert(addr)
        } else {
            link.link_locals.remove(&addr)
        }
    }

    pub fn by_name(&self, name: &str) -> Option<&LinkInfo> {
        self.links.values().find(|l| l.name == name)
    }

    pub fn by_index(&self, index: u32) -> Option<&LinkInfo> {
        self.links.get(&index)
    }
}

impl AsRawFd for LinkWatch {
    fn as_raw_fd(&self) -> RawFd {
        self.nl.as_raw_fd()
    }
}

/// fe80::/10.
pub fn is_link_local(a: &Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}
