//! LRA training batches: the used training items reshuffled at the start of every epoch (numpy's
//! `default_rng(seed).shuffle`, as the SHD stream), then consecutive batches of them, the
//! remainder of an epoch dropped. The permutation and the generator are the saved state, so a
//! resumed run sees exactly the batches it would have seen.

use super::data::LraData;
use crate::engine::numpy_random::{NumpyGenerator, Pcg64State};
use crate::tasks::{Batch, Split, Targets, TrainStream};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Serialize, Deserialize)]
struct StreamState {
    numpy: Pcg64State,
    permutation: Vec<usize>,
    position: usize,
}

pub struct LraStream {
    data: Arc<LraData>,
    batch_size: usize,
    permutation: Vec<usize>,
    position: usize,
    numpy: NumpyGenerator,
}

impl LraStream {
    pub fn new(data: Arc<LraData>, batch_size: usize, seed: u64) -> Result<Self> {
        let n = data.items(Split::Train);
        if n < batch_size {
            bail!("the {} training split has {n} items, fewer than a batch of {batch_size}", data.task.name());
        }
        // A used-up permutation, so that the first batch starts an epoch with a shuffle.
        Ok(Self { data, batch_size, permutation: (0..n).collect(), position: n, numpy: NumpyGenerator::new(seed) })
    }
}

impl TrainStream for LraStream {
    fn next_batch(&mut self) -> Result<Batch> {
        if self.position + self.batch_size > self.permutation.len() {
            self.numpy.shuffle(&mut self.permutation);
            self.position = 0;
        }
        let picks = &self.permutation[self.position..self.position + self.batch_size];
        self.position += self.batch_size;
        let (inputs, labels) = self.data.batch(Split::Train, picks)?;
        Ok(Batch { inputs, targets: Targets::Classes(labels) })
    }

    fn state(&self) -> Result<serde_json::Value> {
        Ok(serde_json::to_value(StreamState {
            numpy: self.numpy.state(),
            permutation: self.permutation.clone(),
            position: self.position,
        })?)
    }

    fn restore(&mut self, state: &serde_json::Value) -> Result<()> {
        let s: StreamState = serde_json::from_value(state.clone()).context("the saved LRA stream state")?;
        let mut sorted = s.permutation.clone();
        sorted.sort_unstable();
        if sorted.len() != self.permutation.len()
            || sorted.iter().enumerate().any(|(i, &k)| i != k)
            || s.position > sorted.len()
        {
            bail!(
                "the saved stream does not fit this {} training split of {} items",
                self.data.task.name(),
                self.permutation.len()
            );
        }
        self.permutation = s.permutation;
        self.position = s.position;
        self.numpy.set_state(s.numpy);
        Ok(())
    }
}
