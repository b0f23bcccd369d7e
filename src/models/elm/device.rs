//! The ELM's forward pass on an accelerator (`crate::backend::accelerator`), for the paper's
//! setting (one trace time constant, linear branches: the folded projection): the folded input
//! weights as one GEMM over every (sample, step) row, the trace filter as a leaky scan over layer
//! 0's units, the recurrence kernel with the time loop on the device, the readout as a GEMM plus a
//! bias. The same arithmetic as `Elm::forward_steps` on that path, in another summation order.
//! The backward pass mirrors `Elm::backward`: readout products, the reverse recurrence kernel, the
//! MLP's weight gradients as products over every row, the adjoint scan, dE = X^T G; only the
//! small unfolding of dE into dW0's branch columns and dw_s, and the chain rule to tau_m, run on
//! the host (they are the CPU's own functions). Tested on the kernel emulator against the CPU model.

use super::config::ElmVersion;
use super::projection::{folded_input_weights, unfold_folded_gradient, ProjectionPath};
use super::Elm;
use crate::backend::accelerator::{column_sums, kernel_int, linear, Accelerator, BufferId, KernelArg, MatrixView};
use crate::backend::elm_layout::{pack, MlpLayer, RecurrenceLayout};
use crate::backend::launch::{self, DeviceLimits, RecurrenceShape};
use crate::backend::staging::StagedInput;
use crate::engine::Tensor;
use anyhow::{bail, Result};

/// What the device forward pass leaves on the device for the backward pass.
pub struct DeviceForward {
    pub batch: usize,
    pub time: usize,
    x: BufferId,
    q_filtered: BufferId,
    memory: BufferId,
    memory_input: BufferId,
    pre: BufferId,
    post: BufferId,
    kappa_m: BufferId,
    gain: BufferId,
    layout: RecurrenceLayout,
    /// Outputs at every step, (batch, time, num_output), read back.
    pub y: Vec<f32>,
}

fn activation_code(elm: &Elm) -> i32 {
    match elm.config.mlp_activation {
        crate::engine::kernels::Activation::Relu => 0,
        crate::engine::kernels::Activation::Silu => 1,
    }
}

/// Outputs at every step, (batch, time, num_output), for dense inputs x (batch, time, num_input).
pub fn forward_steps_on(
    acc: &mut dyn Accelerator,
    limits: &DeviceLimits,
    elm: &Elm,
    x: &StagedInput,
) -> Result<Vec<f32>> {
    Ok(forward_on(acc, limits, elm, x)?.y)
}

