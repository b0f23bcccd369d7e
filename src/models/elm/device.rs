//! The ELM's forward pass on an accelerator (`crate::backend::accelerator`), for the paper's
//! setting (one trace time constant, linear branches: the folded projection): the folded input
//! weights as one GEMM over every (sample, step) row, the trace filter as a leaky scan over layer
//! 0's units, the recurrence kernel with the time loop on the device, the readout as a GEMM plus a
//! bias. The same arithmetic as `Elm::forward_steps` on that path, in another summation order.
//! Tested on the kernel emulator against the CPU model; the backward pass is next.

use super::projection::{folded_input_weights, ProjectionPath};
use super::Elm;
use crate::backend::accelerator::{Accelerator, KernelArg, MatrixView};
use crate::backend::elm_layout::{pack, MlpLayer};
use crate::backend::launch::{self, DeviceLimits, RecurrenceShape};
use anyhow::{bail, Result};

/// Outputs at every step, (batch, time, num_output), for dense inputs x (batch, time, num_input).
pub fn forward_steps_on(
    acc: &mut dyn Accelerator,
    limits: &DeviceLimits,
    elm: &Elm,
    x: &[f32],
    batch: usize,
    time: usize,
) -> Result<Vec<f32>> {
    let c = &elm.config;
    let d = elm.derived();
    if !c.branch_activation.is_identity() || ProjectionPath::fastest(&d.kappa_s) == ProjectionPath::Traces {
        bail!("the device path runs the folded projection only (one trace time constant, linear branches)");
    }
    let inputs = c.num_input;
    if x.len() != batch * time * inputs {
        bail!("input of {} values for ({batch}, {time}, {inputs})", x.len());
    }
    let rows = batch * time;
    let as_i32 = |n: usize| i32::try_from(n).map_err(|_| anyhow::anyhow!("{n} exceeds the kernels' 32-bit sizes"));
    let mlp = elm.mlp_weights();
    let units = mlp[0].out;
    let (dm, out) = (c.num_memory, c.num_output);

    // q = X E, then q_t += kappa_s q_{t-1} along time.
    let folded = folded_input_weights(c, &elm.routing, &d, mlp[0].weight, inputs);
    let x_buf = acc.upload(x)?;
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
            KernelArg::Int(as_i32(batch)?),
            KernelArg::Int(as_i32(time)?),
            KernelArg::Int(as_i32(units)?),
            KernelArg::Buffer(q_filtered),
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
    let activation = match c.mlp_activation {
        crate::engine::kernels::Activation::Relu => 0,
        crate::engine::kernels::Activation::Silu => 1,
    };
    acc.launch(
        "elm_recurrence_forward",
        launch::elm_recurrence_forward(shape, limits)?,
        &[
            KernelArg::Buffer(q_filtered),
            KernelArg::Buffer(weights_t),
            KernelArg::Buffer(biases),
            KernelArg::Ints(table),
            KernelArg::Int(as_i32(layers.len())?),
            KernelArg::Buffer(kappa_m),
            KernelArg::Buffer(gain),
            KernelArg::Int(as_i32(time)?),
            KernelArg::Int(as_i32(dm)?),
            KernelArg::Int(as_i32(layout.width)?),
            KernelArg::Int(activation),
            KernelArg::Buffer(memory),
            KernelArg::Buffer(memory_input),
            KernelArg::Buffer(pre),
            KernelArg::Buffer(post),
        ],
    )?;

    // y = M W_y^T + b_y.
    let w_y = acc.upload(elm.params.get(elm.ids.w_y).data())?;
    let b_y = acc.upload(elm.params.get(elm.ids.b_y).data())?;
    let y = acc.zeros(rows * out)?;
    acc.gemm(
        1.0,
        MatrixView::dense(memory, rows, dm),
        MatrixView::dense(w_y, out, dm).t(),
        0.0,
        MatrixView::dense(y, rows, out),
    )?;
    acc.launch(
        "add_bias_rows",
        launch::elementwise(rows * out),
        &[KernelArg::Buffer(y), KernelArg::Buffer(b_y), KernelArg::Int(as_i32(rows)?), KernelArg::Int(as_i32(out)?)],
    )?;
    acc.read(y)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::emulation::accelerator::EmulatedAccelerator;
    use crate::backend::emulation::{emulator, max_error, uniform};
    use crate::engine::Inputs;
    use crate::models::elm::config::ElmConfig;

    #[test]
    fn the_device_forward_equals_the_cpu_model_for_elm_and_branch_elm() {
        let Some(emulator) = emulator() else { return };
        for branches in [None, Some(3)] {
            let mut config = ElmConfig::new(12, 2);
            config.num_memory = 6;
            config.mlp_num_layers = 1;
            if let Some(b) = branches {
                config.num_branch = Some(b);
                config.num_synapse_per_branch = 4;
            }
            let elm = Elm::new(config, 11).unwrap();
            let (batch, time) = (2, 9);
            // Sparse spikes, as the tasks feed.
            let x: Vec<f32> =
                uniform(batch * time * 12, 0.0, 1.0, 12).iter().map(|u| if *u < 0.2 { 1.0 } else { 0.0 }).collect();
            let expected = {
                let inputs = Inputs::dense(&x, batch, time, 12).unwrap();
                elm.forward_with(&inputs, Some(ProjectionPath::Folded)).unwrap().y.clone()
            };
            let mut acc = EmulatedAccelerator::new(emulator);
            let y = forward_steps_on(&mut acc, &DeviceLimits::default(), &elm, &x, batch, time).unwrap();
            assert!(expected.iter().any(|v| v.abs() > 1e-3));
            let error = max_error(&y, &expected);
            assert!(error < 1e-5, "branches {branches:?}: error {error:e}");
        }
    }
}
