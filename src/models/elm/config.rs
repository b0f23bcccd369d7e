//! The ELM's configuration, with the official constructor's argument names and defaults
//! (`ELM.__init__` in the official `expressive_leaky_memory_neuron.py`), plus elmbench switches:
//! `version` (v1 or v2 dynamics), `learn_synapse_weights` and `branch_activation` (the appendix's
//! Branch-ELM ablation; the official code always sums branches linearly).

use crate::engine::kernels::Activation;
use crate::nn::Readout;
use anyhow::{bail, Result};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How inputs reach synapses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoutingKind {
    /// Interlock excitatory and inhibitory inputs, then overlapping windows per branch.
    Neuronio,
    /// Each synapse draws its input uniformly at random (seeded; the draw is saved).
    Random,
}

/// The dynamics variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ElmVersion {
    /// Synapse traces; memory update `lambda * (1 - kappa_m) * dm`.
    V1,
    /// Branch traces; memory update `(1 - kappa_lambda) * dm`, kappa_lambda = exp(-dt lambda / tau_m).
    V2,
}

/// What a branch does with the sum of its synapse traces before the MLP sees it: `identity` (the
/// official model: u_t = branch_sum(s_t)), or a nonlinearity u_t = f(branch_sum(s_t)), the
/// appendix's ablation of the Branch-ELM's linear dendrites.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BranchActivation {
    #[default]
    Identity,
    Sigmoid,
    Relu,
}

impl BranchActivation {
    pub fn is_identity(&self) -> bool {
        *self == BranchActivation::Identity
    }

    #[inline]
    pub fn apply(self, z: f32) -> f32 {
        match self {
            BranchActivation::Identity => z,
            BranchActivation::Sigmoid => crate::engine::kernels::sigmoid(z),
            BranchActivation::Relu => z.max(0.0),
        }
    }

    /// f'(z) written with the output a = f(z), so that the forward pass keeps only a: sigmoid
    /// a (1 - a); relu 1 where a > 0, else 0 (PyTorch's derivative at 0).
    #[inline]
    pub fn derivative_at_output(self, a: f32) -> f32 {
        match self {
            BranchActivation::Identity => 1.0,
            BranchActivation::Sigmoid => a * (1.0 - a),
            BranchActivation::Relu => {
                if a > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
        }
    }
}

/// The spacing of the initial memory time constants.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TauSpacing {
    #[default]
    Log,
    Linear,
}

