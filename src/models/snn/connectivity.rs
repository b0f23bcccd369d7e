//! Who connects to whom: the random synapses of every neuron and the inhibitory neurons, drawn
//! once from the model's seed and saved with the weights (`presynaptic_indices`,
//! `inhibitory_mask`), and the same wiring arranged for the passes (`Topology`).
//!
//! Neurons 0..R are the recurrent layer, R..N the output layer. A presynaptic partner is named
//! in one index space: input channel i is i, neuron m is num_input + m. Synapse k of neuron n is
//! parameter element n K + k.
//!
//! The draw, per neuron and per synapse: the previous layer with probability
//! `previous_layer_fraction` (the recurrent layer's previous layer is the input, the output
//! layer's is the recurrent layer), else the neuron's own layer; then a partner uniformly among
//! those of that layer not yet connected to the neuron, never the neuron itself. When the chosen
//! layer has no partner left (an output neuron in a layer of 19 can draw more than 18 own-layer
//! synapses, P = 0.46% per neuron at 10%), the synapse goes to the other layer, so every neuron
//! has exactly `synapses_per_neuron` distinct partners. A neuron's partners are stored in
//! increasing order.

use super::SnnConfig;
use crate::engine::Rng;
use anyhow::{bail, Result};

/// The stream of `Rng::derive` the connectivity is drawn from.
const CONNECTIVITY_STREAM: u64 = 0x5ee_c0de;

#[derive(Clone, Debug, PartialEq)]
pub struct Connectivity {
    /// Partner of synapse k of neuron n at n K + k (inputs first, then neurons by index).
    pub presynaptic: Vec<u32>,
    /// Whether neuron n is inhibitory (its outgoing synapses are negative); outputs never are.
    pub inhibitory: Vec<bool>,
}

/// The partners a neuron of a layer may draw from, in the shared index space.
struct Candidates {
    previous: std::ops::Range<u32>,
    own: std::ops::Range<u32>,
}

fn candidates(config: &SnnConfig, neuron: usize) -> Candidates {
    let (n_in, r, n) = (config.num_input as u32, config.num_recurrent() as u32, config.num_neurons as u32);
    if (neuron as u32) < r {
        Candidates { previous: 0..n_in, own: n_in..n_in + r }
    } else {
        Candidates { previous: n_in..n_in + r, own: n_in + r..n_in + n }
    }
}

impl Connectivity {
    /// A fresh random draw for `config` (already validated) from `seed`.
    pub fn draw(config: &SnnConfig, seed: u64) -> Self {
        let mut rng = Rng::derive(seed, CONNECTIVITY_STREAM);
        let (n, k) = (config.num_neurons, config.synapses_per_neuron);
        let mut presynaptic = Vec::with_capacity(n * k);
        // Partners not yet drawn for the current neuron, per layer (partial Fisher-Yates draws).
        let (mut previous, mut own) = (Vec::new(), Vec::new());
        for neuron in 0..n {
            let c = candidates(config, neuron);
            let myself = (config.num_input + neuron) as u32;
            previous.clear();
            previous.extend(c.previous);
            own.clear();
            own.extend(c.own.filter(|&m| m != myself));
            let start = presynaptic.len();
            for _ in 0..k {
                let wants_previous = rng.uniform_f64() < config.previous_layer_fraction;
                let pool = match (wants_previous, previous.is_empty(), own.is_empty()) {
                    (true, false, _) | (false, false, true) => &mut previous,
                    _ => &mut own,
                };
                let at = rng.below(pool.len() as u64) as usize;
                presynaptic.push(pool.swap_remove(at));
            }
            presynaptic[start..].sort_unstable();
        }
        // Exactly round(fraction x R) inhibitory recurrent neurons, chosen uniformly.
        let r = config.num_recurrent();
        let mut order: Vec<usize> = (0..r).collect();
        let mut inhibitory = vec![false; n];
        for i in 0..config.num_inhibitory() {
            let j = i + rng.below((r - i) as u64) as usize;
            order.swap(i, j);
            inhibitory[order[i]] = true;
        }
        Self { presynaptic, inhibitory }
    }

