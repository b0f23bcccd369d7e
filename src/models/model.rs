//! What every neuron model offers the trainer, the evaluator, checkpoints and reports.
//!
//! A model maps a batch of input sequences (batch, time, num_input) to outputs at every step
//! (batch, time, num_output) in `forward_steps`; its readout setting (`crate::nn::Readout`: every
//! step, the last step, the mean over time) then decides what `forward` reports, (batch, steps,
//! num_output). The forward pass returns whatever the backward pass needs, boxed behind
//! `ForwardPass`; the backward pass takes the gradient of a scalar loss with respect to the
//! reported outputs and returns the gradient of every parameter, aligned with `params()`. Models
//! stay plain structs with their own typed API (`Elm::forward_with`, ...); this trait is the small
//! common surface through which the harness drives any of them, and the readout is applied here,
//! once, for all of them.
//!
//! Training and evaluation differ only where a model trains with randomness (dropout): the
//! trainer calls `forward_train` with a seed, evaluation calls `forward`. Both go through the
//! same readout and the same backward pass.

use super::ModelConfig;
use crate::engine::{Inputs, ParamSet, Tensor};
use crate::nn::Readout;
use anyhow::{bail, Result};
use std::any::Any;

/// The saved state of one forward pass.
pub trait ForwardPass: Any + Send {
    /// Outputs, (batch, steps, num_output) row-major.
    fn output(&self) -> &[f32];
    /// For the model's own backward pass to recover its concrete type.
    fn as_any(&self) -> &dyn Any;
    /// A loss term the model adds to the task's loss by itself (a spike-count penalty, say),
    /// already included in the gradients its backward pass returns; the trainer adds it to the
    /// loss it reports. Zero for most models.
    fn auxiliary_loss(&self) -> f64 {
        0.0
    }
}

/// A forward pass whose outputs went through a reducing readout: the reduced outputs and the
/// model's own pass underneath.
struct ReadoutPass {
    inner: Box<dyn ForwardPass>,
    y: Vec<f32>,
    shape: (usize, usize),
}

impl ForwardPass for ReadoutPass {
    fn output(&self) -> &[f32] {
        &self.y
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn auxiliary_loss(&self) -> f64 {
        self.inner.auxiliary_loss()
    }
}

/// A tensor that is part of a model but not a parameter (the ELM's synapse routing): saved with
/// the weights, never trained.
#[derive(Clone, Debug, PartialEq)]
pub enum Buffer {
    I64(Vec<i64>),
    Bool(Vec<bool>),
    /// Running statistics (S5's BatchNorm): updated by training steps, never by the optimizer.
    F32(Vec<f32>),
}

/// Which optimizer group a parameter trains in. Most models have one group; S5 trains its
/// state-space parameters (Lambda, B, the step) without weight decay at their own learning rate,
/// as the official S5 trainer does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamGroup {
    Main,
    StateSpace,
}

/// FLOPs of one forward pass of one sample, by component, in the convention of
/// `crate::report::flops`: a multiply-add is 2, any other arithmetic or transcendental op is 1.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FlopCount {
    pub components: Vec<(String, u64)>,
}

impl FlopCount {
    pub fn add(&mut self, component: &str, flops: u64) {
        self.components.push((component.to_string(), flops));
    }

    pub fn total(&self) -> u64 {
        self.components.iter().map(|(_, f)| f).sum()
    }
}

pub trait SequenceModel: Send + Sync {
    /// The configuration that rebuilds this model (with `ModelConfig::build`).
    fn config(&self) -> ModelConfig;
    fn num_input(&self) -> usize;
    fn num_output(&self) -> usize;
    fn params(&self) -> &ParamSet;
    fn params_mut(&mut self) -> &mut ParamSet;

