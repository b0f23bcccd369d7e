//! numpy's `np.random.default_rng(seed)` reimplemented bit for bit: `SeedSequence` →
//! `PCG64` → `Generator`, limited to what the official SHD data code calls (`binomial`,
//! `integers`, `shuffle`, and `random`).
//!
//! Why a second generator next to [`crate::engine::Rng`]: the official ELM code draws its SHD
//! validation split (`rng.binomial(1, 0.2, size=n)`), its epoch shuffles (`rng.shuffle(index)`)
//! and its SHD-Adding pairs (`rng.integers(0, n, size=2 * batch)`) from numpy. Reproducing its
//! splits and batches exactly means reproducing numpy's stream exactly, including the details
//! that do not matter statistically: how a seed is hashed into the 128-bit state, the buffered
//! upper halves of 64-bit words that 32-bit draws use, which rejection sampler a given range
//! goes through, and the order in which a shuffle swaps.
//!
//! Written from reading numpy's sources (`bit_generator.pyx`, `src/pcg64/pcg64.h`,
//! `_bounded_integers.pyx.in`, `src/distributions/distributions.c`, `_generator.pyx`) and
//! checked against numpy itself by `tests/numpy_random.rs` (fixture written by
//! `tests/fixtures/numpy_random/make_numpy_cases.py`).
//!
//! Floating point: `random()` and the integer and shuffle paths are pure integer arithmetic, so
//! they are exact everywhere. `binomial` evaluates `exp`, `log1p`, `log` and `sqrt` just as numpy's
//! C code does, through the platform's C math library (Rust's `f64::exp`/`ln_1p`/`ln` call it too),
//! so it matches numpy on the same platform; with n = 1 (the SHD split) only `exp(log1p(-p))`
//! enters, once per call, and a last-bit difference there could flip a draw only when a uniform
//! lands within one ulp of it.

use anyhow::{bail, ensure, Result};
use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------------------------------------
// SeedSequence
// ---------------------------------------------------------------------------------------------

/// numpy's default (and minimum) entropy pool: four 32-bit words.
const POOL_SIZE: usize = 4;
// The hash constants of numpy's SeedSequence (after Melissa O'Neill's seed_seq_fe design).
const INIT_A: u32 = 0x43b0_d7e5;
const MULT_A: u32 = 0x931e_8875;
const INIT_B: u32 = 0x8b51_f9dd;
const MULT_B: u32 = 0x58f3_8ded;
const MIX_MULT_L: u32 = 0xca01_f9dd;
const MIX_MULT_R: u32 = 0x4973_f715;
/// Half the word width: the xor-shift that ends every hash step.
const XSHIFT: u32 = 16;

/// One hashing step; the multiplier evolves with every call, so it is threaded through.
fn hashmix(value: u32, hash_const: &mut u32) -> u32 {
    let mut value = value ^ *hash_const;
    *hash_const = hash_const.wrapping_mul(MULT_A);
    value = value.wrapping_mul(*hash_const);
    value ^ (value >> XSHIFT)
}

/// Combines two pool words (non-commutatively, so every ordered pair contributes).
fn mix(x: u32, y: u32) -> u32 {
    let result = MIX_MULT_L.wrapping_mul(x).wrapping_sub(MIX_MULT_R.wrapping_mul(y));
    result ^ (result >> XSHIFT)
}

/// A non-negative integer as numpy splits a Python int into entropy: 32-bit words, least
/// significant first, and a single zero word for 0.
fn int_to_words(mut value: u128) -> Vec<u32> {
    let mut words = Vec::new();
    loop {
        words.push(value as u32);
        value >>= 32;
        if value == 0 {
            return words;
        }
    }
}

/// numpy's `SeedSequence(entropy)` with the defaults `default_rng` uses (no spawn key, a pool of
/// four words): the entropy hashed into the pool once at construction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeedSequence {
    pool: [u32; POOL_SIZE],
}

impl SeedSequence {
    /// `SeedSequence(seed)` for an integer seed.
    pub fn new(seed: u64) -> Self {
        Self::from_u128(u128::from(seed))
    }

