//! The TCN's forward and backward passes on an accelerator (`crate::backend::accelerator`), in
//! `Tcn::forward`'s and `Tcn::backward`'s steps: per layer, the channel part as one GEMM over
//! every (sample, step) row and every tap, Z = h W_all^T (W_all the (K * C_out, C_in) weights as
//! stored), then the `causal_conv_forward` kernel for the shifted sum over the taps, the bias and
//! the activation; the 1x1 head as a GEMM plus its bias. Backward mirrors it: the head's products
//! and column sums, then per layer `causal_conv_backward` (the activation's chain rule and the
//! shift the other way, into dZ), dW_all = dZ^T h, dh = dZ W_all and the bias as column sums of
//! dPre. The input goes in dense (the CPU's input layer skips zeros; the GPU's GEMM does not
//! need to). Tested on the kernel emulator against the CPU model.
//!
//! Memory: the whole batch is one block here, unlike the CPU's `sample_blocks`. Besides every
//! layer's pre-activation and activation (rows x C_out each, kept for the backward pass), one
//! scratch Z (and in the backward pass one dZ) of rows x max(K * C_out) floats is reused by every
//! layer: for the default 7 x 128 x 35 network at a training batch of 8 x 500 rows that is
//! 72 MB, but a 128 x 6,000-step evaluation window would need 13.8 GB; a caller with batches
//! that long splits them into groups of samples (samples do not interact).

use super::Tcn;
use crate::backend::accelerator::{column_sums, kernel_int, linear, Accelerator, BufferId, KernelArg, MatrixView};
use crate::backend::launch::{self, DeviceLimits};
use crate::backend::staging::StagedInput;
use crate::engine::kernels::Activation;
use crate::engine::Tensor;
use anyhow::{bail, Result};

/// What the device forward pass leaves on the device for the backward pass.
pub struct TcnDeviceForward {
    pub batch: usize,
    pub time: usize,
    /// The dense input, (batch * time, num_input): layer 1's h for its weight gradient.
    x: BufferId,
    /// Every layer's pre-activation and activation, (batch * time, C_out) each.
    pre: Vec<BufferId>,
    post: Vec<BufferId>,
    /// Outputs at every step, (batch, time, num_output), read back.
    pub y: Vec<f32>,
}

/// The kernels' activation code (as in `causal_conv.cu`).
fn activation_code(activation: Activation) -> i32 {
    match activation {
        Activation::Relu => 0,
        Activation::Silu => 1,
    }
}

/// The shape and activation arguments that both kernels take after their first two buffers.
fn conv_ints(rows: usize, time: usize, shape: &super::ConvShape, activation: Activation) -> Result<[KernelArg; 6]> {
    Ok([
        KernelArg::Int(kernel_int(rows)?),
        KernelArg::Int(kernel_int(time)?),
        KernelArg::Int(kernel_int(shape.outputs)?),
        KernelArg::Int(kernel_int(shape.kernel)?),
        KernelArg::Int(kernel_int(shape.dilation)?),
        KernelArg::Int(activation_code(activation)),
    ])
}

/// The widest product of any layer, K * C_out: the scratch Z's columns.
fn widest_product(tcn: &Tcn) -> usize {
    tcn.layers.iter().map(|l| l.kernel * l.outputs).max().unwrap_or(0)
}

