//! Evaluation metrics, numerically equal to scikit-learn and the official ELM NeuronIO helpers.
//!
//! * [`roc_curve`], [`auc`], [`roc_auc`]: `sklearn.metrics.roc_curve` / `auc`.
//! * [`Roc::tp_at_fp`], [`Roc::auc_at_fp`]: the official "TP @ x FP" and "AUC @ x FP".
//! * [`mean_squared_error`], [`root_mean_squared_error`], [`mean_absolute_error`],
//!   [`explained_variance_score`], [`explained_variance_percent`]: the soma metrics.
//! * [`neuronio_metrics`] → [`NeuronioMetrics`]: all of them under the official result keys;
//!   [`EvalWindow`] and [`match_soma_moments`]: the official selection and soma rescaling
//!   that precede them.
//! * [`accuracy`], [`predicted_class`]: `sklearn.metrics.accuracy_score` and the official
//!   notebooks' `torch.max(logits, 1)`.
//! * [`Metrics`]: a task's named values of one split, in the task's order.
//!
//! Sums follow NumPy's pairwise order, so results match the Python reference to the last
//! bit or within a few ulps. Bad input (non-finite values, mismatched lengths, labels other
//! than 0/1, a single class) is an `Err(MetricsError)`, never a panic or a silent `nan`.

mod classification;
mod error;
mod named;
mod neuronio;
mod pairwise_sum;
mod regression;
mod roc;
mod threshold;

pub use classification::{accuracy, predicted_class};
pub use error::MetricsError;
pub use named::Metrics;
pub use neuronio::{
    match_soma_moments, neuronio_metrics, EvalSamples, EvalWindow, NeuronioMetrics, OFFICIAL_DESIRED_FP,
};
pub use regression::{
    explained_variance_percent, explained_variance_score, mean_absolute_error, mean_squared_error,
    root_mean_squared_error,
};
pub use roc::{auc, roc_auc, roc_curve, Roc};
pub use threshold::AUC_AT_FP_GRID_POINTS;
