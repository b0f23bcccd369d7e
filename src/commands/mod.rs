//! One module per subcommand; each exposes a `run` that `main.rs` calls.

pub mod bench;
pub mod check;
pub mod eval;
pub mod export;
pub mod fetch;
pub mod forward;
pub mod forward_input;
pub mod history;
pub mod inspect;
pub mod list;
pub mod plot;
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

/// What a failed command prints: `Error: <message>` and each cause on its own line, once. The
/// backtrace that anyhow captures whenever `RUST_BACKTRACE` is set (many shells set it for
/// development) is printed only with `RUST_BACKTRACE=full`, so a user's error stays one readable
/// message.
pub fn error_report(error: &anyhow::Error) -> String {
    let mut text = format!("Error: {error}");
    for cause in error.chain().skip(1) {
        text.push_str(&format!("\n  caused by: {cause}"));
    }
    if std::env::var("RUST_BACKTRACE").is_ok_and(|v| v == "full") {
        text.push_str(&format!("\n\n{}", error.backtrace()));
    }
    text
}
