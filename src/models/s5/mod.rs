//! S5 (Smith, Warrington & Linderman, ICLR 2023), equal to the official JAX implementation
//! (lindermanlab/S5, `s5/seq_model.py` `ClassificationModel`): a Dense encoder to H features,
//! `n_layers` sequence layers (`layer`: norm, the complex diagonal SSM of `ssm`, GELU, gate,
//! dropout, residual), then the decoder Dense on the mean over time (`pool`) or the last step.
//!
//! Parameters carry the official flax names and shapes (`encoder/encoder/kernel` (d_input, H),
//! `encoder/layers_0/seq/B` (P, H, 2), ..., `decoder/bias`), so official weights load as they
//! are; BatchNorm's running statistics are buffers `batch_stats/encoder/layers_<i>/norm/{mean,var}`.
//!
//! The model reports logits (the official model returns their log_softmax; the harness's
//! cross-entropy applies it). `pool` is realised as the decoder at every step followed by the
//! harness's mean readout: the decoder is affine, so the mean of its outputs is the decoder of
//! the mean, and the model needs no readout logic of its own (`last` likewise reads the last
//! step). The price is T small decoder products instead of one per sample, negligible beside the
//! SSM.

pub mod config;
pub mod device;
pub mod init;
pub mod layer;
pub mod norm;
mod sequence_model;
pub mod ssm;

pub use config::{Activation, CInit, Discretization, Mode, S5Config};

use crate::engine::{gemm, Inputs, MatMut, MatRef, ParamSet, Rng, Tensor};
use crate::models::{check_backward, check_features};
use anyhow::{bail, ensure, Result};
use init::{hippo_block, lecun_normal, ssm_init};
use layer::{LayerForward, LayerIds, LayerMasks, LayerSpec};
use norm::NormMode;
use ssm::SsmSpec;

#[derive(Clone, Debug)]
pub struct S5 {
    pub config: S5Config,
    pub params: ParamSet,
    pub(crate) encoder: (usize, usize),
    pub(crate) layers: Vec<LayerIds>,
    pub(crate) decoder: (usize, usize),
    /// BatchNorm running (mean, var) per layer (empty without BatchNorm).
    running: Vec<(Vec<f32>, Vec<f32>)>,
    pub(crate) spec: LayerSpec,
}

/// One forward pass: every layer's saved state, the dropout masks and the outputs per step.
pub struct S5Forward {
    /// Decoder outputs at every step, (batch, time, d_output).
    pub y: Vec<f32>,
    /// The encoder's output and every layer's pass.
    pub encoded: Vec<f32>,
    pub layers: Vec<LayerForward>,
    masks: Vec<LayerMasks>,
    norm_mode: NormMode,
    shape: (usize, usize),
}

impl S5Forward {
    /// The batch statistics (mean, biased var) of every BatchNorm, in training mode.
    pub fn batch_statistics(&self) -> Vec<(&[f32], &[f32])> {
        self.layers.iter().map(|l| (l.norm.batch_mean.as_slice(), l.norm.batch_var.as_slice())).collect()
    }
}

