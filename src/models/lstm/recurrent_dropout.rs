//! Variational recurrent dropout (Gal & Ghahramani 2016, "A Theoretically Grounded Application of
//! Dropout in Recurrent Neural Networks"), the regulariser of the paper's SHD LSTM ("recurrent
//! dropout of 0.3", appendix B).
//!
//! In training, every sample draws one mask over the hidden units, m_k ~ Bernoulli(1 - p) / (1 - p)
//! (inverted dropout: 0 or 1/(1-p), so the expected recurrent input is unchanged and evaluation
//! needs no rescaling), and keeps it for the whole sequence. The mask multiplies h_{t-1} where it
//! enters the recurrent projection, z_t = W_ih x_t + W_hh (m * h_{t-1}) + b, and nowhere else:
//! h_t itself still reaches the readout whole, and the cell state c_t is never masked. Evaluation
//! (`Lstm::forward`) uses no mask.
//!
//! What the libraries do, checked in their sources:
//! - Keras (`recurrent_dropout`): masks are drawn once per batch and reused at every step
//!   (`DropoutRNNCell`), applied to h_{t-1} before the recurrent kernel only, scaled by 1/(1-p).
//!   tf.keras 2's default fused cell (`implementation=2`) multiplies h_{t-1} by one mask before the
//!   one (H, 4H) product; its `implementation=1`, which Keras 3 always uses when
//!   `recurrent_dropout > 0`, draws four masks, one per gate (Gal & Ghahramani's "untied" variant).
//! - Flax's cells (`linen.LSTMCell`, `OptimizedLSTMCell`) have no dropout of their own; variational
//!   dropout there is an `nn.Dropout` with `broadcast_dims` over time that the user places, usually
//!   on a layer's inputs or outputs rather than inside the recurrence.
//! - PyTorch's `nn.LSTM(dropout=...)` drops between stacked layers only.
//!
//! elmbench uses one mask shared by the four gates (the "tied" variant, tf.keras 2's default):
//! it keeps the recurrent step one GEMM on the masked state, and the paper does not say which of
//! the two its LSTM used.
//!
//! The mask of sample b is drawn from `Rng::derive(seed, b)`: it depends on the seed and the
//! sample's place in the batch only, never on the thread count, so a resumed run that passes the
//! same seed for the same optimizer step draws the same masks.

use crate::engine::{BufferPool, Rng};

/// The masks of a batch, (batch, hidden) row-major: 0 for a dropped unit, 1/(1-p) for a kept one.
pub fn masks(p: f64, seed: u64, batch: usize, hidden: usize, pool: &BufferPool) -> Vec<f32> {
    let kept = (1.0 / (1.0 - p)) as f32;
    let mut mask = pool.any(batch * hidden);
    for (b, row) in mask.chunks_exact_mut(hidden).enumerate() {
        let mut rng = Rng::derive(seed, b as u64);
        for m in row {
            *m = if rng.uniform_f64() < p { 0.0 } else { kept };
        }
    }
    mask
}

/// `out = mask * h`, elementwise: the recurrent input of one sample and step.
#[inline]
pub fn apply(mask: &[f32], h: &[f32], out: &mut [f32]) {
    for ((o, m), v) in out.iter_mut().zip(mask).zip(h) {
        *o = m * v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_the_expected_fraction_scaled() {
        let pool = BufferPool::default();
        let mask = masks(0.3, 5, 40, 250, &pool);
        let kept = mask.iter().filter(|&&m| m != 0.0).count() as f64 / mask.len() as f64;
        assert!((kept - 0.7).abs() < 0.02, "kept {kept}");
        assert!(mask.iter().all(|&m| m == 0.0 || m == (1.0 / 0.7f64) as f32));
        // A sample's mask does not depend on the batch around it.
        assert_eq!(masks(0.3, 5, 3, 250, &pool)[..750], mask[..750]);
        assert_ne!(masks(0.3, 6, 3, 250, &pool)[..750], mask[..750]);
    }
}