    /// `SeedSequence(seed)` for an integer seed of up to 128 bits.
    pub fn from_u128(seed: u128) -> Self {
        Self::from_entropy_words(&int_to_words(seed))
    }

    /// `SeedSequence(np.array(words, dtype=np.uint32))`: entropy already as 32-bit words, least
    /// significant first. This is what any Python int turns into (0 → `[0]`), so a seed wider
    /// than 128 bits can be given as its words.
    pub fn from_entropy_words(entropy: &[u32]) -> Self {
        let mut pool = [0u32; POOL_SIZE];
        let mut hash_const = INIT_A;
        // The first POOL_SIZE entropy words are hashed into the pool; a shorter entropy keeps
        // the hash running on zeros so that every pool word still differs.
        for (i, slot) in pool.iter_mut().enumerate() {
            *slot = hashmix(entropy.get(i).copied().unwrap_or(0), &mut hash_const);
        }
        // Every pool word is mixed into every other one, in this order, so late words affect
        // early ones. The source word is read after earlier rounds have updated it.
        for src in 0..POOL_SIZE {
            for dst in 0..POOL_SIZE {
                if src != dst {
                    let hashed = hashmix(pool[src], &mut hash_const);
                    pool[dst] = mix(pool[dst], hashed);
                }
            }
        }
        // Entropy beyond the pool size is folded into every pool word, one word at a time.
        for &word in entropy.iter().skip(POOL_SIZE) {
            for slot in pool.iter_mut() {
                let hashed = hashmix(word, &mut hash_const);
                *slot = mix(*slot, hashed);
            }
        }
        Self { pool }
    }

    /// The mixed entropy pool (numpy's `SeedSequence.pool`).
    pub fn pool(&self) -> [u32; POOL_SIZE] {
        self.pool
    }

    /// `generate_state(n_words, np.uint32)`: the pool cycled and hashed once more with a second
    /// evolving multiplier.
    pub fn generate_state_u32(&self, n_words: usize) -> Vec<u32> {
        let mut hash_const = INIT_B;
        (0..n_words)
            .map(|i| {
                let mut value = self.pool[i % POOL_SIZE] ^ hash_const;
                hash_const = hash_const.wrapping_mul(MULT_B);
                value = value.wrapping_mul(hash_const);
                value ^ (value >> XSHIFT)
            })
            .collect()
    }

    /// `generate_state(n_words, np.uint64)`: twice as many 32-bit words, paired little-endian
    /// (numpy views them as `<u8` so the result does not depend on the host's byte order).
    pub fn generate_state_u64(&self, n_words: usize) -> Vec<u64> {
        self.generate_state_u32(2 * n_words)
            .chunks_exact(2)
            .map(|pair| u64::from(pair[0]) | (u64::from(pair[1]) << 32))
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// PCG64
// ---------------------------------------------------------------------------------------------

/// The 128-bit LCG multiplier of PCG64 (`PCG_DEFAULT_MULTIPLIER_128`).
const PCG_MULTIPLIER: u128 = (2_549_297_995_355_413_924u128 << 64) | 4_865_540_595_714_422_341u128;

/// The complete state of a [`Pcg64`] (and so of a [`NumpyGenerator`]) as plain integers, laid out
/// like numpy's `bit_generator.state`: the 128-bit LCG state and increment split into 64-bit
/// halves (JSON and TOML readers cannot all carry 128-bit integers), plus the buffered upper half
/// of the last 64-bit word that a 32-bit draw split.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pcg64State {
    pub state_high: u64,
    pub state_low: u64,
    pub inc_high: u64,
    pub inc_low: u64,
    /// numpy's `has_uint32`: whether `uinteger` holds an unused 32-bit half.
    pub has_uint32: bool,
    /// numpy's `uinteger`: the buffered half (numpy keeps the last value even when unused).
    pub uinteger: u32,
}

impl Pcg64State {
    /// The LCG state as one 128-bit integer (numpy's `state["state"]["state"]`).
    pub fn state(&self) -> u128 {
        (u128::from(self.state_high) << 64) | u128::from(self.state_low)
    }