impl S5 {
    pub fn new(config: S5Config, seed: u64) -> Result<Self> {
        config.validate()?;
        let (h, p) = (config.d_model, config.states());
        let block_n = config.ssm_size_base / config.blocks;
        let kept = if config.conj_sym { block_n / 2 } else { block_n };
        let block = hippo_block(block_n, kept)?;
        let mut rng = Rng::new(seed);
        let mut params = ParamSet::default();
        let t = |shape: &[usize], v: Vec<f32>| Tensor::from_vec(shape, v);
        let enc_k = params.push(
            "encoder/encoder/kernel",
            t(&[config.d_input, h], lecun_normal(&mut rng, config.d_input * h, config.d_input))?,
            true,
        );
        let enc_b = params.push("encoder/encoder/bias", Tensor::zeros(&[h]), true);
        let mut layers = Vec::with_capacity(config.n_layers);
        for i in 0..config.n_layers {
            let name = |n: &str| format!("encoder/layers_{i}/{n}");
            let init = ssm_init(&config, &block, &mut rng);
            let lambda_re = params.push(&name("seq/Lambda_re"), t(&[p], init.lambda_re)?, true);
            let lambda_im = params.push(&name("seq/Lambda_im"), t(&[p], init.lambda_im)?, true);
            let b = params.push(&name("seq/B"), t(&[p, h, 2], init.b)?, true);
            let c = if config.c_init == CInit::ComplexNormal {
                let c = init.c.into_iter().next().expect("one C");
                vec![params.push(&name("seq/C"), t(&[h, config.directions() * p, 2], c)?, true)]
            } else if config.bidirectional {
                let mut it = init.c.into_iter();
                let c1 = params.push(&name("seq/C1"), t(&[h, p, 2], it.next().expect("C1"))?, true);
                let c2 = params.push(&name("seq/C2"), t(&[h, p, 2], it.next().expect("C2"))?, true);
                vec![c1, c2]
            } else {
                vec![params.push(&name("seq/C"), t(&[h, p, 2], init.c.into_iter().next().expect("C"))?, true)]
            };
            let d = params.push(&name("seq/D"), t(&[h], init.d)?, true);
            let log_step = params.push(&name("seq/log_step"), t(&[p, 1], init.log_step)?, true);
            let norm_scale = params.push(&name("norm/scale"), Tensor::full(&[h], 1.0), true);
            let norm_bias = params.push(&name("norm/bias"), Tensor::zeros(&[h]), true);
            let mut dense = |n: &str, rng: &mut Rng| -> Result<(usize, usize)> {
                let k = params.push(&name(&format!("{n}/kernel")), t(&[h, h], lecun_normal(rng, h * h, h))?, true);
                let b = params.push(&name(&format!("{n}/bias")), Tensor::zeros(&[h]), true);
                Ok((k, b))
            };
            let out1 = if config.activation_fn == Activation::FullGlu { Some(dense("out1", &mut rng)?) } else { None };
            let out2 = if config.activation_fn == Activation::Gelu { None } else { Some(dense("out2", &mut rng)?) };
            layers.push(LayerIds { lambda_re, lambda_im, b, c, d, log_step, norm_scale, norm_bias, out1, out2 });
        }
        let dec_k = params.push(
            "decoder/kernel",
            t(&[h, config.d_output], lecun_normal(&mut rng, h * config.d_output, h))?,
            true,
        );
        let dec_b = params.push("decoder/bias", Tensor::zeros(&[config.d_output]), true);
        let running = if config.batchnorm {
            (0..config.n_layers).map(|_| (vec![0.0; h], vec![1.0; h])).collect()
        } else {
            Vec::new()
        };
        let spec = LayerSpec {
            ssm: SsmSpec {
                h,
                p,
                directions: config.directions(),
                conj_sym: config.conj_sym,
                clip_eigs: config.clip_eigs,
                discretization: config.discretization,
            },
            activation: config.activation_fn,
            prenorm: config.prenorm,
        };
        Ok(Self { config, params, encoder: (enc_k, enc_b), layers, decoder: (dec_k, dec_b), running, spec })
    }

    pub fn mode(&self) -> Mode {
        self.config.resolved_mode().unwrap_or(Mode::Pool)
    }

    /// The names of the BatchNorm running statistics of layer i.
    pub fn running_names(i: usize) -> (String, String) {
        (format!("batch_stats/encoder/layers_{i}/norm/mean"), format!("batch_stats/encoder/layers_{i}/norm/var"))
    }

    pub fn running_statistics(&self) -> &[(Vec<f32>, Vec<f32>)] {
        &self.running
    }

