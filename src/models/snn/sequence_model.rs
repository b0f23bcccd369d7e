//! The SNN behind the harness's `SequenceModel` surface: its saved wiring, its spike penalty as
//! an auxiliary loss, and its FLOP count.

use super::{Connectivity, Snn, SnnForward};
use crate::engine::{Inputs, ParamSet, Tensor};
use crate::models::{downcast_pass, Buffer, FlopCount, ForwardPass, ModelConfig, SequenceModel};
use crate::nn::Readout;
use anyhow::{bail, Result};
use std::any::Any;

impl ForwardPass for SnnForward {
    fn output(&self) -> &[f32] {
        &self.y
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    /// The L1 penalty on spikes (spike_l1 x mean spike).
    fn auxiliary_loss(&self) -> f64 {
        self.spike_penalty()
    }
}

/// Buffer names: the partner of every synapse in the shared index space (inputs, then neurons),
/// and which neurons are inhibitory.
const PRESYNAPTIC: &str = "presynaptic_indices";
const INHIBITORY: &str = "inhibitory_mask";

impl SequenceModel for Snn {
    fn config(&self) -> ModelConfig {
        ModelConfig::Snn(self.config.clone())
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
        Ok(Box::new(Snn::forward(self, x)?))
    }
    fn backward_steps(&self, pass: &dyn ForwardPass, x: &Inputs, dy: &[f32]) -> Result<Vec<Tensor>> {
        let pass = downcast_pass::<SnnForward>(pass, "snn")?;
        Snn::backward(self, pass, x, dy)
    }
    fn flops(&self, time: usize) -> FlopCount {
        snn_flops(self, time)
    }
    fn buffers(&self) -> Vec<(String, Buffer)> {
        let c = self.connectivity();
        vec![
            (PRESYNAPTIC.into(), Buffer::I64(c.presynaptic.iter().map(|&p| p as i64).collect())),
            (INHIBITORY.into(), Buffer::Bool(c.inhibitory.clone())),
        ]
    }
    fn set_buffer(&mut self, name: &str, value: Buffer) -> Result<()> {
        let mut c: Connectivity = self.connectivity().clone();
        match (name, value) {
            (PRESYNAPTIC, Buffer::I64(indices)) => {
                c.presynaptic = indices
                    .into_iter()
                    .map(|i| u32::try_from(i).map_err(|_| anyhow::anyhow!("`{name}` holds the invalid index {i}")))
                    .collect::<Result<_>>()?;
            }
            (INHIBITORY, Buffer::Bool(mask)) => c.inhibitory = mask,
            (PRESYNAPTIC | INHIBITORY, _) => bail!("`{name}` has the wrong element type"),
            _ => bail!("the SNN has no tensor named `{name}`"),
        }
        self.set_connectivity(c)
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

/// FLOPs of one sample's forward pass as the model is defined (every synapse at every step,
/// whatever spiked; the engine skips silent neurons and zero inputs). Per step, with N neurons
/// of K synapses and O outputs:
///
/// ```text
/// synaptic currents  N (2K - 1)    K products summed (no bias: the first product starts the sum)
/// membrane           2N            alpha v + I
/// spike              2N            u - theta, compare
/// reset              2N            u - r theta s (r theta is a per-pass constant)
/// output filter      3O            kappa y + (1 - kappa) s
/// ```
///
/// and, for the mean readout, T - 1 additions and a division per output over the sequence. Per-pass
/// constants (decays, rectified and signed weights) and the training-only spike penalty are not
/// per-sample work and are left out.
fn snn_flops(snn: &Snn, time: usize) -> FlopCount {
    let c = &snn.config;
    let t = time as u64;
    let (n, k, o) = (c.num_neurons as u64, c.synapses_per_neuron as u64, c.num_output as u64);
    let mut f = FlopCount::default();
    f.add("synaptic currents", t * n * (2 * k - 1));
    f.add("membrane", t * 2 * n);
    f.add("spike", t * 2 * n);
    f.add("reset", t * 2 * n);
    f.add("output filter", t * 3 * o);
    if c.readout == Readout::Mean {
        f.add("readout", t * o);
    }
    f
}
