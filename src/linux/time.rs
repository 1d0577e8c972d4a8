//! The daemon's clock: CLOCK_MONOTONIC (via `Instant`) as engine [`Time`],
//! milliseconds since the daemon started. Never the wall clock.

use std::time::{Duration, Instant};

use crate::engine::Time;

#[derive(Clone, Copy, Debug)]
pub struct Clock {
    start: Instant,
}

impl Clock {
    pub fn new() -> Clock {
        Clock {
            start: Instant::now(),
        }
    }

    pub fn now(&self) -> Time {
        Time(u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX))
    }

    /// How long to sleep until `deadline` (rounded up to whole ms so a wake-up
    /// is never early); `None` for [`Time::NEVER`].
    pub fn until(&self, deadline: Time) -> Option<Duration> {
        if deadline == Time::NEVER {
            return None;
        }
        let deadline = self.start + Duration::from_millis(deadline.millis());
        let d = deadline.saturating_duration_since(Instant::now());
        // In u64 (as_micros is u128, whose division costs 2 KB on 32-bit).
        let ms = d
            .as_secs()
            .saturating_mul(1000)
            .saturating_add(u64::from(d.subsec_nanos().div_ceil(1_000_000)));
        Some(Duration::from_millis(ms))
    }
}

impl Default for Clock {
    fn default() -> Clock {
        Clock::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monotonic_and_deadlines() {
        let c = Clock::new();
        let a = c.now();
        let b = c.now();
        assert!(b >= a);
        assert_eq!(c.until(Time::NEVER), None);
        assert_eq!(c.until(Time::ZERO), Some(Duration::ZERO));
        let d = c.until(a.plus(10_000)).unwrap();
        assert!(d <= Duration::from_millis(10_000) && d > Duration::from_millis(9_000));
        assert_eq!(d.subsec_nanos() % 1_000_000, 0, "whole milliseconds");
    }
}
