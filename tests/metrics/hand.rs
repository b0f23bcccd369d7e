//! Tiny cases worked out by hand; the arithmetic is in the comments.

use super::fixtures::{assert_all_close, assert_close};
use elmbench::metrics::{
    auc, explained_variance_percent, explained_variance_score, match_soma_moments, mean_absolute_error,
    mean_squared_error, roc_auc, roc_curve, root_mean_squared_error, EvalWindow,
};

const INF: f64 = f64::INFINITY;

/// labels [0, 1, 1, 0], scores [0.1, 0.4, 0.35, 0.8].
/// Sorted by score, descending: 0.8 (neg), 0.4 (pos), 0.35 (pos), 0.1 (neg).
/// Cumulative counts after each: tps = [0, 1, 2, 2], fps = [1, 1, 1, 2].
/// Second differences at the inner points: at 0.4, fps 0-0 = 0 and tps 1-1 = 0 → dropped;
/// at 0.35, fps 1-0 = 1 → kept. Then prepend (0, 0) at +inf and divide by 2 positives and 2
/// negatives.
const Y: [f64; 4] = [0.0, 1.0, 1.0, 0.0];
const S: [f64; 4] = [0.1, 0.4, 0.35, 0.8];

#[test]
fn four_point_roc_with_drop_intermediate() {
    let roc = roc_curve(&Y, &S, true).expect("valid");
    assert_eq!(roc.thresholds, [INF, 0.8, 0.35, 0.1]);
    assert_eq!(roc.fpr, [0.0, 0.5, 0.5, 1.0]);
    assert_eq!(roc.tpr, [0.0, 0.0, 1.0, 1.0]);
    // Trapezoids: 0.5 * (0 + 0) / 2 + 0 * (0 + 1) / 2 + 0.5 * (1 + 1) / 2 = 0.5.
    assert_eq!(roc.auc().expect("auc"), 0.5);
    assert_eq!(roc_auc(&Y, &S).expect("auc"), 0.5);
}

#[test]
fn four_point_roc_without_drop_intermediate() {
    let roc = roc_curve(&Y, &S, false).expect("valid");
    assert_eq!(roc.thresholds, [INF, 0.8, 0.4, 0.35, 0.1]);
    assert_eq!(roc.fpr, [0.0, 0.5, 0.5, 0.5, 1.0]);
    assert_eq!(roc.tpr, [0.0, 0.0, 0.5, 1.0, 1.0]);
    assert_eq!(roc.auc().expect("auc"), 0.5);
}

/// TP @ FP takes the first point nearest in FPR, so at a vertical step it takes the bottom.
#[test]
fn tp_at_fp_takes_first_nearest_point() {
    let roc = roc_curve(&Y, &S, true).expect("valid"); // fpr [0, .5, .5, 1], tpr [0, 0, 1, 1]
                                                       // nearest to 0.0025 is index 0, which the official rule bumps to 1: tpr 0.
    assert_eq!(roc.tp_at_fp(0.0025).expect("tp"), 0.0);
    // 0.5 matches indices 1 and 2 exactly; the first (tpr 0) wins.
    assert_eq!(roc.tp_at_fp(0.5).expect("tp"), 0.0);
    // 0.9: distances 0.9, 0.4, 0.4, 0.1 → index 3, tpr 1.
    assert_eq!(roc.tp_at_fp(0.9).expect("tp"), 1.0);
}

/// All scores tied: the curve is the diagonal fpr = tpr = [0, 1]. The grid value nearest 0.01
/// is 200/19999 (199/19999 is 5e-5 away, 200/19999 only 5e-7), so the mean runs over grid
/// points 0..=199, where the interpolated TPR equals the grid value i/19999:
/// mean = (0 + 1 + ... + 199) / 200 / 19999 = 99.5 / 19999.
#[test]
fn auc_at_fp_of_the_diagonal() {
    let roc = roc_curve(&[1.0, 0.0, 0.0, 1.0], &[0.3; 4], true).expect("valid");
    assert_eq!(roc.fpr, [0.0, 1.0]);
    assert_eq!(roc.tp_at_fp(0.01).expect("tp"), 1.0); // index 0 → 1, the only other point
    assert_close("auc@0.01", roc.auc_at_fp(0.01).expect("auc"), 99.5 / 19999.0, 1e-15);
}

