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
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::List => elmbench::commands::list::run(),
        Command::Bench(command) => elmbench::commands::bench::run(command),
    }
}
