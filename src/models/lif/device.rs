//! The LIF / ALIF layer's forward and backward passes on an accelerator
//! (`crate::backend::accelerator`), mirroring `Lif::forward` / `Lif::backward`: the synaptic
//! currents of every (sample, step) row as one GEMM plus the biases, the memory units' filter and
//! the membrane recurrence as kernels with the time loop on the device (a thread per (sample,
//! neuron) chain, `lif_recurrence.cu`), and backward the reverse kernels, dW = dI^T X and the bias
//! column sums. The decays' gradients come back as per-sample parts, summed on the host in sample
//! order and carried through the time constants' sigmoids by the CPU model's own code.

use super::recurrence::Dynamics;
use super::{Lif, LifOutputs};
use crate::backend::accelerator::{column_sums, kernel_int, linear, Accelerator, BufferId, KernelArg, MatrixView};
use crate::backend::launch::{self, DeviceLimits};
use crate::backend::staging::StagedInput;
use crate::engine::Tensor;
use crate::nn::SpikeFunction;
use anyhow::{bail, Result};

/// What the forward pass leaves on the device for the backward pass.
pub struct LifDeviceForward {
    pub batch: usize,
    pub time: usize,
    x: BufferId,
    /// The synaptic currents I, and with memory units their states and I' (what the membrane
    /// integrated); without memory units `effective` is `current`.
    current: BufferId,
    memory: BufferId,
    effective: BufferId,
    membrane: BufferId,
    spikes: BufferId,
    adaptation: BufferId,
    pub y: Vec<f32>,
}

/// The dynamics' per-pass constants on the device: alpha, rho (a placeholder for a LIF layer).
struct DeviceDynamics {
    d: Dynamics,
    alpha: BufferId,
    rho: BufferId,
}

impl DeviceDynamics {
    fn upload(acc: &mut dyn Accelerator, lif: &Lif) -> Result<Self> {
        let d = lif.dynamics();
        let alpha = acc.upload(&d.alpha)?;
        let rho = match &d.adaptation {
            Some((rho, _)) => acc.upload(rho)?,
            None => acc.zeros(1)?,
        };
        Ok(Self { d, alpha, rho })
    }

    fn adaptive(&self) -> i32 {
        i32::from(self.d.adaptation.is_some())
    }

    fn strength(&self) -> f32 {
        self.d.adaptation.as_ref().map_or(0.0, |(_, beta)| *beta)
    }

    fn outputs(&self) -> i32 {
        match self.d.outputs {
            LifOutputs::SpikeAndMembrane => 0,
            LifOutputs::Membrane => 1,
        }
    }
}

