//! The LSTM's configuration: sizes, the bias convention, and (for `chrono-lstm`) the chrono
//! initialisation's longest timescale. Shared by `lstm` and `chrono-lstm`; which of the two a
//! config describes is the `kind` of its `ModelConfig`, passed here as `LstmInit`.

use crate::nn::Readout;
use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LstmConfig {
    pub num_input: usize,
    pub num_output: usize,
    pub hidden_size: usize,
    /// false (default): one bias vector per gate, the convention of the paper's parameter counts
    /// (a second bias adds nothing a model can express). true: PyTorch's `bias_ih` and `bias_hh`,
    /// so that `torch.nn.LSTM` weights load by name and train with the same parametrisation.
    #[serde(default)]
    pub two_biases: bool,
    /// chrono-lstm only: the longest timescale (in steps) the chrono initialisation spreads the
    /// forget gates over. Required there (no default: it is a property of the task, the range of
    /// its temporal dependencies), and an error on a plain `lstm`, where nothing would read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chrono_t_max: Option<f64>,
    /// Which steps' outputs the model reports.
    #[serde(default, skip_serializing_if = "Readout::is_per_step")]
    pub readout: Readout,
    /// The probability of dropping a hidden unit from the recurrent input in training
    /// (variational: one mask per sample for the whole sequence; see `recurrent_dropout`). 0, the
    /// default, trains without it and leaves older configs (and their hashes) as they were.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub recurrent_dropout: f64,
}

fn is_zero(p: &f64) -> bool {
    *p == 0.0
}

/// How the gate biases start.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LstmInit {
    /// PyTorch's `nn.LSTM` init: every tensor uniform in +-1/sqrt(hidden_size).
    PyTorch,
    /// Tallec & Ollivier (2018): forget bias log(U(1, t_max - 1)), input bias its negative.
    Chrono { t_max: f64 },
}

impl LstmConfig {
    /// A plain LSTM config with one bias per gate.
    pub fn new(num_input: usize, num_output: usize, hidden_size: usize) -> Self {
        Self {
            num_input,
            num_output,
            hidden_size,
            two_biases: false,
            chrono_t_max: None,
            readout: Readout::PerStep,
            recurrent_dropout: 0.0,
        }
    }

    /// The initialisation for a config of kind `chrono-lstm` (`chrono`) or `lstm`, after checking
    /// every setting.
    pub fn init(&self, chrono: bool) -> Result<LstmInit> {
        use crate::models::limits;
        limits::width("num_input", self.num_input)?;
        limits::width("num_output", self.num_output)?;
        limits::width("hidden_size", self.hidden_size)?;
        limits::weights("the gates", &[4 * self.hidden_size, self.num_input + self.hidden_size])?;
        if self.num_input == 0 || self.num_output == 0 || self.hidden_size == 0 {
            bail!(
                "num_input ({}), num_output ({}) and hidden_size ({}) must be positive",
                self.num_input,
                self.num_output,
                self.hidden_size
            );
        }
        let p = self.recurrent_dropout;
        // p = 1 would drop every unit and scale the rest by 1/0.
        if !(p.is_finite() && (0.0..1.0).contains(&p)) {
            bail!("recurrent_dropout = {p} must be a probability in [0, 1)");
        }
        match (chrono, self.chrono_t_max) {
            (false, None) => Ok(LstmInit::PyTorch),
            (false, Some(t)) => {
                bail!("chrono_t_max = {t} is set, but only chrono-lstm uses it; use kind = \"chrono-lstm\" or drop it")
            }
            (true, None) => {
                bail!("chrono-lstm needs chrono_t_max, the longest timescale in steps (e.g. the window length)")
            }
            // U(1, t_max - 1) must be a non-empty range, so t_max > 2.
            (true, Some(t)) if !(t.is_finite() && t > 2.0) => {
                bail!("chrono_t_max must be a finite number above 2 (the forget biases are log U(1, chrono_t_max - 1)), got {t}")
            }
            (true, Some(t_max)) => Ok(LstmInit::Chrono { t_max }),
        }
    }
}
