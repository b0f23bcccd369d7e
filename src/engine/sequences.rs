//! Batches of input sequences, (batch, time, features), dense or sparse.
//!
//! Spike trains and one-hot tokens are mostly zeros (NeuronIO inputs are about 2% non-zero), so
//! a model that is handed the sparse form pays only for the non-zeros.

use anyhow::{ensure, Result};
use std::sync::OnceLock;

/// One batch of sequences in compressed sparse rows: row `r = b * time + t` holds the non-zero
/// features of sample `b` at step `t`, in increasing feature order.
#[derive(Clone, Debug)]
pub struct SparseSequences {
    pub batch: usize,
    pub time: usize,
    pub features: usize,
    /// `row_start[r]..row_start[r + 1]` indexes `feature` and `value` for row r.
    pub row_start: Vec<usize>,
    pub feature: Vec<u32>,
    pub value: Vec<f32>,
    /// The same non-zeros by feature, made at the first `by_feature` (the data loader's thread
    /// makes it for training batches, off the step's critical path). Code that changes the
    /// fields above calls `changed`.
    by_feature: OnceLock<ByFeature>,
}

/// Equal when the non-zeros are (whether `by_feature` was made yet does not matter).
impl PartialEq for SparseSequences {
    fn eq(&self, other: &Self) -> bool {
        (self.batch, self.time, self.features) == (other.batch, other.time, other.features)
            && self.row_start == other.row_start
            && self.feature == other.feature
            && self.value == other.value
    }
}

impl SparseSequences {
    pub fn new(
        batch: usize,
        time: usize,
        features: usize,
        row_start: Vec<usize>,
        feature: Vec<u32>,
        value: Vec<f32>,
    ) -> Self {
        Self { batch, time, features, row_start, feature, value, by_feature: OnceLock::new() }
    }

    /// Forgets what was derived from the non-zeros; for code that changes them in place.
    pub fn changed(&mut self) {
        self.by_feature = OnceLock::new();
    }
    pub fn from_dense(data: &[f32], batch: usize, time: usize, features: usize) -> Self {
        assert_eq!(data.len(), batch * time * features);
        let mut row_start = Vec::with_capacity(batch * time + 1);
        let mut feature = Vec::new();
        let mut value = Vec::new();
        row_start.push(0);
        for row in data.chunks_exact(features.max(1)).take(batch * time) {
            for (i, &v) in row.iter().enumerate() {
                if v != 0.0 {
                    feature.push(i as u32);
                    value.push(v);
                }
            }
            row_start.push(feature.len());
        }
        Self::new(batch, time, features, row_start, feature, value)
    }

    pub fn nnz(&self) -> usize {
        self.value.len()
    }

