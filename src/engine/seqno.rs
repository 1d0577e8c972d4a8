//! Serial-number arithmetic (RFC 1982 style) for 32-bit OGM seqnos.

/// Signed distance from `b` to `a`: positive when `a` is newer.
pub fn diff(a: u32, b: u32) -> i32 {
    a.wrapping_sub(b) as i32
}

/// Is `a` newer than `b`?
pub fn newer(a: u32, b: u32) -> bool {
    diff(a, b) > 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_around() {
        assert!(newer(1, 0));
        assert!(newer(0, u32::MAX));
        assert!(newer(5, u32::MAX - 5));
        assert!(!newer(u32::MAX, 0));
        assert_eq!(diff(2, u32::MAX - 1), 4);
        assert_eq!(diff(u32::MAX - 1, 2), -4);
        assert!(!newer(7, 7));
    }
}