    /// Sets one running statistic by its buffer name.
    pub fn set_running(&mut self, name: &str, values: Vec<f32>) -> Result<()> {
        let h = self.config.d_model;
        for i in 0..self.running.len() {
            let (m, v) = Self::running_names(i);
            let slot = if name == m {
                &mut self.running[i].0
            } else if name == v {
                &mut self.running[i].1
            } else {
                continue;
            };
            ensure!(values.len() == h, "`{name}` has {} values, the model has d_model = {h}", values.len());
            *slot = values;
            return Ok(());
        }
        bail!("s5: the model has no tensor named `{name}`")
    }

    pub(crate) fn norm_mode(&self, training: bool) -> NormMode {
        match (self.config.batchnorm, training) {
            (false, _) => NormMode::Layer,
            (true, true) => NormMode::BatchTrain,
            (true, false) => NormMode::BatchEval,
        }
    }

    /// Dropout masks from `seed` alone: per layer, two (batch, H) masks (stream 2i and 2i + 1).
    pub(crate) fn masks(&self, seed: Option<u64>, batch: usize) -> Vec<LayerMasks> {
        let p = self.config.p_dropout;
        let h = self.config.d_model;
        (0..self.layers.len())
            .map(|i| match seed {
                Some(seed) if p > 0.0 => {
                    let draw = |stream: u64| -> Vec<f32> {
                        let mut rng = Rng::derive(seed, stream);
                        let keep = 1.0 / (1.0 - p) as f32;
                        (0..batch * h).map(|_| if rng.uniform_f64() < p { 0.0 } else { keep }).collect()
                    };
                    LayerMasks { first: draw(2 * i as u64), second: draw(2 * i as u64 + 1) }
                }
                _ => LayerMasks::default(),
            })
            .collect()
    }

    /// Outputs at every step; `train_seed` selects training mode (batch statistics, dropout).
    pub fn forward_with(&self, x: &Inputs, train_seed: Option<u64>) -> Result<S5Forward> {
        let (batch, time) = check_features(x, self.config.d_input)?;
        let (h, din, dout) = (self.config.d_model, self.config.d_input, self.config.d_output);
        let rows = batch * time;
        let xd = x.dense_values();
        let mut encoded: Vec<f32> = Vec::with_capacity(rows * h);
        let enc_b = self.params.get(self.encoder.1).data();
        for _ in 0..rows {
            encoded.extend_from_slice(enc_b);
        }
        if rows > 0 {
            let k = self.params.get(self.encoder.0).data();
            gemm(1.0, MatRef::new(&xd, rows, din), MatRef::new(k, din, h), 1.0, MatMut::new(&mut encoded, rows, h));
        }
        let norm_mode = self.norm_mode(train_seed.is_some());
        let masks = self.masks(train_seed, batch);
        let mut layers: Vec<LayerForward> = Vec::with_capacity(self.layers.len());
        let unit = (Vec::new(), Vec::new());
        for (i, ids) in self.layers.iter().enumerate() {
            let input = layers.last().map(|l| l.out.as_slice()).unwrap_or(&encoded);
            let running = self.running.get(i).unwrap_or(&unit);
            let pass = self.spec.forward(
                ids,
                &self.params,
                norm_mode,
                (&running.0, &running.1),
                &masks[i],
                input,
                batch,
                time,
            )?;
            layers.push(pass);
        }
        let last = layers.last().map(|l| l.out.as_slice()).unwrap_or(&encoded);
        let mut y: Vec<f32> = Vec::with_capacity(rows * dout);
        let dec_b = self.params.get(self.decoder.1).data();
        for _ in 0..rows {
            y.extend_from_slice(dec_b);
        }
        if rows > 0 {
            let k = self.params.get(self.decoder.0).data();
            gemm(1.0, MatRef::new(last, rows, h), MatRef::new(k, h, dout), 1.0, MatMut::new(&mut y, rows, dout));
        }
        Ok(S5Forward { y, encoded, layers, masks, norm_mode, shape: (batch, time) })
    }

