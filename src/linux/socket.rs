//! One UDP socket per mesh interface.
//!
//! The socket is bound to `[::]:port` *after* `SO_BINDTODEVICE`, and without
//! `SO_REUSEADDR`: the kernel then treats sockets bound to different devices
//! as distinct, so one daemon can have a socket per interface, while a second
//! daemon (or any other program) on the same interface and port gets
//! `EADDRINUSE`, which is reported as a clear error.
//!
//! Multicast: joined on the interface's ifindex, hop limit 1, no loopback,
//! `IPV6_MULTICAST_IF` set; datagrams go to `[group%ifindex]:port` from the
//! interface's link-local address (given per datagram with `IPV6_PKTINFO`).
//! `IPV6_RECVPKTINFO` tells which interface a datagram arrived on.

use std::ffi::OsString;
use std::io::{self, IoSlice, IoSliceMut};
use std::net::{Ipv6Addr, SocketAddrV6};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use nix::sys::socket::{
    self, sockopt, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags, SockFlag,
    SockType, SockaddrIn6,
};

use super::link::is_link_local;

/// IPv6 (40) + UDP (8) header bytes.
pub const HEADER_OVERHEAD: u32 = 48;

/// Why a socket could not be opened.
#[derive(Debug)]
pub enum OpenError {
    /// The port is taken on this interface (another roost?).
    InUse,
    Other(io::Error),
}

pub struct MeshSocket {
    fd: OwnedFd,
    ifindex: u32,
    group: SockaddrIn6,
    /// Send packet info with interface index 0 (set after the kernel
    /// refused our index with EINVAL: qemu-user passes `in6_pktinfo`
    /// through unswapped to big-endian guests).
    pktinfo_any: std::cell::Cell<bool>,
}

fn set_int(fd: &OwnedFd, level: libc::c_int, name: libc::c_int, v: libc::c_int) -> io::Result<()> {
    set_raw(fd, level, name, &v)
}