/// A perfect ranking: fpr [0, 0, 1], tpr [0, 1, 1]. At grid value 0 `np.interp` takes the last
/// of the repeated xp = 0 points (tpr 1), so every resampled TPR is 1.
#[test]
fn perfect_classifier_scores_one_everywhere() {
    let roc = roc_curve(&[0.0, 1.0, 1.0], &[0.2, 0.9, 0.7], true).expect("valid");
    assert_eq!(roc.fpr, [0.0, 0.0, 0.0, 1.0]);
    assert_eq!(roc.tpr, [0.0, 0.5, 1.0, 1.0]);
    assert_eq!(roc.auc().expect("auc"), 1.0);
    assert_eq!(roc.tp_at_fp(0.0025).expect("tp"), 0.5); // index 1: the first point at fpr 0
    assert_eq!(roc.auc_at_fp(0.0025).expect("auc"), 1.0);
}

/// drop_intermediate needs more than two candidate points: with two nothing is dropped; with
/// three collinear ones the middle goes — the prepended (0, 0) is not part of the test.
#[test]
fn drop_intermediate_needs_three_points() {
    // scores 1, 1, 0, 0 with labels 1, 0, 1, 0: tps [1, 2], fps [1, 2].
    let roc = roc_curve(&[1.0, 0.0, 1.0, 0.0], &[1.0, 1.0, 0.0, 0.0], true).expect("valid");
    assert_eq!(roc.fpr, [0.0, 0.5, 1.0]);
    assert_eq!(roc.thresholds, [INF, 1.0, 0.0]);
    // scores 3, 3, 2, 2, 1, 1 with alternating labels: tps = fps = [1, 2, 3], collinear.
    let roc = roc_curve(&[1.0, 0.0, 1.0, 0.0, 1.0, 0.0], &[3.0, 3.0, 2.0, 2.0, 1.0, 1.0], true).expect("valid");
    assert_eq!(roc.fpr, [0.0, 1.0 / 3.0, 1.0]);
    assert_eq!(roc.tpr, [0.0, 1.0 / 3.0, 1.0]);
    assert_eq!(roc.thresholds, [INF, 3.0, 1.0]);
}

/// A decreasing x is integrated with the sign flipped: x [1, 0], y [1, 1] → area 1, not -1.
#[test]
fn auc_of_a_decreasing_curve() {
    assert_eq!(auc(&[1.0, 0.0], &[1.0, 1.0]).expect("auc"), 1.0);
    // Steps of zero are allowed in either direction: x [0, 0, 2], y [5, 1, 1] → 0 + 2 * 1 = 2.
    assert_eq!(auc(&[0.0, 0.0, 2.0], &[5.0, 1.0, 1.0]).expect("auc"), 2.0);
}

/// y_true [0, 1, 2, 3], y_pred [0, 2, 2, 2]: residuals t - p = [0, -1, 0, 1].
/// MSE = (0 + 1 + 0 + 1) / 4 = 0.5, MAE = 0.5, RMSE = sqrt(0.5).
/// Var(residual) = 0.5 (mean 0); Var(y_true) = (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25;
/// explained variance = 1 - 0.5 / 1.25 = 0.6.
#[test]
fn four_point_regression() {
    let (t, p) = ([0.0, 1.0, 2.0, 3.0], [0.0, 2.0, 2.0, 2.0]);
    assert_eq!(mean_squared_error(&t, &p).expect("mse"), 0.5);
    assert_eq!(mean_absolute_error(&t, &p).expect("mae"), 0.5);
    assert_eq!(root_mean_squared_error(&t, &p).expect("rmse"), 0.5f64.sqrt());
    assert_close("ev", explained_variance_score(&t, &p).expect("ev"), 0.6, 1e-15);
    assert_close("ev%", explained_variance_percent(&t, &p).expect("ev"), 60.0, 1e-13);
}

