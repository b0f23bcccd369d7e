//! The official NeuronIO evaluation: which samples are scored, how the soma prediction is
//! rescaled first, and the bundle of results under the official key names.
//!
//! Follows `src/neuronio/neuronio_eval_utils.py` of AaronSpieler/elmneuron:
//! * `compute_test_predictions` rescales the soma prediction to the target's mean and standard
//!   deviation over the *whole* test set (all simulations, all time steps, before any
//!   filtering) — the authors keep this "for comparability to previous methods";
//! * `filter_and_extract_core_results` keeps the simulations whose target spike count lies in
//!   [0, 24] (counted over the full simulation) and drops the first 500 ms of each;
//! * `extract_core_results` computes the metrics on the flattened remainder: TP/AUC @ FP for
//!   FP in {0.0025, 0.0100}, the ROC AUC, 100 x explained variance, RMSE = sqrt(MSE), MAE.

use serde::{Deserialize, Serialize};

use super::error::{check_finite, check_min_len, check_same_len, MetricsError};
use super::pairwise_sum::pairwise_mean_by;
use super::regression::{explained_variance_percent, mean_absolute_error, root_mean_squared_error};
use super::roc::roc_curve;

/// The official core results, serialised with the official key names (`eval_results.json`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NeuronioMetrics {
    #[serde(rename = "AUC")]
    pub auc: f64,
    #[serde(rename = "TP @ 0.0025 FP")]
    pub tp_at_fp_0025: f64,
    #[serde(rename = "AUC @ 0.0025 FP")]
    pub auc_at_fp_0025: f64,
    #[serde(rename = "TP @ 0.0100 FP")]
    pub tp_at_fp_0100: f64,
    #[serde(rename = "AUC @ 0.0100 FP")]
    pub auc_at_fp_0100: f64,
    #[serde(rename = "soma_RMSE")]
    pub soma_rmse: f64,
    #[serde(rename = "soma_MAE")]
    pub soma_mae: f64,
    #[serde(rename = "soma_explained_variance_percent")]
    pub soma_explained_variance_percent: f64,
}

/// The two false-positive rates of the official results, in the official order.
pub const OFFICIAL_DESIRED_FP: [f64; 2] = [0.0025, 0.0100];

/// Every official metric from flat, already filtered arrays (`extract_core_results`).
/// `spike_true` holds 0/1 labels and `spike_prob` the predicted spike probabilities; the soma
/// arrays are in the evaluation's units (mV relative to the training bias).
pub fn neuronio_metrics(
    spike_true: &[f64],
    spike_prob: &[f64],
    soma_true: &[f64],
    soma_pred: &[f64],
) -> Result<NeuronioMetrics, MetricsError> {
    // The official code recomputes the (deterministic) ROC curve for every metric; once is enough.
    let roc = roc_curve(spike_true, spike_prob, true)?;
    let [low, high] = OFFICIAL_DESIRED_FP;
    Ok(NeuronioMetrics {
        auc: roc.auc()?,
        tp_at_fp_0025: roc.tp_at_fp(low)?,
        auc_at_fp_0025: roc.auc_at_fp(low)?,
        tp_at_fp_0100: roc.tp_at_fp(high)?,
        auc_at_fp_0100: roc.auc_at_fp(high)?,
        soma_rmse: root_mean_squared_error(soma_true, soma_pred)?,
        soma_mae: mean_absolute_error(soma_true, soma_pred)?,
        soma_explained_variance_percent: explained_variance_percent(soma_true, soma_pred)?,
    })
}

/// Which part of the test set is scored (`filter_and_extract_core_results`' arguments).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EvalWindow {
    /// Leading time steps (1 ms each) dropped from every simulation (official: 500).
    pub ignore_time_at_start: usize,
    /// Inclusive bounds on a simulation's target spike count (official: 0 and 24).
    pub min_spikes: f64,
    pub max_spikes: f64,
}

impl Default for EvalWindow {
    fn default() -> Self {
        Self { ignore_time_at_start: 500, min_spikes: 0.0, max_spikes: 24.0 }
    }
}

