//! `elmbench reproduce <experiment>`: run what `benchmarks/<experiment>.toml` declares at a tier,
//! then write runs.csv, summary.md and the figures.

use crate::experiments::results::{assemble, tier_dir};
use crate::experiments::runner::{execute, RunnerOptions};
use crate::experiments::slurm::{script, SlurmOptions};
use crate::experiments::{plan, ExperimentSpec};
use anyhow::{bail, Result};
use clap::{Args, ValueEnum};
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Emit {
    /// A Slurm array-job script (one task per run) instead of running.
    Slurm,
}

#[derive(Args)]
pub struct ReproduceArgs {
    /// The experiment: a file benchmarks/<name>.toml (fig2, fig3, fig4, tableS4, ...).
    pub experiment: String,
    /// smoke (seconds), quick (minutes on 2 cores), paper (the paper's settings).
    #[arg(long, default_value = "quick")]
    pub tier: String,
    /// Seeds per configuration (default: the experiment's, per tier).
    #[arg(long, value_parser = super::at_least_one)]
    pub seeds: Option<usize>,
    /// Runs trained at the same time.
    #[arg(long, default_value_t = 1, value_parser = super::at_least_one)]
    pub jobs: usize,
    /// Data root; default: $ELMBENCH_DATA, else ./data. Real NeuronIO under <dir>/neuronio is
    /// used when present; otherwise a synthetic surrogate is made in <dir>/synthetic/<tier>.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Where results go (results/<experiment>/<tier>/...).
    #[arg(long, default_value = "results")]
    pub results: PathBuf,
    /// Run only this run of the plan (what a Slurm array task does).
    #[arg(long)]
    pub run_index: Option<usize>,
    /// Write a job script instead of running.
    #[arg(long, value_enum)]
    pub emit: Option<Emit>,
    /// Only rebuild runs.csv, summary.md and figures from the runs' rows.
    #[arg(long)]
    pub assemble_only: bool,
    /// The repository root holding benchmarks/ (default: the current directory).
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
}

pub fn run(args: ReproduceArgs) -> Result<()> {
    let spec = ExperimentSpec::load(&args.root, &args.experiment)?;
    let plan = plan(&spec, &args.tier, args.seeds)?;
    if plan.runs.is_empty() {
        bail!("{} declares no runs at tier {}", spec.name, args.tier);
    }
    let data_dir = crate::fetch::data_dir::resolve(args.data_dir.as_deref());
    if let Some(Emit::Slurm) = args.emit {
        let dir = tier_dir(&args.results, &plan);
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("slurm.sh");
        let text = script(
            &plan,
            &SlurmOptions {
                seeds: args.seeds,
                data_dir: &data_dir,
                results: &args.results,
                cpus_per_task: 2,
                time_limit: "24:00:00",
            },
        );
        crate::io::write_atomically(&path, text.as_bytes())?;
        println!("wrote {} ({} array tasks); submit it with sbatch", path.display(), plan.runs.len());
        return Ok(());
    }
    if !args.assemble_only {
        let options =
            RunnerOptions { data_dir, results: args.results.clone(), jobs: args.jobs, run_index: args.run_index };
        let (ran, skipped) = execute(&plan, &options)?;
        eprintln!("{ran} run(s) trained, {skipped} already finished");
    }
    let rows = assemble(&args.results, &plan, &spec.metrics, &spec.title)?;
    let dir = tier_dir(&args.results, &plan);
    if let Some(table) = &spec.table {
        // The paper's layout after the per-configuration summary.
        let text = crate::experiments::paper_table::render(&spec, table, &rows, &args.root, &args.tier)?;
        let summary = dir.join("summary.md");
        let mut full = std::fs::read_to_string(&summary)?;
        full.push_str(&text);
        crate::io::write_atomically(&summary, full.as_bytes())?;
    } else if let Some(note) = spec.tier(&args.tier).ok().and_then(|t| t.table_note) {
        // Without a paper table the tier's note goes under the per-configuration summary.
        let summary = dir.join("summary.md");
        let mut full = std::fs::read_to_string(&summary)?;
        full.push_str(&format!("\nTier `{}`: {}\n", args.tier, note.trim()));
        crate::io::write_atomically(&summary, full.as_bytes())?;
    }
    if args.run_index.is_none() {
        crate::experiments::plots::draw(&spec, &rows, &dir, &args.root)?;
        crate::experiments::plots::draw_table(&spec, &rows, &dir, &args.root)?;
    }
    let failed = rows.iter().filter(|r| r.status == "failed").count();
    println!("{}", std::fs::read_to_string(dir.join("summary.md"))?);
    println!("results: {} ({} rows, {failed} failed)", dir.display(), rows.len());
    if failed > 0 {
        bail!("{failed} run(s) failed; see the `error` column of {}", dir.join("runs.csv").display());
    }
    Ok(())
}
