//! S5's forward and backward passes on an accelerator (`crate::backend::accelerator`), mirroring
//! `S5::forward_with` / `S5::backward_with`: the encoder, decoder and GLU Dense layers and the
//! SSM's B_bar and C products as GEMMs over all (batch * time) rows, with the real matrices
//! [Re B_bar^T | Im B_bar^T] and C_cat built on the host per pass by the CPU's own code
//! (`SsmSpec::input_matrix` / `output_matrix`); the complex diagonal scan (both directions when
//! bidirectional) and its adjoint as kernels with the time loop on the device (a thread per
//! (sample, state), `kernels/s5_scan.cu`); norms, GELU, the gate, dropout and the residual as
//! the small kernels of `kernels/s5_layers.cu`.
//!
//! Backward, the per-(sample, state) parts of dL/dLambda_bar come back and are summed on the host
//! in sample order in f64, then carried through the discretisation together with dB_cat by the
//! CPU model's own `SsmSpec::discretization_gradients`; dC_cat maps to the C tensors by
//! `SsmSpec::c_gradients`. Training mode uses BatchNorm's batch statistics (read back for the
//! running update) and the CPU's dropout masks, drawn on the host from the same seed.
//! Tested on the kernel emulator against the CPU model: the kernels repeat the CPU's operations
//! in the CPU's order (f64 sums in row order, no fused multiply-adds), so there the outputs and
//! every gradient equal the CPU's bit for bit.

use super::config::Activation;
use super::layer::{ssm_weights, LayerIds};
use super::norm::NormMode;
use super::ssm::C64;
use super::S5;
use crate::backend::accelerator::{kernel_int, linear, Accelerator, BufferId, KernelArg, MatrixView};
use crate::backend::launch::{self, DeviceLimits};
use crate::backend::staging::StagedInput;
use crate::engine::{ParamSet, Tensor};
use anyhow::{bail, Result};

/// What the forward pass leaves on the device for the backward pass.
pub struct S5DeviceForward {
    pub batch: usize,
    pub time: usize,
    x: BufferId,
    encoded: BufferId,
    layers: Vec<LayerOnDevice>,
    norm_mode: NormMode,
    /// BatchNorm's batch (mean, var) per layer in training mode, for the running update.
    batch_statistics: Vec<(Vec<f32>, Vec<f32>)>,
    /// Decoder outputs at every step, (batch, time, d_output).
    pub y: Vec<f32>,
}

impl S5DeviceForward {
    /// As `S5Forward::batch_statistics`.
    pub fn batch_statistics(&self) -> Vec<(&[f32], &[f32])> {
        self.batch_statistics.iter().map(|(m, v)| (m.as_slice(), v.as_slice())).collect()
    }
}

/// One layer's saved state (the buffers of `layer::LayerForward`).
struct LayerOnDevice {
    /// The SSM's input a (the layer's input itself without a pre-norm).
    a: BufferId,
    /// The norm's xhat and rstd (of h with a pre-norm, of r with a post-norm).
    xhat: BufferId,
    rstd: BufferId,
    /// The dropout masks (batch, H) of the two call sites.
    masks: Option<(BufferId, BufferId)>,
    /// The SSM's input and output matrices as uploaded, its states and output y.
    input_matrix: BufferId,
    output_matrix: BufferId,
    states: BufferId,
    ssm_y: BufferId,
    /// drop1(gelu(y)), the sigmoid gate, g W1 + b1 (full_glu).
    g: BufferId,
    gate: Option<BufferId>,
    lin: Option<BufferId>,
    out: BufferId,
}

/// The sizes every kernel of a pass takes.
#[derive(Clone, Copy)]
struct Shape {
    batch: usize,
    time: usize,
    rows: usize,
    h: usize,
}

impl Shape {
    fn n(&self) -> usize {
        self.rows * self.h
    }
}

fn int(n: usize) -> Result<KernelArg> {
    Ok(KernelArg::Int(kernel_int(n)?))
}

fn buf(b: BufferId) -> KernelArg {
    KernelArg::Buffer(b)
}

/// An element-wise kernel over `n` values.
fn elementwise(acc: &mut dyn Accelerator, kernel: &str, n: usize, args: &[KernelArg]) -> Result<()> {
    acc.launch(kernel, launch::elementwise(n), args)
}

/// x += y over n values.
fn add_into(acc: &mut dyn Accelerator, x: BufferId, y: BufferId, n: usize) -> Result<()> {
    elementwise(acc, "s5_add_into", n, &[buf(x), buf(y), int(n)?])
}

/// A copy of x (n values).
fn copy(acc: &mut dyn Accelerator, x: BufferId, n: usize) -> Result<BufferId> {
    let out = acc.zeros(n)?;
    add_into(acc, out, x, n)?;
    Ok(out)
}

/// v *= mask per (sample, feature).
fn apply_mask(acc: &mut dyn Accelerator, v: BufferId, mask: BufferId, s: Shape) -> Result<()> {
    elementwise(acc, "s5_apply_mask", s.n(), &[buf(v), buf(mask), int(s.batch)?, int(s.time)?, int(s.h)?])
}

