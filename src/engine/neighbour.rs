//! Neighbour sensing: per (interface, link-local address) receive quality
//! from the hello sequence numbers every datagram carries, transmit quality
//! from the neighbour's IHU reports, and the adaptive hold time after which a
//! silent neighbour is declared lost.

use std::net::Ipv6Addr;

use super::api::{IfaceId, Time};
use super::tq;

/// Fixed-point one (Q16).
const ONE: u32 = 1 << 16;
/// Slowest EWMA gain: 1/128 of each new sample (smooth: silent links are
/// caught by the hold time, not by this average).
const ALPHA_MIN_DIV: u32 = 128;
/// Loss thresholds (Q16) for the number of missed hellos `m` that declares a
/// neighbour lost: the smallest m with loss^m ≤ 1e-5, i.e. loss ≤ 10^(−5/m).
/// Index 0 is m = 2.
const LOSS_FOR_MISSES: [u32; 7] = [207, 1410, 3685, 6554, 9621, 12655, 15532];
const MAX_MISSES: u32 = 8;
/// How often, per meeting, a neighbour is asked for its table while its own
/// OGM is missing or our link TQ to it is 0.
pub const MAX_TABLE_ASKS: u8 = 10;
/// IHU reports stay usable for this many IHU periods.
pub const IHU_FRESH_PERIODS: u64 = 8;

/// What a datagram's hello seqno told us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hello {
    /// A new neighbour, or one that restarted (seqno went back).
    Fresh,
    Ok,
    Duplicate,
}

#[derive(Debug, Clone)]
pub struct Neighbour {
    pub iface: IfaceId,
    pub addr: Ipv6Addr,
    pub originator: Option<Ipv6Addr>,
    last_seq: u16,
    /// Advertised hello interval (ms).
    pub interval_ms: u32,
    pub last_heard: Time,
    /// EWMA of the delivery ratio of its datagrams (Q16).
    delivery: u32,
    samples: u32,
    /// What it reported of us in its last IHU.
    tx_q: u8,
    ihu_at: Option<Time>,
    pub echoes: u32,
    echo_at: Option<Time>,
    /// Link TQ when routes were last re-evaluated for this neighbour.
    pub evaluated_tq: u8,
    /// Datagrams it may still send us (`Params::neighbour_rate`).
    pub bucket: super::limits::TokenBucket,
    /// When we met it (or it restarted): its own OGM is due soon after.
    pub met: Time,
    /// Times we may still ask it for its table (`MAX_TABLE_ASKS`).
    pub asks_left: u8,
}

impl Neighbour {
    pub fn new(iface: IfaceId, addr: Ipv6Addr, now: Time) -> Neighbour {
        Neighbour {
            iface,
            addr,
            originator: None,
            last_seq: 0,
            interval_ms: 1000,
            last_heard: now,
            delivery: ONE,
            samples: 0,
            tx_q: 0,
            ihu_at: None,
            echoes: 0,
            echo_at: None,
            evaluated_tq: 0,
            bucket: super::limits::TokenBucket::new(0, now),
            met: now,
            asks_left: MAX_TABLE_ASKS,
        }
    }

    fn sample(&mut self, hit: bool) {
        self.samples = self.samples.saturating_add(1);
        let div = self.samples.min(ALPHA_MIN_DIV);
        if hit {
            self.delivery += (ONE - self.delivery) / div;
        } else {
            self.delivery -= self.delivery / div;
        }
    }

    /// Accounts for a datagram with hello `seq` and advertised interval.
    pub fn on_hello(&mut self, now: Time, seq: u16, interval_ms: u32) -> Hello {
        self.interval_ms = interval_ms.clamp(10, 600_000);
        let first = self.samples == 0;
        let d = seq.wrapping_sub(self.last_seq);
        if !first && d == 0 {
            return Hello::Duplicate;
        }
        if !first && d >= 0x8000 {
            // Slightly reordered: ignore. Far back: the sender restarted.
            if d > 0xFFFF - 16 {
                return Hello::Duplicate;
            }
        }
        self.last_heard = now;
        self.last_seq = seq;
        if first || d >= 0x8000 || d > 256 {
            self.delivery = ONE;
            self.samples = 1;
            self.tx_q = 0;
            self.ihu_at = None;
            // Met, or restarted: its tables, and what it told us, start over.
            self.originator = None;
            self.met = now;
            self.asks_left = MAX_TABLE_ASKS;
            return Hello::Fresh;
        }
        for _ in 1..d {
            self.sample(false);
        }
        self.sample(true);
        Hello::Ok
    }

    /// Hellos we expected since the last one heard.
    fn missed_by_time(&self, now: Time) -> u32 {
        (now.since(self.last_heard) / u64::from(self.interval_ms.max(1))).min(64) as u32
    }

    /// Receive quality now, decayed for hellos overdue since the last one.
    pub fn rx_quality(&self, now: Time) -> u8 {
        let mut d = self.delivery;
        let div = self.samples.clamp(1, ALPHA_MIN_DIV);
        for _ in 0..self.missed_by_time(now) {
            d -= d / div;
        }
        ((u64::from(d) * 255 + u64::from(ONE / 2)) / u64::from(ONE)) as u8
    }

