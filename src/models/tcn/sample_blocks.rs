//! The batch in blocks of whole samples, to bound the TCN's scratch memory.
//!
//! A layer's product Z = h W_all^T has K * C_out columns per (batch, time) row: for the
//! 7 x 128 x 35 preset that is 4480 floats a row, 1.1 GB for the 64,000 rows of a 128-simulation
//! evaluation window. Samples do not interact, so Z is formed block by block; a training batch
//! (8 x 500 rows) is one block, so training still does one GEMM per layer. The split depends only
//! on the shape, so results do not depend on anything else.

use crate::engine::{Inputs, SparseSequences};
use std::ops::Range;

/// Rows (samples x steps) per block: Z stays below ~150 MB for the largest preset.
const BLOCK_ROWS: usize = 8192;

/// The sample ranges of the blocks (at least one sample each).
pub fn blocks(batch: usize, time: usize) -> impl Iterator<Item = Range<usize>> {
    let per_block = (BLOCK_ROWS / time.max(1)).max(1);
    (0..batch).step_by(per_block).map(move |first| first..(first + per_block).min(batch))
}

/// The most rows any block of `blocks(batch, time)` has.
pub fn max_block_rows(batch: usize, time: usize) -> usize {
    blocks(batch, time).map(|b| b.len() * time).max().unwrap_or(0)
}

/// The input restricted to some samples: a view where it can be, a copy of the sparse rows
/// otherwise.
pub enum InputBlock<'a> {
    Borrowed(Inputs<'a>),
    Owned(SparseSequences),
}

impl<'a> InputBlock<'a> {
    pub fn new(x: &Inputs<'a>, samples: Range<usize>) -> Self {
        let (batch, time, features) = x.shape();
        if samples == (0..batch) {
            return InputBlock::Borrowed(*x);
        }
        let rows = samples.start * time..samples.end * time;
        match *x {
            Inputs::Dense { data, .. } => InputBlock::Borrowed(Inputs::Dense {
                data: &data[rows.start * features..rows.end * features],
                batch: samples.len(),
                time,
                features,
            }),
            Inputs::Sparse(s) => {
                let (first, last) = (s.row_start[rows.start], s.row_start[rows.end]);
                InputBlock::Owned(SparseSequences::new(
                    samples.len(),
                    time,
                    features,
                    s.row_start[rows.start..=rows.end].iter().map(|&i| i - first).collect(),
                    s.feature[first..last].to_vec(),
                    s.value[first..last].to_vec(),
                ))
            }
        }
    }

    pub fn inputs(&self) -> Inputs<'_> {
        match self {
            InputBlock::Borrowed(x) => *x,
            InputBlock::Owned(s) => Inputs::Sparse(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_cover_the_batch_and_slice_inputs_exactly() {
        let ranges: Vec<_> = blocks(40, 500).collect();
        assert_eq!(ranges, vec![0..16, 16..32, 32..40]);
        assert_eq!(max_block_rows(40, 500), 8000);
        assert_eq!(blocks(3, 100_000).count(), 3, "a sample longer than a block is a block of its own");
        let dense: Vec<f32> = (0..3 * 2 * 4).map(|i| if i % 3 == 0 { i as f32 } else { 0.0 }).collect();
        let sparse = SparseSequences::from_dense(&dense, 3, 2, 4);
        let block = InputBlock::new(&Inputs::Sparse(&sparse), 1..3);
        match block.inputs() {
            Inputs::Sparse(s) => assert_eq!(s.to_dense(), dense[8..].to_vec()),
            Inputs::Dense { .. } => panic!("a sparse block stays sparse"),
        }
        let x = Inputs::dense(&dense, 3, 2, 4).unwrap();
        match InputBlock::new(&x, 2..3).inputs() {
            Inputs::Dense { data, batch, .. } => assert_eq!((data, batch), (&dense[16..], 1)),
            Inputs::Sparse(_) => panic!("a dense block stays dense"),
        }
    }
}
