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
}
