//! LRA training batches: the used training items reshuffled at the start of every epoch (numpy's
//! `default_rng(seed).shuffle`, as the SHD stream), then consecutive batches of them, the
//! remainder of an epoch dropped. The permutation and the generator are the saved state, so a
//! resumed run sees exactly the batches it would have seen. With `task.input_dropout` set, tokens
//! are dropped from each batch by a second seeded generator, saved with the stream too.

use super::data::LraData;
use crate::engine::numpy_random::{NumpyGenerator, Pcg64State};
use crate::engine::Rng;
use crate::tasks::input_dropout::drop_inputs;
use crate::tasks::{Batch, Split, Targets, TrainStream};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Serialize, Deserialize)]
struct StreamState {
    numpy: Pcg64State,
    permutation: Vec<usize>,
    position: usize,
    /// The dropout generator (absent in states saved before input dropout existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dropout: Option<[u64; 4]>,
}

pub struct LraStream {
    data: Arc<LraData>,
    batch_size: usize,
    permutation: Vec<usize>,
    position: usize,
    numpy: NumpyGenerator,
    input_dropout: f64,
    dropout: Rng,
}

impl LraStream {
    pub fn new(data: Arc<LraData>, batch_size: usize, input_dropout: f64, seed: u64) -> Result<Self> {
        let n = data.items(Split::Train);
        if n < batch_size {
            bail!("the {} training split has {n} items, fewer than a batch of {batch_size}", data.task.name());
        }
        // A used-up permutation, so that the first batch starts an epoch with a shuffle.
        Ok(Self {
            data,
            batch_size,
            permutation: (0..n).collect(),
            position: n,
            numpy: NumpyGenerator::new(seed),
            input_dropout,
            dropout: Rng::derive(seed, 0xd20f),
        })
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
        let (mut inputs, labels) = self.data.batch(Split::Train, picks)?;
        drop_inputs(&mut inputs, self.input_dropout, &mut self.dropout);
        Ok(Batch { inputs, targets: Targets::Classes(labels) })
    }

    fn state(&self) -> Result<serde_json::Value> {
        Ok(serde_json::to_value(StreamState {
            numpy: self.numpy.state(),
            permutation: self.permutation.clone(),
            position: self.position,
            dropout: Some(self.dropout.state()),
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
        if let Some(state) = s.dropout {
            self.dropout = Rng::from_state(state);
        }
        Ok(())
    }
}
