//! The TCN behind the harness's `SequenceModel` surface, and its FLOP count.

use super::{Tcn, TcnForward};
use crate::engine::kernels::Activation;
use crate::engine::{Inputs, ParamSet, Tensor};
use crate::models::{downcast_pass, FlopCount, ForwardPass, ModelConfig, SequenceModel};
use crate::nn::Readout;
use anyhow::Result;
use std::any::Any;

impl ForwardPass for TcnForward {
    fn output(&self) -> &[f32] {
        &self.y
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl SequenceModel for Tcn {
    fn config(&self) -> ModelConfig {
        ModelConfig::Tcn(self.config.clone())
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
    fn readout(&self) -> Readout {
        self.config.readout
    }
    fn forward_steps(&self, x: &Inputs) -> Result<Box<dyn ForwardPass>> {
        Ok(Box::new(Tcn::forward(self, x)?))
    }
    fn backward_steps(&self, pass: &dyn ForwardPass, x: &Inputs, dy: &[f32]) -> Result<Vec<Tensor>> {
        let pass = downcast_pass::<TcnForward>(pass, "tcn")?;
        Tcn::backward(self, pass, x, dy)
    }
    fn flops(&self, time: usize) -> FlopCount {
        tcn_flops(self, time)
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

/// FLOPs of one sample's forward pass as the model is defined: every step's full window of
/// K taps, including the causal zero padding before the first step, and every input (dense),
/// although the engine skips zeros. Per step:
///
/// ```text
/// convolution l     2 K_l C_in C_out (the bias starts each sum, as in every model)
/// activation l      C_out (ReLU) or 2 C_out (SiLU: a sigmoid, one op, and a multiply)
/// head              2 C_L per output (num_output of them)
/// ```
///
/// A counted plain execution performs exactly this many operations (tests/flop_count.rs).
fn tcn_flops(tcn: &Tcn, time: usize) -> FlopCount {
    let t = time as u64;
    let activation = match tcn.config.activation {
        Activation::Relu => 1,
        Activation::Silu => 2,
    };
    let mut f = FlopCount::default();
    for (l, shape) in tcn.layers().iter().enumerate() {
        let (k, cin, cout) = (shape.kernel as u64, shape.inputs as u64, shape.outputs as u64);
        f.add(&format!("convolution {}", l + 1), t * 2 * k * cin * cout);
        f.add(&format!("activation {}", l + 1), t * activation * cout);
    }
    let width = tcn.layers().last().map_or(0, |l| l.outputs) as u64;
    f.add("heads", t * tcn.config.num_output as u64 * 2 * width);
    f
}
