//! NeuronIO with its input channels in a seeded random order (`task.shuffle_inputs_seed`), the
//! appendix's control for the Branch-ELM: its `neuronio` routing gives each branch a window of
//! neighbouring inputs, which on NeuronIO are synapses of neighbouring dendritic segments; shuffled,
//! a branch collects synapses from all over the tree.
//!
//! The model sees x'_i = x_{channel(i)}: every input keeps its own sign (+1 excitatory, -1
//! inhibitory), only its position changes, in training batches and in evaluation alike.

use crate::engine::{Rng, SparseSequences};

/// A seeded permutation of the input channels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputShuffle {
    /// `position[c]`: where channel c of the data appears in the model's input.
    position: Vec<u32>,
}

impl InputShuffle {
    /// A uniform permutation of `channels` (Fisher-Yates with the crate's generator, so a seed
    /// gives the same order on every machine).
    pub fn new(channels: usize, seed: u64) -> Self {
        let mut rng = Rng::derive(seed, 0x5348_5546);
        let mut channel_at: Vec<u32> = (0..channels as u32).collect();
        for i in (1..channels).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            channel_at.swap(i, j);
        }
        let mut position = vec![0u32; channels];
        for (i, &c) in channel_at.iter().enumerate() {
            position[c as usize] = i as u32;
        }
        Self { position }
    }

    pub fn position_of(&self, channel: usize) -> usize {
        self.position[channel] as usize
    }

    pub fn channels(&self) -> usize {
        self.position.len()
    }

    /// Moves every channel of `x` to its position, keeping each row in increasing feature order.
    pub fn apply(&self, x: &mut SparseSequences) {
        x.changed();
        let mut row: Vec<(u32, f32)> = Vec::new();
        for r in 0..x.batch * x.time {
            let span = x.row_start[r]..x.row_start[r + 1];
            row.clear();
            row.extend(
                x.feature[span.clone()]
                    .iter()
                    .zip(&x.value[span.clone()])
                    .map(|(&f, &v)| (self.position[f as usize], v)),
            );
            row.sort_unstable_by_key(|&(f, _)| f);
            for (k, (f, v)) in span.zip(row.iter()) {
                x.feature[k] = *f;
                x.value[k] = *v;
            }
        }
    }
}