/// The forward pass, keeping what the backward pass needs on the device.
pub fn forward_on(
    acc: &mut dyn Accelerator,
    limits: &DeviceLimits,
    elm: &Elm,
    x: &StagedInput,
) -> Result<DeviceForward> {
    let c = &elm.config;
    let d = elm.derived();
    if !c.branch_activation.is_identity() || ProjectionPath::fastest(&d.kappa_s) == ProjectionPath::Traces {
        bail!("the device path runs the folded projection only (one trace time constant, linear branches)");
    }
    let inputs = c.num_input;
    x.check_features(inputs)?;
    let (batch, time) = (x.batch, x.time);
    let rows = batch * time;
    let mlp = elm.mlp_weights();
    let units = mlp[0].out;
    let (dm, out) = (c.num_memory, c.num_output);

    // q = X E, then q_t += kappa_s q_{t-1} along time.
    let folded = folded_input_weights(c, &elm.routing, &d, mlp[0].weight, inputs);
    let x_buf = x.buffer;
    let e_buf = acc.upload(&folded)?;
    let q = acc.zeros(rows * units)?;
    acc.gemm(
        1.0,
        MatrixView::dense(x_buf, rows, inputs),
        MatrixView::dense(e_buf, inputs, units),
        0.0,
        MatrixView::dense(q, rows, units),
    )?;
    let kappa_s = acc.upload(&vec![d.kappa_s[0]; units])?;
    let q_filtered = acc.zeros(rows * units)?;
    acc.launch(
        "leaky_scan_forward",
        launch::leaky_scan(batch, units, limits)?,
        &[
            KernelArg::Buffer(q),
            KernelArg::Buffer(kappa_s),
            KernelArg::Int(kernel_int(batch)?),
            KernelArg::Int(kernel_int(time)?),
            KernelArg::Int(kernel_int(units)?),
            KernelArg::Buffer(q_filtered),
            KernelArg::Int(kernel_int(units)?),
            KernelArg::Int(kernel_int(units)?),
        ],
    )?;

    // The recurrence, every step on the device.
    let layers: Vec<MlpLayer> =
        mlp.iter().map(|l| MlpLayer { weight: l.weight, bias: l.bias, out: l.out, inp: l.inp }).collect();
    let layout = pack(&layers, c.num_branch(), dm)?;
    let shape = RecurrenceShape { batch, num_memory: dm, width: layout.width, widest_layer: layout.widest };
    let weights_t = acc.upload(&layout.weights_t)?;
    let biases = acc.upload(&layout.biases)?;
    let table = acc.upload_ints(&layout.forward_table)?;
    let kappa_m = acc.upload(&d.kappa_m)?;
    let gain = acc.upload(&d.update_gain)?;
    let memory = acc.zeros(rows * dm)?;
    let memory_input = acc.zeros(rows * dm)?;
    let pre = acc.zeros(rows * layout.width)?;
    let post = acc.zeros(rows * layout.width)?;
    let activation = activation_code(elm);
    acc.launch(
        "elm_recurrence_forward",
        launch::elm_recurrence_forward(shape, limits)?,
        &[
            KernelArg::Buffer(q_filtered),
            KernelArg::Buffer(weights_t),
            KernelArg::Buffer(biases),
            KernelArg::Ints(table),
            KernelArg::Int(kernel_int(layers.len())?),
            KernelArg::Buffer(kappa_m),
            KernelArg::Buffer(gain),
            KernelArg::Int(kernel_int(time)?),
            KernelArg::Int(kernel_int(dm)?),
            KernelArg::Int(kernel_int(layout.width)?),
            KernelArg::Int(activation),
            KernelArg::Buffer(memory),
            KernelArg::Buffer(memory_input),
            KernelArg::Buffer(pre),
            KernelArg::Buffer(post),
        ],
    )?;

    // y = M W_y^T + b_y.
    let w_y = acc.upload(elm.params.get(elm.ids.w_y).data())?;
    let b_y = elm.params.get(elm.ids.b_y).data();
    let y = linear(acc, memory, rows, dm, MatrixView::dense(w_y, out, dm).t(), b_y)?;
    let y = acc.read(y)?;
    Ok(DeviceForward { batch, time, x: x_buf, q_filtered, memory, memory_input, pre, post, kappa_m, gain, layout, y })
}