    /// Gradients of sum(y * dy) over the per-step outputs: every parameter (aligned with
    /// `params`) and the input.
    pub fn backward_with(&self, pass: &S5Forward, x: &Inputs, dy: &[f32]) -> Result<(Vec<Tensor>, Vec<f32>)> {
        let (batch, time) = check_backward(x, self.config.d_input, pass.shape, dy, self.config.d_output)?;
        let (h, din, dout) = (self.config.d_model, self.config.d_input, self.config.d_output);
        let rows = batch * time;
        let mut grads = self.params.zeros_like();
        let last = pass.layers.last().map(|l| l.out.as_slice()).unwrap_or(&pass.encoded);
        let mut dh = vec![0.0f32; rows * h];
        if rows > 0 {
            let k = self.params.get(self.decoder.0).data();
            gemm(
                1.0,
                MatRef::new(last, rows, h).t(),
                MatRef::new(dy, rows, dout),
                0.0,
                MatMut::new(grads[self.decoder.0].data_mut(), h, dout),
            );
            gemm(1.0, MatRef::new(dy, rows, dout), MatRef::new(k, h, dout).t(), 0.0, MatMut::new(&mut dh, rows, h));
        }
        column_sums(dy, dout, grads[self.decoder.1].data_mut());
        for (i, ids) in self.layers.iter().enumerate().rev() {
            dh = self.spec.backward(
                ids,
                &self.params,
                pass.norm_mode,
                &pass.masks[i],
                &pass.layers[i],
                &dh,
                batch,
                time,
                &mut grads,
            )?;
        }
        let xd = x.dense_values();
        let mut dx = vec![0.0f32; rows * din];
        if rows > 0 {
            let k = self.params.get(self.encoder.0).data();
            gemm(
                1.0,
                MatRef::new(&xd, rows, din).t(),
                MatRef::new(&dh, rows, h),
                0.0,
                MatMut::new(grads[self.encoder.0].data_mut(), din, h),
            );
            gemm(1.0, MatRef::new(&dh, rows, h), MatRef::new(k, din, h).t(), 0.0, MatMut::new(&mut dx, rows, din));
        }
        column_sums(&dh, h, grads[self.encoder.1].data_mut());
        Ok((grads, dx))
    }

    /// The running-statistics update of flax's BatchNorm from a training pass:
    /// ra = m ra + (1 - m) batch_stat, with m = bn_momentum and the biased batch variance.
    pub fn update_running(&mut self, pass: &S5Forward) -> Result<()> {
        self.update_running_with(pass.norm_mode, &pass.batch_statistics())
    }

    /// `update_running` from any pass's norm mode and per-layer batch (mean, var): the CPU's
    /// and the device's passes share it.
    pub(crate) fn update_running_with(&mut self, mode: NormMode, statistics: &[(&[f32], &[f32])]) -> Result<()> {
        if !self.config.batchnorm {
            return Ok(());
        }
        ensure!(mode == NormMode::BatchTrain, "s5: running statistics update from a pass not in training mode");
        ensure!(statistics.len() == self.running.len(), "s5: the pass has another number of layers");
        let m = self.config.bn_momentum as f32;
        for ((mean, var), (batch_mean, batch_var)) in self.running.iter_mut().zip(statistics) {
            for (r, b) in mean.iter_mut().zip(batch_mean.iter()) {
                *r = m * *r + (1.0 - m) * b;
            }
            for (r, b) in var.iter_mut().zip(batch_var.iter()) {
                *r = m * *r + (1.0 - m) * b;
            }
        }
        Ok(())
    }

    /// The SSM's settings (shared by every layer).
    pub fn ssm_spec(&self) -> SsmSpec {
        self.spec.ssm
    }
}

/// Column sums of (rows, cols) in row order, f64.
fn column_sums(a: &[f32], cols: usize, out: &mut [f32]) {
    let mut sums = vec![0.0f64; cols];
    for row in a.chunks_exact(cols) {
        for (s, v) in sums.iter_mut().zip(row) {
            *s += *v as f64;
        }
    }
    for (o, s) in out.iter_mut().zip(&sums) {
        *o = *s as f32;
    }
}
