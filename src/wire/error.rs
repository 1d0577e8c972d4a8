use std::fmt;

/// Why a datagram, message or TLV was rejected. Each maps to a drop counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Error {
    /// Shorter than its fixed part or than a length field claims.
    Truncated,
    /// Magic bytes do not match.
    BadMagic,
    /// A protocol version we do not speak.
    BadVersion,
    /// A packet type we do not know.
    BadType,
    /// The header's length field is smaller than the header.
    BadLength,
    /// Bytes after `length` without an authentication trailer flag.
    TrailingBytes,
    /// An IHU body that is not a whole number of entries.
    BadIhu,
    /// A prefix TLV with an impossible length.
    BadPrefix,
    /// A fixed-size TLV (gateway) with the wrong size.
    BadTlvLength,
    /// A hostname that is empty, too long or not UTF-8.
    BadHostname,
}

impl Error {
    /// Stable name used in counters and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Error::Truncated => "truncated",
            Error::BadMagic => "bad_magic",
            Error::BadVersion => "bad_version",
            Error::BadType => "bad_type",
            Error::BadLength => "bad_length",
            Error::TrailingBytes => "trailing_bytes",
            Error::BadIhu => "bad_ihu",
            Error::BadPrefix => "bad_prefix",
            Error::BadTlvLength => "bad_tlv_length",
            Error::BadHostname => "bad_hostname",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for Error {}