/// Evaluation-mode forward pass for dense inputs x (batch, time, num_input).
pub fn forward_on(
    acc: &mut dyn Accelerator,
    limits: &DeviceLimits,
    lif: &Lif,
    x: &StagedInput,
) -> Result<LifDeviceForward> {
    let (d_in, n, out, k) = (lif.config.num_input, lif.neurons, lif.config.num_output, lif.config.num_memory);
    x.check_features(d_in)?;
    let (batch, time) = (x.batch, x.time);
    let rows = batch * time;
    let config = launch::leaky_scan(batch, n, limits)?;
    let (batch_int, time_int, neurons_int) = (kernel_int(batch)?, kernel_int(time)?, kernel_int(n)?);

    // I = x W^T + b for every row at once.
    let x_buf = x.buffer;
    let w = acc.upload(lif.params.get(lif.ids.weight).data())?;
    let bias = lif.params.get(lif.ids.bias).data();
    let current = linear(acc, x_buf, rows, d_in, MatrixView::dense(w, n, d_in).t(), bias)?;

    let (memory, effective) = match lif.ids.memory {
        Some((c_id, _)) => {
            let c = acc.upload(lif.params.get(c_id).data())?;
            let beta = acc.upload(&lif.memory_beta())?;
            let memory = acc.zeros(rows * n * k)?;
            let effective = acc.zeros(rows * n)?;
            acc.launch(
                "lif_memory_forward",
                config,
                &[
                    KernelArg::Buffer(current),
                    KernelArg::Buffer(c),
                    KernelArg::Buffer(beta),
                    KernelArg::Int(batch_int),
                    KernelArg::Int(time_int),
                    KernelArg::Int(neurons_int),
                    KernelArg::Int(kernel_int(k)?),
                    KernelArg::Buffer(memory),
                    KernelArg::Buffer(effective),
                ],
            )?;
            (memory, effective)
        }
        None => (acc.zeros(1)?, current),
    };

    let dynamics = DeviceDynamics::upload(acc, lif)?;
    let membrane = acc.zeros(rows * n)?;
    let spikes = acc.zeros(rows * n)?;
    let adaptation = if lif.is_adaptive() { acc.zeros(rows * n)? } else { acc.zeros(1)? };
    let y = acc.zeros(rows * out)?;
    let d = &dynamics.d;
    acc.launch(
        "lif_recurrence_forward",
        config,
        &[
            KernelArg::Buffer(effective),
            KernelArg::Buffer(dynamics.alpha),
            KernelArg::Buffer(dynamics.rho),
            KernelArg::Int(batch_int),
            KernelArg::Int(time_int),
            KernelArg::Int(neurons_int),
            KernelArg::Int(dynamics.adaptive()),
            KernelArg::Float(d.threshold),
            KernelArg::Float(dynamics.strength()),
            KernelArg::Float(d.logit_scale),
            KernelArg::Int(match d.spike.function {
                SpikeFunction::Heaviside => 0,
                SpikeFunction::Smooth => 1,
            }),
            KernelArg::Float(d.spike.steepness),
            KernelArg::Int(dynamics.outputs()),
            KernelArg::Buffer(membrane),
            KernelArg::Buffer(spikes),
            KernelArg::Buffer(adaptation),
            KernelArg::Buffer(y),
        ],
    )?;
    let y = acc.read(y)?;
    Ok(LifDeviceForward { batch, time, x: x_buf, current, memory, effective, membrane, spikes, adaptation, y })
}

/// Per-sample parts (batch, width) summed over the samples in sample order, in f64.
fn sum_over_samples(parts: &[f32], width: usize) -> Vec<f64> {
    let mut total = vec![0.0f64; width];
    for sample in parts.chunks_exact(width.max(1)) {
        total.iter_mut().zip(sample).for_each(|(t, p)| *t += *p as f64);
    }
    total
}

