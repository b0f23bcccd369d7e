//! A single-layer LSTM with a linear readout at every step, the paper's baseline (`lstm`), and the
//! same network with chrono initialisation (`chrono-lstm`, Tallec & Ollivier 2018). Per sample:
//!
//! ```text
//! z_t = W_ih x_t + W_hh h_{t-1} + b          (b = bias_ih + bias_hh in the two-bias mode)
//! (i, f, g, o) = (sigmoid, sigmoid, tanh, sigmoid)(z_t)     gate order as in torch.nn.LSTM
//! c_t = f c_{t-1} + i g,   h_t = o tanh(c_t),   h_{-1} = c_{-1} = 0
//! y_t = W_y h_t + b_y
//! ```
//!
//! The work splits as in the ELM: W_ih x_t + b does not depend on the state, so it is computed for
//! every (sample, step) at once (one GEMM for dense inputs, only the non-zeros for sparse ones,
//! `engine::input_linear`); only h_{t-1} W_hh^T and the cell run step by step (`recurrence`,
//! `cell`). The readout and, in the backward pass, every weight gradient are GEMMs over all
//! (sample, step) rows after the sweep.
//!
//! Training may drop hidden units from the recurrent input (`recurrent_dropout`, variational:
//! W_hh (m * h_{t-1}) with one mask m per sample for the whole sequence; `recurrent_dropout`
//! module), through `Lstm::forward_train`; `Lstm::forward` is the evaluation pass, without it.

mod cell;
pub mod config;
#[cfg(test)]
mod cuda_twin;
pub mod device;
mod init;
mod recurrence;
mod recurrent_dropout;
mod sequence_model;

pub use config::{LstmConfig, LstmInit};

use crate::engine::kernels::{add_column_sums, transpose_into};
use crate::engine::{gemm, input_linear, BufferPool, Inputs, MatMut, MatRef, ParamSet, Tensor};
use crate::models::{check_backward, check_features};
use anyhow::Result;
use init::ParamIds;

#[derive(Clone, Debug)]
pub struct Lstm {
    pub config: LstmConfig,
    /// How the model was initialised; `Chrono` makes it report itself as `chrono-lstm`.
    pub init: LstmInit,
    pub params: ParamSet,
    ids: ParamIds,
    /// Activation buffers, reused from pass to pass (clones share it).
    pool: BufferPool,
}

/// Gradients of a scalar loss, aligned with `Lstm::params`, and the input gradient when it was
/// asked for, (batch, time, num_input).
pub struct LstmGradients {
    pub params: Vec<Tensor>,
    pub x: Option<Vec<f32>>,
}

/// What the forward pass keeps for the backward pass. Its buffers go back to the model's pool
/// when it is dropped.
pub struct LstmForward {
    /// Outputs, (batch, time, num_output).
    pub y: Vec<f32>,
    batch: usize,
    time: usize,
    states: recurrence::States,
    /// The recurrent dropout mask of a training pass, (batch, H).
    mask: Option<Vec<f32>>,
    pool: BufferPool,
}

impl Drop for LstmForward {
    fn drop(&mut self) {
        self.pool.recycle(std::mem::take(&mut self.y));
        self.states.recycle(&self.pool);
        if let Some(mask) = self.mask.take() {
            self.pool.recycle(mask);
        }
    }
}

impl Lstm {
    /// A freshly initialised model (`chrono`: the chrono-lstm's initialisation, which needs
    /// `chrono_t_max`).
    pub fn new(config: LstmConfig, chrono: bool, seed: u64) -> Result<Self> {
        let init = config.init(chrono)?;
        let (params, ids) = init::initial_params(&config, init, seed);
        Ok(Self { config, init, params, ids, pool: BufferPool::default() })
    }

    /// Trainable scalars as PyTorch counts them (two bias vectors in the two-bias mode).
    pub fn param_count(&self) -> usize {
        self.params.trainable_count()
    }

    /// The count of the paper's tables: one bias per gate, 4 (H (D + H) + H) + O (H + 1), whatever
    /// the bias mode (hidden 50 on NeuronIO: 265,902).
    pub fn param_count_paper_convention(&self) -> usize {
        let (d, hs, out) = (self.config.num_input, self.config.hidden_size, self.config.num_output);
        4 * (hs * (d + hs) + hs) + out * (hs + 1)
    }

    /// The forward pass (evaluation: no dropout).
    pub fn forward(&self, x: &Inputs) -> Result<LstmForward> {
        self.forward_with_mask(x, None)
    }

    /// The forward pass in training: with `recurrent_dropout` > 0, every sample's mask is drawn
    /// from `seed` (and its place in the batch); without, this is `forward`.
    pub fn forward_train(&self, x: &Inputs, seed: u64) -> Result<LstmForward> {
        let p = self.config.recurrent_dropout;
        if p == 0.0 {
            return self.forward(x);
        }
        let (batch, _) = check_features(x, self.config.num_input)?;
        let mask = recurrent_dropout::masks(p, seed, batch, self.config.hidden_size, &self.pool);
        self.forward_with_mask(x, Some(mask))
    }

