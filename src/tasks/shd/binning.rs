//! The official SHD binning (`SHD.__iter__` in the official `shd_data_loader.py`, after Zenke's
//! SpyTorch tutorial), reproduced to the bit:
//!
//! ```text
//! step  = bin_size / 1000                              # seconds
//! edges = np.arange(0, 1.0 + step, step)               # float64
//! bin   = np.digitize(times, edges) - 1                # right=False: #edges <= t, minus one
//! X[bin, unit] += 1                                    # a sparse tensor's duplicates add up
//! X = X[:-1]                                           # the last slot (t >= edges[-1]) is dropped
//! ```
//!
//! so a sample becomes `len(edges) - 1` steps (1000 / bin_size for divisors of 1000) of counts on
//! 700 channels. Both numpy steps are reproduced exactly rather than approximated by
//! `floor(t / step)`: the edges are `i * step` rounded in float64 (so the 100 ms edge 3 is
//! 0.30000000000000004, and a spike at 0.3 s is in bin 2), and the float16 times of the real files
//! are compared with them after widening to float64, as numpy's `searchsorted` does.

use super::file::{ShdSample, SpikeTimes};
use super::NUM_UNITS;
use crate::io::float16::f16_to_f32;
use anyhow::{ensure, Result};

/// The largest bin size: one bin for the whole second.
pub const MAX_BIN_MS: u32 = 1000;

/// `np.arange(start, stop, step)` for float64 arguments, element for element as numpy computes
/// it (`PyArray_ArangeObj` and the `DOUBLE_fill` loop): length `ceil((stop - start) / step)`,
/// element 0 `start`, element 1 `start + step`, element i >= 2 `start + i * delta` with
/// `delta = (start + step) - start`. The caller bounds the length (numpy would fail to allocate).
pub fn numpy_arange(start: f64, stop: f64, step: f64) -> Vec<f64> {
    let length = ((stop - start) / step).ceil();
    // numpy refuses a NaN length and gives an empty array for a non-positive one.
    if length.is_nan() || length <= 0.0 {
        return Vec::new();
    }
    let length = length as usize;
    let mut out = Vec::with_capacity(length);
    out.push(start);
    if length > 1 {
        let next = start + step;
        out.push(next);
        let delta = next - start;
        for i in 2..length {
            out.push(start + i as f64 * delta);
        }
    }
    out
}

/// `np.digitize(x, edges)` for increasing `edges` (right=False): the number of edges <= x.
/// numpy's `searchsorted` orders NaN after every number, so NaN gives `edges.len()`.
pub fn numpy_digitize(x: f64, edges: &[f64]) -> usize {
    if x.is_nan() {
        return edges.len();
    }
    edges.partition_point(|&e| e <= x)
}

/// One non-zero of a binned sample: `count` spikes on `unit` in time step `step`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BinnedEntry {
    pub step: u32,
    pub unit: u16,
    pub count: u32,
}

/// A sample binned: its non-zero counts, sorted by step, then unit.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BinnedSample {
    steps: usize,
    entries: Vec<BinnedEntry>,
}

impl BinnedSample {
    /// Time steps (the binning's `steps()`).
    pub fn steps(&self) -> usize {
        self.steps
    }

    pub fn entries(&self) -> &[BinnedEntry] {
        &self.entries
    }

    /// Spikes inside the binned second (the sum of the counts).
    pub fn spike_count(&self) -> u64 {
        self.entries.iter().map(|e| e.count as u64).sum()
    }

    /// The counts as a dense (steps, 700) row-major array.
    pub fn to_dense(&self) -> Vec<f32> {
        let mut dense = vec![0.0; self.steps * NUM_UNITS];
        for e in &self.entries {
            dense[e.step as usize * NUM_UNITS + e.unit as usize] = e.count as f32;
        }
        dense
    }
}

/// Buffers that binning reuses from sample to sample, so that binning allocates nothing once
/// they have grown to the largest sample.
#[derive(Clone, Debug, Default)]
pub struct BinScratch {
    /// The step of each spike of the sample (`DROPPED` for a spike outside the second).
    spike_step: Vec<u16>,
    /// Where each unit's spikes start in `by_unit`, then where each step's start in `by_step`.
    unit_start: Vec<u32>,
    step_start: Vec<u32>,
    /// The kept spikes as `step << 16 | unit`, ordered by unit, then by (step, unit).
    by_unit: Vec<u32>,
    by_step: Vec<u32>,
}

