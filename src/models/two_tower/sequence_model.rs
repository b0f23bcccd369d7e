//! The two-tower behind the harness's common `SequenceModel` surface, and its FLOP count.
//!
//! A two-tower reports one decision per pair, not outputs per step: its `forward_steps` is its
//! `forward`, and it overrides the trait's `forward`, `forward_train` and `backward` so that no
//! readout is applied twice (the towers' pooling is the encoder's readout, inside).

use super::{TwoTower, TwoTowerForward, ENCODER};
use crate::engine::{Inputs, ParamSet, Tensor};
use crate::models::{downcast_pass, Buffer, FlopCount, ForwardPass, ModelConfig, SequenceModel};
use crate::nn::Readout;
use anyhow::{bail, Result};
use std::any::Any;

impl ForwardPass for TwoTowerForward {
    fn output(&self) -> &[f32] {
        &self.head.y
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn auxiliary_loss(&self) -> f64 {
        self.encoded.auxiliary_loss()
    }
}

impl SequenceModel for TwoTower {
    fn config(&self) -> ModelConfig {
        ModelConfig::TwoTower(self.config.clone())
    }
    fn num_input(&self) -> usize {
        self.config.num_input
    }
    fn num_output(&self) -> usize {
        self.config.num_output
    }
    fn params(&self) -> &ParamSet {
        &self.params
    }
    fn params_mut(&mut self) -> &mut ParamSet {
        &mut self.params
    }
    /// How each tower pools its steps (last-step or mean); either way one step per pair.
    fn readout(&self) -> Readout {
        self.config.readout
    }
    fn reported_shape(&self, batch: usize, _time: usize) -> (usize, usize) {
        (batch / 2, 1)
    }
    fn forward_steps(&self, x: &Inputs) -> Result<Box<dyn ForwardPass>> {
        Ok(Box::new(self.forward_with(x, None)?))
    }
    fn forward_steps_train(&self, x: &Inputs, seed: u64) -> Result<Box<dyn ForwardPass>> {
        Ok(Box::new(self.forward_with(x, Some(seed))?))
    }
    fn backward_steps(&self, pass: &dyn ForwardPass, x: &Inputs, dy: &[f32]) -> Result<Vec<Tensor>> {
        TwoTower::backward(self, downcast_pass::<TwoTowerForward>(pass, "two-tower")?, x, dy)
    }
    fn forward(&self, x: &Inputs) -> Result<Box<dyn ForwardPass>> {
        self.forward_steps(x)
    }
    fn forward_train(&self, x: &Inputs, seed: u64) -> Result<Box<dyn ForwardPass>> {
        self.forward_steps_train(x, seed)
    }
    fn backward(&self, pass: &dyn ForwardPass, x: &Inputs, dy: &[f32]) -> Result<Vec<Tensor>> {
        self.backward_steps(pass, x, dy)
    }
    /// The encoder's count in its own convention, plus the head's weights and biases.
    fn param_count(&self) -> usize {
        self.encoder.param_count() + self.head_param_count()
    }
    fn param_count_paper_convention(&self) -> usize {
        self.encoder.param_count_paper_convention() + self.head_param_count()
    }
    fn flops(&self, time: usize) -> FlopCount {
        two_tower_flops(self, time)
    }
    fn buffers(&self) -> Vec<(String, Buffer)> {
        self.encoder.buffers().into_iter().map(|(name, b)| (format!("{ENCODER}{name}"), b)).collect()
    }
    fn set_buffer(&mut self, name: &str, value: Buffer) -> Result<()> {
        match name.strip_prefix(ENCODER) {
            Some(inner) => self.encoder.set_buffer(inner, value),
            None => bail!("the two-tower has no tensor named `{name}` (its encoder's are `{ENCODER}<name>`)"),
        }
    }
    fn clone_model(&self) -> Box<dyn SequenceModel> {
        Box::new(self.clone())
    }
    fn on_accelerator(
        &self,
        device: Box<dyn crate::backend::accelerator::Accelerator>,
        limits: crate::backend::launch::DeviceLimits,
    ) -> Option<Box<dyn SequenceModel>> {
        Some(Box::new(self.on_device(device, limits)?))
    }
}

impl TwoTower {
    fn head_param_count(&self) -> usize {
        self.params.iter().skip(self.encoder_params).filter(|p| p.trainable).map(|p| p.value.len()).sum()
    }
}

/// FLOPs of one sample, a pair of documents of `time` steps each: the encoder's count for one
/// document, twice (its components prefixed `encoder`), then the head in the ELM's convention
/// (a multiply-add is 2, the bias starts each sum, ReLU 1 per unit).
fn two_tower_flops(model: &TwoTower, time: usize) -> FlopCount {
    let c = &model.config;
    let mut f = FlopCount::default();
    for (name, flops) in model.encoder.flops(time).components {
        f.add(&format!("encoder {name} (both documents)"), 2 * flops);
    }
    let (l, h, out) = (c.latent as u64, c.hidden() as u64, c.num_output as u64);
    // u * v and u - v.
    f.add("pair features", 2 * l);
    f.add("head hidden layer", 2 * 4 * l * h);
    f.add("head activation", h);
    f.add("head output layer", 2 * h * out);
    f
}
