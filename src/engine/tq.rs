//! Transmit-quality arithmetic. All values are 0..=255 fractions of 255.
//! Products round to nearest (rounding down at every step would lose up to
//! one point per factor and shorten the reach of TQ on long paths), but a
//! hop always lowers a non-zero TQ by at least one: loop freedom relies on it.

use super::params::TQ_MAX;

const M: u64 = TQ_MAX as u64;

/// a·b/255, rounded to nearest.
pub fn mul(a: u8, b: u8) -> u8 {
    ((u64::from(a) * u64::from(b) + M / 2) / M) as u8
}

/// Asymmetry penalty from receive quality `rq`: 255 − 255·(255−rq)³/255³.
/// A link we hear poorly is punished more than linearly, as in BATMAN IV.
pub fn asymmetry(rq: u8) -> u8 {
    let miss = M - u64::from(rq);
    (M - (miss * miss * miss + M * M / 2) / (M * M)) as u8
}

/// Link TQ toward a neighbour: what it hears of us (`tx`) times the
/// asymmetry penalty of what we hear of it (`rx`).
pub fn link(tx: u8, rx: u8) -> u8 {
    mul(tx, asymmetry(rx))
}

/// TQ of a path through a neighbour: its advertised TQ × our link TQ × hop
/// penalty, rounded once, and strictly below `advertised` when that is > 0.
pub fn path(advertised: u8, link_tq: u8, hop_penalty: u8) -> u8 {
    let a = u64::from(advertised);
    let v = (a * u64::from(link_tq) * (M - u64::from(hop_penalty)) + M * M / 2) / (M * M);
    v.min(a.saturating_sub(1)) as u8
}

/// Extra penalty when re-sending on the interface an OGM arrived on.
pub fn same_iface(tq: u8, penalty: u8) -> u8 {
    mul(tq, TQ_MAX - penalty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_values() {
        assert_eq!(mul(255, 255), 255);
        assert_eq!(mul(200, 128), 100); // 25600/255 = 100.39
        assert_eq!(mul(3, 128), 2); // 1.506 rounds up
        assert_eq!(asymmetry(255), 255);
        assert_eq!(asymmetry(0), 0);
        // rq = 128: miss 127, 127³ = 2048383, /65025 = 31.5 → 32 → 223
        assert_eq!(asymmetry(128), 223);
        // rq = 230: miss 25 → 15625/65025 = 0.24 → 0 → 255
        assert_eq!(asymmetry(230), 255);
        // perfect link, hop penalty 10: 255·245/255 = 245
        assert_eq!(path(255, 255, 10), 245);
        // two perfect hops: 245·245/255 = 235.4 → 235
        assert_eq!(path(245, 255, 10), 235);
        // tx 229 (90%), rx 255: link 229; 255·229·245/255² = 220.0 → 220
        assert_eq!(link(229, 255), 229);
        assert_eq!(path(255, 229, 10), 220);
        // a 10%-delivery direction: tx 25 → link 25 → 24.02 → 24
        assert_eq!(path(255, link(25, 255), 10), 24);
        // low values still drop by at least one per hop
        assert_eq!(path(10, 255, 10), 9);
        assert_eq!(path(1, 255, 10), 0);
        assert_eq!(same_iface(245, 10), 235);
    }

    #[test]
    fn a_hop_never_raises_tq() {
        for a in 0..=255u8 {
            for l in [0u8, 1, 100, 254, 255] {
                assert!(path(a, l, 10) <= a);
                if a > 0 {
                    assert!(path(a, l, 10) < a);
                }
            }
        }
    }
}