/// The step of a spike the binning does not count.
const DROPPED: u16 = u16::MAX;

/// The official binning for one bin size.
#[derive(Clone, Debug, PartialEq)]
pub struct Binning {
    bin_ms: u32,
    step_s: f64,
    edges: Vec<f64>,
    /// The step of every non-negative float16 time (indexed by its bit pattern), `DROPPED` if not
    /// counted: the real files' times are float16, and a table lookup replaces the conversion,
    /// division and edge comparisons per spike (64 KiB, built from `step_of`, so equal to it).
    f16_step: Vec<u16>,
}

impl Binning {
    /// The binning for bins of `bin_ms` milliseconds, 1 to 1000.
    pub fn new(bin_ms: u32) -> Result<Self> {
        ensure!(
            (1..=MAX_BIN_MS).contains(&bin_ms),
            "SHD bin size {bin_ms} ms: must be 1 to {MAX_BIN_MS} ms (the samples are binned over 1 s)"
        );
        // Python's `bin_size / 1000` (true division of two ints: the nearest float64) and
        // `max_time + step_size`.
        let step_s = bin_ms as f64 / 1000.0;
        let edges = numpy_arange(0.0, 1.0 + step_s, step_s);
        let mut binning = Self { bin_ms, step_s, edges, f16_step: Vec::new() };
        // At most 1001 steps (1 ms bins), so every step fits below DROPPED.
        binning.f16_step =
            (0..0x8000u16).map(|bits| binning.step_of(f16_to_f32(bits) as f64).map_or(DROPPED, |s| s as u16)).collect();
        Ok(binning)
    }

    pub fn bin_ms(&self) -> u32 {
        self.bin_ms
    }

    /// The bin edges in seconds, `np.arange(0, 1.0 + step, step)`.
    pub fn edges(&self) -> &[f64] {
        &self.edges
    }

    /// Time steps of a binned sample: `len(edges) - 1`.
    pub fn steps(&self) -> usize {
        self.edges.len() - 1
    }

    /// The step that a spike at `t` seconds counts in (`np.digitize(t, edges) - 1`), or `None` if
    /// it is not counted: at or after the last edge (the dropped slot), NaN, or negative (where the
    /// official code would index -1; the reader never lets such a time through).
    pub fn step_of(&self, t: f64) -> Option<usize> {
        if t.is_nan() || t < 0.0 {
            return None;
        }
        let last = self.edges.len() - 1;
        // t / step is within an ulp or so of the true position; the two loops settle it on the
        // largest k with edges[k] <= t, which is digitize - 1.
        let mut k = ((t / self.step_s) as usize).min(last);
        while k < last && self.edges[k + 1] <= t {
            k += 1;
        }
        while self.edges[k] > t {
            k -= 1;
        }
        (k < last).then_some(k)
    }

    /// Bins one sample (allocating; see `bin_into` for a loop).
    pub fn bin(&self, sample: &ShdSample<'_>) -> BinnedSample {
        let mut out = BinnedSample::default();
        self.bin_into(sample, &mut BinScratch::default(), &mut out);
        out
    }

