//! Bad input is an `Err` with a useful message, never a panic or a `nan`.

use elmbench::metrics::{
    auc, explained_variance_score, match_soma_moments, mean_absolute_error, mean_squared_error, neuronio_metrics,
    roc_auc, roc_curve, EvalWindow, MetricsError,
};

#[test]
fn roc_rejects_mismatched_lengths_and_empty_input() {
    let err = roc_curve(&[0.0, 1.0], &[0.5], true).unwrap_err();
    assert!(matches!(err, MetricsError::LengthMismatch { left: 2, right: 1, .. }), "{err:?}");
    let err = roc_curve(&[], &[], true).unwrap_err();
    assert!(matches!(err, MetricsError::TooShort { len: 0, .. }), "{err:?}");
}

#[test]
fn roc_rejects_non_finite_scores() {
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let err = roc_curve(&[0.0, 1.0, 0.0], &[0.1, 0.2, bad], false).unwrap_err();
        assert!(matches!(err, MetricsError::NonFinite { index: 2, .. }), "{err:?}");
    }
}

#[test]
fn roc_rejects_labels_other_than_zero_and_one() {
    for bad in [2.0, 0.5, -1.0, f64::NAN] {
        let err = roc_curve(&[0.0, bad, 1.0], &[0.1, 0.2, 0.3], true).unwrap_err();
        assert!(matches!(err, MetricsError::InvalidLabel { index: 1, .. }), "{err:?}");
    }
}

#[test]
fn single_class_is_an_error_not_nan() {
    let err = roc_curve(&[0.0; 3], &[0.1, 0.2, 0.3], true).unwrap_err();
    assert_eq!(err, MetricsError::SingleClass { positives: 0, negatives: 3 });
    let err = roc_auc(&[1.0; 2], &[0.1, 0.2]).unwrap_err();
    assert_eq!(err, MetricsError::SingleClass { positives: 2, negatives: 0 });
    assert!(err.to_string().contains("single class"), "{err}");
    let err = neuronio_metrics(&[1.0; 2], &[0.1, 0.2], &[0.0, 1.0], &[0.0, 1.0]).unwrap_err();
    assert!(matches!(err, MetricsError::SingleClass { .. }), "{err:?}");
}

#[test]
fn auc_rejects_bad_curves() {
    let err = auc(&[0.0, 1.0, 0.5], &[0.0, 1.0, 1.0]).unwrap_err();
    assert_eq!(err, MetricsError::NotMonotonic { rise: 1, fall: 2 });
    let err = auc(&[3.0, 3.0, 2.0, 2.5], &[0.0; 4]).unwrap_err();
    assert_eq!(err, MetricsError::NotMonotonic { rise: 3, fall: 2 });
    assert!(matches!(auc(&[0.0], &[1.0]).unwrap_err(), MetricsError::TooShort { needed: 2, .. }));
    assert!(matches!(auc(&[0.0, 1.0], &[1.0]).unwrap_err(), MetricsError::LengthMismatch { .. }));
    assert!(matches!(auc(&[0.0, f64::NAN], &[1.0, 1.0]).unwrap_err(), MetricsError::NonFinite { index: 1, .. }));
    assert!(matches!(auc(&[0.0, 1.0], &[1.0, f64::INFINITY]).unwrap_err(), MetricsError::NonFinite { .. }));
}

#[test]
fn desired_rate_must_be_a_number() {
    let roc = roc_curve(&[0.0, 1.0], &[0.1, 0.2], true).expect("valid");
    for bad in [f64::NAN, f64::INFINITY] {
        assert!(matches!(roc.tp_at_fp(bad).unwrap_err(), MetricsError::InvalidParameter { .. }));
        assert!(matches!(roc.auc_at_fp(bad).unwrap_err(), MetricsError::InvalidParameter { .. }));
    }
}

#[test]
fn regression_rejects_bad_input() {
    assert!(matches!(mean_squared_error(&[1.0], &[1.0, 2.0]).unwrap_err(), MetricsError::LengthMismatch { .. }));
    assert!(matches!(mean_absolute_error(&[], &[]).unwrap_err(), MetricsError::TooShort { .. }));
    let err = explained_variance_score(&[1.0, f64::NAN], &[1.0, 2.0]).unwrap_err();
    assert!(matches!(err, MetricsError::NonFinite { index: 1, .. }), "{err:?}");
    let err = explained_variance_score(&[1.0, 2.0], &[1.0, f64::NEG_INFINITY]).unwrap_err();
    assert!(matches!(err, MetricsError::NonFinite { index: 1, .. }), "{err:?}");
    let err = match_soma_moments(&[1.0, 2.0], &[3.0, 3.0]).unwrap_err();
    assert!(matches!(err, MetricsError::Constant { .. }), "{err:?}");
}

#[test]
fn evaluation_window_rejects_ragged_arrays() {
    let w = EvalWindow::default();
    let five = [0.0; 5];
    assert!(matches!(w.select(2, &five, &five, &five, &five).unwrap_err(), MetricsError::NotRectangular { .. }));
    assert!(matches!(w.select(0, &five, &five, &five, &five).unwrap_err(), MetricsError::TooShort { .. }));
    assert!(matches!(w.select(5, &five, &five[..4], &five, &five).unwrap_err(), MetricsError::LengthMismatch { .. }));
}

/// The error converts into `anyhow::Error` with `?`, keeping its message.
#[test]
fn errors_work_with_anyhow() {
    fn run() -> anyhow::Result<f64> {
        Ok(roc_auc(&[0.0, 0.0], &[0.1, 0.2])?)
    }
    let msg = run().unwrap_err().to_string();
    assert!(msg.contains("0 positives, 2 negatives"), "{msg}");
}
