//! IHU ("I heard you") message body: a list of 9-byte entries.
//!
//! ```text
//! +----------------------------------+--------+
//! | interface id (8 bytes)           | rxq u8 |
//! +----------------------------------+--------+
//! ```
//! The interface id is the low 64 bits of the neighbour's IPv6 link-local
//! address; rxq is the fraction (0..=255) of its datagrams we received.

use std::net::Ipv6Addr;

use super::Error;

pub const IHU_ENTRY_LEN: usize = 9;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IhuEntry {
    pub iid: [u8; 8],
    pub rxq: u8,
}

impl IhuEntry {
    /// The interface id of a link-local address.
    pub fn iid_of(addr: &Ipv6Addr) -> [u8; 8] {
        let o = addr.octets();
        [o[8], o[9], o[10], o[11], o[12], o[13], o[14], o[15]]
    }
}

/// A validated IHU body (borrowed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IhuRepr<'a> {
    body: &'a [u8],
}

impl<'a> IhuRepr<'a> {
    pub fn parse(body: &'a [u8]) -> Result<IhuRepr<'a>, Error> {
        if !body.len().is_multiple_of(IHU_ENTRY_LEN) {
            return Err(Error::BadIhu);
        }
        Ok(IhuRepr { body })
    }

    pub fn entries(&self) -> impl Iterator<Item = IhuEntry> + 'a {
        self.body.chunks_exact(IHU_ENTRY_LEN).map(|c| {
            let mut iid = [0u8; 8];
            iid.copy_from_slice(&c[..8]);
            IhuEntry { iid, rxq: c[8] }
        })
    }

    pub fn buffer_len(entries: usize) -> usize {
        entries * IHU_ENTRY_LEN
    }

    /// Writes `entries` into `out`, which must be `buffer_len(entries.len())` long.
    pub fn emit(entries: &[IhuEntry], out: &mut [u8]) {
        for (e, c) in entries.iter().zip(out.chunks_exact_mut(IHU_ENTRY_LEN)) {
            c[..8].copy_from_slice(&e.iid);
            c[8] = e.rxq;
        }
    }
}
