//! PLACEHOLDER until the SHD reader lands.
use crate::tasks::DataSource;
use anyhow::{bail, Result};
use std::path::{Path, PathBuf};
pub struct ShdFiles {
    pub train: PathBuf,
    pub test: PathBuf,
    pub source: DataSource,
}
pub fn locate(data_dir: &Path) -> Result<ShdFiles> {
    bail!("no SHD reader yet under {}", data_dir.display())
}
