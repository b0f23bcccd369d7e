//! S5 behind the harness's `SequenceModel` surface: training and evaluation modes, optimizer
//! groups as the official trainer makes them, BatchNorm statistics as buffers, and the FLOP count.

use super::{Activation, Mode, S5Forward, S5};
use crate::engine::{Inputs, ParamSet, Tensor};
use crate::models::{
    downcast_pass, per_step_pass, Buffer, FlopCount, ForwardPass, ModelConfig, ParamGroup, SequenceModel,
};
use crate::nn::Readout;
use anyhow::{bail, Result};
use std::any::Any;

impl ForwardPass for S5Forward {
    fn output(&self) -> &[f32] {
        &self.y
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl SequenceModel for S5 {
    fn config(&self) -> ModelConfig {
        ModelConfig::S5(self.config.clone())
    }
    fn num_input(&self) -> usize {
        self.config.d_input
    }
    fn num_output(&self) -> usize {
        self.config.d_output
    }
    fn params(&self) -> &ParamSet {
        &self.params
    }
    fn params_mut(&mut self) -> &mut ParamSet {
        &mut self.params
    }
    /// Pool is the mean readout of the per-step decoder outputs (exact: the decoder is affine).
    fn readout(&self) -> Readout {
        match self.mode() {
            Mode::Pool => Readout::Mean,
            Mode::Last => Readout::LastStep,
        }
    }
    fn forward_steps(&self, x: &Inputs) -> Result<Box<dyn ForwardPass>> {
        Ok(Box::new(self.forward_with(x, None)?))
    }
    fn forward_steps_train(&self, x: &Inputs, seed: u64) -> Result<Box<dyn ForwardPass>> {
        Ok(Box::new(self.forward_with(x, Some(seed))?))
    }
    fn backward_steps(&self, pass: &dyn ForwardPass, x: &Inputs, dy: &[f32]) -> Result<Vec<Tensor>> {
        let pass = downcast_pass::<S5Forward>(pass, "s5")?;
        Ok(self.backward_with(pass, x, dy)?.0)
    }
    fn flops(&self, time: usize) -> FlopCount {
        s5_flops(self, time)
    }
    /// The official "standard" optimizer setup (`train_helpers.create_train_state`): leaves named
    /// B, Lambda_re, Lambda_im, log_step train in the "ssm" group (Adam at the SSM learning rate,
    /// no weight decay). Its list also names "norm", but `map_nested_fn` applies the test to leaf
    /// names only (`norm` is a module whose leaves are `scale` and `bias`), so the norm's
    /// parameters train with the rest ("regular", AdamW).
    fn param_groups(&self) -> Vec<ParamGroup> {
        self.params
            .iter()
            .map(|p| {
                let leaf = p.name.rsplit('/').next().unwrap_or("");
                if matches!(leaf, "B" | "Lambda_re" | "Lambda_im" | "log_step") {
                    ParamGroup::StateSpace
                } else {
                    ParamGroup::Main
                }
            })
            .collect()
    }
    fn update_running_state(&mut self, pass: &dyn ForwardPass) -> Result<()> {
        let pass = downcast_pass::<S5Forward>(per_step_pass(pass), "s5")?;
        self.update_running(pass)
    }
    fn buffers(&self) -> Vec<(String, Buffer)> {
        let mut out = Vec::new();
        for (i, (mean, var)) in self.running_statistics().iter().enumerate() {
            let (m, v) = S5::running_names(i);
            out.push((m, Buffer::F32(mean.clone())));
            out.push((v, Buffer::F32(var.clone())));
        }
        out
    }
    fn set_buffer(&mut self, name: &str, value: Buffer) -> Result<()> {
        match value {
            Buffer::F32(values) => self.set_running(name, values),
            _ => bail!("s5: `{name}` must hold f32 values"),
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
        Some(Box::new(crate::models::on_device::OnDevice::new(self.clone(), device, limits)))
    }
}

/// FLOPs of one sample's forward pass in evaluation mode, as the official model computes it
/// (pool: the mean over time, then one decoder product). Convention of `crate::report`: a
/// multiply-add is 2, any other arithmetic op or transcendental (exp, tanh, sigmoid) is 1; a
/// complex multiply is 4 multiplies and 2 adds (6), a complex add 2. Per step, with H = d_model,
/// P complex states, n_C directions:
///
/// ```text
/// encoder        2 d_input H                      (the bias starts the sum)
/// norm           4 H   BatchNorm: subtract, scale, multiply-add; LayerNorm: 3 H for the
///                      statistics + 4 H
/// B_bar z        4 P H                            (complex times real: two multiply-adds)
/// scan           8 P n_C                          (complex multiply-add)
/// Re(C x), 2*    4 P H n_C + H                    (two real multiply-adds per state)
/// D z            2 H                              (multiply-add into y)
/// gelu           9 H                              (x^3, four mul/add, tanh, +1, two mul)
/// GLU gate       2 H^2 + H (sigmoid) + H          (out2, and the product); full_glu + 2 H^2
/// residual       H
/// ```
///
/// plus, per sample, pool T H + H and the decoder 2 H d_output. The discretisation is per pass,
/// not per sample, and is left out, as the ELM's per-pass constants are.
fn s5_flops(model: &S5, time: usize) -> FlopCount {
    let c = &model.config;
    let t = time as u64;
    let h = c.d_model as u64;
    let p = c.states() as u64;
    let dirs = c.directions() as u64;
    let layers = c.n_layers as u64;
    let mut f = FlopCount::default();
    f.add("encoder", t * 2 * c.d_input as u64 * h);
    let norm = if c.batchnorm { 4 * h } else { 7 * h };
    f.add("norm", layers * t * norm);
    f.add("ssm input B_bar z", layers * t * 4 * p * h);
    f.add("ssm scan", layers * t * 8 * p * dirs);
    f.add("ssm output Re(C x) + D z", layers * t * (4 * p * h * dirs + h + 2 * h));
    f.add("gelu", layers * t * 9 * h);
    let gate = match c.activation_fn {
        Activation::Gelu => 0,
        Activation::HalfGlu1 | Activation::HalfGlu2 => 2 * h * h + 2 * h,
        Activation::FullGlu => 4 * h * h + 2 * h,
    };
    f.add("gate", layers * t * gate);
    f.add("residual", layers * t * h);
    match model.mode() {
        Mode::Pool => f.add("mean pooling", t * h + h),
        Mode::Last => {}
    }
    f.add("decoder", 2 * h * c.d_output as u64);
    f
}
