//! The NeuronIO task's settings (`[task]` with `name = "neuronio"`); the defaults are the official
//! trainer's (`neuronio_train_script.py`) except the training loss's burn-in (DESIGN.md).

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NeuronioSettings {
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
    /// Shuffle the input channels with this seed before the model sees them (the appendix's
    /// control of the Branch-ELM's spatial routing; see `shuffle`). Unset: the data's order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shuffle_inputs_seed: Option<u64>,
}

impl Default for NeuronioSettings {
    fn default() -> Self {
        Self {
            window: 500,
            loss_burn_in: 150,
            eval_burn_in: 150,
            file_load_fraction: 0.3,
            valid_files: 1,
            shuffle_inputs_seed: None,
        }
    }
}

/// Windows longer than a simulation (6000 ms, of which the first 500 are never used) cannot be
/// cut; the bound also keeps a config file from asking for absurd allocations.
const MAX_WINDOW: usize = 5500;

impl NeuronioSettings {
    pub fn validate(&self) -> Result<()> {
        if self.window == 0 || self.window > MAX_WINDOW {
            bail!("task.window = {} must be within 1..={MAX_WINDOW} ms", self.window);
        }
        if self.loss_burn_in >= self.window || self.eval_burn_in >= self.window {
            bail!(
                "task.loss_burn_in ({}) and task.eval_burn_in ({}) must be shorter than task.window ({})",
                self.loss_burn_in,
                self.eval_burn_in,
                self.window
            );
        }
        if !(self.file_load_fraction > 0.0 && self.file_load_fraction <= 1.0) {
            bail!("task.file_load_fraction = {} must be within (0, 1]", self.file_load_fraction);
        }
        if self.valid_files == 0 {
            bail!("task.valid_files must be at least 1");
        }
        Ok(())
    }
}