    /// The LCG increment as one 128-bit integer (numpy's `state["state"]["inc"]`).
    pub fn inc(&self) -> u128 {
        (u128::from(self.inc_high) << 64) | u128::from(self.inc_low)
    }
}

/// numpy's `PCG64` bit generator: PCG XSL RR 128/64 (a 128-bit LCG whose output xors the two
/// halves and rotates by the top six bits) plus numpy's one-word buffer for 32-bit draws.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pcg64 {
    state: u128,
    inc: u128,
    has_uint32: bool,
    uinteger: u32,
}

impl Pcg64 {
    /// `np.random.PCG64(seed)`.
    pub fn new(seed: u64) -> Self {
        Self::from_seed_sequence(&SeedSequence::new(seed))
    }

    /// `PCG64(seed_sequence)`: four 64-bit words from the seed sequence give the initial state
    /// (words 0, 1 as high, low) and the stream selector (words 2, 3), as `pcg64_set_seed` reads
    /// them.
    pub fn from_seed_sequence(seed_sequence: &SeedSequence) -> Self {
        let words = seed_sequence.generate_state_u64(4);
        let init_state = (u128::from(words[0]) << 64) | u128::from(words[1]);
        let init_seq = (u128::from(words[2]) << 64) | u128::from(words[3]);
        // PCG's srandom: the increment must be odd, so the selector is shifted up and the low
        // bit set; the state is stepped once before and once after adding the initial state.
        let mut pcg = Self { state: 0, inc: (init_seq << 1) | 1, has_uint32: false, uinteger: 0 };
        pcg.step();
        pcg.state = pcg.state.wrapping_add(init_state);
        pcg.step();
        pcg
    }

    /// Resumes exactly where [`Pcg64::state`] was taken, like numpy's `state` setter (which
    /// accepts any increment, so this does too).
    pub fn from_state(state: Pcg64State) -> Self {
        Self { state: state.state(), inc: state.inc(), has_uint32: state.has_uint32, uinteger: state.uinteger }
    }

    /// The full state, to save a run mid-stream.
    pub fn state(&self) -> Pcg64State {
        Pcg64State {
            state_high: (self.state >> 64) as u64,
            state_low: self.state as u64,
            inc_high: (self.inc >> 64) as u64,
            inc_low: self.inc as u64,
            has_uint32: self.has_uint32,
            uinteger: self.uinteger,
        }
    }

    fn step(&mut self) {
        self.state = self.state.wrapping_mul(PCG_MULTIPLIER).wrapping_add(self.inc);
    }

    /// One 64-bit output (`random_raw()`, numpy's `next_uint64`): step, then XSL RR of the new
    /// state. Does not touch the 32-bit buffer.
    pub fn next_u64(&mut self) -> u64 {
        self.step();
        let high = (self.state >> 64) as u64;
        let low = self.state as u64;
        (high ^ low).rotate_right((self.state >> 122) as u32)
    }

    /// One 32-bit output (numpy's `pcg64_next32`): the low half of a fresh 64-bit word, whose
    /// high half is kept for the next 32-bit draw. 64-bit draws in between leave the buffer alone.
    pub fn next_u32(&mut self) -> u32 {
        if self.has_uint32 {
            self.has_uint32 = false;
            return self.uinteger;
        }
        let word = self.next_u64();
        self.has_uint32 = true;
        self.uinteger = (word >> 32) as u32;
        word as u32
    }

    /// A double in [0, 1) (numpy's `next_double`): the top 53 bits of a 64-bit word times 2^-53.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0)
    }
}

// ---------------------------------------------------------------------------------------------
// Generator
// ---------------------------------------------------------------------------------------------

/// numpy's `Generator` over [`Pcg64`], i.e. what `np.random.default_rng(seed)` returns, for the
/// methods the SHD data code uses.
///
/// numpy's `Generator` also memoises the binomial set-up for the last (n, p); that cache is a
/// pure function of (n, p) and never changes an output, so it is not part of the state here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NumpyGenerator {
    bit_generator: Pcg64,
}

