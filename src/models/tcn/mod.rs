//! The temporal convolutional network of Beniaguev, Segev & London (2021, "Single cortical neurons
//! as deep artificial neural networks"; SelfishGene/neuron_as_deep_net `fit_CNN.py`): a stack of
//! causal (dilated) 1-D convolutions with ReLU, then a per-step 1x1 head of `num_output` channels
//! (NeuronIO's two: the spike logit and the soma voltage).
//!
//! ```text
//! h_0 = x                                                  (batch, time, num_input)
//! h_l = act(b_l + sum_k W_l[k] h_{l-1}[t - (K_l - 1 - k) d_l])   zero before the first step
//! y_t = W_head h_L[t] + b_head                             (num_output; NeuronIO: spike, soma)
//! ```
//!
//! Differences from the Keras model, on purpose:
//! - No batch normalisation. Theirs follows every convolution's ReLU; at inference it is a
//!   per-channel affine map that folds into the next layer's weights and bias, so the function
//!   class is the same (exactly so after the first receptive field of a window, where their zero
//!   padding sits after the normalisation), and its running statistics would be state that a
//!   forward pass (`&self`) cannot update. Their
//!   convolution init (truncated normal, std 0.002) relies on it to rescale activations, so ours
//!   is He-uniform instead (bound sqrt(6 / fan_in)), which keeps ReLU activations at scale.
//! - No dendritic-voltage head (NeuronIO here has two outputs). The spike head emits a logit (the
//!   loss applies the sigmoid); heads keep their init: spike weights N(0, 0.001) and bias -2, soma
//!   weights N(0, 0.03) and bias 0, truncated at two standard deviations as Keras truncates.
//!   Other head sizes (`num_output` != 2, a classifier's logits) get every row the soma head's
//!   N(0, 0.03) and bias 0: the -2 encodes NeuronIO's spike rate (sigmoid(-2) = 0.12), a prior
//!   that means nothing for another task's outputs, and zero biases with small weights start a
//!   classifier near the uniform prediction.
//! - No L2 penalty (theirs is 1e-8 per weight).
//!
//! Each layer is one GEMM over all (batch, time) rows and taps followed by a shifted sum
//! (`causal_conv`, im2col transposed), so only additions depend on time; the input layer forms its
//! product through `engine::input_linear`, which costs only the non-zeros of sparse inputs
//! (NeuronIO's are ~2% non-zero). Long batches go in blocks of samples (`sample_blocks`).
//!
//! Tensors: `layer_{l}.weight` (K, C_out, C_in), taps from the oldest to the present, and
//! `layer_{l}.bias` (C_out), named after the Keras layers; `head.weight` (num_output, C) and
//! `head.bias` (num_output), NeuronIO's two rows their `spikes` layer and `somatic`. The
//! (K, C_out, C_in) order makes each layer's weights the (K * C_out, C_in) matrix that
//! `causal_conv` multiplies by, without a copy.

pub mod causal_conv;
pub mod config;
pub mod device;
pub mod presets;
mod sample_blocks;
mod sequence_model;

pub use config::{ConvShape, TcnConfig};

use crate::engine::kernels::add_column_sums;
use crate::engine::{gemm, input_linear, BufferPool, Inputs, MatMut, MatRef, ParamSet, Rng, Tensor};
use crate::models::{check_backward, check_features};
use anyhow::{bail, Result};
use sample_blocks::{blocks, max_block_rows, InputBlock};

#[derive(Clone, Debug)]
pub struct Tcn {
    pub config: TcnConfig,
    pub params: ParamSet,
    layers: Vec<ConvShape>,
    /// (weight, bias) of every convolution.
    conv_ids: Vec<(usize, usize)>,
    head_weight: usize,
    head_bias: usize,
    pool: BufferPool,
}

/// What the forward pass keeps: every layer's pre-activation and activation. Buffers return to
/// the pool on drop.
pub struct TcnForward {
    /// Outputs, (batch, time, num_output).
    pub y: Vec<f32>,
    batch: usize,
    time: usize,
    pre: Vec<Vec<f32>>,
    post: Vec<Vec<f32>>,
    pool: BufferPool,
}

impl Drop for TcnForward {
    fn drop(&mut self) {
        self.pool.recycle(std::mem::take(&mut self.y));
        for v in self.pre.drain(..).chain(self.post.drain(..)) {
            self.pool.recycle(v);
        }
    }
}

