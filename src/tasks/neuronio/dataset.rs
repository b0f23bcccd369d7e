//! Where a NeuronIO dataset's files are, and whether it is real or synthetic. The split follows
//! the official trainer: training files in `full_ergodic_train_batch_2` to `_10`, validation in
//! `full_ergodic_train_batch_1`, test in `Data_test`. Folders are found anywhere below
//! `<data>/neuronio` (the Kaggle archives' inner layout is not pinned down), and every `*.p` in
//! them is used.

use super::synthesize::{SyntheticMarker, MARKER};
use crate::tasks::DataSource;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub struct NeuronioSplits {
    pub root: PathBuf,
    pub train: Vec<PathBuf>,
    pub valid: Vec<PathBuf>,
    pub test: Vec<PathBuf>,
    pub source: DataSource,
}

pub fn locate(data_dir: &Path) -> Result<NeuronioSplits> {
    let root = data_dir.join("neuronio");
    if !root.is_dir() {
        bail!(
            "no NeuronIO data at {}: run `elmbench fetch neuronio` for the real data or `elmbench synth neuronio` for a synthetic one",
            root.display()
        );
    }
    let mut splits = NeuronioSplits {
        root: root.clone(),
        train: Vec::new(),
        valid: Vec::new(),
        test: Vec::new(),
        source: DataSource::Real,
    };
    let mut folders = vec![(root.clone(), 0)];
    while let Some((folder, depth)) = folders.pop() {
        let entries = std::fs::read_dir(&folder).with_context(|| format!("reading {}", folder.display()))?;
        let mut files: Vec<PathBuf> = Vec::new();
        for entry in entries {
            let path = entry?.path();
            if path.is_dir() && depth < 4 {
                folders.push((path, depth + 1));
            } else if path.extension().is_some_and(|e| e == "p") {
                files.push(path);
            }
        }
        files.sort();
        let name = folder.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        match name.strip_prefix("full_ergodic_train_batch_").and_then(|k| k.parse::<u32>().ok()) {
            Some(1) => splits.valid.extend(files),
            Some(2..=10) => splits.train.extend(files),
            _ if name == "Data_test" => splits.test.extend(files),
            _ => {}
        }
    }
    splits.train.sort();
    // Each split is required where it is used (training, validation, test): a folder with only
    // the test files is enough to evaluate.
    if splits.train.is_empty() && splits.valid.is_empty() && splits.test.is_empty() {
        bail!("no NeuronIO files (full_ergodic_train_batch_<k>/*.p or Data_test/*.p) below {}", root.display());
    }
    let marker = root.join(MARKER);
    if marker.exists() {
        let text = std::fs::read_to_string(&marker).with_context(|| format!("reading {}", marker.display()))?;
        let m: SyntheticMarker =
            serde_json::from_str(&text).with_context(|| format!("invalid {}", marker.display()))?;
        splits.source = DataSource::Synthetic { generator: m.generator, tier: m.tier, seed: m.seed };
    }
    Ok(splits)
}