    /// Non-zeros of row `r` as (feature, value) pairs.
    pub fn row(&self, r: usize) -> impl Iterator<Item = (usize, f32)> + Clone + '_ {
        let span = self.row_start[r]..self.row_start[r + 1];
        self.feature[span.clone()].iter().map(|&i| i as usize).zip(self.value[span].iter().copied())
    }

    /// The non-zeros by feature (compressed sparse columns): feature f's are
    /// `start[f]..start[f + 1]` of `row` and `value`, rows ascending. A product X^T G then sums
    /// each output row in registers over that feature's rows, in the same order as a pass over
    /// the rows would. Made once, at the first call.
    pub fn by_feature(&self) -> &ByFeature {
        let made = self.by_feature.get_or_init(|| self.make_by_feature());
        debug_assert_eq!(made.row.len(), self.nnz(), "the non-zeros changed without `changed`");
        made
    }

    fn make_by_feature(&self) -> ByFeature {
        let mut start = vec![0usize; self.features + 1];
        for &f in &self.feature {
            start[f as usize + 1] += 1;
        }
        for f in 0..self.features {
            start[f + 1] += start[f];
        }
        let mut next = start.clone();
        let (mut row, mut value) = (vec![0usize; self.nnz()], vec![0.0f32; self.nnz()]);
        for r in 0..self.batch * self.time {
            for k in self.row_start[r]..self.row_start[r + 1] {
                let f = self.feature[k] as usize;
                row[next[f]] = r;
                value[next[f]] = self.value[k];
                next[f] += 1;
            }
        }
        ByFeature { start, row, value }
    }

    /// The sequences of samples `samples` (a sub-batch), as a batch of their own. When this
    /// batch's by-feature form is made, the sub-batch's is cut from it (each feature's rows of a
    /// sample range are one run of its ascending rows) rather than made again.
    pub fn samples(&self, samples: std::ops::Range<usize>) -> SparseSequences {
        let mut part = SparseSequences::new(0, self.time, self.features, vec![0], Vec::new(), Vec::new());
        self.samples_into(samples, &mut part);
        part
    }

    /// `samples` into `part`, reusing its allocations (a step that splits every batch would
    /// otherwise map fresh pages for each part: ~300 page faults per Branch-ELM step).
    pub fn samples_into(&self, samples: std::ops::Range<usize>, part: &mut SparseSequences) {
        assert!(samples.start <= samples.end && samples.end <= self.batch, "samples {samples:?} of {}", self.batch);
        let rows = samples.start * self.time..samples.end * self.time;
        let (first, last) = (self.row_start[rows.start], self.row_start[rows.end]);
        (part.batch, part.time, part.features) = (samples.len(), self.time, self.features);
        part.row_start.clear();
        part.row_start.extend(self.row_start[rows.start..=rows.end].iter().map(|r| r - first));
        part.feature.clear();
        part.feature.extend_from_slice(&self.feature[first..last]);
        part.value.clear();
        part.value.extend_from_slice(&self.value[first..last]);
        let reused = part.by_feature.take();
        if let Some(whole) = self.by_feature.get() {
            let mut cut = reused.unwrap_or_default();
            whole.rows_into(rows, &mut cut);
            let _ = part.by_feature.set(cut);
        }
    }

    pub fn to_dense(&self) -> Vec<f32> {
        let mut out = vec![0.0; self.batch * self.time * self.features];
        for r in 0..self.batch * self.time {
            for (i, v) in self.row(r) {
                out[r * self.features + i] = v;
            }
        }
        out
    }
}

/// `SparseSequences::by_feature`: the same non-zeros, grouped by feature.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ByFeature {
    pub start: Vec<usize>,
    pub row: Vec<usize>,
    pub value: Vec<f32>,
}

impl ByFeature {
    /// The non-zeros of rows `rows`, renumbered from 0, into `into` (its allocations reused):
    /// each feature's run of rows in the range.
    fn rows_into(&self, rows: std::ops::Range<usize>, into: &mut ByFeature) {
        let features = self.start.len() - 1;
        into.start.clear();
        into.row.clear();
        into.value.clear();
        into.start.push(0);
        for f in 0..features {
            let span = self.start[f]..self.start[f + 1];
            let of_f = &self.row[span.clone()];
            let first = span.start + of_f.partition_point(|&r| r < rows.start);
            let last = span.start + of_f.partition_point(|&r| r < rows.end);
            into.row.extend(self.row[first..last].iter().map(|r| r - rows.start));
            into.value.extend_from_slice(&self.value[first..last]);
            into.start.push(into.row.len());
        }
    }

    /// Non-zeros of feature `f` as (row, value) pairs, rows ascending.
    pub fn feature(&self, f: usize) -> impl Iterator<Item = (usize, f32)> + Clone + '_ {
        let span = self.start[f]..self.start[f + 1];
        self.row[span.clone()].iter().copied().zip(self.value[span].iter().copied())
    }
}