    fn forward_with_mask(&self, x: &Inputs, mask: Option<Vec<f32>>) -> Result<LstmForward> {
        let (batch, time) = check_features(x, self.config.num_input)?;
        let (hs, out) = (self.config.hidden_size, self.config.num_output);
        let rows = batch * time;

        // z = X W_ih^T + b for every (sample, step) row.
        let mut bias = self.params.get(self.ids.bias).data().to_vec();
        if let Some(hh) = self.ids.bias_hh {
            bias.iter_mut().zip(self.params.get(hh).data()).for_each(|(b, h)| *b += h);
        }
        let mut gates = self.pool.any(rows * 4 * hs);
        input_linear::forward(x, self.params.get(self.ids.w_ih).data(), Some(&bias), 4 * hs, &mut gates);

        let mut w_hh_t = self.pool.any(4 * hs * hs);
        transpose_into(self.params.get(self.ids.w_hh).data(), 4 * hs, hs, &mut w_hh_t);
        let states = recurrence::forward(gates, &w_hh_t, hs, batch, time, mask.as_deref(), &self.pool);
        self.pool.recycle(w_hh_t);

        // y = H W_y^T + b_y over all rows at once.
        let mut y = self.pool.any(rows * out);
        for row in y.chunks_exact_mut(out) {
            row.copy_from_slice(self.params.get(self.ids.b_y).data());
        }
        gemm(
            1.0,
            MatRef::new(&states.hidden, rows, hs),
            MatRef::new(self.params.get(self.ids.w_y).data(), out, hs).t(),
            1.0,
            MatMut::new(&mut y, rows, out),
        );
        Ok(LstmForward { y, batch, time, states, mask, pool: self.pool.clone() })
    }

    /// Gradients of `sum(y * dy)` with respect to every parameter, and to the input when
    /// `want_input_gradient` (training does not need it; it costs a dense GEMM).
    pub fn backward(
        &self,
        pass: &LstmForward,
        x: &Inputs,
        dy: &[f32],
        want_input_gradient: bool,
    ) -> Result<LstmGradients> {
        let (d, hs, out) = (self.config.num_input, self.config.hidden_size, self.config.num_output);
        let (batch, time) = check_backward(x, d, (pass.batch, pass.time), dy, out)?;
        let rows = batch * time;
        let ids = &self.ids;
        let hidden = &pass.states.hidden;
        let mut grads = self.params.zeros_like();

        // Readout: dW_y = dY^T H, db_y = column sums of dY, and every h_t's direct gradient dY W_y.
        gemm(
            1.0,
            MatRef::new(dy, rows, out).t(),
            MatRef::new(hidden, rows, hs),
            0.0,
            MatMut::new(grads[ids.w_y].data_mut(), out, hs),
        );
        add_column_sums(dy, out, grads[ids.b_y].data_mut());
        let mut dh = self.pool.any(rows * hs);
        gemm(
            1.0,
            MatRef::new(dy, rows, out),
            MatRef::new(self.params.get(ids.w_y).data(), out, hs),
            0.0,
            MatMut::new(&mut dh, rows, hs),
        );

        let mut dz = self.pool.any(rows * 4 * hs);
        let w_hh = self.params.get(ids.w_hh).data();
        let mask = pass.mask.as_deref();
        recurrence::backward(&pass.states, w_hh, hs, batch, time, mask, &mut dh, &mut dz, &self.pool);
        self.pool.recycle(dh);

        // dW_ih = dZ^T X over all rows (sparse inputs: only their non-zeros) beside dW_hh: two
        // independent products, so that the threads left idle by one's uneven blocks take the other.
        let [w_ih_grad, w_hh_grad] = grads
            .get_disjoint_mut([ids.w_ih, ids.w_hh])
            .expect("the LSTM's two weight matrices are distinct parameters");
        rayon::join(
            || input_linear::weight_gradient(x, &dz, 4 * hs, w_ih_grad.data_mut()),
            || self.recurrent_weight_gradient(&dz, hidden, mask, batch, time, w_hh_grad.data_mut()),
        );
        // Both biases enter z unscaled: each gets the column sums of dZ.
        add_column_sums(&dz, 4 * hs, grads[ids.bias].data_mut());
        if let Some(hh) = ids.bias_hh {
            let (ih, hh_grad) = (grads[ids.bias].clone(), &mut grads[hh]);
            hh_grad.data_mut().copy_from_slice(ih.data());
        }
        let x_grad = want_input_gradient
            .then(|| input_linear::input_gradient(&dz, self.params.get(ids.w_ih).data(), rows, 4 * hs, d));
        self.pool.recycle(dz);
        Ok(LstmGradients { params: grads, x: x_grad })
    }

    /// dW_hh = sum over t >= 1 of dz_t^T h_{t-1} (m * h_{t-1} under recurrent dropout): per
    /// sample, steps 1.. of dZ against steps ..T-1 of H, each a GEMM over T - 1 rows (h_{-1} = 0
    /// contributes nothing), added in sample order.
    fn recurrent_weight_gradient(
        &self,
        dz: &[f32],
        hidden: &[f32],
        mask: Option<&[f32]>,
        batch: usize,
        time: usize,
        dw_hh: &mut [f32],
    ) {
        let hs = self.config.hidden_size;
        if time < 2 {
            return;
        }
        let mut dropped = mask.map(|_| self.pool.any((time - 1) * hs));
        for b in 0..batch {
            let h_prev = &hidden[b * time * hs..(b * time + time - 1) * hs];
            let h_prev = match (mask, dropped.as_mut()) {
                (Some(mask), Some(dropped)) => {
                    let m = &mask[b * hs..(b + 1) * hs];
                    for (out, h) in dropped.chunks_exact_mut(hs).zip(h_prev.chunks_exact(hs)) {
                        recurrent_dropout::apply(m, h, out);
                    }
                    &dropped[..]
                }
                _ => h_prev,
            };
            gemm(
                1.0,
                MatRef::new(&dz[(b * time + 1) * 4 * hs..], time - 1, 4 * hs).t(),
                MatRef::new(h_prev, time - 1, hs),
                1.0,
                MatMut::new(dw_hh, 4 * hs, hs),
            );
        }
        if let Some(dropped) = dropped {
            self.pool.recycle(dropped);
        }
    }
}
