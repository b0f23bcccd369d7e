//! One module per subcommand; each exposes a `run` that `main.rs` calls.

pub mod bench;
pub mod check;
pub mod eval;
pub mod export;
pub mod fetch;
pub mod forward;
pub mod inspect;
pub mod list;
pub mod report;
pub mod reproduce;
pub mod synth;
pub mod train;