/// Column sums of (rows, cols) in f64, read back.
fn column_sums(acc: &mut dyn Accelerator, x: BufferId, rows: usize, cols: usize) -> Result<Vec<f32>> {
    let out = acc.zeros(cols)?;
    elementwise(acc, "s5_column_sums", cols, &[buf(x), int(rows)?, int(cols)?, buf(out)])?;
    acc.read(out)
}

/// A Dense layer's backward: dK = x^T dy and db (read back), and dx (+)= dy K^T when asked.
#[allow(clippy::too_many_arguments)]
fn dense_backward(
    acc: &mut dyn Accelerator,
    x: BufferId,
    kernel: BufferId,
    dy: BufferId,
    rows: usize,
    n_in: usize,
    n_out: usize,
    dx: Option<(BufferId, f32)>,
) -> Result<(Vec<f32>, Vec<f32>)> {
    let dk = acc.zeros(n_in * n_out)?;
    acc.gemm(
        1.0,
        MatrixView::dense(x, rows, n_in).t(),
        MatrixView::dense(dy, rows, n_out),
        0.0,
        MatrixView::dense(dk, n_in, n_out),
    )?;
    if let Some((dx, beta)) = dx {
        acc.gemm(
            1.0,
            MatrixView::dense(dy, rows, n_out),
            MatrixView::dense(kernel, n_in, n_out).t(),
            beta,
            MatrixView::dense(dx, rows, n_in),
        )?;
    }
    Ok((acc.read(dk)?, column_sums(acc, dy, rows, n_out)?))
}

/// A norm's forward pass on z: (out, xhat, rstd, batch (mean, var) in training).
struct NormOnDevice {
    out: BufferId,
    xhat: BufferId,
    rstd: BufferId,
    statistics: Option<(Vec<f32>, Vec<f32>)>,
}

fn norm_forward(
    acc: &mut dyn Accelerator,
    s5: &S5,
    layer: usize,
    mode: NormMode,
    z: BufferId,
    s: Shape,
) -> Result<NormOnDevice> {
    let ids = &s5.layers[layer];
    let scale = acc.upload(s5.params.get(ids.norm_scale).data())?;
    let bias = acc.upload(s5.params.get(ids.norm_bias).data())?;
    let (out, xhat) = (acc.zeros(s.n())?, acc.zeros(s.n())?);
    if mode == NormMode::Layer {
        let rstd = acc.zeros(s.rows)?;
        elementwise(
            acc,
            "s5_layer_norm_forward",
            s.rows,
            &[buf(z), int(s.rows)?, int(s.h)?, buf(scale), buf(bias), buf(xhat), buf(out), buf(rstd)],
        )?;
        return Ok(NormOnDevice { out, xhat, rstd, statistics: None });
    }
    let (running_mean, running_var) = &s5.running_statistics()[layer];
    let running_mean = acc.upload(running_mean)?;
    let running_var = acc.upload(running_var)?;
    let (rstd, mean, var) = (acc.zeros(s.h)?, acc.zeros(s.h)?, acc.zeros(s.h)?);
    let training = mode == NormMode::BatchTrain;
    elementwise(
        acc,
        "s5_batch_norm_forward",
        s.h,
        &[
            buf(z),
            int(s.rows)?,
            int(s.h)?,
            buf(scale),
            buf(bias),
            buf(running_mean),
            buf(running_var),
            KernelArg::Int(i32::from(training)),
            buf(xhat),
            buf(out),
            buf(rstd),
            buf(mean),
            buf(var),
        ],
    )?;
    let statistics = if training { Some((acc.read(mean)?, acc.read(var)?)) } else { None };
    Ok(NormOnDevice { out, xhat, rstd, statistics })
}

/// A norm's backward pass: dz (written, or added to `dz` when `accumulate`) and the gradients
/// of scale and bias into `grads`.
#[allow(clippy::too_many_arguments)]
fn norm_backward(
    acc: &mut dyn Accelerator,
    ids: &LayerIds,
    params: &ParamSet,
    mode: NormMode,
    layer: &LayerOnDevice,
    dout: BufferId,
    dz: BufferId,
    accumulate: bool,
    s: Shape,
    grads: &mut [Tensor],
) -> Result<()> {
    let scale = acc.upload(params.get(ids.norm_scale).data())?;
    let (dscale, dbias) = (acc.zeros(s.h)?, acc.zeros(s.h)?);
    let code = match mode {
        NormMode::BatchTrain => 0,
        NormMode::BatchEval => 1,
        NormMode::Layer => 2,
    };
    elementwise(
        acc,
        "s5_norm_backward_features",
        s.h,
        &[
            buf(dout),
            buf(layer.xhat),
            int(s.rows)?,
            int(s.h)?,
            buf(scale),
            buf(layer.rstd),
            KernelArg::Int(code),
            KernelArg::Int(i32::from(accumulate)),
            buf(dz),
            buf(dscale),
            buf(dbias),
        ],
    )?;
    if mode == NormMode::Layer {
        elementwise(
            acc,
            "s5_layer_norm_backward",
            s.rows,
            &[
                buf(dout),
                buf(layer.xhat),
                buf(layer.rstd),
                int(s.rows)?,
                int(s.h)?,
                buf(scale),
                KernelArg::Int(i32::from(accumulate)),
                buf(dz),
            ],
        )?;
    }
    grads[ids.norm_scale].data_mut().copy_from_slice(&acc.read(dscale)?);
    grads[ids.norm_bias].data_mut().copy_from_slice(&acc.read(dbias)?);
    Ok(())
}

