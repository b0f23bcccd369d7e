//! The configuration of the LIF and ALIF neurons (`kind = "lif"` / `"alif"`): one struct for
//! both, so the shared keys are parsed by one set of rules. The adaptation keys belong to ALIF
//! only; `lif` refuses them by name rather than ignoring them.
//!
//! `num_output` and `outputs` decide how many neurons the layer has: every neuron reports either
//! its spike logit and its membrane (`spike-and-membrane`, NeuronIO's pair, the default) or its
//! membrane alone (`membrane`, the usual readout of a spiking classifier), so the layer has
//! num_output / 2 or num_output neurons. The defaults give NeuronIO's single neuron.
//!
//! Voltages and thresholds are in NeuronIO training units (DATASETS.md section 1.3):
//! `(V_mV - (-67.7)) * 0.1`, so 0 is -67.7 mV and the default threshold 1.27 is -55 mV, the
//! level at which the soma target is capped.

use crate::nn::Readout;
pub use crate::nn::SpikeFunction;
use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// What each neuron of the layer reports at every step.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LifOutputs {
    /// Two outputs per neuron, side by side: the spike logit k (u - theta) and the membrane u
    /// (NeuronIO's spike and soma targets).
    #[default]
    SpikeAndMembrane,
    /// One output per neuron: its membrane u, a classifier's logit. The neurons still spike and
    /// reset; for a non-spiking leaky readout, raise `threshold` out of the membrane's reach.
    Membrane,
}

impl LifOutputs {
    pub fn per_neuron(self) -> usize {
        match self {
            LifOutputs::SpikeAndMembrane => 2,
            LifOutputs::Membrane => 1,
        }
    }

    fn is_default(&self) -> bool {
        *self == LifOutputs::default()
    }
}

/// NeuronIO's spike logit and soma voltage: one neuron.
pub const DEFAULT_NUM_OUTPUT: usize = 2;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LifConfig {
    pub num_input: usize,
    /// Outputs per step (see `outputs` for how they map to neurons). The defaults keep the
    /// configs, and hashes, written before the key existed.
    #[serde(default = "defaults::num_output", skip_serializing_if = "defaults::is_num_output")]
    pub num_output: usize,
    #[serde(default, skip_serializing_if = "LifOutputs::is_default")]
    pub outputs: LifOutputs,
    /// Which steps' outputs the model reports.
    #[serde(default, skip_serializing_if = "Readout::is_per_step")]
    pub readout: Readout,
    /// Step in ms (NeuronIO: 1 ms bins).
    #[serde(default = "defaults::delta_t")]
    pub delta_t: f64,
    /// Firing threshold, training units (1.27 = -55 mV).
    #[serde(default = "defaults::threshold")]
    pub threshold: f64,
    /// Spike logit = scale * (membrane - threshold); 10 per training unit = 1 per mV.
    #[serde(default = "defaults::spike_logit_scale")]
    pub spike_logit_scale: f64,
    /// g of the fast-sigmoid surrogate (g/2) / (1 + g |x|)^2, per training unit.
    #[serde(default = "defaults::surrogate_steepness")]
    pub surrogate_steepness: f64,
    #[serde(default)]
    pub spike_function: SpikeFunction,
    /// Leave the reset out of the backward pass (its path through the spike's surrogate), as
    /// snnTorch does by default and Zenke & Vogels (2021) recommend. Near the threshold the
    /// reset's factor 1 - theta * surrogate is about 1 - 1.27 * 5 = -5.4, and BPTT multiplies such
    /// factors step after step; measured on synthetic NeuronIO (4000 steps, Adam 5e-3), detaching
    /// lowered the validation soma RMSE from 5.48 to 5.03 mV and raised the AUC from 0.884 to
    /// 0.902. `false` gives the exact BPTT of the surrogate model (what the gradient checks test).
    #[serde(default = "defaults::yes")]
    pub detach_reset: bool,
    /// Bounds and initial value of the learnable membrane time constant (ms).
    #[serde(default = "defaults::tau_m_min")]
    pub tau_m_min: f64,
    #[serde(default = "defaults::tau_m_max")]
    pub tau_m_max: f64,
    #[serde(default = "defaults::tau_m_init")]
    pub tau_m_init: f64,
    /// ALIF only: bounds and initial value of the learnable adaptation time constant (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tau_a_min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tau_a_max: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tau_a_init: Option<f64>,
    /// ALIF only: beta, the fixed threshold increase per unit of adaptation (training units).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adaptation_strength: Option<f64>,
    /// Memory units per neuron (`memory`; the appendix's LIF/ALIF "with memory units", Figure S7):
    /// leaky integrators of the synaptic current with learnable time constants whose weighted sum
    /// joins the current. 0 (the default, not serialised) is the classic neuron of Table S4.
    #[serde(default, skip_serializing_if = "defaults::is_zero")]
    pub num_memory: usize,
    /// Bounds of the memory units' time constants (ms; default [1, 150], the ELM's NeuronIO range),
    /// over which they start log-spaced. Only with num_memory > 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_tau_min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_tau_max: Option<f64>,
}

