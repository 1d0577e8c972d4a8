//! A small rtnetlink codec and socket: exactly the messages Roost uses
//! (links, addresses, routes, rules, neighbour entries), batching, sequence numbers, ACK and
//! dump parsing.
//!
//! Nothing received from the kernel is trusted to parse: a message whose
//! fixed part is missing is skipped (and logged), an attribute of the wrong
//! size is ignored, and a malformed or truncated attribute ends the walk of
//! its message with what came before it kept (qemu-mips, for one, leaves the
//! last nested attribute of RTM_NEWLINK in the host's byte order). Nothing is
//! unwrapped, and allocation is bounded by the datagram.

pub mod addr;
pub mod link;
pub mod msg;
pub mod neigh;
pub mod route;
pub mod rule;

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

pub use addr::AddrMsg;
pub use link::LinkMsg;
pub use msg::{Req, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REPLACE};
pub use neigh::NeighMsg;
pub use route::RouteMsg;
pub use rule::RuleMsg;

use super::log;
use msg::{NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN, NLM_F_REQUEST};

/// Largest number of requests sent in one datagram; also bounds the ACKs
/// a blocking batch leaves queued in the receive buffer.
pub const BATCH: usize = 64;
/// The kernel sizes a dump's messages by the reader's buffer, up to 32 KiB
/// (`max_recvmsg_len`); notifications are single messages, far smaller.
const RECV_BUF: usize = 32 * 1024;
const SOCK_RCVBUF: usize = 1024 * 1024;
const SOL_NETLINK: libc::c_int = 270;
const NETLINK_ADD_MEMBERSHIP: libc::c_int = 1;
const NETLINK_CAP_ACK: libc::c_int = 10;

/// A message Roost understands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Msg {
    NewLink(LinkMsg),
    DelLink(LinkMsg),
    NewAddr(AddrMsg),
    DelAddr(AddrMsg),
    NewRoute(RouteMsg),
    DelRoute(RouteMsg),
    NewRule(RuleMsg),
    DelRule(RuleMsg),
    NewNeigh(NeighMsg),
}

impl Msg {
    /// Decodes a message of type `kind`; `None` for other types and
    /// messages without their fixed part.
    pub fn decode(kind: u16, body: &[u8]) -> Option<Msg> {
        Some(match kind {
            link::RTM_NEWLINK => Msg::NewLink(LinkMsg::parse(body)?),
            link::RTM_DELLINK => Msg::DelLink(LinkMsg::parse(body)?),
            addr::RTM_NEWADDR => Msg::NewAddr(AddrMsg::parse(body)?),
            addr::RTM_DELADDR => Msg::DelAddr(AddrMsg::parse(body)?),
            route::RTM_NEWROUTE => Msg::NewRoute(RouteMsg::parse(body)?),
            route::RTM_DELROUTE => Msg::DelRoute(RouteMsg::parse(body)?),
            rule::RTM_NEWRULE => Msg::NewRule(RuleMsg::parse(body)?),
            rule::RTM_DELRULE => Msg::DelRule(RuleMsg::parse(body)?),
            neigh::RTM_NEWNEIGH => Msg::NewNeigh(NeighMsg::parse(body)?),
            _ => return None,
        })
    }
}

/// One thing the kernel said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// ACK (`errno == 0`) or NACK for request `seq`.
    Ack { seq: u32, errno: i32 },
    /// End of the dump answering `seq`.
    Done { seq: u32 },
    /// A message: part of a dump (`seq` != 0) or a notification (`seq` 0).
    Msg { seq: u32, msg: Msg },
}

/// Splits a datagram into replies, skipping what cannot be parsed.
pub fn parse(buf: &[u8]) -> Vec<Reply> {
    let mut out = Vec::new();
    for (h, body) in msg::messages(buf) {
        match h.kind {
            NLMSG_ERROR => match msg::u32_at(body, 0) {
                Some(e) => out.push(Reply::Ack {
                    seq: h.seq,
                    errno: (e as i32).saturating_abs(),
                }),
                None => log::debug!("netlink: short error message"),
            },
            NLMSG_DONE => out.push(Reply::Done { seq: h.seq }),
            kind => match Msg::decode(kind, body) {
                Some(msg) => out.push(Reply::Msg { seq: h.seq, msg }),
                None => log::debug!("netlink: skipped a message of type {kind}"),
            },
        }
    }
    out
}