    /// Bins one sample into `out`, replacing what it held. The sample's units must be below 700
    /// and as many as its times, as the reader guarantees.
    ///
    /// Two stable counting sorts, by unit and then by step, order the spikes by (step, unit) in
    /// linear time without comparisons; the official code's sum of duplicates is then the length
    /// of each run of equal (step, unit).
    pub fn bin_into(&self, sample: &ShdSample<'_>, scratch: &mut BinScratch, out: &mut BinnedSample) {
        // A reader's samples always agree; a hand-made one that does not is a caller's bug.
        assert_eq!(sample.times.len(), sample.units.len(), "sample {}: times and units differ in length", sample.index);
        let steps = self.steps();
        out.steps = steps;
        out.entries.clear();
        let BinScratch { spike_step, unit_start, step_start, by_unit, by_step } = scratch;
        spike_step.clear();
        match sample.times {
            SpikeTimes::F16(t) => spike_step.extend(t.iter().map(|&bits| match self.f16_step.get(bits as usize) {
                Some(&step) => step,
                // Negative (never from the reader), or -0.0, which counts as 0.
                None => self.step_of(f16_to_f32(bits) as f64).map_or(DROPPED, |s| s as u16),
            })),
            SpikeTimes::F32(t) => {
                spike_step.extend(t.iter().map(|&v| self.step_of(v as f64).map_or(DROPPED, |s| s as u16)))
            }
            SpikeTimes::F64(t) => spike_step.extend(t.iter().map(|&v| self.step_of(v).map_or(DROPPED, |s| s as u16))),
        }

        // Histograms (shifted by one), then exclusive prefix sums: the start of each bucket.
        unit_start.clear();
        unit_start.resize(NUM_UNITS + 1, 0);
        step_start.clear();
        step_start.resize(steps + 1, 0);
        for (&step, &unit) in spike_step.iter().zip(sample.units) {
            if step != DROPPED {
                unit_start[unit as usize + 1] += 1;
                step_start[step as usize + 1] += 1;
            }
        }
        for k in 1..unit_start.len() {
            unit_start[k] += unit_start[k - 1];
        }
        for k in 1..step_start.len() {
            step_start[k] += step_start[k - 1];
        }
        let kept = step_start[steps] as usize;

        by_unit.clear();
        by_unit.resize(kept, 0);
        for (&step, &unit) in spike_step.iter().zip(sample.units) {
            if step != DROPPED {
                let at = &mut unit_start[unit as usize];
                by_unit[*at as usize] = (step as u32) << 16 | unit as u32;
                *at += 1;
            }
        }
        by_step.clear();
        by_step.resize(kept, 0);
        for &key in by_unit.iter() {
            let at = &mut step_start[(key >> 16) as usize];
            by_step[*at as usize] = key;
            *at += 1;
        }

        let mut j = 0;
        while j < kept {
            let key = by_step[j];
            let mut end = j + 1;
            while end < kept && by_step[end] == key {
                end += 1;
            }
            out.entries.push(BinnedEntry { step: key >> 16, unit: (key & 0xffff) as u16, count: (end - j) as u32 });
            j = end;
        }
    }

