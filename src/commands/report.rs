//! `elmbench report params|flops`: parameter and FLOP counts of model configurations, ours beside
//! the paper's (see `crate::report` for the FLOP convention); `elmbench report paper`: the
//! reproduction report (`crate::report::paper_report`).

use crate::report::paper_report::ReportOptions;
use crate::report::table::{Format, ReportKind};
use crate::report::{paper_configurations, paper_table, row, Convention, ReportTable};
use crate::tasks::TaskConfig;
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum ReportCommand {
    /// Parameter counts (PyTorch's and the paper's convention) beside the paper's numbers.
    Params(ReportArgs),
    /// FLOPs per sample, by component, beside the paper's numbers.
    Flops(ReportArgs),
    /// The reproduction report: one Markdown page with every experiment's results at a tier beside
    /// the paper's numbers, golden checks, data source (synthetic flagged), device, commits, dates
    /// and wall times, links to the figures, "not run" with the command to run it, and the paper's
    /// tables and figures that no experiment covers (benchmarks/paper/inventory.toml).
    Paper(PaperArgs),
}

#[derive(Args)]
pub struct PaperArgs {
    /// The tier whose results to report (smoke, quick, paper).
    #[arg(long, default_value = "quick")]
    pub tier: String,
    /// The results root holding <experiment>/<tier>/runs.csv and the figures.
    #[arg(long, default_value = "results")]
    pub results: PathBuf,
    /// The page to write (default: <results>/report-<tier>.md); figures are linked relative to it.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The repository root holding benchmarks/, golden/ and the paper's CSVs.
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
}

#[derive(Args)]
pub struct ReportArgs {
    /// md or csv.
    #[arg(long, default_value = "md")]
    pub format: String,
    /// One configuration of this model (elm, branch-elm, lstm, chrono-lstm, lif, alif, tcn, ...)
    /// instead of every configuration the paper reports; starts from its preset for --task.
    #[arg(long)]
    pub model: Option<String>,
    /// The task whose model preset --model starts from (neuronio, shd, shd-adding).
    #[arg(long, default_value = "neuronio")]
    pub task: String,
    /// Overrides of the model's keys (`--set num_memory=20`), with --model.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Steps per sample for the FLOP count, with --model (default: NeuronIO's 500 ms window).
    #[arg(long, default_value_t = 500)]
    pub seq_len: usize,
}

pub fn run(command: ReportCommand) -> Result<()> {
    let (kind, args) = match command {
        ReportCommand::Params(a) => (ReportKind::Params, a),
        ReportCommand::Flops(a) => (ReportKind::Flops, a),
        ReportCommand::Paper(a) => return run_paper(a),
    };
    let format = Format::parse(&args.format)?;
    let table = match &args.model {
        Some(kind) => single(&TaskConfig::named(&args.task)?, kind, &args.sets, args.seq_len)?,
        None => {
            if !args.sets.is_empty() {
                anyhow::bail!("--set needs --model");
            }
            let (table, missing) = paper_table()?;
            for m in missing {
                eprintln!("not reported (model not built yet): {m}");
            }
            table
        }
    };
    print!("{}", table.render(kind, format));
    Ok(())
}

fn run_paper(args: PaperArgs) -> Result<()> {
    if !crate::experiments::spec::TIERS.contains(&args.tier.as_str()) {
        anyhow::bail!("unknown tier `{}` (tiers: {})", args.tier, crate::experiments::spec::TIERS.join(", "));
    }
    let out = args.out.clone().unwrap_or_else(|| args.results.join(format!("report-{}.md", args.tier)));
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let options = ReportOptions { root: &args.root, results: &args.results, tier: &args.tier, out: &out };
    let text = crate::report::paper_report::render(&options)?;
    crate::io::write_atomically(&out, text.as_bytes())?;
    println!("wrote {}", out.display());
    Ok(())
}

/// One configuration; the paper's numbers are filled in when the paper reports this exact model.
fn single(task: &TaskConfig, kind: &str, sets: &[String], time: usize) -> Result<ReportTable> {
    let config = task.model_preset(kind)?.with_overrides(sets)?;
    let known =
        paper_configurations().into_iter().find(|c| c.time == time && c.model_config().ok().as_ref() == Some(&config));
    let label = if sets.is_empty() { "preset".to_string() } else { sets.join(" ") };
    let r = match known {
        Some(c) => row(&label, &config, time, c.paper_params, c.paper_flops, c.convention, c.source)?,
        None => row(&label, &config, time, None, None, Convention::Paper, "")?,
    };
    Ok(ReportTable { rows: vec![r] })
}
