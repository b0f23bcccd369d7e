//! Memory units of a LIF/ALIF neuron (`num_memory`, the appendix's "LIF/ALIF with memory units",
//! Figure S7): K leaky integrators per neuron that low-pass filter its synaptic current at their
//! own, learnable time constants and feed back into the current the membrane integrates. Per neuron
//! j and unit k, with m_{k,-1} = 0:
//!
//! ```text
//! m_{k,t} = beta_k m_{k,t-1} + (1 - beta_k) I_t       beta_k = exp(-dt / tau_k)
//! I'_t    = I_t + sum_k c_k m_{k,t}                   the current the LIF dynamics see
//! ```
//!
//! c (neurons x K) starts at zero, so a fresh model equals the LIF without memory; tau_k starts
//! log-spaced over [memory_tau_min, memory_tau_max] (the ELM's memory initialisation, with its
//! 1e-6 clamps) and moves inside those bounds through the ELM's scaled sigmoid. The filter is
//! linear and does not depend on the membrane, so it runs for all steps before the recurrence, and
//! its adjoint after the recurrence's reverse sweep; forward and backward are side by side here.

use super::config::TauRange;

/// The filter's constants for one pass.
pub(super) struct MemoryFilter<'a> {
    /// c, (neurons, K).
    pub weight: &'a [f32],
    /// beta = exp(-dt / tau), (neurons, K).
    pub beta: &'a [f32],
    pub neurons: usize,
    pub units: usize,
}

impl MemoryFilter<'_> {
    /// From the raw currents I (rows x neurons, rows = (sample, step)), writes the memory states m
    /// (rows x neurons x K) and the effective currents I' (rows x neurons).
    pub fn forward(&self, current: &[f32], time: usize, memory: &mut [f32], effective: &mut [f32]) {
        let (n, k) = (self.neurons, self.units);
        let rows = current.len() / n.max(1);
        for r in 0..rows {
            let first = time == 0 || r % time == 0;
            for j in 0..n {
                let i = current[r * n + j];
                let mut total = i;
                for u in 0..k {
                    let e = (r * n + j) * k + u;
                    let previous = if first { 0.0 } else { memory[e - n * k] };
                    let beta = self.beta[j * k + u];
                    let m = beta * previous + (1.0 - beta) * i;
                    memory[e] = m;
                    total += self.weight[j * k + u] * m;
                }
                effective[r * n + j] = total;
            }
        }
    }

    /// The adjoint: from dL/dI' (`grad`, rows x neurons, overwritten with dL/dI), accumulates dL/dc
    /// and dL/dbeta (neurons x K). `carry` is scratch of neurons x K values.
    #[allow(clippy::too_many_arguments)]
    pub fn backward(
        &self,
        current: &[f32],
        memory: &[f32],
        time: usize,
        grad: &mut [f32],
        weight_grad: &mut [f64],
        beta_grad: &mut [f64],
        carry: &mut [f32],
    ) {
        let (n, k) = (self.neurons, self.units);
        let rows = current.len() / n.max(1);
        if time == 0 {
            return;
        }
        for sample in 0..rows / time {
            carry.fill(0.0);
            for t in (0..time).rev() {
                let r = sample * time + t;
                for j in 0..n {
                    let g_effective = grad[r * n + j];
                    let i = current[r * n + j];
                    let mut g_current = g_effective;
                    for u in 0..k {
                        let (p, e) = (j * k + u, (r * n + j) * k + u);
                        // g = dL/dm_{k,t}: through I'_t, and through m_{k,t+1} (carried).
                        let g = self.weight[p] * g_effective + self.beta[p] * carry[p];
                        weight_grad[p] += (g_effective * memory[e]) as f64;
                        let previous = if t == 0 { 0.0 } else { memory[e - n * k] };
                        beta_grad[p] += (g * (previous - i)) as f64;
                        g_current += (1.0 - self.beta[p]) * g;
                        carry[p] = g;
                    }
                    grad[r * n + j] = g_current;
                }
            }
        }
    }
}

/// The initial proto values of the memory time constants of one neuron: log-spaced over the
/// range, kept 1e-6 inside it (as the ELM's `initial_proto_tau_m`).
pub(super) fn initial_protos(range: TauRange, units: usize) -> Vec<f32> {
    let (lo, hi) = (range.lo, range.hi);
    let (a, b) = ((lo + 1e-6).log10(), (hi - 1e-6).log10());
    (0..units)
        .map(|u| {
            let x = if units == 1 { a } else { a + (b - a) * u as f64 / (units - 1) as f64 };
            let tau = 10f64.powf(x).clamp(lo + 1e-6, hi - 1e-6);
            range.proto_of(tau)
        })
        .collect()
}
