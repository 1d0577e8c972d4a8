//! Netlink framing: message headers, the attribute iterator and the request
//! writer. Everything is host byte order except addresses (network order,
//! as raw bytes). Reading is tolerant: a malformed or truncated attribute
//! ends the walk and what came before it is kept; nothing here panics or
//! allocates more than the input's size.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// `struct nlmsghdr`.
pub const NLMSG_HDRLEN: usize = 16;

pub const NLMSG_NOOP: u16 = 1;
pub const NLMSG_ERROR: u16 = 2;
pub const NLMSG_DONE: u16 = 3;

pub const NLM_F_REQUEST: u16 = 0x1;
pub const NLM_F_ACK: u16 = 0x4;
pub const NLM_F_REPLACE: u16 = 0x100;
pub const NLM_F_EXCL: u16 = 0x200;
pub const NLM_F_CREATE: u16 = 0x400;
pub const NLM_F_DUMP: u16 = 0x300;

pub const AF_INET: u8 = 2;
pub const AF_INET6: u8 = 10;

/// `nla_type` bits that are flags, not the type (NLA_F_NESTED,
/// NLA_F_NET_BYTEORDER).
const NLA_TYPE_MASK: u16 = 0x3fff;

/// The next multiple of 4 (NLMSG_ALIGN, NLA_ALIGN).
pub fn align4(n: usize) -> usize {
    n.saturating_add(3) & !3
}

/// A netlink message header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub kind: u16,
    pub flags: u16,
    pub seq: u32,
}

/// Splits a datagram into (header, body) pairs. Stops at the first message
/// whose length is impossible (shorter than a header or past the end).
pub struct Messages<'a>(&'a [u8]);

pub fn messages(buf: &[u8]) -> Messages<'_> {
    Messages(buf)
}

impl<'a> Iterator for Messages<'a> {
    type Item = (Header, &'a [u8]);

    fn next(&mut self) -> Option<(Header, &'a [u8])> {
        let b = self.0;
        let len = usize::try_from(u32_at(b, 0)?).ok()?;
        if len < NLMSG_HDRLEN || len > b.len() {
            self.0 = &[];
            return None;
        }
        let h = Header {
            kind: u16_at(b, 4)?,
            flags: u16_at(b, 6)?,
            seq: u32_at(b, 8)?,
        };
        let body = b.get(NLMSG_HDRLEN..len)?;
        self.0 = b.get(align4(len)..).unwrap_or(&[]);
        Some((h, body))
    }
}

/// One attribute: its type (flag bits removed) and payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attr<'a> {
    pub kind: u16,
    pub data: &'a [u8],
}

impl Attr<'_> {
    /// A u32 payload (exactly 4 bytes).
    pub fn u32(&self) -> Option<u32> {
        <[u8; 4]>::try_from(self.data).ok().map(u32::from_ne_bytes)
    }

    /// A u8 payload (exactly 1 byte).
    pub fn u8(&self) -> Option<u8> {
        match self.data {
            [b] => Some(*b),
            _ => None,
        }
    }

    /// An address of `family` (4 or 16 bytes, network order).
    pub fn ip(&self, family: u8) -> Option<IpAddr> {
        ip_from(family, self.data)
    }

    /// A NUL-terminated string (the NUL is optional); invalid UTF-8 is
    /// replaced.
    pub fn string(&self) -> String {
        let s = self.data.split(|&b| b == 0).next().unwrap_or(&[]);
        String::from_utf8_lossy(s).into_owned()
    }
}

/// An address of `family` from exactly 4 (AF_INET) or 16 (AF_INET6) bytes.
pub fn ip_from(family: u8, data: &[u8]) -> Option<IpAddr> {
    match family {
        AF_INET => <[u8; 4]>::try_from(data)
            .ok()
            .map(|a| IpAddr::V4(Ipv4Addr::from(a))),
        AF_INET6 => <[u8; 16]>::try_from(data)
            .ok()
            .map(|a| IpAddr::V6(Ipv6Addr::from(a))),
        _ => None,
    }
}