/// Gradients of `sum(y * dy)` for every parameter, aligned with `elm.params` (zeros for fixed
/// ones), for the pass `forward_on` returned; `dy` is (batch, time, num_output).
pub fn backward_on(
    acc: &mut dyn Accelerator,
    limits: &DeviceLimits,
    elm: &Elm,
    pass: &DeviceForward,
    dy: &[f32],
) -> Result<Vec<Tensor>> {
    let c = &elm.config;
    let d = elm.derived();
    let (batch, time) = (pass.batch, pass.time);
    let rows = batch * time;
    let (dm, out, inputs) = (c.num_memory, c.num_output, c.num_input);
    if dy.len() != rows * out {
        bail!("dy of {} values for ({batch}, {time}, {out})", dy.len());
    }
    let layout = &pass.layout;
    let width = layout.width;
    let mut grads = elm.params.zeros_like();

    // Readout: dW_y = dY^T M, db_y = column sums of dY, dM = dY W_y.
    let dy_buf = acc.upload(dy)?;
    let w_y = acc.upload(elm.params.get(elm.ids.w_y).data())?;
    let w_y_grad = acc.zeros(out * dm)?;
    acc.gemm(
        1.0,
        MatrixView::dense(dy_buf, rows, out).t(),
        MatrixView::dense(pass.memory, rows, dm),
        0.0,
        MatrixView::dense(w_y_grad, out, dm),
    )?;
    grads[elm.ids.w_y].data_mut().copy_from_slice(&acc.read(w_y_grad)?);
    let b_y_grad = column_sums(acc, dy_buf, rows, out)?;
    grads[elm.ids.b_y].data_mut().copy_from_slice(&b_y_grad);
    let memory_grad = acc.zeros(rows * dm)?;
    acc.gemm(
        1.0,
        MatrixView::dense(dy_buf, rows, out),
        MatrixView::dense(w_y, out, dm),
        0.0,
        MatrixView::dense(memory_grad, rows, dm),
    )?;

    // The reverse sweep on the device.
    let weights = acc.upload(&layout.weights)?;
    let forward_table = acc.upload_ints(&layout.forward_table)?;
    let backward_table = acc.upload_ints(&layout.backward_table)?;
    let delta = acc.zeros(rows * width)?;
    let kappa_parts = acc.zeros(batch * 2 * dm)?;
    let shape = RecurrenceShape { batch, num_memory: dm, width, widest_layer: layout.widest };
    let num_layers = layout.forward_table.len() / 4;
    acc.launch(
        "elm_recurrence_backward",
        launch::elm_recurrence_backward(shape, limits)?,
        &[
            KernelArg::Buffer(weights),
            KernelArg::Ints(forward_table),
            KernelArg::Ints(backward_table),
            KernelArg::Int(kernel_int(num_layers)?),
            KernelArg::Buffer(pass.kappa_m),
            KernelArg::Buffer(pass.gain),
            KernelArg::Float(c.lambda_value as f32),
            KernelArg::Int(if c.version == ElmVersion::V1 { 1 } else { 2 }),
            KernelArg::Int(i32::from(c.learn_memory_tau)),
            KernelArg::Int(kernel_int(time)?),
            KernelArg::Int(kernel_int(dm)?),
            KernelArg::Int(kernel_int(width)?),
            KernelArg::Int(activation_code(elm)),
            KernelArg::Buffer(pass.memory),
            KernelArg::Buffer(pass.pre),
            KernelArg::Buffer(pass.post),
            KernelArg::Buffer(memory_grad),
            KernelArg::Buffer(delta),
            KernelArg::Buffer(kappa_parts),
        ],
    )?;
    if c.learn_memory_tau {
        // Per-sample parts reduced in sample order, as the CPU does.
        let parts = acc.read(kappa_parts)?;
        let (mut kappa_m_grad, mut kappa_lambda_grad) = (vec![0.0f32; dm], vec![0.0f32; dm]);
        for part in parts.chunks_exact(2 * dm) {
            crate::engine::kernels::axpy(1.0, &part[..dm], &mut kappa_m_grad);
            crate::engine::kernels::axpy(1.0, &part[dm..], &mut kappa_lambda_grad);
        }
        elm.memory_tau_gradient(&d, &kappa_m_grad, &kappa_lambda_grad, &mut grads);
    }

    // The MLP's weights: dW_l = delta_l^T input_l over every row; biases: column sums of delta.
    let bias_grads = column_sums(acc, delta, rows, width)?;
    let nb = c.num_branch();
    let mut offset = 0;
    for (l, &(w, b)) in elm.ids.mlp.iter().enumerate() {
        let (layer_out, inp) = (layout.forward_table[4 * l] as usize, layout.backward_table[4 * l] as usize);
        let delta_l = MatrixView { buffer: delta, offset, rows, cols: layer_out, ld: width, transposed: false };
        let grad = acc.zeros(layer_out * if l == 0 { dm } else { inp })?;
        if l == 0 {
            acc.gemm(
                1.0,
                delta_l.t(),
                MatrixView::dense(pass.memory_input, rows, dm),
                0.0,
                MatrixView::dense(grad, layer_out, dm),
            )?;
            let values = acc.read(grad)?;
            let target = grads[w].data_mut();
            for o in 0..layer_out {
                target[o * inp + nb..(o + 1) * inp].copy_from_slice(&values[o * dm..(o + 1) * dm]);
            }
        } else {
            let input =
                MatrixView { buffer: pass.post, offset: offset - inp, rows, cols: inp, ld: width, transposed: false };
            acc.gemm(1.0, delta_l.t(), input, 0.0, MatrixView::dense(grad, layer_out, inp))?;
            grads[w].data_mut().copy_from_slice(&acc.read(grad)?);
        }
        grads[b].data_mut().copy_from_slice(&bias_grads[offset..offset + layer_out]);
        offset += layer_out;
    }

    // Layer 0's branch side: G = the adjoint filter of delta_0, dE = X^T G, then unfold on the host.
    let units = layout.forward_table[0] as usize;
    let kappa_s = acc.upload(&vec![d.kappa_s[0]; units])?;
    let g = acc.zeros(rows * units)?;
    let unused_parts = acc.zeros(batch * units)?;
    acc.launch(
        "leaky_scan_backward",
        launch::leaky_scan(batch, units, limits)?,
        &[
            KernelArg::Buffer(delta),
            KernelArg::Buffer(pass.q_filtered),
            KernelArg::Buffer(kappa_s),
            KernelArg::Int(kernel_int(batch)?),
            KernelArg::Int(kernel_int(time)?),
            KernelArg::Int(kernel_int(units)?),
            KernelArg::Buffer(g),
            KernelArg::Buffer(unused_parts),
            KernelArg::Int(kernel_int(width)?),
            KernelArg::Int(kernel_int(units)?),
            KernelArg::Int(kernel_int(units)?),
        ],
    )?;
    let folded_grad = acc.zeros(inputs * units)?;
    acc.gemm(
        1.0,
        MatrixView::dense(pass.x, rows, inputs).t(),
        MatrixView::dense(g, rows, units),
        0.0,
        MatrixView::dense(folded_grad, inputs, units),
    )?;
    let folded_grad = acc.read(folded_grad)?;
    let w0 = elm.params.get(elm.ids.mlp[0].0).data().to_vec();
    let mut w_s_grad = vec![0.0; c.num_synapse()];
    unfold_folded_gradient(
        c,
        &elm.routing,
        &d,
        &w0,
        inputs,
        &folded_grad,
        grads[elm.ids.mlp[0].0].data_mut(),
        &mut w_s_grad,
    );
    elm.synapse_weight_gradient(&w_s_grad, &mut grads);
    Ok(grads)
}

