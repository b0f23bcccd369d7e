//! Any model with a device path, behind the harness's `SequenceModel` surface, so the trainer,
//! the tasks and the optimizer drive it as they drive the CPU model. Forward and backward run on
//! the accelerator (each model's `device` module, through `DeviceModel`); the parameters stay on
//! the host, are uploaded with each pass (kilobytes to a few MB against the activations' hundreds
//! of MB at the paper's shapes) and are updated by the host optimizer.
//!
//! The first forward pass and the first backward pass are verified against the CPU model on the
//! same batch (outputs, then every gradient, within `VERIFY_TOLERANCE` of each tensor's largest
//! value), and a disagreement stops the run with the tensor named. The kernels have run on the
//! CPU emulator only until a GPU session runs them; this makes a first GPU run safe to trust or
//! loud to fail, at the price of one CPU step.

use crate::backend::accelerator::Accelerator;
use crate::backend::compare::error_relative_to_largest;
use crate::backend::launch::DeviceLimits;
use crate::backend::staging::{stage, StagedInput};
use crate::engine::{Inputs, ParamSet, Tensor};
use crate::models::{
    check_backward, check_features, downcast_pass, per_step_pass, Buffer, FlopCount, ForwardPass, ModelConfig,
    ParamGroup, SequenceModel,
};
use crate::nn::Readout;
use anyhow::{anyhow, bail, Result};
use std::any::Any;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// Largest |device - cpu| allowed at the first step, relative to the tensor's largest |value|.
pub const VERIFY_TOLERANCE: f32 = 1e-3;

/// A model's passes on an accelerator: the CPU model's math, written against `Accelerator`.
/// Each model's `device` module implements it with `impl_device_model!`.
pub trait DeviceModel: SequenceModel + Clone + 'static {
    /// What the forward pass leaves on the device for the backward pass.
    type Pass: Send + 'static;
    /// The forward pass on inputs staged on the device (`backend::staging`).
    fn forward_on(&self, acc: &mut dyn Accelerator, limits: &DeviceLimits, x: &StagedInput) -> Result<Self::Pass>;
    /// The training-mode forward pass, for models whose training pass differs from evaluation
    /// (BatchNorm's batch statistics, dropout drawn from `seed` as on the CPU); the evaluation
    /// pass otherwise.
    fn forward_train_on(
        &self,
        acc: &mut dyn Accelerator,
        limits: &DeviceLimits,
        x: &StagedInput,
        seed: u64,
    ) -> Result<Self::Pass> {
        let _ = seed;
        self.forward_on(acc, limits, x)
    }
    /// `SequenceModel::update_running_state` from a training pass on the device (BatchNorm's
    /// running statistics); nothing for models without such state.
    fn update_running_state_on(&mut self, pass: &Self::Pass) -> Result<()> {
        let _ = pass;
        Ok(())
    }
    /// Outputs at every step, (batch, time, num_output), read back.
    fn pass_output(pass: &Self::Pass) -> &[f32];
    /// (batch, time) of the pass.
    fn pass_shape(pass: &Self::Pass) -> (usize, usize);
    /// A loss term the model adds itself (`ForwardPass::auxiliary_loss`), 0 for most.
    fn pass_auxiliary_loss(_pass: &Self::Pass) -> f64 {
        0.0
    }
    /// Gradients of `sum(y * dy)` for every parameter, aligned with `params()`.
    fn backward_on(
        &self,
        acc: &mut dyn Accelerator,
        limits: &DeviceLimits,
        pass: &Self::Pass,
        dy: &[f32],
    ) -> Result<Vec<Tensor>>;
}