/// The input of a sequence model.
#[derive(Clone, Copy, Debug)]
pub enum Inputs<'a> {
    Dense { data: &'a [f32], batch: usize, time: usize, features: usize },
    Sparse(&'a SparseSequences),
}

impl<'a> Inputs<'a> {
    pub fn dense(data: &'a [f32], batch: usize, time: usize, features: usize) -> Result<Self> {
        ensure!(
            data.len() == batch * time * features,
            "input has {} values, not batch {batch} x time {time} x features {features}",
            data.len()
        );
        Ok(Inputs::Dense { data, batch, time, features })
    }

    pub fn shape(&self) -> (usize, usize, usize) {
        match self {
            Inputs::Dense { batch, time, features, .. } => (*batch, *time, *features),
            Inputs::Sparse(s) => (s.batch, s.time, s.features),
        }
    }

    /// The values as a dense (batch, time, features) array: borrowed when dense, expanded when
    /// sparse (for the paths that need every entry).
    pub fn dense_values(&self) -> std::borrow::Cow<'a, [f32]> {
        match self {
            Inputs::Dense { data, .. } => std::borrow::Cow::Borrowed(data),
            Inputs::Sparse(s) => std::borrow::Cow::Owned(s.to_dense()),
        }
    }

    /// Fraction of non-zero entries.
    pub fn density(&self) -> f64 {
        let (b, t, f) = self.shape();
        let nnz = match self {
            Inputs::Dense { data, .. } => data.iter().filter(|v| **v != 0.0).count(),
            Inputs::Sparse(s) => s.nnz(),
        };
        nnz as f64 / (b * t * f).max(1) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_feature_lists_every_non_zero_under_its_feature_in_row_order() {
        let dense = [0.0, 2.0, 0.0, 1.0, 0.0, 3.0, 0.0, 0.0, 0.0, 4.0, 5.0, 0.0];
        let mut s = SparseSequences::from_dense(&dense, 2, 2, 3);
        let by = s.by_feature();
        // Rows (sample, step): [0, 2, 0], [1, 0, 3], [0, 0, 0], [4, 5, 0].
        assert_eq!(by.start, vec![0, 2, 4, 5]);
        assert_eq!(by.feature(0).collect::<Vec<_>>(), vec![(1, 1.0), (3, 4.0)]);
        assert_eq!(by.feature(1).collect::<Vec<_>>(), vec![(0, 2.0), (3, 5.0)]);
        assert_eq!(by.feature(2).collect::<Vec<_>>(), vec![(1, 3.0)]);
        // Made once; `changed` forgets it, and equality ignores it.
        let copy = SparseSequences::from_dense(&dense, 2, 2, 3);
        assert_eq!(s, copy);
        s.value[0] = 7.0;
        s.changed();
        assert_eq!(s.by_feature().feature(1).next(), Some((0, 7.0)));
    }

    #[test]
    fn sparse_round_trips_and_lists_nonzeros_in_order() {
        let dense = [0.0, 2.0, 0.0, -1.0, 0.0, 0.0, 5.0, 0.0];
        let s = SparseSequences::from_dense(&dense, 2, 2, 2);
        assert_eq!(s.nnz(), 3);
        assert_eq!(s.row(0).collect::<Vec<_>>(), vec![(1, 2.0)]);
        assert_eq!(s.row(1).collect::<Vec<_>>(), vec![(1, -1.0)]);
        assert_eq!(s.row(2).count(), 0);
        assert_eq!(s.row(3).collect::<Vec<_>>(), vec![(0, 5.0)]);
        assert_eq!(s.to_dense(), dense);
    }

    /// A sub-batch equals the sparse form of its slice of the dense values, with and without
    /// the whole batch's by-feature form made first (the sub-batch's is then cut from it).
    #[test]
    fn a_range_of_samples_is_the_sparse_form_of_their_dense_slice() {
        let (batch, time, features) = (4, 3, 5);
        let dense: Vec<f32> =
            (0..batch * time * features).map(|i| if i % 3 == 0 { (i % 7) as f32 + 1.0 } else { 0.0 }).collect();
        let whole = SparseSequences::from_dense(&dense, batch, time, features);
        for range in [0..2, 1..3, 2..4, 0..4, 3..3] {
            let slice = &dense[range.start * time * features..range.end * time * features];
            let expected = SparseSequences::from_dense(slice, range.len(), time, features);
            let cut = whole.samples(range.clone());
            assert_eq!(cut, expected, "samples {range:?}");
            assert_eq!(cut.by_feature(), expected.by_feature(), "made after the cut, samples {range:?}");
        }
        whole.by_feature();
        for range in [0..2, 1..3, 2..4, 0..4, 3..3] {
            let slice = &dense[range.start * time * features..range.end * time * features];
            let expected = SparseSequences::from_dense(slice, range.len(), time, features);
            assert_eq!(
                whole.samples(range.clone()).by_feature(),
                expected.by_feature(),
                "cut from the whole, {range:?}"
            );
        }
    }
}