impl NumpyGenerator {
    /// `np.random.default_rng(seed)` for a non-negative integer seed.
    pub fn new(seed: u64) -> Self {
        Self::from_bit_generator(Pcg64::new(seed))
    }

    /// `np.random.Generator(bit_generator)`.
    pub fn from_bit_generator(bit_generator: Pcg64) -> Self {
        Self { bit_generator }
    }

    /// Resumes a generator saved with [`NumpyGenerator::state`].
    pub fn from_state(state: Pcg64State) -> Self {
        Self::from_bit_generator(Pcg64::from_state(state))
    }

    /// The full state (`rng.bit_generator.state`): everything needed to resume mid-stream.
    pub fn state(&self) -> Pcg64State {
        self.bit_generator.state()
    }

    pub fn set_state(&mut self, state: Pcg64State) {
        self.bit_generator = Pcg64::from_state(state);
    }

    pub fn bit_generator(&self) -> &Pcg64 {
        &self.bit_generator
    }

    pub fn bit_generator_mut(&mut self) -> &mut Pcg64 {
        &mut self.bit_generator
    }

    /// `rng.random()`: a float64 in [0, 1).
    pub fn random(&mut self) -> f64 {
        self.bit_generator.next_f64()
    }

    /// `rng.random(size)`.
    pub fn random_vec(&mut self, size: usize) -> Vec<f64> {
        (0..size).map(|_| self.random()).collect()
    }

    // ----- binomial --------------------------------------------------------------------------

    /// `rng.binomial(n, p)` (numpy's `random_binomial`): inversion when the smaller of p, 1 - p
    /// times n is at most 30, BTPE otherwise; p > 0.5 draws the number of failures with 1 - p.
    pub fn binomial(&mut self, n: i64, p: f64) -> Result<i64> {
        // numpy's argument checks: p in [0, 1] and not NaN, n non-negative.
        ensure!((0.0..=1.0).contains(&p), "p < 0, p > 1 or p is NaN");
        ensure!(n >= 0, "n < 0");
        Ok(self.binomial_unchecked(n, p))
    }

    /// `rng.binomial(n, p, size)`: `size` independent draws in order.
    pub fn binomial_vec(&mut self, n: i64, p: f64, size: usize) -> Result<Vec<i64>> {
        ensure!((0.0..=1.0).contains(&p), "p < 0, p > 1 or p is NaN");
        ensure!(n >= 0, "n < 0");
        Ok((0..size).map(|_| self.binomial_unchecked(n, p)).collect())
    }

    fn binomial_unchecked(&mut self, n: i64, p: f64) -> i64 {
        // No draw at all for these (p == 1 does draw: it runs inversion with q = 0 below).
        if n == 0 || p == 0.0 {
            return 0;
        }
        if p <= 0.5 {
            if p * n as f64 <= 30.0 {
                self.binomial_inversion(n, p)
            } else {
                self.binomial_btpe(n, p)
            }
        } else {
            let q = 1.0 - p;
            if q * n as f64 <= 30.0 {
                n - self.binomial_inversion(n, q)
            } else {
                n - self.binomial_btpe(n, q)
            }
        }
    }

    /// Inversion: walk the pmf from 0 subtracting probabilities from one uniform. The walk is cut
    /// off at `bound` (about ten standard deviations above the mean, at most n); a uniform that
    /// outruns it, which only rounding can cause, is discarded and a fresh one drawn.
    fn binomial_inversion(&mut self, n: i64, p: f64) -> i64 {
        let q = 1.0 - p;
        let qn = (n as f64 * (-p).ln_1p()).exp();
        let np = n as f64 * p;
        // C's MIN(n, x) with an int64 and a double compares and yields doubles; then truncation.
        let tail = np + 10.0 * (np * q + 1.0).sqrt();
        let bound = if (n as f64) < tail { n as f64 } else { tail } as i64;

        let mut x: i64 = 0;
        let mut px = qn;
        let mut u = self.random();
        while u > px {
            x += 1;
            if x > bound {
                x = 0;
                px = qn;
                u = self.random();
            } else {
                u -= px;
                // Same operand order as numpy: ((n - x + 1) * p * px) / (x * q).
                px = ((n - x + 1) as f64 * p * px) / (x as f64 * q);
            }
        }
        x
    }

