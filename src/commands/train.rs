//! `elmbench train`: train a model from a configuration file.

use crate::train::config::TrainConfig;
use crate::train::{train, RunStatus, TrainOptions};
use anyhow::{bail, Result};
use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
pub struct TrainArgs {
    /// Training configuration (TOML with [model], [task] and [train] tables; see configs/).
    #[arg(long)]
    pub config: PathBuf,
    /// Change a setting: `section.key=value`, e.g. `model.num_memory=20`, `task.bin_ms=10` or
    /// `train.epochs=3`.
    /// Repeatable. Unknown keys are errors.
    #[arg(long = "set", value_name = "SECTION.KEY=VALUE")]
    pub overrides: Vec<String>,
    /// The run's folder (checkpoints, trainer state, result.json).
    #[arg(long, default_value = "runs/latest")]
    pub out: PathBuf,
    /// Continue the run in --out from its last completed epoch (same configuration required).
    #[arg(long)]
    pub resume: bool,
    /// Stop after this many epochs are done (resumably; continue with --resume).
    #[arg(long, value_name = "EPOCHS")]
    pub stop_after: Option<usize>,
    /// Data root; default: $ELMBENCH_DATA, else ./data. Without the real data there, the
    /// surrogate of --tier under <data root>/synthetic/<tier> is used (made on first use), as
    /// `synth` and `reproduce` name it.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The synthetic surrogate used when the real data is absent.
    #[arg(long, value_enum, default_value = "quick")]
    pub tier: crate::tasks::Tier,
    /// Where the model math runs: cpu, cuda (fails with a clear message where no usable GPU or
    /// CUDA build is present), or auto (CUDA when it can run the model, else the CPU; says which).
    #[arg(long, value_enum, default_value = "cpu")]
    pub device: crate::backend::DeviceChoice,
}

pub fn run(args: TrainArgs) -> Result<()> {
    let config = TrainConfig::load(&args.config, &args.overrides)?;
    crate::train::trainer::check_run_folder(&args.out, args.resume)?;
    let device = crate::backend::for_model(args.device, config.model.kind())?;
    let root = crate::fetch::data_dir::resolve(args.data_dir.as_deref());
    let options = TrainOptions {
        out: args.out.clone(),
        data_dir: crate::tasks::resolve_data(config.task.dataset(), &root, args.tier)?,
        resume: args.resume,
        stop_after: args.stop_after,
        quiet: false,
        label: None,
        device,
    };
    let result = train(&config, &options)?;
    match result.status {
        // A diverged run is a failure to scripts (exit status 1), said on stderr like any error.
        RunStatus::Diverged => {
            bail!("run DIVERGED after {} epochs: no result (see {})", result.epochs_done, args.out.display())
        }
        RunStatus::Running => {
            println!("stopped after {} epochs; continue with --resume --out {}", result.epochs_done, args.out.display())
        }
        _ => {
            println!("task {}, data: {}", result.task, result.data_source);
            for (split, metrics) in [("train", &result.train), ("valid", &result.valid), ("test", &result.test)] {
                if let Some(m) = metrics {
                    let values: Vec<String> = m.iter().map(|(k, v)| format!("{k} {v:.4}")).collect();
                    println!("{split} (best epoch {}): {}", result.best_epoch.unwrap_or(0), values.join(", "));
                }
            }
            println!("wrote {}", args.out.join("result.json").display());
        }
    }
    Ok(())
}
