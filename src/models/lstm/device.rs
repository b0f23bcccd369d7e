//! The LSTM's forward and backward passes on an accelerator (`crate::backend::accelerator`): the
//! input projection as one GEMM over every (sample, step) row plus the biases, the recurrence
//! kernel with the time loop on the device, the readout as a GEMM; backward mirrors
//! `Lstm::backward` (readout products, the reverse recurrence kernel, dW_ih = dZ^T X, dW_hh per
//! sample over steps 1.., bias column sums). Without recurrent dropout for now (the kernels take
//! the mask; dW_hh's masked inputs are the missing piece). Tested on the kernel emulator against
//! the CPU model.

use super::Lstm;
use crate::backend::accelerator::{column_sums, kernel_int, linear, Accelerator, BufferId, KernelArg, MatrixView};
use crate::backend::launch::{self, DeviceLimits};
use crate::backend::staging::StagedInput;
use crate::engine::Tensor;
use anyhow::{bail, Result};

pub struct LstmDeviceForward {
    pub batch: usize,
    pub time: usize,
    x: BufferId,
    gates: BufferId,
    cell: BufferId,
    tanh_cell: BufferId,
    hidden: BufferId,
    mask: BufferId,
    /// Whether `mask` is a dropout mask (else all ones).
    dropped: bool,
    pub y: Vec<f32>,
}

/// The forward pass on inputs x (batch, time, num_input); `dropout` is a training pass's
/// recurrent dropout mask (batch, H) (`recurrent_dropout::masks`), None in evaluation.
pub fn forward_on(
    acc: &mut dyn Accelerator,
    limits: &DeviceLimits,
    lstm: &Lstm,
    x: &StagedInput,
    dropout: Option<&[f32]>,
) -> Result<LstmDeviceForward> {
    let (d, hs, out) = (lstm.config.num_input, lstm.config.hidden_size, lstm.config.num_output);
    x.check_features(d)?;
    let (batch, time) = (x.batch, x.time);
    let rows = batch * time;
    let ids = &lstm.ids;
    let mut bias = lstm.params.get(ids.bias).data().to_vec();
    if let Some(hh) = ids.bias_hh {
        bias.iter_mut().zip(lstm.params.get(hh).data()).for_each(|(b, h)| *b += h);
    }
    let x_buf = x.buffer;
    let w_ih = acc.upload(lstm.params.get(ids.w_ih).data())?;
    let gates = linear(acc, x_buf, rows, d, MatrixView::dense(w_ih, 4 * hs, d).t(), &bias)?;
    let w_hh = lstm.params.get(ids.w_hh).data();
    let mut w_hh_t = vec![0.0; 4 * hs * hs];
    crate::engine::kernels::transpose_into(w_hh, 4 * hs, hs, &mut w_hh_t);
    let w_hh_t = acc.upload(&w_hh_t)?;
    let mask = match dropout {
        Some(mask) if mask.len() == batch * hs => acc.upload(mask)?,
        Some(mask) => bail!("a dropout mask of {} values for ({batch}, {hs})", mask.len()),
        None => acc.upload(&vec![1.0; batch * hs])?,
    };
    let cell = acc.zeros(rows * hs)?;
    let tanh_cell = acc.zeros(rows * hs)?;
    let hidden = acc.zeros(rows * hs)?;
    acc.launch(
        "lstm_recurrence_forward",
        launch::lstm_recurrence(batch, hs, limits)?,
        &[
            KernelArg::Buffer(gates),
            KernelArg::Buffer(w_hh_t),
            KernelArg::Buffer(mask),
            KernelArg::Int(kernel_int(time)?),
            KernelArg::Int(kernel_int(hs)?),
            KernelArg::Buffer(cell),
            KernelArg::Buffer(tanh_cell),
            KernelArg::Buffer(hidden),
        ],
    )?;
    let w_y = acc.upload(lstm.params.get(ids.w_y).data())?;
    let b_y = lstm.params.get(ids.b_y).data();
    let y = linear(acc, hidden, rows, hs, MatrixView::dense(w_y, out, hs).t(), b_y)?;
    let y = acc.read(y)?;
    let dropped = dropout.is_some();
    Ok(LstmDeviceForward { batch, time, x: x_buf, gates, cell, tanh_cell, hidden, mask, dropped, y })
}

