//! Neuron models: one module per model, each with config, parameters, forward and backward.

pub mod elm;

/// Every model the harness can build, with a one-line description.
pub const CATALOGUE: &[(&str, &str)] = &[
    ("elm", "Expressive Leaky Memory neuron (official v1 semantics; v2 as a config switch)"),
    ("branch-elm", "ELM with dendritic branches: inputs routed to synapses, summed per branch"),
];
