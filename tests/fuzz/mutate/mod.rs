//! Mutations: generic byte-level ones and format-aware ones (each format in its own file).
//! Every mutation is a pure function of the generator's state, so a case replays exactly.

pub mod bytes;
pub mod hdf5;
pub mod pickle;
pub mod png;
pub mod safetensors;
pub mod text;
pub mod zip;

use crate::rng::Rng;

/// A format-aware mutation: None when it does not apply to this input.
pub type Aware = fn(&mut Rng, &[u8]) -> Option<Vec<u8>>;

/// Values that break size and count arithmetic: zero, one, sign edges, powers of two around the
/// 16/32/64-bit limits, and sizes just past what a small file holds.
pub const INTERESTING: &[u64] = &[
    0,
    1,
    2,
    7,
    255,
    256,
    1000,
    4096,
    32_767,
    32_768,
    32_769,
    65_535,
    65_536,
    1 << 20,
    (1 << 20) + 1,
    1 << 24,
    (1 << 28) + 1,
    i32::MAX as u64,
    1 << 31,
    u32::MAX as u64,
    1 << 32,
    1 << 40,
    1 << 48,
    i64::MAX as u64,
    1 << 63,
    u64::MAX,
    u64::MAX - 1,
];

/// One interesting value, sometimes near a given size (off by a little).
pub fn interesting(rng: &mut Rng, near: usize) -> u64 {
    match rng.below(4) {
        0 => (near as u64).wrapping_add(rng.below(9) as u64).wrapping_sub(4),
        1 => rng.next_u64() >> rng.below(64),
        _ => *rng.pick(INTERESTING),
    }
}

/// Applies 1 to 4 mutations (one half of the time, so most cases stay close enough to the format
/// to reach deep checks), each format-aware with probability 2/3 (when the format has one).
pub fn mutate(rng: &mut Rng, input: &[u8], others: &[Vec<u8>], aware: Option<Aware>) -> Vec<u8> {
    let mut data = input.to_vec();
    let rounds = 1 + rng.next_u64().trailing_ones().min(3) as usize;
    for _ in 0..rounds {
        let structured = match aware {
            Some(f) if rng.below(3) != 0 => f(rng, &data),
            _ => None,
        };
        data = match structured {
            Some(d) => d,
            None => bytes::mutate(rng, &data, others),
        };
    }
    data
}
