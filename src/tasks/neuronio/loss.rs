//! The NeuronIO training loss of the official trainer (`NeuronioLoss`):
//! 0.5 * BCE-with-logits(spike logit, spike) + 0.5 * MSE(soma prediction, soma), both means over
//! the batch and the time steps counted, with outputs laid out (batch, time, 2).
//!
//! `burn_in` skips the first steps of every window: the memory starts at zero, so early outputs
//! say more about the initial state than about the model. The official trainer counts every step
//! (burn-in 0) and applies its 150 ms burn-in only in evaluation; elmbench's default follows
//! DESIGN.md (150 in training too), and `burn_in = 0` gives the official loss exactly.

/// Loss value and d loss / d outputs.
pub fn neuronio_loss(
    outputs: &[f32],
    spike: &[f32],
    soma: &[f32],
    batch: usize,
    time: usize,
    burn_in: usize,
) -> (f64, Vec<f32>) {
    assert_eq!(outputs.len(), batch * time * 2);
    assert_eq!(spike.len(), batch * time);
    assert_eq!(soma.len(), batch * time);
    let counted = (batch * time.saturating_sub(burn_in)).max(1) as f64;
    let mut grad = vec![0.0f32; outputs.len()];
    let (mut bce, mut mse) = (0.0f64, 0.0f64);
    for b in 0..batch {
        for t in burn_in.min(time)..time {
            let r = b * time + t;
            let (logit, target) = (outputs[2 * r] as f64, spike[r] as f64);
            // Stable form: max(x, 0) - x y + log(1 + exp(-|x|)).
            bce += logit.max(0.0) - logit * target + (-logit.abs()).exp().ln_1p();
            let probability = 1.0 / (1.0 + (-logit).exp());
            grad[2 * r] = (0.5 * (probability - target) / counted) as f32;
            let diff = outputs[2 * r + 1] as f64 - soma[r] as f64;
            mse += diff * diff;
            grad[2 * r + 1] = (0.5 * 2.0 * diff / counted) as f32;
        }
    }
    (0.5 * bce / counted + 0.5 * mse / counted, grad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_hand_and_against_finite_differences() {
        // One sample, two steps, burn-in 1: only step 1 counts. Logit 0 vs spike 1: BCE = ln 2;
        // soma 3 vs 1: MSE = 4. Loss = 0.5 ln 2 + 2.
        let outputs = [9.0, 9.0, 0.0, 3.0];
        let (loss, grad) = neuronio_loss(&outputs, &[0.0, 1.0], &[0.0, 1.0], 1, 2, 1);
        assert!((loss - (0.5 * 2f64.ln() + 2.0)).abs() < 1e-12, "{loss}");
        assert_eq!(&grad[..2], &[0.0, 0.0]);
        // d/dx 0.5 BCE = 0.5 (sigmoid(0) - 1) = -0.25; d/dp 0.5 MSE = (3 - 1) = 2.
        assert_eq!(&grad[2..], &[-0.25, 2.0]);
        // Finite differences on a random case with no burn-in.
        let outputs = [0.3f32, -0.2, -1.1, 0.7, 2.0, 0.1, -0.4, 1.5];
        let (spike, soma) = ([1.0, 0.0, 1.0, 0.0], [0.5, 0.2, -0.3, 1.0]);
        let (_, grad) = neuronio_loss(&outputs, &spike, &soma, 2, 2, 0);
        for i in 0..outputs.len() {
            let h = 1e-3f32;
            let (mut plus, mut minus) = (outputs, outputs);
            plus[i] += h;
            minus[i] -= h;
            let numeric = (neuronio_loss(&plus, &spike, &soma, 2, 2, 0).0
                - neuronio_loss(&minus, &spike, &soma, 2, 2, 0).0)
                / (2.0 * h as f64);
            assert!((numeric - grad[i] as f64).abs() < 1e-4, "{i}: {numeric} vs {}", grad[i]);
        }
    }
}