/// scikit-learn's constant-target conventions: a perfect prediction scores 1, anything else 0.
#[test]
fn explained_variance_of_a_constant_target() {
    assert_eq!(explained_variance_score(&[2.0; 3], &[2.0; 3]).expect("ev"), 1.0);
    assert_eq!(explained_variance_score(&[2.0; 3], &[2.0, 1.0, 2.0]).expect("ev"), 0.0);
    // A pure offset leaves the residual variance at 0: [1, 2] vs [2, 3] → 1.
    assert_eq!(explained_variance_score(&[1.0, 2.0], &[2.0, 3.0]).expect("ev"), 1.0);
}

/// true [1, 3]: mean 2, std 1; pred [10, 20]: mean 15, std 5 → z = [-1, 1] → [1, 3].
#[test]
fn soma_rescaling_matches_moments() {
    assert_eq!(match_soma_moments(&[1.0, 3.0], &[10.0, 20.0]).expect("rescale"), [1.0, 3.0]);
}

/// 3 simulations x 4 steps, drop 1 step, keep 0..=2 spikes. Simulation 0 has one spike, in the
/// dropped step, and is kept; simulation 1 has 3 spikes and goes; simulation 2 has none and
/// stays. The probabilities encode (row, column) as 10 * row + column.
#[test]
fn evaluation_window_selects_rows_and_drops_start() {
    let spikes = [1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0];
    let prob: Vec<f64> = (0..12).map(|i| f64::from(10 * (i / 4) + i % 4)).collect();
    let window = EvalWindow { ignore_time_at_start: 1, min_spikes: 0.0, max_spikes: 2.0 };
    let out = window.select(4, &spikes, &prob, &prob, &prob).expect("select");
    assert_eq!(out.simulations_kept, 2);
    assert_eq!(out.spike_true, [0.0; 6]);
    assert_all_close("spike_prob", &out.spike_prob, &[1.0, 2.0, 3.0, 21.0, 22.0, 23.0], 0.0);
    assert_eq!(out.soma_pred, out.spike_prob);
    assert_eq!(EvalWindow::default(), EvalWindow { ignore_time_at_start: 500, min_spikes: 0.0, max_spikes: 24.0 });
}

/// Positives score 0, 1, ..., m-1 and negatives 0.5, 1.5, ..., m-0.5, interleaved: a positive
/// outranks a negative iff a >= b + 1, which happens for 0 + 1 + ... + (m-1) = m(m-1)/2 of the
/// m^2 pairs, so AUC = (m-1) / (2m) (the trapezoid area equals the Mann-Whitney fraction).
/// The pairs are visited in a scrambled order (j = 2654435761 i mod m, a bijection as the
/// multiplier is a prime not dividing m) so the sort has real work to do.
fn staircase_auc(m: usize) -> f64 {
    let mut labels = Vec::with_capacity(2 * m);
    let mut scores = Vec::with_capacity(2 * m);
    for i in 0..m as u64 {
        let j = (i * 2_654_435_761 % m as u64) as usize;
        labels.extend([1.0, 0.0]);
        scores.extend([j as f64, j as f64 + 0.5]);
    }
    roc_auc(&labels, &scores).expect("valid")
}

#[test]
fn staircase_auc_million_points() {
    let m = 500_000;
    assert_close("auc", staircase_auc(m), (m - 1) as f64 / (2 * m) as f64, 1e-12);
}

/// The size of a full NeuronIO test set (about 10^7 time steps); run with `--ignored` to time it.
#[test]
#[ignore]
fn staircase_auc_ten_million_points() {
    let m = 5_000_000;
    assert_close("auc", staircase_auc(m), (m - 1) as f64 / (2 * m) as f64, 1e-12);
}
