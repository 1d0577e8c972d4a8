//! The 12-byte datagram header.
//!
//! ```text
//!  0       1       2       3       4       5       6               8
//! +-------+-------+-------+-------+-------+-------+---------------+
//! | 'R'   | 'o'   |version| type  | flags | rsvd  | length (be16) |
//! +-------+-------+-------+-------+-------+-------+---------------+
//! | hello seqno   | hello interval|  messages ...
//! +---------------+---------------+
//!  8               10              12
//! ```

use super::{be16, Error};

pub const MAGIC: [u8; 2] = *b"Ro";
pub const VERSION: u8 = 1;
pub const TYPE_ROUTING: u8 = 1;
pub const HEADER_LEN: usize = 12;
/// An authentication trailer follows the `length` bytes.
pub const FLAG_AUTH: u8 = 0x01;
/// The sender asks every neighbour on this link for a full table dump.
pub const FLAG_DUMP_REQ: u8 = 0x02;

mod field {
    use std::ops::Range;
    pub const MAGIC: Range<usize> = 0..2;
    pub const VERSION: usize = 2;
    pub const TYPE: usize = 3;
    pub const FLAGS: usize = 4;
    pub const RESERVED: usize = 5;
    pub const LENGTH: Range<usize> = 6..8;
    pub const SEQNO: Range<usize> = 8..10;
    pub const INTERVAL: Range<usize> = 10..12;
}

/// A read/write view of a datagram header.
#[derive(Debug, Clone, Copy)]
pub struct Header<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Header<T> {
    pub fn new_unchecked(buffer: T) -> Header<T> {
        Header { buffer }
    }

    /// `new_unchecked` followed by `check_len`.
    pub fn new_checked(buffer: T) -> Result<Header<T>, Error> {
        let h = Header::new_unchecked(buffer);
        h.check_len()?;
        Ok(h)
    }

    /// Ensures every accessor stays in bounds: the buffer holds the fixed
    /// header and at least `length` bytes, and `length` covers the header.
    pub fn check_len(&self) -> Result<(), Error> {
        let b = self.buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let len = usize::from(self.length());
        if len < HEADER_LEN {
            return Err(Error::BadLength);
        }
        if b.len() < len {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    pub fn magic(&self) -> [u8; 2] {
        let b = self.buffer.as_ref();
        [b[field::MAGIC.start], b[field::MAGIC.start + 1]]
    }
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VERSION]
    }
    pub fn packet_type(&self) -> u8 {
        self.buffer.as_ref()[field::TYPE]
    }
    pub fn flags(&self) -> u8 {
        self.buffer.as_ref()[field::FLAGS]
    }
    pub fn length(&self) -> u16 {
        be16(self.buffer.as_ref(), field::LENGTH.start)
    }
    pub fn seqno(&self) -> u16 {
        be16(self.buffer.as_ref(), field::SEQNO.start)
    }
    /// Hello interval in units of 10 ms.
    pub fn interval(&self) -> u16 {
        be16(self.buffer.as_ref(), field::INTERVAL.start)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Header<T> {
    fn put16(&mut self, at: usize, v: u16) {
        self.buffer.as_mut()[at..at + 2].copy_from_slice(&v.to_be_bytes());
    }
    pub fn set_magic(&mut self) {
        self.buffer.as_mut()[field::MAGIC].copy_from_slice(&MAGIC);
    }
    pub fn set_version(&mut self, v: u8) {
        self.buffer.as_mut()[field::VERSION] = v;
    }
    pub fn set_packet_type(&mut self, v: u8) {
        self.buffer.as_mut()[field::TYPE] = v;
    }
    pub fn set_flags(&mut self, v: u8) {
        self.buffer.as_mut()[field::FLAGS] = v;
        self.buffer.as_mut()[field::RESERVED] = 0;
    }
    pub fn set_length(&mut self, v: u16) {
        self.put16(field::LENGTH.start, v);
    }
    pub fn set_seqno(&mut self, v: u16) {
        self.put16(field::SEQNO.start, v);
    }
    pub fn set_interval(&mut self, v: u16) {
        self.put16(field::INTERVAL.start, v);
    }
}

/// A validated header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderRepr {
    pub flags: u8,
    /// Header + messages, trailer excluded. Set by `Builder::finish`.
    pub length: u16,
    /// Per-sender, per-interface datagram counter (wraps).
    pub seqno: u16,
    /// The sender's hello interval in milliseconds (sent in 10 ms units).
    pub interval_ms: u32,
}

impl HeaderRepr {
    /// Parses a header whose length was checked (`Header::new_checked`).
    pub fn parse<T: AsRef<[u8]>>(h: &Header<T>) -> Result<HeaderRepr, Error> {
        h.check_len()?;
        if h.magic() != MAGIC {
            return Err(Error::BadMagic);
        }
        if h.version() != VERSION {
            return Err(Error::BadVersion);
        }
        if h.packet_type() != TYPE_ROUTING {
            return Err(Error::BadType);
        }
        Ok(HeaderRepr {
            flags: h.flags(),
            length: h.length(),
            seqno: h.seqno(),
            interval_ms: u32::from(h.interval()) * 10,
        })
    }

    /// Writes all 12 header bytes. The buffer must hold `HEADER_LEN` bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, h: &mut Header<T>) {
        h.set_magic();
        h.set_version(VERSION);
        h.set_packet_type(TYPE_ROUTING);
        h.set_flags(self.flags);
        h.set_length(self.length);
        h.set_seqno(self.seqno);
        h.set_interval(u16::try_from(self.interval_ms.div_ceil(10)).unwrap_or(u16::MAX));
    }
}
