//! `elmbench synth neuronio`: a whole synthetic NeuronIO in the real folder layout
//! (`neuronio/train/full_ergodic_train_batch_<k>/`, `neuronio/test/Data_test/`, as `fetch`
//! unpacks the real archives), with a `SYNTHETIC.json` marker so every run can say which data it
//! used. Real data is never overwritten.

use super::synthetic::{simulate, RawSimulation, SyntheticNeuron};
use super::writer::write_file;
use super::SIMULATION_MS;
use crate::engine::Rng;
use crate::tasks::Tier;
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Files per folder and simulations per file.
#[derive(Clone, Copy)]
struct FolderSize {
    files: usize,
    simulations: usize,
}

/// Sizes of the validation folder (batch 1), of each training folder (batches 2..), of the test
/// folder, and how many training folders.
struct TierSizes {
    valid: FolderSize,
    train: FolderSize,
    test: FolderSize,
    train_folders: usize,
}

fn sizes(tier: Tier) -> TierSizes {
    let size = |files, simulations| FolderSize { files, simulations };
    match tier {
        Tier::Smoke => TierSizes { valid: size(1, 8), train: size(1, 16), test: size(1, 8), train_folders: 1 },
        Tier::Quick => TierSizes { valid: size(1, 64), train: size(1, 128), test: size(1, 128), train_folders: 9 },
        Tier::Paper => TierSizes { valid: size(2, 128), train: size(2, 128), test: size(4, 128), train_folders: 9 },
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

pub use crate::tasks::synthetic_root::MARKER;

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
    let sizes = sizes(tier);
    let mut plan: Vec<(PathBuf, usize)> = Vec::new();
    let folder = |k: usize| root.join("train").join(format!("full_ergodic_train_batch_{k}"));
    let mut add =
        |folder: PathBuf, size: FolderSize| plan.extend((0..size.files).map(|_| (folder.clone(), size.simulations)));
    add(folder(1), sizes.valid);
    for k in 2..2 + sizes.train_folders {
        add(folder(k), sizes.train);
    }
    add(root.join("test").join("Data_test"), sizes.test);

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
    crate::io::write_atomically(&marker_path, serde_json::to_string_pretty(&marker)?.as_bytes())?;
    Ok(marker)
}
