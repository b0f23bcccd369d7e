//! The classic leaky integrate-and-fire neuron (LIF) and its adaptive-threshold variant (ALIF),
//! the single-neuron baselines of the ELM paper's Table S4 (1280 and 1281 parameters at 1278
//! inputs). Discrete time, dt = 1 ms; voltages in NeuronIO training units (see `config`):
//!
//! ```text
//! I_t     = w . x_t + b                                   synaptic current (w: 1278, b: 1)
//! u_t     = alpha v_{t-1} + (1 - alpha) I_t               alpha = exp(-dt / tau_m)
//! x_t     = u_t - theta - beta a_t                        (ALIF; LIF: x_t = u_t - theta)
//! s_t     = H(x_t)                                        surrogate derivative in backward
//! v_t     = u_t - theta s_t                               soft reset
//! a_{t+1} = rho a_t + (1 - rho) s_t                       rho = exp(-dt / tau_a)   (ALIF)
//! y_t     = (k x_t, u_t)                                  spike logit, soma voltage
//! tau     = tau_min + (tau_max - tau_min) sigmoid(proto)  for tau_m and tau_a
//! ```
//!
//! Trainable: w, b, proto_tau_m (LIF: 1278 + 2 = 1280) and proto_tau_a (ALIF: 1281). Fixed:
//! theta (the -55 mV soma cap), beta, the logit scale k and the surrogate's steepness.
//!
//! Why these outputs: the soma output is the membrane itself, so the voltage fit costs no
//! parameter and the counts stay those of the table; u_t is taken before the reset because it is
//! what crossed the threshold, and the capped soma target sits at the threshold during a spike.
//! The spike logit is the distance to the threshold, scaled by a fixed k (1 per mV by default),
//! so BCE on it pulls the membrane over the threshold at target spikes and under it elsewhere;
//! the spike itself acts on the future through the reset and the adaptation, and its gradient
//! takes the fast-sigmoid surrogate (g/2)/(1 + g|x|)^2. By default the reset is detached from the
//! backward pass (`detach_reset`, see `config`): the adaptation's path through the surrogate
//! stays, the reset's goes.
//!
//! The current for all steps is one `engine::input_linear` product (sparse-aware: NeuronIO
//! inputs cost only their non-zeros); only the scalar recurrence runs step by step.

pub mod config;
mod recurrence;
mod sequence_model;

pub use config::{Adaptation, LifConfig, SpikeFunction, TauRange};

use crate::engine::kernels::sigmoid;
use crate::engine::{input_linear, BufferPool, Inputs, ParamSet, Rng, Tensor};
use crate::models::{check_backward, check_features};
use anyhow::Result;
use recurrence::{Dynamics, States};

/// Outputs per step: spike logit and soma voltage.
pub const NUM_OUTPUT: usize = 2;

#[derive(Clone, Debug)]
struct ParamIds {
    weight: usize,
    bias: usize,
    proto_tau_m: usize,
    proto_tau_a: Option<usize>,
}

#[derive(Clone, Debug)]
pub struct Lif {
    pub config: LifConfig,
    /// The resolved adaptation: `Some` makes this an ALIF neuron.
    pub adaptation: Option<Adaptation>,
    pub params: ParamSet,
    ids: ParamIds,
    pool: BufferPool,
}

/// What the forward pass keeps for the backward pass; buffers return to the pool on drop.
pub struct LifForward {
    /// Outputs, (batch, time, 2).
    pub y: Vec<f32>,
    batch: usize,
    time: usize,
    current: Vec<f32>,
    states: States,
    pool: BufferPool,
}

impl Drop for LifForward {
    fn drop(&mut self) {
        for v in [
            std::mem::take(&mut self.y),
            std::mem::take(&mut self.current),
            std::mem::take(&mut self.states.membrane),
            std::mem::take(&mut self.states.spikes),
            std::mem::take(&mut self.states.adaptation),
        ] {
            self.pool.recycle(v);
        }
    }
}

/// tau of a bounded parametrisation, and d tau / d proto.
fn tau_and_slope(range: TauRange, proto: f32) -> (f64, f64) {
    let s = sigmoid(proto) as f64;
    let span = range.hi - range.lo;
    (range.lo + span * s, span * s * (1.0 - s))
}

