//! The sequential part of the ELM: the d_m-sized memory recurrence through the MLP, step by
//! step, one sample per rayon task. The input projection of layer 0 arrives precomputed for all
//! steps (`q`), so each step costs only the memory columns of layer 0 and the deeper layers.
//!
//! Samples are independent, so parallelising over them changes no arithmetic: results do not
//! depend on the thread count. Per-sample partial sums are reduced in sample order.

use super::config::{ElmConfig, ElmVersion};
use super::Derived;
use crate::engine::kernels::{
    add_rows_scaled, axpy, transpose_into, CUSTOM_TANH_SCALE, CUSTOM_TANH_SLOPE,
};
use rayon::prelude::*;

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
    Shapes {
        num_branch: config.num_branch(),
        dm: config.num_memory,
        width,
        offsets,
    }
}

/// Layer weights transposed to (inp, out), so that a step is a sum of scaled rows. For layer 0
/// only its memory columns: (d_m, out).
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

pub fn forward(
    config: &ElmConfig,
    layers: &[Layer],
    d: &Derived,
    q: &[f32],
    batch: usize,
    time: usize,
) -> States {
    let s = shapes(config, layers);
    let (dm, width) = (s.dm, s.width);
    let h0 = layers[0].out;
    let act = config.mlp_activation;
    let last = layers.len() - 1;
    let wt = transposed(layers, &s);
    let mut st = States {
        memory: vec![0.0; batch * time * dm],
        memory_input: vec![0.0; batch * time * dm],
        pre: vec![0.0; batch * time * width],
        post: vec![0.0; batch * time * width],
    };
    if time == 0 {
        return st;
    }
    st.memory
        .par_chunks_mut(time * dm)
        .zip(st.memory_input.par_chunks_mut(time * dm))
        .zip(st.pre.par_chunks_mut(time * width))
        .zip(st.post.par_chunks_mut(time * width))
        .zip(q.par_chunks(time * h0))
        .for_each(|((((memory, memory_input), pre), post), q)| {
            let mut m_prev = vec![0.0f32; dm];
            for t in 0..time {
                let v = &mut memory_input[t * dm..(t + 1) * dm];
                for k in 0..dm {
                    v[k] = d.kappa_m[k] * m_prev[k];
                }
                let pre_t = &mut pre[t * width..(t + 1) * width];
                let post_t = &mut post[t * width..(t + 1) * width];
                for (l, layer) in layers.iter().enumerate() {
                    let off = s.offsets[l];
                    let z = &mut pre_t[off..off + layer.out];
                    z.copy_from_slice(layer.bias);
                    if l == 0 {
                        axpy(1.0, &q[t * h0..(t + 1) * h0], z);
                        add_rows_scaled(v, &wt[0], z);
                    } else {
                        let prev = s.offsets[l - 1];
                        add_rows_scaled(&post_t[prev..prev + layer.inp], &wt[l], z);
                    }
                    let a = &mut post_t[off..off + layer.out];
                    if l == last {
                        for (a, z) in a.iter_mut().zip(z.iter()) {
                            *a = (CUSTOM_TANH_SLOPE * z).tanh();
                        }
                    } else {
                        for (a, z) in a.iter_mut().zip(z.iter()) {
                            *a = act.apply(*z);
                        }
                    }
                }
                let th = &post_t[s.offsets[last]..];
                let m = &mut memory[t * dm..(t + 1) * dm];
                for k in 0..dm {
                    m[k] =
                        d.kappa_m[k] * m_prev[k] + d.update_gain[k] * (CUSTOM_TANH_SCALE * th[k]);
                }
                m_prev.copy_from_slice(m);
            }
        });
    st
}

