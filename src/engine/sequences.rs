//! Batches of input sequences, (batch, time, features), dense or sparse.
//!
//! Spike trains and one-hot tokens are mostly zeros (NeuronIO inputs are about 2% non-zero), so
//! a model that is handed the sparse form pays only for the non-zeros.

use anyhow::{ensure, Result};

/// One batch of sequences in compressed sparse rows: row `r = b * time + t` holds the non-zero
/// features of sample `b` at step `t`, in increasing feature order.
#[derive(Clone, Debug, PartialEq)]
pub struct SparseSequences {
    pub batch: usize,
    pub time: usize,
    pub features: usize,
    /// `row_start[r]..row_start[r + 1]` indexes `feature` and `value` for row r.
    pub row_start: Vec<usize>,
    pub feature: Vec<u32>,
    pub value: Vec<f32>,
}

impl SparseSequences {
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
        Self { batch, time, features, row_start, feature, value }
    }

    pub fn nnz(&self) -> usize {
        self.value.len()
    }

    /// Non-zeros of row `r` as (feature, value) pairs.
    pub fn row(&self, r: usize) -> impl Iterator<Item = (usize, f32)> + '_ {
        let span = self.row_start[r]..self.row_start[r + 1];
        self.feature[span.clone()].iter().map(|&i| i as usize).zip(self.value[span].iter().copied())
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
}