/// The evaluation-mode forward pass for dense inputs x (batch, time, d_input).
pub fn forward_on(
    acc: &mut dyn Accelerator,
    limits: &DeviceLimits,
    s5: &S5,
    x: &StagedInput,
) -> Result<S5DeviceForward> {
    forward_in_mode(acc, limits, s5, x, None)
}

/// The training-mode forward pass: BatchNorm on the batch's statistics, dropout from `seed`.
pub fn forward_train_on(
    acc: &mut dyn Accelerator,
    limits: &DeviceLimits,
    s5: &S5,
    x: &StagedInput,
    seed: u64,
) -> Result<S5DeviceForward> {
    forward_in_mode(acc, limits, s5, x, Some(seed))
}

fn forward_in_mode(
    acc: &mut dyn Accelerator,
    limits: &DeviceLimits,
    s5: &S5,
    x: &StagedInput,
    train_seed: Option<u64>,
) -> Result<S5DeviceForward> {
    let c = &s5.config;
    let (din, h, dout) = (c.d_input, c.d_model, c.d_output);
    x.check_features(din)?;
    let (batch, time) = (x.batch, x.time);
    if batch == 0 || time == 0 {
        bail!("the S5 device path needs at least one sample and one step");
    }
    let ssm = s5.spec.ssm;
    let (p, row) = (ssm.p, ssm.row());
    let scan = launch::leaky_scan(batch, p, limits)?;
    let rows = batch * time;
    let s = Shape { batch, time, rows, h };
    let params = &s5.params;

    let x_buf = x.buffer;
    let enc_k = acc.upload(params.get(s5.encoder.0).data())?;
    let encoded = linear(acc, x_buf, rows, din, MatrixView::dense(enc_k, din, h), params.get(s5.encoder.1).data())?;
    let norm_mode = s5.norm_mode(train_seed.is_some());
    let masks = s5.masks(train_seed, batch);
    let mut layers: Vec<LayerOnDevice> = Vec::with_capacity(s5.layers.len());
    let mut batch_statistics = Vec::new();
    for (i, ids) in s5.layers.iter().enumerate() {
        let input = layers.last().map_or(encoded, |l| l.out);
        let mut norm = None;
        let a = if s5.spec.prenorm {
            let n = norm_forward(acc, s5, i, norm_mode, input, s)?;
            let a = n.out;
            norm = Some(n);
            a
        } else {
            input
        };

        // The SSM: U = a B_cat, the scans, y = D a + X C_cat.
        let c_slices = ids.c_slices(params);
        let w = ssm_weights(ids, params, &c_slices);
        ssm.check(&w)?;
        let disc = ssm.discretize(&w);
        let input_matrix = acc.upload(&ssm.input_matrix(&w, &disc))?;
        let output_matrix = acc.upload(&ssm.output_matrix(&w))?;
        let u = acc.zeros(rows * 2 * p)?;
        acc.gemm(
            1.0,
            MatrixView::dense(a, rows, h),
            MatrixView::dense(input_matrix, h, 2 * p),
            0.0,
            MatrixView::dense(u, rows, 2 * p),
        )?;
        let lambda_re = acc.upload(&disc.lambda_bar.iter().map(|l| l.re as f32).collect::<Vec<_>>())?;
        let lambda_im = acc.upload(&disc.lambda_bar.iter().map(|l| l.im as f32).collect::<Vec<_>>())?;
        let states = acc.zeros(rows * row)?;
        acc.launch(
            "s5_scan_forward",
            scan,
            &[
                buf(u),
                buf(lambda_re),
                buf(lambda_im),
                int(batch)?,
                int(time)?,
                int(p)?,
                int(ssm.directions)?,
                buf(states),
            ],
        )?;
        let d = acc.upload(w.d)?;
        let ssm_y = acc.zeros(s.n())?;
        elementwise(acc, "s5_scale_columns", s.n(), &[buf(a), buf(d), int(rows)?, int(h)?, buf(ssm_y)])?;
        acc.gemm(
            1.0,
            MatrixView::dense(states, rows, row),
            MatrixView::dense(output_matrix, row, h),
            1.0,
            MatrixView::dense(ssm_y, rows, h),
        )?;

        // g = drop1(gelu(y)), then the activation's output o, and r = h + o.
        let g = acc.zeros(s.n())?;
        elementwise(acc, "s5_gelu_forward", s.n(), &[buf(ssm_y), int(s.n())?, buf(g)])?;
        let layer_masks = if masks[i].first.is_empty() {
            None
        } else {
            Some((acc.upload(&masks[i].first)?, acc.upload(&masks[i].second)?))
        };
        if let Some((first, _)) = layer_masks {
            apply_mask(acc, g, first, s)?;
        }
        let (mut gate, mut lin) = (None, None);
        let o = match c.activation_fn {
            Activation::Gelu => copy(acc, g, s.n())?,
            act => {
                let (k2, b2) = ids.out2.expect("GLUs have out2");
                let k2 = acc.upload(params.get(k2).data())?;
                let sigmoid = linear(acc, g, rows, h, MatrixView::dense(k2, h, h), params.get(b2).data())?;
                elementwise(acc, "s5_sigmoid", s.n(), &[buf(sigmoid), int(s.n())?])?;
                gate = Some(sigmoid);
                let values = match act {
                    Activation::HalfGlu1 => g,
                    Activation::HalfGlu2 => ssm_y,
                    _ => {
                        let (k1, b1) = ids.out1.expect("full_glu has out1");
                        let k1 = acc.upload(params.get(k1).data())?;
                        let l = linear(acc, g, rows, h, MatrixView::dense(k1, h, h), params.get(b1).data())?;
                        lin = Some(l);
                        l
                    }
                };
                let o = acc.zeros(s.n())?;
                elementwise(acc, "s5_multiply", s.n(), &[buf(values), buf(sigmoid), int(s.n())?, buf(o)])?;
                if let Some((_, second)) = layer_masks {
                    apply_mask(acc, o, second, s)?;
                }
                o
            }
        };
        add_into(acc, o, input, s.n())?;
        let out = if s5.spec.prenorm {
            o
        } else {
            let n = norm_forward(acc, s5, i, norm_mode, o, s)?;
            let out = n.out;
            norm = Some(n);
            out
        };
        let norm = norm.expect("every layer has one norm");
        if let Some(statistics) = norm.statistics {
            batch_statistics.push(statistics);
        }
        layers.push(LayerOnDevice {
            a,
            xhat: norm.xhat,
            rstd: norm.rstd,
            masks: layer_masks,
            input_matrix,
            output_matrix,
            states,
            ssm_y,
            g,
            gate,
            lin,
            out,
        });
    }
    let last = layers.last().map_or(encoded, |l| l.out);
    let dec_k = acc.upload(params.get(s5.decoder.0).data())?;
    let y = linear(acc, last, rows, h, MatrixView::dense(dec_k, h, dout), params.get(s5.decoder.1).data())?;
    let y = acc.read(y)?;
    Ok(S5DeviceForward { batch, time, x: x_buf, encoded, layers, norm_mode, batch_statistics, y })
}

