//! `Y = X W^T (+ b)` over every (batch, time) row of a model's input, dense or sparse, and its
//! backward. Every model that starts with a linear map of its inputs (the LSTM's gates, the
//! LIF's synaptic current) shares it, so the sparse NeuronIO inputs cost only their non-zeros
//! everywhere. Dense inputs go through one large GEMM (DESIGN.md section 4).

use super::isa::with_best_isa;
use super::scaled_rows::add_scaled_rows;
use super::{gemm, Inputs, MatMut, MatRef, SparseSequences};
use rayon::prelude::*;

/// Rows per parallel block of the sparse forward product.
const ROW_BLOCK: usize = 256;
/// Features per parallel block of the sparse transposed product.
const FEATURE_BLOCK: usize = 64;

/// `y[rows, out] = x W^T + bias` with `W` row-major (out, features); `y` is overwritten.
pub fn forward(x: &Inputs, w: &[f32], bias: Option<&[f32]>, out: usize, y: &mut [f32]) {
    let (batch, time, features) = x.shape();
    let rows = batch * time;
    debug_assert_eq!(w.len(), out * features);
    debug_assert_eq!(y.len(), rows * out);
    match bias {
        Some(b) => y.chunks_exact_mut(out).for_each(|row| row.copy_from_slice(b)),
        None => y.fill(0.0),
    }
    match x {
        Inputs::Dense { data, .. } => gemm(
            1.0,
            MatRef::new(data, rows, features),
            MatRef::new(w, out, features).t(),
            1.0,
            MatMut::new(y, rows, out),
        ),
        Inputs::Sparse(s) => {
            // Column f of W is row f of W^T: contiguous, so a row is a sum of scaled rows. Rows are
            // independent, so fixed blocks of them run in parallel (same result on any thread count).
            with_scratch(out * features, |wt| {
                super::kernels::transpose_into(w, out, features, wt);
                let wt = &*wt;
                y.par_chunks_mut(ROW_BLOCK * out).enumerate().for_each(|(block, ys)| {
                    with_best_isa(
                        #[inline(always)]
                        || {
                            for (i, row) in ys.chunks_exact_mut(out).enumerate() {
                                add_scaled_rows(s.row(block * ROW_BLOCK + i), wt, out, row);
                            }
                        },
                    )
                });
            });
        }
    }
}

/// `dW += dy^T x` for `dy` of shape (rows, out); `dw` row-major (out, features).
pub fn weight_gradient(x: &Inputs, dy: &[f32], out: usize, dw: &mut [f32]) {
    let (batch, time, features) = x.shape();
    let rows = batch * time;
    debug_assert_eq!(dy.len(), rows * out);
    debug_assert_eq!(dw.len(), out * features);
    match x {
        Inputs::Dense { data, .. } => gemm(
            1.0,
            MatRef::new(dy, rows, out).t(),
            MatRef::new(data, rows, features),
            1.0,
            MatMut::new(dw, out, features),
        ),
        Inputs::Sparse(s) => {
            // dW^T = X^T dY input-major, then added in transposed: each element sums the rows in
            // order, so any thread count gives the same bits.
            with_scratch(features * out, |part| {
                sparse_transposed_product(s, dy, out, part);
                for (o, row) in dw.chunks_exact_mut(features.max(1)).enumerate() {
                    for (f, d) in row.iter_mut().enumerate() {
                        *d += part[f * out + o];
                    }
                }
            });
        }
    }
}

/// out (features, width) = X^T G for a sparse X and G (rows, width), input-major
/// (`SparseSequences::by_feature`): each output row sums its feature's rows in registers, in
/// ascending rows as a pass over the rows would, in parallel over fixed blocks of features (so
/// the bits do not depend on the thread count).
pub fn sparse_transposed_product(s: &SparseSequences, g: &[f32], width: usize, out: &mut [f32]) {
    debug_assert_eq!(out.len(), s.features * width);
    let by_feature = s.by_feature();
    out.par_chunks_mut(FEATURE_BLOCK * width.max(1)).enumerate().for_each(|(block, outs)| {
        with_best_isa(
            #[inline(always)]
            || {
                for (k, o) in outs.chunks_exact_mut(width.max(1)).enumerate() {
                    o.fill(0.0);
                    add_scaled_rows(by_feature.feature(block * FEATURE_BLOCK + k), g, width, o);
                }
            },
        )
    });
}