/// The default bounds of the memory units' time constants (ms).
pub const DEFAULT_MEMORY_TAU_MIN: f64 = 1.0;
pub const DEFAULT_MEMORY_TAU_MAX: f64 = 150.0;
/// More memory units per neuron than this is a mistake in a config.
pub const MAX_MEMORY_UNITS: usize = 1000;

mod defaults {
    pub fn num_output() -> usize {
        super::DEFAULT_NUM_OUTPUT
    }
    pub fn is_num_output(n: &usize) -> bool {
        *n == super::DEFAULT_NUM_OUTPUT
    }
    pub fn delta_t() -> f64 {
        1.0
    }
    pub fn threshold() -> f64 {
        1.27
    }
    pub fn spike_logit_scale() -> f64 {
        10.0
    }
    pub fn surrogate_steepness() -> f64 {
        10.0
    }
    pub fn tau_m_min() -> f64 {
        1.0
    }
    pub fn tau_m_max() -> f64 {
        100.0
    }
    pub fn tau_m_init() -> f64 {
        20.0
    }
    pub fn yes() -> bool {
        true
    }
    pub fn is_zero(n: &usize) -> bool {
        *n == 0
    }
}

/// ALIF defaults. A spike raises the adaptation by (1 - rho), so with beta = 10 and tau_a = 100 ms
/// one spike lifts the threshold by about 0.1 training units (1 mV), decaying over ~100 ms.
pub const DEFAULT_TAU_A_MIN: f64 = 1.0;
pub const DEFAULT_TAU_A_MAX: f64 = 1000.0;
pub const DEFAULT_TAU_A_INIT: f64 = 100.0;
pub const DEFAULT_ADAPTATION_STRENGTH: f64 = 10.0;

/// The resolved adaptation settings of an ALIF neuron.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Adaptation {
    pub tau_min: f64,
    pub tau_max: f64,
    pub tau_init: f64,
    pub strength: f64,
}

/// A time constant tau = lo + (hi - lo) * sigmoid(proto), the ELM's bounded parametrisation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TauRange {
    pub lo: f64,
    pub hi: f64,
}

impl TauRange {
    /// The proto value whose tau is `tau` (the inverse scaled sigmoid).
    pub fn proto_of(self, tau: f64) -> f32 {
        ((tau - self.lo) / (self.hi - tau)).ln() as f32
    }
}

fn check_tau(name: &str, lo: f64, init: f64, hi: f64) -> Result<()> {
    if !(lo.is_finite() && hi.is_finite() && init.is_finite() && lo > 0.0 && lo < init && init < hi) {
        bail!("{name}: need 0 < {name}_min < {name}_init < {name}_max, got {lo}, {init}, {hi}");
    }
    Ok(())
}

impl LifConfig {
    /// A config with the defaults above for `num_input` inputs.
    pub fn new(num_input: usize) -> Self {
        serde_json::from_value(serde_json::json!({ "num_input": num_input })).expect("defaults form a valid config")
    }

    /// Neurons in the layer: one per output, or one per two outputs in `spike-and-membrane`.
    pub fn num_neurons(&self) -> Result<usize> {
        crate::models::limits::width("num_input", self.num_input)?;
        crate::models::limits::width("num_output", self.num_output)?;
        crate::models::limits::weights("the synapses (num_input x neurons)", &[self.num_input, self.num_output])?;
        let per = self.outputs.per_neuron();
        if self.num_output == 0 {
            bail!("num_output must be positive");
        }
        if !self.num_output.is_multiple_of(per) {
            bail!(
                "num_output = {} is odd, but outputs = \"spike-and-membrane\" gives every neuron two outputs \
                 (spike logit, membrane); use an even num_output or outputs = \"membrane\"",
                self.num_output
            );
        }
        Ok(self.num_output / per)
    }