/// Gradients of `sum(y * dy)` for every parameter, aligned with `s5.params`.
pub fn backward_on(
    acc: &mut dyn Accelerator,
    limits: &DeviceLimits,
    s5: &S5,
    pass: &S5DeviceForward,
    dy: &[f32],
) -> Result<Vec<Tensor>> {
    let c = &s5.config;
    let (din, h, dout) = (c.d_input, c.d_model, c.d_output);
    let (batch, time) = (pass.batch, pass.time);
    let rows = batch * time;
    if dy.len() != rows * dout {
        bail!("dy of {} values for ({batch}, {time}, {dout})", dy.len());
    }
    if pass.layers.len() != s5.layers.len() {
        bail!("the pass has {} layers, the model {}", pass.layers.len(), s5.layers.len());
    }
    let s = Shape { batch, time, rows, h };
    let params = &s5.params;
    let mut grads = params.zeros_like();

    let dy_buf = acc.upload(dy)?;
    let last = pass.layers.last().map_or(pass.encoded, |l| l.out);
    let dec_k = acc.upload(params.get(s5.decoder.0).data())?;
    let mut dh = acc.zeros(s.n())?;
    let (dk, db) = dense_backward(acc, last, dec_k, dy_buf, rows, h, dout, Some((dh, 0.0)))?;
    grads[s5.decoder.0].data_mut().copy_from_slice(&dk);
    grads[s5.decoder.1].data_mut().copy_from_slice(&db);
    for (i, ids) in s5.layers.iter().enumerate().rev() {
        dh = layer_backward(acc, limits, s5, ids, pass, &pass.layers[i], dh, s, &mut grads)?;
    }
    let enc_k = acc.upload(params.get(s5.encoder.0).data())?;
    let (dk, db) = dense_backward(acc, pass.x, enc_k, dh, rows, din, h, None)?;
    grads[s5.encoder.0].data_mut().copy_from_slice(&dk);
    grads[s5.encoder.1].data_mut().copy_from_slice(&db);
    Ok(grads)
}

