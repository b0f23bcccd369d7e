//! The ELM on an accelerator behind the harness's `SequenceModel` surface, so the trainer, the
//! tasks and the optimizer drive it as they drive the CPU model: forward and backward run on the
//! device (`super::device`); the parameters stay on the host, are uploaded with each pass (a few
//! hundred KB against the activations' hundreds of MB at the paper's shapes) and are updated by
//! the host optimizer. The device path covers the folded projection (the paper's setting).
//!
//! Checked on the kernel emulator: ten Adam steps equal ten on the CPU model. Not yet wired to
//! `--device cuda` (`crate::backend::CUDA_MODELS` is empty) until it has run on a GPU.

use super::device::{backward_on, forward_on, DeviceForward};
use super::Elm;
use crate::backend::accelerator::Accelerator;
use crate::backend::launch::DeviceLimits;
use crate::engine::{Inputs, ParamSet, Tensor};
use crate::models::{
    check_backward, check_features, downcast_pass, Buffer, FlopCount, ForwardPass, ModelConfig, SequenceModel,
};
use crate::nn::Readout;
use anyhow::Result;
use std::any::Any;
use std::sync::Mutex;

pub struct ElmOnDevice {
    elm: Elm,
    device: Mutex<Box<dyn Accelerator>>,
    limits: DeviceLimits,
}

impl ElmOnDevice {
    pub fn new(elm: Elm, device: Box<dyn Accelerator>, limits: DeviceLimits) -> Self {
        Self { elm, device: Mutex::new(device), limits }
    }
}

struct DevicePass(DeviceForward);

impl ForwardPass for DevicePass {
    fn output(&self) -> &[f32] {
        &self.0.y
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl SequenceModel for ElmOnDevice {
    fn config(&self) -> ModelConfig {
        self.elm.config()
    }
    fn num_input(&self) -> usize {
        self.elm.config.num_input
    }
    fn num_output(&self) -> usize {
        self.elm.config.num_output
    }
    fn params(&self) -> &ParamSet {
        &self.elm.params
    }
    fn params_mut(&mut self) -> &mut ParamSet {
        &mut self.elm.params
    }
    fn readout(&self) -> Readout {
        self.elm.config.readout
    }
    fn forward_steps(&self, x: &Inputs) -> Result<Box<dyn ForwardPass>> {
        let (batch, time) = check_features(x, self.elm.config.num_input)?;
        let mut device = self.device.lock().map_err(|_| anyhow::anyhow!("the device was poisoned by a panic"))?;
        // The previous step's buffers are no longer needed.
        device.clear();
        let pass = forward_on(device.as_mut(), &self.limits, &self.elm, &x.dense_values(), batch, time)?;
        Ok(Box::new(DevicePass(pass)))
    }
    fn backward_steps(&self, pass: &dyn ForwardPass, x: &Inputs, dy: &[f32]) -> Result<Vec<Tensor>> {
        let pass = &downcast_pass::<DevicePass>(pass, "elm on a device")?.0;
        check_backward(x, self.elm.config.num_input, (pass.batch, pass.time), dy, self.elm.config.num_output)?;
        let mut device = self.device.lock().map_err(|_| anyhow::anyhow!("the device was poisoned by a panic"))?;
        backward_on(device.as_mut(), &self.limits, &self.elm, pass, dy)
    }
    fn param_count_paper_convention(&self) -> usize {
        self.elm.param_count_paper_convention()
    }
    fn flops(&self, time: usize) -> FlopCount {
        SequenceModel::flops(&self.elm, time)
    }
    fn buffers(&self) -> Vec<(String, Buffer)> {
        SequenceModel::buffers(&self.elm)
    }
    fn set_buffer(&mut self, name: &str, value: Buffer) -> Result<()> {
        SequenceModel::set_buffer(&mut self.elm, name, value)
    }
    /// A CPU copy (the best-epoch snapshot and checkpoints need the weights, not the device).
    fn clone_model(&self) -> Box<dyn SequenceModel> {
        Box::new(self.elm.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::emulation::accelerator::EmulatedAccelerator;
    use crate::backend::emulation::{emulator, uniform};
    use crate::models::elm::config::ElmConfig;
    use crate::train::optimizer::Optimizer;

    /// Ten Adam steps of an MSE fit, on the CPU model and on the device path: the same parameters.
    #[test]
    fn ten_training_steps_on_the_device_equal_ten_on_the_cpu() {
        let Some(emulator) = emulator() else { return };
        let mut config = ElmConfig::new(10, 2);
        config.num_memory = 5;
        config.num_branch = Some(2);
        config.num_synapse_per_branch = 5;
        config.learn_memory_tau = true;
        let fresh_config = config.clone();
        let mut cpu: Box<dyn SequenceModel> = Box::new(Elm::new(config.clone(), 7).unwrap());
        let mut device: Box<dyn SequenceModel> = Box::new(ElmOnDevice::new(
            Elm::new(config, 7).unwrap(),
            Box::new(EmulatedAccelerator::new(emulator)),
            DeviceLimits::default(),
        ));
        let mut optimizers = [Optimizer::adam(cpu.params(), 0.01), Optimizer::adam(device.params(), 0.01)];
        let (batch, time) = (2, 6);
        for step in 0..10u64 {
            let x: Vec<f32> = uniform(batch * time * 10, 0.0, 1.0, 100 + step)
                .iter()
                .map(|u| if *u < 0.3 { 1.0 } else { 0.0 })
                .collect();
            let target = uniform(batch * time * 2, -1.0, 1.0, 200 + step);
            let inputs = Inputs::dense(&x, batch, time, 10).unwrap();
            for (model, optimizer) in [&mut cpu, &mut device].into_iter().zip(optimizers.iter_mut()) {
                let pass = model.forward_steps(&inputs).unwrap();
                let n = target.len() as f32;
                let dy: Vec<f32> = pass.output().iter().zip(&target).map(|(y, t)| 2.0 * (y - t) / n).collect();
                let grads = model.backward_steps(pass.as_ref(), &inputs, &dy).unwrap();
                optimizer.step(model.params_mut(), &grads);
            }
        }
        for (a, b) in cpu.params().iter().zip(device.params().iter()) {
            let error = crate::backend::emulation::error_relative_to_largest(b.value.data(), a.value.data(), 1e-3);
            assert!(error < 1e-4, "{} after 10 steps: error {error:e}", a.name);
        }
        // The steps moved the weights (the comparison is not of two untouched models).
        let fresh = Elm::new(fresh_config, 7).unwrap();
        let moved = fresh.params.iter().zip(cpu.params().iter()).any(|(f, c)| f.value.data() != c.value.data());
        assert!(moved);
    }
}