/// Gradients of `sum(y * dy)` for every parameter, aligned with `lif.params`.
pub fn backward_on(
    acc: &mut dyn Accelerator,
    limits: &DeviceLimits,
    lif: &Lif,
    pass: &LifDeviceForward,
    dy: &[f32],
) -> Result<Vec<Tensor>> {
    let (d_in, n, out, k) = (lif.config.num_input, lif.neurons, lif.config.num_output, lif.config.num_memory);
    let (batch, time) = (pass.batch, pass.time);
    let rows = batch * time;
    if dy.len() != rows * out {
        bail!("dy of {} values for ({batch}, {time}, {out})", dy.len());
    }
    let config = launch::leaky_scan(batch, n, limits)?;
    let (batch_int, time_int, neurons_int) = (kernel_int(batch)?, kernel_int(time)?, kernel_int(n)?);
    let mut grads = lif.params.zeros_like();

    // The membrane's reverse sweep: dL/dI' and the decays' per-sample parts.
    let dynamics = DeviceDynamics::upload(acc, lif)?;
    let dy_buf = acc.upload(dy)?;
    let effective_grad = acc.zeros(rows * n)?;
    let alpha_parts = acc.zeros(batch * n)?;
    let rho_parts = acc.zeros(batch * n)?;
    let d = &dynamics.d;
    acc.launch(
        "lif_recurrence_backward",
        config,
        &[
            KernelArg::Buffer(pass.effective),
            KernelArg::Buffer(pass.membrane),
            KernelArg::Buffer(pass.spikes),
            KernelArg::Buffer(pass.adaptation),
            KernelArg::Buffer(dy_buf),
            KernelArg::Buffer(dynamics.alpha),
            KernelArg::Buffer(dynamics.rho),
            KernelArg::Int(batch_int),
            KernelArg::Int(time_int),
            KernelArg::Int(neurons_int),
            KernelArg::Int(dynamics.adaptive()),
            KernelArg::Float(d.threshold),
            KernelArg::Float(dynamics.strength()),
            KernelArg::Float(d.logit_scale),
            KernelArg::Float(d.spike.steepness),
            KernelArg::Int(dynamics.outputs()),
            KernelArg::Int(i32::from(d.reset_gradient)),
            KernelArg::Buffer(effective_grad),
            KernelArg::Buffer(alpha_parts),
            KernelArg::Buffer(rho_parts),
        ],
    )?;
    let alpha_grad = sum_over_samples(&acc.read(alpha_parts)?, n);
    let rho_grad = sum_over_samples(&acc.read(rho_parts)?, n);

    // Memory units: dL/dI' back to dL/dI, and the parts of dL/dc and dL/dbeta.
    let current_grad = match lif.ids.memory {
        Some((c_id, _)) => {
            let c = acc.upload(lif.params.get(c_id).data())?;
            let beta = acc.upload(&lif.memory_beta())?;
            let current_grad = acc.zeros(rows * n)?;
            let weight_parts = acc.zeros(batch * n * k)?;
            let beta_parts = acc.zeros(batch * n * k)?;
            acc.launch(
                "lif_memory_backward",
                config,
                &[
                    KernelArg::Buffer(pass.current),
                    KernelArg::Buffer(pass.memory),
                    KernelArg::Buffer(c),
                    KernelArg::Buffer(beta),
                    KernelArg::Buffer(effective_grad),
                    KernelArg::Int(batch_int),
                    KernelArg::Int(time_int),
                    KernelArg::Int(neurons_int),
                    KernelArg::Int(kernel_int(k)?),
                    KernelArg::Buffer(current_grad),
                    KernelArg::Buffer(weight_parts),
                    KernelArg::Buffer(beta_parts),
                ],
            )?;
            let weight_grad = sum_over_samples(&acc.read(weight_parts)?, n * k);
            let beta_grad = sum_over_samples(&acc.read(beta_parts)?, n * k);
            lif.memory_gradients(&weight_grad, &beta_grad, &mut grads);
            current_grad
        }
        None => effective_grad,
    };

    // dW = dI^T X, db = column sums of dI.
    let w_grad = acc.zeros(n * d_in)?;
    acc.gemm(
        1.0,
        MatrixView::dense(current_grad, rows, n).t(),
        MatrixView::dense(pass.x, rows, d_in),
        0.0,
        MatrixView::dense(w_grad, n, d_in),
    )?;
    grads[lif.ids.weight].data_mut().copy_from_slice(&acc.read(w_grad)?);
    grads[lif.ids.bias].data_mut().copy_from_slice(&column_sums(acc, current_grad, rows, n)?);
    lif.decay_gradients(d, &alpha_grad, &rho_grad, &mut grads);
    Ok(grads)
}

crate::models::on_device::impl_device_model!(Lif, LifDeviceForward);