/// One layer's backward pass from d out; returns d input (written over `dout`'s buffer).
#[allow(clippy::too_many_arguments)]
fn layer_backward(
    acc: &mut dyn Accelerator,
    limits: &DeviceLimits,
    s5: &S5,
    ids: &LayerIds,
    pass: &S5DeviceForward,
    layer: &LayerOnDevice,
    dout: BufferId,
    s: Shape,
    grads: &mut [Tensor],
) -> Result<BufferId> {
    let (rows, h, n) = (s.rows, s.h, s.n());
    let params = &s5.params;
    // Through a post-norm to r = input + o.
    let dr = if s5.spec.prenorm {
        dout
    } else {
        let dr = acc.zeros(n)?;
        norm_backward(acc, ids, params, pass.norm_mode, layer, dout, dr, false, s, grads)?;
        dr
    };
    // The activation, back to dy (the SSM's output).
    let dy = acc.zeros(n)?;
    let dg = match s5.config.activation_fn {
        Activation::Gelu => copy(acc, dr, n)?,
        act => {
            let dpre = copy(acc, dr, n)?;
            if let Some((_, second)) = layer.masks {
                apply_mask(acc, dpre, second, s)?;
            }
            let values = match act {
                Activation::HalfGlu1 => layer.g,
                Activation::HalfGlu2 => layer.ssm_y,
                _ => layer.lin.expect("full_glu keeps its linear part"),
            };
            let gate = layer.gate.expect("GLUs keep their gate");
            let (dv, dgate) = (acc.zeros(n)?, acc.zeros(n)?);
            elementwise(acc, "s5_glu_backward", n, &[buf(dpre), buf(values), buf(gate), int(n)?, buf(dv), buf(dgate)])?;
            let dg = acc.zeros(n)?;
            let (k2, b2) = ids.out2.expect("GLUs have out2");
            let k2_buf = acc.upload(params.get(k2).data())?;
            let (dk, db) = dense_backward(acc, layer.g, k2_buf, dgate, rows, h, h, Some((dg, 0.0)))?;
            grads[k2].data_mut().copy_from_slice(&dk);
            grads[b2].data_mut().copy_from_slice(&db);
            match act {
                Activation::HalfGlu1 => add_into(acc, dg, dv, n)?,
                Activation::HalfGlu2 => add_into(acc, dy, dv, n)?,
                _ => {
                    let (k1, b1) = ids.out1.expect("full_glu has out1");
                    let k1_buf = acc.upload(params.get(k1).data())?;
                    let (dk, db) = dense_backward(acc, layer.g, k1_buf, dv, rows, h, h, Some((dg, 1.0)))?;
                    grads[k1].data_mut().copy_from_slice(&dk);
                    grads[b1].data_mut().copy_from_slice(&db);
                }
            }
            dg
        }
    };
    if let Some((first, _)) = layer.masks {
        apply_mask(acc, dg, first, s)?;
    }
    elementwise(acc, "s5_gelu_backward", n, &[buf(dg), buf(layer.ssm_y), int(n)?, buf(dy)])?;

    // The SSM.
    let dz = ssm_backward(acc, limits, s5, ids, layer, dy, s, grads)?;

    // Through a pre-norm to the input, plus the skip.
    if s5.spec.prenorm {
        norm_backward(acc, ids, params, pass.norm_mode, layer, dz, dr, true, s, grads)?;
    } else {
        add_into(acc, dr, dz, n)?;
    }
    Ok(dr)
}

/// The SSM's backward pass from dy: its parameters' gradients into `grads`; returns dz (of a).
#[allow(clippy::too_many_arguments)]
fn ssm_backward(
    acc: &mut dyn Accelerator,
    limits: &DeviceLimits,
    s5: &S5,
    ids: &LayerIds,
    layer: &LayerOnDevice,
    dy: BufferId,
    s: Shape,
    grads: &mut [Tensor],
) -> Result<BufferId> {
    let (batch, time, rows, h, n) = (s.batch, s.time, s.rows, s.h, s.n());
    let params = &s5.params;
    let ssm = s5.spec.ssm;
    let (p, row) = (ssm.p, ssm.row());
    let c_slices = ids.c_slices(params);
    let w = ssm_weights(ids, params, &c_slices);
    let disc = ssm.discretize(&w);

    // Feedthrough: dD = sum a dy, dz = D dy.
    let dd = acc.zeros(h)?;
    elementwise(acc, "s5_column_dots", h, &[buf(layer.a), buf(dy), int(rows)?, int(h)?, buf(dd)])?;
    grads[ids.d].data_mut().copy_from_slice(&acc.read(dd)?);
    let d = acc.upload(w.d)?;
    let dz = acc.zeros(n)?;
    elementwise(acc, "s5_scale_columns", n, &[buf(dy), buf(d), int(rows)?, int(h)?, buf(dz)])?;

    // Read-out: dX = dy C_cat^T, dC_cat = X^T dy.
    let dx = acc.zeros(rows * row)?;
    acc.gemm(
        1.0,
        MatrixView::dense(dy, rows, h),
        MatrixView::dense(layer.output_matrix, row, h).t(),
        0.0,
        MatrixView::dense(dx, rows, row),
    )?;
    let dcm = acc.zeros(row * h)?;
    acc.gemm(
        1.0,
        MatrixView::dense(layer.states, rows, row).t(),
        MatrixView::dense(dy, rows, h),
        0.0,
        MatrixView::dense(dcm, row, h),
    )?;
    for (&id, g) in ids.c.iter().zip(ssm.c_gradients(&w, &acc.read(dcm)?)) {
        grads[id].data_mut().copy_from_slice(&g);
    }

    // The reverse scans, and each sample's part of dL/dLambda_bar, summed in sample order.
    let lambda_re = acc.upload(&disc.lambda_bar.iter().map(|l| l.re as f32).collect::<Vec<_>>())?;
    let lambda_im = acc.upload(&disc.lambda_bar.iter().map(|l| l.im as f32).collect::<Vec<_>>())?;
    let du = acc.zeros(rows * 2 * p)?;
    let parts = acc.zeros(batch * p * 4)?;
    acc.launch(
        "s5_scan_backward",
        launch::leaky_scan(batch, p, limits)?,
        &[
            buf(layer.states),
            buf(dx),
            buf(lambda_re),
            buf(lambda_im),
            int(batch)?,
            int(time)?,
            int(p)?,
            int(ssm.directions)?,
            buf(du),
            buf(parts),
        ],
    )?;
    let parts = acc.read(parts)?;
    let mut dlb = vec![C64::new(0.0, 0.0); p];
    for sample in parts.chunks_exact(4 * p) {
        for (total, q) in dlb.iter_mut().zip(sample.chunks_exact(4)) {
            *total += C64::new(q[0] as f64 + q[1] as f64, q[2] as f64 + q[3] as f64);
        }
    }

    // Scan inputs U = a B_cat: dz += dU B_cat^T, dB_cat = a^T dU; then the discretisation.
    acc.gemm(
        1.0,
        MatrixView::dense(du, rows, 2 * p),
        MatrixView::dense(layer.input_matrix, h, 2 * p).t(),
        1.0,
        MatrixView::dense(dz, rows, h),
    )?;
    let dbm = acc.zeros(h * 2 * p)?;
    acc.gemm(
        1.0,
        MatrixView::dense(layer.a, rows, h).t(),
        MatrixView::dense(du, rows, 2 * p),
        0.0,
        MatrixView::dense(dbm, h, 2 * p),
    )?;
    let through = ssm.discretization_gradients(&w, &disc, &acc.read(dbm)?, &dlb);
    grads[ids.lambda_re].data_mut().copy_from_slice(&through.lambda_re);
    grads[ids.lambda_im].data_mut().copy_from_slice(&through.lambda_im);
    grads[ids.b].data_mut().copy_from_slice(&through.b);
    grads[ids.log_step].data_mut().copy_from_slice(&through.log_step);
    Ok(dz)
}

