//! OGM (originator message) body.
//!
//! ```text
//!  0                16        20    21    22      23
//! +----------------+---------+-----+-----+-------+--------------+
//! | originator[16] | seqno32 | ttl | tq  | flags | TLVs ...     |
//! +----------------+---------+-----+-----+-------+--------------+
//! ```

use std::net::Ipv6Addr;

use super::tlv::Tlvs;
use super::{be32, Error};

pub const OGM_FIXED_LEN: usize = 23;
/// A triggered update or dump entry: update your view of this route, but do
/// not flood it as a new sequence number.
pub const OGM_FLAG_UPDATE: u8 = 0x01;

/// A validated OGM; `tlvs` borrows the datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OgmRepr<'a> {
    pub originator: Ipv6Addr,
    pub seqno: u32,
    pub ttl: u8,
    pub tq: u8,
    pub flags: u8,
    /// Raw TLV bytes (validated by `tlvs()` iteration).
    pub tlv_bytes: &'a [u8],
}

impl<'a> OgmRepr<'a> {
    pub fn parse(body: &'a [u8]) -> Result<OgmRepr<'a>, Error> {
        let fixed = body.get(..OGM_FIXED_LEN).ok_or(Error::Truncated)?;
        let mut o = [0u8; 16];
        o.copy_from_slice(&fixed[..16]);
        Ok(OgmRepr {
            originator: Ipv6Addr::from(o),
            seqno: be32(fixed, 16),
            ttl: fixed[20],
            tq: fixed[21],
            flags: fixed[22],
            tlv_bytes: &body[OGM_FIXED_LEN..],
        })
    }

    pub fn tlvs(&self) -> Tlvs<'a> {
        Tlvs::new(self.tlv_bytes)
    }

    pub fn buffer_len(&self) -> usize {
        OGM_FIXED_LEN + self.tlv_bytes.len()
    }

    /// Writes the OGM into `out`, which must be `buffer_len()` long.
    pub fn emit(&self, out: &mut [u8]) {
        out[..16].copy_from_slice(&self.originator.octets());
        out[16..20].copy_from_slice(&self.seqno.to_be_bytes());
        out[20] = self.ttl;
        out[21] = self.tq;
        out[22] = self.flags;
        out[OGM_FIXED_LEN..OGM_FIXED_LEN + self.tlv_bytes.len()].copy_from_slice(self.tlv_bytes);
    }
}