    /// Which steps' outputs `forward` reports (the model's `readout` setting).
    fn readout(&self) -> Readout {
        Readout::PerStep
    }
    /// What `forward` reports for `batch` input sequences of `time` steps: (samples, steps), each
    /// of `num_output` values. One sample per sequence with the readout's steps, except for models
    /// of pairs (the two-tower reads 2B sequences and reports B pairs).
    fn reported_shape(&self, batch: usize, time: usize) -> (usize, usize) {
        (batch, self.readout().steps(time))
    }
    /// Outputs at every step, (batch, time, num_output).
    fn forward_steps(&self, x: &Inputs) -> Result<Box<dyn ForwardPass>>;
    /// Gradients of `sum(y * dy)` for every parameter, aligned with `params()` (zeros for fixed
    /// ones), where y are the outputs of every step.
    fn backward_steps(&self, pass: &dyn ForwardPass, x: &Inputs, dy: &[f32]) -> Result<Vec<Tensor>>;

    /// Outputs at every step in training mode: what `forward_steps` computes, plus whatever
    /// randomness the model trains with (the LSTM's recurrent dropout), drawn from `seed` alone,
    /// so that a resumed run draws the same masks. Models without such randomness need nothing
    /// here. The pass it returns goes to the same `backward_steps`, which must include the masks.
    fn forward_steps_train(&self, x: &Inputs, seed: u64) -> Result<Box<dyn ForwardPass>> {
        let _ = seed;
        self.forward_steps(x)
    }

    /// The outputs the readout reports, (batch, readout.steps(time), num_output): evaluation
    /// mode, no training-time randomness.
    fn forward(&self, x: &Inputs) -> Result<Box<dyn ForwardPass>> {
        read_out(self.readout(), self.num_output(), self.forward_steps(x)?, x)
    }
    /// The same outputs in training mode (`forward_steps_train`), through the same readout.
    fn forward_train(&self, x: &Inputs, seed: u64) -> Result<Box<dyn ForwardPass>> {
        read_out(self.readout(), self.num_output(), self.forward_steps_train(x, seed)?, x)
    }
    /// Gradients of `sum(y * dy)` for every parameter, where y are the reported outputs.
    fn backward(&self, pass: &dyn ForwardPass, x: &Inputs, dy: &[f32]) -> Result<Vec<Tensor>> {
        backward_through_readout(self, pass, x, dy)
    }

    /// Trainable scalars, counted as PyTorch counts them.
    fn param_count(&self) -> usize {
        self.params().trainable_count()
    }
    /// The parameter count in the convention of the paper's tables, where it differs.
    fn param_count_paper_convention(&self) -> usize {
        self.param_count()
    }
    /// FLOPs of the forward pass of one sample of `time` steps, by component.
    fn flops(&self, time: usize) -> FlopCount;

    /// Whether each sample's outputs, and its terms of the gradient, depend on that sample alone
    /// and nothing in a pass spans the batch (no BatchNorm, no dropout drawn per batch, no pairs
    /// of sequences): then a batch may be computed as groups of samples apart and the groups'
    /// gradients added (`models::sample_groups`). False unless a model says so.
    fn samples_independent(&self) -> bool {
        false
    }

    /// The optimizer group of every parameter, aligned with `params()`.
    fn param_groups(&self) -> Vec<ParamGroup> {
        vec![ParamGroup::Main; self.params().len()]
    }

    /// Updates state that training steps change besides the parameters (BatchNorm's running
    /// statistics) from a pass of `forward_train`. The trainer calls it once per training batch;
    /// models without such state need nothing here.
    fn update_running_state(&mut self, pass: &dyn ForwardPass) -> Result<()> {
        let _ = pass;
        Ok(())
    }

