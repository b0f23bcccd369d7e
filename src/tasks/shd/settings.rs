//! The settings of the SHD and SHD-Adding tasks (`[task]` with `name = "shd"` or `"shd-adding"`).
//! Defaults follow the paper (appendix B: 2 ms bins, input dropout 0.5) and the official notebook
//! `train_elm_on_shd.ipynb` (a 20 % validation split drawn with seed 0; SHD-Adding validation
//! and test streams of 500 and 2000 batches of 8 pairs, fixed by seed 0).

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShdSettings {
    /// Bin size in ms; the model's time step (dt) is the bin size.
    pub bin_ms: u32,
    /// Probability of zeroing each binned input count while training (the official notebook's
    /// mask on the dense tensor: no rescaling of what is kept).
    pub input_dropout: f64,
    /// Also drop inputs when evaluating, as the official notebook does (it draws the same mask in
    /// its validation and test loops). Off by default: evaluation should see the data as it is,
    /// and a random mask makes the reported accuracy itself random.
    pub dropout_at_eval: bool,
    /// Fraction of the training file held out for validation.
    pub valid_fraction: f64,
    /// Seed of the validation split (fixed across runs, as the official notebook's seed 0).
    pub split_seed: u64,
    /// SHD-Adding: validation and test pairs, in batches of 8 as the official notebook draws them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_batches: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_batches: Option<usize>,
    /// SHD-Adding: seed of the fixed validation and test pair lists.
    pub pair_seed: u64,
}

impl Default for ShdSettings {
    fn default() -> Self {
        Self {
            bin_ms: 2,
            input_dropout: 0.5,
            dropout_at_eval: false,
            valid_fraction: 0.2,
            split_seed: 0,
            valid_batches: None,
            test_batches: None,
            pair_seed: 0,
        }
    }
}

/// The official notebook's SHD-Adding evaluation streams.
pub const ADDING_VALID_BATCHES: usize = 500;
pub const ADDING_TEST_BATCHES: usize = 2000;
/// Evaluation pairs are drawn in batches of this many, as the official notebook draws them.
pub const ADDING_PAIR_BATCH: usize = 8;
/// Beyond this a pair list would cost gigabytes to hold; no paper setting comes near it.
const MAX_EVAL_BATCHES: usize = 100_000;

impl ShdSettings {
    pub fn validate(&self, adding: bool) -> Result<()> {
        if !(1..=1000).contains(&self.bin_ms) {
            bail!("task.bin_ms = {} must be within 1..=1000 ms", self.bin_ms);
        }
        if !(0.0..1.0).contains(&self.input_dropout) {
            bail!("task.input_dropout = {} must be within [0, 1)", self.input_dropout);
        }
        if !(self.valid_fraction > 0.0 && self.valid_fraction < 1.0) {
            bail!("task.valid_fraction = {} must be within (0, 1)", self.valid_fraction);
        }
        for (name, value) in [("valid_batches", self.valid_batches), ("test_batches", self.test_batches)] {
            match value {
                Some(_) if !adding => bail!("task.{name} belongs to shd-adding; shd evaluates every sample"),
                Some(n) if n == 0 || n > MAX_EVAL_BATCHES => {
                    bail!("task.{name} = {n} must be within 1..={MAX_EVAL_BATCHES}")
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Steps of one binned digit (`np.arange`'s edges less one); 0 for an invalid bin size,
    /// which `validate` refuses.
    pub fn steps(&self) -> usize {
        super::Binning::new(self.bin_ms).map_or(0, |b| b.steps())
    }

    pub fn valid_batches(&self) -> usize {
        self.valid_batches.unwrap_or(ADDING_VALID_BATCHES)
    }

    pub fn test_batches(&self) -> usize {
        self.test_batches.unwrap_or(ADDING_TEST_BATCHES)
    }
}