/// The device path against the CPU model on any accelerator: the emulator here, a GPU where one
/// is (`gpu_tests`).
#[cfg(test)]
pub(crate) mod equivalence {
    use super::*;
    use crate::backend::emulation::{max_error, uniform};
    use crate::engine::Inputs;

    /// Spikes at `density`, as the tasks feed.
    pub fn spikes(n: usize, density: f32, seed: u64) -> Vec<f32> {
        uniform(n, 0.0, 1.0, seed).iter().map(|u| if *u < density { 1.0 } else { 0.0 }).collect()
    }

    /// Outputs at every step equal the CPU model's folded path to `tolerance` (max error over
    /// max(1, |value|)).
    pub fn forward_matches(
        acc: &mut dyn Accelerator,
        limits: &DeviceLimits,
        elm: &Elm,
        batch: usize,
        time: usize,
        tolerance: f32,
    ) {
        let inputs_per_step = elm.config.num_input;
        let x = spikes(batch * time * inputs_per_step, 0.2, 12);
        let inputs = Inputs::dense(&x, batch, time, inputs_per_step).unwrap();
        let expected = elm.forward_with(&inputs, Some(ProjectionPath::Folded)).unwrap().y.clone();
        acc.clear();
        let staged = crate::backend::staging::stage(acc, &inputs).unwrap();
        let y = forward_steps_on(acc, limits, elm, &staged).unwrap();
        assert!(expected.iter().any(|v| v.abs() > 1e-3));
        let error = max_error(&y, &expected);
        assert!(error < tolerance, "forward: error {error:e}");
    }

    /// Every parameter's gradient equals the CPU model's to `tolerance` relative to its largest.
    pub fn backward_matches(
        acc: &mut dyn Accelerator,
        limits: &DeviceLimits,
        elm: &Elm,
        batch: usize,
        time: usize,
        tolerance: f32,
    ) {
        let n_in = elm.config.num_input;
        let x = spikes(batch * time * n_in, 0.25, 22);
        let dy = uniform(batch * time * elm.config.num_output, -1.0, 1.0, 23);
        let inputs = Inputs::dense(&x, batch, time, n_in).unwrap();
        let cpu_pass = elm.forward_with(&inputs, Some(ProjectionPath::Folded)).unwrap();
        let expected = elm.backward(&cpu_pass, &inputs, &dy, false).unwrap().params;
        acc.clear();
        let staged = crate::backend::staging::stage(acc, &inputs).unwrap();
        let pass = forward_on(acc, limits, elm, &staged).unwrap();
        let grads = backward_on(acc, limits, elm, &pass, &dy).unwrap();
        assert_eq!(grads.len(), expected.len());
        for ((got, want), p) in grads.iter().zip(&expected).zip(elm.params.iter()) {
            let error = crate::backend::emulation::error_relative_to_largest(got.data(), want.data(), 1e-6);
            assert!(error < tolerance, "{}: error {error:e}", p.name);
        }
    }
}

crate::models::on_device::impl_device_model!(Elm, DeviceForward);

#[cfg(test)]
mod tests {
    use super::equivalence::{backward_matches, forward_matches};
    use super::*;
    use crate::backend::emulation::accelerator::EmulatedAccelerator;
    use crate::backend::emulation::emulator;
    use crate::models::elm::config::ElmConfig;