/// Gradients of `sum(y * dy)` for every parameter, aligned with `lstm.params`.
pub fn backward_on(
    acc: &mut dyn Accelerator,
    limits: &DeviceLimits,
    lstm: &Lstm,
    pass: &LstmDeviceForward,
    dy: &[f32],
) -> Result<Vec<Tensor>> {
    let (d, hs, out) = (lstm.config.num_input, lstm.config.hidden_size, lstm.config.num_output);
    let (batch, time) = (pass.batch, pass.time);
    let rows = batch * time;
    if dy.len() != rows * out {
        bail!("dy of {} values for ({batch}, {time}, {out})", dy.len());
    }
    let ids = &lstm.ids;
    let mut grads = lstm.params.zeros_like();

    // Readout: dW_y = dY^T H, db_y = column sums of dY, dH = dY W_y.
    let dy_buf = acc.upload(dy)?;
    let w_y = acc.upload(lstm.params.get(ids.w_y).data())?;
    let w_y_grad = acc.zeros(out * hs)?;
    acc.gemm(
        1.0,
        MatrixView::dense(dy_buf, rows, out).t(),
        MatrixView::dense(pass.hidden, rows, hs),
        0.0,
        MatrixView::dense(w_y_grad, out, hs),
    )?;
    grads[ids.w_y].data_mut().copy_from_slice(&acc.read(w_y_grad)?);
    grads[ids.b_y].data_mut().copy_from_slice(&column_sums(acc, dy_buf, rows, out)?);
    let dh = acc.zeros(rows * hs)?;
    acc.gemm(
        1.0,
        MatrixView::dense(dy_buf, rows, out),
        MatrixView::dense(w_y, out, hs),
        0.0,
        MatrixView::dense(dh, rows, hs),
    )?;

    // The reverse sweep on the device.
    let w_hh = acc.upload(lstm.params.get(ids.w_hh).data())?;
    let dz = acc.zeros(rows * 4 * hs)?;
    acc.launch(
        "lstm_recurrence_backward",
        launch::lstm_recurrence(batch, hs, limits)?,
        &[
            KernelArg::Buffer(pass.gates),
            KernelArg::Buffer(pass.cell),
            KernelArg::Buffer(pass.tanh_cell),
            KernelArg::Buffer(w_hh),
            KernelArg::Buffer(pass.mask),
            KernelArg::Int(kernel_int(time)?),
            KernelArg::Int(kernel_int(hs)?),
            KernelArg::Buffer(dh),
            KernelArg::Buffer(dz),
        ],
    )?;

    // dW_ih = dZ^T X; dW_hh = sum over samples of dz[1..]^T h[..T-1]; biases: column sums of dZ.
    let w_ih_grad = acc.zeros(4 * hs * d)?;
    acc.gemm(
        1.0,
        MatrixView::dense(dz, rows, 4 * hs).t(),
        MatrixView::dense(pass.x, rows, d),
        0.0,
        MatrixView::dense(w_ih_grad, 4 * hs, d),
    )?;
    grads[ids.w_ih].data_mut().copy_from_slice(&acc.read(w_ih_grad)?);
    if time > 1 {
        // Each step's recurrent product saw the masked state under recurrent dropout.
        let recurrent_input = if pass.dropped {
            let masked = acc.zeros(rows * hs)?;
            acc.launch(
                "lstm_mask_hidden",
                launch::elementwise(rows * hs),
                &[
                    KernelArg::Buffer(pass.hidden),
                    KernelArg::Buffer(pass.mask),
                    KernelArg::Int(kernel_int(batch)?),
                    KernelArg::Int(kernel_int(time)?),
                    KernelArg::Int(kernel_int(hs)?),
                    KernelArg::Buffer(masked),
                ],
            )?;
            masked
        } else {
            pass.hidden
        };
        let w_hh_grad = acc.zeros(4 * hs * hs)?;
        for b in 0..batch {
            let dz_b = MatrixView {
                buffer: dz,
                offset: (b * time + 1) * 4 * hs,
                rows: time - 1,
                cols: 4 * hs,
                ld: 4 * hs,
                transposed: false,
            };
            let h_b = MatrixView {
                buffer: recurrent_input,
                offset: b * time * hs,
                rows: time - 1,
                cols: hs,
                ld: hs,
                transposed: false,
            };
            acc.gemm(1.0, dz_b.t(), h_b, 1.0, MatrixView::dense(w_hh_grad, 4 * hs, hs))?;
        }
        grads[ids.w_hh].data_mut().copy_from_slice(&acc.read(w_hh_grad)?);
    }
    let bias_grad = column_sums(acc, dz, rows, 4 * hs)?;
    grads[ids.bias].data_mut().copy_from_slice(&bias_grad);
    if let Some(hh) = ids.bias_hh {
        grads[hh].data_mut().copy_from_slice(&bias_grad);
    }
    Ok(grads)
}

