//! All integration tests compile into this one binary (a link costs minutes on a 2-core machine).

mod bad_input;
mod checkpoint;
mod elm_determinism;
mod elm_gradcheck;
mod elm_params;
mod elm_pretrained;
mod elm_reference;
mod fetch;
mod lif_gradcheck;
mod lif_model;
mod lif_training;
mod metrics;
mod model_gradcheck;
mod neuronio_evaluation;
mod neuronio_pickle;
mod neuronio_reader;
mod neuronio_training;
mod pickle_corruption;
mod pickle_support;
mod pickle_vm;
mod support;
mod tcn_gradcheck;
mod tcn_model;
mod tcn_training;
mod torch_pt;
