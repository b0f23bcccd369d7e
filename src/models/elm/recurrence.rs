//! The sequential part of the ELM: the d_m-sized memory recurrence through the MLP, step by
//! step. The input projection of layer 0 arrives precomputed for all steps (`q`), so each step
//! costs only the memory columns of layer 0 and the deeper layers.
//!
//! A rayon task steps a group of `GROUP` samples together: each weight row is loaded once per
//! step and applied to every sample of the group while it sits in L1 (one sample at a time would
//! stream all weights from L2 for each sample, and that bandwidth, not arithmetic, bounds the
//! step). Samples never mix, and groups are fixed, not sized by the thread count, so results do
//! not depend on the thread count. Per-sample partial sums are reduced in sample order.

use super::config::{ElmConfig, ElmVersion};
use super::Derived;
use crate::engine::group_matmul::{group_matmul, GroupProduct};
use crate::engine::kernels::transpose_into;
use crate::engine::kernels::{axpy, tanh, CUSTOM_TANH_SCALE, CUSTOM_TANH_SLOPE};
use crate::engine::BufferPool;
use rayon::prelude::*;

/// Samples stepped together by one task.
const GROUP: usize = 4;

/// One MLP layer: row-major weight (out, inp) and bias (out).
pub struct Layer<'a> {
    pub weight: &'a [f32],
    pub bias: &'a [f32],
    pub out: usize,
    pub inp: usize,
}

/// Everything the forward sweep records, laid out (batch, time, ...).
pub struct States {
    /// m_t, (B, T, d_m).
    pub memory: Vec<f32>,
    /// The MLP's memory input kappa_m * m_{t-1}, (B, T, d_m).
    pub memory_input: Vec<f32>,
    /// Pre-activations of every layer side by side, (B, T, width).
    pub pre: Vec<f32>,
    /// Hidden activations side by side, and tanh(2/3 z) for the last layer, (B, T, width).
    pub post: Vec<f32>,
}

impl States {
    pub fn recycle(&mut self, pool: &BufferPool) {
        for v in [&mut self.memory, &mut self.memory_input, &mut self.pre, &mut self.post] {
            pool.recycle(std::mem::take(v));
        }
    }
}

/// What the reverse sweep produces.
pub struct Sweep {
    /// d loss / d pre-activation of every layer, laid out like `States::pre`.
    pub delta: Vec<f32>,
    pub delta_width: usize,
    /// d loss / d kappa_m, summed over batch and time (zero unless tau_m is learned).
    pub kappa_m_grad: Vec<f32>,
    /// v2: d loss / d kappa_lambda.
    pub kappa_lambda_grad: Vec<f32>,
}

struct Shapes {
    num_branch: usize,
    dm: usize,
    width: usize,
    /// Offset of every layer in a `width` row.
    offsets: Vec<usize>,
}

fn shapes(config: &ElmConfig, layers: &[Layer]) -> Shapes {
    let mut offsets = Vec::with_capacity(layers.len());
    let mut width = 0;
    for layer in layers {
        offsets.push(width);
        width += layer.out;
    }
    Shapes { num_branch: config.num_branch(), dm: config.num_memory, width, offsets }
}

/// Layer weights transposed to (inp, out), so that a step multiplies rows by a matrix whose rows
/// are contiguous. For layer 0 only its memory columns: (d_m, out).
fn transposed(layers: &[Layer], s: &Shapes) -> Vec<Vec<f32>> {
    layers
        .iter()
        .enumerate()
        .map(|(l, layer)| {
            if l == 0 {
                let mut t = vec![0.0; s.dm * layer.out];
                for o in 0..layer.out {
                    for k in 0..s.dm {
                        t[k * layer.out + o] = layer.weight[o * layer.inp + s.num_branch + k];
                    }
                }
                t
            } else {
                let mut t = vec![0.0; layer.inp * layer.out];
                transpose_into(layer.weight, layer.out, layer.inp, &mut t);
                t
            }
        })
        .collect()
}

