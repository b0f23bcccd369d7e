//! Neuron models: one module per model, each with config, parameters, forward and backward, and
//! the `SequenceModel` trait through which the harness drives them.

pub mod config;
pub mod elm;
pub mod lif;
pub mod limits;
pub mod lstm;
pub mod model;
pub mod on_device;
pub mod s5;
pub mod sample_groups;
pub mod snn;
pub mod tcn;
pub mod two_tower;

pub use config::{ModelConfig, ModelInterface};
pub use model::{
    backward_through_readout, check_backward, check_features, downcast_pass, per_step_pass, Buffer, FlopCount,
    ForwardPass, ParamGroup, SequenceModel,
};

/// Every model the harness can build, with a one-line description.
pub const CATALOGUE: &[(&str, &str)] = &[
    ("elm", "Expressive Leaky Memory neuron (official v1 semantics; v2 as a config switch)"),
    ("branch-elm", "ELM with dendritic branches: inputs routed to synapses, summed per branch"),
    ("lstm", "single-layer LSTM with a linear readout at every step (PyTorch gates and init)"),
    ("chrono-lstm", "the LSTM with chrono initialisation of its gate biases (Tallec & Ollivier 2018)"),
    ("lif", "Leaky integrate-and-fire neurons: learnable synapses, membrane tau and bias; surrogate-gradient spikes"),
    ("alif", "LIF neurons with a spike-driven adaptive threshold whose time constant is learnable"),
    ("tcn", "Beniaguev et al.'s temporal convolutional network (causal dilated convolutions, ReLU)"),
    (
        "snn",
        "LIF spiking network of the SHD experiments: 500 neurons, 100 random Dale's-law synapses each, learnable tau",
    ),
    (
        "two-tower",
        "pairs of documents (LRA Retrieval): one shared encoder of any kind, then an MLP on [u, v, u*v, u-v]",
    ),
    (
        "s5",
        "S5 state-space model (official JAX semantics): encoder, complex diagonal SSM layers with BatchNorm and GLU, mean pooling, decoder",
    ),
];

pub fn model_names() -> Vec<&'static str> {
    CATALOGUE.iter().map(|(name, _)| *name).collect()
}
