//! Bounds on what neighbours can make this node do: a token bucket per
//! neighbour for datagrams, and the choice of which originator to give up
//! when the originator table is full.

use std::net::Ipv6Addr;

use super::api::Time;
use super::fxhash::FxHashMap;
use super::originator::Originator;

/// A token bucket: `rate` tokens per second, at most `burst` saved up.
/// Tokens are kept in thousandths, so refills need no division.
#[derive(Debug, Clone, Copy)]
pub struct TokenBucket {
    milli: u64,
    last: Time,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(burst: u32, now: Time) -> TokenBucket {
        TokenBucket {
            milli: u64::from(burst) * 1000,
            last: now,
        }
    }

    /// Takes one token if there is one.
    pub fn take(&mut self, now: Time, rate: u32, burst: u32) -> bool {
        let elapsed = now.since(self.last);
        self.last = now.max(self.last);
        let cap = u64::from(burst) * 1000;
        self.milli = self
            .milli
            .saturating_add(elapsed.saturating_mul(u64::from(rate)))
            .min(cap);
        if self.milli >= 1000 {
            self.milli -= 1000;
            true
        } else {
            false
        }
    }
}

/// How often a full originator table is searched for a victim at most (the
/// search touches every entry: a flood must not turn it into a busy loop).
pub const EVICT_SCAN_MS: u64 = 1000;

/// Up to `n` originators to forget so newcomers fit, the first to go
/// last: those without a route, longest unreachable first, then least
/// recently heard. Routed originators are never chosen: newcomers wait
/// until one becomes unreachable.
pub fn evictable(origs: &FxHashMap<Ipv6Addr, Originator>, n: usize) -> Vec<Ipv6Addr> {
    let mut v: Vec<(Time, Time, Ipv6Addr)> = origs
        .values()
        .filter(|o| o.best.is_none())
        .map(|o| {
            (
                o.unreachable_since.unwrap_or(Time::NEVER),
                o.last_seen,
                o.addr,
            )
        })
        .collect();
    v.sort_unstable();
    v.truncate(n);
    v.reverse();
    v.into_iter().map(|(_, _, a)| a).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_refills_at_its_rate_and_caps_at_burst() {
        let mut b = TokenBucket::new(3, Time(0));
        assert!((0..3).all(|_| b.take(Time(0), 10, 3)));
        assert!(!b.take(Time(0), 10, 3));
        assert!(!b.take(Time(99), 10, 3));
        assert!(b.take(Time(100), 10, 3));
        // A long silence refills to the burst, not beyond.
        let n = (0..10).filter(|_| b.take(Time(60_000), 10, 3)).count();
        assert_eq!(n, 3);
    }
}