    /// Checks a connectivity (e.g. one read from a checkpoint) against the config's layers.
    pub fn check(&self, config: &SnnConfig) -> Result<()> {
        let (n, k) = (config.num_neurons, config.synapses_per_neuron);
        if self.presynaptic.len() != n * k {
            bail!(
                "presynaptic_indices has {} entries, expected num_neurons {n} x synapses_per_neuron {k}",
                self.presynaptic.len()
            );
        }
        if self.inhibitory.len() != n {
            bail!("inhibitory_mask has {} entries, expected num_neurons = {n}", self.inhibitory.len());
        }
        if let Some(o) = (config.num_recurrent()..n).find(|&o| self.inhibitory[o]) {
            bail!("inhibitory_mask marks output neuron {o} inhibitory; output neurons are excitatory");
        }
        for (neuron, partners) in self.presynaptic.chunks_exact(k).enumerate() {
            let c = candidates(config, neuron);
            let myself = (config.num_input + neuron) as u32;
            for (i, &p) in partners.iter().enumerate() {
                if !(c.previous.contains(&p) || c.own.contains(&p)) || p == myself {
                    bail!(
                        "presynaptic_indices: neuron {neuron} cannot have partner {p} (its layers are {:?} and {:?}, \
                         itself excluded)",
                        c.previous,
                        c.own
                    );
                }
                if i > 0 && partners[i - 1] >= p {
                    bail!("presynaptic_indices: the partners of neuron {neuron} must be distinct and increasing");
                }
            }
        }
        Ok(())
    }
}

/// Synapses with the same postsynaptic timing, grouped by presynaptic neuron (compressed rows):
/// the forward pass scatters a spike along its neuron's row, the reverse sweep gathers along it.
#[derive(Clone, Debug, Default)]
pub(super) struct Outgoing {
    /// Row m is `start[m]..start[m + 1]`.
    pub start: Vec<usize>,
    pub target: Vec<u32>,
    /// The synapse (parameter element) of each entry.
    pub synapse: Vec<u32>,
}

impl Outgoing {
    #[inline]
    pub fn row(&self, neuron: usize) -> std::ops::Range<usize> {
        self.start[neuron]..self.start[neuron + 1]
    }

    pub fn len(&self) -> usize {
        self.target.len()
    }

    /// Rows from (presynaptic, postsynaptic, synapse) triples; within a row, entries keep the
    /// triples' order.
    fn from_triples(num_neurons: usize, triples: &[(u32, u32, u32)]) -> Self {
        let mut start = vec![0usize; num_neurons + 1];
        for &(pre, _, _) in triples {
            start[pre as usize + 1] += 1;
        }
        for m in 0..num_neurons {
            start[m + 1] += start[m];
        }
        let mut fill = start.clone();
        let (mut target, mut synapse) = (vec![0u32; triples.len()], vec![0u32; triples.len()]);
        for &(pre, post, syn) in triples {
            let at = &mut fill[pre as usize];
            target[*at] = post;
            synapse[*at] = syn;
            *at += 1;
        }
        Self { start, target, synapse }
    }
}

/// A synapse from an input channel.
#[derive(Clone, Copy, Debug)]
pub(super) struct InputSynapse {
    pub neuron: u32,
    pub feature: u32,
    pub synapse: u32,
}

/// The wiring arranged for the passes.
#[derive(Clone, Debug, Default)]
pub(super) struct Topology {
    /// Dale's sign of every synapse: -1 from an inhibitory neuron, +1 otherwise (inputs included).
    pub sign: Vec<f32>,
    /// Synapses from the input channels (recurrent neurons only).
    pub input: Vec<InputSynapse>,
    /// Synapses within a layer: a spike at step t reaches the current of step t + 1.
    pub delayed: Outgoing,
    /// Synapses from the recurrent to the output layer: a spike at step t reaches the current of
    /// the same step, as in a feed-forward stack of layers.
    pub immediate: Outgoing,
}

impl Topology {
    pub fn new(config: &SnnConfig, c: &Connectivity) -> Self {
        let (n_in, r, n, k) =
            (config.num_input, config.num_recurrent(), config.num_neurons, config.synapses_per_neuron);
        let mut sign = vec![1.0f32; n * k];
        let mut input = Vec::new();
        let (mut delayed, mut immediate) = (Vec::new(), Vec::new());
        for (syn, &p) in c.presynaptic.iter().enumerate() {
            let post = syn / k;
            let p = p as usize;
            if p < n_in {
                input.push(InputSynapse { neuron: post as u32, feature: p as u32, synapse: syn as u32 });
                continue;
            }
            let pre = p - n_in;
            if c.inhibitory[pre] {
                sign[syn] = -1.0;
            }
            let triple = (pre as u32, post as u32, syn as u32);
            if (pre < r) == (post < r) {
                delayed.push(triple);
            } else {
                immediate.push(triple);
            }
        }
        Self {
            sign,
            input,
            delayed: Outgoing::from_triples(n, &delayed),
            immediate: Outgoing::from_triples(n, &immediate),
        }
    }
}
