//! PLACEHOLDER until the SHD surrogate lands.
use crate::tasks::Tier;
use anyhow::{bail, Result};
use std::path::Path;
pub fn synthesize(_data_dir: &Path, _tier: Tier, _seed: u64) -> Result<()> {
    bail!("no SHD surrogate yet")
}