/// The reverse sweep. `memory_grad` is d loss / d m_t from the readout, (B, T, d_m).
pub fn backward(
    config: &ElmConfig,
    layers: &[Layer],
    d: &Derived,
    st: &States,
    memory_grad: &[f32],
    batch: usize,
    time: usize,
) -> Sweep {
    let s = shapes(config, layers);
    let (dm, width, nb) = (s.dm, s.width, s.num_branch);
    let act = config.mlp_activation;
    let last = layers.len() - 1;
    let learn_tau = config.learn_memory_tau;
    let lambda = config.lambda_value as f32;
    let max_inp = layers.iter().map(|l| l.inp).max().unwrap_or(0);
    let mut delta = vec![0.0; batch * time * width];
    // Per-sample d/d kappa_m and d/d kappa_lambda, reduced in sample order afterwards.
    let mut kappa_parts = vec![0.0f32; batch * 2 * dm];
    if time > 0 {
        delta
            .par_chunks_mut(time * width)
            .zip(kappa_parts.par_chunks_mut(2 * dm))
            .enumerate()
            .for_each(|(b, (delta, kappa_part))| {
                let memory = &st.memory[b * time * dm..(b + 1) * time * dm];
                let pre = &st.pre[b * time * width..(b + 1) * time * width];
                let post = &st.post[b * time * width..(b + 1) * time * width];
                let m_grad = &memory_grad[b * time * dm..(b + 1) * time * dm];
                let (dkm, dkl) = kappa_part.split_at_mut(dm);
                let mut carry = vec![0.0f32; dm];
                let mut gm = vec![0.0f32; dm];
                let mut through_mlp = vec![0.0f32; dm];
                let mut dpost = vec![0.0f32; max_inp];
                for t in (0..time).rev() {
                    let pre_t = &pre[t * width..(t + 1) * width];
                    let post_t = &post[t * width..(t + 1) * width];
                    let delta_t = &mut delta[t * width..(t + 1) * width];
                    for k in 0..dm {
                        gm[k] = m_grad[t * dm + k] + carry[k];
                    }
                    // Through dm_t = 1.7159 tanh(2/3 z): d/dz = 1.7159 * 2/3 * (1 - tanh^2).
                    let off_last = s.offsets[last];
                    let th = &post_t[off_last..off_last + dm];
                    for k in 0..dm {
                        delta_t[off_last + k] = gm[k]
                            * d.update_gain[k]
                            * CUSTOM_TANH_SCALE
                            * CUSTOM_TANH_SLOPE
                            * (1.0 - th[k] * th[k]);
                    }
                    // Down the hidden layers: delta_{l-1} = (W_l^T delta_l) * act'(z_{l-1}).
                    for l in (1..layers.len()).rev() {
                        let layer = &layers[l];
                        let (off, prev) = (s.offsets[l], s.offsets[l - 1]);
                        let dp = &mut dpost[..layer.inp];
                        dp.fill(0.0);
                        add_rows_scaled(&delta_t[off..off + layer.out], layer.weight, dp);
                        for (i, g) in dp.iter().enumerate() {
                            delta_t[prev + i] = g * act.derivative(pre_t[prev + i]);
                        }
                    }
                    // Layer 0's memory columns: d loss / d (kappa_m * m_{t-1}).
                    through_mlp.fill(0.0);
                    let layer0 = &layers[0];
                    for o in 0..layer0.out {
                        let g = delta_t[o];
                        if g != 0.0 {
                            axpy(
                                g,
                                &layer0.weight[o * layer0.inp + nb..o * layer0.inp + nb + dm],
                                &mut through_mlp,
                            );
                        }
                    }
                    if learn_tau {
                        let th = &post_t[off_last..off_last + dm];
                        for k in 0..dm {
                            let m_prev = if t > 0 { memory[(t - 1) * dm + k] } else { 0.0 };
                            let update = CUSTOM_TANH_SCALE * th[k];
                            dkm[k] += (gm[k] + through_mlp[k]) * m_prev;
                            match config.version {
                                ElmVersion::V1 => dkm[k] -= gm[k] * lambda * update,
                                ElmVersion::V2 => dkl[k] -= gm[k] * update,
                            }
                        }
                    }
                    for k in 0..dm {
                        carry[k] = d.kappa_m[k] * (gm[k] + through_mlp[k]);
                    }
                }
            });
    }
    let mut kappa_m_grad = vec![0.0; dm];
    let mut kappa_lambda_grad = vec![0.0; dm];
    for part in kappa_parts.chunks_exact(2 * dm) {
        axpy(1.0, &part[..dm], &mut kappa_m_grad);
        axpy(1.0, &part[dm..], &mut kappa_lambda_grad);
    }
    Sweep {
        delta,
        delta_width: width,
        kappa_m_grad,
        kappa_lambda_grad,
    }
}