    /// BTPE (Kachitvichyanukul & Schmeiser 1988) as numpy writes it, including numpy's corrected
    /// signs in the final Stirling bound. Each `continue` is numpy's `goto Step10` (start over
    /// with two fresh uniforms); expressions keep numpy's evaluation order and int/double mixing.
    fn binomial_btpe(&mut self, n: i64, p: f64) -> i64 {
        let nf = n as f64;
        let r = if p < 1.0 - p { p } else { 1.0 - p };
        let q = 1.0 - r;
        let fm = nf * r + r;
        let m = fm.floor() as i64;
        let mf = m as f64;
        let p1 = (2.195 * (nf * r * q).sqrt() - 4.6 * q).floor() + 0.5;
        let xm = mf + 0.5;
        let xl = xm - p1;
        let xr = xm + p1;
        let c = 0.134 + 20.5 / (15.3 + mf);
        let a = (fm - xl) / (fm - xl * r);
        let laml = a * (1.0 + a / 2.0);
        let a = (xr - fm) / (xr * q);
        let lamr = a * (1.0 + a / 2.0);
        let p2 = p1 * (1.0 + 2.0 * c);
        let p3 = p2 + c / laml;
        let p4 = p3 + c / lamr;

        let y = loop {
            // Step 10: pick a region of the majorising hat with u, a height with v.
            let nrq = nf * r * q;
            let u = self.random() * p4;
            let mut v = self.random();
            if u <= p1 {
                // Triangular centre: accepted outright.
                break (xm - p1 * v + u).floor() as i64;
            }
            let y: i64;
            if u <= p2 {
                // Step 20: parallelogram.
                let x = xl + (u - p1) / c;
                v = v * c + 1.0 - (mf - x + 0.5).abs() / p1;
                if v > 1.0 {
                    continue;
                }
                y = x.floor() as i64;
            } else if u <= p3 {
                // Step 30: left exponential tail. (numpy rejects v == 0, whose log is -inf.)
                y = (xl + v.ln() / laml).floor() as i64;
                if y < 0 || v == 0.0 {
                    continue;
                }
                v = v * (u - p2) * laml;
            } else {
                // Step 40: right exponential tail.
                y = (xr - v.ln() / lamr).floor() as i64;
                if y > n || v == 0.0 {
                    continue;
                }
                v = v * (u - p3) * lamr;
            }

            // Step 50: near the mode, evaluate f(y)/f(m) by the recursion.
            let k = (y - m).abs();
            if !(k > 20 && (k as f64) < nrq / 2.0 - 1.0) {
                let s = r / q;
                let a = s * (n + 1) as f64;
                let mut f = 1.0;
                if m < y {
                    for i in m + 1..=y {
                        f *= a / i as f64 - s;
                    }
                } else if m > y {
                    for i in y + 1..=m {
                        f /= a / i as f64 - s;
                    }
                }
                if v > f {
                    continue;
                }
                break y;
            }

            // Step 52: squeeze with bounds on log f(y)/f(m), then the Stirling-based test.
            let kf = k as f64;
            let rho = (kf / nrq) * ((kf * (kf / 3.0 + 0.625) + 0.16666666666666666) / nrq + 0.5);
            // numpy computes -k * k in int64 before dividing by the double.
            let t = (-k * k) as f64 / (2.0 * nrq);
            let log_v = v.ln();
            if log_v < t - rho {
                break y;
            }
            if log_v > t + rho {
                continue;
            }
            let x1 = y as f64 + 1.0;
            let f1 = mf + 1.0;
            let z = nf + 1.0 - mf;
            let w = nf - y as f64 + 1.0;
            let stirling = |s: f64| {
                let s2 = s * s;
                (13860. - (462. - (132. - (99. - 140. / s2) / s2) / s2) / s2) / s / 166320.
            };
            let bound = xm * (f1 / x1).ln()
                + ((n - m) as f64 + 0.5) * (z / w).ln()
                + (y - m) as f64 * (w * r / (x1 * q)).ln()
                + stirling(f1)
                + stirling(z)
                - stirling(x1)
                - stirling(w);
            if log_v > bound {
                continue;
            }
            break y;
        };
        // Step 60 (numpy keeps this mirror although its caller already passes p <= 0.5).
        if p > 0.5 {
            n - y
        } else {
            y
        }
    }

