//! Classification metrics: accuracy as `sklearn.metrics.accuracy_score`, and the predicted class
//! of a row of logits as `torch.max(logits, 1)` picks it in the official notebooks.

use super::error::MetricsError;

/// The index of the largest logit; the first one on ties, NaN never wins. `None` for an empty row
/// or one of NaNs only.
pub fn predicted_class(logits: &[f32]) -> Option<usize> {
    let mut best: Option<(usize, f32)> = None;
    for (i, &v) in logits.iter().enumerate() {
        if v.is_nan() {
            continue;
        }
        if best.is_none_or(|(_, b)| v > b) {
            best = Some((i, v));
        }
    }
    best.map(|(i, _)| i)
}

/// The fraction of predictions equal to their labels.
pub fn accuracy(predicted: &[usize], labels: &[usize]) -> Result<f64, MetricsError> {
    if predicted.len() != labels.len() {
        return Err(MetricsError::LengthMismatch { what: "accuracy", left: predicted.len(), right: labels.len() });
    }
    if labels.is_empty() {
        return Err(MetricsError::TooShort { what: "accuracy", len: 0, needed: 1 });
    }
    let correct = predicted.iter().zip(labels).filter(|(p, l)| p == l).count();
    Ok(correct as f64 / labels.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_hand() {
        assert_eq!(predicted_class(&[0.1, 2.0, 2.0, -1.0]), Some(1));
        assert_eq!(predicted_class(&[f32::NAN, -3.0]), Some(1));
        assert_eq!(predicted_class(&[]), None);
        // sklearn.metrics.accuracy_score([0, 1, 2, 2], [0, 2, 2, 2]) == 0.75
        assert_eq!(accuracy(&[0, 2, 2, 2], &[0, 1, 2, 2]).unwrap(), 0.75);
        assert!(accuracy(&[0], &[0, 1]).is_err());
        assert!(accuracy(&[], &[]).is_err());
    }
}
