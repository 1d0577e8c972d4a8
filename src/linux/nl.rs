//! A thin rtnetlink socket: batching, sequence numbers, ACK and dump parsing.
//! Nothing received from the kernel is trusted to parse: malformed messages
//! are skipped (and logged), never unwrapped.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::time::Duration;

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

use super::log;

/// Largest number of requests sent in one datagram; also bounds the ACKs
/// a blocking batch leaves queued in the receive buffer.
pub const BATCH: usize = 64;
const RECV_BUF: usize = 64 * 1024;
const SOCK_RCVBUF: usize = 1024 * 1024;

/// One thing the kernel said.
#[derive(Debug)]
pub enum Reply {
    /// ACK (`errno == 0`) or NACK for request `seq`.
    Ack { seq: u32, errno: i32 },
    /// End of the dump answering `seq`.
    Done { seq: u32 },
    /// A message: part of a dump (`seq` != 0) or a notification (`seq` 0).
    Msg { seq: u32, msg: RouteNetlinkMessage },
}

pub struct Nl {
    sock: Socket,
    seq: u32,
    buf: Vec<u8>,
}

impl Nl {
    /// A socket subscribed to the given `RTNLGRP_*` groups; blocking sockets
    /// time out after 5 s so a silent kernel cannot hang the daemon.
    pub fn new(groups: &[u32], nonblocking: bool) -> io::Result<Nl> {
        let mut sock = Socket::new(NETLINK_ROUTE)?;
        sock.bind_auto()?;
        sock.connect(&SocketAddr::new(0, 0))?;
        // Small ACKs: do not echo our requests back in error messages.
        sock.set_cap_ack(true)?;
        if sock.set_rx_buf_sz(SOCK_RCVBUF).is_err() {
            log::debug!("netlink: cannot raise the receive buffer");
        }
        for &g in groups {
            sock.add_membership(g)?;
        }
        if nonblocking {
            sock.set_non_blocking(true)?;
        } else {
            let tv = nix::sys::time::TimeVal::new(5, 0);
            nix::sys::socket::setsockopt(&sock, nix::sys::socket::sockopt::ReceiveTimeout, &tv)
                .map_err(io::Error::from)?;
        }
        Ok(Nl {
            sock,
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
    pub fn send(&mut self, reqs: Vec<(u16, RouteNetlinkMessage)>) -> io::Result<Vec<u32>> {
        let mut out = Vec::new();
        let mut seqs = Vec::with_capacity(reqs.len());
        for (flags, msg) in reqs {
            let mut hdr = NetlinkHeader::default();
            hdr.flags = NLM_F_REQUEST | flags;
            hdr.sequence_number = self.next_seq();
            seqs.push(hdr.sequence_number);
            let mut m = NetlinkMessage::new(hdr, NetlinkPayload::from(msg));
            m.finalize();
            let start = out.len();
            out.resize(start + m.buffer_len(), 0);
            m.serialize(&mut out[start..]);
            // NLMSG_ALIGN
            out.resize(out.len().next_multiple_of(4), 0);
        }
        if !out.is_empty() {
            let n = self.sock.send(&out, 0)?;
            if n != out.len() {
                return Err(io::Error::other("short netlink send"));
            }
        }
        Ok(seqs)
    }

    /// Reads one datagram. `WouldBlock` (non-blocking) and `ENOBUFS`
    /// (messages were lost: resynchronise) come back as errors.
    pub fn recv(&mut self) -> io::Result<Vec<Reply>> {
        let n = self.sock.recv(&mut &mut self.buf[..], 0)?;
        let n = n.min(self.buf.len());
        Ok(parse(&self.buf[..n]))
    }

    /// Sends requests with `NLM_F_ACK` in batches and waits for every ACK.
    /// Returns `errno` per request, in order (0: success).
    pub fn request(&mut self, reqs: Vec<(u16, RouteNetlinkMessage)>) -> io::Result<Vec<i32>> {
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

    /// Runs a dump request and collects every message of the answer.
    pub fn dump(&mut self, msg: RouteNetlinkMessage) -> io::Result<Vec<RouteNetlinkMessage>> {
        let seqs = self.send(vec![(NLM_F_DUMP, msg)])?;
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

/// Splits a datagram into messages.
pub fn parse(mut buf: &[u8]) -> Vec<Reply> {
    let mut out = Vec::new();
    while buf.len() >= 16 {
        let len = u32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
        if len < 16 || len > buf.len() {
            log::debug!("netlink: bad message length {len}");
            break;
        }
        let seq = u32::from_ne_bytes([buf[8], buf[9], buf[10], buf[11]]);
        match NetlinkMessage::<RouteNetlinkMessage>::deserialize(&buf[..len]) {
            Ok(m) => match m.payload {
                NetlinkPayload::Error(e) => out.push(Reply::Ack {
                    seq,
                    errno: e.raw_code().saturating_abs(),
                }),
                NetlinkPayload::Done(_) => out.push(Reply::Done { seq }),
                NetlinkPayload::InnerMessage(msg) => out.push(Reply::Msg { seq, msg }),
                _ => {}
            },
            Err(e) => log::debug!("netlink: cannot parse a message: {e}"),
        }
        let step = len.next_multiple_of(4).min(buf.len());
        buf = &buf[step..];
    }
    out
}

impl AsRawFd for Nl {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

impl AsFd for Nl {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
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
