//! Where the SHD files are: `<data>/shd/shd_train.h5` and `shd_test.h5`, as `elmbench fetch shd`
//! unpacks them, or a synthetic surrogate there (`SYNTHETIC.json` beside them says which).

use super::synthetic::{ShdMarker, MARKER, TEST_FILE, TRAIN_FILE};
use crate::tasks::DataSource;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub struct ShdFiles {
    pub root: PathBuf,
    pub train: PathBuf,
    pub test: PathBuf,
    pub source: DataSource,
}

pub fn locate(data_dir: &Path) -> Result<ShdFiles> {
    let root = data_dir.join("shd");
    let (train, test) = (root.join(TRAIN_FILE), root.join(TEST_FILE));
    if !train.is_file() || !test.is_file() {
        bail!(
            "no SHD data at {} (it needs {TRAIN_FILE} and {TEST_FILE}): run `elmbench fetch shd` for the real data or \
             `elmbench synth shd` for a synthetic one",
            root.display()
        );
    }
    let marker = root.join(MARKER);
    let source = if marker.exists() {
        let text = std::fs::read_to_string(&marker).with_context(|| format!("reading {}", marker.display()))?;
        let m: ShdMarker = serde_json::from_str(&text).with_context(|| format!("invalid {}", marker.display()))?;
        DataSource::Synthetic { generator: m.generator, tier: m.tier, seed: m.seed }
    } else {
        DataSource::Real
    };
    Ok(ShdFiles { root, train, test, source })
}