/// The attributes of a message body after its fixed part of `fixed` bytes.
/// Ends at the first attribute whose length is impossible: what follows a
/// broken length cannot be found again.
pub struct Attrs<'a>(&'a [u8]);

pub fn attrs(body: &[u8], fixed: usize) -> Attrs<'_> {
    Attrs(body.get(align4(fixed)..).unwrap_or(&[]))
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Attr<'a>;

    fn next(&mut self) -> Option<Attr<'a>> {
        let b = self.0;
        let len = usize::from(u16_at(b, 0)?);
        let kind = u16_at(b, 2)? & NLA_TYPE_MASK;
        let Some(data) = b.get(4..len) else {
            // len < 4 or past the end (e.g. a header left in the other byte
            // order by an emulator): stop, keep what came before.
            self.0 = &[];
            return None;
        };
        self.0 = b.get(align4(len)..).unwrap_or(&[]);
        Some(Attr { kind, data })
    }
}

pub fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_ne_bytes([s[0], s[1]]))
}

pub fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_ne_bytes([s[0], s[1], s[2], s[3]]))
}

/// A request ready to send: message type and body (fixed part and
/// attributes); the socket adds the header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Req {
    pub kind: u16,
    pub body: Vec<u8>,
}

/// Builds a request body: the fixed part, then attributes.
pub struct Writer(Vec<u8>);

impl Writer {
    pub fn new(fixed: &[u8]) -> Writer {
        let mut v = Vec::with_capacity(64);
        v.extend_from_slice(fixed);
        v.resize(align4(v.len()), 0);
        Writer(v)
    }

    /// Appends an attribute (payloads here are small; a payload too long for
    /// an attribute is cut).
    pub fn attr(&mut self, kind: u16, data: &[u8]) -> &mut Writer {
        let data = &data[..data.len().min(usize::from(u16::MAX) - 4)];
        let len = (data.len() + 4) as u16;
        self.0.extend_from_slice(&len.to_ne_bytes());
        self.0.extend_from_slice(&kind.to_ne_bytes());
        self.0.extend_from_slice(data);
        self.0.resize(align4(self.0.len()), 0);
        self
    }

    pub fn u32(&mut self, kind: u16, v: u32) -> &mut Writer {
        self.attr(kind, &v.to_ne_bytes())
    }

    pub fn u8(&mut self, kind: u16, v: u8) -> &mut Writer {
        self.attr(kind, &[v])
    }

    pub fn ip(&mut self, kind: u16, a: IpAddr) -> &mut Writer {
        match a {
            IpAddr::V4(a) => self.attr(kind, &a.octets()),
            IpAddr::V6(a) => self.attr(kind, &a.octets()),
        }
    }

    pub fn finish(self, kind: u16) -> Req {
        Req { kind, body: self.0 }
    }
}

/// The family byte of an address.
pub fn family_of(a: &IpAddr) -> u8 {
    match a {
        IpAddr::V4(_) => AF_INET,
        IpAddr::V6(_) => AF_INET6,
    }
}

/// Builders of kernel-style messages for tests (host byte order).
#[cfg(test)]
pub mod test_util {
    use super::*;

