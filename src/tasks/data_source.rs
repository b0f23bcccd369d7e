//! Which data a run saw, and finding it: the real dataset under the data root when it is there,
//! otherwise a synthetic surrogate of the requested size, made on first use and said loudly.

use super::{lra, neuronio, shd};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Sizes of a synthetic dataset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// Seconds: the smallest data that exercises every code path.
    Smoke,
    /// Minutes of training on a 2-core machine.
    Quick,
    /// The real dataset's scale.
    Paper,
}

impl Tier {
    pub fn parse(name: &str) -> Result<Self> {
        serde_json::from_value(serde_json::Value::String(name.into()))
            .with_context(|| format!("unknown data tier `{name}` (tiers: smoke, quick, paper)"))
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum DataSource {
    Real,
    Synthetic { generator: String, tier: Tier, seed: u64 },
}

impl DataSource {
    /// How results name the data: "real" or "synthetic (<generator>, <tier> tier, seed <s>)".
    pub fn describe(&self) -> String {
        match self {
            DataSource::Real => "real".into(),
            DataSource::Synthetic { generator, tier, seed } => {
                format!("synthetic ({generator}, {tier:?} tier, seed {seed})").to_lowercase()
            }
        }
    }

    pub fn is_synthetic(&self) -> bool {
        matches!(self, DataSource::Synthetic { .. })
    }
}

/// A dataset family; tasks built on the same files share one (SHD and SHD-Adding).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dataset {
    Neuronio,
    Shd,
    /// The LRA release: ListOps, Retrieval, Pathfinder, Path-X.
    Lra,
    /// CIFAR-10, LRA Image's source.
    Cifar10,
    /// IMDB reviews, LRA Text's source.
    Imdb,
}

impl Dataset {
    pub fn name(&self) -> &'static str {
        match self {
            Dataset::Neuronio => "neuronio",
            Dataset::Shd => "shd",
            Dataset::Lra => "lra",
            Dataset::Cifar10 => "cifar10",
            Dataset::Imdb => "imdb",
        }
    }

    /// The folders under the data root its synthesizer writes: its own, and for the LRA family
    /// all three (one `elmbench synth lra` writes the release, CIFAR-10 and IMDB together).
    pub fn folders(&self) -> &'static [&'static str] {
        match self {
            Dataset::Neuronio => &["neuronio"],
            Dataset::Shd => &["shd"],
            Dataset::Lra | Dataset::Cifar10 | Dataset::Imdb => &["lra", "cifar10", "imdb"],
        }
    }

    /// The data found under `data_dir`, if any is complete enough to train on.
    pub fn source(&self, data_dir: &Path) -> Option<DataSource> {
        match self {
            Dataset::Neuronio => neuronio::dataset::locate(data_dir).ok().map(|s| s.source),
            Dataset::Shd => shd::dataset::locate(data_dir).ok().map(|s| s.source),
            Dataset::Lra => {
                lra::listops::locate(data_dir).ok().and_then(|_| lra::data::folder_source(data_dir, "lra").ok())
            }
            Dataset::Cifar10 => {
                lra::image::locate(data_dir).ok().and_then(|_| lra::data::folder_source(data_dir, "cifar10").ok())
            }
            Dataset::Imdb => {
                lra::text::locate(data_dir).ok().and_then(|_| lra::data::folder_source(data_dir, "imdb").ok())
            }
        }
    }

    pub fn synthesize(&self, data_dir: &Path, tier: Tier, seed: u64) -> Result<()> {
        match self {
            Dataset::Neuronio => neuronio::synthesize::synthesize(data_dir, tier, seed).map(|_| ()),
            Dataset::Shd => shd::synthetic::synthesize(data_dir, tier, seed).map(|_| ()),
            Dataset::Lra | Dataset::Cifar10 | Dataset::Imdb => {
                lra::synthetic::synthesize(data_dir, tier, seed).map(|_| ())
            }
        }
    }
}

/// Where the surrogates of a tier live, for every command (`synth` writes there; `train`, `eval`
/// and `reproduce` read there when the real data is absent): `<data_dir>/synthetic/<tier>`.
pub fn synthetic_root(data_dir: &Path, tier: Tier) -> PathBuf {
    data_dir.join("synthetic").join(format!("{tier:?}").to_lowercase())
}

/// The data root to train on: `data_dir` itself when it holds the real dataset, otherwise
/// `<data_dir>/synthetic/<tier>` (synthesized on first use, with seed 0), after a banner that says
/// so. Concurrent callers (array tasks, parallel runs) are safe: each synthesizes into its own
/// staging folder and renames it into place; a loser of the race discards its copy.
pub fn resolve_data(dataset: Dataset, data_dir: &Path, tier: Tier) -> Result<PathBuf> {
    let found = dataset.source(data_dir);
    if found == Some(DataSource::Real) {
        return Ok(data_dir.to_path_buf());
    }
    let name = dataset.name();
    if let Some(DataSource::Synthetic { .. }) = found {
        // Written there by an `elmbench synth` from before surrogates had one place.
        eprintln!(
            "note: {} holds a SYNTHETIC surrogate where the real data belongs (an older `elmbench synth` put it \
             there); it is not used. Surrogates live under {}; move or delete it.",
            data_dir.join(name).display(),
            synthetic_root(data_dir, tier).display()
        );
    }
    let tier_name = format!("{tier:?}").to_lowercase();
    let synthetic = synthetic_root(data_dir, tier);
    let banner = format!(
        "NO REAL {} DATA under {}: using the SYNTHETIC surrogate ({tier_name} tier) in {}. \
         Results are NOT comparable to the paper's; run `elmbench fetch {name}` for the real data.",
        name.to_uppercase(),
        data_dir.join(name).display(),
        synthetic.display()
    );
    eprintln!("\n{}\n{banner}\n{}\n", "!".repeat(100), "!".repeat(100));
    if dataset.source(&synthetic).is_none() {
        std::fs::create_dir_all(&synthetic).with_context(|| format!("creating {}", synthetic.display()))?;
        let target = synthetic.join(name);
        let staging = crate::io::temporary_sibling(&target)?;
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir_all(&staging)?;
        // The generators write `<root>/<folder>`; each folder not there yet is moved into place
        // (a concurrent caller may have moved its own copy first).
        let result = dataset.synthesize(&staging, tier, 0).and_then(|()| {
            for folder in dataset.folders() {
                let _ = std::fs::rename(staging.join(folder), synthetic.join(folder));
            }
            if dataset.source(&synthetic).is_none() {
                anyhow::bail!("could not move the synthetic {name} data into {}", target.display());
            }
            Ok(())
        });
        let _ = std::fs::remove_dir_all(&staging);
        result?;
    }
    Ok(synthetic)
}