/// Every element of the state buffers is written, so they come from the pool unzeroed.
pub fn forward(
    config: &ElmConfig,
    layers: &[Layer],
    d: &Derived,
    q: &[f32],
    batch: usize,
    time: usize,
    pool: &BufferPool,
) -> States {
    let s = shapes(config, layers);
    let dm = s.dm;
    let width = s.width;
    let h0 = layers[0].out;
    let wt = transposed(layers, &s);
    let act = config.mlp_activation;
    let last = layers.len() - 1;
    let mut st = States {
        memory: pool.any(batch * time * dm),
        memory_input: pool.any(batch * time * dm),
        pre: pool.any(batch * time * width),
        post: pool.any(batch * time * width),
    };
    if time == 0 {
        return st;
    }
    st.memory
        .par_chunks_mut(GROUP * time * dm)
        .zip(st.memory_input.par_chunks_mut(GROUP * time * dm))
        .zip(st.pre.par_chunks_mut(GROUP * time * width))
        .zip(st.post.par_chunks_mut(GROUP * time * width))
        .zip(q.par_chunks(GROUP * time * h0))
        .for_each(|((((memory, memory_input), pre), post), q)| {
            crate::engine::isa::with_best_isa(
                #[inline(always)]
                || {
                    let n = memory.len() / (time * dm);
                    // Offsets of sample `i` at step `t` in the group's buffers.
                    let at_m = |i: usize, t: usize| (i * time + t) * dm;
                    let at_w = |i: usize, t: usize| (i * time + t) * width;
                    for t in 0..time {
                        for i in 0..n {
                            let v = &mut memory_input[at_m(i, t)..at_m(i, t) + dm];
                            if t == 0 {
                                v.fill(0.0);
                            } else {
                                let m_prev = &memory[at_m(i, t - 1)..at_m(i, t - 1) + dm];
                                v.iter_mut().zip(m_prev).zip(&d.kappa_m).for_each(|((v, m), k)| *v = k * m);
                            }
                        }
                        for (l, layer) in layers.iter().enumerate() {
                            let off = s.offsets[l];
                            for i in 0..n {
                                let z = &mut pre[at_w(i, t) + off..at_w(i, t) + off + layer.out];
                                z.copy_from_slice(layer.bias);
                                if l == 0 {
                                    axpy(1.0, &q[(i * time + t) * h0..(i * time + t + 1) * h0], z);
                                }
                            }
                            // Z (group x out) += input (group x inp) * W^T, on the group's rows at step t.
                            let (input, a_stride) = if l == 0 {
                                (&memory_input[at_m(0, t)..], time * dm)
                            } else {
                                (&post[at_w(0, t) + s.offsets[l - 1]..], time * width)
                            };
                            let k = if l == 0 { dm } else { layer.inp };
                            let product = GroupProduct {
                                rows: n,
                                k,
                                n: layer.out,
                                a_stride,
                                w_stride: layer.out,
                                out_stride: time * width,
                            };
                            group_matmul(product, input, &wt[l], &mut pre[at_w(0, t) + off..]);
                            for i in 0..n {
                                let span = at_w(i, t) + off..at_w(i, t) + off + layer.out;
                                if l == last {
                                    post[span.clone()]
                                        .iter_mut()
                                        .zip(&pre[span])
                                        .for_each(|(p, z)| *p = tanh(CUSTOM_TANH_SLOPE * z));
                                } else {
                                    act.apply_slice(&pre[span.clone()], &mut post[span]);
                                }
                            }
                        }
                        for i in 0..n {
                            let th = &post[at_w(i, t) + s.offsets[last]..at_w(i, t) + s.offsets[last] + dm];
                            let (before, current) = memory.split_at_mut(at_m(i, t));
                            let m = &mut current[..dm];
                            let drive = th.iter().zip(&d.update_gain).map(|(th, g)| g * (CUSTOM_TANH_SCALE * th));
                            if t == 0 {
                                m.iter_mut().zip(drive).for_each(|(m, u)| *m = u);
                            } else {
                                let m_prev = &before[at_m(i, t - 1)..at_m(i, t - 1) + dm];
                                m.iter_mut()
                                    .zip(drive)
                                    .zip(m_prev)
                                    .zip(&d.kappa_m)
                                    .for_each(|(((m, u), p), k)| *m = k * p + u);
                            }
                        }
                    }
                },
            )
        });
    st
}

