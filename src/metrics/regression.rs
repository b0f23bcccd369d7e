//! Soma-voltage regression metrics: MSE, RMSE, MAE and explained variance.
//!
//! Same formulas and the same summation order as scikit-learn 1.9 (`mean_squared_error`,
//! `mean_absolute_error`, `explained_variance_score`) on float64 input, so results agree to
//! the last bit or nearly so. All accumulation is in f64 — the official evaluation
//! works on float64 arrays, too.

use super::error::{check_finite, check_min_len, check_same_len, MetricsError};
use super::pairwise_sum::pairwise_mean_by;

fn check_pair(what: &'static str, y_true: &[f64], y_pred: &[f64]) -> Result<(), MetricsError> {
    check_same_len(what, y_true, y_pred)?;
    check_min_len(what, y_true, 1)?;
    check_finite(what, y_true)?;
    check_finite(what, y_pred)
}

/// Mean squared error, `mean((y_true - y_pred)^2)`.
pub fn mean_squared_error(y_true: &[f64], y_pred: &[f64]) -> Result<f64, MetricsError> {
    check_pair("mean_squared_error", y_true, y_pred)?;
    Ok(pairwise_mean_by(y_true.len(), &|i| {
        let d = y_true[i] - y_pred[i];
        d * d
    }))
}

/// Root mean squared error as the official evaluation computes it: `sqrt(MSE)`.
pub fn root_mean_squared_error(y_true: &[f64], y_pred: &[f64]) -> Result<f64, MetricsError> {
    Ok(mean_squared_error(y_true, y_pred)?.sqrt())
}

/// Mean absolute error, `mean(|y_pred - y_true|)`.
pub fn mean_absolute_error(y_true: &[f64], y_pred: &[f64]) -> Result<f64, MetricsError> {
    check_pair("mean_absolute_error", y_true, y_pred)?;
    Ok(pairwise_mean_by(y_true.len(), &|i| (y_pred[i] - y_true[i]).abs()))
}

/// `sklearn.metrics.explained_variance_score` (default `force_finite=True`):
/// `1 - Var(y_true - y_pred) / Var(y_true)`, population variances.
///
/// scikit-learn's constant-target conventions are kept, since they are well defined rather
/// than `nan`: a zero residual variance gives 1.0 (even when `y_true` is constant), and a
/// non-zero residual variance with a constant `y_true` gives 0.0.
pub fn explained_variance_score(y_true: &[f64], y_pred: &[f64]) -> Result<f64, MetricsError> {
    check_pair("explained_variance_score", y_true, y_pred)?;
    let n = y_true.len();
    // Same association as scikit-learn: ((t - p) - mean(t - p))^2 and (t - mean(t))^2.
    let mean_residual = pairwise_mean_by(n, &|i| y_true[i] - y_pred[i]);
    let numerator = pairwise_mean_by(n, &|i| {
        let d = (y_true[i] - y_pred[i]) - mean_residual;
        d * d
    });
    let mean_true = pairwise_mean_by(n, &|i| y_true[i]);
    let denominator = pairwise_mean_by(n, &|i| {
        let d = y_true[i] - mean_true;
        d * d
    });
    Ok(if numerator == 0.0 {
        1.0
    } else if denominator == 0.0 {
        0.0
    } else {
        1.0 - numerator / denominator
    })
}

/// The official "soma_explained_variance_percent": `100.0 * explained_variance_score`.
pub fn explained_variance_percent(y_true: &[f64], y_pred: &[f64]) -> Result<f64, MetricsError> {
    Ok(100.0 * explained_variance_score(y_true, y_pred)?)
}
