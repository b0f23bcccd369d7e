//! ROC curve and trapezoidal area, with scikit-learn's exact semantics.
//!
//! `roc_curve` follows `sklearn.metrics.roc_curve` (checked against scikit-learn 1.9):
//! 1. sort the samples by score, descending and stable;
//! 2. one candidate threshold per distinct score, at the *last* sample of each run of equal
//!    scores, so that tied samples enter the curve together;
//! 3. cumulative true positives `tps` at those positions, `fps = position + 1 - tps`;
//! 4. with `drop_intermediate`, and only if there are more than two candidates, keep the first
//!    and last points and every point where the second difference of `fps` or of `tps` is
//!    non-zero (a corner); collinear points in between change neither the plot nor the AUC;
//! 5. prepend the point (0, 0) with threshold `+inf`, then divide by the totals.
//!
//! The counts are integers, so steps 3 and 4 are done in integer arithmetic; that is exact, as
//! NumPy's float cumulative sums of 0/1 labels are below 2^53.

use super::error::{check_finite, check_min_len, check_same_len, MetricsError};
use super::pairwise_sum::pairwise_sum_by;

/// A ROC curve: `fpr[i]`, `tpr[i]` are the rates when predicting positive for `score >=
/// thresholds[i]`. `thresholds[0]` is `+inf` (nothing predicted positive) and the thresholds
/// decrease from there. `fpr` and `tpr` are non-decreasing and end at 1.
#[derive(Debug, Clone, PartialEq)]
pub struct Roc {
    pub fpr: Vec<f64>,
    pub tpr: Vec<f64>,
    pub thresholds: Vec<f64>,
}

/// ROC curve of binary labels (`0.0`/`1.0`) against scores, as `sklearn.metrics.roc_curve`
/// (`pos_label = 1`, no sample weights).
///
/// Errors, where scikit-learn would raise or warn and return `nan` rates: mismatched
/// lengths, empty input, a label other than 0/1, a non-finite score, or a single class.
pub fn roc_curve(y_true: &[f64], y_score: &[f64], drop_intermediate: bool) -> Result<Roc, MetricsError> {
    check_same_len("roc_curve: y_true vs y_score", y_true, y_score)?;
    check_min_len("roc_curve: y_true", y_true, 1)?;
    check_finite("roc_curve: y_score", y_score)?;
    let mut samples = Vec::with_capacity(y_true.len());
    for (index, (&label, &score)) in y_true.iter().zip(y_score).enumerate() {
        let positive = if label == 1.0 {
            true
        } else if label == 0.0 {
            false
        } else {
            return Err(MetricsError::InvalidLabel { index, value: label });
        };
        // `+ 0.0` turns -0.0 into +0.0: IEEE equality (what NumPy's `diff != 0` uses to find
        // distinct scores) treats them as equal, `total_cmp` would not.
        samples.push((score + 0.0, positive));
    }
    let positives = samples.iter().filter(|s| s.1).count();
    let negatives = samples.len() - positives;
    if positives == 0 || negatives == 0 {
        return Err(MetricsError::SingleClass { positives, negatives });
    }

    // Stable sort (merge sort), descending by score. The order within a tie never shows in
    // the result, because only the counts at the end of each run of equal scores are used.
    samples.sort_by(|a, b| b.0.total_cmp(&a.0));

    // Cumulative counts at the last position of every run of equal scores.
    let mut tps: Vec<u64> = Vec::new();
    let mut fps: Vec<u64> = Vec::new();
    let mut thresholds: Vec<f64> = Vec::new();
    let mut true_pos = 0u64;
    for (i, &(score, positive)) in samples.iter().enumerate() {
        true_pos += u64::from(positive);
        let run_ends = samples.get(i + 1).is_none_or(|next| next.0 != score);
        if run_ends {
            tps.push(true_pos);
            fps.push(i as u64 + 1 - true_pos);
            thresholds.push(score);
        }
    }

    if drop_intermediate && fps.len() > 2 {
        // Second difference c[i+1] - 2 c[i] + c[i-1] != 0 marks a corner at i. Counts are
        // non-decreasing, so compare the two steps instead of forming a signed difference.
        let corner = |c: &[u64], i: usize| c[i + 1] - c[i] != c[i] - c[i - 1];
        let last = fps.len() - 1;
        let keep: Vec<usize> =
            (0..=last).filter(|&i| i == 0 || i == last || corner(&fps, i) || corner(&tps, i)).collect();
        tps = keep.iter().map(|&i| tps[i]).collect();
        fps = keep.iter().map(|&i| fps[i]).collect();
        thresholds = keep.iter().map(|&i| thresholds[i]).collect();
    }

    let total_pos = positives as f64;
    let total_neg = negatives as f64;
    let mut roc = Roc {
        fpr: Vec::with_capacity(fps.len() + 1),
        tpr: Vec::with_capacity(tps.len() + 1),
        thresholds: Vec::with_capacity(thresholds.len() + 1),
    };
    roc.fpr.push(0.0);
    roc.tpr.push(0.0);
    roc.thresholds.push(f64::INFINITY);
    // The last cumulative counts are the class totals, so this is `fps / fps[-1]`.
    roc.fpr.extend(fps.iter().map(|&c| c as f64 / total_neg));
    roc.tpr.extend(tps.iter().map(|&c| c as f64 / total_pos));
    roc.thresholds.extend(thresholds);
    Ok(roc)
}

/// Area under a curve by the trapezoidal rule, as `sklearn.metrics.auc`.
///
/// `x` must be monotonic: if any step is negative and all steps are `<= 0` the curve is
/// integrated right to left and the sign flipped (the area stays positive); a direction change
/// is an error, as in scikit-learn. Also errors on mismatched lengths, fewer than two points
/// and non-finite values (scikit-learn would return `nan` for those).
pub fn auc(x: &[f64], y: &[f64]) -> Result<f64, MetricsError> {
    check_same_len("auc: x vs y", x, y)?;
    check_min_len("auc: x", x, 2)?;
    check_finite("auc: x", x)?;
    check_finite("auc: y", y)?;
    // Positions (of the later point) of the first increase and the first decrease of x.
    let first_step =
        |rising: bool| x.windows(2).position(|w| if rising { w[1] > w[0] } else { w[1] < w[0] }).map(|i| i + 1);
    let decreasing = match (first_step(true), first_step(false)) {
        (Some(rise), Some(fall)) => return Err(MetricsError::NotMonotonic { rise, fall }),
        (_, fall) => fall.is_some(),
    };
    let direction = if decreasing { -1.0 } else { 1.0 };
    // SciPy's `trapezoid`: sum of diff(x) * (y[1:] + y[:-1]) / 2.0, in NumPy's pairwise order.
    let area = pairwise_sum_by(x.len() - 1, &|i| (x[i + 1] - x[i]) * (y[i + 1] + y[i]) / 2.0);
    Ok(direction * area)
}

/// Area under the ROC curve the way the official ELM evaluation computes it:
/// `auc(*roc_curve(y_true, y_score)[:2])` with scikit-learn's default `drop_intermediate=True`.
pub fn roc_auc(y_true: &[f64], y_score: &[f64]) -> Result<f64, MetricsError> {
    roc_curve(y_true, y_score, true)?.auc()
}

impl Roc {
    /// Trapezoidal area under this curve (`auc(fpr, tpr)`).
    pub fn auc(&self) -> Result<f64, MetricsError> {
        auc(&self.fpr, &self.tpr)
    }
}
