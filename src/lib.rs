//! elmbench: a benchmark harness and reproduction suite for the Expressive Leaky Memory (ELM)
//! neuron (Spieler et al., ICLR 2024).
//!
//! The library holds everything; `main.rs` only parses the command line and calls in here.

pub mod bench;
pub mod commands;
pub mod engine;
pub mod fetch;
pub mod metrics;
pub mod models;
pub mod pickle;
pub mod train;
pub mod weights;
