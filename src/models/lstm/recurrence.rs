//! The sequential part of the LSTM: per step, h_{t-1} W_hh^T added into the precomputed input
//! projection as a small GEMM over a group of samples, then the elementwise cell (`cell`); and
//! the reverse sweep, which hands dz_t W_hh back to h_{t-1} the same way. In training with
//! recurrent dropout the product reads (m * h_{t-1}) instead, formed per step in a scratch buffer
//! of the group, and the reverse sweep multiplies dz_t W_hh by the same mask.
//!
//! All buffers are laid out (batch, time, ...), so step t of a group of samples is a strided
//! matrix view (row stride time * width) and the product reads and writes the buffers in place:
//! no copies (but the masked state under dropout) and no allocation inside the time loop. The
//! product is `group_matmul`, which streams the weights from cache with no packing: the general
//! GEMM it replaced repacked W_hh at every step (the switch made the NeuronIO step about 9%
//! faster). A rayon task steps a fixed group of `GROUP` samples: groups never depend on the
//! thread count, so neither do the results.

use super::{cell, recurrent_dropout};
use crate::engine::group_matmul::{group_matmul, GroupProduct};
use crate::engine::isa::with_best_isa;
use crate::engine::BufferPool;
use rayon::prelude::*;

/// Samples stepped together by one task: few enough that a NeuronIO batch of 8 keeps two cores
/// busy, enough that each step's GEMM reuses every loaded weight row several times.
const GROUP: usize = 4;

/// What the forward sweep records for the backward sweep, each (batch, time, width).
pub struct States {
    /// The gate activations i, f, g, o side by side, width 4H.
    pub gates: Vec<f32>,
    /// c_t, width H.
    pub cell: Vec<f32>,
    /// tanh(c_t), width H.
    pub tanh_cell: Vec<f32>,
    /// h_t, width H.
    pub hidden: Vec<f32>,
}

impl States {
    pub fn recycle(&mut self, pool: &BufferPool) {
        for v in [&mut self.gates, &mut self.cell, &mut self.tanh_cell, &mut self.hidden] {
            pool.recycle(std::mem::take(v));
        }
    }
}

/// The mask rows of the samples of group `g` (of `n` samples), if there is a mask.
fn group_mask(mask: Option<&[f32]>, g: usize, n: usize, hs: usize) -> Option<&[f32]> {
    mask.map(|m| &m[g * GROUP * hs..(g * GROUP + n) * hs])
}

/// Runs the recurrence. `gates` holds the input projection (with the biases) for every
/// (sample, step) and leaves holding the gate activations. `w_hh_t` is W_hh transposed, (H, 4H)
/// row-major, so that the step's right-hand side has contiguous rows. `mask` is the recurrent
/// dropout mask, (batch, H), in training.
#[allow(clippy::too_many_arguments)]
pub fn forward(
    gates: Vec<f32>,
    w_hh_t: &[f32],
    hidden_size: usize,
    batch: usize,
    time: usize,
    mask: Option<&[f32]>,
    pool: &BufferPool,
) -> States {
    let hs = hidden_size;
    let mut st = States {
        gates,
        cell: pool.any(batch * time * hs),
        tanh_cell: pool.any(batch * time * hs),
        hidden: pool.any(batch * time * hs),
    };
    if batch == 0 || time == 0 {
        return st;
    }
    st.gates
        .par_chunks_mut(GROUP * time * 4 * hs)
        .zip(st.cell.par_chunks_mut(GROUP * time * hs))
        .zip(st.tanh_cell.par_chunks_mut(GROUP * time * hs))
        .zip(st.hidden.par_chunks_mut(GROUP * time * hs))
        .enumerate()
        .for_each(|(g, (((gates, cell), tanh_cell), hidden))| {
            with_best_isa(
                #[inline(always)]
                || {
                    let n = cell.len() / (time * hs);
                    let mask = group_mask(mask, g, n, hs);
                    // The masked recurrent input of the step, (n, H); allocated once per group.
                    let mut dropped = mask.map(|_| pool.any(n * hs));
                    for t in 0..time {
                        if t > 0 {
                            // z_t += h_{t-1} W_hh^T for the group's n samples at once.
                            let z = &mut gates[t * 4 * hs..];
                            let product = |a_stride| GroupProduct {
                                rows: n,
                                k: hs,
                                n: 4 * hs,
                                a_stride,
                                w_stride: 4 * hs,
                                out_stride: time * 4 * hs,
                            };
                            match (mask, dropped.as_mut()) {
                                (Some(mask), Some(dropped)) => {
                                    for i in 0..n {
                                        let h_prev = &hidden[(i * time + t - 1) * hs..(i * time + t) * hs];
                                        let rows = i * hs..(i + 1) * hs;
                                        recurrent_dropout::apply(&mask[rows.clone()], h_prev, &mut dropped[rows]);
                                    }
                                    group_matmul(product(hs), dropped, w_hh_t, z);
                                }
                                _ => group_matmul(product(time * hs), &hidden[(t - 1) * hs..], w_hh_t, z),
                            }
                        }
                        for i in 0..n {
                            let row = i * time + t;
                            let (before, now) = cell.split_at_mut(row * hs);
                            let c_prev = (t > 0).then(|| &before[(row - 1) * hs..]);
                            cell::forward(
                                &mut gates[row * 4 * hs..(row + 1) * 4 * hs],
                                c_prev,
                                &mut now[..hs],
                                &mut tanh_cell[row * hs..(row + 1) * hs],
                                &mut hidden[row * hs..(row + 1) * hs],
                            );
                        }
                    }
                    if let Some(dropped) = dropped {
                        pool.recycle(dropped);
                    }
                },
            )
        });
    st
}

