//! The classic leaky integrate-and-fire neuron (LIF) and its adaptive-threshold variant (ALIF),
//! the single-neuron baselines of the ELM paper's Table S4 (1280 and 1281 parameters at 1278
//! inputs), as a layer of independent neurons (one by default). Discrete time, dt = 1 ms;
//! voltages in NeuronIO training units (see `config`). Per neuron j:
//!
//! ```text
//! I_t     = w_j . x_t + b_j                               synaptic current (w_j: num_input, b_j: 1)
//! u_t     = alpha v_{t-1} + (1 - alpha) I_t               alpha = exp(-dt / tau_m,j)
//! x_t     = u_t - theta - beta a_t                        (ALIF; LIF: x_t = u_t - theta)
//! s_t     = H(x_t)                                        surrogate derivative in backward
//! v_t     = u_t - theta s_t                               soft reset
//! a_{t+1} = rho a_t + (1 - rho) s_t                       rho = exp(-dt / tau_a,j)   (ALIF)
//! y_t     = (k x_t, u_t)  or  u_t                         spike logit and membrane, or membrane
//! tau     = tau_min + (tau_max - tau_min) sigmoid(proto)  for tau_m and tau_a
//! ```
//!
//! Trainable, per neuron: w_j, b_j, proto_tau_m (NeuronIO's one LIF neuron: 1278 + 2 = 1280) and
//! proto_tau_a (ALIF: 1281). Fixed and shared: theta (the -55 mV soma cap), beta, the logit scale
//! k and the surrogate's steepness. The neurons do not interact: a layer of N is N single neurons
//! reading the same input, each with its own weights and time constants.
//!
//! Outputs (`LifOutputs`): in `spike-and-membrane` (the default) neuron j reports outputs 2j (its
//! spike logit) and 2j + 1 (its membrane), so NeuronIO's (spike, soma) pair is neuron 0; in
//! `membrane` neuron j reports output j, its membrane, the usual logit of a spiking classifier.
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
//! With `num_memory` = K > 0 every neuron also has K memory units (`memory`): leaky integrators of
//! its current I_t whose weighted sum joins it, I'_t = I_t + sum_k c_k m_{k,t}, before the membrane
//! integrates it (2 K more parameters per neuron: c and the units' time constants).
//!
//! The currents of all neurons for all steps are one `engine::input_linear` product
//! (sparse-aware: NeuronIO inputs cost only their non-zeros); only the scalar recurrences run step
//! by step (`recurrence`).

pub mod config;
pub mod device;
mod memory;
mod recurrence;
mod sequence_model;

pub use config::{Adaptation, LifConfig, LifOutputs, SpikeFunction, TauRange};

use crate::engine::kernels::sigmoid;
use crate::engine::{input_linear, BufferPool, Inputs, ParamSet, Rng, Tensor};
use crate::models::{check_backward, check_features};
use anyhow::Result;
use recurrence::{Dynamics, States};

#[derive(Clone, Debug)]
struct ParamIds {
    weight: usize,
    bias: usize,
    proto_tau_m: usize,
    proto_tau_a: Option<usize>,
    /// Memory units: their weights c and time-constant protos, (neurons, K) each.
    memory: Option<(usize, usize)>,
}

#[derive(Clone, Debug)]
pub struct Lif {
    pub config: LifConfig,
    /// The resolved adaptation: `Some` makes this an ALIF layer.
    pub adaptation: Option<Adaptation>,
    /// Neurons in the layer (`LifConfig::num_neurons`).
    neurons: usize,
    pub params: ParamSet,
    ids: ParamIds,
    pool: BufferPool,
}

/// What the forward pass keeps for the backward pass; buffers return to the pool on drop.
pub struct LifForward {
    /// Outputs, (batch, time, num_output).
    pub y: Vec<f32>,
    batch: usize,
    time: usize,
    /// The current the membrane integrated (I', or I without memory units).
    current: Vec<f32>,
    /// With memory units: the synaptic current I and the memory states, (rows, neurons, K).
    raw_current: Vec<f32>,
    memory: Vec<f32>,
    states: States,
    pool: BufferPool,
}