/// Normal(0, std) redrawn until within two standard deviations (Keras's `TruncatedNormal`).
fn truncated_normal(rng: &mut Rng, std: f64) -> f32 {
    loop {
        let z = rng.normal();
        if z.abs() <= 2.0 {
            return (z * std) as f32;
        }
    }
}

/// The head's weights (num_output, width) and biases. Two outputs are NeuronIO's heads as
/// Beniaguev initialises them (spike: N(0, 0.001), bias -2; soma: N(0, 0.03), bias 0); any other
/// number gets the soma head's init on every row (see the module notes for why).
fn initial_head(rng: &mut Rng, num_output: usize, width: usize) -> (Vec<f32>, Vec<f32>) {
    let mut weight = Vec::with_capacity(num_output * width);
    if num_output == config::DEFAULT_NUM_OUTPUT {
        weight.extend((0..width).map(|_| truncated_normal(rng, 0.001)));
        weight.extend((0..width).map(|_| truncated_normal(rng, 0.03)));
        return (weight, vec![-2.0, 0.0]);
    }
    weight.extend((0..num_output * width).map(|_| truncated_normal(rng, 0.03)));
    (weight, vec![0.0; num_output])
}

impl Tcn {
    pub fn new(config: TcnConfig, seed: u64) -> Result<Self> {
        let layers = config.layers()?;
        let mut rng = Rng::new(seed);
        let mut params = ParamSet::default();
        let mut conv_ids = Vec::with_capacity(layers.len());
        for (l, shape) in layers.iter().enumerate() {
            let fan_in = shape.kernel * shape.inputs;
            let bound = (6.0 / fan_in as f32).sqrt();
            let w = (0..fan_in * shape.outputs).map(|_| rng.uniform(-bound, bound)).collect();
            let w = Tensor::from_vec(&[shape.kernel, shape.outputs, shape.inputs], w)?;
            let name = format!("layer_{}", l + 1);
            conv_ids.push((
                params.push(&format!("{name}.weight"), w, true),
                params.push(&format!("{name}.bias"), Tensor::zeros(&[shape.outputs]), true),
            ));
        }
        let width = layers.last().map_or(config.num_input, |l| l.outputs);
        let (head, bias) = initial_head(&mut rng, config.num_output, width);
        let head_weight = params.push("head.weight", Tensor::from_vec(&[config.num_output, width], head)?, true);
        let head_bias = params.push("head.bias", Tensor::from_vec(&[config.num_output], bias)?, true);
        Ok(Self { config, params, layers, conv_ids, head_weight, head_bias, pool: BufferPool::default() })
    }

    pub fn layers(&self) -> &[ConvShape] {
        &self.layers
    }

    pub fn forward(&self, x: &Inputs) -> Result<TcnForward> {
        let (batch, time) = check_features(x, self.config.num_input)?;
        let rows = batch * time;
        let act = self.config.activation;
        let block_rows = max_block_rows(batch, time);
        let mut pre_all: Vec<Vec<f32>> = Vec::with_capacity(self.layers.len());
        let mut post_all: Vec<Vec<f32>> = Vec::with_capacity(self.layers.len());
        for (l, (shape, &(w, b))) in self.layers.iter().zip(&self.conv_ids).enumerate() {
            let (c, kc) = (shape.outputs, shape.kernel * shape.outputs);
            let weight = self.params.get(w).data();
            let mut pre = self.pool.any(rows * c);
            let bias = self.params.get(b).data();
            pre.chunks_exact_mut(c).for_each(|row| row.copy_from_slice(bias));
            let mut z = self.pool.any(block_rows * kc);
            for samples in blocks(batch, time) {
                let (r0, r1) = (samples.start * time, samples.end * time);
                let z = &mut z[..(r1 - r0) * kc];
                // Z = h W_all^T for every row and tap at once (sparse-aware on the input layer).
                if l == 0 {
                    input_linear::forward(&InputBlock::new(x, samples).inputs(), weight, None, kc, z);
                } else {
                    let h = &post_all[l - 1][r0 * shape.inputs..r1 * shape.inputs];
                    gemm(
                        1.0,
                        MatRef::new(h, r1 - r0, shape.inputs),
                        MatRef::new(weight, kc, shape.inputs).t(),
                        0.0,
                        MatMut::new(z, r1 - r0, kc),
                    );
                }
                causal_conv::shift_add(shape, z, &mut pre[r0 * c..r1 * c], time);
            }
            self.pool.recycle(z);
            let mut post = self.pool.any(rows * c);
            act.apply_slice(&pre, &mut post);
            pre_all.push(pre);
            post_all.push(post);
        }
        let (Some(h), Some(last)) = (post_all.last(), self.layers.last()) else {
            bail!("the TCN has no layers");
        };
        let (width, out) = (last.outputs, self.config.num_output);
        let mut y = self.pool.any(rows * out);
        let head_bias = self.params.get(self.head_bias).data();
        y.chunks_exact_mut(out).for_each(|row| row.copy_from_slice(head_bias));
        gemm(
            1.0,
            MatRef::new(h, rows, width),
            MatRef::new(self.params.get(self.head_weight).data(), out, width).t(),
            1.0,
            MatMut::new(&mut y, rows, out),
        );
        Ok(TcnForward { y, batch, time, pre: pre_all, post: post_all, pool: self.pool.clone() })
    }