/// The reverse sweep. `memory_grad` is d loss / d m_t from the readout, (B, T, d_m).
#[allow(clippy::too_many_arguments)]
pub fn backward(
    config: &ElmConfig,
    layers: &[Layer],
    d: &Derived,
    st: &States,
    memory_grad: &[f32],
    batch: usize,
    time: usize,
    pool: &BufferPool,
) -> Sweep {
    let s = shapes(config, layers);
    let (dm, width, nb) = (s.dm, s.width, s.num_branch);
    let act = config.mlp_activation;
    let last = layers.len() - 1;
    let learn_tau = config.learn_memory_tau;
    let lambda = config.lambda_value as f32;
    let max_inp = layers.iter().map(|l| l.inp).max().unwrap_or(0);
    // Every element of delta is written in the sweep.
    let mut delta = pool.any(batch * time * width);
    // Per-sample d/d kappa_m and d/d kappa_lambda, reduced in sample order afterwards.
    let mut kappa_parts = vec![0.0f32; batch * 2 * dm];
    if time > 0 {
        delta
            .par_chunks_mut(GROUP * time * width)
            .zip(kappa_parts.par_chunks_mut(GROUP * 2 * dm))
            .enumerate()
            .for_each(|(group, (delta, kappa_part))| {
                crate::engine::isa::with_best_isa(
                    #[inline(always)]
                    || {
                        let n = delta.len() / (time * width);
                        let first = group * GROUP;
                        let memory = &st.memory[first * time * dm..(first + n) * time * dm];
                        let pre = &st.pre[first * time * width..(first + n) * time * width];
                        let post = &st.post[first * time * width..(first + n) * time * width];
                        let m_grad = &memory_grad[first * time * dm..(first + n) * time * dm];
                        let at_m = |i: usize, t: usize| (i * time + t) * dm;
                        let at_w = |i: usize, t: usize| (i * time + t) * width;
                        // Per sample: the gradient carried to m_{t-1}, d loss / d m_t, and scratch.
                        let mut carry = vec![0.0f32; n * dm];
                        let mut gm = vec![0.0f32; n * dm];
                        let mut through_mlp = vec![0.0f32; n * dm];
                        let mut dpost = vec![0.0f32; n * max_inp];
                        let off_last = s.offsets[last];
                        for t in (0..time).rev() {
                            for i in 0..n {
                                // Zipped slices, not indices, so that the loop vectorises.
                                gm[i * dm..(i + 1) * dm]
                                    .iter_mut()
                                    .zip(&m_grad[at_m(i, t)..at_m(i, t) + dm])
                                    .zip(&carry[i * dm..(i + 1) * dm])
                                    .for_each(|((g, m), c)| *g = m + c);
                                // Through dm_t = 1.7159 tanh(2/3 z): d/dz = 1.7159 * 2/3 * (1 - tanh^2).
                                let base = at_w(i, t) + off_last;
                                let th = &post[base..base + dm];
                                delta[base..base + dm]
                                    .iter_mut()
                                    .zip(th)
                                    .zip(&gm[i * dm..(i + 1) * dm])
                                    .zip(&d.update_gain)
                                    .for_each(|(((delta, th), g), gain)| {
                                        *delta = g * gain * CUSTOM_TANH_SCALE * CUSTOM_TANH_SLOPE * (1.0 - th * th)
                                    });
                            }
                            // Down the hidden layers: delta_{l-1} = (W_l^T delta_l) * act'(z_{l-1}).
                            for l in (1..layers.len()).rev() {
                                let layer = &layers[l];
                                let (off, prev) = (s.offsets[l], s.offsets[l - 1]);
                                dpost.fill(0.0);
                                let product = GroupProduct {
                                    rows: n,
                                    k: layer.out,
                                    n: layer.inp,
                                    a_stride: time * width,
                                    w_stride: layer.inp,
                                    out_stride: max_inp,
                                };
                                group_matmul(product, &delta[at_w(0, t) + off..], layer.weight, &mut dpost);
                                for i in 0..n {
                                    let base = at_w(i, t) + prev;
                                    act.backward_slice(
                                        &pre[base..base + layer.inp],
                                        &dpost[i * max_inp..i * max_inp + layer.inp],
                                        &mut delta[base..base + layer.inp],
                                    );
                                }
                            }
                            // Layer 0's memory columns: d loss / d (kappa_m * m_{t-1}).
                            let layer0 = &layers[0];
                            through_mlp.fill(0.0);
                            let product = GroupProduct {
                                rows: n,
                                k: layer0.out,
                                n: dm,
                                a_stride: time * width,
                                w_stride: layer0.inp,
                                out_stride: dm,
                            };
                            group_matmul(product, &delta[at_w(0, t)..], &layer0.weight[nb..], &mut through_mlp);
                            for i in 0..n {
                                if learn_tau {
                                    let (dkm, dkl) = kappa_part[i * 2 * dm..(i + 1) * 2 * dm].split_at_mut(dm);
                                    let th = &post[at_w(i, t) + off_last..at_w(i, t) + off_last + dm];
                                    let g = &gm[i * dm..(i + 1) * dm];
                                    let through = &through_mlp[i * dm..(i + 1) * dm];
                                    // Slices zipped rather than indexed, so that the loops vectorise.
                                    // At t = 0, m_{-1} = 0: adding (g + through) * 0 as the
                                    // general form does keeps the bits of a NaN or infinity.
                                    let terms = dkm.iter_mut().zip(g).zip(through);
                                    match t.checked_sub(1) {
                                        Some(prev) => terms
                                            .zip(&memory[at_m(i, prev)..at_m(i, prev) + dm])
                                            .for_each(|(((d, g), through), m)| *d += (g + through) * m),
                                        None => terms.for_each(|((d, g), through)| *d += (g + through) * 0.0),
                                    }
                                    let (target, scale) = match config.version {
                                        ElmVersion::V1 => (dkm, lambda),
                                        ElmVersion::V2 => (dkl, 1.0),
                                    };
                                    target
                                        .iter_mut()
                                        .zip(g)
                                        .zip(th)
                                        .for_each(|((d, g), th)| *d -= g * scale * (CUSTOM_TANH_SCALE * th));
                                }
                                carry[i * dm..(i + 1) * dm]
                                    .iter_mut()
                                    .zip(&d.kappa_m)
                                    .zip(&gm[i * dm..(i + 1) * dm])
                                    .zip(&through_mlp[i * dm..(i + 1) * dm])
                                    .for_each(|(((c, k), g), through)| *c = k * (g + through));
                            }
                        }
                    },
                )
            });
    }
    let mut kappa_m_grad = vec![0.0; dm];
    let mut kappa_lambda_grad = vec![0.0; dm];
    for part in kappa_parts.chunks_exact(2 * dm) {
        axpy(1.0, &part[..dm], &mut kappa_m_grad);
        axpy(1.0, &part[dm..], &mut kappa_lambda_grad);
    }
    Sweep { delta, delta_width: width, kappa_m_grad, kappa_lambda_grad }
}