impl Drop for LifForward {
    fn drop(&mut self) {
        for v in [
            std::mem::take(&mut self.y),
            std::mem::take(&mut self.current),
            std::mem::take(&mut self.raw_current),
            std::mem::take(&mut self.memory),
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
    /// A fresh layer: w and b as PyTorch initialises `nn.Linear(num_input, neurons)` (uniform in
    /// +-1/sqrt(num_input), the weights row by row, then the biases), tau_m = tau_m_init and
    /// tau_a = tau_a_init for every neuron. `adaptive` makes it an ALIF layer. With one neuron the
    /// draws are those of the single neuron this model was before it became a layer.
    pub fn new(config: LifConfig, adaptive: bool, seed: u64) -> Result<Self> {
        config.validate(adaptive)?;
        let adaptation = config.adaptation(adaptive)?;
        let neurons = config.num_neurons()?;
        let mut rng = Rng::new(seed);
        let n = config.num_input;
        let bound = 1.0 / (n as f32).sqrt();
        let w: Vec<f32> = (0..neurons * n).map(|_| rng.uniform(-bound, bound)).collect();
        let b: Vec<f32> = (0..neurons).map(|_| rng.uniform(-bound, bound)).collect();
        let mut params = ParamSet::default();
        let weight = params.push("input.weight", Tensor::from_vec(&[neurons, n], w)?, true);
        let bias = params.push("input.bias", Tensor::from_vec(&[neurons], b)?, true);
        let proto_m = config.tau_m_range().proto_of(config.tau_m_init);
        let proto_tau_m = params.push("_proto_tau_m", Tensor::full(&[neurons], proto_m), true);
        let proto_tau_a = adaptation.map(|a| {
            let proto = TauRange { lo: a.tau_min, hi: a.tau_max }.proto_of(a.tau_init);
            params.push("_proto_tau_a", Tensor::full(&[neurons], proto), true)
        });
        let memory = (config.num_memory > 0).then(|| {
            let k = config.num_memory;
            let c = params.push("memory.weight", Tensor::zeros(&[neurons, k]), true);
            let protos = memory::initial_protos(config.memory_tau_range(), k);
            let all: Vec<f32> = (0..neurons).flat_map(|_| protos.iter().copied()).collect();
            let tau = params.push("_proto_tau_memory", Tensor::from_vec(&[neurons, k], all).expect("sized"), true);
            (c, tau)
        });
        let ids = ParamIds { weight, bias, proto_tau_m, proto_tau_a, memory };
        Ok(Self { config, adaptation, neurons, params, ids, pool: BufferPool::default() })
    }

    pub fn is_adaptive(&self) -> bool {
        self.adaptation.is_some()
    }

    /// Neurons in the layer.
    pub fn num_neurons(&self) -> usize {
        self.neurons
    }

    /// The current membrane time constant of every neuron (ms).
    pub fn tau_m(&self) -> Vec<f64> {
        let range = self.config.tau_m_range();
        self.params.get(self.ids.proto_tau_m).data().iter().map(|&p| tau_and_slope(range, p).0).collect()
    }

    /// The current adaptation time constant of every neuron (ms), for an ALIF layer.
    pub fn tau_a(&self) -> Option<Vec<f64>> {
        let (a, id) = (self.adaptation?, self.ids.proto_tau_a?);
        let range = TauRange { lo: a.tau_min, hi: a.tau_max };
        Some(self.params.get(id).data().iter().map(|&p| tau_and_slope(range, p).0).collect())
    }

    /// beta = exp(-dt / tau) of every memory unit, (neurons, K); empty without memory units.
    fn memory_beta(&self) -> Vec<f32> {
        let Some((_, id)) = self.ids.memory else { return Vec::new() };
        let range = self.config.memory_tau_range();
        let dt = self.config.delta_t;
        self.params.get(id).data().iter().map(|&p| (-dt / tau_and_slope(range, p).0).exp() as f32).collect()
    }

    fn dynamics(&self) -> Dynamics {
        let c = &self.config;
        let decay =
            |taus: Vec<f64>| -> Vec<f32> { taus.into_iter().map(|tau| (-c.delta_t / tau).exp() as f32).collect() };
        let adaptation = self.adaptation.zip(self.tau_a()).map(|(a, tau_a)| (decay(tau_a), a.strength as f32));
        Dynamics {
            alpha: decay(self.tau_m()),
            threshold: c.threshold as f32,
            logit_scale: c.spike_logit_scale as f32,
            spike: crate::nn::Spike { function: c.spike_function, steepness: c.surrogate_steepness as f32 },
            reset_gradient: !c.detach_reset,
            adaptation,
            outputs: c.outputs,
        }
    }

    pub fn forward(&self, x: &Inputs) -> Result<LifForward> {
        let (batch, time) = check_features(x, self.config.num_input)?;
        let (rows, neurons) = (batch * time, self.neurons);
        let mut current = self.pool.any(rows * neurons);
        let (w, b) = (self.params.get(self.ids.weight).data(), self.params.get(self.ids.bias).data());
        input_linear::forward(x, w, Some(b), neurons, &mut current);
        let (mut raw_current, mut memory) = (Vec::new(), Vec::new());
        if let Some((c, _)) = self.ids.memory {
            let beta = self.memory_beta();
            let filter = memory::MemoryFilter {
                weight: self.params.get(c).data(),
                beta: &beta,
                neurons,
                units: self.config.num_memory,
            };
            memory = self.pool.any(rows * neurons * self.config.num_memory);
            let mut effective = self.pool.any(rows * neurons);
            filter.forward(&current, time, &mut memory, &mut effective);
            raw_current = std::mem::replace(&mut current, effective);
        }
        let mut states = States {
            membrane: self.pool.any(rows * neurons),
            spikes: self.pool.any(rows * neurons),
            adaptation: if self.is_adaptive() { self.pool.any(rows * neurons) } else { Vec::new() },
        };
        let mut y = self.pool.any(rows * self.config.num_output);
        recurrence::forward(&self.dynamics(), &current, time, &mut states, &mut y);
        Ok(LifForward { y, batch, time, current, raw_current, memory, states, pool: self.pool.clone() })
    }

    /// Gradients of `sum(y * dy)` for every parameter, aligned with `params`.
    pub fn backward(&self, pass: &LifForward, x: &Inputs, dy: &[f32]) -> Result<Vec<Tensor>> {
        let c = &self.config;
        let (batch, time) = check_backward(x, c.num_input, (pass.batch, pass.time), dy, c.num_output)?;
        let (rows, neurons) = (batch * time, self.neurons);
        let d = self.dynamics();
        let mut sweep = recurrence::backward(&d, &pass.current, &pass.states, dy, time, self.pool.any(rows * neurons));
        let mut grads = self.params.zeros_like();
        // Memory units: dL/dI' back to dL/dI, and the gradients of c and of the units' taus.
        if let Some((c_id, _)) = self.ids.memory {
            let k = c.num_memory;
            let beta = self.memory_beta();
            let filter = memory::MemoryFilter { weight: self.params.get(c_id).data(), beta: &beta, neurons, units: k };
            let (mut weight_grad, mut beta_grad) = (vec![0.0f64; neurons * k], vec![0.0f64; neurons * k]);
            let mut carry = vec![0.0f32; neurons * k];
            filter.backward(
                &pass.raw_current,
                &pass.memory,
                time,
                &mut sweep.current_grad,
                &mut weight_grad,
                &mut beta_grad,
                &mut carry,
            );
            self.memory_gradients(&weight_grad, &beta_grad, &mut grads);
        }
        input_linear::weight_gradient(x, &sweep.current_grad, neurons, grads[self.ids.weight].data_mut());
        // Each bias gets its neuron's column of dL/dI, summed in row order in f64.
        for (j, g) in grads[self.ids.bias].data_mut().iter_mut().enumerate() {
            *g = sweep.current_grad.iter().skip(j).step_by(neurons).map(|&g| g as f64).sum::<f64>() as f32;
        }
        self.pool.recycle(sweep.current_grad);

        self.decay_gradients(&d, &sweep.alpha_grad, &sweep.rho_grad, &mut grads);
        Ok(grads)
    }

    /// The memory units' gradients from dL/dc and dL/dbeta (neurons x K, summed over samples):
    /// beta = exp(-dt / tau), so d beta / d tau = beta dt / tau^2, through the tau's sigmoid.
    fn memory_gradients(&self, weight_grad: &[f64], beta_grad: &[f64], grads: &mut [Tensor]) {
        let Some((c_id, proto_id)) = self.ids.memory else { return };
        for (g, v) in grads[c_id].data_mut().iter_mut().zip(weight_grad) {
            *g = *v as f32;
        }
        let beta = self.memory_beta();
        let (range, dt) = (self.config.memory_tau_range(), self.config.delta_t);
        let protos = self.params.get(proto_id).data();
        for (e, g) in grads[proto_id].data_mut().iter_mut().enumerate() {
            let (tau, slope) = tau_and_slope(range, protos[e]);
            *g = (beta_grad[e] * beta[e] as f64 * dt / (tau * tau) * slope) as f32;
        }
    }

    /// The time constants' gradients from dL/dalpha and dL/drho (per neuron, summed over
    /// samples): alpha = exp(-dt / tau_m), so d alpha / d tau_m = alpha dt / tau_m^2; likewise rho.
    fn decay_gradients(&self, d: &Dynamics, alpha_grad: &[f64], rho_grad: &[f64], grads: &mut [Tensor]) {
        let c = &self.config;
        let dt = c.delta_t;
        let range_m = c.tau_m_range();
        let proto_m = self.params.get(self.ids.proto_tau_m).data();
        for (j, g) in grads[self.ids.proto_tau_m].data_mut().iter_mut().enumerate() {
            let (tau_m, slope_m) = tau_and_slope(range_m, proto_m[j]);
            *g = (alpha_grad[j] * d.alpha[j] as f64 * dt / (tau_m * tau_m) * slope_m) as f32;
        }
        if let (Some(a), Some(id), Some((rho, _))) = (self.adaptation, self.ids.proto_tau_a, &d.adaptation) {
            let range_a = TauRange { lo: a.tau_min, hi: a.tau_max };
            let proto_a = self.params.get(id).data();
            for (j, g) in grads[id].data_mut().iter_mut().enumerate() {
                let (tau_a, slope_a) = tau_and_slope(range_a, proto_a[j]);
                *g = (rho_grad[j] * rho[j] as f64 * dt / (tau_a * tau_a) * slope_a) as f32;
            }
        }
    }
}
