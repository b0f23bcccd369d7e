//! The LSTM behind the harness's common `SequenceModel` surface, and its FLOP count.

use super::{Lstm, LstmForward, LstmInit};
use crate::engine::{Inputs, ParamSet, Tensor};
use crate::models::{downcast_pass, FlopCount, ForwardPass, ModelConfig, SequenceModel};
use crate::nn::Readout;
use anyhow::Result;
use std::any::Any;

impl ForwardPass for LstmForward {
    fn output(&self) -> &[f32] {
        &self.y
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl SequenceModel for Lstm {
    fn config(&self) -> ModelConfig {
        match self.init {
            LstmInit::PyTorch => ModelConfig::Lstm(self.config.clone()),
            LstmInit::Chrono { .. } => ModelConfig::ChronoLstm(self.config.clone()),
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
        Ok(Box::new(Lstm::forward(self, x)?))
    }
    fn forward_steps_train(&self, x: &Inputs, seed: u64) -> Result<Box<dyn ForwardPass>> {
        Ok(Box::new(Lstm::forward_train(self, x, seed)?))
    }
    fn backward_steps(&self, pass: &dyn ForwardPass, x: &Inputs, dy: &[f32]) -> Result<Vec<Tensor>> {
        let pass = downcast_pass::<LstmForward>(pass, "lstm")?;
        Ok(Lstm::backward(self, pass, x, dy, false)?.params)
    }
    fn param_count_paper_convention(&self) -> usize {
        Lstm::param_count_paper_convention(self)
    }
    /// Each sample's state is its own, unless recurrent dropout draws masks for the batch.
    fn samples_independent(&self) -> bool {
        self.config.recurrent_dropout == 0.0
    }
    fn flops(&self, time: usize) -> FlopCount {
        lstm_flops(self, time)
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

/// FLOPs of one sample's forward pass as the model is defined (dense inputs, every weight), not as
/// the engine shortcuts it (sparse inputs cost only their non-zeros). Per step, with D inputs, H
/// hidden units, O outputs and nb bias vectors (1, or 2 in the two-bias mode):
///
/// ```text
/// input projection      8 H D + 4 H (nb - 1)  W_ih x_t + b: the bias starts each of the 4H sums of
///                                             D products (D multiplies, D adds); a second bias adds
/// recurrent projection  8 H H                 W_hh h_{t-1}, accumulated onto the input projection
/// gate nonlinearities   4 H                   three sigmoids and a tanh, one each
/// cell update           5 H                   f c + i g (a multiply and a multiply-add), tanh(c), o tanh(c)
/// readout               2 H O                 the bias starts each sum, as above
/// ```
///
/// Total 8 H (D + H) + 9 H + 2 H O per step with one bias (the same convention as the ELM's, and
/// what a counted plain execution performs: tests/flop_count.rs). The paper's column (Appendix F)
/// is 2 (params) + 13 H per step for all six sizes: 12 H + 2 O per step above ours (0.1% at H = 50).
/// Recurrent dropout is training-only and not counted (the evaluation pass has none).
fn lstm_flops(lstm: &Lstm, time: usize) -> FlopCount {
    let c = &lstm.config;
    let t = time as u64;
    let (d, hs, out) = (c.num_input as u64, c.hidden_size as u64, c.num_output as u64);
    let biases = if c.two_biases { 2 } else { 1 };
    let mut f = FlopCount::default();
    f.add("input projection", t * (8 * hs * d + 4 * hs * (biases - 1)));
    f.add("recurrent projection", t * 8 * hs * hs);
    f.add("gate nonlinearities", t * 4 * hs);
    f.add("cell update", t * 5 * hs);
    f.add("readout", t * 2 * hs * out);
    f
}