impl Lif {
    /// A fresh neuron: w and b as PyTorch initialises `nn.Linear(num_input, 1)` (uniform in
    /// +-1/sqrt(num_input)), tau_m = tau_m_init, tau_a = tau_a_init. `adaptive` makes it an ALIF.
    pub fn new(config: LifConfig, adaptive: bool, seed: u64) -> Result<Self> {
        config.validate(adaptive)?;
        let adaptation = config.adaptation(adaptive)?;
        let mut rng = Rng::new(seed);
        let n = config.num_input;
        let bound = 1.0 / (n as f32).sqrt();
        let w: Vec<f32> = (0..n).map(|_| rng.uniform(-bound, bound)).collect();
        let b = rng.uniform(-bound, bound);
        let mut params = ParamSet::default();
        let weight = params.push("input.weight", Tensor::from_vec(&[1, n], w)?, true);
        let bias = params.push("input.bias", Tensor::full(&[1], b), true);
        let proto_m = config.tau_m_range().proto_of(config.tau_m_init);
        let proto_tau_m = params.push("_proto_tau_m", Tensor::full(&[1], proto_m), true);
        let proto_tau_a = adaptation.map(|a| {
            let proto = TauRange { lo: a.tau_min, hi: a.tau_max }.proto_of(a.tau_init);
            params.push("_proto_tau_a", Tensor::full(&[1], proto), true)
        });
        let ids = ParamIds { weight, bias, proto_tau_m, proto_tau_a };
        Ok(Self { config, adaptation, params, ids, pool: BufferPool::default() })
    }

    pub fn is_adaptive(&self) -> bool {
        self.adaptation.is_some()
    }

    /// The current membrane time constant (ms).
    pub fn tau_m(&self) -> f64 {
        tau_and_slope(self.config.tau_m_range(), self.params.get(self.ids.proto_tau_m).data()[0]).0
    }

    /// The current adaptation time constant (ms), for an ALIF.
    pub fn tau_a(&self) -> Option<f64> {
        let (a, id) = (self.adaptation?, self.ids.proto_tau_a?);
        Some(tau_and_slope(TauRange { lo: a.tau_min, hi: a.tau_max }, self.params.get(id).data()[0]).0)
    }

    fn dynamics(&self) -> Dynamics {
        let c = &self.config;
        let alpha = (-c.delta_t / self.tau_m()).exp() as f32;
        let adaptation = self.adaptation.zip(self.tau_a()).map(|(a, tau_a)| {
            let rho = (-c.delta_t / tau_a).exp() as f32;
            (rho, a.strength as f32)
        });
        Dynamics {
            alpha,
            threshold: c.threshold as f32,
            logit_scale: c.spike_logit_scale as f32,
            steepness: c.surrogate_steepness as f32,
            spike_function: c.spike_function,
            reset_gradient: !c.detach_reset,
            adaptation,
        }
    }

    pub fn forward(&self, x: &Inputs) -> Result<LifForward> {
        let (batch, time) = check_features(x, self.config.num_input)?;
        let rows = batch * time;
        let mut current = self.pool.any(rows);
        let (w, b) = (self.params.get(self.ids.weight).data(), self.params.get(self.ids.bias).data());
        input_linear::forward(x, w, Some(b), 1, &mut current);
        let mut states = States {
            membrane: self.pool.any(rows),
            spikes: self.pool.any(rows),
            adaptation: if self.is_adaptive() { self.pool.any(rows) } else { Vec::new() },
        };
        let mut y = self.pool.any(rows * NUM_OUTPUT);
        recurrence::forward(&self.dynamics(), &current, time, &mut states, &mut y);
        Ok(LifForward { y, batch, time, current, states, pool: self.pool.clone() })
    }

    /// Gradients of `sum(y * dy)` for every parameter, aligned with `params`.
    pub fn backward(&self, pass: &LifForward, x: &Inputs, dy: &[f32]) -> Result<Vec<Tensor>> {
        let (batch, time) = check_backward(x, self.config.num_input, (pass.batch, pass.time), dy, NUM_OUTPUT)?;
        let rows = batch * time;
        let d = self.dynamics();
        let sweep = recurrence::backward(&d, &pass.current, &pass.states, dy, time, self.pool.any(rows));
        let mut grads = self.params.zeros_like();
        input_linear::weight_gradient(x, &sweep.current_grad, 1, grads[self.ids.weight].data_mut());
        grads[self.ids.bias].data_mut()[0] = sweep.current_grad.iter().map(|&g| g as f64).sum::<f64>() as f32;
        self.pool.recycle(sweep.current_grad);

        // alpha = exp(-dt / tau): d alpha / d tau = alpha dt / tau^2; likewise rho.
        let dt = self.config.delta_t;
        let (tau_m, slope_m) =
            tau_and_slope(self.config.tau_m_range(), self.params.get(self.ids.proto_tau_m).data()[0]);
        grads[self.ids.proto_tau_m].data_mut()[0] =
            (sweep.alpha_grad * d.alpha as f64 * dt / (tau_m * tau_m) * slope_m) as f32;
        if let (Some(a), Some(id), Some((rho, _))) = (self.adaptation, self.ids.proto_tau_a, d.adaptation) {
            let (tau_a, slope_a) =
                tau_and_slope(TauRange { lo: a.tau_min, hi: a.tau_max }, self.params.get(id).data()[0]);
            grads[id].data_mut()[0] = (sweep.rho_grad * rho as f64 * dt / (tau_a * tau_a) * slope_a) as f32;
        }
        Ok(grads)
    }
}