impl TauSpacing {
    pub fn is_log(&self) -> bool {
        *self == TauSpacing::Log
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ElmConfig {
    pub num_input: usize,
    pub num_output: usize,
    #[serde(default = "defaults::num_memory")]
    pub num_memory: usize,
    #[serde(default = "defaults::lambda_value")]
    pub lambda_value: f64,
    #[serde(default = "defaults::mlp_num_layers")]
    pub mlp_num_layers: usize,
    /// Width of every hidden layer; unset means 2 * num_memory.
    #[serde(default)]
    pub mlp_hidden_size: Option<usize>,
    #[serde(default = "defaults::activation")]
    pub mlp_activation: Activation,
    /// Synapse time constant (v1) or branch time constant (v2; the official v2 calls it tau_b_value).
    #[serde(default = "defaults::tau_s_value", alias = "tau_b_value")]
    pub tau_s_value: f64,
    #[serde(default = "defaults::memory_tau_min")]
    pub memory_tau_min: f64,
    #[serde(default = "defaults::memory_tau_max")]
    pub memory_tau_max: f64,
    #[serde(default)]
    pub learn_memory_tau: bool,
    /// Where the initial tau_m lie, within the bounds [memory_tau_min, memory_tau_max]; unset
    /// means the whole range (the official code). The paper's SHD runs start in [1, 150] ms
    /// inside bounds [0, 1000].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_tau_init: Option<[f64; 2]>,
    /// How the initial tau_m are spaced: `log` (the official code) or `linear` ("evenly spaced",
    /// the paper's SHD setting).
    #[serde(default, skip_serializing_if = "TauSpacing::is_log")]
    pub memory_tau_init_spacing: TauSpacing,
    #[serde(default = "defaults::w_s_value")]
    pub w_s_value: f64,
    /// Unset means one branch per input (the vanilla ELM).
    #[serde(default)]
    pub num_branch: Option<usize>,
    #[serde(default = "defaults::num_synapse_per_branch")]
    pub num_synapse_per_branch: usize,
    #[serde(default, with = "routing_name")]
    pub input_to_synapse_routing: Option<RoutingKind>,
    #[serde(default = "defaults::delta_t")]
    pub delta_t: f64,
    #[serde(default = "defaults::version")]
    pub version: ElmVersion,
    /// Whether the synapse weights w_s are trained (the official code always trains them).
    #[serde(default = "defaults::yes")]
    pub learn_synapse_weights: bool,
    /// The branch nonlinearity (default identity, the official model; serialised only when set,
    /// so configs, hashes and checkpoints without it are unchanged).
    #[serde(default, skip_serializing_if = "BranchActivation::is_identity")]
    pub branch_activation: BranchActivation,
    /// Seed of the random routing draw (the draw itself is saved with the weights).
    #[serde(default)]
    pub routing_seed: u64,
    /// Which steps' outputs the model reports.
    #[serde(default, skip_serializing_if = "Readout::is_per_step")]
    pub readout: Readout,
}

mod defaults {
    use crate::engine::kernels::Activation;
    pub fn num_memory() -> usize {
        100
    }
    pub fn lambda_value() -> f64 {
        5.0
    }
    pub fn mlp_num_layers() -> usize {
        1
    }
    pub fn activation() -> Activation {
        Activation::Relu
    }
    pub fn tau_s_value() -> f64 {
        5.0
    }
    pub fn memory_tau_min() -> f64 {
        1.0
    }
    pub fn memory_tau_max() -> f64 {
        1000.0
    }
    pub fn w_s_value() -> f64 {
        0.5
    }
    pub fn num_synapse_per_branch() -> usize {
        1
    }
    pub fn delta_t() -> f64 {
        1.0
    }
    pub fn version() -> super::ElmVersion {
        super::ElmVersion::V1
    }
    pub fn yes() -> bool {
        true
    }
}

mod routing_name {
    use super::*;
    pub fn serialize<S: Serializer>(r: &Option<RoutingKind>, s: S) -> Result<S::Ok, S::Error> {
        match r {
            None => s.serialize_none(),
            Some(RoutingKind::Neuronio) => s.serialize_str("neuronio"),
            Some(RoutingKind::Random) => s.serialize_str("random"),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<RoutingKind>, D::Error> {
        let name = Option::<String>::deserialize(d)?;
        match name.as_deref() {
            None | Some("none") => Ok(None),
            Some("neuronio" | "neuronio_routing") => Ok(Some(RoutingKind::Neuronio)),
            Some("random" | "random_routing") => Ok(Some(RoutingKind::Random)),
            Some(other) => Err(serde::de::Error::custom(format!(
                "unknown input_to_synapse_routing `{other}` (expected neuronio or random)"
            ))),
        }
    }
}

impl ElmConfig {
    /// A config with the official defaults for the given input and output sizes.
    pub fn new(num_input: usize, num_output: usize) -> Self {
        serde_json::from_value(serde_json::json!({"num_input": num_input, "num_output": num_output}))
            .expect("defaults form a valid config")
    }

    pub fn num_branch(&self) -> usize {
        self.num_branch.unwrap_or(self.num_input)
    }

    pub fn num_synapse(&self) -> usize {
        self.num_synapse_per_branch * self.num_branch()
    }

    pub fn mlp_hidden_size(&self) -> usize {
        self.mlp_hidden_size.filter(|&h| h > 0).unwrap_or(2 * self.num_memory)
    }

    pub fn mlp_input_size(&self) -> usize {
        self.num_branch() + self.num_memory
    }

    /// The upper bound of tau_m. v2 keeps it at least 3e-6 above the lower one, as the official v2 does.
    pub fn effective_tau_max(&self) -> f64 {
        match self.version {
            ElmVersion::V1 => self.memory_tau_max,
            ElmVersion::V2 => self.memory_tau_max.max(self.memory_tau_min + 3e-6),
        }
    }

    /// The fewest scalars a file holding this model's weights must hold (the MLP, the synapse
    /// weights and the output layer; saturating, so any config may ask). Loaders compare it with
    /// the file before building the model, so a size in a config cannot allocate more than the
    /// weights file that comes with it.
    pub fn weight_scalars(&self) -> usize {
        let linear = |fan_in: usize, out: usize| fan_in.saturating_mul(out).saturating_add(out);
        // Before validation, so every product saturates instead of wrapping.
        let hidden = self.mlp_hidden_size.filter(|&h| h > 0).unwrap_or(self.num_memory.saturating_mul(2));
        let synapses = self.num_synapse_per_branch.saturating_mul(self.num_branch());
        let inputs = self.num_branch().saturating_add(self.num_memory);
        // In closed form, not a loop over the layers: the count is unchecked here (the fuzz
        // harness hung on mlp_num_layers = 2^63).
        let mlp = match self.mlp_num_layers {
            0 => linear(inputs, self.num_memory),
            layers => linear(inputs, hidden)
                .saturating_add((layers - 1).saturating_mul(linear(hidden, hidden)))
                .saturating_add(linear(hidden, self.num_memory)),
        };
        mlp.saturating_add(synapses).saturating_add(linear(self.num_memory, self.num_output))
    }

    /// Checks what the official constructor asserts, with messages that name the setting.
    pub fn validate(&self) -> Result<()> {
        use crate::models::limits;
        limits::width("num_input", self.num_input)?;
        limits::width("num_output", self.num_output)?;
        limits::width("num_memory", self.num_memory)?;
        limits::width("num_branch", self.num_branch())?;
        limits::width("num_synapse_per_branch", self.num_synapse_per_branch)?;
        if let Some(h) = self.mlp_hidden_size {
            limits::width("mlp_hidden_size", h)?;
        }
        limits::layers("mlp_num_layers", self.mlp_num_layers)?;
        limits::weights(
            "the synapses (num_branch x num_synapse_per_branch)",
            &[self.num_branch(), self.num_synapse_per_branch],
        )?;
        let hidden = self.mlp_hidden_size();
        limits::weights("the MLP's first layer", &[self.num_branch() + self.num_memory, hidden])?;
        limits::weights("the MLP's hidden layers", &[hidden, hidden])?;
        // One tensor's bound alone would let 64 hidden layers ask for 64 of them.
        limits::weights("the whole ELM (its MLP, synapse and output weights)", &[self.weight_scalars()])?;
        if self.num_input == 0 || self.num_output == 0 || self.num_memory == 0 {
            bail!("num_input, num_output and num_memory must be positive");
        }
        if self.num_branch() == 0 || self.num_synapse_per_branch == 0 {
            bail!("num_branch and num_synapse_per_branch must be positive");
        }
        if self.input_to_synapse_routing.is_none() && self.num_synapse() != self.num_input {
            bail!(
                "without input_to_synapse_routing, num_branch * num_synapse_per_branch ({} * {}) must equal num_input ({})",
                self.num_branch(),
                self.num_synapse_per_branch,
                self.num_input
            );
        }
        if self.input_to_synapse_routing == Some(RoutingKind::Neuronio)
            && self.num_input.div_ceil(self.num_branch()) > self.num_synapse_per_branch
        {
            bail!(
                "neuronio routing needs num_synapse_per_branch >= ceil(num_input / num_branch) = {}",
                self.num_input.div_ceil(self.num_branch())
            );
        }
        if !(self.memory_tau_min >= 0.0 && self.memory_tau_max > self.memory_tau_min) {
            bail!(
                "memory_tau_min ({}) must be non-negative and below memory_tau_max ({})",
                self.memory_tau_min,
                self.memory_tau_max
            );
        }
        if let Some([lo, hi]) = self.memory_tau_init {
            if !(lo >= self.memory_tau_min && hi <= self.effective_tau_max() && lo <= hi) {
                bail!(
                    "memory_tau_init = [{lo}, {hi}] must be an ordered range within [memory_tau_min, memory_tau_max] = [{}, {}]",
                    self.memory_tau_min,
                    self.memory_tau_max
                );
            }
        }
        if !(self.delta_t > 0.0 && self.tau_s_value > 0.0) {
            bail!("delta_t and tau_s_value must be positive");
        }
        if !self.lambda_value.is_finite() || !self.w_s_value.is_finite() {
            bail!("lambda_value and w_s_value must be finite");
        }
        Ok(())
    }
}
