//! The training configuration (`elmbench train --config F.toml`): the model, the task and the
//! training settings, each a table. Unknown keys are errors that name them; sizes and counts are
//! bounded before anything is allocated.

use super::optimizer::OptimizerKind;
use crate::models::ModelConfig;
use crate::tasks::TaskConfig;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// The model: `kind` names it (`elm`, `branch-elm`, ...), the other keys are its own.
    pub model: ModelConfig,
    /// The task: `name` names it (`neuronio`, `shd`, `shd-adding`), the other keys are its own.
    #[serde(default)]
    pub task: TaskConfig,
    #[serde(default)]
    pub train: TrainSettings,
}

/// The learning-rate schedule over the whole run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    /// Cosine annealing to zero over every optimizer step of the run (the paper's recipes).
    #[default]
    Cosine,
    Constant,
    /// The official S5 trainer's: linear warm-up over `warmup_epochs`, then cosine decay to 0,
    /// per step (`schedule::WarmupCosine` has its exact offsets).
    #[serde(rename = "warmup-cosine")]
    WarmupCosine,
}

/// Defaults are the official NeuronIO trainer's (`neuronio_train_script.py`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainSettings {
    pub seed: u64,
    pub epochs: usize,
    /// Unset: the task's epoch (NeuronIO: the official trainer's 10,000 batches; SHD: one pass
    /// over the training split; SHD-Adding: the official notebook's 2000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batches_per_epoch: Option<usize>,
    pub batch_size: usize,
    pub optimizer: OptimizerKind,
    pub learning_rate: f64,
    /// AdamW's decoupled weight decay (PyTorch's default 0.01); refused for other optimizers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight_decay: Option<f64>,
    pub schedule: Schedule,
    /// Epochs of linear warm-up (`schedule = "warmup-cosine"` only; S5's `warmup_end`).
    #[serde(skip_serializing_if = "is_zero")]
    pub warmup_epochs: usize,
    /// A second optimizer group, as the official S5 trainer has: the parameters a model puts in
    /// its state-space group (`SequenceModel::param_groups`: S5's Lambda, B and step) train with
    /// Adam, no weight decay, at this rate (S5's `ssm_lr_base`), under the same schedule; the rest
    /// with `optimizer` at `learning_rate` (S5: AdamW at `lr_factor * ssm_lr_base`). Unset: one
    /// group for every parameter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssm_learning_rate: Option<f64>,
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
            batches_per_epoch: None,
            batch_size: 8,
            optimizer: OptimizerKind::Adam,
            learning_rate: 5e-4,
            weight_decay: None,
            schedule: Schedule::Cosine,
            warmup_epochs: 0,
            ssm_learning_rate: None,
            prefetch: 16,
            divergence_factor: 1e4,
        }
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Bounds on counts from configuration files: far above any paper setting, far below what would
/// exhaust memory or overflow a step counter.
const MAX_EPOCHS: usize = 100_000;
const MAX_BATCHES_PER_EPOCH: usize = 100_000_000;
const MAX_BATCH_SIZE: usize = 65_536;
const MAX_PREFETCH: usize = 1024;

impl TrainSettings {
    pub fn validate(&self) -> Result<()> {
        if !(1..=MAX_EPOCHS).contains(&self.epochs) {
            bail!("train.epochs = {} must be within 1..={MAX_EPOCHS}", self.epochs);
        }
        if let Some(n) = self.batches_per_epoch {
            if !(1..=MAX_BATCHES_PER_EPOCH).contains(&n) {
                bail!("train.batches_per_epoch = {n} must be within 1..={MAX_BATCHES_PER_EPOCH}");
            }
        }
        if !(1..=MAX_BATCH_SIZE).contains(&self.batch_size) {
            bail!("train.batch_size = {} must be within 1..={MAX_BATCH_SIZE}", self.batch_size);
        }
        if !(1..=MAX_PREFETCH).contains(&self.prefetch) {
            bail!("train.prefetch = {} must be within 1..={MAX_PREFETCH}", self.prefetch);
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            bail!("train.learning_rate = {} must be a positive number", self.learning_rate);
        }
        match (self.optimizer, self.weight_decay) {
            (OptimizerKind::Adamw, Some(wd)) if !(wd.is_finite() && wd >= 0.0) => {
                bail!("train.weight_decay = {wd} must be a non-negative number")
            }
            (OptimizerKind::Adam | OptimizerKind::Adamax, Some(wd)) => {
                bail!("train.weight_decay = {wd} is set, but only optimizer = \"adamw\" decays weights")
            }
            _ => {}
        }
        if self.warmup_epochs > 0 && self.schedule != Schedule::WarmupCosine {
            bail!(
                "train.warmup_epochs = {} is set, but only schedule = \"warmup-cosine\" warms up",
                self.warmup_epochs
            );
        }
        if self.warmup_epochs > MAX_EPOCHS {
            bail!("train.warmup_epochs = {} must be within 0..={MAX_EPOCHS}", self.warmup_epochs);
        }
        if let Some(rate) = self.ssm_learning_rate {
            if !(rate.is_finite() && rate > 0.0) {
                bail!("train.ssm_learning_rate = {rate} must be a positive number");
            }
        }
        if self.divergence_factor.is_nan() || self.divergence_factor <= 1.0 {
            bail!("train.divergence_factor = {} must be above 1", self.divergence_factor);
        }
        Ok(())
    }
}

impl TrainConfig {
    /// Reads a TOML file and applies `--set section.key=value` overrides.
    pub fn load(path: &Path, overrides: &[String]) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let config: TrainConfig =
            toml::from_str(&text).with_context(|| format!("invalid training config {}", path.display()))?;
        let config = crate::overrides::apply(&config, overrides)?;
        config.validate().with_context(|| format!("invalid training config {}", path.display()))?;
        Ok(config)
    }

    pub fn validate(&self) -> Result<()> {
        self.model.validate().context("[model]")?;
        self.task.validate().context("[task]")?;
        self.train.validate().context("[train]")
    }
}