    /// An attribute in host order, as the kernel writes it.
    pub fn attr(kind: u16, data: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&((data.len() + 4) as u16).to_ne_bytes());
        v.extend_from_slice(&kind.to_ne_bytes());
        v.extend_from_slice(data);
        v.resize(align4(v.len()), 0);
        v
    }

    /// A whole message: header, fixed part, attributes.
    pub fn message(kind: u16, flags: u16, seq: u32, fixed: &[u8], attrs: &[Vec<u8>]) -> Vec<u8> {
        let mut body = fixed.to_vec();
        body.resize(align4(body.len()), 0);
        for a in attrs {
            body.extend_from_slice(a);
        }
        let mut v = Vec::new();
        v.extend_from_slice(&((NLMSG_HDRLEN + body.len()) as u32).to_ne_bytes());
        v.extend_from_slice(&kind.to_ne_bytes());
        v.extend_from_slice(&flags.to_ne_bytes());
        v.extend_from_slice(&seq.to_ne_bytes());
        v.extend_from_slice(&0u32.to_ne_bytes());
        v.extend_from_slice(&body);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::test_util::attr;
    use super::*;

    #[test]
    fn attributes_walk_and_stop_at_garbage() {
        let mut b = attr(3, b"eth0\0");
        b.extend(attr(4, &1500u32.to_ne_bytes()));
        b.extend(attr(0x8000 | 7, &[])); // nested flag stripped
                                         // A final empty nested attribute left in the other byte order (as
                                         // qemu-mips leaves the last one of RTM_NEWLINK): length 4 reads as
                                         // 1024.
        let mut last = attr(0x8000 | 54, &[]);
        last[..2].reverse();
        last[2..4].reverse();
        b.extend(last);
        let got: Vec<_> = attrs(&b, 0).collect();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].string(), "eth0");
        assert_eq!(got[1].u32(), Some(1500));
        assert_eq!(got[2].kind, 7);
        assert!(got[2].data.is_empty());
    }

    #[test]
    fn truncated_and_short_attributes() {
        let mut b = attr(4, &1500u32.to_ne_bytes());
        b.extend(attr(4, &[1, 2])); // wrong size: kept as an attribute, no u32
        let whole = b.clone();
        b.truncate(b.len() - 3);
        let got: Vec<_> = attrs(&b, 0).collect();
        assert_eq!(got.len(), 1);
        let got: Vec<_> = attrs(&whole, 0).collect();
        assert_eq!(got[1].u32(), None);
        // Length below the header size.
        let mut z = vec![0u8; 8];
        z[..2].copy_from_slice(&2u16.to_ne_bytes());
        assert_eq!(attrs(&z, 0).count(), 0);
        // Fixed part longer than the body.
        assert_eq!(attrs(&whole, 64).count(), 0);
        // A last attribute without padding.
        let mut p = attr(3, b"ab");
        p.truncate(6);
        assert_eq!(attrs(&p, 0).next().map(|a| a.string()), Some("ab".into()));
    }

    #[test]
    fn writer_round_trip() {
        let mut w = Writer::new(&[1, 2, 3]);
        w.u32(6, 77).u8(11, 3).ip(1, "fd00::1".parse().unwrap());
        let r = w.finish(24);
        assert_eq!(r.body.len() % 4, 0);
        let got: Vec<_> = attrs(&r.body, 3).collect();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].u32(), Some(77));
        assert_eq!(got[1].u8(), Some(3));
        assert_eq!(got[2].ip(AF_INET6), "fd00::1".parse().ok());
        assert_eq!(got[2].ip(AF_INET), None);
    }

    #[test]
    fn message_split() {
        let mut d = Vec::new();
        for (seq, body) in [(1u32, &[9u8, 9, 9][..]), (2, &[][..])] {
            let len = (NLMSG_HDRLEN + body.len()) as u32;
            d.extend_from_slice(&len.to_ne_bytes());
            d.extend_from_slice(&NLMSG_DONE.to_ne_bytes());
            d.extend_from_slice(&2u16.to_ne_bytes());
            d.extend_from_slice(&seq.to_ne_bytes());
            d.extend_from_slice(&0u32.to_ne_bytes());
            d.extend_from_slice(body);
            d.resize(align4(d.len()), 0);
        }
        let got: Vec<_> = messages(&d).collect();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0.seq, 1);
        assert_eq!(got[0].1, &[9, 9, 9]);
        assert_eq!(got[1].0.kind, NLMSG_DONE);
        // A length past the end ends the walk.
        d[16 + 4..16 + 8].copy_from_slice(&1000u32.to_ne_bytes());
        assert_eq!(messages(&d).count(), 1);
    }
}