    // ----- integers --------------------------------------------------------------------------

    /// `rng.integers(low, high)` with the default int64 dtype: uniform on [low, high).
    pub fn integers(&mut self, low: i64, high: i64) -> Result<i64> {
        ensure!(low < high, "{}", bounds_error(false, low));
        Ok(self.integers_closed_unchecked(low, high - 1))
    }

    /// `rng.integers(low, high, endpoint=True)`: uniform on [low, high]. Reaches ranges that
    /// the half-open form cannot express with i64 bounds (e.g. up to `i64::MAX`).
    pub fn integers_closed(&mut self, low: i64, high: i64) -> Result<i64> {
        ensure!(low <= high, "{}", bounds_error(true, low));
        Ok(self.integers_closed_unchecked(low, high))
    }

    /// `rng.integers(low, high, size)`: `size` draws on [low, high), in order.
    pub fn integers_vec(&mut self, low: i64, high: i64, size: usize) -> Result<Vec<i64>> {
        let mut out = vec![0; size];
        self.fill_integers(low, high, &mut out)?;
        Ok(out)
    }

    /// Fills `out` as `rng.integers(low, high, size=out.len())` would.
    pub fn fill_integers(&mut self, low: i64, high: i64, out: &mut [i64]) -> Result<()> {
        ensure!(low < high, "{}", bounds_error(false, low));
        for slot in out.iter_mut() {
            *slot = self.integers_closed_unchecked(low, high - 1);
        }
        Ok(())
    }

    /// numpy's int64 path: the closed range [low, high] as an offset plus an unsigned span, drawn
    /// by `random_bounded_uint64` (Lemire, never the masked sampler, in `Generator`); the sum
    /// wraps back into int64.
    fn integers_closed_unchecked(&mut self, low: i64, high: i64) -> i64 {
        let off = low as u64;
        let span = (high as u64).wrapping_sub(off);
        off.wrapping_add(self.bounded_u64(span)) as i64
    }

    /// A uniform value in [0, span] exactly as numpy's `random_bounded_uint64` with
    /// `use_masked = false` draws it.
    fn bounded_u64(&mut self, span: u64) -> u64 {
        if span == 0 {
            // A one-value range consumes nothing.
            0
        } else if span < u64::from(u32::MAX) {
            // Spans that fit 32 bits use 32-bit draws (the buffered halves of PCG64 words).
            u64::from(self.lemire_u32(span as u32))
        } else if span == u64::from(u32::MAX) {
            // Lemire needs span + 1 to fit the word; the full 32-bit range is a bare draw.
            u64::from(self.bit_generator.next_u32())
        } else if span == u64::MAX {
            self.bit_generator.next_u64()
        } else {
            self.lemire_u64(span)
        }
    }

    /// Lemire's nearly-divisionless method on 32-bit draws: the high word of draw × (span + 1),
    /// rejecting draws whose low word falls under 2^32 mod (span + 1). The modulo is only
    /// computed when the low word is below span + 1, its cheap upper bound.
    fn lemire_u32(&mut self, span: u32) -> u32 {
        let range = span + 1;
        let mut m = u64::from(self.bit_generator.next_u32()) * u64::from(range);
        let mut leftover = m as u32;
        if leftover < range {
            let threshold = (u32::MAX - span) % range;
            while leftover < threshold {
                m = u64::from(self.bit_generator.next_u32()) * u64::from(range);
                leftover = m as u32;
            }
        }
        (m >> 32) as u32
    }

