//! One module per subcommand; each exposes a `run` that `main.rs` calls.

pub mod fetch;
pub mod list;