    /// Bins every sample of a file, in order. Mind the memory: an entry takes 12 bytes and most
    /// spikes are an entry of their own at small bins (43 million entries for 61 million spikes at
    /// 2 ms in an SHD-sized file, about 500 MB), so a training loop bins each batch as it draws it
    /// (`bin_into`, about 0.1 ms a sample) rather than the whole set up front.
    pub fn bin_all<'a>(&self, samples: impl IntoIterator<Item = ShdSample<'a>>) -> Vec<BinnedSample> {
        let mut scratch = BinScratch::default();
        samples
            .into_iter()
            .map(|sample| {
                let mut out = BinnedSample::default();
                self.bin_into(&sample, &mut scratch, &mut out);
                out
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample<'a>(times: &'a [f64], units: &'a [u16]) -> ShdSample<'a> {
        ShdSample { index: 0, times: SpikeTimes::F64(times), units, label: 0, speaker: None }
    }

    #[test]
    fn arange_follows_numpy_fill_rule() {
        // Values printed by numpy 2.4: np.arange(0, 0.7, 0.1) has ceil(6.999999999999999) = 7
        // elements, the last 0.6000000000000001; np.arange(0, 1.4, 0.1) has
        // ceil(13.999999999999998) = 14, element 3 is 0.30000000000000004 and the last 1.3.
        let a = numpy_arange(0.0, 0.7, 0.1);
        assert_eq!(a.len(), 7);
        assert_eq!(a[6], 0.6000000000000001);
        let a = numpy_arange(0.0, 1.4, 0.1);
        assert_eq!(a.len(), 14);
        assert_eq!(a[3], 0.30000000000000004);
        assert_eq!(a[13], 1.3);
        // np.arange(1.0, 0.0, 0.5) is empty; np.arange(0.0, 0.5, 1.0) is [0.].
        assert!(numpy_arange(1.0, 0.0, 0.5).is_empty());
        assert_eq!(numpy_arange(0.0, 0.5, 1.0), vec![0.0]);
    }

    #[test]
    fn digitize_counts_edges_at_or_below() {
        // np.digitize([0.0, 0.49, 0.5, 1.0, -0.1, nan], [0.0, 0.5, 1.0]) in numpy 2.4: [1 1 2 3 0 3].
        let edges = [0.0, 0.5, 1.0];
        assert_eq!(numpy_digitize(0.0, &edges), 1);
        assert_eq!(numpy_digitize(0.49, &edges), 1);
        assert_eq!(numpy_digitize(0.5, &edges), 2);
        assert_eq!(numpy_digitize(1.0, &edges), 3);
        assert_eq!(numpy_digitize(-0.1, &edges), 0);
        assert_eq!(numpy_digitize(f64::NAN, &edges), 3);
    }

    #[test]
    fn step_of_equals_digitize_minus_one_and_drops_the_last_slot() {
        // np.digitize(t, np.arange(0, 1.1, 0.1)) - 1 in numpy 2.4, for t = 0.0, -0.0, 0.3,
        // 0.30000000000000004, 0.9999, 1.0, 7.0, nan, -1e-9: 0, 0, 2, 3, 9, 10, 10, 10, -1
        // (10 is the dropped slot; -1 cannot occur for the reader's times).
        let binning = Binning::new(100).unwrap();
        assert_eq!(binning.steps(), 10);
        assert_eq!(binning.step_of(0.0), Some(0));
        assert_eq!(binning.step_of(-0.0), Some(0));
        assert_eq!(binning.step_of(0.3), Some(2), "0.3 lies below the edge 0.30000000000000004");
        assert_eq!(binning.step_of(0.30000000000000004), Some(3));
        assert_eq!(binning.step_of(0.9999), Some(9));
        assert_eq!(binning.step_of(1.0), None);
        assert_eq!(binning.step_of(7.0), None);
        assert_eq!(binning.step_of(f64::NAN), None);
        assert_eq!(binning.step_of(-1e-9), None);
        for t in [0.0, 0.05, 0.1, 0.29999, 0.3, 0.7, 0.99, 1.0, 1.05] {
            let expected = numpy_digitize(t, binning.edges()) - 1;
            assert_eq!(binning.step_of(t), (expected < binning.steps()).then_some(expected), "{t}");
        }
    }

    #[test]
    fn bin_sizes_outside_one_to_a_thousand_ms_are_refused() {
        for bad in [0, 1001, u32::MAX] {
            let e = Binning::new(bad).unwrap_err().to_string();
            assert!(e.contains(&format!("{bad} ms")), "{e}");
        }
    }

    #[test]
    fn duplicates_add_up_and_entries_are_sorted() {
        let binning = Binning::new(10).unwrap();
        let times = [0.0123, 0.5, 0.0123, 0.011, 0.0123, 1.2, 0.0105];
        let units = [17, 3, 17, 17, 2, 5, 699];
        let binned = binning.bin(&sample(&times, &units));
        let got: Vec<(u32, u16, u32)> = binned.entries().iter().map(|e| (e.step, e.unit, e.count)).collect();
        assert_eq!(got, vec![(1, 2, 1), (1, 17, 3), (1, 699, 1), (50, 3, 1)]);
        assert_eq!(binned.spike_count(), 6, "the spike at 1.2 s is dropped");
        assert_eq!(binned.steps(), 100);
    }

    #[test]
    fn scratch_reuse_gives_the_same_result() {
        let binning = Binning::new(2).unwrap();
        let mut scratch = BinScratch::default();
        let mut out = BinnedSample::default();
        let big_t: Vec<f64> = (0..500).map(|i| i as f64 * 0.002).collect();
        let big_u: Vec<u16> = (0..500).map(|i| (i * 7 % 700) as u16).collect();
        binning.bin_into(&sample(&big_t, &big_u), &mut scratch, &mut out);
        let small = sample(&[0.5, 0.001], &[4, 9]);
        binning.bin_into(&small, &mut scratch, &mut out);
        assert_eq!(out, binning.bin(&small));
        assert_eq!(out.entries().len(), 2);
    }
}