    /// The same on 64-bit draws with a 128-bit product.
    fn lemire_u64(&mut self, span: u64) -> u64 {
        let range = span + 1;
        let mut m = u128::from(self.bit_generator.next_u64()) * u128::from(range);
        let mut leftover = m as u64;
        if leftover < range {
            let threshold = (u64::MAX - span) % range;
            while leftover < threshold {
                m = u128::from(self.bit_generator.next_u64()) * u128::from(range);
                leftover = m as u64;
            }
        }
        (m >> 64) as u64
    }

    // ----- shuffle ---------------------------------------------------------------------------

    /// `rng.shuffle(x)` for a 1-D array: Fisher–Yates from the last element down to index 1,
    /// swapping `x[i]` with `x[random_interval(i)]`.
    pub fn shuffle<T>(&mut self, x: &mut [T]) {
        for i in (1..x.len()).rev() {
            let j = self.random_interval(i as u64) as usize;
            x.swap(i, j);
        }
    }

    /// numpy's `random_interval(max)`: uniform on [0, max] by masked rejection (draws ANDed with
    /// the smallest all-ones mask covering max until one is ≤ max), on 32-bit draws when max fits
    /// 32 bits and 64-bit draws otherwise. Used by `shuffle`, not by `integers`.
    pub fn random_interval(&mut self, max: u64) -> u64 {
        if max == 0 {
            return 0;
        }
        let mask = u64::MAX >> max.leading_zeros();
        if max <= u64::from(u32::MAX) {
            loop {
                let value = u64::from(self.bit_generator.next_u32()) & mask;
                if value <= max {
                    return value;
                }
            }
        } else {
            loop {
                let value = self.bit_generator.next_u64() & mask;
                if value <= max {
                    return value;
                }
            }
        }
    }
}

/// numpy's message for an empty range (it singles out low == 0, the one-argument form).
fn bounds_error(closed: bool, low: i64) -> String {
    match (low == 0, closed) {
        (true, false) => "high <= 0".into(),
        (true, true) => "high < 0".into(),
        (false, false) => "low >= high".into(),
        (false, true) => "low > high".into(),
    }
}

