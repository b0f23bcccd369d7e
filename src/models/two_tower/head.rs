//! The pair classifier: the two encodings u, v of a pair become the features [u, v, u * v, u - v]
//! (the interaction LRA's matching models use for Retrieval), then one hidden layer with ReLU,
//! then the class logits. A few hundred numbers per pair: plain loops and small GEMMs.

use crate::engine::kernels::add_column_sums;
use crate::engine::{gemm, MatMut, MatRef};

/// The head's weights: `w1` (hidden, 4 latent), `b1` (hidden), `w2` (classes, hidden), `b2` (classes).
pub struct HeadWeights<'a> {
    pub w1: &'a [f32],
    pub b1: &'a [f32],
    pub w2: &'a [f32],
    pub b2: &'a [f32],
    pub latent: usize,
    pub hidden: usize,
    pub classes: usize,
}

/// What the head's backward pass needs, (pairs, ...) row-major.
pub struct HeadPass {
    pub pairs: usize,
    /// [u, v, u * v, u - v] per pair.
    pub features: Vec<f32>,
    /// The hidden layer's pre-activations.
    pub pre: Vec<f32>,
    /// relu(pre).
    pub hidden: Vec<f32>,
    /// The logits.
    pub y: Vec<f32>,
}

/// Gradients of the head's weights, in the order w1, b1, w2, b2, and of the encodings.
pub struct HeadGradients {
    pub w1: Vec<f32>,
    pub b1: Vec<f32>,
    pub w2: Vec<f32>,
    pub b2: Vec<f32>,
    /// d loss / d encoding, (2 pairs, latent): the first documents' rows, then the second's.
    pub encodings: Vec<f32>,
}

/// `encodings` holds 2 * pairs rows of `latent` values: the first documents, then the second.
pub fn forward(w: &HeadWeights, encodings: &[f32], pairs: usize) -> HeadPass {
    let l = w.latent;
    debug_assert_eq!(encodings.len(), 2 * pairs * l);
    let (first, second) = encodings.split_at(pairs * l);
    let mut features = vec![0.0f32; pairs * 4 * l];
    for ((row, u), v) in features.chunks_exact_mut(4 * l).zip(first.chunks_exact(l)).zip(second.chunks_exact(l)) {
        let (uv, rest) = row.split_at_mut(2 * l);
        uv[..l].copy_from_slice(u);
        uv[l..].copy_from_slice(v);
        let (product, difference) = rest.split_at_mut(l);
        for k in 0..l {
            product[k] = u[k] * v[k];
            difference[k] = u[k] - v[k];
        }
    }
    let mut pre = bias_rows(w.b1, pairs);
    gemm(
        1.0,
        MatRef::new(&features, pairs, 4 * l),
        MatRef::new(w.w1, w.hidden, 4 * l).t(),
        1.0,
        MatMut::new(&mut pre, pairs, w.hidden),
    );
    let hidden: Vec<f32> = pre.iter().map(|z| z.max(0.0)).collect();
    let mut y = bias_rows(w.b2, pairs);
    gemm(
        1.0,
        MatRef::new(&hidden, pairs, w.hidden),
        MatRef::new(w.w2, w.classes, w.hidden).t(),
        1.0,
        MatMut::new(&mut y, pairs, w.classes),
    );
    HeadPass { pairs, features, pre, hidden, y }
}

/// Gradients of `sum(y * dy)`; `encodings` are the ones the forward pass saw.
pub fn backward(w: &HeadWeights, pass: &HeadPass, encodings: &[f32], dy: &[f32]) -> HeadGradients {
    let (pairs, l, h, c) = (pass.pairs, w.latent, w.hidden, w.classes);
    debug_assert_eq!(dy.len(), pairs * c);
    // Output layer: dW2 = dy^T hidden, db2 = column sums of dy, d hidden = dy W2.
    let mut w2 = vec![0.0f32; c * h];
    gemm(1.0, MatRef::new(dy, pairs, c).t(), MatRef::new(&pass.hidden, pairs, h), 0.0, MatMut::new(&mut w2, c, h));
    let mut b2 = vec![0.0f32; c];
    add_column_sums(dy, c, &mut b2);
    let mut delta = vec![0.0f32; pairs * h];
    gemm(1.0, MatRef::new(dy, pairs, c), MatRef::new(w.w2, c, h), 0.0, MatMut::new(&mut delta, pairs, h));
    // ReLU: the gradient passes where the pre-activation is positive (PyTorch's convention at 0).
    for (d, z) in delta.iter_mut().zip(&pass.pre) {
        if *z <= 0.0 {
            *d = 0.0;
        }
    }
    // Hidden layer: dW1 = delta^T features, db1 = column sums, d features = delta W1.
    let mut w1 = vec![0.0f32; h * 4 * l];
    gemm(
        1.0,
        MatRef::new(&delta, pairs, h).t(),
        MatRef::new(&pass.features, pairs, 4 * l),
        0.0,
        MatMut::new(&mut w1, h, 4 * l),
    );
    let mut b1 = vec![0.0f32; h];
    add_column_sums(&delta, h, &mut b1);
    let mut d_features = vec![0.0f32; pairs * 4 * l];
    gemm(
        1.0,
        MatRef::new(&delta, pairs, h),
        MatRef::new(w.w1, h, 4 * l),
        0.0,
        MatMut::new(&mut d_features, pairs, 4 * l),
    );
    // [u, v, u v, u - v] -> du = d0 + v d2 + d3, dv = d1 + u d2 - d3.
    let (first, second) = encodings.split_at(pairs * l);
    let mut d_encodings = vec![0.0f32; 2 * pairs * l];
    let (du_all, dv_all) = d_encodings.split_at_mut(pairs * l);
    for p in 0..pairs {
        let g = &d_features[p * 4 * l..(p + 1) * 4 * l];
        let (u, v) = (&first[p * l..(p + 1) * l], &second[p * l..(p + 1) * l]);
        let (du, dv) = (&mut du_all[p * l..(p + 1) * l], &mut dv_all[p * l..(p + 1) * l]);
        for k in 0..l {
            let (g_u, g_v, g_product, g_difference) = (g[k], g[l + k], g[2 * l + k], g[3 * l + k]);
            du[k] = g_u + v[k] * g_product + g_difference;
            dv[k] = g_v + u[k] * g_product - g_difference;
        }
    }
    HeadGradients { w1, b1, w2, b2, encodings: d_encodings }
}

/// `pairs` copies of `bias`, the start of an affine layer's output.
fn bias_rows(bias: &[f32], pairs: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(pairs * bias.len());
    for _ in 0..pairs {
        out.extend_from_slice(bias);
    }
    out
}
