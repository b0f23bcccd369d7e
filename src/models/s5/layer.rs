//! One S5 sequence layer (official `s5/layers.py`), forward and backward side by side:
//!
//! ```text
//! a = norm(h) if prenorm else h
//! y = SSM(a)
//! g = drop1(gelu_tanh(y))
//! o = g                                       gelu
//!     drop2(g * sigmoid(g W2 + b2))            half_glu1
//!     drop2(y * sigmoid(g W2 + b2))            half_glu2
//!     drop2((g W1 + b1) * sigmoid(g W2 + b2))  full_glu
//! r = h + o;  out = r if prenorm else norm(r)
//! ```
//!
//! Dropout is flax's `nn.Dropout(broadcast_dims=[0])` on one sample's (time, H): one mask per
//! sample and feature, shared by every step, and a fresh one at each of the two call sites.
//! Dense kernels are (in, out) as flax stores them, applied as x K + b: one GEMM over all rows.

use super::config::Activation;
use super::norm::{self, NormCache, NormMode};
use super::ssm::{SsmForward, SsmSpec, SsmWeights};
use crate::engine::{gemm, MatMut, MatRef, ParamSet, Tensor};
use anyhow::Result;

/// sqrt(2 / pi), the constant of the tanh approximation of GELU.
const GELU_K: f32 = 0.797_884_6;
const GELU_C: f32 = 0.044_715;

/// flax `nn.gelu` (approximate = True).
pub fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + (GELU_K * (x + GELU_C * x * x * x)).tanh())
}

pub fn gelu_derivative(x: f32) -> f32 {
    let t = (GELU_K * (x + GELU_C * x * x * x)).tanh();
    0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * GELU_K * (1.0 + 3.0 * GELU_C * x * x)
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Where one layer's tensors sit in the model's `ParamSet`.
#[derive(Clone, Debug)]
pub struct LayerIds {
    pub lambda_re: usize,
    pub lambda_im: usize,
    pub b: usize,
    /// `C`, or `C1` and `C2`.
    pub c: Vec<usize>,
    pub d: usize,
    pub log_step: usize,
    pub norm_scale: usize,
    pub norm_bias: usize,
    /// (kernel, bias) of `out1` (full_glu) and `out2` (every GLU).
    pub out1: Option<(usize, usize)>,
    pub out2: Option<(usize, usize)>,
}

/// The layer's settings shared by every call.
#[derive(Clone, Copy, Debug)]
pub struct LayerSpec {
    pub ssm: SsmSpec,
    pub activation: Activation,
    pub prenorm: bool,
}

/// What the backward pass needs.
pub struct LayerForward {
    /// The SSM's input.
    pub a: Vec<f32>,
    pub norm: NormCache,
    pub ssm: SsmForward,
    /// drop1(gelu(y)).
    pub g: Vec<f32>,
    /// sigmoid of the gate (GLUs).
    pub gate: Vec<f32>,
    /// g W1 + b1 (full_glu).
    pub lin: Vec<f32>,
    /// The layer's output.
    pub out: Vec<f32>,
}

/// Per-sample, per-feature dropout factors (0 or 1 / (1 - p)) of the two call sites; empty
/// when there is no dropout.
#[derive(Clone, Debug, Default)]
pub struct LayerMasks {
    pub first: Vec<f32>,
    pub second: Vec<f32>,
}

fn apply_mask(mask: &[f32], v: &mut [f32], time: usize, h: usize) {
    if mask.is_empty() {
        return;
    }
    for (b, sample) in v.chunks_exact_mut(time * h).enumerate() {
        let m = &mask[b * h..(b + 1) * h];
        for row in sample.chunks_exact_mut(h) {
            for (x, f) in row.iter_mut().zip(m) {
                *x *= f;
            }
        }
    }
}

/// x K + b over all rows, K (H, H).
fn dense(x: &[f32], kernel: &[f32], bias: &[f32], h: usize) -> Vec<f32> {
    let rows = x.len() / h;
    let mut out: Vec<f32> = Vec::with_capacity(x.len());
    for _ in 0..rows {
        out.extend_from_slice(bias);
    }
    if rows > 0 {
        gemm(1.0, MatRef::new(x, rows, h), MatRef::new(kernel, h, h), 1.0, MatMut::new(&mut out, rows, h));
    }
    out
}

/// dK = x^T dy, db = column sums of dy; dx += dy K^T.
fn dense_backward(x: &[f32], kernel: &[f32], dy: &[f32], h: usize, dk: &mut [f32], db: &mut [f32], dx: &mut [f32]) {
    let rows = x.len() / h;
    if rows == 0 {
        return;
    }
    gemm(1.0, MatRef::new(x, rows, h).t(), MatRef::new(dy, rows, h), 0.0, MatMut::new(dk, h, h));
    let mut sums = vec![0.0f64; h];
    for row in dy.chunks_exact(h) {
        for (s, v) in sums.iter_mut().zip(row) {
            *s += *v as f64;
        }
    }
    for (d, s) in db.iter_mut().zip(&sums) {
        *d = *s as f32;
    }
    gemm(1.0, MatRef::new(dy, rows, h), MatRef::new(kernel, h, h).t(), 1.0, MatMut::new(dx, rows, h));
}

impl LayerIds {
    pub(crate) fn c_slices<'a>(&self, params: &'a ParamSet) -> Vec<&'a [f32]> {
        self.c.iter().map(|&i| params.get(i).data()).collect()
    }
}

