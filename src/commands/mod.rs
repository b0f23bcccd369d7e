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

/// A count on the command line that must be at least 1 (`--seeds`, `--jobs`, `--batch`, ...):
/// zero is refused by name when the arguments are parsed, not discovered later as an empty run
/// or a panic.
pub fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("not a count: {e}")),
    }
}