/// An rtnetlink socket.
pub struct Nl {
    fd: OwnedFd,
    seq: u32,
    buf: Vec<u8>,
}

fn check(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn setsockopt<T>(fd: RawFd, level: libc::c_int, name: libc::c_int, v: &T) -> io::Result<()> {
    // SAFETY: `v` points to a live T of the given size.
    check(unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (v as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    })
    .map(drop)
}

impl Nl {
    /// A socket subscribed to the given `RTNLGRP_*` groups; blocking sockets
    /// time out after 5 s so a silent kernel cannot hang the daemon.
    pub fn new(groups: &[u32], nonblocking: bool) -> io::Result<Nl> {
        let mut ty = libc::SOCK_RAW | libc::SOCK_CLOEXEC;
        if nonblocking {
            ty |= libc::SOCK_NONBLOCK;
        }
        // SAFETY: plain socket(2); the fd is owned below.
        let raw = check(unsafe { libc::socket(libc::AF_NETLINK, ty, libc::NETLINK_ROUTE) })?;
        // SAFETY: `raw` is a fresh descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: an all-zero sockaddr_nl is valid (pid 0: the kernel
        // assigns ours on bind; as the peer, 0 is the kernel).
        let mut sa: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        sa.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        let sa_ptr = (&sa as *const libc::sockaddr_nl).cast::<libc::sockaddr>();
        let sa_len = std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;
        // SAFETY: a valid sockaddr_nl of the given length.
        check(unsafe { libc::bind(raw, sa_ptr, sa_len) })?;
        // SAFETY: as above.
        check(unsafe { libc::connect(raw, sa_ptr, sa_len) })?;
        // Small ACKs: do not echo our requests back in error messages.
        setsockopt(raw, SOL_NETLINK, NETLINK_CAP_ACK, &1 as &libc::c_int)?;
        let rcvbuf = SOCK_RCVBUF as libc::c_int;
        if setsockopt(raw, libc::SOL_SOCKET, libc::SO_RCVBUF, &rcvbuf).is_err() {
            log::debug!("netlink: cannot raise the receive buffer");
        }
        for g in groups {
            setsockopt(raw, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, g)?;
        }
        if !nonblocking {
            let tv = libc::timeval {
                tv_sec: 5,
                tv_usec: 0,
            };
            setsockopt(raw, libc::SOL_SOCKET, libc::SO_RCVTIMEO, &tv)?;
        }
        Ok(Nl {
            fd,
            seq: 0,
            buf: vec![0; RECV_BUF],
        })
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1).max(1);
        self.seq
    }

    /// Sends the requests (`NLM_F_REQUEST` is added; add `NLM_F_ACK`
    /// yourself) in one datagram; returns their sequence numbers.
    pub fn send(&mut self, reqs: Vec<(u16, Req)>) -> io::Result<Vec<u32>> {
        let mut out = Vec::new();
        let mut seqs = Vec::with_capacity(reqs.len());
        for (flags, req) in reqs {
            let seq = self.next_seq();
            seqs.push(seq);
            let len = u32::try_from(NLMSG_HDRLEN + req.body.len())
                .map_err(|_| io::Error::other("netlink request too long"))?;
            out.extend_from_slice(&len.to_ne_bytes());
            out.extend_from_slice(&req.kind.to_ne_bytes());
            out.extend_from_slice(&(NLM_F_REQUEST | flags).to_ne_bytes());
            out.extend_from_slice(&seq.to_ne_bytes());
            out.extend_from_slice(&0u32.to_ne_bytes());
            out.extend_from_slice(&req.body);
            out.resize(msg::align4(out.len()), 0);
        }
        if !out.is_empty() {
            // SAFETY: `out` is a live buffer of its length.
            let n = unsafe { libc::send(self.fd.as_raw_fd(), out.as_ptr().cast(), out.len(), 0) };
            if n < 0 {
                return Err(io::Error::last_os_error());
            }
            if n as usize != out.len() {
                return Err(io::Error::other("short netlink send"));
            }
        }
        Ok(seqs)
    }

    /// Reads one datagram. `WouldBlock` (non-blocking) and `ENOBUFS`
    /// (messages were lost: resynchronise) come back as errors.
    pub fn recv(&mut self) -> io::Result<Vec<Reply>> {
        // SAFETY: `buf` is a live buffer of its length.
        let n = unsafe {
            libc::recv(
                self.fd.as_raw_fd(),
                self.buf.as_mut_ptr().cast(),
                self.buf.len(),
                0,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let n = (n as usize).min(self.buf.len());
        Ok(parse(&self.buf[..n]))
    }

    /// Sends requests with `NLM_F_ACK` in batches and waits for every ACK.
    /// Returns `errno` per request, in order (0: success).
    pub fn request(&mut self, reqs: Vec<(u16, Req)>) -> io::Result<Vec<i32>> {
        let mut result = Vec::with_capacity(reqs.len());
        let mut it = reqs.into_iter().peekable();
        while it.peek().is_some() {
            let chunk: Vec<_> = it
                .by_ref()
                .take(BATCH)
                .map(|(f, m)| (f | NLM_F_ACK, m))
                .collect();
            let seqs = self.send(chunk)?;
            let mut codes = vec![None; seqs.len()];
            while codes.iter().any(Option::is_none) {
                for r in self.recv()? {
                    if let Reply::Ack { seq, errno } = r {
                        if let Some(i) = seqs.iter().position(|&s| s == seq) {
                            codes[i] = Some(errno);
                        }
                    }
                }
            }
            result.extend(codes.into_iter().map(|c| c.unwrap_or(0)));
        }
        Ok(result)
    }

    /// Sends one request on a fresh blocking socket and waits for its ACK:
    /// `Ok` or the kernel's errno as an error.
    pub fn request_once(flags: u16, req: Req) -> io::Result<()> {
        match Nl::new(&[], false)?.request(vec![(flags, req)])?.first() {
            Some(0) => Ok(()),
            Some(e) => Err(io::Error::from_raw_os_error(*e)),
            None => Err(io::Error::other("no answer from the kernel")),
        }
    }

    /// Runs a dump request and collects every message of the answer (which
    /// may span many datagrams).
    pub fn dump(&mut self, req: Req) -> io::Result<Vec<Msg>> {
        let seqs = self.send(vec![(NLM_F_DUMP, req)])?;
        let want = seqs.first().copied().unwrap_or(0);
        let mut out = Vec::new();
        loop {
            for r in self.recv()? {
                match r {
                    Reply::Msg { seq, msg } if seq == want => out.push(msg),
                    Reply::Done { seq } if seq == want => return Ok(out),
                    Reply::Ack { seq, errno } if seq == want && errno != 0 => {
                        return Err(io::Error::from_raw_os_error(errno))
                    }
                    _ => {}
                }
            }
        }
    }
}

impl AsRawFd for Nl {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl AsFd for Nl {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Is this the error a netlink socket returns after dropping messages?
pub fn is_overrun(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::ENOBUFS)
}

/// Waits up to `timeout` for `fd` to become readable.
pub fn wait_readable(fd: RawFd, timeout: Duration) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
    // SAFETY: one valid pollfd, count 1.
    unsafe { libc::poll(&mut p, 1, ms) > 0 }
}

#[cfg(test)]
mod tests {
    use super::msg::test_util::{attr, message};
    use super::msg::AF_INET6;
    use super::*;

    #[test]
    fn acks_dumps_and_notifications() {
        let mut d = Vec::new();
        // NACK: -EEXIST and the echoed request header (NETLINK_CAP_ACK).
        let mut err = (-libc::EEXIST).to_ne_bytes().to_vec();
        err.extend_from_slice(&[0; 16]);
        d.extend(message(NLMSG_ERROR, 0, 7, &err, &[]));
        // ACK.
        d.extend(message(NLMSG_ERROR, 0, 8, &0i32.to_ne_bytes(), &[]));
        // A route of a dump.
        let fixed = [AF_INET6, 128, 0, 0, 76, 77, 0, 1, 0, 0, 0, 0];
        let dst = attr(
            1,
            &"fd00::9".parse::<std::net::Ipv6Addr>().unwrap().octets(),
        );
        d.extend(message(route::RTM_NEWROUTE, 2, 9, &fixed, &[dst]));
        // A message type Roost does not know, a route without its fixed part.
        d.extend(message(0x40, 0, 9, &[1, 2, 3, 4], &[]));
        d.extend(message(route::RTM_NEWROUTE, 2, 9, &[1, 2], &[]));
        d.extend(message(NLMSG_DONE, 2, 9, &0i32.to_ne_bytes(), &[]));
        let got = parse(&d);
        assert_eq!(got.len(), 4);
        assert_eq!(
            got[0],
            Reply::Ack {
                seq: 7,
                errno: libc::EEXIST
            }
        );
        assert_eq!(got[1], Reply::Ack { seq: 8, errno: 0 });
        let Reply::Msg {
            seq: 9,
            msg: Msg::NewRoute(r),
        } = &got[2]
        else {
            panic!("{:?}", got[2]);
        };
        assert_eq!(r.dst, "fd00::9".parse().ok());
        assert_eq!(r.table, 76);
        assert_eq!(got[3], Reply::Done { seq: 9 });
        // Every prefix of the datagram parses without panicking.
        for n in 0..d.len() {
            assert!(parse(&d[..n]).len() <= got.len());
        }
    }

    #[test]
    fn live_link_dump() {
        // Any Linux host has `lo`; skip quietly where netlink is unavailable.
        let Ok(mut nl) = Nl::new(&[], false) else {
            return;
        };
        let links = nl.dump(link::dump_request()).unwrap_or_default();
        if links.is_empty() {
            return;
        }
        assert!(links
            .iter()
            .any(|m| matches!(m, Msg::NewLink(l) if l.name.as_deref() == Some("lo"))));
    }

    /// Datagrams this kernel (6.x, x86_64) sent for `ip`-style dumps in a
    /// namespace with lo, a veth pair, addresses, a proto-77 route in table
    /// 76 and a proto-77 rule (fuzz/corpus/rtnl; little-endian bytes).
    #[cfg(target_endian = "little")]
    #[test]
    fn captured_kernel_dumps() {
        let corpus = |f: &str| {
            std::fs::read(format!(
                "{}/fuzz/corpus/rtnl/{f}",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap_or_default()
        };
        let mut links = Vec::new();
        for f in ["link-0", "link-1", "link-2"] {
            links.extend(parse(&corpus(f)));
        }
        let names: Vec<_> = links
            .iter()
            .filter_map(|r| match r {
                Reply::Msg {
                    msg: Msg::NewLink(l),
                    ..
                } => l.name.clone(),
                _ => None,
            })
            .collect();
        assert_eq!(names, ["lo", "v1", "v0"]);
        assert_eq!(links.last(), Some(&Reply::Done { seq: 1 }));
        let ours: Vec<_> = parse(&corpus("route4-0"))
            .into_iter()
            .filter_map(|r| match r {
                Reply::Msg {
                    msg: Msg::NewRoute(m),
                    ..
                } if m.protocol == 77 => Some(m),
                _ => None,
            })
            .collect();
        assert_eq!(ours.len(), 1);
        assert_eq!(ours[0].table, 76);
        assert_eq!(ours[0].dst, "10.8.0.0".parse().ok());
        assert_eq!(ours[0].via, "fe80::1".parse().ok());
        assert_eq!(ours[0].priority, Some(3));
        let rules: Vec<_> = parse(&corpus("rule4-0"))
            .into_iter()
            .filter_map(|r| match r {
                Reply::Msg {
                    msg: Msg::NewRule(m),
                    ..
                } => Some(m),
                _ => None,
            })
            .collect();
        assert!(rules.iter().any(|r| r.priority == Some(7500)
            && r.protocol == Some(77)
            && r.suppress_prefixlen == Some(0)
            && r.table == 254));
        let addrs = parse(&corpus("addr4-0"));
        assert!(addrs.iter().any(|r| matches!(r,
            Reply::Msg { msg: Msg::NewAddr(a), .. } if a.local_addr() == "10.9.0.1".parse().ok()
                && a.prefix_len == 24)));
    }
}
