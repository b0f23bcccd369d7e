//! `elmbench eval`: score a model on NeuronIO with the official test protocol.

use crate::data::neuronio::cache::{cache_dir, read_cached};
use crate::data::neuronio::dataset::locate;
use crate::data::neuronio::evaluation::evaluate;
use crate::weights::load::load_model;
use anyhow::{bail, Result};
use clap::{Args, ValueEnum};
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Split {
    Test,
    Valid,
}

#[derive(Args)]
pub struct EvalArgs {
    /// An elmbench checkpoint (.safetensors) or an official .pt with model_config.json beside it.
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Data root; default: $ELMBENCH_DATA, else ./data.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Which files: test (Data_test) or valid (full_ergodic_train_batch_1).
    #[arg(long, value_enum, default_value = "test")]
    pub split: Split,
    /// Burn-in of the windowed prediction (ms).
    #[arg(long, default_value_t = 150)]
    pub burn_in: usize,
    /// Prediction window (ms).
    #[arg(long, default_value_t = 500)]
    pub window: usize,
    /// Write the metrics as JSON here (they are printed as JSON too).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run(args: EvalArgs) -> Result<()> {
    let (model, format) = load_model(&args.checkpoint)?;
    let data_dir = crate::fetch::data_dir::resolve(args.data_dir.as_deref());
    let splits = locate(&data_dir)?;
    let paths = match args.split {
        Split::Test => &splits.test,
        Split::Valid => &splits.valid,
    };
    if paths.is_empty() {
        bail!("no {:?} files below {}", args.split, splits.root.display());
    }
    let cache = cache_dir(&data_dir);
    let files = paths.iter().map(|p| read_cached(p, &cache)).collect::<Result<Vec<_>>>()?;
    let metrics = evaluate(model.as_ref(), &files, args.burn_in, args.window)?;
    let report = serde_json::json!({
        "checkpoint": args.checkpoint.display().to_string(),
        "weights_format": format!("{format:?}"),
        "data_source": splits.source.describe(),
        "split": format!("{:?}", args.split).to_lowercase(),
        "files": paths.len(),
        "metrics": metrics,
    });
    let text = serde_json::to_string_pretty(&report)?;
    println!("{text}");
    if let Some(out) = &args.out {
        crate::weights::checkpoint::write_atomically(out, text.as_bytes())?;
    }
    Ok(())
}
