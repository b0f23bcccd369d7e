//! `elmbench synth neuronio`: a whole synthetic NeuronIO in the real folder layout
//! (`neuronio/train/full_ergodic_train_batch_<k>/`, `neuronio/test/Data_test/`, as `fetch`
//! unpacks the real archives), with a `SYNTHETIC.json` marker so every run can say which data it
//! used. Real data is never overwritten.

use super::synthetic::{simulate, RawSimulation, SyntheticNeuron};
use super::writer::write_file;
use super::SIMULATION_MS;
use crate::engine::Rng;
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Dataset sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// Seconds: one small file per split.
    Smoke,
    /// Minutes: one file of 32 simulations in each of the 10 training folders, two test files.
    Quick,
    /// The real layout's scale: files of 128 simulations, two per training folder, four for test.
    Paper,
}

/// (files per folder, simulations per file) for validation (batch 1), training (batches 2-10)
/// and test folders, and how many training folders.
fn sizes(tier: Tier) -> ((usize, usize), (usize, usize), (usize, usize), usize) {
    match tier {
        Tier::Smoke => ((1, 8), (1, 16), (1, 8), 1),
        Tier::Quick => ((1, 32), (1, 32), (2, 32), 9),
        Tier::Paper => ((2, 128), (2, 128), (4, 128), 9),
    }
}

/// What `SYNTHETIC.json` records.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SyntheticMarker {
    pub generator: String,
    pub tier: Tier,
    pub seed: u64,
    pub files: Vec<String>,
}

pub const MARKER: &str = "SYNTHETIC.json";

/// Writes the dataset under `<data_dir>/neuronio` and returns the marker.
pub fn synthesize(data_dir: &Path, tier: Tier, seed: u64) -> Result<SyntheticMarker> {
    let root = data_dir.join("neuronio");
    let marker_path = root.join(MARKER);
    if root.exists() && !marker_path.exists() && std::fs::read_dir(&root)?.next().is_some() {
        bail!("{} holds data that elmbench did not synthesize (no {MARKER}); refusing to overwrite it", root.display());
    }
    if marker_path.exists() {
        // Replace an earlier synthetic dataset entirely.
        std::fs::remove_dir_all(&root).with_context(|| format!("removing the old synthetic {}", root.display()))?;
    }
    let (valid, train, test, train_folders) = sizes(tier);
    let mut plan: Vec<(PathBuf, usize)> = Vec::new();
    let folder = |k: usize| root.join("train").join(format!("full_ergodic_train_batch_{k}"));
    plan.extend((0..valid.0).map(|_| (folder(1), valid.1)));
    for k in 2..2 + train_folders {
        plan.extend((0..train.0).map(|_| (folder(k), train.1)));
    }
    plan.extend((0..test.0).map(|_| (root.join("test").join("Data_test"), test.1)));

    let neuron = SyntheticNeuron::new(seed);
    let bar = ProgressBar::new(plan.len() as u64);
    bar.set_style(ProgressStyle::with_template(
        "synthesizing NeuronIO [{bar:30}] {pos}/{len} files {elapsed} (eta {eta})",
    )?);
    let mut files = Vec::new();
    for (index, (folder, simulations)) in plan.iter().enumerate() {
        let file_seed = Rng::derive(seed, index as u64 + 1).next_u64() % 1_000_000;
        let sims: Vec<RawSimulation> = (0..*simulations)
            .into_par_iter()
            .map(|s| simulate(&neuron, SIMULATION_MS, Rng::derive(file_seed, s as u64).next_u64()))
            .collect();
        let path = write_file(folder, &neuron, &sims, file_seed)?;
        files.push(path.strip_prefix(&root).unwrap_or(&path).display().to_string());
        bar.inc(1);
    }
    bar.finish_and_clear();
    let marker = SyntheticMarker { generator: "elmbench synthetic dendritic neuron v1".into(), tier, seed, files };
    crate::weights::checkpoint::write_atomically(&marker_path, serde_json::to_string_pretty(&marker)?.as_bytes())?;
    Ok(marker)
}
