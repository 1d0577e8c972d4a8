//! IP prefixes (address + length), normalised so host bits are zero.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// An IPv4 or IPv6 prefix with its host bits cleared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Prefix {
    addr: IpAddr,
    len: u8,
}

/// Why a prefix could not be built or parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PrefixError {
    BadAddress(String),
    BadLength(String),
}

impl fmt::Display for PrefixError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrefixError::BadAddress(s) => write!(f, "'{s}' is not an IPv4 or IPv6 address"),
            PrefixError::BadLength(s) => write!(f, "'{s}' is not a valid prefix length"),
        }
    }
}

impl std::error::Error for PrefixError {}

// `len` is the prefix length, not a container size: no `is_empty`.
#[allow(clippy::len_without_is_empty)]
impl Prefix {
    /// Builds a prefix; `None` if `len` exceeds the family's width.
    pub fn new(addr: IpAddr, len: u8) -> Option<Prefix> {
        let max = match addr {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        };
        if len > max {
            return None;
        }
        Some(Prefix {
            addr: mask(addr, len),
            len,
        })
    }

    /// A host prefix (/32 or /128) for `addr`.
    pub fn host(addr: IpAddr) -> Prefix {
        let len = if addr.is_ipv4() { 32 } else { 128 };
        Prefix { addr, len }
    }

    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    pub fn len(&self) -> u8 {
        self.len
    }

    pub fn is_ipv4(&self) -> bool {
        self.addr.is_ipv4()
    }

    /// True for /32 and /128.
    pub fn is_host(&self) -> bool {
        self.len == if self.is_ipv4() { 32 } else { 128 }
    }

    /// True for 0.0.0.0/0 and ::/0.
    pub fn is_default(&self) -> bool {
        self.len == 0
    }

    /// Does this prefix contain `addr`?
    pub fn contains(&self, addr: IpAddr) -> bool {
        addr.is_ipv4() == self.is_ipv4() && mask(addr, self.len) == self.addr
    }
}

fn mask(addr: IpAddr, len: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let bits = u32::from(a);
            let m = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            IpAddr::V4(Ipv4Addr::from(bits & m))
        }
        IpAddr::V6(a) => {
            let bits = u128::from(a);
            let m = if len == 0 {
                0
            } else {
                u128::MAX << (128 - len)
            };
            IpAddr::V6(Ipv6Addr::from(bits & m))
        }
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl FromStr for Prefix {
    type Err = PrefixError;

    /// Parses `ADDR/LEN`, or a bare address as a host prefix.
    fn from_str(s: &str) -> Result<Prefix, PrefixError> {
        let (a, l) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let addr: IpAddr = a
            .trim()
            .parse()
            .map_err(|_| PrefixError::BadAddress(a.to_string()))?;
        match l {
            None => Ok(Prefix::host(addr)),
            Some(l) => {
                let len: u8 = l
                    .trim()
                    .parse()
                    .map_err(|_| PrefixError::BadLength(l.to_string()))?;
                Prefix::new(addr, len).ok_or_else(|| PrefixError::BadLength(l.to_string()))
            }
        }
    }
}

impl serde::Serialize for Prefix {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_normalises() {
        let p: Prefix = "10.77.3.9/24".parse().unwrap();
        assert_eq!(p.to_string(), "10.77.3.0/24");
        let p: Prefix = "fd77::5".parse().unwrap();
        assert_eq!(p.to_string(), "fd77::5/128");
        assert!(p.is_host());
        assert!("10.0.0.0/33".parse::<Prefix>().is_err());
        assert!("nonsense/8".parse::<Prefix>().is_err());
        let d: Prefix = "::/0".parse().unwrap();
        assert!(d.is_default());
        assert!(d.contains("fd77::1".parse().unwrap()));
        assert!(!d.contains("10.0.0.1".parse().unwrap()));
    }
}
