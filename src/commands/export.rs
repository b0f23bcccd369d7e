//! `elmbench export`: the inputs and targets a model is fed, as a safetensors file.

use crate::tasks::shd::export::export;
use crate::tasks::shd::ShdTask;
use crate::tasks::{Split, TaskConfig};
use anyhow::{bail, Result};
use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
pub struct ExportArgs {
    /// The task: shd or shd-adding.
    pub task: String,
    /// Data root; real files in <dir>/shd/ (or a synthetic surrogate there); default:
    /// $ELMBENCH_DATA, else ./data.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    #[arg(long, value_enum)]
    pub split: Split,
    /// Bin size in ms (the task's `bin_ms`).
    #[arg(long, default_value_t = 2)]
    pub bin_ms: u32,
    /// The output file: `x` (N, T, 700) f32 counts, `y` (N,) i64 classes.
    #[arg(long)]
    pub output: PathBuf,
    /// Export only the first N items.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Seed of the training stream (--split train: its shuffles or pairs and its input dropout).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Other task settings (`input_dropout=0`, `pair_seed=3`, ...). Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
}

pub fn run(args: ExportArgs) -> Result<()> {
    let base = TaskConfig::named(&args.task)?;
    if !matches!(base, TaskConfig::Shd(_) | TaskConfig::ShdAdding(_)) {
        bail!("export writes SHD and SHD-Adding inputs; `{}` has none to export yet", args.task);
    }
    let mut sets = vec![format!("bin_ms={}", args.bin_ms)];
    sets.extend(args.sets.iter().cloned());
    let config = crate::overrides::apply(&base, &sets)?;
    config.validate()?;
    let data_dir = crate::fetch::data_dir::resolve(args.data_dir.as_deref());
    let task = ShdTask::open(config, &data_dir)?;
    let summary = export(&task, args.split, args.limit, args.seed, &args.output)?;
    println!(
        "wrote {} items of {} steps x 700 ({} {} split, {} data) to {} ({:.1} MB)",
        summary.items,
        summary.steps,
        args.task,
        args.split.name(),
        crate::tasks::Task::data_source(&task).describe(),
        args.output.display(),
        summary.bytes as f64 / 1e6
    );
    Ok(())
}
