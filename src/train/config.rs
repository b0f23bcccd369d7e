//! The training configuration (`elmbench train --config F.toml`): the model, the data and the
//! training settings, each a table. Unknown keys are errors that name them.

use crate::models::ModelConfig;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// The model: `kind` names it (`elm`, `branch-elm`, ...), the other keys are its own.
    pub model: ModelConfig,
    #[serde(default)]
    pub data: DataSettings,
    #[serde(default)]
    pub train: TrainSettings,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSettings {
    /// Only "neuronio" for now.
    pub dataset: String,
}

impl Default for DataSettings {
    fn default() -> Self {
        Self { dataset: "neuronio".into() }
    }
}

/// Defaults are the official NeuronIO trainer's (`neuronio_train_script.py`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainSettings {
    pub seed: u64,
    pub epochs: usize,
    pub batches_per_epoch: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    /// Steps per training window (ms).
    pub window: usize,
    /// Leading steps of each window left out of the loss (0 = the official loss).
    pub loss_burn_in: usize,
    /// Burn-in of the windowed evaluation (the official 150 ms).
    pub eval_burn_in: usize,
    /// Fraction of a file's windows drawn before the next file (official 0.3).
    pub file_load_fraction: f64,
    /// Validation files evaluated after each epoch (the official trainer uses one).
    pub valid_files: usize,
    /// Batches prepared ahead by the background sampler.
    pub prefetch: usize,
    /// A run has diverged when its loss is not finite or exceeds this multiple of its first
    /// batch's loss, before any update (bounded activations can keep an exploding loss finite).
    pub divergence_factor: f64,
}

impl Default for TrainSettings {
    fn default() -> Self {
        Self {
            seed: 0,
            epochs: 35,
            batches_per_epoch: 10_000,
            batch_size: 8,
            learning_rate: 5e-4,
            window: 500,
            loss_burn_in: 150,
            eval_burn_in: 150,
            file_load_fraction: 0.3,
            valid_files: 1,
            prefetch: 16,
            divergence_factor: 1e4,
        }
    }
}

impl TrainConfig {
    /// Reads a TOML file and applies `--set section.key=value` overrides.
    pub fn load(path: &Path, overrides: &[String]) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let config: TrainConfig =
            toml::from_str(&text).with_context(|| format!("invalid training config {}", path.display()))?;
        let config = crate::overrides::apply(&config, overrides)?;
        config.model.validate().with_context(|| format!("{}: [model]", path.display()))?;
        if config.data.dataset != "neuronio" {
            anyhow::bail!(
                "{}: data.dataset = {:?}; only \"neuronio\" can be trained so far",
                path.display(),
                config.data.dataset
            );
        }
        Ok(config)
    }
}
