//! `elmbench reproduce <experiment>`: run what `benchmarks/<experiment>.toml` declares at a tier,
//! then write runs.csv, summary.md and the figures.

use crate::experiments::assembly::assemble_outputs;
use crate::experiments::results::tier_dir;
use crate::experiments::runner::{execute, RunnerOptions};
use crate::experiments::slurm::{default_resources, write_scripts, SlurmOptions, SlurmResources};
use crate::experiments::{plan, ExperimentSpec};
use anyhow::{bail, Context, Result};
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
    /// Where the runs compute: cpu, cuda or auto (see `elmbench train --help`); with --emit
    /// slurm, the array tasks' flag (and one GPU per task unless --gpus-per-task says).
    #[arg(long, value_enum, default_value = "cpu")]
    pub device: crate::backend::DeviceChoice,
    /// With --emit slurm: submit the jobs (runs the emitted submit.sh).
    #[arg(long, requires = "emit")]
    pub submit: bool,
    #[command(flatten)]
    pub slurm: SlurmFlags,
}

/// Resources of `--emit slurm` array tasks; each overrides the experiment file's `[slurm]` and
/// `[tiers.<tier>.slurm]` (defaults: 2 CPUs; 0:30:00 smoke, 4:00:00 quick, 24:00:00 paper).
#[derive(Args)]
pub struct SlurmFlags {
    /// CPUs per array task (also the task's thread count).
    #[arg(long, requires = "emit")]
    pub cpus_per_task: Option<usize>,
    /// Memory per task as Slurm writes it (8G, 500M).
    #[arg(long, requires = "emit")]
    pub mem: Option<String>,
    /// Wall-time limit per task (30, 2:00:00, 1-12:00:00).
    #[arg(long, requires = "emit")]
    pub time: Option<String>,
    #[arg(long, requires = "emit")]
    pub partition: Option<String>,
    #[arg(long, requires = "emit")]
    pub account: Option<String>,
    /// GPUs per array task (for CUDA runs).
    #[arg(long, requires = "emit")]
    pub gpus_per_task: Option<usize>,
}

impl SlurmFlags {
    fn resources(&self) -> SlurmResources {
        SlurmResources {
            cpus_per_task: self.cpus_per_task,
            mem: self.mem.clone(),
            time: self.time.clone(),
            partition: self.partition.clone(),
            account: self.account.clone(),
            gpus_per_task: self.gpus_per_task,
        }
    }
}

pub fn run(args: ReproduceArgs) -> Result<()> {
    let spec = ExperimentSpec::load(&args.root, &args.experiment)?;
    let plan = plan(&spec, &args.tier, args.seeds)?;
    if plan.runs.is_empty() {
        bail!("{} declares no runs at tier {}", spec.name, args.tier);
    }
    let data_dir = crate::fetch::data_dir::resolve(args.data_dir.as_deref());
    if let Some(Emit::Slurm) = args.emit {
        return emit_slurm(&spec, &plan, &args, data_dir);
    }
    if !args.assemble_only {
        let options = RunnerOptions {
            data_dir,
            results: args.results.clone(),
            jobs: args.jobs,
            run_index: args.run_index,
            device: args.device,
        };
        let (ran, skipped) = execute(&plan, &options)?;
        eprintln!("{ran} run(s) trained, {skipped} already finished");
    }
    // An array task writes the tables only; figures are drawn once, by a whole run or the final
    // assembly.
    let rows = assemble_outputs(&spec, &plan, &args.results, &args.root, args.run_index.is_none())?;
    let dir = tier_dir(&args.results, &plan);
    if let Some(index) = args.run_index {
        // An array task's exit status is its own run's, not the sweep's: another task's failure
        // is reported by that task and by the final assembly.
        let run = &plan.runs[index];
        let run_dir = crate::experiments::results::run_dir(&args.results, &plan, run);
        if crate::experiments::results::finished_row(&run_dir)?.is_none() {
            bail!("run {} failed; see the `error` field of {}", run.run_id, run_dir.join("row.json").display());
        }
        println!("run {} finished; runs.csv: {}", run.run_id, dir.join("runs.csv").display());
        return Ok(());
    }
    let failed = rows.iter().filter(|r| r.status == "failed").count();
    println!("{}", std::fs::read_to_string(dir.join("summary.md"))?);
    println!("results: {} ({} rows, {failed} failed)", dir.display(), rows.len());
    if failed > 0 {
        bail!("{failed} run(s) failed; see the `error` column of {}", dir.join("runs.csv").display());
    }
    Ok(())
}

fn emit_slurm(
    spec: &ExperimentSpec,
    plan: &crate::experiments::Plan,
    args: &ReproduceArgs,
    data_dir: PathBuf,
) -> Result<()> {
    let tier = spec.tier(&args.tier)?;
    let flags = args.slurm.resources();
    flags.validate("the command line")?;
    let mut resources = default_resources(&args.tier).overlay(&spec.slurm).overlay(&tier.slurm).overlay(&flags);
    if args.device == crate::backend::DeviceChoice::Cuda && resources.gpus_per_task.is_none() {
        resources.gpus_per_task = Some(1);
    }
    let golden = args.root.join("golden").join(format!("{}.{}.toml", spec.name, args.tier));
    let options = SlurmOptions {
        seeds: args.seeds,
        binary: std::env::current_exe().context("finding the elmbench binary")?,
        root: args.root.clone(),
        data_dir,
        results: args.results.clone(),
        resources,
        golden: golden.exists().then_some(golden),
        device: args.device,
    }
    .absolute()?;
    let dir = write_scripts(plan, &options)?;
    let submit = dir.join("submit.sh");
    println!("wrote {} ({} array tasks, then an assembly and check job)", dir.display(), plan.runs.len());
    if !args.submit {
        println!("submit with: bash {}", submit.display());
        return Ok(());
    }
    let status = std::process::Command::new("bash")
        .arg(&submit)
        .status()
        .with_context(|| format!("running {}", submit.display()))?;
    if !status.success() {
        bail!("{} failed ({status}); is Slurm's sbatch on PATH and the cluster up?", submit.display());
    }
    Ok(())
}
