//! `elmbench eval`: score a model on a split of a task with the task's own protocol.

use crate::tasks::{Split, TaskConfig};
use crate::train::{evaluate_split, TrainConfig};
use crate::weights::load::load_model;
use anyhow::{Context, Result};
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct EvalArgs {
    /// An elmbench checkpoint (.safetensors) or an official .pt with model_config.json beside it.
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Data root; default: $ELMBENCH_DATA, else ./data. Without the real data there, the
    /// surrogate of --tier under <data root>/synthetic/<tier> is used (made on first use), as
    /// `synth` and `reproduce` name it.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The synthetic surrogate used when the real data is absent.
    #[arg(long, value_enum, default_value = "quick")]
    pub tier: crate::tasks::Tier,
    /// The task (neuronio, shd, shd-adding); default: the task of the run folder the checkpoint is
    /// in (its config.json), else neuronio.
    #[arg(long)]
    pub task: Option<String>,
    /// Change a task setting, e.g. `--set bin_ms=10` (SHD) or `--set eval_burn_in=100` (NeuronIO).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub task_overrides: Vec<String>,
    /// Which split.
    #[arg(long, value_enum, default_value = "test")]
    pub split: Split,
    /// NeuronIO: burn-in of the windowed prediction (ms); the same as `--set eval_burn_in=..`.
    #[arg(long)]
    pub burn_in: Option<usize>,
    /// NeuronIO: prediction window (ms); the same as `--set window=..`.
    #[arg(long)]
    pub window: Option<usize>,
    /// Write the metrics as JSON here (they are printed as JSON too).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Where the model math runs: cpu, cuda (fails with a clear message where no usable GPU or
    /// CUDA build is present), or auto (CUDA when it can run the model, else the CPU; says which).
    #[arg(long, value_enum, default_value = "cpu")]
    pub device: crate::backend::DeviceChoice,
}

/// The task of the run a checkpoint belongs to, from the run folder's config.json.
fn run_task(checkpoint: &Path) -> Result<Option<TaskConfig>> {
    let Some(config) = checkpoint.parent().map(|d| d.join("config.json")).filter(|p| p.exists()) else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(&config).with_context(|| format!("reading {}", config.display()))?;
    let run: TrainConfig = serde_json::from_str(&text).with_context(|| format!("invalid {}", config.display()))?;
    Ok(Some(run.task))
}

pub fn run(args: EvalArgs) -> Result<()> {
    let (model, format) = load_model(&args.checkpoint)?;
    let device = crate::backend::for_model(args.device, model.config().kind())?;
    let model = crate::models::on_device::place(model, &device)?;
    let root = crate::fetch::data_dir::resolve(args.data_dir.as_deref());
    let task = match &args.task {
        Some(name) => TaskConfig::named(name)?,
        None => run_task(&args.checkpoint)?.unwrap_or_default(),
    };
    let mut sets = args.task_overrides.clone();
    sets.extend(args.burn_in.map(|b| format!("eval_burn_in={b}")));
    sets.extend(args.window.map(|w| format!("window={w}")));
    let task = crate::overrides::apply(&task, &sets)?;
    let data_dir = crate::tasks::resolve_data(task.dataset(), &root, args.tier)?;
    let opened = task.open(&data_dir, false)?;
    let metrics = evaluate_split(opened.as_ref(), model.as_ref(), args.split)?;
    let report = serde_json::json!({
        "checkpoint": args.checkpoint.display().to_string(),
        "weights_format": format!("{format:?}"),
        "task": task,
        "data_source": opened.data_source().describe(),
        "split": args.split.name(),
        "metrics": metrics,
    });
    let text = serde_json::to_string_pretty(&report)?;
    println!("{text}");
    if let Some(out) = &args.out {
        crate::io::write_atomically(out, text.as_bytes())?;
    }
    Ok(())
}
