//! The paper's SHD / SHD-Adding configuration of every model kind (appendix B): 700 input
//! channels, one output per class read at the last step ("CE on the last output"), the bin size
//! as the time step, and the sizes of Figure 5. Kinds the paper did not train on SHD get their
//! NeuronIO sizes with the SHD interface.

use super::{ShdSettings, NUM_UNITS};
use crate::models::{ModelConfig, ModelInterface};
use crate::nn::Readout;
use anyhow::{Context, Result};

/// The ELM of Figure 5: d_m 100, lambda 5, tau_m evenly spaced in [1, 150] ms within bounds
/// [0, 1000] ms.
const ELM: &[&str] = &[
    "num_memory=100",
    "lambda_value=5.0",
    "memory_tau_min=0.0",
    "memory_tau_max=1000.0",
    "memory_tau_init=[1.0, 150.0]",
    "memory_tau_init_spacing=linear",
];

pub fn model_preset(kind: &str, settings: &ShdSettings, classes: usize) -> Result<ModelConfig> {
    let io = ModelInterface {
        num_input: NUM_UNITS,
        num_output: classes,
        readout: Readout::LastStep,
        delta_t: Some(settings.bin_ms as f64),
    };
    let config = crate::tasks::neuronio::model_preset(kind)?.with_interface(&io)?;
    let steps = settings.steps() * if classes == super::NUM_SUMS { 2 } else { 1 };
    let chrono = format!("chrono_t_max={steps}");
    let sets: Vec<&str> = match kind {
        "elm" => ELM.to_vec(),
        // Branch-ELM: 100 branches x 15 synapses, each synapse drawn at random from the inputs.
        "branch-elm" => {
            let mut s = ELM.to_vec();
            s.extend(["num_branch=100", "num_synapse_per_branch=15", "input_to_synapse_routing=random"]);
            s
        }
        // LSTM: 250 hidden units (956K parameters on SHD-Adding, Figure 5) and "additional
        // recurrent dropout of 0.3" (appendix B).
        "lstm" => vec!["hidden_size=250", "recurrent_dropout=0.3"],
        // Chrono timescales up to the whole sequence (our choice; the paper did not run it here).
        "chrono-lstm" => vec!["hidden_size=250", chrono.as_str()],
        // A fixed output gain of 10, so the filtered spike rates can act as logits (see
        // SnnConfig::output_gain: our choice, the paper gives no scale).
        "snn" => vec!["output_gain=10.0"],
        _ => Vec::new(),
    };
    let sets: Vec<String> = sets.into_iter().map(String::from).collect();
    config.with_overrides(&sets).with_context(|| format!("the SHD preset of `{kind}`"))
}