    /// Non-parameter tensors saved with the weights, by name.
    fn buffers(&self) -> Vec<(String, Buffer)> {
        Vec::new()
    }
    /// Restores one saved buffer.
    fn set_buffer(&mut self, name: &str, _value: Buffer) -> Result<()> {
        bail!("the model has no tensor named `{name}`")
    }
    fn clone_model(&self) -> Box<dyn SequenceModel>;
    /// A copy that computes on `device` (`models::on_device`), or None for a model without a
    /// device path.
    fn on_accelerator(
        &self,
        _device: Box<dyn crate::backend::accelerator::Accelerator>,
        _limits: crate::backend::launch::DeviceLimits,
    ) -> Option<Box<dyn SequenceModel>> {
        None
    }
}

/// What the trait's default `backward` does: spreads `dy` over the steps as `model.readout()`
/// reported them and runs `model.backward_steps` on the per-step pass inside. Public so that a
/// wrapper overriding `backward` (a test's deliberately wrong model) can still reach it.
pub fn backward_through_readout<M: SequenceModel + ?Sized>(
    model: &M,
    pass: &dyn ForwardPass,
    x: &Inputs,
    dy: &[f32],
) -> Result<Vec<Tensor>> {
    let readout = model.readout();
    if readout == Readout::PerStep {
        return model.backward_steps(pass, x, dy);
    }
    let pass = downcast_pass::<ReadoutPass>(pass, "readout")?;
    let (batch, time) = pass.shape;
    let dy_steps = readout.backward(dy, batch, time, model.num_output())?;
    model.backward_steps(pass.inner.as_ref(), x, &dy_steps)
}

/// The model's own pass under a readout's reduction (the pass itself for per-step readouts), for
/// `update_running_state`, which sees the pass `forward_train` returned.
pub fn per_step_pass(pass: &dyn ForwardPass) -> &dyn ForwardPass {
    match pass.as_any().downcast_ref::<ReadoutPass>() {
        Some(p) => p.inner.as_ref(),
        None => pass,
    }
}

/// Recovers a model's concrete forward pass, with an error instead of a panic when a pass from
/// another model is handed in.
pub fn downcast_pass<'a, T: 'static>(pass: &'a dyn ForwardPass, model: &str) -> Result<&'a T> {
    match pass.as_any().downcast_ref::<T>() {
        Some(p) => Ok(p),
        None => bail!("{model}: backward was given the forward pass of another model"),
    }
}

/// Applies a readout to a pass of per-step outputs: the one place where `forward` and
/// `forward_train` turn (batch, time, outputs) into what the readout reports.
fn read_out(
    readout: Readout,
    num_output: usize,
    pass: Box<dyn ForwardPass>,
    x: &Inputs,
) -> Result<Box<dyn ForwardPass>> {
    if readout == Readout::PerStep {
        return Ok(pass);
    }
    let (batch, time, _) = x.shape();
    let y = readout.forward(pass.output().to_vec(), batch, time, num_output)?;
    Ok(Box::new(ReadoutPass { inner: pass, y, shape: (batch, time) }))
}

/// What every backward pass checks first: the input has the model's features and the shape its
/// forward pass saw, and `dy` holds one value per output. Returns (batch, time).
pub fn check_backward(
    x: &Inputs,
    num_input: usize,
    forward_shape: (usize, usize),
    dy: &[f32],
    num_output: usize,
) -> Result<(usize, usize)> {
    let (batch, time) = check_features(x, num_input)?;
    if (batch, time) != forward_shape {
        bail!(
            "backward got a batch of shape ({batch}, {time}), forward saw ({}, {})",
            forward_shape.0,
            forward_shape.1
        );
    }
    let expected = batch * time * num_output;
    if dy.len() != expected {
        bail!(
            "the output gradient has {} values, expected {expected} (batch {batch} x time {time} x {num_output})",
            dy.len()
        );
    }
    Ok((batch, time))
}

/// Checks the input's feature count against the model's.
pub fn check_features(x: &Inputs, num_input: usize) -> Result<(usize, usize)> {
    let (batch, time, features) = x.shape();
    if features != num_input {
        bail!("the input has {features} features per step, but the model expects num_input = {num_input}");
    }
    Ok((batch, time))
}
