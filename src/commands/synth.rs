//! `elmbench synth`: write a synthetic surrogate of a dataset in its real format.

use crate::tasks::neuronio::synthesize::synthesize;
use crate::tasks::Tier;
use anyhow::Result;
use clap::{Args, ValueEnum};
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum SynthDataset {
    /// A simulated dendritic neuron written as real-format NeuronIO pickles.
    Neuronio,
    /// Spoken-digit-like spike patterns written as real-format SHD HDF5 files.
    Shd,
    /// The six Long Range Arena tasks in their real layouts: the LRA release (ListOps,
    /// Retrieval, Pathfinder-32, Path-X) and its Image and Text sources (cifar10, imdb).
    Lra,
}

#[derive(Args)]
pub struct SynthArgs {
    /// The dataset to synthesize.
    #[arg(value_enum)]
    pub dataset: SynthDataset,
    /// Size: smoke (seconds), quick (minutes), paper (the real files' scale).
    #[arg(long, value_enum, default_value = "quick")]
    pub tier: Tier,
    /// Seed of the synthetic data (NeuronIO: the neuron and its inputs; SHD: the recordings; LRA:
    /// the items).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Data root; default: $ELMBENCH_DATA, else ./data. The surrogate goes to
    /// <data root>/synthetic/<tier>, where train, eval and reproduce look for it when the real
    /// data is absent.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

pub fn run(args: SynthArgs) -> Result<()> {
    let data_dir = crate::tasks::synthetic_root(&crate::fetch::data_dir::resolve(args.data_dir.as_deref()), args.tier);
    std::fs::create_dir_all(&data_dir)?;
    match args.dataset {
        SynthDataset::Neuronio => {
            let marker = synthesize(&data_dir, args.tier, args.seed)?;
            println!(
                "wrote a SYNTHETIC NeuronIO ({:?} tier, seed {}): {} files under {}",
                marker.tier,
                marker.seed,
                marker.files.len(),
                data_dir.join("neuronio").display()
            );
        }
        SynthDataset::Shd => {
            let marker = crate::tasks::shd::synthetic::synthesize(&data_dir, args.tier, args.seed)?;
            println!(
                "wrote a SYNTHETIC SHD ({:?} tier, seed {}): {} train / {} test samples, {:.0} / {:.0} spikes per sample, under {}",
                marker.tier,
                marker.seed,
                marker.train_samples,
                marker.test_samples,
                marker.train.mean_spikes(),
                marker.test.mean_spikes(),
                data_dir.join("shd").display()
            );
        }
        SynthDataset::Lra => {
            let report = crate::tasks::lra::synthetic::synthesize(&data_dir, args.tier, args.seed)?;
            println!("wrote a SYNTHETIC LRA ({:?} tier, seed {}) under {}:", args.tier, args.seed, data_dir.display());
            for m in &report.markers {
                let counts: Vec<String> = m.counts.iter().map(|(k, n)| format!("{k} {n}")).collect();
                println!("  {} ({})", data_dir.join(&m.dataset).display(), counts.join(", "));
            }
            for t in &report.tasks {
                println!(
                    "  {:<14} {:>8} files {:>10.1} MB {:>8.1} s",
                    t.task,
                    t.files,
                    t.bytes as f64 / 1e6,
                    t.seconds
                );
            }
        }
    }
    Ok(())
}