/// `SeedSequence` entropy from a decimal seed string of any size (a Python int as text), for
/// callers that read seeds from configuration files.
pub fn seed_words_from_decimal(text: &str) -> Result<Vec<u32>> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        bail!("seed {text:?} is not a non-negative decimal integer");
    }
    // Little-endian base-2^32 digits, multiplied by ten and added to digit by digit.
    let mut words: Vec<u32> = vec![0];
    for digit in text.bytes().map(|b| u64::from(b - b'0')) {
        let mut carry = digit;
        for word in words.iter_mut() {
            let value = u64::from(*word) * 10 + carry;
            *word = value as u32;
            carry = value >> 32;
        }
        if carry > 0 {
            words.push(carry as u32);
        }
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_words_split_like_numpy() {
        assert_eq!(int_to_words(0), vec![0]);
        assert_eq!(int_to_words(12345), vec![12345]);
        assert_eq!(int_to_words((1u128 << 64) + 7), vec![7, 0, 1]);
        assert_eq!(seed_words_from_decimal("0").unwrap(), vec![0]);
        assert_eq!(seed_words_from_decimal("18446744073709551623").unwrap(), vec![7, 0, 1]);
        // numpy's own docstring example for _coerce_to_uint32_array.
        assert_eq!(
            seed_words_from_decimal("1234567890123456789012345678901234567890").unwrap(),
            vec![3460238034, 2898026390, 3235640248, 2697535605, 3]
        );
        assert!(seed_words_from_decimal("-1").is_err());
        assert!(seed_words_from_decimal("").is_err());
    }

    #[test]
    fn from_u128_matches_words() {
        let seed = (1u128 << 100) + 99;
        assert_eq!(SeedSequence::from_u128(seed), SeedSequence::from_entropy_words(&int_to_words(seed)));
        assert_eq!(SeedSequence::new(5), SeedSequence::from_entropy_words(&[5]));
    }

    #[test]
    fn next_u32_splits_words_low_half_first() {
        let mut a = Pcg64::new(3);
        let mut b = a.clone();
        let word = b.next_u64();
        assert_eq!(a.next_u32(), word as u32);
        // A 64-bit draw between the halves leaves the buffered half in place.
        let next_word = b.next_u64();
        assert_eq!(a.next_u64(), next_word);
        assert_eq!(a.next_u32(), (word >> 32) as u32);
        assert!(!a.state().has_uint32);
    }

    #[test]
    fn state_round_trips_through_json() {
        let mut rng = NumpyGenerator::new(42);
        rng.integers(0, 10).unwrap();
        let state = rng.state();
        assert!(state.has_uint32);
        let text = serde_json::to_string(&state).unwrap();
        let mut resumed = NumpyGenerator::from_state(serde_json::from_str(&text).unwrap());
        for _ in 0..20 {
            assert_eq!(resumed.integers(0, 1000).unwrap(), rng.integers(0, 1000).unwrap());
            assert_eq!(resumed.random().to_bits(), rng.random().to_bits());
        }
    }

    #[test]
    fn random_interval_stays_in_range_on_both_paths() {
        let mut rng = NumpyGenerator::new(1);
        for max in [1u64, 2, 3, 5, 1000, u64::from(u32::MAX), (1 << 32) + 1, (1 << 40) + 3, u64::MAX] {
            for _ in 0..200 {
                assert!(rng.random_interval(max) <= max);
            }
        }
        assert_eq!(rng.random_interval(0), 0);
    }

    #[test]
    fn random_interval_above_32_bits_uses_masked_64_bit_draws() {
        let mut rng = NumpyGenerator::new(8);
        let mut copy = rng.bit_generator().clone();
        let max = (1u64 << 33) + 5;
        let value = rng.random_interval(max);
        let expected = loop {
            let v = copy.next_u64() & ((1 << 34) - 1);
            if v <= max {
                break v;
            }
        };
        assert_eq!(value, expected);
    }

    #[test]
    fn integers_reject_empty_ranges_and_reach_extremes() {
        let mut rng = NumpyGenerator::new(0);
        assert_eq!(rng.integers(0, 0).unwrap_err().to_string(), "high <= 0");
        assert_eq!(rng.integers(5, 5).unwrap_err().to_string(), "low >= high");
        assert_eq!(rng.integers_closed(5, 4).unwrap_err().to_string(), "low > high");
        assert_eq!(rng.integers(7, 8).unwrap(), 7);
        for _ in 0..100 {
            let v = rng.integers(-3, 4).unwrap();
            assert!((-3..4).contains(&v));
            rng.integers_closed(i64::MIN, i64::MAX).unwrap();
            assert!(rng.integers_closed(i64::MAX - 1, i64::MAX).unwrap() >= i64::MAX - 1);
        }
    }

    #[test]
    fn binomial_checks_arguments_and_bounds() {
        let mut rng = NumpyGenerator::new(0);
        assert!(rng.binomial(1, -0.1).is_err());
        assert!(rng.binomial(1, 1.5).is_err());
        assert!(rng.binomial(1, f64::NAN).is_err());
        assert!(rng.binomial(-1, 0.5).is_err());
        for (n, p) in [(1, 0.2), (40, 0.9), (1000, 0.3), (1000, 0.7), (1 << 40, 0.5)] {
            for _ in 0..200 {
                let k = rng.binomial(n, p).unwrap();
                assert!((0..=n).contains(&k), "binomial({n}, {p}) gave {k}");
            }
        }
    }

    #[test]
    fn shuffle_is_a_permutation() {
        let mut rng = NumpyGenerator::new(5);
        let mut x: Vec<usize> = (0..1000).collect();
        rng.shuffle(&mut x);
        let mut sorted = x.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..1000).collect::<Vec<_>>());
        assert_ne!(x, sorted);
        let mut empty: [u8; 0] = [];
        rng.shuffle(&mut empty);
    }
}
