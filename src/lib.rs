//! elmbench: a benchmark harness and reproduction suite for the Expressive Leaky Memory (ELM)
//! neuron (Spieler et al., ICLR 2024).
//!
//! The library holds everything; `main.rs` only parses the command line and calls in here.

// Numeric kernels index several arrays in lock step; an index loop says that most plainly.
#![allow(clippy::needless_range_loop)]

pub mod backend;
pub mod bench;
pub mod commands;

pub mod engine;
pub mod experiments;
pub mod fetch;
pub mod formats;
pub mod golden;
pub mod history;
pub mod io;
pub mod metrics;
pub mod models;
pub mod nn;
pub mod overrides;
pub mod pickle;
pub mod report;
pub mod tasks;
pub mod train;
pub mod weights;
