//! `elmbench check <experiment>`: compare results with golden values; exit status 0 only when
//! every check passes.

use crate::experiments::results::read_runs_csv;
use crate::golden::{check, render, GoldenFile};
use anyhow::{bail, Result};
use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
pub struct CheckArgs {
    pub experiment: String,
    #[arg(long, default_value = "quick")]
    pub tier: String,
    /// Golden file (default: golden/<experiment>.<tier>.toml).
    #[arg(long)]
    pub golden: Option<PathBuf>,
    /// Results root (default: results); reads <results>/<experiment>/<tier>/runs.csv.
    #[arg(long, default_value = "results")]
    pub results: PathBuf,
}

pub fn run(args: CheckArgs) -> Result<()> {
    if args.golden.is_none() {
        // An unknown experiment is named with the list of known ones, as `reproduce` does.
        crate::experiments::ExperimentSpec::load(std::path::Path::new("."), &args.experiment)?;
    }
    let golden_path =
        args.golden.clone().unwrap_or_else(|| PathBuf::from(format!("golden/{}.{}.toml", args.experiment, args.tier)));
    let golden = GoldenFile::load(&golden_path)?;
    let runs = args.results.join(&args.experiment).join(&args.tier).join("runs.csv");
    if !runs.exists() {
        bail!(
            "no results at {}: run `elmbench reproduce {} --tier {}` first",
            runs.display(),
            args.experiment,
            args.tier
        );
    }
    let rows = read_runs_csv(&runs)?;
    let outcomes = check(&golden, &rows);
    println!("{} against {}\n", runs.display(), golden_path.display());
    print!("{}", render(&outcomes));
    let failed = outcomes.iter().filter(|o| !o.pass).count();
    if failed > 0 {
        bail!("{failed} of {} golden checks failed", outcomes.len());
    }
    Ok(())
}