/// `dx = dy W`, (rows, features), dense whatever the input's form.
pub fn input_gradient(dy: &[f32], w: &[f32], rows: usize, out: usize, features: usize) -> Vec<f32> {
    let mut dx = vec![0.0; rows * features];
    gemm(1.0, MatRef::new(dy, rows, out), MatRef::new(w, out, features), 0.0, MatMut::new(&mut dx, rows, features));
    dx
}

thread_local! {
    /// A calling thread's buffer for the transposed weights and the transposed gradient: a
    /// megabyte each for the LSTM's 1278 x 200 input weights, which allocated afresh took new
    /// pages from the kernel at every call (~3% of an LSTM step in page faults once batches are
    /// computed in sample groups, `models::sample_groups`, which call these once per group).
    static SCRATCH: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// `work` on `len` floats of this thread's scratch (contents unspecified: `work` overwrites them).
/// A nested call gets a fresh buffer rather than the one in use.
fn with_scratch<R>(len: usize, work: impl FnOnce(&mut [f32]) -> R) -> R {
    let mut buffer = SCRATCH.with(|s| s.take());
    buffer.resize(len, 0.0);
    let result = work(&mut buffer[..len]);
    SCRATCH.with(|s| s.replace(buffer));
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::SparseSequences;

    /// Dense and sparse paths against a hand-written triple loop.
    #[test]
    fn dense_and_sparse_paths_equal_the_definition() {
        let (batch, time, features, out) = (2, 3, 5, 4);
        let x: Vec<f32> =
            (0..batch * time * features).map(|i| if i % 3 == 0 { (i % 7) as f32 - 3.0 } else { 0.0 }).collect();
        let w: Vec<f32> = (0..out * features).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..out).map(|i| i as f32 * 0.1).collect();
        let dy: Vec<f32> = (0..batch * time * out).map(|i| (i as f32 * 0.21).cos()).collect();
        let rows = batch * time;
        let mut expect_y = vec![0.0f32; rows * out];
        let mut expect_dw = vec![0.0f32; out * features];
        for r in 0..rows {
            for o in 0..out {
                expect_y[r * out + o] =
                    b[o] + (0..features).map(|f| x[r * features + f] * w[o * features + f]).sum::<f32>();
                for f in 0..features {
                    expect_dw[o * features + f] += dy[r * out + o] * x[r * features + f];
                }
            }
        }
        let sparse = SparseSequences::from_dense(&x, batch, time, features);
        for input in [Inputs::dense(&x, batch, time, features).unwrap(), Inputs::Sparse(&sparse)] {
            let mut y = vec![f32::NAN; rows * out];
            forward(&input, &w, Some(&b), out, &mut y);
            let mut dw = vec![0.0; out * features];
            weight_gradient(&input, &dy, out, &mut dw);
            for (a, e) in y.iter().zip(&expect_y).chain(dw.iter().zip(&expect_dw)) {
                assert!((a - e).abs() < 1e-5, "{a} vs {e}");
            }
        }
    }

    /// The parallel sparse paths give the same bits on 1 and 3 threads.
    #[test]
    fn sparse_paths_do_not_depend_on_the_thread_count() {
        let (batch, time, features, out) = (3, 200, 40, 70);
        let x: Vec<f32> =
            (0..batch * time * features).map(|i| if i % 17 == 0 { (i % 5) as f32 - 2.0 } else { 0.0 }).collect();
        let w: Vec<f32> = (0..out * features).map(|i| (i as f32 * 0.13).sin()).collect();
        let dy: Vec<f32> = (0..batch * time * out).map(|i| (i as f32 * 0.07).cos()).collect();
        let sparse = SparseSequences::from_dense(&x, batch, time, features);
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| {
                let mut y = vec![0.0; batch * time * out];
                forward(&Inputs::Sparse(&sparse), &w, None, out, &mut y);
                let mut dw = vec![0.0; out * features];
                weight_gradient(&Inputs::Sparse(&sparse), &dy, out, &mut dw);
                (y, dw)
            })
        };
        assert_eq!(run(1), run(3));
    }
}