/// Evaluation-mode forward pass (the TCN has no training-only parts) for dense inputs x
/// (batch, time, num_input).
pub fn forward_on(
    acc: &mut dyn Accelerator,
    _limits: &DeviceLimits,
    tcn: &Tcn,
    x: &StagedInput,
) -> Result<TcnDeviceForward> {
    let (d, out) = (tcn.config.num_input, tcn.config.num_output);
    x.check_features(d)?;
    let (batch, time) = (x.batch, x.time);
    let Some(last) = tcn.layers.last() else {
        bail!("the TCN has no layers");
    };
    let rows = batch * time;
    let act = tcn.config.activation;
    let x_buf = x.buffer;
    let z = acc.zeros(rows * widest_product(tcn))?;
    let (mut pre_all, mut post_all) = (Vec::with_capacity(tcn.layers.len()), Vec::with_capacity(tcn.layers.len()));
    for (l, (shape, &(w, b))) in tcn.layers.iter().zip(&tcn.conv_ids).enumerate() {
        let (c, cin, kc) = (shape.outputs, shape.inputs, shape.kernel * shape.outputs);
        let h = if l == 0 { x_buf } else { post_all[l - 1] };
        // Z = h W_all^T: every row's product with every tap at once.
        let weight = acc.upload(tcn.params.get(w).data())?;
        acc.gemm(
            1.0,
            MatrixView::dense(h, rows, cin),
            MatrixView::dense(weight, kc, cin).t(),
            0.0,
            MatrixView::dense(z, rows, kc),
        )?;
        let bias = acc.upload(tcn.params.get(b).data())?;
        let pre = acc.zeros(rows * c)?;
        let post = acc.zeros(rows * c)?;
        let ints = conv_ints(rows, time, shape, act)?;
        let mut args = vec![KernelArg::Buffer(z), KernelArg::Buffer(bias)];
        args.extend(ints);
        args.extend([KernelArg::Buffer(pre), KernelArg::Buffer(post)]);
        acc.launch("causal_conv_forward", launch::causal_conv(rows, c)?, &args)?;
        pre_all.push(pre);
        post_all.push(post);
    }
    let width = last.outputs;
    let h_last = *post_all.last().expect("one activation per layer");
    let head_weight = acc.upload(tcn.params.get(tcn.head_weight).data())?;
    let head_bias = tcn.params.get(tcn.head_bias).data();
    let y = linear(acc, h_last, rows, width, MatrixView::dense(head_weight, out, width).t(), head_bias)?;
    let y = acc.read(y)?;
    Ok(TcnDeviceForward { batch, time, x: x_buf, pre: pre_all, post: post_all, y })
}

/// Gradients of `sum(y * dy)` for every parameter, aligned with `tcn.params`. As on the CPU, the
/// input gradient is not formed.
pub fn backward_on(
    acc: &mut dyn Accelerator,
    _limits: &DeviceLimits,
    tcn: &Tcn,
    pass: &TcnDeviceForward,
    dy: &[f32],
) -> Result<Vec<Tensor>> {
    let out = tcn.config.num_output;
    let (batch, time) = (pass.batch, pass.time);
    let rows = batch * time;
    if dy.len() != rows * out {
        bail!("dy of {} values for ({batch}, {time}, {out})", dy.len());
    }
    let (Some(last), Some(&h_last)) = (tcn.layers.last(), pass.post.last()) else {
        bail!("the TCN has no layers");
    };
    if pass.pre.len() != tcn.layers.len() {
        bail!("a forward pass of {} layers for a TCN of {}", pass.pre.len(), tcn.layers.len());
    }
    let width = last.outputs;
    let act = tcn.config.activation;
    let mut grads = tcn.params.zeros_like();

    // Head: dW = dY^T h_L, db = column sums of dY, dh_L = dY W.
    let dy_buf = acc.upload(dy)?;
    let head_weight = acc.upload(tcn.params.get(tcn.head_weight).data())?;
    let head_grad = acc.zeros(out * width)?;
    acc.gemm(
        1.0,
        MatrixView::dense(dy_buf, rows, out).t(),
        MatrixView::dense(h_last, rows, width),
        0.0,
        MatrixView::dense(head_grad, out, width),
    )?;
    grads[tcn.head_weight].data_mut().copy_from_slice(&acc.read(head_grad)?);
    grads[tcn.head_bias].data_mut().copy_from_slice(&column_sums(acc, dy_buf, rows, out)?);
    let mut dh = acc.zeros(rows * width)?;
    acc.gemm(
        1.0,
        MatrixView::dense(dy_buf, rows, out),
        MatrixView::dense(head_weight, out, width),
        0.0,
        MatrixView::dense(dh, rows, width),
    )?;

    let dz = acc.zeros(rows * widest_product(tcn))?;
    for l in (0..tcn.layers.len()).rev() {
        let shape = &tcn.layers[l];
        let (w, b) = tcn.conv_ids[l];
        let (c, cin, kc) = (shape.outputs, shape.inputs, shape.kernel * shape.outputs);
        // dPre = dh act'(pre); dZ = dPre shifted back by each tap's lag.
        let dpre = acc.zeros(rows * c)?;
        let ints = conv_ints(rows, time, shape, act)?;
        let mut args = vec![KernelArg::Buffer(dh), KernelArg::Buffer(pass.pre[l])];
        args.extend(ints);
        args.extend([KernelArg::Buffer(dz), KernelArg::Buffer(dpre)]);
        acc.launch("causal_conv_backward", launch::causal_conv(rows, kc)?, &args)?;
        grads[b].data_mut().copy_from_slice(&column_sums(acc, dpre, rows, c)?);
        // dW_all = dZ^T h; dh below = dZ W_all (the input layer needs none).
        let h = if l == 0 { pass.x } else { pass.post[l - 1] };
        let weight_grad = acc.zeros(kc * cin)?;
        acc.gemm(
            1.0,
            MatrixView::dense(dz, rows, kc).t(),
            MatrixView::dense(h, rows, cin),
            0.0,
            MatrixView::dense(weight_grad, kc, cin),
        )?;
        grads[w].data_mut().copy_from_slice(&acc.read(weight_grad)?);
        if l > 0 {
            let weight = acc.upload(tcn.params.get(w).data())?;
            let dh_below = acc.zeros(rows * cin)?;
            acc.gemm(
                1.0,
                MatrixView::dense(dz, rows, kc),
                MatrixView::dense(weight, kc, cin),
                0.0,
                MatrixView::dense(dh_below, rows, cin),
            )?;
            dh = dh_below;
        }
    }
    Ok(grads)
}

