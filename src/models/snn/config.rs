//! The configuration of the spiking network (`kind = "snn"`). Defaults are the paper's (appendix A
//! and the SHD paragraph of appendix B); where the paper leaves a choice open the default and the
//! reason are given here and in the module documentation (`models::snn`).

use crate::models::lif::{SpikeFunction, TauRange};
use crate::nn::Readout;
use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnnConfig {
    /// Input channels (SHD: 700).
    pub num_input: usize,
    /// Output neurons, one per class (SHD: 20, SHD-Adding: 19).
    pub num_output: usize,
    /// LIF neurons in all, the output layer included: the recurrent layer has
    /// `num_neurons - num_output` (paper: 500).
    #[serde(default = "defaults::num_neurons")]
    pub num_neurons: usize,
    /// Synapses of every neuron (paper: 100), each from a distinct presynaptic partner.
    #[serde(default = "defaults::synapses_per_neuron")]
    pub synapses_per_neuron: usize,
    /// Probability that a synapse comes from the previous layer (inputs for the recurrent layer,
    /// the recurrent layer for the output layer) rather than from the neuron's own layer (paper:
    /// "90% probability to the previous-layer, and 10% probability to the own-layer").
    #[serde(default = "defaults::previous_layer_fraction")]
    pub previous_layer_fraction: f64,
    /// Fraction of the recurrent neurons that are inhibitory (paper: 20%); the count is
    /// round(fraction x recurrent neurons). Output neurons are excitatory.
    #[serde(default = "defaults::inhibitory_fraction")]
    pub inhibitory_fraction: f64,
    /// Every synaptic weight starts at gain / sqrt(synapses_per_neuron) (paper: 0.3 / sqrt(100)).
    #[serde(default = "defaults::weight_init_gain")]
    pub weight_init_gain: f64,
    /// Firing threshold (paper: 1).
    #[serde(default = "defaults::threshold")]
    pub threshold: f64,
    /// A spike lowers the membrane by reset_fraction x threshold (paper: v <- v - 0.9 v_thr).
    #[serde(default = "defaults::reset_fraction")]
    pub reset_fraction: f64,
    /// Initial membrane time constant of every neuron, ms (paper: 25), learnable per neuron.
    #[serde(default = "defaults::tau_m_init")]
    pub tau_m_init: f64,
    /// Bounds of the membrane time constant, ms: tau = min + (max - min) sigmoid(proto), the ELM's
    /// parametrisation ("directly learnable like in the ELM neuron").
    #[serde(default = "defaults::tau_m_min")]
    pub tau_m_min: f64,
    #[serde(default = "defaults::tau_m_max")]
    pub tau_m_max: f64,
    /// Time constant of the low-pass filter on the output spikes, ms (paper: 20), fixed.
    #[serde(default = "defaults::tau_out")]
    pub tau_out: f64,
    /// g, the filtered output's gain: y is g times a spike rate in [0, 1], and the cross-entropy
    /// takes y as logits. The text gives no scale; with g = 1 the logits differ by at most 1, so
    /// the softmax can never put more than e / (e + 19) = 0.125 on a class of 20 and the
    /// cross-entropy's gradients stay small: on the quick SHD surrogate at 20 ms bins, 40 epochs
    /// reached 0.12 test accuracy with g = 1 and 0.22 with g = 10 (measured). The default 1 is the
    /// plain filter; the SHD presets use 10 (no parameter is added: g is fixed).
    #[serde(default = "defaults::output_gain")]
    pub output_gain: f64,
    /// Step in ms: the bin size of the task (SHD: 2 ms by default; the default 1 is the harness's
    /// common default, which task presets override).
    #[serde(default = "defaults::delta_t")]
    pub delta_t: f64,
    /// Weight of the L1 penalty on spikes (paper: 0.01): the model adds
    /// spike_l1 x (mean of every spike over batch, steps and neurons) to the loss.
    #[serde(default = "defaults::spike_l1")]
    pub spike_l1: f64,
    /// g of the fast-sigmoid surrogate (g/2) / (1 + g |v - threshold|)^2, per unit of membrane
    /// (the LIF's shape and default).
    #[serde(default = "defaults::surrogate_steepness")]
    pub surrogate_steepness: f64,
    /// `heaviside` (spiking) or `smooth` (the surrogate's primitive, for exact gradient checks).
    #[serde(default)]
    pub spike_function: SpikeFunction,
    /// Leave the reset out of the backward pass, as the LIF does by default (see `LifConfig`).
    #[serde(default = "defaults::yes")]
    pub detach_reset: bool,
    /// Which steps of the filtered output spikes the task sees.
    #[serde(default, skip_serializing_if = "Readout::is_per_step")]
    pub readout: Readout,
}