impl crate::models::on_device::DeviceModel for Lstm {
    type Pass = LstmDeviceForward;
    fn forward_on(
        &self,
        acc: &mut dyn Accelerator,
        limits: &DeviceLimits,
        x: &StagedInput,
    ) -> Result<LstmDeviceForward> {
        forward_on(acc, limits, self, x, None)
    }
    /// With recurrent dropout, the CPU's masks drawn from the same seed.
    fn forward_train_on(
        &self,
        acc: &mut dyn Accelerator,
        limits: &DeviceLimits,
        x: &StagedInput,
        seed: u64,
    ) -> Result<LstmDeviceForward> {
        let p = self.config.recurrent_dropout;
        let mask =
            (p > 0.0).then(|| super::recurrent_dropout::masks(p, seed, x.batch, self.config.hidden_size, &self.pool));
        forward_on(acc, limits, self, x, mask.as_deref())
    }
    fn pass_output(pass: &LstmDeviceForward) -> &[f32] {
        &pass.y
    }
    fn pass_shape(pass: &LstmDeviceForward) -> (usize, usize) {
        (pass.batch, pass.time)
    }
    fn backward_on(
        &self,
        acc: &mut dyn Accelerator,
        limits: &DeviceLimits,
        pass: &LstmDeviceForward,
        dy: &[f32],
    ) -> Result<Vec<Tensor>> {
        backward_on(acc, limits, self, pass, dy)
    }
}

