//! Wire format v1 (see `docs/PROTOCOL.md`): zero-copy views over received
//! bytes and validated `Repr` types that parse from and emit into them.
//!
//! Layout of a datagram:
//!
//! ```text
//! +-----------------------+----------------------------------+-------------+
//! | header (12 bytes)     | messages (type u8, len u8, body) | [trailer]   |
//! +-----------------------+----------------------------------+-------------+
//! ```
//!
//! Parsing never panics and never allocates: views borrow the datagram, and
//! iterators walk it. Every malformed input maps to an [`Error`].

mod error;
mod header;
mod ihu;
mod message;
mod ogm;
mod tlv;

pub use error::Error;
pub use header::{
    Header, HeaderRepr, FLAG_AUTH, FLAG_DUMP_REQ, HEADER_LEN, MAGIC, TYPE_ROUTING, VERSION,
};
pub use ihu::{IhuEntry, IhuRepr, IHU_ENTRY_LEN};
pub use message::{Message, Messages, MSG_HEADER_LEN, MSG_IHU, MSG_OGM};
pub use ogm::{OgmRepr, OGM_FIXED_LEN, OGM_FLAG_UPDATE};
pub use tlv::{
    NeighbourList, Tlv, Tlvs, NEIGHBOUR_ENTRY_LEN, NODE_ID_LEN, TLV_GATEWAY, TLV_GW_CHOICE,
    TLV_HOSTNAME, TLV_NEIGHBOURS, TLV_NODE_ID, TLV_PREFIX4, TLV_PREFIX6,
};

/// Checked big-endian reads; callers validate lengths first (`check_len`).
pub(crate) fn be16(b: &[u8], at: usize) -> u16 {
    match b.get(at..at + 2) {
        Some(s) => u16::from_be_bytes([s[0], s[1]]),
        None => 0,
    }
}

pub(crate) fn be32(b: &[u8], at: usize) -> u32 {
    match b.get(at..at + 4) {
        Some(s) => u32::from_be_bytes([s[0], s[1], s[2], s[3]]),
        None => 0,
    }
}

/// A parsed datagram: its header and a view of its messages.
#[derive(Debug, Clone, Copy)]
pub struct Datagram<'a> {
    pub header: HeaderRepr,
    /// The message area (between header and `length`).
    pub messages: Messages<'a>,
    /// Bytes after `length` (only allowed with `FLAG_AUTH`).
    pub trailer: &'a [u8],
}

/// Parses a whole datagram: header checks plus a validating walk of every
/// message (and every TLV inside OGMs), so callers iterate without errors.
pub fn parse(bytes: &[u8]) -> Result<Datagram<'_>, Error> {
    let hdr = Header::new_checked(bytes)?;
    let header = HeaderRepr::parse(&hdr)?;
    let len = usize::from(header.length);
    let body = bytes.get(HEADER_LEN..len).ok_or(Error::Truncated)?;
    let trailer = bytes.get(len..).unwrap_or(&[]);
    if !trailer.is_empty() && header.flags & FLAG_AUTH == 0 {
        return Err(Error::TrailingBytes);
    }
    let messages = Messages::new(body);
    for m in messages {
        let m = m?;
        match m.kind {
            MSG_IHU => {
                IhuRepr::parse(m.body)?;
            }
            MSG_OGM => {
                let ogm = OgmRepr::parse(m.body)?;
                for t in ogm.tlvs() {
                    t?;
                }
            }
            _ => {}
        }
    }
    Ok(Datagram {
        header,
        messages,
        trailer,
    })
}

/// Builds a datagram into a buffer of bounded size.
#[derive(Debug)]
pub struct Builder {
    buf: Vec<u8>,
    limit: usize,
}

impl Builder {
    /// Starts a datagram no longer than `limit` bytes (clamped to 65535).
    pub fn new(header: HeaderRepr, limit: usize) -> Builder {
        let limit = limit.clamp(HEADER_LEN + MSG_HEADER_LEN, usize::from(u16::MAX));
        let mut buf = vec![0u8; HEADER_LEN];
        header.emit(&mut Header::new_unchecked(&mut buf[..]));
        Builder { buf, limit }
    }

    /// Bytes still free for messages (including their 2-byte headers).
    pub fn room(&self) -> usize {
        self.limit.saturating_sub(self.buf.len())
    }

    pub fn is_empty(&self) -> bool {
        self.buf.len() == HEADER_LEN
    }

    /// Appends one message whose body `emit` writes into `len` bytes.
    /// Returns false (and appends nothing) if it does not fit or `len` > 255.
    pub fn push(&mut self, kind: u8, len: usize, emit: impl FnOnce(&mut [u8])) -> bool {
        if len > 255 || MSG_HEADER_LEN + len > self.room() {
            return false;
        }
        let at = self.buf.len();
        self.buf.resize(at + MSG_HEADER_LEN + len, 0);
        self.buf[at] = kind;
        self.buf[at + 1] = len as u8;
        emit(&mut self.buf[at + MSG_HEADER_LEN..]);
        true
    }

    /// Finishes: writes the length field and returns the datagram.
    pub fn finish(mut self) -> Vec<u8> {
        let len = self.buf.len() as u16;
        Header::new_unchecked(&mut self.buf[..]).set_length(len);
        self.buf
    }
}

#[cfg(test)]
mod tests;
