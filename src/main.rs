//! The `elmbench` command line: parses arguments and calls the library. No logic lives here.

use std::path::PathBuf;

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
    Fetch {
        /// Datasets to fetch, as named in the manifest: neuronio, shd, lra, cifar10, imdb, or all.
        #[arg(required = true)]
        datasets: Vec<String>,
        /// Data root; default: $ELMBENCH_DATA, else ./data.
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// Download every file from <URL>/<name> instead of its manifest URL (a private mirror
        /// holding the files under their manifest names). Kaggle credentials are not sent to it.
        #[arg(long, value_name = "URL")]
        mirror: Option<String>,
        /// Use this manifest instead of the built-in fetch/datasets.toml (same schema).
        #[arg(long, value_name = "FILE")]
        manifest: Option<PathBuf>,
        /// Do not use the network: verify the files already in the data dir (e.g. placed by hand),
        /// unpack verified ones not unpacked yet, and check each dataset's structure.
        #[arg(long)]
        verify_only: bool,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::List => elmbench::commands::list::run(),
        Command::Bench(command) => elmbench::commands::bench::run(command),
        Command::Fetch { datasets, data_dir, mirror, manifest, verify_only } => {
            elmbench::commands::fetch::run(elmbench::commands::fetch::FetchArgs {
                datasets,
                data_dir,
                mirror,
                manifest,
                verify_only,
            })
        }
    }
}
