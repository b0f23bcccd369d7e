//! The TCN's configuration (`kind = "tcn"`): a named architecture (`preset`, default
//! `beniaguev-7x128x239`) whose numbers any explicit key overrides, so `preset =
//! "beniaguev-3x64x100"` plus `num_filters = 32` is that network at half width.

use super::presets::{self, Preset, DEFAULT_PRESET};
use crate::engine::kernels::Activation;
use crate::nn::Readout;
use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// Receptive fields beyond this are refused: they say a dilation or filter setting went wrong
/// (Beniaguev's largest is 257 steps; a NeuronIO window is 500).
const MAX_RECEPTIVE_FIELD: usize = 100_000;
/// Weights per layer beyond this are refused before anything is allocated (2^31 f32 = 8 GiB).
const MAX_LAYER_WEIGHTS: usize = 1 << 31;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TcnConfig {
    pub num_input: usize,
    /// A name from `presets::PRESETS`; unset means the default one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_layers: Option<usize>,
    /// Filters (channels) of every layer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_filters: Option<usize>,
    /// Steps spanned by a first-layer filter (its taps, before dilation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_filter_size: Option<usize>,
    /// Taps of the filters of every later layer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter_size: Option<usize>,
    /// Layer l (from 0) has dilation base^l: 1 (the default, Beniaguev's) gives none, 2 the
    /// doubling dilations of Bai et al.'s TCN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dilation_base: Option<usize>,
    #[serde(default = "default_activation")]
    pub activation: Activation,
    /// Outputs per step: channels of the 1x1 head. The default 2 is NeuronIO's spike logit and
    /// soma voltage (and keeps the configs, and hashes, written before the key existed).
    #[serde(default = "default_num_output", skip_serializing_if = "is_default_num_output")]
    pub num_output: usize,
    /// Which steps' outputs the model reports.
    #[serde(default, skip_serializing_if = "Readout::is_per_step")]
    pub readout: Readout,
}

fn default_activation() -> Activation {
    Activation::Relu
}

/// NeuronIO's spike and soma heads.
pub const DEFAULT_NUM_OUTPUT: usize = 2;

fn default_num_output() -> usize {
    DEFAULT_NUM_OUTPUT
}

fn is_default_num_output(n: &usize) -> bool {
    *n == DEFAULT_NUM_OUTPUT
}

/// One causal convolution: `inputs` channels in, `outputs` out, `kernel` taps `dilation` apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvShape {
    pub inputs: usize,
    pub outputs: usize,
    pub kernel: usize,
    pub dilation: usize,
}

impl ConvShape {
    /// How many steps back tap k looks: taps run from the oldest (k = 0) to the present
    /// (k = kernel - 1), as in Keras's causal `Conv1D`.
    #[inline]
    pub fn lag(&self, k: usize) -> usize {
        (self.kernel - 1 - k) * self.dilation
    }
}

impl TcnConfig {
    /// The default architecture for `num_input` inputs.
    pub fn new(num_input: usize) -> Self {
        serde_json::from_value(serde_json::json!({ "num_input": num_input })).expect("defaults form a valid config")
    }

    /// A named architecture for `num_input` inputs.
    pub fn preset(num_input: usize, name: &str) -> Result<Self> {
        let config = Self { preset: Some(name.to_string()), ..Self::new(num_input) };
        config.validate()?;
        Ok(config)
    }

    fn base(&self) -> Result<&'static Preset> {
        let name = self.preset.as_deref().unwrap_or(DEFAULT_PRESET);
        match presets::find(name) {
            Some(p) => Ok(p),
            None => bail!("unknown TCN preset `{name}`; presets: {}", presets::names().join(", ")),
        }
    }

    /// The layers as configured: explicit keys over the preset's numbers.
    pub fn layers(&self) -> Result<Vec<ConvShape>> {
        let p = self.base()?;
        let depth = self.num_layers.unwrap_or(p.num_layers);
        let width = self.num_filters.unwrap_or(p.num_filters);
        let first = self.first_filter_size.unwrap_or(p.first_filter_size);
        let later = self.filter_size.unwrap_or(p.filter_size);
        let base = self.dilation_base.unwrap_or(1);
        if self.num_input == 0 {
            bail!("num_input must be positive");
        }
        if self.num_output == 0 {
            bail!("num_output must be positive");
        }
        for (name, value) in
            [("num_layers", depth), ("num_filters", width), ("first_filter_size", first), ("filter_size", later)]
        {
            if value == 0 {
                bail!("{name} must be positive");
            }
        }
        if base == 0 {
            bail!("dilation_base must be positive");
        }
        let mut layers = Vec::with_capacity(depth);
        let mut field = 1usize;
        for l in 0..depth {
            let kernel = if l == 0 { first } else { later };
            let dilation = u32::try_from(l).ok().and_then(|l| base.checked_pow(l));
            let reach = dilation.and_then(|d| (kernel - 1).checked_mul(d)).and_then(|r| field.checked_add(r));
            match (dilation, reach) {
                (Some(dilation), Some(reach)) if reach <= MAX_RECEPTIVE_FIELD => {
                    field = reach;
                    let inputs = if l == 0 { self.num_input } else { width };
                    let weights = kernel.checked_mul(inputs).and_then(|n| n.checked_mul(width));
                    if weights.is_none_or(|n| n > MAX_LAYER_WEIGHTS) {
                        bail!(
                            "layer {} would have {kernel} x {inputs} x {width} weights, more than {MAX_LAYER_WEIGHTS}",
                            l + 1
                        );
                    }
                    layers.push(ConvShape { inputs, outputs: width, kernel, dilation });
                }
                _ => bail!(
                    "layer {} would see more than {MAX_RECEPTIVE_FIELD} steps back (dilation_base = {base}, \
                     filter sizes {first} and {later}); lower dilation_base or num_layers",
                    l + 1
                ),
            }
        }
        Ok(layers)
    }

    /// Steps of input each output depends on: 1 + sum over layers of (kernel - 1) * dilation.
    pub fn receptive_field(&self) -> Result<usize> {
        Ok(1 + self.layers()?.iter().map(|l| (l.kernel - 1) * l.dilation).sum::<usize>())
    }

    /// Trainable scalars by the architecture alone, without building the model: every
    /// convolution's K C_in C_out weights and C_out biases, and the num_output heads' C_L + 1 each.
    /// (Keras's count of the same network adds 2 C_out trainable batch-norm scalars per layer,
    /// which elmbench leaves out, and its dendritic head.)
    pub fn param_count(&self) -> Result<usize> {
        let layers = self.layers()?;
        let conv: usize = layers.iter().map(|l| l.kernel * l.inputs * l.outputs + l.outputs).sum();
        let width = layers.last().map_or(0, |l| l.outputs);
        Ok(conv + self.num_output * (width + 1))
    }

    pub fn validate(&self) -> Result<()> {
        self.layers().map(|_| ())
    }
}