    pub fn tau_m_range(&self) -> TauRange {
        TauRange { lo: self.tau_m_min, hi: self.tau_m_max }
    }

    /// The bounds of the memory units' time constants.
    pub fn memory_tau_range(&self) -> TauRange {
        TauRange {
            lo: self.memory_tau_min.unwrap_or(DEFAULT_MEMORY_TAU_MIN),
            hi: self.memory_tau_max.unwrap_or(DEFAULT_MEMORY_TAU_MAX),
        }
    }

    /// The adaptation of an ALIF (`adaptive`), or `None` for a LIF; a LIF given adaptation keys
    /// is an error that names them.
    pub fn adaptation(&self, adaptive: bool) -> Result<Option<Adaptation>> {
        if !adaptive {
            let given: Vec<&str> = [
                ("tau_a_min", self.tau_a_min.is_some()),
                ("tau_a_max", self.tau_a_max.is_some()),
                ("tau_a_init", self.tau_a_init.is_some()),
                ("adaptation_strength", self.adaptation_strength.is_some()),
            ]
            .iter()
            .filter(|(_, set)| *set)
            .map(|(name, _)| *name)
            .collect();
            if !given.is_empty() {
                bail!("{} configure adaptation, which kind = \"lif\" does not have (use \"alif\")", given.join(", "));
            }
            return Ok(None);
        }
        Ok(Some(Adaptation {
            tau_min: self.tau_a_min.unwrap_or(DEFAULT_TAU_A_MIN),
            tau_max: self.tau_a_max.unwrap_or(DEFAULT_TAU_A_MAX),
            tau_init: self.tau_a_init.unwrap_or(DEFAULT_TAU_A_INIT),
            strength: self.adaptation_strength.unwrap_or(DEFAULT_ADAPTATION_STRENGTH),
        }))
    }

    /// Checks every setting, naming the one that is wrong.
    pub fn validate(&self, adaptive: bool) -> Result<()> {
        if self.num_input == 0 {
            bail!("num_input must be positive");
        }
        self.num_neurons()?;
        if !(self.delta_t.is_finite() && self.delta_t > 0.0) {
            bail!("delta_t = {} must be positive", self.delta_t);
        }
        if !(self.threshold.is_finite() && self.threshold > 0.0) {
            bail!("threshold = {} must be positive (it is measured from rest)", self.threshold);
        }
        if !(self.spike_logit_scale.is_finite() && self.spike_logit_scale > 0.0) {
            bail!("spike_logit_scale = {} must be positive", self.spike_logit_scale);
        }
        if !(self.surrogate_steepness.is_finite() && self.surrogate_steepness > 0.0) {
            bail!("surrogate_steepness = {} must be positive", self.surrogate_steepness);
        }
        check_tau("tau_m", self.tau_m_min, self.tau_m_init, self.tau_m_max)?;
        if self.num_memory > MAX_MEMORY_UNITS {
            bail!("num_memory = {} must be at most {MAX_MEMORY_UNITS}", self.num_memory);
        }
        if self.num_memory == 0 && (self.memory_tau_min.is_some() || self.memory_tau_max.is_some()) {
            bail!("memory_tau_min and memory_tau_max configure memory units, but num_memory is 0");
        }
        let m = self.memory_tau_range();
        if self.num_memory > 0 && !(m.lo.is_finite() && m.hi.is_finite() && m.lo > 0.0 && m.hi > m.lo + 1e-5) {
            bail!("memory units need 0 < memory_tau_min < memory_tau_max, got {} and {}", m.lo, m.hi);
        }
        if let Some(a) = self.adaptation(adaptive)? {
            check_tau("tau_a", a.tau_min, a.tau_init, a.tau_max)?;
            if !(a.strength.is_finite() && a.strength >= 0.0) {
                bail!("adaptation_strength = {} must be finite and not negative", a.strength);
            }
        }
        Ok(())
    }
}
