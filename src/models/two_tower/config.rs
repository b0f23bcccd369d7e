//! The two-tower configuration: the shared encoder's own table, the latent size it encodes a
//! document into, and the pair classifier's width and classes.
//!
//! ```toml
//! [model]
//! kind = "two-tower"
//! num_input = 105          # the token alphabet (one-hot width); the task sets it
//! latent = 75              # the encoder's outputs (the paper's latent size)
//! hidden = 150             # the classifier's hidden layer (unset: 2 x latent)
//! num_output = 2           # classes; the task sets it
//! readout = "last-step"    # how a tower pools its steps: last-step (default) or mean
//! encoder = { kind = "elm", num_memory = 150 }
//! ```
//!
//! The encoder table holds the encoder's `kind` and its own settings, never its interface: its
//! inputs are the two-tower's `num_input`, its outputs `latent`, its readout the two-tower's
//! `readout`. Each of those is said once, on the two-tower, so `ModelConfig::with_interface` fits
//! a two-tower to a task as it fits any model (the task's `num_input`, `num_output` and readout
//! land on the two-tower, and from there the first and last reach the encoder).

use crate::models::ModelConfig;
use crate::nn::Readout;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The encoder keys that the two-tower sets itself.
const INTERFACE_KEYS: &[(&str, &str)] = &[
    ("num_input", "the two-tower's `num_input` (both towers read the same alphabet)"),
    ("num_output", "the two-tower's `latent`"),
    ("readout", "the two-tower's `readout` (how a tower pools its steps)"),
];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TwoTowerConfig {
    /// Input features per step of every document (the one-hot width of LRA's tokens).
    pub num_input: usize,
    /// The shared encoder: a model table (`kind` and that model's keys) without its interface keys.
    pub encoder: Map<String, Value>,
    /// The size of a document's encoding: the encoder's outputs at the pooled step.
    #[serde(default = "defaults::latent")]
    pub latent: usize,
    /// Width of the classifier's one hidden layer; unset means 2 * latent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden: Option<usize>,
    /// Classes of a pair.
    pub num_output: usize,
    /// How each tower pools its encoder's steps into one encoding: the last step (the paper's
    /// "last output") or the mean over time. Per step is refused: a pair gets one decision.
    #[serde(default = "defaults::readout")]
    pub readout: Readout,
}

mod defaults {
    use crate::nn::Readout;
    /// The paper's latent size for Retrieval.
    pub fn latent() -> usize {
        75
    }
    pub fn readout() -> Readout {
        Readout::LastStep
    }
}

impl TwoTowerConfig {
    /// A two-tower around `encoder` (a table with `kind`), with the paper's latent size.
    pub fn new(num_input: usize, num_output: usize, encoder: Value) -> Result<Self> {
        let Value::Object(encoder) = encoder else { bail!("the encoder must be a table") };
        Ok(Self {
            num_input,
            encoder,
            latent: defaults::latent(),
            hidden: None,
            num_output,
            readout: Readout::LastStep,
        })
    }

    pub fn hidden(&self) -> usize {
        self.hidden.filter(|&h| h > 0).unwrap_or(2 * self.latent)
    }

    /// The features of a pair that the classifier reads: [u, v, u * v, u - v].
    pub fn feature_size(&self) -> usize {
        4 * self.latent
    }

    /// The encoder's full configuration: its own table with the interface the two-tower gives it.
    pub fn encoder_config(&self) -> Result<ModelConfig> {
        let kind = match self.encoder.get("kind") {
            Some(Value::String(kind)) => kind.as_str(),
            Some(other) => bail!("encoder.kind must be a model name, got {other}"),
            None => bail!("the encoder table needs a `kind` (one of {})", crate::models::model_names().join(", ")),
        };
        if kind == "two-tower" {
            bail!("the encoder of a two-tower cannot be a two-tower (it encodes one document, not a pair)");
        }
        for (key, instead) in INTERFACE_KEYS {
            if self.encoder.contains_key(*key) {
                bail!("encoder.{key} is set by the two-tower: use {instead}");
            }
        }
        let mut table = self.encoder.clone();
        table.insert("num_input".into(), self.num_input.into());
        table.insert("num_output".into(), self.latent.into());
        table.insert("readout".into(), serde_json::to_value(self.readout)?);
        serde_json::from_value(Value::Object(table))
            .with_context(|| format!("the two-tower's encoder (kind `{kind}`) is not a valid model table"))
    }

    pub fn validate(&self) -> Result<()> {
        if self.num_input == 0 || self.num_output == 0 || self.latent == 0 || self.hidden() == 0 {
            bail!("num_input, num_output, latent and hidden must be positive");
        }
        if self.readout.is_per_step() {
            bail!(
                "a two-tower reports one decision per pair: readout must be last-step or mean (how each \
                 tower pools its steps), not per-step"
            );
        }
        self.encoder_config()?.validate().context("the two-tower's encoder")
    }
}
