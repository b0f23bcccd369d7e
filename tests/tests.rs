//! All integration tests compile into this one binary (a link costs minutes on a 2-core machine).

mod bad_input;
mod checkpoint;
mod elm_determinism;
mod elm_gradcheck;
mod elm_params;
mod elm_reference;
mod fetch;
mod metrics;
mod support;
