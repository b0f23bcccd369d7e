//! The time part of a causal dilated convolution, split from its channel part.
//!
//! A convolution with K taps maps h (rows = (batch, time), C_in) to
//! `pre[b, t] = bias + sum_k W_k h[b, t - lag_k]` (zero where t - lag_k < 0, i.e. causal zero
//! padding). elmbench computes it as one product for all rows and all taps at once,
//! `Z = h W_all^T` with `W_all` the (K * C_out, C_in) stack of the W_k, followed by a shifted sum
//! of Z's K column blocks (`shift_add`). This is im2col transposed: the same multiply-adds in one
//! GEMM per layer over every (batch, time) row, but the shift happens on the product instead of
//! on a K-fold copy of the input. That is what lets the first layer keep NeuronIO's sparse input
//! (`engine::input_linear` forms Z from the non-zeros only; an im2col matrix of the 1278-wide input
//! would be K times the dense input). The backward pass mirrors it: dZ is dPre shifted the other
//! way (`shift_gather`), then dW_all = dZ^T h and dh = dZ W_all are one GEMM each.
//!
//! Samples are independent, so both run in parallel over the batch; each output element is
//! written by one thread in a fixed order, so results do not depend on the thread count.

use super::config::ConvShape;
use crate::engine::kernels::axpy;
use rayon::prelude::*;

/// `pre[b, t, :] += sum_k z[b, t - lag_k, k, :]` over the taps that reach back no further than
/// the sample's first step. `z` is (rows, K * C_out), `pre` (rows, C_out).
pub fn shift_add(shape: &ConvShape, z: &[f32], pre: &mut [f32], time: usize) {
    let (c, kc) = (shape.outputs, shape.kernel * shape.outputs);
    if time == 0 || c == 0 {
        return;
    }
    pre.par_chunks_mut(time * c).zip(z.par_chunks(time * kc)).for_each(|(pre, z)| {
        for (t, out) in pre.chunks_exact_mut(c).enumerate() {
            for k in 0..shape.kernel {
                let lag = shape.lag(k);
                if lag <= t {
                    let src = (t - lag) * kc + k * c;
                    axpy(1.0, &z[src..src + c], out);
                }
            }
        }
    });
}

/// The adjoint of `shift_add`: `dz[b, s, k, :] = dpre[b, s + lag_k, :]`, zero where
/// s + lag_k is past the sample's last step. Every element of `dz` is written.
pub fn shift_gather(shape: &ConvShape, dpre: &[f32], dz: &mut [f32], time: usize) {
    let (c, kc) = (shape.outputs, shape.kernel * shape.outputs);
    if time == 0 || c == 0 {
        return;
    }
    dz.par_chunks_mut(time * kc).zip(dpre.par_chunks(time * c)).for_each(|(dz, dpre)| {
        for (s, row) in dz.chunks_exact_mut(kc).enumerate() {
            for (k, block) in row.chunks_exact_mut(c).enumerate() {
                let t = s + shape.lag(k);
                if t < time {
                    block.copy_from_slice(&dpre[t * c..(t + 1) * c]);
                } else {
                    block.fill(0.0);
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// shift_gather is the transpose of shift_add: <shift_add(z), p> = <z, shift_gather(p)>.
    #[test]
    fn gather_is_the_adjoint_of_add() {
        let shape = ConvShape { inputs: 1, outputs: 2, kernel: 3, dilation: 2 };
        let (batch, time) = (2, 7);
        let z: Vec<f32> = (0..batch * time * 6).map(|i| ((i * 7) % 11) as f32 - 5.0).collect();
        let p: Vec<f32> = (0..batch * time * 2).map(|i| ((i * 5) % 13) as f32 - 6.0).collect();
        let mut added = vec![0.0; batch * time * 2];
        shift_add(&shape, &z, &mut added, time);
        let mut gathered = vec![f32::NAN; batch * time * 6];
        shift_gather(&shape, &p, &mut gathered, time);
        let lhs: f32 = added.iter().zip(&p).map(|(a, b)| a * b).sum();
        let rhs: f32 = z.iter().zip(&gathered).map(|(a, b)| a * b).sum();
        assert_eq!(lhs, rhs);
        // By hand: sample 0, step 4, channel 0 sums tap 0 at lag 4 (step 0), tap 1 at lag 2
        // (step 2) and tap 2 at lag 0 (step 4).
        let expected = z[0] + z[2 * 6 + 2] + z[4 * 6 + 4];
        assert_eq!(added[4 * 2], expected);
    }
}
