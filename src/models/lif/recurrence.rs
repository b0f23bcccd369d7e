//! The sequential part of the LIF/ALIF neuron: the membrane, spike, reset and adaptation of one
//! scalar neuron per sample, step by step, and its reverse sweep (BPTT).
//!
//! The synaptic current I_t is computed for all steps beforehand (it does not depend on the
//! state), so a step here is a handful of scalar operations; the sweep runs over the samples one
//! after the other (a scalar chain has nothing to split across threads that would pay for itself).
//! Per step, with v_{-1} = a_0 = 0:
//!
//! ```text
//! u_t     = alpha v_{t-1} + (1 - alpha) I_t          membrane before reset
//! x_t     = u_t - theta - beta a_t                   distance to the (adaptive) threshold
//! s_t     = H(x_t)                                   or the smooth S(x_t); dS/dx = surrogate
//! v_t     = u_t - theta s_t                          soft reset: subtract the base threshold
//! a_{t+1} = rho a_t + (1 - rho) s_t                  ALIF only (beta = 0 and a = 0 for LIF)
//! y_t     = (k x_t, u_t)                             spike logit, soma voltage
//! ```
//!
//! The reverse sweep carries the adjoints of v_t and a_{t+1} backwards; the spike's adjoint
//! passes through the surrogate into x_t. With `detach_reset` the reset's term of that adjoint is
//! left out (the membrane then sees the reset only in the forward pass).

use super::config::SpikeFunction;

/// The per-pass constants of the dynamics.
#[derive(Clone, Copy, Debug)]
pub(super) struct Dynamics {
    pub alpha: f32,
    pub threshold: f32,
    pub logit_scale: f32,
    pub steepness: f32,
    pub spike_function: SpikeFunction,
    /// Whether the backward pass follows the reset v_t = u_t - theta s_t into s_t.
    pub reset_gradient: bool,
    /// (rho, beta) of an ALIF neuron.
    pub adaptation: Option<(f32, f32)>,
}

impl Dynamics {
    #[inline]
    fn spike(&self, x: f32) -> f32 {
        match self.spike_function {
            SpikeFunction::Heaviside => {
                if x >= 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            SpikeFunction::Smooth => {
                let g = self.steepness;
                0.5 + 0.5 * g * x / (1.0 + g * x.abs())
            }
        }
    }

    /// The fast-sigmoid surrogate (g/2) / (1 + g|x|)^2: the derivative of `Smooth`, and of the
    /// step function in the backward pass. It integrates to 1, like the step it stands in for.
    #[inline]
    fn surrogate(&self, x: f32) -> f32 {
        let g = self.steepness;
        let d = 1.0 + g * x.abs();
        0.5 * g / (d * d)
    }
}

/// Per-row states the backward pass needs, rows = (batch, time) row-major.
pub(super) struct States {
    pub membrane: Vec<f32>,
    pub spikes: Vec<f32>,
    /// a_t at every step (ALIF; empty for LIF).
    pub adaptation: Vec<f32>,
}

/// Runs the neuron over every sample; `y` receives (rows, 2) outputs.
pub(super) fn forward(d: &Dynamics, current: &[f32], time: usize, states: &mut States, y: &mut [f32]) {
    let beta_rho = d.adaptation;
    for (sample, input) in current.chunks_exact(time.max(1)).enumerate() {
        let base = sample * time;
        let (mut v, mut a) = (0.0f32, 0.0f32);
        for (t, &i) in input.iter().enumerate() {
            let r = base + t;
            let u = d.alpha * v + (1.0 - d.alpha) * i;
            let threshold = match beta_rho {
                Some((_, beta)) => d.threshold + beta * a,
                None => d.threshold,
            };
            let x = u - threshold;
            let s = d.spike(x);
            states.membrane[r] = u;
            states.spikes[r] = s;
            y[2 * r] = d.logit_scale * x;
            y[2 * r + 1] = u;
            v = u - d.threshold * s;
            if let Some((rho, _)) = beta_rho {
                states.adaptation[r] = a;
                a = rho * a + (1.0 - rho) * s;
            }
        }
    }
}

/// What the reverse sweep returns: dL/dI per row and the gradients of the two decays.
pub(super) struct Sweep {
    pub current_grad: Vec<f32>,
    pub alpha_grad: f64,
    pub rho_grad: f64,
}

/// The reverse sweep: `dy` is dL/dy (rows, 2); `current_grad` must hold `rows` values.
pub(super) fn backward(
    d: &Dynamics,
    current: &[f32],
    states: &States,
    dy: &[f32],
    time: usize,
    mut current_grad: Vec<f32>,
) -> Sweep {
    let (mut alpha_grad, mut rho_grad) = (0.0f64, 0.0f64);
    let (rho, beta) = d.adaptation.unwrap_or((0.0, 0.0));
    let adaptive = d.adaptation.is_some();
    for sample in 0..current.len() / time.max(1) {
        let base = sample * time;
        // Adjoints carried backwards: of v_t (from u_{t+1}) and of a_{t+1}.
        let (mut dv, mut da_next) = (0.0f32, 0.0f32);
        for t in (0..time).rev() {
            let r = base + t;
            let u = states.membrane[r];
            let s = states.spikes[r];
            let a = if adaptive { states.adaptation[r] } else { 0.0 };
            let x = u - d.threshold - beta * a;
            // s_t feeds the reset (v_t = u_t - theta s_t) and the next adaptation.
            let reset = if d.reset_gradient { -d.threshold * dv } else { 0.0 };
            let ds = reset + (1.0 - rho) * da_next;
            let dx = d.logit_scale * dy[2 * r] + d.surrogate(x) * ds;
            let du = dy[2 * r + 1] + dv + dx;
            if adaptive {
                rho_grad += (da_next * (a - s)) as f64;
                da_next = rho * da_next - beta * dx;
            }
            let v_prev = if t > 0 { states.membrane[r - 1] - d.threshold * states.spikes[r - 1] } else { 0.0 };
            alpha_grad += (du * (v_prev - current[r])) as f64;
            current_grad[r] = (1.0 - d.alpha) * du;
            dv = d.alpha * du;
        }
    }
    Sweep { current_grad, alpha_grad, rho_grad }
}
