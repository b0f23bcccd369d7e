//! Which input feeds each synapse (`input_to_synapse_indices` and `valid_indices_mask` in the
//! official code). Synapse j belongs to branch `j / num_synapse_per_branch`.

use super::config::{ElmConfig, RoutingKind};
use crate::engine::Rng;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SynapseRouting {
    /// The input index feeding each synapse.
    pub input_of_synapse: Vec<u32>,
    /// False for padding synapses past the last input (they always see 0).
    pub valid: Vec<bool>,
}

impl SynapseRouting {
    pub fn build(config: &ElmConfig) -> Self {
        let num_input = config.num_input;
        let num_synapse = config.num_synapse();
        match config.input_to_synapse_routing {
            None => Self { input_of_synapse: (0..num_synapse as u32).collect(), valid: vec![true; num_synapse] },
            Some(RoutingKind::Random) => {
                let mut rng = Rng::new(config.routing_seed);
                let input_of_synapse = (0..num_synapse).map(|_| rng.below(num_input as u64) as u32).collect();
                Self { input_of_synapse, valid: vec![true; num_synapse] }
            }
            Some(RoutingKind::Neuronio) => neuronio(num_input, config.num_branch(), config.num_synapse_per_branch),
        }
    }

    /// Whether every synapse reads its own input in order (the vanilla ELM).
    pub fn is_identity(&self) -> bool {
        self.valid.iter().all(|&v| v) && self.input_of_synapse.iter().enumerate().all(|(j, &i)| i as usize == j)
    }
}

/// NeuronIO routing: excitatory input k and inhibitory input k are the two inputs of dendritic
/// segment k, so interlocking them (e0, i0, e1, i1, ...) puts each segment's pair side by side;
/// overlapping windows then give every branch a run of neighbouring segments.
fn neuronio(num_input: usize, num_branch: usize, per_branch: usize) -> SynapseRouting {
    let half = num_input / 2;
    let interlocked = |k: usize| (k % 2) * half + k / 2;
    let stride = num_input.div_ceil(num_branch);
    let mut input_of_synapse = Vec::with_capacity(num_branch * per_branch);
    let mut valid = Vec::with_capacity(num_branch * per_branch);
    for branch in 0..num_branch {
        for element in 0..per_branch {
            let position = branch * stride + element;
            valid.push(position < num_input);
            // Out-of-range positions are clamped to the last input, then masked (as officially).
            input_of_synapse.push(interlocked(position.min(num_input - 1)) as u32);
        }
    }
    SynapseRouting { input_of_synapse, valid }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neuronio_routing_by_hand() {
        // 6 inputs (e0 e1 e2 i0 i1 i2), 2 branches of 4: interlocked order e0 i0 e1 i1 e2 i2 =
        // inputs 0 3 1 4 2 5; stride ceil(6/2) = 3; windows [0..4) and [3..7) with 6 masked.
        let r = neuronio(6, 2, 4);
        assert_eq!(r.input_of_synapse, vec![0, 3, 1, 4, 4, 2, 5, 5]);
        assert_eq!(r.valid, vec![true, true, true, true, true, true, true, false]);
    }
}
