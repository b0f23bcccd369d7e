//! Model inputs from SHD files: binned samples, alone (SHD) or two in a row (SHD-Adding), with the
//! training input dropout; and the training streams, which draw their samples as the official
//! `SHD` and `SHDAdding` datasets do.
//!
//! * SHD: shuffled epochs over the training split (`ShuffledEpochs`: numpy's `default_rng(seed)`
//!   shuffles the index array in place at the start of every epoch; an epoch is `len // batch`
//!   batches of consecutive indices, the remainder dropped), exactly as the official iterator.
//! * SHD-Adding: for every batch, `rng.integers(0, n, size=2 * batch)` from one generator that is
//!   never reset; item i pairs draws i and batch + i, and its class is the sum of the two labels
//!   mod 10.
//!
//! With the run's seed in place of the official seed 0, the indices equal the official ones
//! (numpy's stream is reproduced bit for bit, `engine::numpy_random`). The input dropout cannot
//! be: the official notebook draws it from `torch.rand_like` on the dense tensor. Ours drops each
//! non-zero count independently with probability p (the same distribution; a zero stays zero
//! either way), without rescaling what is kept, as the notebook's `inputs[mask] = 0` does, from a
//! seeded generator whose state is saved with the stream.

use super::{append_sequence, empty_batch, BinScratch, BinnedSample, Binning, ShdFile};
use crate::engine::numpy_random::{NumpyGenerator, Pcg64State};
use crate::engine::{Rng, SparseSequences};
use crate::tasks::input_dropout::drop_inputs;
use crate::tasks::shuffled_epochs::ShuffledEpochs;
use crate::tasks::{Batch, Targets, TrainStream};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// One item of a batch: a sample of a file, or two shown one after the other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Item {
    One(usize),
    Pair(usize, usize),
}

impl Item {
    /// SHD's class, or SHD-Adding's sum of the two digits' values (labels 10-19 are the German
    /// words for 0-9).
    pub fn label(&self, labels: &[u8]) -> u32 {
        match *self {
            Item::One(k) => labels[k] as u32,
            Item::Pair(a, b) => (labels[a] % 10 + labels[b] % 10) as u32,
        }
    }
}

/// Bins samples and assembles batches, reusing its buffers.
pub struct BatchBuilder {
    binning: Binning,
    scratch: BinScratch,
    first: BinnedSample,
    second: BinnedSample,
}

impl BatchBuilder {
    pub fn new(binning: Binning) -> Self {
        Self { binning, scratch: BinScratch::default(), first: Default::default(), second: Default::default() }
    }

    /// Steps of one item: one binned second, or two for a pair.
    pub fn steps(&self, pair: bool) -> usize {
        self.binning.steps() * if pair { 2 } else { 1 }
    }

    /// The inputs of `items` from `file` (all of one kind: single samples or pairs).
    pub fn inputs(&mut self, file: &ShdFile, items: &[Item]) -> Result<SparseSequences> {
        let pair = matches!(items.first(), Some(Item::Pair(..)));
        let mut batch = empty_batch(self.steps(pair));
        for item in items {
            match *item {
                Item::One(k) if !pair => {
                    self.binning.bin_into(&file.sample(k), &mut self.scratch, &mut self.first);
                    append_sequence(&mut batch, &[(0, &self.first)])?;
                }
                Item::Pair(a, b) if pair => {
                    self.binning.bin_into(&file.sample(a), &mut self.scratch, &mut self.first);
                    self.binning.bin_into(&file.sample(b), &mut self.scratch, &mut self.second);
                    append_sequence(&mut batch, &[(0, &self.first), (self.binning.steps(), &self.second)])?;
                }
                _ => bail!("a batch mixes single samples and pairs"),
            }
        }
        Ok(batch)
    }
}

/// The order in which a stream draws its items.
enum Order {
    /// SHD: positions in the split, reshuffled at every epoch.
    Shuffled(ShuffledEpochs),
    /// SHD-Adding: pairs drawn afresh for every batch.
    Pairs,
}

/// What a resumed run restores.
#[derive(Serialize, Deserialize)]
struct StreamState {
    numpy: Pcg64State,
    dropout: [u64; 4],
    /// SHD: the current permutation (positions into the split) and how much of it is used.
    permutation: Option<Vec<usize>>,
    position: usize,
}

pub struct ShdStream {
    file: Arc<ShdFile>,
    /// The training split: indices into `file`.
    split: Arc<Vec<usize>>,
    builder: BatchBuilder,
    batch_size: usize,
    input_dropout: f64,
    order: Order,
    numpy: NumpyGenerator,
    dropout: Rng,
}

impl ShdStream {
    pub fn new(
        file: Arc<ShdFile>,
        split: Arc<Vec<usize>>,
        binning: Binning,
        adding: bool,
        batch_size: usize,
        input_dropout: f64,
        seed: u64,
    ) -> Result<Self> {
        if split.len() < if adding { 1 } else { batch_size } {
            bail!(
                "the SHD training split has {} samples, fewer than a batch of {batch_size} (file {})",
                split.len(),
                file.path().display()
            );
        }
        let order = if adding { Order::Pairs } else { Order::Shuffled(ShuffledEpochs::new(split.len())) };
        Ok(Self {
            file,
            split,
            builder: BatchBuilder::new(binning),
            batch_size,
            input_dropout,
            order,
            numpy: NumpyGenerator::new(seed),
            dropout: Rng::derive(seed, 0xd20f),
        })
    }

    /// The items of the next batch, as indices into the file.
    fn next_items(&mut self) -> Result<Vec<Item>> {
        let b = self.batch_size;
        Ok(match &mut self.order {
            Order::Shuffled(epochs) => {
                epochs.next_batch(&mut self.numpy, b).iter().map(|&k| Item::One(self.split[k])).collect()
            }
            Order::Pairs => {
                let n = self.split.len() as i64;
                let draws = self.numpy.integers_vec(0, n, 2 * b)?;
                (0..b).map(|i| Item::Pair(self.split[draws[i] as usize], self.split[draws[b + i] as usize])).collect()
            }
        })
    }
}

impl TrainStream for ShdStream {
    fn next_batch(&mut self) -> Result<Batch> {
        let items = self.next_items()?;
        let mut inputs = self.builder.inputs(&self.file, &items)?;
        drop_inputs(&mut inputs, self.input_dropout, &mut self.dropout);
        let labels = items.iter().map(|item| item.label(self.file.labels())).collect();
        Ok(Batch { inputs, targets: Targets::Classes(labels) })
    }

    fn state(&self) -> Result<serde_json::Value> {
        let (permutation, position) = match &self.order {
            Order::Shuffled(epochs) => {
                let (permutation, position) = epochs.state();
                (Some(permutation), position)
            }
            Order::Pairs => (None, 0),
        };
        Ok(serde_json::to_value(StreamState {
            numpy: self.numpy.state(),
            dropout: self.dropout.state(),
            permutation,
            position,
        })?)
    }

    fn restore(&mut self, state: &serde_json::Value) -> Result<()> {
        let s: StreamState = serde_json::from_value(state.clone()).context("the saved SHD stream state")?;
        match (&mut self.order, s.permutation) {
            (Order::Shuffled(epochs), Some(saved)) => epochs.restore(saved, s.position, "SHD training split")?,
            (Order::Pairs, None) => {}
            _ => bail!("the saved stream belongs to the other SHD task"),
        }
        self.numpy.set_state(s.numpy);
        self.dropout = Rng::from_state(s.dropout);
        Ok(())
    }
}