    fn small(branches: Option<usize>, layers: usize, learn_tau: bool, version: ElmVersion) -> Elm {
        let mut config = ElmConfig::new(12, 2);
        config.num_memory = 6;
        config.mlp_num_layers = layers;
        config.learn_memory_tau = learn_tau;
        config.version = version;
        if let Some(b) = branches {
            config.num_branch = Some(b);
            config.num_synapse_per_branch = 4;
        }
        Elm::new(config, 11).unwrap()
    }

    #[test]
    fn the_device_forward_equals_the_cpu_model_for_elm_and_branch_elm() {
        let Some(emulator) = emulator() else { return };
        let mut acc = EmulatedAccelerator::new(emulator);
        for branches in [None, Some(3)] {
            forward_matches(&mut acc, &DeviceLimits::default(), &small(branches, 1, false, ElmVersion::V1), 2, 9, 1e-5);
        }
    }

    #[test]
    fn the_device_backward_equals_the_cpu_gradients() {
        let Some(emulator) = emulator() else { return };
        let mut acc = EmulatedAccelerator::new(emulator);
        let limits = DeviceLimits::default();
        backward_matches(&mut acc, &limits, &small(None, 2, true, ElmVersion::V1), 3, 8, 1e-4);
        backward_matches(&mut acc, &limits, &small(Some(3), 2, false, ElmVersion::V2), 3, 8, 1e-4);
    }

    /// Ten Adam steps of an MSE fit through `OnDevice` (first-step check included) equal ten on
    /// the CPU model.
    #[test]
    fn ten_training_steps_on_the_device_equal_ten_on_the_cpu() {
        let Some(emulator) = emulator() else { return };
        let mut config = ElmConfig::new(10, 2);
        config.num_memory = 5;
        config.num_branch = Some(2);
        config.num_synapse_per_branch = 5;
        config.learn_memory_tau = true;
        let make = || Elm::new(config.clone(), 7).unwrap();
        crate::models::on_device::check_ten_training_steps(
            make,
            Box::new(EmulatedAccelerator::new(emulator)),
            2,
            6,
            1e-4,
        );
    }
}

/// The same checks on a real GPU (feature `cuda`), at the reference sizes and the paper's shapes;
/// they say SKIPPED where no usable GPU is present. Run by scripts/gpu_check.sh on a GPU machine.
#[cfg(all(test, feature = "cuda"))]
mod gpu_tests {
    use super::equivalence::{backward_matches, forward_matches};
    use super::*;
    use crate::backend::cuda::accelerator::gpu_for_tests;
    use crate::models::elm::config::ElmConfig;

    fn gpu() -> Option<crate::backend::cuda::accelerator::CudaAccelerator> {
        gpu_for_tests("the ELM equivalence tests")
    }

    #[test]
    fn gpu_forward_and_backward_equal_the_cpu_at_reference_sizes() {
        let Some(mut acc) = gpu() else { return };
        let limits = acc.limits;
        for branches in [None, Some(3)] {
            let mut config = ElmConfig::new(12, 2);
            config.num_memory = 6;
            config.mlp_num_layers = 2;
            config.learn_memory_tau = true;
            if let Some(b) = branches {
                config.num_branch = Some(b);
                config.num_synapse_per_branch = 4;
            }
            let elm = Elm::new(config, 11).unwrap();
            forward_matches(&mut acc, &limits, &elm, 3, 9, 1e-5);
            backward_matches(&mut acc, &limits, &elm, 3, 9, 1e-4);
        }
    }

    /// Branch-ELM d_m 20 on NeuronIO's shape (1278 inputs, 45 x 100 synapses, batch 8 x 500 steps)
    /// and the LRA ELM (d_m 150, MLP 300, 16 inputs, batch 32 x 1024).
    #[test]
    fn gpu_forward_and_backward_equal_the_cpu_at_the_papers_shapes() {
        let Some(mut acc) = gpu() else { return };
        let limits = acc.limits;
        let elm = match crate::tasks::neuronio::presets::model_preset("branch-elm").unwrap() {
            crate::models::ModelConfig::BranchElm(config) => Elm::new(config, 0).unwrap(),
            _ => panic!("the branch-elm preset is a Branch-ELM"),
        };
        forward_matches(&mut acc, &limits, &elm, 8, 500, 1e-4);
        backward_matches(&mut acc, &limits, &elm, 8, 500, 1e-3);
        let mut lra = ElmConfig::new(16, 10);
        lra.num_memory = 150;
        lra.mlp_hidden_size = Some(300);
        let elm = Elm::new(lra, 0).unwrap();
        forward_matches(&mut acc, &limits, &elm, 32, 1024, 1e-4);
        backward_matches(&mut acc, &limits, &elm, 32, 1024, 1e-3);
    }
}
