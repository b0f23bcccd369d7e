//! The `elmbench` command line: parses arguments and calls the library. No logic lives here.

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "elmbench",
    version,
    about = "Benchmark harness and reproduction suite for the Expressive Leaky Memory (ELM) neuron"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the models, datasets and experiments that exist.
    List,
    /// Measure speed (see `elmbench bench train-step --help`).
    #[command(subcommand)]
    Bench(elmbench::commands::bench::BenchCommand),
    /// Download, verify and unpack real datasets (resumable; checksums before unpacking).
    ///
    /// Each file goes to <data dir>/<dest>/<name> (a download in progress is <name>.part) and is
    /// verified against the manifest's sha256/md5 (SHD: the md5 list published upstream), or, where
    /// upstream publishes no checksum, pinned on first use in <data dir>/fetch.lock. Verified data
    /// is not fetched again. A structural check of each dataset ends the run.
    Fetch(elmbench::commands::fetch::FetchArgs),
    /// Run a model on a tensor of inputs (`x` in a safetensors file) and write its outputs `y`.
    Forward(elmbench::commands::forward::ForwardArgs),
    /// Train a model from a configuration file (any task; checkpoints every epoch, --resume).
    ///
    /// Exit status 0 when the run finished (or stopped as --stop-after asked), 1 on any error,
    /// a diverged run included (its result.json says `diverged`).
    Train(elmbench::commands::train::TrainArgs),
    /// Score a model on a split of a task with the task's protocol, as JSON.
    Eval(elmbench::commands::eval::EvalArgs),
    /// Write what a model is fed as safetensors: SHD `x` (N, T, 700) counts, LRA `x` (N, T) token
    /// indices (Retrieval: `x1`, `x2`), and `y` (N,) classes.
    Export(elmbench::commands::export::ExportArgs),
    /// Summarise a dataset file; `--export` writes its parsed contents as tensors.
    Inspect(elmbench::commands::inspect::InspectArgs),
    /// Run an experiment (benchmarks/<name>.toml) at a tier; results in results/<name>/<tier>.
    Reproduce(elmbench::commands::reproduce::ReproduceArgs),
    /// Redraw an experiment's figures from <results>/<experiment>/<tier>/runs.csv alone.
    Plot(elmbench::commands::plot::PlotArgs),
    /// Compare an experiment's results with its golden values (exit status 1 on any failure).
    Check(elmbench::commands::check::CheckArgs),
    /// Parameter and FLOP reports of model configurations beside the paper's numbers.
    #[command(subcommand)]
    Report(elmbench::commands::report::ReportCommand),
    /// The nightly history of an experiment's metrics: trend table and figure, regression flags
    /// (exit status 1 when one is flagged); `history record` and `history summary` for the nightly.
    History(elmbench::commands::history::HistoryArgs),
    /// Write a synthetic surrogate of a dataset in its real on-disk format (no download needed).
    Synth(elmbench::commands::synth::SynthArgs),
}

fn main() -> std::process::ExitCode {
    // Rust ignores SIGPIPE, so printing into a closed pipe (`elmbench list | head`) panics; the
    // default action ends the process quietly, as every Unix tool does.
    #[cfg(unix)]
    // SAFETY: called first in main, before any thread exists; SIG_DFL is a valid handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    match run(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{}", elmbench::commands::error_report(&error));
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::List => elmbench::commands::list::run(),
        Command::Bench(command) => elmbench::commands::bench::run(command),
        Command::Fetch(args) => elmbench::commands::fetch::run(args),
        Command::Forward(args) => elmbench::commands::forward::run(args),
        Command::Train(args) => elmbench::commands::train::run(args),
        Command::Eval(args) => elmbench::commands::eval::run(args),
        Command::Export(args) => elmbench::commands::export::run(args),
        Command::Inspect(args) => elmbench::commands::inspect::run(args),
        Command::Synth(args) => elmbench::commands::synth::run(args),
        Command::Reproduce(args) => elmbench::commands::reproduce::run(args),
        Command::Plot(args) => elmbench::commands::plot::run(args),
        Command::Check(args) => elmbench::commands::check::run(args),
        Command::History(args) => elmbench::commands::history::run(args),
        Command::Report(command) => elmbench::commands::report::run(command),
    }
}