/// `DeviceModel` for `$model` from its device module's `forward_on(acc, limits, model, x)` and
/// `backward_on(acc, limits, model, pass, dy)`, whose pass `$pass` has `batch`, `time` and `y`;
/// further items (`forward_train_on`, `pass_auxiliary_loss`, ...) go into the impl.
macro_rules! impl_device_model {
    ($model:ty, $pass:ty $(, $extra:item)*) => {
        impl $crate::models::on_device::DeviceModel for $model {
            type Pass = $pass;
            fn forward_on(
                &self,
                acc: &mut dyn $crate::backend::accelerator::Accelerator,
                limits: &$crate::backend::launch::DeviceLimits,
                x: &$crate::backend::staging::StagedInput,
            ) -> anyhow::Result<$pass> {
                forward_on(acc, limits, self, x)
            }
            fn pass_output(pass: &$pass) -> &[f32] {
                &pass.y
            }
            fn pass_shape(pass: &$pass) -> (usize, usize) {
                (pass.batch, pass.time)
            }
            fn backward_on(
                &self,
                acc: &mut dyn $crate::backend::accelerator::Accelerator,
                limits: &$crate::backend::launch::DeviceLimits,
                pass: &$pass,
                dy: &[f32],
            ) -> anyhow::Result<Vec<$crate::engine::Tensor>> {
                backward_on(acc, limits, self, pass, dy)
            }
            $($extra)*
        }
    };
}
pub(crate) use impl_device_model;

pub struct OnDevice<M: DeviceModel> {
    model: M,
    device: Mutex<Box<dyn Accelerator>>,
    limits: DeviceLimits,
    forward_verified: AtomicBool,
    backward_verified: AtomicBool,
}

impl<M: DeviceModel> OnDevice<M> {
    /// The model on `device`, its first passes verified against the CPU.
    pub fn new(model: M, device: Box<dyn Accelerator>, limits: DeviceLimits) -> Self {
        Self {
            model,
            device: Mutex::new(device),
            limits,
            forward_verified: AtomicBool::new(false),
            backward_verified: AtomicBool::new(false),
        }
    }

    fn forward(&self, x: &Inputs, train_seed: Option<u64>) -> Result<Box<dyn ForwardPass>> {
        check_features(x, self.model.num_input())?;
        let pass = {
            let mut device = self.device.lock().map_err(|_| anyhow!("the device was poisoned by a panic"))?;
            // The previous step's buffers are no longer needed.
            device.clear();
            let staged = stage(device.as_mut(), x)?;
            match train_seed {
                Some(seed) => self.model.forward_train_on(device.as_mut(), &self.limits, &staged, seed)?,
                None => self.model.forward_on(device.as_mut(), &self.limits, &staged)?,
            }
        };
        let mut cpu_twin = None;
        if !self.forward_verified.swap(true, Ordering::Relaxed) {
            let cpu = self.cpu_forward(x, train_seed)?;
            verify("outputs", M::pass_output(&pass), cpu.output())?;
            let auxiliary = [M::pass_auxiliary_loss(&pass) as f32, cpu.auxiliary_loss() as f32];
            verify("the auxiliary loss", &auxiliary[..1], &auxiliary[1..])?;
            cpu_twin = Some(cpu);
        }
        Ok(Box::new(DevicePass::<M> { pass, train_seed, cpu_twin }))
    }

    /// The CPU model's pass on the same batch (and dropout seed), for the first-step checks.
    fn cpu_forward(&self, x: &Inputs, train_seed: Option<u64>) -> Result<Box<dyn ForwardPass>> {
        match train_seed {
            Some(seed) => self.model.forward_steps_train(x, seed),
            None => self.model.forward_steps(x),
        }
    }
}

/// Fails when the device's values differ from the CPU's by more than `VERIFY_TOLERANCE`.
fn verify(what: &str, device: &[f32], cpu: &[f32]) -> Result<()> {
    if device.len() != cpu.len() {
        bail!("device check: {what} has {} values on the device, {} on the CPU", device.len(), cpu.len());
    }
    let error = error_relative_to_largest(device, cpu, 1e-6);
    if !error.is_finite() || error > VERIFY_TOLERANCE {
        bail!(
            "device check: {what} on the device differs from the CPU model by {error:e} of its largest value \
             (allowed {VERIFY_TOLERANCE:e}); the device path is wrong for this model or shape, use --device cpu"
        );
    }
    Ok(())
}

