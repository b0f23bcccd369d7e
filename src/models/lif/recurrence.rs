//! The sequential part of the LIF/ALIF layer: the membrane, spike, reset and adaptation of every
//! neuron of every sample, step by step, and its reverse sweep (BPTT).
//!
//! The synaptic currents I_t are computed for all steps beforehand (they do not depend on the
//! state), so a step here is a handful of scalar operations per neuron. Neurons are independent:
//! within a step the loop runs over them side by side (rows are (sample, step), columns neurons,
//! so a step's neurons are contiguous), and the sweep runs over the samples one after the other
//! (the chains are too short to pay for threads). Per neuron and step, with v_{-1} = a_0 = 0:
//!
//! ```text
//! u_t     = alpha v_{t-1} + (1 - alpha) I_t          membrane before reset
//! x_t     = u_t - theta - beta a_t                   distance to the (adaptive) threshold
//! s_t     = H(x_t)                                   or the smooth S(x_t); dS/dx = surrogate
//! v_t     = u_t - theta s_t                          soft reset: subtract the base threshold
//! a_{t+1} = rho a_t + (1 - rho) s_t                  ALIF only (beta = 0 and a = 0 for LIF)
//! y_t     = (k x_t, u_t) or u_t                      per `LifOutputs`
//! ```
//!
//! The reverse sweep carries the adjoints of v_t and a_{t+1} backwards; the spike's adjoint
//! passes through the surrogate into x_t. With `detach_reset` the reset's term of that adjoint is
//! left out (the membrane then sees the reset only in the forward pass).

use super::config::LifOutputs;
use crate::nn::Spike;

/// The per-pass constants of the dynamics.
#[derive(Clone, Debug)]
pub(super) struct Dynamics {
    /// alpha = exp(-dt / tau_m) of every neuron.
    pub alpha: Vec<f32>,
    pub threshold: f32,
    pub logit_scale: f32,
    pub spike: Spike,
    /// Whether the backward pass follows the reset v_t = u_t - theta s_t into s_t.
    pub reset_gradient: bool,
    /// rho = exp(-dt / tau_a) of every neuron and the shared beta, of an ALIF layer.
    pub adaptation: Option<(Vec<f32>, f32)>,
    pub outputs: LifOutputs,
}

impl Dynamics {
    fn neurons(&self) -> usize {
        self.alpha.len()
    }
}

/// Per-(row, neuron) states the backward pass needs; rows = (batch, time) row-major, neurons
/// within a row contiguous.
pub(super) struct States {
    pub membrane: Vec<f32>,
    pub spikes: Vec<f32>,
    /// a_t at every step (ALIF; empty for LIF).
    pub adaptation: Vec<f32>,
}

/// Samples in a batch whose currents are `current` (rows x neurons).
fn samples(current: &[f32], time: usize, neurons: usize) -> usize {
    if time == 0 {
        0
    } else {
        current.len() / (time * neurons)
    }
}

/// Runs the layer over every sample; `y` receives (rows, num_output) outputs.
pub(super) fn forward(d: &Dynamics, current: &[f32], time: usize, states: &mut States, y: &mut [f32]) {
    let n = d.neurons();
    let (mut v, mut a) = (vec![0.0f32; n], vec![0.0f32; n]);
    for sample in 0..samples(current, time, n) {
        v.fill(0.0);
        a.fill(0.0);
        for t in 0..time {
            let row = (sample * time + t) * n;
            for j in 0..n {
                let r = row + j;
                let alpha = d.alpha[j];
                let u = alpha * v[j] + (1.0 - alpha) * current[r];
                let threshold = match &d.adaptation {
                    Some((_, beta)) => d.threshold + beta * a[j],
                    None => d.threshold,
                };
                let x = u - threshold;
                let s = d.spike.value(x);
                states.membrane[r] = u;
                states.spikes[r] = s;
                match d.outputs {
                    LifOutputs::SpikeAndMembrane => {
                        y[2 * r] = d.logit_scale * x;
                        y[2 * r + 1] = u;
                    }
                    LifOutputs::Membrane => y[r] = u,
                }
                v[j] = u - d.threshold * s;
                if let Some((rho, _)) = &d.adaptation {
                    states.adaptation[r] = a[j];
                    a[j] = rho[j] * a[j] + (1.0 - rho[j]) * s;
                }
            }
        }
    }
}

/// What the reverse sweep returns: dL/dI per (row, neuron) and, per neuron, the gradients of
/// the two decays.
pub(super) struct Sweep {
    pub current_grad: Vec<f32>,
    pub alpha_grad: Vec<f64>,
    pub rho_grad: Vec<f64>,
}

/// The reverse sweep: `dy` is dL/dy (rows, num_output); `current_grad` must hold rows x neurons
/// values.
pub(super) fn backward(
    d: &Dynamics,
    current: &[f32],
    states: &States,
    dy: &[f32],
    time: usize,
    mut current_grad: Vec<f32>,
) -> Sweep {
    let n = d.neurons();
    let (mut alpha_grad, mut rho_grad) = (vec![0.0f64; n], vec![0.0f64; n]);
    let adaptive = d.adaptation.is_some();
    // A LIF is an ALIF with beta = 0 and rho = 0, whose adaptation stays 0.
    let (rho, beta) = match &d.adaptation {
        Some((rho, beta)) => (rho.clone(), *beta),
        None => (vec![0.0; n], 0.0),
    };
    // Adjoints carried backwards, per neuron: of v_t (from u_{t+1}) and of a_{t+1}.
    let (mut dv, mut da_next) = (vec![0.0f32; n], vec![0.0f32; n]);
    for sample in 0..samples(current, time, n) {
        dv.fill(0.0);
        da_next.fill(0.0);
        for t in (0..time).rev() {
            let row = (sample * time + t) * n;
            for j in 0..n {
                let r = row + j;
                let u = states.membrane[r];
                let s = states.spikes[r];
                let a = if adaptive { states.adaptation[r] } else { 0.0 };
                let x = u - d.threshold - beta * a;
                let (dy_logit, dy_membrane) = match d.outputs {
                    LifOutputs::SpikeAndMembrane => (dy[2 * r], dy[2 * r + 1]),
                    LifOutputs::Membrane => (0.0, dy[r]),
                };
                // s_t feeds the reset (v_t = u_t - theta s_t) and the next adaptation.
                let reset = if d.reset_gradient { -d.threshold * dv[j] } else { 0.0 };
                let ds = reset + (1.0 - rho[j]) * da_next[j];
                let dx = d.logit_scale * dy_logit + d.spike.surrogate(x) * ds;
                let du = dy_membrane + dv[j] + dx;
                if adaptive {
                    rho_grad[j] += (da_next[j] * (a - s)) as f64;
                    da_next[j] = rho[j] * da_next[j] - beta * dx;
                }
                let v_prev = if t > 0 { states.membrane[r - n] - d.threshold * states.spikes[r - n] } else { 0.0 };
                let alpha = d.alpha[j];
                alpha_grad[j] += (du * (v_prev - current[r])) as f64;
                current_grad[r] = (1.0 - alpha) * du;
                dv[j] = alpha * du;
            }
        }
    }
    Sweep { current_grad, alpha_grad, rho_grad }
}
