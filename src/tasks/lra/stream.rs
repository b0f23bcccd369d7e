//! LRA training batches: shuffled epochs over the used training items (`ShuffledEpochs`, as the
//! SHD stream draws them). The permutation and the generator are the saved state, so a resumed
//! run sees exactly the batches it would have seen. With `task.input_dropout` set, tokens
//! are dropped from each batch by a second seeded generator, saved with the stream too.

use super::data::LraData;
use crate::engine::numpy_random::{NumpyGenerator, Pcg64State};
use crate::engine::Rng;
use crate::tasks::input_dropout::drop_inputs;
use crate::tasks::shuffled_epochs::ShuffledEpochs;
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
    epochs: ShuffledEpochs,
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
        Ok(Self {
            data,
            batch_size,
            epochs: ShuffledEpochs::new(n),
            numpy: NumpyGenerator::new(seed),
            input_dropout,
            dropout: Rng::derive(seed, 0xd20f),
        })
    }
}

impl TrainStream for LraStream {
    fn next_batch(&mut self) -> Result<Batch> {
        let picks = self.epochs.next_batch(&mut self.numpy, self.batch_size);
        let (mut inputs, labels) = self.data.batch(Split::Train, picks)?;
        drop_inputs(&mut inputs, self.input_dropout, &mut self.dropout);
        Ok(Batch { inputs, targets: Targets::Classes(labels) })
    }

    fn state(&self) -> Result<serde_json::Value> {
        let (permutation, position) = self.epochs.state();
        Ok(serde_json::to_value(StreamState {
            numpy: self.numpy.state(),
            permutation,
            position,
            dropout: Some(self.dropout.state()),
        })?)
    }

    fn restore(&mut self, state: &serde_json::Value) -> Result<()> {
        let s: StreamState = serde_json::from_value(state.clone()).context("the saved LRA stream state")?;
        self.epochs.restore(s.permutation, s.position, &format!("{} training split", self.data.task.name()))?;
        self.numpy.set_state(s.numpy);
        if let Some(state) = s.dropout {
            self.dropout = Rng::from_state(state);
        }
        Ok(())
    }
}