/// The device passes against the CPU model on any accelerator: an evaluation pass, or with
/// `train_seed` a training pass (recurrent dropout masks from that seed on both sides).
#[cfg(test)]
pub(crate) fn check_against_cpu(
    acc: &mut dyn Accelerator,
    limits: &DeviceLimits,
    lstm: &Lstm,
    batch: usize,
    time: usize,
    train_seed: Option<u64>,
    tolerance: f32,
) {
    use crate::backend::emulation::{max_error, uniform};
    use crate::engine::Inputs;
    use crate::models::on_device::DeviceModel;
    let (d, out) = (lstm.config.num_input, lstm.config.num_output);
    let x: Vec<f32> = uniform(batch * time * d, 0.0, 1.0, 6).iter().map(|u| if *u < 0.3 { 1.0 } else { 0.0 }).collect();
    let dy = uniform(batch * time * out, -1.0, 1.0, 7);
    let inputs = Inputs::dense(&x, batch, time, d).unwrap();
    let cpu = match train_seed {
        Some(seed) => lstm.forward_train(&inputs, seed).unwrap(),
        None => lstm.forward(&inputs).unwrap(),
    };
    let expected = lstm.backward(&cpu, &inputs, &dy, false).unwrap().params;
    acc.clear();
    let staged = crate::backend::staging::stage(acc, &inputs).unwrap();
    let pass = match train_seed {
        Some(seed) => lstm.forward_train_on(acc, limits, &staged, seed).unwrap(),
        None => DeviceModel::forward_on(lstm, acc, limits, &staged).unwrap(),
    };
    assert!(max_error(&pass.y, &cpu.y) < tolerance, "outputs");
    let grads = backward_on(acc, limits, lstm, &pass, &dy).unwrap();
    for ((got, want), p) in grads.iter().zip(&expected).zip(lstm.params.iter()) {
        let error = crate::backend::emulation::error_relative_to_largest(got.data(), want.data(), 1e-6);
        assert!(error < 50.0 * tolerance, "{}: error {error:e}", p.name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::emulation::accelerator::EmulatedAccelerator;
    use crate::backend::emulation::emulator;
    use crate::models::lstm::LstmConfig;

    #[test]
    fn the_device_passes_equal_the_cpu_model() {
        let Some(emulator) = emulator() else { return };
        let mut acc = EmulatedAccelerator::new(emulator);
        for hidden in [4, 9] {
            let lstm = Lstm::new(LstmConfig::new(7, 3, hidden), false, 5).unwrap();
            check_against_cpu(&mut acc, &DeviceLimits::default(), &lstm, 3, 6, None, 2e-6);
        }
    }

    /// Recurrent dropout (the paper's SHD LSTM: 0.3): the masks enter the recurrence and dW_hh's
    /// inputs on the device as on the CPU; evaluation passes stay unmasked.
    #[test]
    fn training_passes_with_recurrent_dropout_equal_the_cpu_model() {
        let Some(emulator) = emulator() else { return };
        let mut acc = EmulatedAccelerator::new(emulator);
        let mut config = LstmConfig::new(7, 3, 9);
        config.recurrent_dropout = 0.3;
        let lstm = Lstm::new(config, false, 5).unwrap();
        for seed in [1, 2] {
            check_against_cpu(&mut acc, &DeviceLimits::default(), &lstm, 3, 6, Some(seed), 2e-6);
        }
        check_against_cpu(&mut acc, &DeviceLimits::default(), &lstm, 3, 6, None, 2e-6);
    }

    #[test]
    fn ten_training_steps_on_the_device_equal_ten_on_the_cpu() {
        let Some(emulator) = emulator() else { return };
        let make = || Lstm::new(LstmConfig::new(6, 2, 5), false, 3).unwrap();
        crate::models::on_device::check_ten_training_steps(
            make,
            Box::new(EmulatedAccelerator::new(emulator)),
            2,
            5,
            1e-4,
        );
    }

    #[test]
    fn ten_training_steps_with_recurrent_dropout_equal_ten_on_the_cpu() {
        let Some(emulator) = emulator() else { return };
        let mut config = LstmConfig::new(6, 2, 5);
        config.recurrent_dropout = 0.3;
        let make = || Lstm::new(config.clone(), false, 3).unwrap();
        crate::models::on_device::check_ten_training_steps(
            make,
            Box::new(EmulatedAccelerator::new(emulator)),
            2,
            5,
            1e-4,
        );
    }
}

/// On a real GPU (feature `cuda`): the paper's LSTM on NeuronIO (hidden 50, 1278 inputs, batch
/// 8 x 500) and Figure 5's on SHD (hidden 250, 700 inputs, batch 8 x 1000); SKIPPED without one.
#[cfg(all(test, feature = "cuda"))]
mod gpu_tests {
    use super::*;
    use crate::backend::cuda::accelerator::gpu_for_tests;
    use crate::models::lstm::LstmConfig;

    #[test]
    fn gpu_lstm_passes_equal_the_cpu_at_the_papers_shapes() {
        let Some(mut acc) = gpu_for_tests("the LSTM equivalence tests") else { return };
        let limits = acc.limits;
        let neuronio = Lstm::new(LstmConfig::new(1278, 2, 50), false, 0).unwrap();
        check_against_cpu(&mut acc, &limits, &neuronio, 8, 500, None, 2e-5);
        let shd = Lstm::new(LstmConfig::new(700, 20, 250), false, 0).unwrap();
        check_against_cpu(&mut acc, &limits, &shd, 8, 1000, None, 2e-5);
        // Figure 5's training pass, with its recurrent dropout of 0.3.
        let mut config = LstmConfig::new(700, 20, 250);
        config.recurrent_dropout = 0.3;
        let dropped = Lstm::new(config, false, 0).unwrap();
        check_against_cpu(&mut acc, &limits, &dropped, 8, 1000, Some(7), 2e-5);
    }
}
