//! The LIF/ALIF layer behind the harness's `SequenceModel` surface, and its FLOP count.

use super::{Lif, LifForward, LifOutputs};
use crate::engine::{Inputs, ParamSet, Tensor};
use crate::models::{downcast_pass, FlopCount, ForwardPass, ModelConfig, SequenceModel};
use crate::nn::Readout;
use anyhow::Result;
use std::any::Any;

impl ForwardPass for LifForward {
    fn output(&self) -> &[f32] {
        &self.y
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl SequenceModel for Lif {
    fn config(&self) -> ModelConfig {
        if self.is_adaptive() {
            ModelConfig::Alif(self.config.clone())
        } else {
            ModelConfig::Lif(self.config.clone())
        }
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
        Ok(Box::new(Lif::forward(self, x)?))
    }
    fn backward_steps(&self, pass: &dyn ForwardPass, x: &Inputs, dy: &[f32]) -> Result<Vec<Tensor>> {
        let pass = downcast_pass::<LifForward>(pass, if self.is_adaptive() { "alif" } else { "lif" })?;
        Lif::backward(self, pass, x, dy)
    }
    fn flops(&self, time: usize) -> FlopCount {
        lif_flops(self, time)
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

/// FLOPs of one sample's forward pass as the model is defined (every input, every step; sparse
/// inputs make the engine do less). Per neuron and step, with n inputs:
///
/// ```text
/// synaptic current  w . x_t + b                 2n  (the bias starts the sum, as in every model)
/// membrane          alpha v + (1 - alpha) I     3   (1 - alpha is computed once per pass)
/// spike             u - theta, compare          2
/// reset             u - theta s                 2
/// spike logit       k x                         1   (spike-and-membrane only; the membrane output is u: 0)
/// adaptation        theta + beta a (2), rho a + (1 - rho) s (3)     5   (ALIF only)
/// memory units      per unit: beta m + (1 - beta) I (3), + c m (2)   5 K (with num_memory = K)
/// ```
///
/// With N neurons, LIF: T N (2n + 8); ALIF: T N (2n + 13); one less per neuron and step in
/// `membrane` mode. Per-pass constants (the exp and sigmoid of the time constants) are not per
/// sample and are left out, as in the ELM's count.
fn lif_flops(lif: &Lif, time: usize) -> FlopCount {
    // Every count below is per neuron and step.
    let t = time as u64 * lif.num_neurons() as u64;
    let n = lif.config.num_input as u64;
    let mut f = FlopCount::default();
    f.add("synaptic current", t * 2 * n);
    f.add("membrane", t * 3);
    f.add("spike", t * 2);
    f.add("reset", t * 2);
    if lif.config.outputs == LifOutputs::SpikeAndMembrane {
        f.add("spike logit", t);
    }
    if lif.is_adaptive() {
        f.add("adaptation", t * 5);
    }
    if lif.config.num_memory > 0 {
        f.add("memory units", t * 5 * lif.config.num_memory as u64);
    }
    f
}
