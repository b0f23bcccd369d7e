//! `elmbench report params|flops`: parameter and FLOP counts of model configurations, ours beside
//! the paper's (see `crate::report` for the FLOP convention).

use crate::report::table::{Format, ReportKind};
use crate::report::{paper_configurations, paper_table, row, Convention, ReportTable};
use crate::tasks::TaskConfig;
use anyhow::Result;
use clap::{Args, Subcommand};

#[derive(Subcommand)]
pub enum ReportCommand {
    /// Parameter counts (PyTorch's and the paper's convention) beside the paper's numbers.
    Params(ReportArgs),
    /// FLOPs per sample, by component, beside the paper's numbers.
    Flops(ReportArgs),
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
