//! Losses with their gradients with respect to the model outputs.

/// Mean squared error over all elements and d loss / d prediction.
pub fn mse(prediction: &[f32], target: &[f32]) -> (f64, Vec<f32>) {
    assert_eq!(prediction.len(), target.len());
    let n = prediction.len().max(1) as f64;
    let mut loss = 0.0f64;
    let grad = prediction
        .iter()
        .zip(target)
        .map(|(p, t)| {
            let diff = (*p - *t) as f64;
            loss += diff * diff;
            (2.0 * diff / n) as f32
        })
        .collect();
    (loss / n, grad)
}

/// `torch.nn.CrossEntropyLoss()` (mean over the batch) of logits (batch, classes) against class
/// indices, and d loss / d logits = (softmax - one_hot) / batch. Computed in f64 with the
/// log-sum-exp shifted by the row maximum, so large logits neither overflow nor lose the loss.
/// Panics only on a caller's error (wrong lengths, a class out of range): tasks check their labels
/// when they read them.
pub fn cross_entropy(logits: &[f32], labels: &[u32], classes: usize) -> (f64, Vec<f32>) {
    assert_eq!(logits.len(), labels.len() * classes, "cross_entropy: logits and labels disagree");
    let batch = labels.len().max(1) as f64;
    let mut loss = 0.0f64;
    let mut grad = vec![0.0f32; logits.len()];
    for (b, (row, &label)) in logits.chunks_exact(classes).zip(labels).enumerate() {
        let label = label as usize;
        assert!(label < classes, "cross_entropy: class {label} of {classes}");
        let max = row.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v as f64));
        let sum: f64 = row.iter().map(|&v| (v as f64 - max).exp()).sum();
        let log_sum = max + sum.ln();
        loss += log_sum - row[label] as f64;
        for (c, &v) in row.iter().enumerate() {
            let p = (v as f64 - log_sum).exp();
            grad[b * classes + c] = ((p - (c == label) as u8 as f64) / batch) as f32;
        }
    }
    (loss / batch, grad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mse_by_hand() {
        // ((1-0)^2 + (3-1)^2) / 2 = 2.5; gradient 2 (p - t) / n = [1, 2].
        let (loss, grad) = mse(&[1.0, 3.0], &[0.0, 1.0]);
        assert_eq!(loss, 2.5);
        assert_eq!(grad, vec![1.0, 2.0]);
    }

    #[test]
    fn cross_entropy_by_hand_and_by_finite_differences() {
        // Equal logits over 4 classes: loss ln 4; gradient (1/4 - 1) / 1 on the label, 1/4 elsewhere.
        let (loss, grad) = cross_entropy(&[0.0, 0.0, 0.0, 0.0], &[2], 4);
        assert!((loss - 4f64.ln()).abs() < 1e-12);
        assert_eq!(grad, vec![0.25, 0.25, -0.75, 0.25]);
        // torch.nn.functional.cross_entropy(tensor([[1., 2., 3.], [1000., 0., -1000.]]),
        // tensor([0, 1])) = ((log(e + e^2 + e^3) - 1) + 1000) / 2 = 501.2038..., stable at 1000.
        let logits = [1.0f32, 2.0, 3.0, 1000.0, 0.0, -1000.0];
        let (loss, grad) = cross_entropy(&logits, &[0, 1], 3);
        let first = (1f64.exp() + 2f64.exp() + 3f64.exp()).ln() - 1.0;
        assert!((loss - (first + 1000.0) / 2.0).abs() < 1e-9, "{loss}");
        for i in 0..logits.len() {
            let h = 1e-2f32;
            let (mut plus, mut minus) = (logits, logits);
            plus[i] += h;
            minus[i] -= h;
            // Divide by the step the f32 logits really took (at 1000 it is not exactly 2h).
            let step = plus[i] as f64 - minus[i] as f64;
            let numeric = (cross_entropy(&plus, &[0, 1], 3).0 - cross_entropy(&minus, &[0, 1], 3).0) / step;
            assert!((numeric - grad[i] as f64).abs() < 1e-4, "{i}: {numeric} vs {}", grad[i]);
        }
    }
}
