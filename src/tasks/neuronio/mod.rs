//! NeuronIO (Beniaguev, Segev & London 2021): a detailed L5 pyramidal neuron simulated under
//! random synaptic input. 639 dendritic segments, each with one excitatory and one inhibitory
//! input (1278 inputs), 128 simulations of 6000 ms per file; targets are the somatic spikes and
//! the soma voltage.

pub mod cache;
pub mod dataset;
pub mod evaluation;
pub mod loss;
pub mod presets;
pub mod reader;
pub mod sampler;
pub mod settings;
pub mod shuffle;
pub mod simulation;
pub mod synthesize;
pub mod synthetic;
pub mod task;
pub mod writer;

pub use loss::neuronio_loss;
pub use presets::model_preset;
pub use reader::{parse_neuronio, read_neuronio_file};
pub use sampler::{NeuronioBatch, NeuronioSampler, SamplerConfig, SamplerState};
pub use settings::NeuronioSettings;
pub use shuffle::InputShuffle;
pub use simulation::{NeuronioFile, Simulation};
pub use task::{NeuronioTask, METRICS};

/// The official constants (`neuronio_data_utils.py`).
pub const SOMA_THRESHOLD_MV: f32 = -55.0;
pub const SOMA_BIAS_MV: f32 = -67.7;
pub const SOMA_SCALE: f32 = 0.1;
pub const SIMULATION_MS: usize = 6000;
pub const SIMULATIONS_PER_FILE: usize = 128;
pub const NUM_INPUTS: usize = 1278;

/// The training target of a soma voltage: capped at -55 mV, minus -67.7 mV, times 0.1, in f32
/// as the official preprocessing computes it.
pub fn soma_training_target(millivolts: f32) -> f32 {
    (millivolts.min(SOMA_THRESHOLD_MV) - SOMA_BIAS_MV) * SOMA_SCALE
}

/// The official `neuronio_eval_forward`: the spike logit becomes a probability, the soma goes
/// back to mV units (relative to the bias) by undoing the training scale.
pub fn neuronio_eval_transform(y: &mut [f32], outputs: usize) {
    for row in y.chunks_exact_mut(outputs) {
        row[0] = crate::engine::kernels::sigmoid(row[0]);
        row[1] /= SOMA_SCALE;
    }
}
