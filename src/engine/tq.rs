//! Transmit-quality arithmetic. All values are 0..=255 fractions of 255;
//! products are rounded down, so a hop never raises a TQ.

use super::params::TQ_MAX;

const M: u64 = TQ_MAX as u64;

/// a·b/255, rounded down.
pub fn mul(a: u8, b: u8) -> u8 {
    (u64::from(a) * u64::from(b) / M) as u8
}

/// Asymmetry penalty from receive quality `rq`: 255 − 255·(255−rq)³/255³.
/// A link we hear poorly is punished more than linearly, as in BATMAN IV.
pub fn asymmetry(rq: u8) -> u8 {
    let miss = M - u64::from(rq);
    (M - miss * miss * miss / (M * M)) as u8
}

/// Link TQ toward a neighbour: what it hears of us (`tx`) times the
/// asymmetry penalty of what we hear of it (`rx`).
pub fn link(tx: u8, rx: u8) -> u8 {
    mul(tx, asymmetry(rx))
}

/// TQ of a path through a neighbour: its advertised TQ × our link TQ × hop penalty.
pub fn path(advertised: u8, link_tq: u8, hop_penalty: u8) -> u8 {
    mul(mul(advertised, link_tq), TQ_MAX - hop_penalty)
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
        assert_eq!(asymmetry(255), 255);
        assert_eq!(asymmetry(0), 0);
        // rq = 128: miss 127, 127³ = 2048383, /65025 = 31 → 224
        assert_eq!(asymmetry(128), 224);
        // rq = 230: miss 25 → 15625/65025 = 0 → 255
        assert_eq!(asymmetry(230), 255);
        // perfect link, hop penalty 15: 255·240/255 = 240
        assert_eq!(path(255, 255, 15), 240);
        // two perfect hops: 240·240/255 = 225
        assert_eq!(path(240, 255, 15), 225);
        // tx 229 (90%), rx 255: link 229; path from 255 → 229·240/255 = 215
        assert_eq!(link(229, 255), 229);
        assert_eq!(path(255, 229, 15), 215);
        // a 10%-delivery direction: tx 25 → link 25 → path 23
        assert_eq!(path(255, link(25, 255), 15), 23);
        assert_eq!(same_iface(240, 25), 216);
    }

    #[test]
    fn a_hop_never_raises_tq() {
        for a in 0..=255u8 {
            for l in [0u8, 1, 100, 254, 255] {
                assert!(path(a, l, 15) <= a);
                if a > 0 {
                    assert!(path(a, l, 15) < a);
                }
            }
        }
    }
}