mod defaults {
    pub fn num_neurons() -> usize {
        500
    }
    pub fn synapses_per_neuron() -> usize {
        100
    }
    pub fn previous_layer_fraction() -> f64 {
        0.9
    }
    pub fn inhibitory_fraction() -> f64 {
        0.2
    }
    pub fn weight_init_gain() -> f64 {
        0.3
    }
    pub fn threshold() -> f64 {
        1.0
    }
    pub fn reset_fraction() -> f64 {
        0.9
    }
    pub fn tau_m_init() -> f64 {
        25.0
    }
    pub fn tau_m_min() -> f64 {
        1.0
    }
    pub fn tau_m_max() -> f64 {
        1000.0
    }
    pub fn tau_out() -> f64 {
        20.0
    }
    pub fn output_gain() -> f64 {
        1.0
    }
    pub fn delta_t() -> f64 {
        1.0
    }
    pub fn spike_l1() -> f64 {
        0.01
    }
    pub fn surrogate_steepness() -> f64 {
        10.0
    }
    pub fn yes() -> bool {
        true
    }
}

fn positive(name: &str, value: f64) -> Result<()> {
    if !(value.is_finite() && value > 0.0) {
        bail!("{name} = {value} must be positive");
    }
    Ok(())
}

fn fraction(name: &str, value: f64) -> Result<()> {
    if !(0.0..=1.0).contains(&value) {
        bail!("{name} = {value} must be within [0, 1]");
    }
    Ok(())
}

impl SnnConfig {
    /// The paper's network for `num_input` channels and `num_output` classes.
    pub fn new(num_input: usize, num_output: usize) -> Self {
        serde_json::from_value(serde_json::json!({ "num_input": num_input, "num_output": num_output }))
            .expect("defaults form a valid config")
    }

    /// Neurons of the recurrent (hidden) layer.
    pub fn num_recurrent(&self) -> usize {
        self.num_neurons.saturating_sub(self.num_output)
    }

    /// round(inhibitory_fraction x recurrent neurons).
    pub fn num_inhibitory(&self) -> usize {
        (self.inhibitory_fraction * self.num_recurrent() as f64).round() as usize
    }

    pub fn tau_m_range(&self) -> TauRange {
        TauRange { lo: self.tau_m_min, hi: self.tau_m_max }
    }

    /// The initial value of every synaptic weight.
    pub fn weight_init(&self) -> f64 {
        self.weight_init_gain / (self.synapses_per_neuron as f64).sqrt()
    }

    /// Checks every setting, naming the one that is wrong.
    pub fn validate(&self) -> Result<()> {
        if self.num_input == 0 || self.num_output == 0 {
            bail!("num_input and num_output must be positive");
        }
        if self.num_neurons <= self.num_output {
            bail!(
                "num_neurons = {} must exceed num_output = {}: the recurrent layer has num_neurons - num_output neurons",
                self.num_neurons,
                self.num_output
            );
        }
        if self.synapses_per_neuron == 0 {
            bail!("synapses_per_neuron must be positive");
        }
        // Partners are distinct and never the neuron itself: each layer must offer enough.
        let recurrent = self.num_recurrent();
        let for_recurrent = self.num_input + recurrent - 1;
        let for_output = recurrent + self.num_output - 1;
        if self.synapses_per_neuron > for_recurrent.min(for_output) {
            bail!(
                "synapses_per_neuron = {} exceeds the distinct partners available: {for_recurrent} for a recurrent \
                 neuron (inputs + other recurrent neurons), {for_output} for an output neuron (recurrent + other \
                 output neurons)",
                self.synapses_per_neuron
            );
        }
        fraction("previous_layer_fraction", self.previous_layer_fraction)?;
        fraction("inhibitory_fraction", self.inhibitory_fraction)?;
        if !(self.weight_init_gain.is_finite() && self.weight_init_gain >= 0.0) {
            bail!("weight_init_gain = {} must be finite and not negative", self.weight_init_gain);
        }
        positive("threshold", self.threshold)?;
        if !(self.reset_fraction.is_finite() && self.reset_fraction >= 0.0) {
            bail!("reset_fraction = {} must be finite and not negative", self.reset_fraction);
        }
        let (lo, init, hi) = (self.tau_m_min, self.tau_m_init, self.tau_m_max);
        if !(lo.is_finite() && hi.is_finite() && init.is_finite() && lo > 0.0 && lo < init && init < hi) {
            bail!("tau_m: need 0 < tau_m_min < tau_m_init < tau_m_max, got {lo}, {init}, {hi}");
        }
        positive("tau_out", self.tau_out)?;
        positive("output_gain", self.output_gain)?;
        positive("delta_t", self.delta_t)?;
        if !(self.spike_l1.is_finite() && self.spike_l1 >= 0.0) {
            bail!("spike_l1 = {} must be finite and not negative", self.spike_l1);
        }
        positive("surrogate_steepness", self.surrogate_steepness)?;
        Ok(())
    }
}