crate::models::on_device::impl_device_model!(
    S5,
    S5DeviceForward,
    fn forward_train_on(
        &self,
        acc: &mut dyn crate::backend::accelerator::Accelerator,
        limits: &crate::backend::launch::DeviceLimits,
        x: &StagedInput,
        seed: u64,
    ) -> anyhow::Result<S5DeviceForward> {
        forward_train_on(acc, limits, self, x, seed)
    },
    /// BatchNorm's running statistics from the device pass's batch statistics, as the CPU.
    fn update_running_state_on(&mut self, pass: &S5DeviceForward) -> anyhow::Result<()> {
        self.update_running_with(pass.norm_mode, &pass.batch_statistics())
    }
);

/// The device passes against the CPU model on any accelerator: inputs uniform in [-1, 1);
/// training mode (`train_seed`: batch statistics, dropout) or evaluation; the outputs, the
/// batch statistics and every gradient are compared. Returns (output error, worst gradient
/// error relative to its tensor's largest value).
#[cfg(test)]
pub(crate) fn check_against_cpu(
    acc: &mut dyn Accelerator,
    limits: &DeviceLimits,
    s5: &S5,
    batch: usize,
    time: usize,
    train_seed: Option<u64>,
    tolerance: f32,
) -> (f32, f32) {
    use crate::backend::emulation::{error_relative_to_largest, max_error, uniform};
    use crate::engine::Inputs;
    let (din, dout) = (s5.config.d_input, s5.config.d_output);
    let x = uniform(batch * time * din, -1.0, 1.0, 21);
    let dy = uniform(batch * time * dout, -1.0, 1.0, 22);
    let inputs = Inputs::dense(&x, batch, time, din).unwrap();
    let cpu = s5.forward_with(&inputs, train_seed).unwrap();
    let (expected, _) = s5.backward_with(&cpu, &inputs, &dy).unwrap();
    acc.clear();
    let staged = crate::backend::staging::stage(acc, &inputs).unwrap();
    let pass = forward_in_mode(acc, limits, s5, &staged, train_seed).unwrap();
    let output_error = max_error(&pass.y, &cpu.y);
    assert!(output_error < tolerance, "outputs: error {output_error:e}");
    let want = if s5.config.batchnorm && train_seed.is_some() { cpu.batch_statistics() } else { Vec::new() };
    assert_eq!(pass.batch_statistics().len(), want.len());
    for (i, ((m, v), (cm, cv))) in pass.batch_statistics().iter().zip(&want).enumerate() {
        let error = max_error(m, cm).max(max_error(v, cv));
        assert!(error < tolerance, "layer {i}'s batch statistics: error {error:e}");
    }
    let grads = backward_on(acc, limits, s5, &pass, &dy).unwrap();
    assert_eq!(grads.len(), expected.len());
    let mut worst = 0.0f32;
    for ((got, want), p) in grads.iter().zip(&expected).zip(s5.params.iter()) {
        assert!(want.data().iter().any(|&g| g != 0.0), "{}: the CPU gradient is zero", p.name);
        let error = error_relative_to_largest(got.data(), want.data(), 1e-6);
        assert!(error < 10.0 * tolerance, "{}: error {error:e}", p.name);
        worst = worst.max(error);
    }
    (output_error, worst)
}

