//! The synaptic weights, w = sign relu(proto) (Dale's sign of the presynaptic neuron times the
//! rectified parameter), laid out for one pass; the input projection of every step at once; and,
//! after the reverse sweep, the weight gradients: the input synapses' as one sparse-aware product
//! over all (sample, step) rows, the neuron-to-neuron synapses' as sums over the spikes.

use super::connectivity::Topology;
use super::recurrence::{LaneLayout, LANES};
use crate::engine::{input_linear, BufferPool, Inputs};
use rayon::prelude::*;

/// The signed, rectified weights of one pass.
pub(super) struct Weights {
    /// The input synapses as a dense (num_neurons, num_input) matrix, zero where a neuron has no
    /// synapse from a channel (output neurons have none): what `input_linear` multiplies.
    pub input: Vec<f32>,
    /// Aligned with `topology.delayed` and `topology.immediate`.
    pub delayed: Vec<f32>,
    pub immediate: Vec<f32>,
}

impl Weights {
    pub fn new(topology: &Topology, proto: &[f32], num_neurons: usize, num_input: usize, pool: &BufferPool) -> Self {
        let weight = |syn: usize| topology.sign[syn] * proto[syn].max(0.0);
        let mut input = pool.zeros(num_neurons * num_input);
        for s in &topology.input {
            input[s.neuron as usize * num_input + s.feature as usize] += weight(s.synapse as usize);
        }
        let laid_out = |synapses: &[u32]| {
            let mut w = pool.any(synapses.len());
            for (w, &syn) in w.iter_mut().zip(synapses) {
                *w = weight(syn as usize);
            }
            w
        };
        let delayed = laid_out(&topology.delayed.synapse);
        let immediate = laid_out(&topology.immediate.synapse);
        Self { input, delayed, immediate }
    }

    pub fn recycle(self, pool: &BufferPool) {
        for v in [self.input, self.delayed, self.immediate] {
            pool.recycle(v);
        }
    }
}

/// The input current of every neuron at every (sample, step) row, (rows, num_neurons), written
/// over `current`: one product for all steps, costing only the non-zeros of sparse inputs.
pub(super) fn project_inputs(x: &Inputs, weights: &Weights, num_neurons: usize, current: &mut [f32]) {
    input_linear::forward(x, &weights.input, None, num_neurons, current);
}

/// The gradient of every synapse parameter, (num_neurons x synapses_per_neuron), from the
/// gradient of every current, `d_current` (batch, time, num_neurons), and the spikes of the
/// forward pass (lane-interleaved, `layout`).
///
/// A synapse m -> n adds w s_m to the current of n (one step later within a layer, the same step
/// from the recurrent to the output layer), so d w = sum over samples and steps of s_m dI_n: only
/// the steps where m spiked contribute. Samples are summed in parallel into their own partial
/// sums, which are then added in sample order (the same bits on any thread count).
pub(super) fn parameter_gradient(
    topology: &Topology,
    proto: &[f32],
    x: &Inputs,
    d_current: &[f32],
    spikes: &[f32],
    layout: LaneLayout,
    pool: &BufferPool,
) -> Vec<f32> {
    let (n, time) = (layout.neurons, layout.time);
    let (_, _, num_input) = x.shape();
    let mut weight_grad = vec![0.0f32; proto.len()];

    // Input synapses: dW = dI^T X over every row, then each synapse reads its entry.
    let mut dense = pool.zeros(n * num_input);
    input_linear::weight_gradient(x, d_current, n, &mut dense);
    for s in &topology.input {
        weight_grad[s.synapse as usize] += dense[s.neuron as usize * num_input + s.feature as usize];
    }
    pool.recycle(dense);

    let (delayed, immediate) = (&topology.delayed, &topology.immediate);
    let width = delayed.len() + immediate.len();
    let mut partial = pool.zeros(layout.batch * width);
    if width > 0 && time > 0 {
        partial
            .par_chunks_mut(LANES * width)
            .zip(spikes.par_chunks(layout.group_len()))
            .zip(d_current.par_chunks(LANES * time * n))
            .for_each(|((g, s), dc)| {
                for (l, (g, dc)) in g.chunks_exact_mut(width).zip(dc.chunks_exact(time * n)).enumerate() {
                    let (g_delayed, g_immediate) = g.split_at_mut(delayed.len());
                    for t in 0..time {
                        let now = &dc[t * n..(t + 1) * n];
                        let next = (t + 1 < time).then(|| &dc[(t + 1) * n..(t + 2) * n]);
                        for m in 0..n {
                            let sm = s[(t * n + m) * LANES + l];
                            if sm == 0.0 {
                                continue;
                            }
                            if let Some(next) = next {
                                for e in delayed.row(m) {
                                    g_delayed[e] += sm * next[delayed.target[e] as usize];
                                }
                            }
                            for e in immediate.row(m) {
                                g_immediate[e] += sm * now[immediate.target[e] as usize];
                            }
                        }
                    }
                }
            });
    }
    for g in partial.chunks_exact(width.max(1)).take(layout.batch) {
        for (e, &syn) in delayed.synapse.iter().enumerate() {
            weight_grad[syn as usize] += g[e];
        }
        for (e, &syn) in immediate.synapse.iter().enumerate() {
            weight_grad[syn as usize] += g[delayed.len() + e];
        }
    }
    pool.recycle(partial);

    // w = sign relu(proto): the sign passes through, the rectifier where proto > 0 (zero at 0,
    // as in PyTorch).
    for ((g, &p), &sign) in weight_grad.iter_mut().zip(proto).zip(&topology.sign) {
        *g = if p > 0.0 { sign * *g } else { 0.0 };
    }
    weight_grad
}