/// The reverse sweep. `dh` holds the readout's gradient of every h_t on entry and the full
/// gradient (readout plus later steps) on exit; `dz` receives the gradient of every gate
/// pre-activation, (batch, time, 4H). `w_hh` is W_hh as stored, (4H, H); `mask` the forward
/// pass's recurrent dropout mask.
#[allow(clippy::too_many_arguments)]
pub fn backward(
    st: &States,
    w_hh: &[f32],
    hidden_size: usize,
    batch: usize,
    time: usize,
    mask: Option<&[f32]>,
    dh: &mut [f32],
    dz: &mut [f32],
    pool: &BufferPool,
) {
    let hs = hidden_size;
    if batch == 0 || time == 0 {
        return;
    }
    // The gradient of c_t carried backwards, per sample; zero after the last step.
    let mut dc = pool.zeros(batch * hs);
    dz.par_chunks_mut(GROUP * time * 4 * hs)
        .zip(dh.par_chunks_mut(GROUP * time * hs))
        .zip(dc.par_chunks_mut(GROUP * hs))
        .zip(st.gates.par_chunks(GROUP * time * 4 * hs))
        .zip(st.cell.par_chunks(GROUP * time * hs))
        .zip(st.tanh_cell.par_chunks(GROUP * time * hs))
        .enumerate()
        .for_each(|(g, (((((dz, dh), dc), gates), cell), tanh_cell))| {
            with_best_isa(
                #[inline(always)]
                || {
                    let n = dc.len() / hs;
                    let mask = group_mask(mask, g, n, hs);
                    // dz_t W_hh before the mask, (n, H); allocated once per group.
                    let mut unmasked = mask.map(|_| pool.any(n * hs));
                    for t in (0..time).rev() {
                        for i in 0..n {
                            let row = i * time + t;
                            let c_prev = (t > 0).then(|| &cell[(row - 1) * hs..row * hs]);
                            cell::backward(
                                &gates[row * 4 * hs..(row + 1) * 4 * hs],
                                c_prev,
                                &tanh_cell[row * hs..(row + 1) * hs],
                                &dh[row * hs..(row + 1) * hs],
                                &mut dc[i * hs..(i + 1) * hs],
                                &mut dz[row * 4 * hs..(row + 1) * 4 * hs],
                            );
                        }
                        if t > 0 {
                            // dh_{t-1} += dz_t W_hh (times the mask) for the group's n samples at once.
                            let dz_t = &dz[t * 4 * hs..];
                            let product = |out_stride| GroupProduct {
                                rows: n,
                                k: 4 * hs,
                                n: hs,
                                a_stride: time * 4 * hs,
                                w_stride: hs,
                                out_stride,
                            };
                            match (mask, unmasked.as_mut()) {
                                (Some(mask), Some(unmasked)) => {
                                    unmasked.fill(0.0);
                                    group_matmul(product(hs), dz_t, w_hh, unmasked);
                                    for i in 0..n {
                                        let dh_prev = &mut dh[(i * time + t - 1) * hs..(i * time + t) * hs];
                                        let rows = i * hs..(i + 1) * hs;
                                        for ((d, m), u) in
                                            dh_prev.iter_mut().zip(&mask[rows.clone()]).zip(&unmasked[rows])
                                        {
                                            *d += m * u;
                                        }
                                    }
                                }
                                _ => group_matmul(product(time * hs), dz_t, w_hh, &mut dh[(t - 1) * hs..]),
                            }
                        }
                    }
                    if let Some(unmasked) = unmasked {
                        pool.recycle(unmasked);
                    }
                },
            )
        });
    pool.recycle(dc);
}
