//! The simulator's only source of chance: a SplitMix64 generator and a string
//! hash. Both are tiny and fully specified, so a seed repeats the same sequence on
//! every machine and every run (std's hasher is randomly keyed, and a crate would
//! be more surface than these dozen lines).

use serde::{Deserialize, Serialize};

/// SplitMix64 (Steele, Lea, Flood 2014). Its whole state is one `u64`, which is
/// persisted with the fleet so a reopened simulator continues the sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.state)
    }

    /// Uniform in `[0, 100)`, to compare with a percentage.
    pub fn next_percent(&mut self) -> f64 {
        unit(self.next_u64()) * 100.0
    }
}

/// SplitMix64's finaliser: spreads every input bit over the output.
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The top 53 bits of `x` as a float in `[0, 1)`.
pub fn unit(x: u64) -> f64 {
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// FNV-1a over the parts, each followed by a separator so ("ab", "c") and
/// ("a", "bc") differ. Used to derive stable per-service noise from names.
pub fn hash_str(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0xFF)) {
            h ^= u64::from(byte);
            h = h.wrapping_mul(0x0100_0000_01B3);
        }
    }
    h
}