crate::models::on_device::impl_device_model!(Tcn, TcnDeviceForward);

/// The device passes against the CPU model on any accelerator: outputs to `tolerance`, every
/// gradient to 50 `tolerance` relative to the tensor's largest value.
#[cfg(test)]
pub(crate) fn check_against_cpu(
    acc: &mut dyn Accelerator,
    limits: &DeviceLimits,
    tcn: &Tcn,
    batch: usize,
    time: usize,
    tolerance: f32,
) {
    use crate::backend::emulation::{error_relative_to_largest, max_error, uniform};
    use crate::engine::Inputs;
    let (d, out) = (tcn.config.num_input, tcn.config.num_output);
    let x: Vec<f32> = uniform(batch * time * d, 0.0, 1.0, 6).iter().map(|u| if *u < 0.3 { 1.0 } else { 0.0 }).collect();
    let dy = uniform(batch * time * out, -1.0, 1.0, 7);
    let inputs = Inputs::dense(&x, batch, time, d).unwrap();
    let cpu = tcn.forward(&inputs).unwrap();
    let expected = tcn.backward(&cpu, &inputs, &dy).unwrap();
    acc.clear();
    let staged = crate::backend::staging::stage(acc, &inputs).unwrap();
    let pass = forward_on(acc, limits, tcn, &staged).unwrap();
    let error = max_error(&pass.y, &cpu.y);
    assert!(error < tolerance, "outputs: error {error:e}");
    let grads = backward_on(acc, limits, tcn, &pass, &dy).unwrap();
    assert_eq!(grads.len(), tcn.params.len());
    for ((got, want), p) in grads.iter().zip(&expected).zip(tcn.params.iter()) {
        assert_eq!(got.shape(), want.shape(), "{}", p.name);
        let error = error_relative_to_largest(got.data(), want.data(), 1e-6);
        assert!(error < 50.0 * tolerance, "{}: error {error:e}", p.name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::emulation::accelerator::EmulatedAccelerator;
    use crate::backend::emulation::emulator;
    use crate::models::tcn::TcnConfig;

    /// A small TCN: `num_layers` layers of `filters` channels, the first of `first` taps, the
    /// others of `later`, dilations base^l.
    fn small(
        num_input: usize,
        num_output: usize,
        (num_layers, filters): (usize, usize),
        (first, later): (usize, usize),
        base: usize,
        activation: Activation,
    ) -> Tcn {
        let config = TcnConfig {
            num_layers: Some(num_layers),
            num_filters: Some(filters),
            first_filter_size: Some(first),
            filter_size: Some(later),
            dilation_base: Some(base),
            activation,
            num_output,
            ..TcnConfig::new(num_input)
        };
        Tcn::new(config, 11).unwrap()
    }

    // Each network at a length shorter than its receptive field (every output still inside the
    // causal padding of some tap) and one longer, with odd channel counts throughout.
    #[test]
    fn the_device_passes_equal_the_cpu_model() {
        let Some(emulator) = emulator() else { return };
        let mut acc = EmulatedAccelerator::new(emulator);
        let limits = DeviceLimits::default();
        let cases = [
            // Two layers of 5 filters, taps 3 and 2 (receptive field 4), NeuronIO's two heads.
            (small(3, 2, (2, 5), (3, 2), 1, Activation::Relu), [(2, 3), (3, 11)]),
            // Three layers of 7 filters, taps 5 then 3, dilations 1, 2 and 4 (field 17).
            (small(7, 3, (3, 7), (5, 3), 2, Activation::Relu), [(3, 9), (2, 25)]),
            // One-tap later layers (as in the FCN presets), 3 filters, 4 taps first (field 4), SiLU.
            (small(4, 1, (3, 3), (4, 1), 1, Activation::Silu), [(1, 3), (3, 13)]),
            // A one-tap first layer, then 5 taps at dilation 3 (field 13), 9 filters, SiLU.
            (small(5, 2, (2, 9), (1, 5), 3, Activation::Silu), [(1, 6), (2, 17)]),
        ];
        for (tcn, shapes) in &cases {
            let field = tcn.config.receptive_field().unwrap();
            assert!(shapes[0].1 < field && shapes[1].1 > field, "{field}");
            for (batch, time) in shapes {
                check_against_cpu(&mut acc, &limits, tcn, *batch, *time, 2e-6);
            }
        }
    }

    // Before the kernels run: a wrong input length and a backward pass of another network.
    #[test]
    fn mismatched_inputs_are_refused() {
        let Some(emulator) = emulator() else { return };
        let mut acc = EmulatedAccelerator::new(emulator);
        let limits = DeviceLimits::default();
        let tcn = small(3, 2, (2, 5), (3, 2), 1, Activation::Relu);
        let wrong = crate::backend::staging::stage_dense(&mut acc, &[0.0; 16], 2, 2, 4).unwrap();
        assert!(forward_on(&mut acc, &limits, &tcn, &wrong).is_err());
        let right = crate::backend::staging::stage_dense(&mut acc, &[0.0; 12], 2, 2, 3).unwrap();
        let pass = forward_on(&mut acc, &limits, &tcn, &right).unwrap();
        assert!(backward_on(&mut acc, &limits, &tcn, &pass, &[0.0; 7]).is_err());
        let deeper = small(3, 2, (3, 5), (3, 2), 1, Activation::Relu);
        assert!(backward_on(&mut acc, &limits, &deeper, &pass, &[0.0; 8]).is_err());
    }
}

/// On a real GPU (feature `cuda`): NeuronIO's shapes (1,278 inputs, spike and soma heads, batch
/// 8 x 500) with the default network (7 layers of 128 filters of 35 taps, the closest published
/// architecture to the paper's 7 x 128 x 153) and with `fit_CNN.py`'s active one (3 x 64,
/// filters 54, 24, 24); SKIPPED without one.
#[cfg(all(test, feature = "cuda"))]
mod gpu_tests {
    use super::*;
    use crate::backend::cuda::accelerator::gpu_for_tests;
    use crate::models::tcn::presets::DEFAULT_PRESET;
    use crate::models::tcn::TcnConfig;

    #[test]
    fn gpu_tcn_passes_equal_the_cpu_at_the_papers_shapes() {
        let Some(mut acc) = gpu_for_tests("the TCN equivalence tests") else { return };
        let limits = acc.limits;
        for preset in [DEFAULT_PRESET, "beniaguev-3x64x100"] {
            let tcn = Tcn::new(TcnConfig::preset(1278, preset).unwrap(), 0).unwrap();
            check_against_cpu(&mut acc, &limits, &tcn, 8, 500, 2e-5);
        }
    }
}
