//! All integration tests compile into this one binary (a link costs minutes on a 2-core machine).

mod bad_input;
mod checkpoint;
mod elm_determinism;
mod elm_gradcheck;
mod elm_params;
mod elm_pretrained;
mod elm_reference;
mod fetch;
mod metrics;
mod neuronio_evaluation;
mod neuronio_pickle;
mod neuronio_reader;
mod neuronio_training;
mod pickle_corruption;
mod pickle_stream;
mod pickle_support;
mod pickle_vm;
mod support;
mod torch_pt;