struct DevicePass<M: DeviceModel> {
    pass: M::Pass,
    train_seed: Option<u64>,
    /// The CPU's pass of the forward check, kept for the backward check of the same step (a
    /// CPU forward at the paper's shapes is not free).
    cpu_twin: Option<Box<dyn ForwardPass>>,
}

impl<M: DeviceModel> ForwardPass for DevicePass<M> {
    fn output(&self) -> &[f32] {
        M::pass_output(&self.pass)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn auxiliary_loss(&self) -> f64 {
        M::pass_auxiliary_loss(&self.pass)
    }
}

impl<M: DeviceModel> SequenceModel for OnDevice<M> {
    fn config(&self) -> ModelConfig {
        self.model.config()
    }
    fn num_input(&self) -> usize {
        self.model.num_input()
    }
    fn num_output(&self) -> usize {
        self.model.num_output()
    }
    fn params(&self) -> &ParamSet {
        self.model.params()
    }
    fn params_mut(&mut self) -> &mut ParamSet {
        self.model.params_mut()
    }
    fn readout(&self) -> Readout {
        self.model.readout()
    }
    fn reported_shape(&self, batch: usize, time: usize) -> (usize, usize) {
        self.model.reported_shape(batch, time)
    }
    fn forward_steps(&self, x: &Inputs) -> Result<Box<dyn ForwardPass>> {
        self.forward(x, None)
    }
    fn forward_steps_train(&self, x: &Inputs, seed: u64) -> Result<Box<dyn ForwardPass>> {
        self.forward(x, Some(seed))
    }
    fn backward_steps(&self, pass: &dyn ForwardPass, x: &Inputs, dy: &[f32]) -> Result<Vec<Tensor>> {
        let wrapped = downcast_pass::<DevicePass<M>>(pass, "a model on a device")?;
        let shape = M::pass_shape(&wrapped.pass);
        check_backward(x, self.model.num_input(), shape, dy, self.model.num_output())?;
        let grads = {
            let mut device = self.device.lock().map_err(|_| anyhow!("the device was poisoned by a panic"))?;
            self.model.backward_on(device.as_mut(), &self.limits, &wrapped.pass, dy)?
        };
        if !self.backward_verified.swap(true, Ordering::Relaxed) {
            let made;
            let cpu_pass = match &wrapped.cpu_twin {
                Some(pass) => pass.as_ref(),
                None => {
                    made = self.cpu_forward(x, wrapped.train_seed)?;
                    made.as_ref()
                }
            };
            let cpu = self.model.backward_steps(cpu_pass, x, dy)?;
            for ((got, want), param) in grads.iter().zip(&cpu).zip(self.model.params().iter()) {
                verify(&format!("the gradient of {}", param.name), got.data(), want.data())?;
            }
        }
        Ok(grads)
    }
    fn update_running_state(&mut self, pass: &dyn ForwardPass) -> Result<()> {
        let wrapped = downcast_pass::<DevicePass<M>>(per_step_pass(pass), "a model on a device")?;
        self.model.update_running_state_on(&wrapped.pass)
    }
    fn param_count_paper_convention(&self) -> usize {
        self.model.param_count_paper_convention()
    }
    fn flops(&self, time: usize) -> FlopCount {
        self.model.flops(time)
    }
    fn param_groups(&self) -> Vec<ParamGroup> {
        self.model.param_groups()
    }
    fn buffers(&self) -> Vec<(String, Buffer)> {
        self.model.buffers()
    }
    fn set_buffer(&mut self, name: &str, value: Buffer) -> Result<()> {
        self.model.set_buffer(name, value)
    }
    /// A CPU copy (the best-epoch snapshot and checkpoints need the weights, not the device).
    fn clone_model(&self) -> Box<dyn SequenceModel> {
        Box::new(self.model.clone())
    }
}

/// The model where `device` says: itself on the CPU (in sample groups when its samples are
/// independent), a copy on the accelerator for CUDA. A model without a device path is an error
/// that names it (`backend::check_runs_on` refuses it earlier, before any data is read).
pub fn place(model: Box<dyn SequenceModel>, device: &crate::backend::Device) -> Result<Box<dyn SequenceModel>> {
    match device {
        // Independent samples are computed in groups, each by one thread (`sample_groups`).
        crate::backend::Device::Cpu => crate::models::sample_groups::split_by_samples(model),
        crate::backend::Device::Cuda { ordinal, .. } => {
            let (accelerator, limits) = crate::backend::cuda::accelerator(*ordinal)?;
            let kind = model.config().kind();
            model
                .on_accelerator(accelerator, limits)
                .ok_or_else(|| anyhow!("{}: model `{kind}` has no device path (use --device cpu)", device.describe()))
        }
    }
}

/// Test support: ten Adam steps of an MSE fit on the CPU model and on the device path end with
/// the same parameters, and the steps moved every parameter.
#[cfg(test)]
pub(crate) fn check_ten_training_steps<M: DeviceModel>(
    make: impl Fn() -> M,
    device: Box<dyn Accelerator>,
    batch: usize,
    time: usize,
    tolerance: f32,
) {
    use crate::backend::emulation::uniform;
    use crate::train::optimizer::Optimizer;
    let fresh = make();
    let (d, out) = (fresh.num_input(), fresh.num_output());
    let mut cpu: Box<dyn SequenceModel> = Box::new(make());
    let mut on_device: Box<dyn SequenceModel> = Box::new(OnDevice::new(make(), device, DeviceLimits::default()));
    let mut optimizers = [Optimizer::adam(cpu.params(), 0.01), Optimizer::adam(on_device.params(), 0.01)];
    for step in 0..10u64 {
        let x: Vec<f32> =
            uniform(batch * time * d, 0.0, 1.0, 300 + step).iter().map(|u| if *u < 0.3 { 1.0 } else { 0.0 }).collect();
        let inputs = Inputs::dense(&x, batch, time, d).unwrap();
        let (steps_batch, steps_time) = fresh.reported_shape(batch, time);
        let target = uniform(steps_batch * steps_time * out, -1.0, 1.0, 400 + step);
        for (model, optimizer) in [&mut cpu, &mut on_device].into_iter().zip(optimizers.iter_mut()) {
            // As the trainer: the reported outputs (through the model's readout).
            let pass = model.forward_train(&inputs, step).unwrap();
            assert_eq!(pass.output().len(), target.len());
            let n = target.len() as f32;
            let dy: Vec<f32> = pass.output().iter().zip(&target).map(|(y, t)| 2.0 * (y - t) / n).collect();
            let grads = model.backward(pass.as_ref(), &inputs, &dy).unwrap();
            // As the trainer: running statistics from the training pass, then the step.
            model.update_running_state(pass.as_ref()).unwrap();
            optimizer.step(model.params_mut(), &grads);
        }
    }
    assert_eq!(cpu.buffers().len(), on_device.buffers().len());
    for ((name, a), (_, b)) in cpu.buffers().iter().zip(&on_device.buffers()) {
        let (Buffer::F32(a), Buffer::F32(b)) = (a, b) else { continue };
        let error = error_relative_to_largest(b, a, 1e-3);
        assert!(error < tolerance, "{name} after 10 steps: error {error:e}");
    }
    for ((a, b), f) in cpu.params().iter().zip(on_device.params().iter()).zip(fresh.params().iter()) {
        let error = error_relative_to_largest(b.value.data(), a.value.data(), 1e-3);
        assert!(error < tolerance, "{} after 10 steps: error {error:e}", a.name);
        if a.trainable {
            assert_ne!(a.value.data(), f.value.data(), "{} did not move", a.name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verification_names_what_differs_and_accepts_what_agrees() {
        assert!(verify("outputs", &[1.0, 2.0], &[1.0, 2.0005]).is_ok());
        let error = verify("the gradient of w", &[1.0, 2.1], &[1.0, 2.0]).unwrap_err().to_string();
        assert!(error.contains("the gradient of w") && error.contains("--device cpu"), "{error}");
        assert!(verify("outputs", &[f32::NAN], &[1.0]).is_err());
        assert!(verify("outputs", &[1.0], &[1.0, 2.0]).is_err());
    }

    /// An accelerator whose read-backs are 1% off: the first-step check must stop it.
    struct OnePercentOff(crate::backend::emulation::accelerator::EmulatedAccelerator);

    impl Accelerator for OnePercentOff {
        fn clear(&mut self) {
            self.0.clear()
        }
        fn zeros(&mut self, n: usize) -> Result<crate::backend::accelerator::BufferId> {
            self.0.zeros(n)
        }
        fn upload(&mut self, data: &[f32]) -> Result<crate::backend::accelerator::BufferId> {
            self.0.upload(data)
        }
        fn upload_ints(&mut self, data: &[i32]) -> Result<crate::backend::accelerator::IntBufferId> {
            self.0.upload_ints(data)
        }
        fn read(&mut self, buffer: crate::backend::accelerator::BufferId) -> Result<Vec<f32>> {
            Ok(self.0.read(buffer)?.into_iter().map(|v| v * 1.01).collect())
        }
        fn gemm(
            &mut self,
            alpha: f32,
            a: crate::backend::accelerator::MatrixView,
            b: crate::backend::accelerator::MatrixView,
            beta: f32,
            c: crate::backend::accelerator::MatrixView,
        ) -> Result<()> {
            self.0.gemm(alpha, a, b, beta, c)
        }
        fn launch(
            &mut self,
            kernel: &str,
            config: crate::backend::launch::LaunchConfig,
            args: &[crate::backend::accelerator::KernelArg],
        ) -> Result<()> {
            self.0.launch(kernel, config, args)
        }
    }

    #[test]
    fn a_device_that_computes_wrongly_is_stopped_at_the_first_step() {
        use crate::backend::emulation::accelerator::EmulatedAccelerator;
        let Some(emulator) = crate::backend::emulation::emulator() else { return };
        let lstm = crate::models::lstm::Lstm::new(crate::models::lstm::LstmConfig::new(4, 2, 3), false, 1).unwrap();
        let x = Inputs::dense(&[1.0; 24], 2, 3, 4).unwrap();
        let wrong = OnDevice::new(
            lstm.clone(),
            Box::new(OnePercentOff(EmulatedAccelerator::new(emulator))),
            DeviceLimits::default(),
        );
        let error = wrong.forward_steps(&x).err().expect("a 1% error passes the check").to_string();
        assert!(error.contains("device check: outputs"), "{error}");
        // The same model on a faithful device passes, and so does its first backward pass.
        let right = OnDevice::new(lstm, Box::new(EmulatedAccelerator::new(emulator)), DeviceLimits::default());
        let pass = right.forward_steps(&x).unwrap();
        let dy = vec![0.5; pass.output().len()];
        right.backward_steps(pass.as_ref(), &x, &dy).unwrap();
    }

    /// The list the commands check before reading data names exactly the kinds whose models
    /// have a device path.
    #[test]
    fn the_cuda_model_list_names_exactly_the_models_with_a_device_path() {
        use crate::backend::emulation::accelerator::EmulatedAccelerator;
        use std::path::Path;
        for kind in crate::models::model_names() {
            let config = ["neuronio", "shd", "lra-retrieval"]
                .iter()
                .find_map(|task| crate::tasks::TaskConfig::named(task).unwrap().model_preset(kind).ok())
                .unwrap_or_else(|| panic!("no task has a preset of {kind}"));
            let model = config.build(0).unwrap();
            // The accelerator is never used here: placing only wraps the model.
            let device = Box::new(EmulatedAccelerator::new(Path::new("/nonexistent")));
            let placed = model.on_accelerator(device, DeviceLimits::default()).is_some();
            assert_eq!(placed, crate::backend::CUDA_MODELS.contains(&kind), "{kind}");
        }
    }
}
