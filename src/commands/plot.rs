//! `elmbench plot <experiment>`: redraw an experiment's figures from its runs.csv alone (a
//! committed reference result has no run folders, so `reproduce --assemble-only` cannot).

use crate::experiments::ExperimentSpec;
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
pub struct PlotArgs {
    /// The experiment: a file benchmarks/<name>.toml (fig2, fig3, tableS4, ...).
    pub experiment: String,
    /// The tier whose results to draw (smoke, quick, paper).
    #[arg(long, default_value = "quick")]
    pub tier: String,
    /// The results root: figures are drawn from <results>/<experiment>/<tier>/runs.csv and written
    /// beside it (e.g. --results results/reference).
    #[arg(long, default_value = "results")]
    pub results: PathBuf,
    /// The repository root holding benchmarks/ and the paper's CSVs (default: the current directory).
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
}

pub fn run(args: PlotArgs) -> Result<()> {
    let spec = ExperimentSpec::load(&args.root, &args.experiment)?;
    spec.tier(&args.tier)?;
    let dir = args.results.join(&spec.name).join(&args.tier);
    let written = crate::experiments::plots::redraw(&spec, &dir, &args.root)?;
    for path in &written {
        println!("wrote {}", path.display());
    }
    if written.is_empty() {
        println!("{} declares no figure with data in {}", spec.name, dir.display());
    }
    Ok(())
}