/// A tiny model with every parameter moved off its initial value (zero biases, unit scales),
/// so every gradient path carries a signal.
#[cfg(test)]
pub(crate) fn spread_parameters(s5: &mut S5, seed: u64) {
    use crate::backend::emulation::uniform;
    for k in 0..s5.params.len() {
        let t = s5.params.get_mut(k);
        let noise = uniform(t.len(), -0.2, 0.2, seed + k as u64);
        t.data_mut().iter_mut().zip(noise).for_each(|(v, n)| *v += n);
    }
}

#[cfg(test)]
mod tests {
    use super::super::config::{CInit, Discretization, Mode, S5Config};
    use super::*;
    use crate::backend::emulation::accelerator::EmulatedAccelerator;
    use crate::backend::emulation::{emulator, uniform};

    /// d_input 3, d_output 2, the given width, state size and layers; `edit` sets the rest.
    fn model(h: usize, states: usize, blocks: usize, layers: usize, edit: impl Fn(&mut S5Config)) -> S5 {
        let mut config = S5Config::new(3, 2, h, states, layers);
        config.blocks = blocks;
        edit(&mut config);
        let mut s5 = S5::new(config, 5).unwrap();
        spread_parameters(&mut s5, 40);
        s5
    }

    /// Running statistics away from (0, 1), for BatchNorm in evaluation.
    fn spread_running(s5: &mut S5) {
        for i in 0..s5.config.n_layers {
            let h = s5.config.d_model;
            let (m, v) = S5::running_names(i);
            s5.set_running(&m, uniform(h, -0.3, 0.3, 60 + i as u64)).unwrap();
            s5.set_running(&v, uniform(h, 0.5, 2.0, 70 + i as u64)).unwrap();
        }
    }

    #[test]
    fn the_device_passes_equal_the_cpu_model() {
        let Some(emulator) = emulator() else { return };
        let mut acc = EmulatedAccelerator::new(emulator);
        let limits = DeviceLimits::default();
        // run_train.py's defaults (half_glu1, pre-norm BatchNorm, ZOH, conjugate symmetry) in
        // training with dropout.
        let s5 = model(4, 4, 1, 2, |c| c.p_dropout = 0.2);
        let errors = check_against_cpu(&mut acc, &limits, &s5, 3, 7, Some(11), 1e-5);
        eprintln!("defaults, training: {errors:?}");
        // The same in evaluation (running statistics).
        let mut s5 = s5;
        spread_running(&mut s5);
        let errors = check_against_cpu(&mut acc, &limits, &s5, 3, 7, None, 1e-5);
        eprintln!("defaults, evaluation: {errors:?}");
        // Bidirectional with one C of 2P, bilinear, LayerNorm after the residual, GELU only,
        // every state kept, the last step read.
        let s5 = model(5, 6, 2, 1, |c| {
            c.bidirectional = true;
            c.c_init = CInit::ComplexNormal;
            c.discretization = Discretization::Bilinear;
            c.batchnorm = false;
            c.prenorm = false;
            c.activation_fn = Activation::Gelu;
            c.conj_sym = false;
            c.mode = Some(Mode::Last);
        });
        let errors = check_against_cpu(&mut acc, &limits, &s5, 2, 12, Some(3), 1e-5);
        eprintln!("bidirectional, LayerNorm post-norm, gelu: {errors:?}");
        // full_glu, bidirectional with C1 and C2, clipped eigenvalues (one of them above the
        // clip), pre-norm BatchNorm in evaluation, two layers.
        let mut s5 = model(6, 8, 2, 2, |c| {
            c.bidirectional = true;
            c.activation_fn = Activation::FullGlu;
            c.clip_eigs = true;
        });
        let lambda_re = s5.layers[0].lambda_re;
        s5.params.get_mut(lambda_re).data_mut()[0] = 0.05;
        spread_running(&mut s5);
        let errors = check_against_cpu(&mut acc, &limits, &s5, 2, 5, None, 1e-5);
        eprintln!("full_glu, bidirectional C1/C2, clip_eigs, BatchNorm eval: {errors:?}");
        // half_glu2, post-norm BatchNorm in training with dropout, ZOH without conjugate
        // symmetry, odd sizes.
        let s5 = model(5, 4, 2, 2, |c| {
            c.activation_fn = Activation::HalfGlu2;
            c.prenorm = false;
            c.conj_sym = false;
            c.p_dropout = 0.3;
        });
        let errors = check_against_cpu(&mut acc, &limits, &s5, 3, 9, Some(8), 1e-5);
        eprintln!("half_glu2, post-norm BatchNorm training, dropout: {errors:?}");
        // Pre-norm LayerNorm, bilinear, conjugate symmetry, LeCun C, training.
        let s5 = model(4, 8, 2, 1, |c| {
            c.batchnorm = false;
            c.discretization = Discretization::Bilinear;
            c.c_init = CInit::LecunNormal;
        });
        let errors = check_against_cpu(&mut acc, &limits, &s5, 2, 6, Some(1), 1e-5);
        eprintln!("pre-norm LayerNorm, bilinear: {errors:?}");
        // More states than a scan block (P 256: two blocks of 128 along x) and more values than
        // an element-wise block (2 x 20 x 16 = 640: three blocks).
        let s5 = model(16, 512, 8, 1, |c| c.bidirectional = true);
        let errors = check_against_cpu(&mut acc, &limits, &s5, 2, 20, Some(2), 1e-5);
        eprintln!("P 256 over two scan blocks: {errors:?}");
    }

