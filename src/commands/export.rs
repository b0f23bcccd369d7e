//! `elmbench export`: the inputs and targets a model is fed, as a safetensors file.

use crate::tasks::shd::export::export;
use crate::tasks::shd::ShdTask;
use crate::tasks::{Split, TaskConfig};
use anyhow::{bail, Result};
use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
pub struct ExportArgs {
    /// The task: shd, shd-adding, lra-listops, lra-text, lra-retrieval, lra-image,
    /// lra-pathfinder or lra-pathx.
    pub task: String,
    /// Data root, where `elmbench fetch` puts the files (<dir>/shd/, <dir>/lra/, <dir>/cifar10/,
    /// <dir>/imdb/); without them, the surrogate of --tier under <dir>/synthetic/<tier>;
    /// default: $ELMBENCH_DATA, else ./data.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The synthetic surrogate used when the real data is absent.
    #[arg(long, value_enum, default_value = "quick")]
    pub tier: crate::tasks::Tier,
    #[arg(long, value_enum)]
    pub split: Split,
    /// SHD: bin size in ms (the task's `bin_ms`, 2 unless given).
    #[arg(long)]
    pub bin_ms: Option<u32>,
    /// The output file. SHD: `x` (N, T, 700) f32 counts; LRA: `x` (N, T) i64 token indices,
    /// left-padded with -1 (Retrieval: `x1`, `x2`); both with `y` (N,) i64 classes.
    #[arg(long)]
    pub output: PathBuf,
    /// Export only the first N items.
    #[arg(long)]
    pub limit: Option<usize>,
    /// SHD: seed of the training stream (--split train: its shuffles or pairs and its input
    /// dropout). LRA exports the split's items in order.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Other task settings (SHD: `input_dropout=0`, `pair_seed=3`; LRA: `max_length=1000`,
    /// `downscale=4`, `test_items=100`, ...). Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
}

pub fn run(args: ExportArgs) -> Result<()> {
    let base = TaskConfig::named(&args.task)?;
    let root = crate::fetch::data_dir::resolve(args.data_dir.as_deref());
    let data_dir = crate::tasks::resolve_data(base.dataset(), &root, args.tier)?;
    if base.lra().is_some() {
        if args.bin_ms.is_some() {
            bail!("--bin-ms belongs to SHD; {} has no bins", args.task);
        }
        let config = crate::overrides::apply(&base, &args.sets)?;
        let task = config.open_lra(&data_dir, false)?;
        let summary = crate::tasks::lra::export::export(&task, args.split, args.limit, &args.output)?;
        println!(
            "wrote {} items of {} steps ({} {} split, {} data) to {} ({:.1} MB)",
            summary.items,
            summary.steps,
            args.task,
            args.split.name(),
            crate::tasks::Task::data_source(&task).describe(),
            args.output.display(),
            summary.bytes as f64 / 1e6
        );
        return Ok(());
    }
    if !matches!(base, TaskConfig::Shd(_) | TaskConfig::ShdAdding(_)) {
        bail!("export writes SHD and LRA inputs; `{}` has none to export", args.task);
    }
    let mut sets = vec![format!("bin_ms={}", args.bin_ms.unwrap_or(2))];
    sets.extend(args.sets.iter().cloned());
    let config = crate::overrides::apply(&base, &sets)?;
    config.validate()?;
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