pub fn ssm_weights<'a>(ids: &LayerIds, params: &'a ParamSet, c: &'a [&'a [f32]]) -> SsmWeights<'a> {
    SsmWeights {
        lambda_re: params.get(ids.lambda_re).data(),
        lambda_im: params.get(ids.lambda_im).data(),
        b: params.get(ids.b).data(),
        c,
        d: params.get(ids.d).data(),
        log_step: params.get(ids.log_step).data(),
    }
}

impl LayerSpec {
    /// The layer on `input` (batch, time, H); `running` = the BatchNorm's (mean, var).
    #[allow(clippy::too_many_arguments)]
    pub fn forward(
        &self,
        ids: &LayerIds,
        params: &ParamSet,
        norm_mode: NormMode,
        running: (&[f32], &[f32]),
        masks: &LayerMasks,
        input: &[f32],
        batch: usize,
        time: usize,
    ) -> Result<LayerForward> {
        let h = self.ssm.h;
        let scale = params.get(ids.norm_scale).data();
        let bias = params.get(ids.norm_bias).data();
        let mut a = vec![0.0f32; input.len()];
        let mut cache = NormCache::default();
        if self.prenorm {
            cache = norm::forward(norm_mode, input, h, scale, bias, running, &mut a);
        } else {
            a.copy_from_slice(input);
        }
        let c = ids.c_slices(params);
        let weights = ssm_weights(ids, params, &c);
        let ssm = self.ssm.forward(&weights, &a, batch, time)?;
        let mut g: Vec<f32> = ssm.y.iter().map(|&v| gelu(v)).collect();
        apply_mask(&masks.first, &mut g, time, h);
        let (mut gate, mut lin) = (Vec::new(), Vec::new());
        let mut o = match self.activation {
            Activation::Gelu => g.clone(),
            act => {
                let (k2, b2) = ids.out2.expect("GLUs have out2");
                gate = dense(&g, params.get(k2).data(), params.get(b2).data(), h);
                gate.iter_mut().for_each(|s| *s = sigmoid(*s));
                let values: &[f32] = match act {
                    Activation::HalfGlu1 => &g,
                    Activation::HalfGlu2 => &ssm.y,
                    _ => {
                        let (k1, b1) = ids.out1.expect("full_glu has out1");
                        lin = dense(&g, params.get(k1).data(), params.get(b1).data(), h);
                        &lin
                    }
                };
                let mut o: Vec<f32> = values.iter().zip(&gate).map(|(v, s)| v * s).collect();
                apply_mask(&masks.second, &mut o, time, h);
                o
            }
        };
        for (ov, iv) in o.iter_mut().zip(input) {
            *ov += iv;
        }
        let out = if self.prenorm {
            o
        } else {
            let mut out = vec![0.0f32; o.len()];
            cache = norm::forward(norm_mode, &o, h, scale, bias, running, &mut out);
            out
        };
        Ok(LayerForward { a, norm: cache, ssm, g, gate, lin, out })
    }