/// The flattened samples that are scored, and how many simulations they come from.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalSamples {
    pub spike_true: Vec<f64>,
    pub spike_prob: Vec<f64>,
    pub soma_true: Vec<f64>,
    pub soma_pred: Vec<f64>,
    pub simulations_kept: usize,
}

impl EvalWindow {
    /// Apply the official selection to four row-major `(simulations, time_steps)` arrays.
    /// The spike count that decides whether a simulation is kept covers the *whole*
    /// simulation, including the dropped start.
    pub fn select(
        &self,
        time_steps: usize,
        spike_true: &[f64],
        spike_prob: &[f64],
        soma_true: &[f64],
        soma_pred: &[f64],
    ) -> Result<EvalSamples, MetricsError> {
        check_row_len("EvalWindow::select: time_steps", time_steps)?;
        for (what, a) in [
            ("EvalWindow::select: spike_prob", spike_prob),
            ("EvalWindow::select: soma_true", soma_true),
            ("EvalWindow::select: soma_pred", soma_pred),
        ] {
            check_same_len(what, spike_true, a)?;
        }
        if !spike_true.len().is_multiple_of(time_steps) {
            return Err(MetricsError::NotRectangular {
                what: "EvalWindow::select: spike_true",
                len: spike_true.len(),
                row_len: time_steps,
            });
        }
        check_finite("EvalWindow::select: spike_true", spike_true)?;
        let start = self.ignore_time_at_start.min(time_steps);
        let mut out = EvalSamples {
            spike_true: Vec::new(),
            spike_prob: Vec::new(),
            soma_true: Vec::new(),
            soma_pred: Vec::new(),
            simulations_kept: 0,
        };
        for (row, labels) in spike_true.chunks_exact(time_steps).enumerate() {
            // A plain running sum: the counts are small integers, exact in any order.
            let spikes: f64 = labels.iter().sum();
            if spikes < self.min_spikes || spikes > self.max_spikes {
                continue;
            }
            out.simulations_kept += 1;
            let window = row * time_steps + start..(row + 1) * time_steps;
            out.spike_true.extend_from_slice(&spike_true[window.clone()]);
            out.spike_prob.extend_from_slice(&spike_prob[window.clone()]);
            out.soma_true.extend_from_slice(&soma_true[window.clone()]);
            out.soma_pred.extend_from_slice(&soma_pred[window]);
        }
        Ok(out)
    }
}

/// Rows of zero time steps cannot hold a simulation (and would make the row count undefined).
fn check_row_len(what: &'static str, n: usize) -> Result<(), MetricsError> {
    if n == 0 {
        return Err(MetricsError::TooShort { what, len: 0, needed: 1 });
    }
    Ok(())
}

/// The official soma rescaling: `(pred - mean(pred)) / std(pred) * std(true) + mean(true)`,
/// with NumPy's population standard deviation (ddof 0) over all values given. Errors if the
/// prediction is constant (NumPy would produce `nan`s).
pub fn match_soma_moments(soma_true: &[f64], soma_pred: &[f64]) -> Result<Vec<f64>, MetricsError> {
    check_same_len("match_soma_moments: soma_true vs soma_pred", soma_true, soma_pred)?;
    check_min_len("match_soma_moments: soma_true", soma_true, 1)?;
    check_finite("match_soma_moments: soma_true", soma_true)?;
    check_finite("match_soma_moments: soma_pred", soma_pred)?;
    let (m_dst, s_dst) = mean_and_std(soma_true);
    let (m_src, s_src) = mean_and_std(soma_pred);
    if s_src == 0.0 {
        return Err(MetricsError::Constant { what: "match_soma_moments: soma_pred" });
    }
    // Same two steps, in the same order, as the official code.
    Ok(soma_pred.iter().map(|&p| s_dst * ((p - m_src) / s_src) + m_dst).collect())
}

/// `(np.mean(a), np.std(a))`: the mean, then the mean squared deviation from it, square-rooted.
fn mean_and_std(a: &[f64]) -> (f64, f64) {
    let mean = pairwise_mean_by(a.len(), &|i| a[i]);
    let var = pairwise_mean_by(a.len(), &|i| {
        let d = a[i] - mean;
        d * d
    });
    (mean, var.sqrt())
}