fn set_raw<T>(fd: &OwnedFd, level: libc::c_int, name: libc::c_int, v: &T) -> io::Result<()> {
    let len = libc::socklen_t::try_from(std::mem::size_of::<T>())
        .map_err(|_| io::Error::other("option too large"))?;
    // SAFETY: `v` points to a live T of `len` bytes; the fd is open.
    let r = unsafe { libc::setsockopt(fd.as_raw_fd(), level, name, (v as *const T).cast(), len) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

impl MeshSocket {
    pub fn open(
        ifname: &str,
        ifindex: u32,
        group: Ipv6Addr,
        port: u16,
    ) -> Result<MeshSocket, OpenError> {
        let other = |e: nix::Error| OpenError::Other(io::Error::from(e));
        let fd = socket::socket(
            AddressFamily::Inet6,
            SockType::Datagram,
            SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
            None,
        )
        .map_err(other)?;
        socket::setsockopt(&fd, sockopt::BindToDevice, &OsString::from(ifname)).map_err(other)?;
        socket::setsockopt(&fd, sockopt::Ipv6V6Only, &true).map_err(other)?;
        socket::setsockopt(&fd, sockopt::Ipv6RecvPacketInfo, &true).map_err(other)?;
        let ifindex_c = libc::c_int::try_from(ifindex)
            .map_err(|_| OpenError::Other(io::Error::other("ifindex out of range")))?;
        let o = OpenError::Other;
        set_int(&fd, libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_HOPS, 1).map_err(o)?;
        set_int(&fd, libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_LOOP, 0).map_err(o)?;
        // Every datagram names its interface (scope id and packet info), so
        // the default multicast interface is only a belt to those braces;
        // qemu-user, for one, does not know this option.
        if let Err(e) = set_int(&fd, libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_IF, ifindex_c) {
            if e.raw_os_error() != Some(libc::ENOPROTOOPT) {
                return Err(o(e));
            }
        }
        let any = SockaddrIn6::from(SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, port, 0, 0));
        match socket::bind(fd.as_raw_fd(), &any) {
            Ok(()) => {}
            Err(nix::Error::EADDRINUSE) => return Err(OpenError::InUse),
            Err(e) => return Err(other(e)),
        }
        let mreq = libc::ipv6_mreq {
            ipv6mr_multiaddr: libc::in6_addr {
                s6_addr: group.octets(),
            },
            ipv6mr_interface: ifindex,
        };
        set_raw(&fd, libc::IPPROTO_IPV6, libc::IPV6_ADD_MEMBERSHIP, &mreq).map_err(o)?;
        Ok(MeshSocket {
            fd,
            ifindex,
            group: SockaddrIn6::from(SocketAddrV6::new(group, port, 0, ifindex)),
            pktinfo_any: std::cell::Cell::new(false),
        })
    }

    /// Sends one datagram to the group from link-local `src`.
    pub fn send(&self, bytes: &[u8], src: Ipv6Addr) -> io::Result<()> {
        let r = self.send_with(bytes, src, self.pktinfo_any.get());
        if r.as_ref()
            .is_err_and(|e| e.raw_os_error() == Some(libc::EINVAL))
            && !self.pktinfo_any.get()
        {
            // The interface is fixed by the device binding and the group's
            // scope id anyway; index 0 says "that one".
            self.pktinfo_any.set(true);
            return self.send_with(bytes, src, true);
        }
        r
    }

    fn send_with(&self, bytes: &[u8], src: Ipv6Addr, any: bool) -> io::Result<()> {
        let info = libc::in6_pktinfo {
            ipi6_addr: libc::in6_addr {
                s6_addr: src.octets(),
            },
            ipi6_ifindex: if any { 0 } else { self.ifindex },
        };
        let cmsg = [ControlMessage::Ipv6PacketInfo(&info)];
        let iov = [IoSlice::new(bytes)];
        socket::sendmsg(
            self.fd.as_raw_fd(),
            &iov,
            &cmsg,
            MsgFlags::empty(),
            Some(&self.group),
        )
        .map(drop)
        .map_err(io::Error::from)
    }

    /// Receives one datagram into `buf`: `Ok(None)` when none is waiting.
    /// Datagrams from other interfaces, truncated ones and ones from
    /// non-link-local sources come back as [`Received::Dropped`].
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Option<Received>> {
        let mut cmsg = nix::cmsg_space!(libc::in6_pktinfo);
        let mut iov = [IoSliceMut::new(buf)];
        let msg = match socket::recvmsg::<SockaddrIn6>(
            self.fd.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::empty(),
        ) {
            Ok(m) => m,
            Err(nix::Error::EAGAIN) => return Ok(None),
            Err(e) => return Err(io::Error::from(e)),
        };
        let len = msg.bytes;
        if msg.flags.contains(MsgFlags::MSG_TRUNC) {
            return Ok(Some(Received::Dropped("truncated")));
        }
        let mut ifindex = None;
        if let Ok(cmsgs) = msg.cmsgs() {
            for c in cmsgs {
                if let ControlMessageOwned::Ipv6PacketInfo(i) = c {
                    ifindex = Some(i.ipi6_ifindex);
                }
            }
        }
        // qemu-user hands big-endian guests the index in the host's byte
        // order; no real interface has that other index.
        if ifindex.is_some_and(|i| i != self.ifindex && i.swap_bytes() != self.ifindex) {
            return Ok(Some(Received::Dropped("wrong interface")));
        }
        let Some(src) = msg.address.map(|a| a.ip()) else {
            return Ok(Some(Received::Dropped("no source address")));
        };
        if !is_link_local(&src) {
            return Ok(Some(Received::Dropped("source not link-local")));
        }
        Ok(Some(Received::Packet { src, len }))
    }
}

/// One received datagram.
#[derive(Debug, PartialEq, Eq)]
pub enum Received {
    Packet { src: Ipv6Addr, len: usize },
    Dropped(&'static str),
}

impl AsRawFd for MeshSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}
