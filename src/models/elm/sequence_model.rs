//! The ELM behind the harness's common `SequenceModel` surface, and its FLOP count.

use super::{Elm, ElmForward, ElmVersion};
use crate::engine::kernels::Activation;
use crate::engine::{Inputs, ParamSet, Tensor};
use crate::models::{downcast_pass, Buffer, FlopCount, ForwardPass, ModelConfig, SequenceModel};
use crate::nn::Readout;
use anyhow::{bail, Result};
use std::any::Any;

impl ForwardPass for ElmForward {
    fn output(&self) -> &[f32] {
        &self.y
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl SequenceModel for Elm {
    fn config(&self) -> ModelConfig {
        if self.branch_variant {
            ModelConfig::BranchElm(self.config.clone())
        } else {
            ModelConfig::Elm(self.config.clone())
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
        Ok(Box::new(Elm::forward(self, x)?))
    }
    fn backward_steps(&self, pass: &dyn ForwardPass, x: &Inputs, dy: &[f32]) -> Result<Vec<Tensor>> {
        let pass = downcast_pass::<ElmForward>(pass, "elm")?;
        Ok(Elm::backward(self, pass, x, dy, false)?.params)
    }
    fn param_count_paper_convention(&self) -> usize {
        Elm::param_count_paper_convention(self)
    }
    /// Each sample's synapse traces, memory and outputs are its own; the routing is fixed.
    fn samples_independent(&self) -> bool {
        true
    }
    fn flops(&self, time: usize) -> FlopCount {
        elm_flops(self, time)
    }
    fn buffers(&self) -> Vec<(String, Buffer)> {
        vec![
            (
                "input_to_synapse_indices".into(),
                Buffer::I64(self.routing.input_of_synapse.iter().map(|&i| i as i64).collect()),
            ),
            ("valid_indices_mask".into(), Buffer::Bool(self.routing.valid.clone())),
        ]
    }
    fn set_buffer(&mut self, name: &str, value: Buffer) -> Result<()> {
        let mut routing = self.routing.clone();
        match (name, value) {
            ("input_to_synapse_indices", Buffer::I64(indices)) => {
                routing.input_of_synapse = indices
                    .into_iter()
                    .map(|i| u32::try_from(i).map_err(|_| anyhow::anyhow!("`{name}` holds the invalid index {i}")))
                    .collect::<Result<_>>()?;
            }
            ("valid_indices_mask", Buffer::Bool(mask)) => routing.valid = mask,
            ("input_to_synapse_indices" | "valid_indices_mask", _) => bail!("`{name}` has the wrong element type"),
            _ => bail!("the ELM has no tensor named `{name}`"),
        }
        if routing.input_of_synapse.len() != routing.valid.len() {
            // The other half of the routing arrives next; check the pair once both are set.
            self.routing = routing;
            return Ok(());
        }
        self.set_routing(routing)
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

/// FLOPs of one sample's forward pass as the model is defined (every synapse, every step), not
/// as the engine shortcuts it (the folded projection and sparse inputs do less work).
fn elm_flops(elm: &Elm, time: usize) -> FlopCount {
    let c = &elm.config;
    let t = time as u64;
    let (n_syn, n_branch, dm) = (c.num_synapse() as u64, c.num_branch() as u64, c.num_memory as u64);
    let mut f = FlopCount::default();
    match c.version {
        // s_t = kappa_s s_{t-1} + w_s x_t: one multiply-add and one multiply per synapse.
        ElmVersion::V1 => f.add("synapse traces", t * 3 * n_syn),
        // b_t = kappa_b b_{t-1} + sum w_s x_t: the weighting per synapse, the decay per branch.
        ElmVersion::V2 => f.add("synapse weighting", t * n_syn),
    }
    let sum_adds = n_syn - n_branch;
    if sum_adds > 0 {
        f.add("branch sums", t * sum_adds);
    }
    if c.version == ElmVersion::V2 {
        f.add("branch traces", t * 2 * n_branch);
    }
    // A sigmoid (one transcendental) or a ReLU's max per branch and step; identity is free.
    if !c.branch_activation.is_identity() {
        f.add("branch activation", t * n_branch);
    }
    f.add("memory decay", t * dm);
    let activation = match c.mlp_activation {
        Activation::Relu => 1,
        // z * sigmoid(z): a sigmoid (one transcendental, as in the LSTM's gates) and a multiply.
        Activation::Silu => 2,
    };
    let mut fan_in = c.mlp_input_size() as u64;
    for layer in 0..=c.mlp_num_layers {
        let out = if layer == c.mlp_num_layers { dm } else { c.mlp_hidden_size() as u64 };
        // W z + b: fan_in multiplies and fan_in adds (the bias starts the sum) per unit.
        f.add(&format!("mlp layer {layer}"), t * 2 * fan_in * out);
        if layer < c.mlp_num_layers {
            f.add(&format!("mlp activation {layer}"), t * activation * out);
        }
        fan_in = out;
    }
    // 1.7159 tanh(2/3 z): two multiplies and a tanh; m_t = kappa_m m_{t-1} + g dm_t: a multiply
    // and an add (kappa_m m_{t-1} is the MLP's memory input, counted above).
    f.add("memory update", t * 5 * dm);
    let out = c.num_output as u64;
    f.add("readout", t * 2 * dm * out);
    // Routing is a gather and the validity mask a select: no arithmetic.
    f
}