    /// Ten Adam steps through `OnDevice` (training mode: batch statistics and dropout, the
    /// running statistics updated as the trainer does) equal ten on the CPU.
    #[test]
    fn ten_training_steps_on_the_device_equal_ten_on_the_cpu() {
        let Some(emulator) = emulator() else { return };
        let make = || model(4, 4, 1, 2, |c| c.p_dropout = 0.1);
        crate::models::on_device::check_ten_training_steps(
            make,
            Box::new(EmulatedAccelerator::new(emulator)),
            2,
            6,
            1e-4,
        );
    }

    /// The trainer's sequence: `forward_train` (under the model's mean readout), `backward`,
    /// `update_running_state`; the running statistics after the step equal the CPU model's.
    #[test]
    fn running_statistics_after_a_device_training_step_equal_the_cpus() {
        use crate::engine::Inputs;
        use crate::models::on_device::OnDevice;
        use crate::models::{Buffer, SequenceModel};
        let Some(emulator) = emulator() else { return };
        let s5 = model(4, 4, 1, 2, |c| c.bn_momentum = 0.5);
        let mut cpu: Box<dyn SequenceModel> = Box::new(s5.clone());
        let mut device: Box<dyn SequenceModel> =
            Box::new(OnDevice::new(s5, Box::new(EmulatedAccelerator::new(emulator)), DeviceLimits::default()));
        let (batch, time) = (3, 5);
        let x = uniform(batch * time * 3, -1.0, 1.0, 9);
        let inputs = Inputs::dense(&x, batch, time, 3).unwrap();
        let before = cpu.buffers();
        for model in [&mut cpu, &mut device] {
            let pass = model.forward_train(&inputs, 4).unwrap();
            let dy = vec![0.1; pass.output().len()];
            model.backward(pass.as_ref(), &inputs, &dy).unwrap();
            model.update_running_state(pass.as_ref()).unwrap();
        }
        let (want, got) = (cpu.buffers(), device.buffers());
        assert_eq!(want.len(), 4);
        for (((name, w), (_, g)), (_, b)) in want.iter().zip(&got).zip(&before) {
            let (Buffer::F32(w), Buffer::F32(g), Buffer::F32(b)) = (w, g, b) else { panic!("{name} is not f32") };
            assert_ne!(w, b, "{name} did not move");
            assert!(crate::backend::emulation::max_error(g, w) < 1e-6, "{name}: {g:?} vs {w:?}");
        }
    }

    #[test]
    fn inputs_of_the_wrong_size_are_refused() {
        let Some(emulator) = emulator() else { return };
        let mut acc = EmulatedAccelerator::new(emulator);
        let s5 = model(4, 4, 1, 1, |_| {});
        let wrong = crate::backend::staging::stage_dense(&mut acc, &[0.0; 10], 1, 2, 5).unwrap();
        let error = forward_on(&mut acc, &DeviceLimits::default(), &s5, &wrong).err().unwrap().to_string();
        assert!(error.contains("5 features per step"), "{error}");
        let empty = crate::backend::staging::stage_dense(&mut acc, &[], 2, 0, 3).unwrap();
        let error = forward_on(&mut acc, &DeviceLimits::default(), &s5, &empty).err().unwrap().to_string();
        assert!(error.contains("at least one"), "{error}");
    }
}

/// On a real GPU (feature `cuda`): the project's LRA preset of S5 (6 bidirectional layers of H
/// 192, P 128 after conjugate symmetry, dropout 0.05) at LRA Image's shape, batch 8 x 1024 steps,
/// in training and in evaluation; SKIPPED without one.
#[cfg(all(test, feature = "cuda"))]
mod gpu_tests {
    use super::*;
    use crate::backend::cuda::accelerator::gpu_for_tests;
    use crate::models::ModelConfig;

    #[test]
    fn gpu_s5_passes_equal_the_cpu_at_lra_image_shape() {
        let Some(mut acc) = gpu_for_tests("the S5 equivalence test") else { return };
        let limits = acc.limits;
        let preset = crate::tasks::TaskConfig::named("lra-image").unwrap().model_preset("s5").unwrap();
        let ModelConfig::S5(config) = preset else { panic!("the S5 preset is not an S5 config") };
        let mut s5 = S5::new(config, 0).unwrap();
        spread_parameters(&mut s5, 90);
        let started = std::time::Instant::now();
        let training = check_against_cpu(&mut acc, &limits, &s5, 8, 1024, Some(7), 2e-4);
        let evaluation = check_against_cpu(&mut acc, &limits, &s5, 8, 1024, None, 2e-4);
        eprintln!(
            "S5 LRA Image batch 8 x 1024: training (output, gradient) errors {training:?}, evaluation {evaluation:?} \
             ({:.1} s with the CPU references)",
            started.elapsed().as_secs_f64()
        );
    }
}