    /// How long after the last datagram the neighbour counts as lost: m
    /// missed intervals (m adapts to the measured loss) plus an eighth.
    pub fn hold_ms(&self) -> u64 {
        let loss = ONE - self.delivery;
        let m = LOSS_FOR_MISSES
            .iter()
            .position(|&t| loss <= t)
            .map(|i| i as u32 + 2)
            .unwrap_or(MAX_MISSES);
        u64::from(self.interval_ms) * u64::from(m) + u64::from(self.interval_ms / 8)
    }

    pub fn expires_at(&self) -> Time {
        self.last_heard.plus(self.hold_ms())
    }

    /// Records an IHU from this neighbour: `rxq` is what it hears of us
    /// (0 when we are missing from its list).
    pub fn on_ihu(&mut self, now: Time, rxq: u8) {
        self.tx_q = rxq;
        self.ihu_at = Some(now);
    }

    pub fn on_echo(&mut self, now: Time) {
        self.echoes = self.echoes.saturating_add(1);
        self.echo_at = Some(now);
    }

    /// Transmit quality: its last IHU, fading by 1/8 per IHU period once
    /// two periods overdue, and gone after `ihu_fresh_ms`; without IHUs, if
    /// it echoed our OGMs recently, a cautious half of our receive quality.
    /// (A neighbour that stops hearing us says so at once: its IHU no longer
    /// lists us. Fading only covers lost IHUs.)
    pub fn tx_quality(&self, now: Time, ihu_fresh_ms: u64, echo_fresh_ms: u64) -> u8 {
        match self.ihu_at {
            Some(t) if now.since(t) <= ihu_fresh_ms => {
                let period = (ihu_fresh_ms / IHU_FRESH_PERIODS).max(1);
                let overdue = (now.since(t) / period).saturating_sub(2);
                let mut q = u32::from(self.tx_q);
                for _ in 0..overdue {
                    q -= q / 8;
                }
                q as u8
            }
            _ => match self.echo_at {
                Some(t) if now.since(t) <= echo_fresh_ms => self.rx_quality(now) / 2,
                _ => 0,
            },
        }
    }

    pub fn link_tq(&self, now: Time, ihu_fresh_ms: u64, echo_fresh_ms: u64) -> u8 {
        tq::link(
            self.tx_quality(now, ihu_fresh_ms, echo_fresh_ms),
            self.rx_quality(now),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n() -> Neighbour {
        Neighbour::new(1, Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1), Time(0))
    }

    #[test]
    fn fresh_neighbour_is_perfect_at_once() {
        let mut a = n();
        assert_eq!(a.on_hello(Time(0), 100, 1000), Hello::Fresh);
        assert_eq!(a.rx_quality(Time(0)), 255);
        assert_eq!(a.hold_ms(), 2125);
        assert_eq!(a.on_hello(Time(1000), 101, 1000), Hello::Ok);
        assert_eq!(a.on_hello(Time(1000), 101, 1000), Hello::Duplicate);
    }

    #[test]
    fn window_counts_losses_and_decays_with_time() {
        let mut a = n();
        a.on_hello(Time(0), 0, 1000);
        // every other hello lost for 64 hellos: delivery settles near 50%
        let mut seq = 0u16;
        for i in 1..=64u64 {
            seq = seq.wrapping_add(2);
            a.on_hello(Time(i * 2000), seq, 1000);
        }
        let q = a.rx_quality(Time(128_000));
        assert!((110..=150).contains(&q), "q={q}");
        // with 50% loss the hold time stretches to the maximum of 8 intervals
        assert_eq!(a.hold_ms(), 8 * 1000 + 125);
        // silence decays the quality
        assert!(a.rx_quality(Time(128_000 + 5000)) < q);
    }

    #[test]
    fn restart_resets_window() {
        let mut a = n();
        a.on_hello(Time(0), 5000, 1000);
        a.on_hello(Time(1000), 5001, 1000);
        a.on_ihu(Time(1000), 200);
        assert_eq!(a.tx_quality(Time(1000), 10_000, 0), 200);
        assert_eq!(a.on_hello(Time(2000), 3, 1000), Hello::Fresh);
        assert_eq!(a.tx_quality(Time(2000), 10_000, 0), 0);
    }

    #[test]
    fn lost_ihus_fade_then_expire() {
        let mut a = n();
        for i in 0..10u16 {
            a.on_hello(Time(u64::from(i) * 1000), i, 1000);
        }
        a.on_ihu(Time(9000), 255);
        // IHU period 1000 ms, fresh for 8 periods: full for 2, then fading
        assert_eq!(a.tx_quality(Time(10_500), 8000, 0), 255);
        assert_eq!(a.tx_quality(Time(12_000), 8000, 0), 224);
        assert_eq!(a.tx_quality(Time(16_000), 8000, 0), 133);
        assert_eq!(a.tx_quality(Time(17_001), 8000, 0), 0);
        // a neighbour that stops listing us reports 0 at once
        a.on_ihu(Time(17_001), 0);
        assert_eq!(a.link_tq(Time(17_001), 8000, 0), 0);
        // echoes of our OGMs are weaker evidence: half the receive quality
        a.on_hello(Time(17_500), 10, 1000);
        a.on_echo(Time(17_500));
        assert_eq!(
            a.tx_quality(Time(26_000), 8000, 90_000),
            a.rx_quality(Time(26_000)) / 2
        );
        assert!(a.tx_quality(Time(26_000), 8000, 90_000) > 0);
    }
}
