//! What a run saves after every epoch, in one safetensors file written atomically
//! (`trainer_state.safetensors`): the weights and buffers, the optimizer's moments, and (in the
//! header's metadata) the configuration and everything else a resumed run needs.

use super::config::TrainConfig;
use super::optimizer::Optimizer;
use crate::io::write_atomically;
use crate::metrics::Metrics;
use crate::models::{Buffer, SequenceModel};
use crate::weights::checkpoint::model_tensors;
use anyhow::{bail, Context, Result};
use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

pub const STATE_FILE: &str = "trainer_state.safetensors";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Running,
    Ok,
    /// The loss became NaN or infinite (or exploded): no result is reported.
    Diverged,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    pub epoch: usize,
    pub train_loss: f64,
    /// The task's running metrics of the epoch's training batches (empty for NeuronIO).
    #[serde(default, skip_serializing_if = "Metrics::is_empty")]
    pub train: Metrics,
    pub learning_rate: f64,
    pub valid: Metrics,
    pub wall_s: f64,
}

/// Everything besides tensors that a resumed run needs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunState {
    pub epochs_done: usize,
    pub status: RunStatus,
    pub optimizer_steps: u64,
    /// The training stream's position (the task's own format).
    pub stream: serde_json::Value,
    pub best_epoch: Option<usize>,
    /// The best epoch's value of the task's selection metric.
    pub best_valid: Option<f64>,
    pub history: Vec<EpochRecord>,
    pub data_source: String,
    /// The loss of the run's first batch, before any update: the yardstick of divergence.
    pub reference_loss: Option<f64>,
    /// Wall time spent by earlier invocations of this run (before a resume), in seconds.
    #[serde(default)]
    pub wall_s: f64,
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn save_state(
    path: &Path,
    config: &TrainConfig,
    state: &RunState,
    model: &dyn SequenceModel,
    optimizer: &Optimizer,
) -> Result<()> {
    let (first, second) = optimizer.moments();
    let mut owned: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
    for (name, dtype, shape, bytes) in model_tensors(model) {
        owned.push((format!("param.{name}"), dtype, shape, bytes));
    }
    for (i, p) in model.params().iter().enumerate() {
        owned.push((format!("adam.m.{}", p.name), Dtype::F32, vec![first[i].len()], f32_bytes(&first[i])));
        owned.push((format!("adam.v.{}", p.name), Dtype::F32, vec![second[i].len()], f32_bytes(&second[i])));
    }
    let views = owned
        .iter()
        .map(|(n, dtype, shape, bytes)| Ok((n.clone(), TensorView::new(*dtype, shape.clone(), bytes)?)))
        .collect::<Result<Vec<_>>>()?;
    let metadata = HashMap::from([
        ("config".to_string(), serde_json::to_string(config)?),
        ("run_state".to_string(), serde_json::to_string(state)?),
    ]);
    write_atomically(path, &safetensors::serialize(views, Some(metadata))?)
}

/// Restores the weights and the optimizer from `path` and returns the run state; the saved
/// configuration must equal `config`.
pub fn load_state(
    path: &Path,
    config: &TrainConfig,
    model: &mut dyn SequenceModel,
    optimizer: &mut Optimizer,
) -> Result<RunState> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let (_, header) = SafeTensors::read_metadata(&bytes).with_context(|| format!("{} is corrupt", path.display()))?;
    let meta = header.metadata().clone().unwrap_or_default();
    let saved: TrainConfig = serde_json::from_str(meta.get("config").context("no config in the trainer state")?)
        .with_context(|| format!("{}: the saved configuration", path.display()))?;
    if &saved != config {
        bail!(
            "--resume: the configuration differs from the one {} was started with (see its config.json)",
            path.display()
        );
    }
    let state: RunState = serde_json::from_str(meta.get("run_state").context("no run state in the trainer state")?)
        .with_context(|| format!("{}: the saved run state", path.display()))?;
    let tensors = SafeTensors::deserialize(&bytes)?;
    let view = |name: &str| tensors.tensor(name).with_context(|| format!("the trainer state lacks `{name}`"));
    let read = |name: &str| -> Result<Vec<f32>> {
        Ok(view(name)?.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
    };
    for (name, saved) in model.buffers() {
        let data = view(&format!("param.{name}"))?.data().to_vec();
        let restored = match saved {
            Buffer::I64(_) => {
                Buffer::I64(data.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes"))).collect())
            }
            Buffer::Bool(_) => Buffer::Bool(data.iter().map(|&b| b != 0).collect()),
            Buffer::F32(_) => {
                Buffer::F32(data.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes"))).collect())
            }
        };
        model.set_buffer(&name, restored)?;
    }
    let names: Vec<(String, Vec<usize>)> =
        model.params().iter().map(|p| (p.name.clone(), p.value.shape().to_vec())).collect();
    let (mut first, mut second) = (Vec::new(), Vec::new());
    for (name, shape) in &names {
        model.params_mut().assign(name, read(&format!("param.{name}"))?, shape)?;
        first.push(read(&format!("adam.m.{name}"))?);
        second.push(read(&format!("adam.v.{name}"))?);
    }
    optimizer.restore(state.optimizer_steps, first, second)?;
    Ok(state)
}
