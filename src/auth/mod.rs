//! Mesh keys and the authentication trailer (see `docs/PROTOCOL.md` §9).
//!
//! Stateless parts only: loading keys, computing and checking MACs, the
//! trailer layout. The per-sender replay state and the challenge exchange
//! live in the engine (`engine::auth`), which is sans-IO like the rest.

pub mod blake2s;

use std::fmt;
use std::net::Ipv6Addr;
use std::path::Path;

use blake2s::Blake2s;

/// Header flag: the trailer starts with the sender's epoch and counter high
/// half (set on datagrams that carry challenge messages).
pub const FLAG_SYNC: u8 = 0x04;
/// Header byte that carries the key id when `FLAG_AUTH` is set (the
/// reserved byte of wire v1).
pub const KEY_ID_OFFSET: usize = 5;
/// Bytes of MAC at the end of every authenticated datagram.
pub const MAC_LEN: usize = 8;
/// Epoch (8) and counter high half (2) before the MAC when `FLAG_SYNC` is set.
pub const SYNC_LEN: usize = 10;
/// The longest trailer: what a sender reserves in every datagram.
pub const MAX_TRAILER: usize = SYNC_LEN + MAC_LEN;
/// Message types of the challenge exchange: target interface id (8) and nonce (8).
pub const MSG_CHALLENGE_REQ: u8 = 4;
pub const MSG_CHALLENGE_REPLY: u8 = 5;
pub const CHALLENGE_LEN: usize = 16;
/// Key lengths accepted (bytes), written as hex in key files.
pub const KEY_MIN: usize = 16;
pub const KEY_MAX: usize = 32;

/// A mesh key and its one-byte id (the first byte of the key's unkeyed
/// BLAKE2s-128 hash: no need to number keys by hand).
#[derive(Clone, PartialEq, Eq)]
pub struct Key {
    pub id: u8,
    bytes: Vec<u8>,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material.
        write!(f, "Key(id {})", self.id)
    }
}

impl Key {
    /// A key from raw bytes (16..=32).
    pub fn new(bytes: &[u8]) -> Result<Key, String> {
        if !(KEY_MIN..=KEY_MAX).contains(&bytes.len()) {
            return Err(format!(
                "a key has {KEY_MIN} to {KEY_MAX} bytes ({} to {} hex digits), not {}",
                2 * KEY_MIN,
                2 * KEY_MAX,
                bytes.len()
            ));
        }
        let mut h = Blake2s::new(16, &[]);
        h.update(bytes);
        let mut d = [0u8; 1];
        h.finish(&mut d);
        Ok(Key {
            id: d[0],
            bytes: bytes.to_vec(),
        })
    }

    /// Parses a key file's text: hex digits, whitespace ignored, `#`
    /// starts a comment line.
    pub fn from_text(text: &str) -> Result<Key, String> {
        let mut digits = Vec::new();
        for line in text.lines() {
            if line.trim_start().starts_with('#') {
                continue;
            }
            for c in line.chars().filter(|c| !c.is_whitespace()) {
                let v = c
                    .to_digit(16)
                    .ok_or_else(|| format!("'{c}' is not a hex digit"))?;
                digits.push(v as u8);
            }
        }
        if digits.len() % 2 != 0 {
            return Err("odd number of hex digits".into());
        }
        let bytes: Vec<u8> = digits.chunks(2).map(|p| p[0] << 4 | p[1]).collect();
        Key::new(&bytes)
    }

    /// Reads a key file; errors name the file.
    pub fn load(path: &Path) -> Result<Key, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read key file: {e}", path.display()))?;
        Key::from_text(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The datagram MAC: keyed BLAKE2s-128 (as RFC 8967's blake2s128) over
    /// the sender's link-local address, its epoch, the high half of its
    /// packet counter and the datagram up to the MAC, truncated to
    /// `MAC_LEN` bytes.
    pub fn mac(&self, src: &Ipv6Addr, epoch: &[u8; 8], roc: u16, signed: &[u8]) -> [u8; MAC_LEN] {
        let mut h = Blake2s::new(16, &self.bytes);
        h.update(&src.octets());
        h.update(epoch);
        h.update(&roc.to_be_bytes());
        h.update(signed);
        let mut out = [0u8; MAC_LEN];
        h.finish(&mut out);
        out
    }
}

/// Constant-time comparison of two MACs.
pub fn mac_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests;