    /// Gradients of `sum(y * dy)` for every parameter, aligned with `params`. The input gradient
    /// is not formed (training does not need it).
    pub fn backward(&self, pass: &TcnForward, x: &Inputs, dy: &[f32]) -> Result<Vec<Tensor>> {
        let out = self.config.num_output;
        let (batch, time) = check_backward(x, self.config.num_input, (pass.batch, pass.time), dy, out)?;
        let rows = batch * time;
        let (Some(last), Some(h_last)) = (self.layers.last(), pass.post.last()) else {
            bail!("the TCN has no layers");
        };
        let width = last.outputs;
        let mut grads = self.params.zeros_like();

        // Heads: dW = dY^T h_L, db = column sums of dY, dh_L = dY W.
        gemm(
            1.0,
            MatRef::new(dy, rows, out).t(),
            MatRef::new(h_last, rows, width),
            0.0,
            MatMut::new(grads[self.head_weight].data_mut(), out, width),
        );
        add_column_sums(dy, out, grads[self.head_bias].data_mut());
        let mut dh = self.pool.any(rows * width);
        gemm(
            1.0,
            MatRef::new(dy, rows, out),
            MatRef::new(self.params.get(self.head_weight).data(), out, width),
            0.0,
            MatMut::new(&mut dh, rows, width),
        );

        let act = self.config.activation;
        let block_rows = max_block_rows(batch, time);
        for l in (0..self.layers.len()).rev() {
            let shape = &self.layers[l];
            let (w, b) = self.conv_ids[l];
            let (c, cin, kc) = (shape.outputs, shape.inputs, shape.kernel * shape.outputs);
            let mut dpre = self.pool.any(rows * c);
            act.backward_slice(&pass.pre[l], &dh, &mut dpre);
            self.pool.recycle(dh);
            add_column_sums(&dpre, c, grads[b].data_mut());
            // The input layer needs no input gradient.
            let mut dh_below = if l > 0 { self.pool.any(rows * cin) } else { Vec::new() };
            let mut dz = self.pool.any(block_rows * kc);
            for samples in blocks(batch, time) {
                let (r0, r1) = (samples.start * time, samples.end * time);
                let dz = &mut dz[..(r1 - r0) * kc];
                causal_conv::shift_gather(shape, &dpre[r0 * c..r1 * c], dz, time);
                // dW_all += dZ^T h; dh = dZ W_all.
                if l == 0 {
                    input_linear::weight_gradient(&InputBlock::new(x, samples).inputs(), dz, kc, grads[w].data_mut());
                    continue;
                }
                gemm(
                    1.0,
                    MatRef::new(dz, r1 - r0, kc).t(),
                    MatRef::new(&pass.post[l - 1][r0 * cin..r1 * cin], r1 - r0, cin),
                    1.0,
                    MatMut::new(grads[w].data_mut(), kc, cin),
                );
                gemm(
                    1.0,
                    MatRef::new(dz, r1 - r0, kc),
                    MatRef::new(self.params.get(w).data(), kc, cin),
                    0.0,
                    MatMut::new(&mut dh_below[r0 * cin..r1 * cin], r1 - r0, cin),
                );
            }
            self.pool.recycle(dz);
            self.pool.recycle(dpre);
            dh = dh_below;
        }
        Ok(grads)
    }
}
