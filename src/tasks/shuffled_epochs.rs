//! Epochs over a training split as the official iterators draw them: the split's positions
//! reshuffled in place by numpy's `default_rng(seed).shuffle` at the start of every epoch, then
//! consecutive batches of them, the remainder of an epoch dropped. SHD's and LRA's training
//! streams both draw this way; the permutation and how much of it is used are their saved state.

use crate::engine::numpy_random::NumpyGenerator;
use anyhow::{bail, Result};

pub struct ShuffledEpochs {
    permutation: Vec<usize>,
    position: usize,
}

impl ShuffledEpochs {
    /// Epochs over `n` items. The permutation starts used up, so that the first batch starts an
    /// epoch with a shuffle, as the official iterators shuffle before their first batch.
    pub fn new(n: usize) -> Self {
        Self { permutation: (0..n).collect(), position: n }
    }

    /// The positions of the next `batch` items, shuffling with `numpy` when the current epoch
    /// has fewer than `batch` left. The caller ensures `batch <= n`.
    pub fn next_batch(&mut self, numpy: &mut NumpyGenerator, batch: usize) -> &[usize] {
        if self.position + batch > self.permutation.len() {
            numpy.shuffle(&mut self.permutation);
            self.position = 0;
        }
        let picks = &self.permutation[self.position..self.position + batch];
        self.position += batch;
        picks
    }

    /// The saved state: the current permutation and how many of its items are used.
    pub fn state(&self) -> (Vec<usize>, usize) {
        (self.permutation.clone(), self.position)
    }

    /// Restores a saved state, which must be a permutation of this split's positions (`what`
    /// names the split in the error).
    pub fn restore(&mut self, permutation: Vec<usize>, position: usize, what: &str) -> Result<()> {
        let mut sorted = permutation.clone();
        sorted.sort_unstable();
        if sorted.len() != self.permutation.len()
            || sorted.iter().enumerate().any(|(i, &k)| i != k)
            || position > sorted.len()
        {
            bail!("the saved stream does not fit this {what} of {} items", self.permutation.len());
        }
        self.permutation = permutation;
        self.position = position;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Batches follow numpy's shuffles epoch by epoch, and the remainder is dropped.
    #[test]
    fn batches_walk_numpy_permutations_and_drop_the_remainder() {
        let (n, batch) = (10, 4);
        let mut epochs = ShuffledEpochs::new(n);
        let mut numpy = NumpyGenerator::new(3);
        let mut drawn = Vec::new();
        for _ in 0..4 {
            drawn.extend_from_slice(epochs.next_batch(&mut numpy, batch));
        }
        // The same shuffles by hand: two epochs of two batches each (2 of 10 dropped per epoch).
        let mut reference = NumpyGenerator::new(3);
        let mut expected = Vec::new();
        let mut permutation: Vec<usize> = (0..n).collect();
        for _ in 0..2 {
            reference.shuffle(&mut permutation);
            expected.extend_from_slice(&permutation[..8]);
        }
        assert_eq!(drawn, expected);
    }

    #[test]
    fn a_restored_state_continues_the_stream_and_a_foreign_one_is_refused() {
        let mut numpy = NumpyGenerator::new(5);
        let mut epochs = ShuffledEpochs::new(6);
        epochs.next_batch(&mut numpy, 2);
        let (permutation, position) = epochs.state();
        let numpy_state = numpy.state();
        let next = epochs.next_batch(&mut numpy, 2).to_vec();

        let mut resumed = ShuffledEpochs::new(6);
        resumed.restore(permutation.clone(), position, "split").unwrap();
        let mut resumed_numpy = NumpyGenerator::new(0);
        resumed_numpy.set_state(numpy_state);
        assert_eq!(resumed.next_batch(&mut resumed_numpy, 2), next.as_slice());

        let error = ShuffledEpochs::new(7).restore(permutation.clone(), position, "training split").unwrap_err();
        assert!(error.to_string().contains("training split of 7 items"), "{error}");
        assert!(ShuffledEpochs::new(6).restore(vec![0, 0, 1, 2, 3, 4], 0, "split").is_err());
        assert!(ShuffledEpochs::new(6).restore(permutation, 7, "split").is_err());
    }
}