    /// Gradients of sum(out * dout) into `grads` (at the layer's indices); returns d input.
    #[allow(clippy::too_many_arguments)]
    pub fn backward(
        &self,
        ids: &LayerIds,
        params: &ParamSet,
        norm_mode: NormMode,
        masks: &LayerMasks,
        pass: &LayerForward,
        dout: &[f32],
        batch: usize,
        time: usize,
        grads: &mut [Tensor],
    ) -> Result<Vec<f32>> {
        let h = self.ssm.h;
        let scale = params.get(ids.norm_scale).data();
        let mut norm_grads = (Vec::new(), Vec::new());
        // Through a post-norm to r = input + o.
        let dr = if self.prenorm {
            dout.to_vec()
        } else {
            let mut dr = vec![0.0f32; dout.len()];
            norm_grads = norm::backward(norm_mode, &pass.norm, h, scale, dout, &mut dr);
            dr
        };
        // The activation, back to dy.
        let mut dy = vec![0.0f32; dr.len()];
        let mut dg = vec![0.0f32; dr.len()];
        match self.activation {
            Activation::Gelu => dg.copy_from_slice(&dr),
            act => {
                let mut dpre = dr.clone();
                apply_mask(&masks.second, &mut dpre, time, h);
                let values: &[f32] = match act {
                    Activation::HalfGlu1 => &pass.g,
                    Activation::HalfGlu2 => &pass.ssm.y,
                    _ => &pass.lin,
                };
                // o = v * s: dv = do s, d(gate input) = do v s (1 - s).
                let dv: Vec<f32> = dpre.iter().zip(&pass.gate).map(|(d, s)| d * s).collect();
                let ds: Vec<f32> =
                    dpre.iter().zip(values).zip(&pass.gate).map(|((d, v), s)| d * v * s * (1.0 - s)).collect();
                let (k2, b2) = ids.out2.expect("GLUs have out2");
                let (mut dk, mut db) = (vec![0.0f32; h * h], vec![0.0f32; h]);
                dense_backward(&pass.g, params.get(k2).data(), &ds, h, &mut dk, &mut db, &mut dg);
                grads[k2].data_mut().copy_from_slice(&dk);
                grads[b2].data_mut().copy_from_slice(&db);
                match act {
                    Activation::HalfGlu1 => dg.iter_mut().zip(&dv).for_each(|(a, b)| *a += b),
                    Activation::HalfGlu2 => dy.copy_from_slice(&dv),
                    _ => {
                        let (k1, b1) = ids.out1.expect("full_glu has out1");
                        dense_backward(&pass.g, params.get(k1).data(), &dv, h, &mut dk, &mut db, &mut dg);
                        grads[k1].data_mut().copy_from_slice(&dk);
                        grads[b1].data_mut().copy_from_slice(&db);
                    }
                }
            }
        }
        apply_mask(&masks.first, &mut dg, time, h);
        for ((d, g), y) in dy.iter_mut().zip(&dg).zip(&pass.ssm.y) {
            *d += g * gelu_derivative(*y);
        }
        // The SSM.
        let c = ids.c_slices(params);
        let weights = ssm_weights(ids, params, &c);
        let sg = self.ssm.backward(&weights, &pass.ssm, &pass.a, &dy, batch, time)?;
        grads[ids.lambda_re].data_mut().copy_from_slice(&sg.params.lambda_re);
        grads[ids.lambda_im].data_mut().copy_from_slice(&sg.params.lambda_im);
        grads[ids.b].data_mut().copy_from_slice(&sg.params.b);
        for (&i, g) in ids.c.iter().zip(&sg.params.c) {
            grads[i].data_mut().copy_from_slice(g);
        }
        grads[ids.d].data_mut().copy_from_slice(&sg.params.d);
        grads[ids.log_step].data_mut().copy_from_slice(&sg.params.log_step);
        // Through a pre-norm to the input, plus the skip.
        let mut dinput = dr;
        if self.prenorm {
            let mut dz = vec![0.0f32; dinput.len()];
            norm_grads = norm::backward(norm_mode, &pass.norm, h, scale, &sg.z, &mut dz);
            dinput.iter_mut().zip(&dz).for_each(|(a, b)| *a += b);
        } else {
            dinput.iter_mut().zip(&sg.z).for_each(|(a, b)| *a += b);
        }
        grads[ids.norm_scale].data_mut().copy_from_slice(&norm_grads.0);
        grads[ids.norm_bias].data_mut().copy_from_slice(&norm_grads.1);
        Ok(dinput)
    }
}
