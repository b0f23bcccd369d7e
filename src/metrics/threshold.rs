//! The official NeuronIO low-false-positive metrics, "TP @ x FP" and "AUC @ x FP".
//!
//! Semantics of `calc_TP_at_desired_FP` and `calc_AUC_at_desired_FP` in the official
//! repository (AaronSpieler/elmneuron, `src/neuronio/neuronio_eval_utils.py`, themselves
//! taken from Beniaguev et al.'s `evaluate_CNN_test.py`). Both start from scikit-learn's
//! `roc_curve` with its default `drop_intermediate=True`.
//!
//! * TP @ FP: the TPR of the ROC point whose FPR is closest to the desired rate; on a tie in
//!   distance, and among repeated FPR values (vertical steps of the curve), the *first* such
//!   point (`np.argmin`), i.e. the lowest TPR. Index 0, the artificial (0, 0) point, is
//!   replaced by index 1. No interpolation.
//! * AUC @ FP: the curve is resampled by linear interpolation (`np.interp`) at 20000 evenly
//!   spaced FPR values `linspace(0, 1, 20000)`; `k` = the index of the grid value closest to
//!   the desired rate (first on a tie), clamped to `1 ..= 19999`; the result is the plain mean
//!   of the first `k` resampled TPRs (grid points `0 .. k-1`, excluding `k`). So it is the
//!   partial AUC over FPR in [0, ~desired) divided by the interval's width: 1.0 for a perfect
//!   classifier, about desired/2 for a random one. Not a trapezoid, not McClish-corrected.

use super::error::MetricsError;
use super::pairwise_sum::pairwise_mean_by;
use super::roc::Roc;

/// Number of points of the official FPR resampling grid.
pub const AUC_AT_FP_GRID_POINTS: usize = 20000;

impl Roc {
    /// "TP @ `desired_fpr` FP" exactly as the official `calc_TP_at_desired_FP`, applied to this
    /// curve (which must come from `roc_curve(.., drop_intermediate = true)` to match it).
    pub fn tp_at_fp(&self, desired_fpr: f64) -> Result<f64, MetricsError> {
        check_rate(desired_fpr)?;
        let index = first_argmin(self.fpr.len(), |i| (self.fpr[i] - desired_fpr).abs()).max(1);
        // A `Roc` from `roc_curve` always has at least two points; a hand-built one may not.
        self.tpr.get(index).copied().ok_or(MetricsError::TooShort {
            what: "tp_at_fp: roc curve",
            len: self.tpr.len(),
            needed: 2,
        })
    }

    /// "AUC @ `desired_fpr` FP" exactly as the official `calc_AUC_at_desired_FP`, applied to
    /// this curve (which must come from `roc_curve(.., drop_intermediate = true)`).
    pub fn auc_at_fp(&self, desired_fpr: f64) -> Result<f64, MetricsError> {
        check_rate(desired_fpr)?;
        if self.fpr.len() < 2 || self.fpr.len() != self.tpr.len() {
            return Err(MetricsError::TooShort {
                what: "auc_at_fp: roc curve",
                len: self.fpr.len().min(self.tpr.len()),
                needed: 2,
            });
        }
        let grid = linspace_unit(AUC_AT_FP_GRID_POINTS);
        let closest = first_argmin(grid.len(), |i| (grid[i] - desired_fpr).abs());
        let count = closest.clamp(1, AUC_AT_FP_GRID_POINTS - 1);
        let tpr_on_grid: Vec<f64> = grid[..count].iter().map(|&x| interp(x, &self.fpr, &self.tpr)).collect();
        Ok(pairwise_mean_by(count, &|i| tpr_on_grid[i]))
    }
}

/// The desired rate only needs to be a number: the official code accepts any float, and the
/// nearest-point rules give a defined answer for all of them. `nan` would make every distance
/// `nan`, where NumPy's argmin silently returns the first index.
fn check_rate(desired_fpr: f64) -> Result<(), MetricsError> {
    if desired_fpr.is_finite() {
        Ok(())
    } else {
        Err(MetricsError::InvalidParameter { what: "desired false-positive rate", value: desired_fpr })
    }
}

/// Index of the first minimum of `f(0..n)`, like `np.argmin` on finite values.
fn first_argmin(n: usize, f: impl Fn(usize) -> f64) -> usize {
    let mut best = 0;
    let mut best_value = f64::INFINITY;
    for i in 0..n {
        let v = f(i);
        if v < best_value {
            best = i;
            best_value = v;
        }
    }
    best
}

/// `np.linspace(0, 1, n)` for `n >= 2`: `i * (1 / (n - 1))`, with the last value set to
/// exactly 1 (NumPy multiplies by the step rather than dividing by `n - 1`; the two differ in
/// the last bit for some `i`).
fn linspace_unit(n: usize) -> Vec<f64> {
    let step = 1.0 / (n - 1) as f64;
    let mut grid: Vec<f64> = (0..n).map(|i| i as f64 * step).collect();
    grid[n - 1] = 1.0;
    grid
}

/// `np.interp(x, xp, fp)` for one point, with `xp` non-decreasing and finite.
///
/// NumPy finds `j` with `xp[j] <= x < xp[j + 1]` — with repeated `xp` values that is the last
/// of them, so at a vertical step of a ROC curve the upper TPR is taken. Below the range it
/// returns `fp[0]`, at or above the last point `fp[last]`, at an exact hit `fp[j]`, and
/// otherwise `slope * (x - xp[j]) + fp[j]` with `slope = (fp[j+1] - fp[j]) / (xp[j+1] - xp[j])`.
fn interp(x: f64, xp: &[f64], fp: &[f64]) -> f64 {
    let above = xp.partition_point(|&v| v <= x);
    if above == 0 {
        return fp[0];
    }
    let j = above - 1;
    if j == xp.len() - 1 || xp[j] == x {
        return fp[j];
    }
    let slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]);
    slope * (x - xp[j]) + fp[j]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interp_takes_the_upper_value_of_a_vertical_step() {
        let xp = [0.0, 0.5, 0.5, 1.0];
        let fp = [0.0, 0.2, 0.8, 1.0];
        assert_eq!(interp(0.5, &xp, &fp), 0.8);
        assert_eq!(interp(0.25, &xp, &fp), 0.1);
        assert_eq!(interp(0.75, &xp, &fp), 0.9);
        assert_eq!(interp(1.0, &xp, &fp), 1.0);
        assert_eq!(interp(2.0, &xp, &fp), 1.0);
        assert_eq!(interp(-1.0, &xp, &fp), 0.0);
    }

    #[test]
    fn linspace_ends_exactly() {
        let g = linspace_unit(AUC_AT_FP_GRID_POINTS);
        assert_eq!(g[0], 0.0);
        assert_eq!(g[AUC_AT_FP_GRID_POINTS - 1], 1.0);
        assert_eq!(g[1], 1.0 / 19999.0);
    }

    #[test]
    fn argmin_takes_the_first_of_equal_minima() {
        let v = [3.0, 1.0, 2.0, 1.0];
        assert_eq!(first_argmin(v.len(), |i| v[i]), 1);
    }
}
