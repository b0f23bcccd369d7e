//! PLACEHOLDER until the SHD reader lands.
use crate::tasks::TaskConfig;
use anyhow::{bail, Result};
use std::path::Path;
pub struct ShdTask;
impl ShdTask {
    pub fn open(_config: TaskConfig, _data_dir: &Path) -> Result<crate::tasks::neuronio::NeuronioTask> {
        bail!("no SHD yet")
    }
}