/// The device passes against the CPU model on any accelerator: outputs, then every gradient.
#[cfg(test)]
pub(crate) fn check_against_cpu(
    acc: &mut dyn Accelerator,
    limits: &DeviceLimits,
    lif: &Lif,
    batch: usize,
    time: usize,
    tolerance: f32,
) {
    use crate::backend::emulation::{error_relative_to_largest, uniform};
    let (d, out) = (lif.config.num_input, lif.config.num_output);
    // Sparse binary inputs, as NeuronIO's spikes.
    let x: Vec<f32> =
        uniform(batch * time * d, 0.0, 1.0, 16).iter().map(|u| if *u < 0.2 { 1.0 } else { 0.0 }).collect();
    let dy = uniform(batch * time * out, -1.0, 1.0, 17);
    let inputs = crate::engine::Inputs::dense(&x, batch, time, d).unwrap();
    let cpu = lif.forward(&inputs).unwrap();
    let expected = lif.backward(&cpu, &inputs, &dy).unwrap();
    acc.clear();
    let staged = crate::backend::staging::stage(acc, &inputs).unwrap();
    let pass = forward_on(acc, limits, lif, &staged).unwrap();
    let error = error_relative_to_largest(&pass.y, &cpu.y, 1e-6);
    assert!(error < tolerance, "outputs: error {error:e}");
    let grads = backward_on(acc, limits, lif, &pass, &dy).unwrap();
    for ((got, want), p) in grads.iter().zip(&expected).zip(lif.params.iter()) {
        let error = error_relative_to_largest(got.data(), want.data(), 1e-6);
        assert!(error < 20.0 * tolerance, "{}: error {error:e}", p.name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::emulation::accelerator::EmulatedAccelerator;
    use crate::backend::emulation::emulator;
    use crate::engine::Inputs;
    use crate::models::lif::LifConfig;

    /// A layer whose neurons spike: inputs drive the membranes over a threshold near rest.
    fn layer(adaptive: bool, neurons: usize, memory: usize, outputs: LifOutputs, spike: SpikeFunction) -> Lif {
        let mut config = LifConfig::new(7);
        config.num_output = if outputs == LifOutputs::Membrane { neurons } else { 2 * neurons };
        config.outputs = outputs;
        config.num_memory = memory;
        config.spike_function = spike;
        config.detach_reset = memory == 0;
        let mut lif = Lif::new(config, adaptive, 4).unwrap();
        // Weights large enough that some steps cross the threshold (the spike paths get exercised).
        let weight = lif.ids.weight;
        for (e, w) in lif.params.get_mut(weight).data_mut().iter_mut().enumerate() {
            *w = 30.0 * ((e % 5) as f32 - 1.5);
        }
        if let Some((c, _)) = lif.ids.memory {
            for (e, w) in lif.params.get_mut(c).data_mut().iter_mut().enumerate() {
                *w = 0.3 - 0.1 * (e % 4) as f32;
            }
        }
        lif
    }

    #[test]
    fn the_device_passes_equal_the_cpu_layer() {
        let Some(emulator) = emulator() else { return };
        let mut acc = EmulatedAccelerator::new(emulator);
        let limits = DeviceLimits::default();
        for adaptive in [false, true] {
            for (neurons, memory, outputs, spike) in [
                (1, 0, LifOutputs::SpikeAndMembrane, SpikeFunction::Heaviside),
                (3, 2, LifOutputs::Membrane, SpikeFunction::Smooth),
                (5, 0, LifOutputs::Membrane, SpikeFunction::Heaviside),
            ] {
                let lif = layer(adaptive, neurons, memory, outputs, spike);
                check_against_cpu(&mut acc, &limits, &lif, 3, 11, 1e-5);
            }
        }
    }

    #[test]
    fn the_test_layers_spike() {
        let lif = layer(true, 3, 0, LifOutputs::Membrane, SpikeFunction::Heaviside);
        let x: Vec<f32> = crate::backend::emulation::uniform(3 * 11 * 7, 0.0, 1.0, 16)
            .iter()
            .map(|u| if *u < 0.2 { 1.0 } else { 0.0 })
            .collect();
        let pass = lif.forward(&Inputs::dense(&x, 3, 11, 7).unwrap()).unwrap();
        let spikes = pass.states.spikes.iter().filter(|s| **s > 0.5).count();
        assert!(spikes > 0 && spikes < pass.states.spikes.len(), "{spikes} spikes");
    }

    #[test]
    fn ten_training_steps_on_the_device_equal_ten_on_the_cpu() {
        let Some(emulator) = emulator() else { return };
        let make = || layer(true, 2, 2, LifOutputs::SpikeAndMembrane, SpikeFunction::Smooth);
        crate::models::on_device::check_ten_training_steps(
            make,
            Box::new(EmulatedAccelerator::new(emulator)),
            2,
            6,
            1e-4,
        );
    }
}

/// On a real GPU (feature `cuda`): Table S4's single LIF and ALIF neurons on NeuronIO (1278
/// inputs, batch 8 x 500) and Figure S7's with four memory units; SKIPPED without one.
#[cfg(all(test, feature = "cuda"))]
mod gpu_tests {
    use super::*;
    use crate::backend::cuda::accelerator::gpu_for_tests;

    #[test]
    fn gpu_lif_and_alif_passes_equal_the_cpu_at_the_papers_shapes() {
        let Some(mut acc) = gpu_for_tests("the LIF equivalence tests") else { return };
        let limits = acc.limits;
        for (kind, memory) in [("lif", 0), ("alif", 0), ("lif", 4), ("alif", 4)] {
            let (crate::models::ModelConfig::Lif(mut config) | crate::models::ModelConfig::Alif(mut config)) =
                crate::tasks::neuronio::presets::model_preset(kind).unwrap()
            else {
                panic!("the {kind} preset is a LIF layer")
            };
            config.num_memory = memory;
            let lif = Lif::new(config, kind == "alif", 0).unwrap();
            check_against_cpu(&mut acc, &limits, &lif, 8, 500, 1e-4);
        }
    }
}
