//! The LSTM on an accelerator behind the harness's `SequenceModel` surface, as `ElmOnDevice` is
//! for the ELM: forward and backward on the device (`super::device`), parameters and optimizer on
//! the host. Training with recurrent dropout is refused by name until the device path applies the
//! mask to dW_hh's inputs. Checked on the kernel emulator: ten Adam steps equal ten on the CPU.

use super::device::{backward_on, forward_on, LstmDeviceForward};
use super::Lstm;
use crate::backend::accelerator::Accelerator;
use crate::backend::launch::DeviceLimits;
use crate::engine::{Inputs, ParamSet, Tensor};
use crate::models::{
    check_backward, check_features, downcast_pass, FlopCount, ForwardPass, ModelConfig, SequenceModel,
};
use crate::nn::Readout;
use anyhow::{bail, Result};
use std::any::Any;
use std::sync::Mutex;

pub struct LstmOnDevice {
    lstm: Lstm,
    device: Mutex<Box<dyn Accelerator>>,
    limits: DeviceLimits,
}

impl LstmOnDevice {
    pub fn new(lstm: Lstm, device: Box<dyn Accelerator>, limits: DeviceLimits) -> Self {
        Self { lstm, device: Mutex::new(device), limits }
    }
}

struct DevicePass(LstmDeviceForward);

impl ForwardPass for DevicePass {
    fn output(&self) -> &[f32] {
        &self.0.y
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl SequenceModel for LstmOnDevice {
    fn config(&self) -> ModelConfig {
        SequenceModel::config(&self.lstm)
    }
    fn num_input(&self) -> usize {
        self.lstm.config.num_input
    }
    fn num_output(&self) -> usize {
        self.lstm.config.num_output
    }
    fn params(&self) -> &ParamSet {
        &self.lstm.params
    }
    fn params_mut(&mut self) -> &mut ParamSet {
        &mut self.lstm.params
    }
    fn readout(&self) -> Readout {
        self.lstm.config.readout
    }
    fn forward_steps(&self, x: &Inputs) -> Result<Box<dyn ForwardPass>> {
        let (batch, time) = check_features(x, self.lstm.config.num_input)?;
        let mut device = self.device.lock().map_err(|_| anyhow::anyhow!("the device was poisoned by a panic"))?;
        device.clear();
        Ok(Box::new(DevicePass(forward_on(device.as_mut(), &self.limits, &self.lstm, &x.dense_values(), batch, time)?)))
    }
    fn forward_steps_train(&self, x: &Inputs, _seed: u64) -> Result<Box<dyn ForwardPass>> {
        if self.lstm.config.recurrent_dropout > 0.0 {
            bail!("recurrent_dropout = {} is not on the LSTM's device path yet", self.lstm.config.recurrent_dropout);
        }
        self.forward_steps(x)
    }
    fn backward_steps(&self, pass: &dyn ForwardPass, x: &Inputs, dy: &[f32]) -> Result<Vec<Tensor>> {
        let pass = &downcast_pass::<DevicePass>(pass, "lstm on a device")?.0;
        check_backward(x, self.lstm.config.num_input, (pass.batch, pass.time), dy, self.lstm.config.num_output)?;
        let mut device = self.device.lock().map_err(|_| anyhow::anyhow!("the device was poisoned by a panic"))?;
        backward_on(device.as_mut(), &self.limits, &self.lstm, pass, dy)
    }
    fn param_count_paper_convention(&self) -> usize {
        SequenceModel::param_count_paper_convention(&self.lstm)
    }
    fn flops(&self, time: usize) -> FlopCount {
        SequenceModel::flops(&self.lstm, time)
    }
    /// A CPU copy (snapshots and checkpoints need the weights, not the device).
    fn clone_model(&self) -> Box<dyn SequenceModel> {
        Box::new(self.lstm.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::emulation::accelerator::EmulatedAccelerator;
    use crate::backend::emulation::{emulator, uniform};
    use crate::models::lstm::LstmConfig;
    use crate::train::optimizer::Optimizer;

    #[test]
    fn ten_training_steps_on_the_device_equal_ten_on_the_cpu() {
        let Some(emulator) = emulator() else { return };
        let config = LstmConfig::new(6, 2, 5);
        let mut cpu: Box<dyn SequenceModel> = Box::new(Lstm::new(config.clone(), false, 3).unwrap());
        let mut device: Box<dyn SequenceModel> = Box::new(LstmOnDevice::new(
            Lstm::new(config.clone(), false, 3).unwrap(),
            Box::new(EmulatedAccelerator::new(emulator)),
            DeviceLimits::default(),
        ));
        let mut optimizers = [Optimizer::adam(cpu.params(), 0.01), Optimizer::adam(device.params(), 0.01)];
        let (batch, time) = (2, 5);
        for step in 0..10u64 {
            let x: Vec<f32> = uniform(batch * time * 6, 0.0, 1.0, 300 + step)
                .iter()
                .map(|u| if *u < 0.3 { 1.0 } else { 0.0 })
                .collect();
            let target = uniform(batch * time * 2, -1.0, 1.0, 400 + step);
            let inputs = Inputs::dense(&x, batch, time, 6).unwrap();
            for (model, optimizer) in [&mut cpu, &mut device].into_iter().zip(optimizers.iter_mut()) {
                let pass = model.forward_steps_train(&inputs, step).unwrap();
                let n = target.len() as f32;
                let dy: Vec<f32> = pass.output().iter().zip(&target).map(|(y, t)| 2.0 * (y - t) / n).collect();
                let grads = model.backward_steps(pass.as_ref(), &inputs, &dy).unwrap();
                optimizer.step(model.params_mut(), &grads);
            }
        }
        let fresh = Lstm::new(config, false, 3).unwrap();
        for ((a, b), f) in cpu.params().iter().zip(device.params().iter()).zip(fresh.params.iter()) {
            let error = crate::backend::emulation::error_relative_to_largest(b.value.data(), a.value.data(), 1e-3);
            assert!(error < 1e-4, "{} after 10 steps: error {error:e}", a.name);
            assert_ne!(a.value.data(), f.value.data(), "{} did not move", a.name);
        }
    }
}
