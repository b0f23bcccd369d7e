//! The `[task]` table of a training configuration: which task (`name`) and its own settings.
//! Everything about a task that is known before its data is read lives here: its metric columns,
//! which validation metric picks the best epoch, the model presets it needs, the length of a
//! sample. `open` reads the data and gives the `Task` the trainer drives.

use super::{neuronio, shd, Dataset, Task};
use crate::models::ModelConfig;
use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "kebab-case")]
pub enum TaskConfig {
    /// Fit the spikes and soma voltage of a detailed neuron (Beniaguev et al. 2021).
    Neuronio(neuronio::NeuronioSettings),
    /// Classify spoken digits from cochlear spikes (Cramer et al. 2020), 20 classes.
    Shd(shd::ShdSettings),
    /// Two SHD digits one after the other; the class is the sum of their values, 19 classes.
    ShdAdding(shd::ShdSettings),
}

impl Default for TaskConfig {
    fn default() -> Self {
        TaskConfig::Neuronio(Default::default())
    }
}

/// Whether a larger or a smaller value of the selection metric is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Better {
    Higher,
    Lower,
}

/// The validation metric that picks the best epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Selection {
    pub metric: &'static str,
    pub better: Better,
}

impl Selection {
    /// Whether `candidate` beats `best` (strictly: the first best epoch is kept on ties).
    pub fn improves(&self, candidate: f64, best: Option<f64>) -> bool {
        match (best, self.better) {
            (None, _) => !candidate.is_nan(),
            (Some(b), Better::Higher) => candidate > b,
            (Some(b), Better::Lower) => candidate < b,
        }
    }
}

/// The names every task's `name` may take.
pub const TASK_NAMES: &[&str] = &["neuronio", "shd", "shd-adding"];

impl TaskConfig {
    /// A task with its default settings.
    pub fn named(name: &str) -> Result<Self> {
        serde_json::from_value(serde_json::json!({ "name": name }))
            .map_err(|_| anyhow::anyhow!("unknown task `{name}` (tasks: {})", TASK_NAMES.join(", ")))
    }

    pub fn name(&self) -> &'static str {
        match self {
            TaskConfig::Neuronio(_) => "neuronio",
            TaskConfig::Shd(_) => "shd",
            TaskConfig::ShdAdding(_) => "shd-adding",
        }
    }

    pub fn dataset(&self) -> Dataset {
        match self {
            TaskConfig::Neuronio(_) => Dataset::Neuronio,
            TaskConfig::Shd(_) | TaskConfig::ShdAdding(_) => Dataset::Shd,
        }
    }

    pub fn validate(&self) -> Result<()> {
        match self {
            TaskConfig::Neuronio(s) => s.validate(),
            TaskConfig::Shd(s) => s.validate(false),
            TaskConfig::ShdAdding(s) => s.validate(true),
        }
    }

    /// The metrics evaluated on the validation and test splits, in column order.
    pub fn metrics(&self) -> &'static [&'static str] {
        match self {
            TaskConfig::Neuronio(_) => neuronio::METRICS,
            TaskConfig::Shd(_) | TaskConfig::ShdAdding(_) => shd::METRICS,
        }
    }

    /// The running metrics of the training batches reported for the best epoch (`train_*`
    /// columns); none for NeuronIO, whose training loss is in the run's history.
    pub fn train_metrics(&self) -> &'static [&'static str] {
        match self {
            TaskConfig::Neuronio(_) => &[],
            TaskConfig::Shd(_) | TaskConfig::ShdAdding(_) => shd::METRICS,
        }
    }

    pub fn selection(&self) -> Selection {
        match self {
            TaskConfig::Neuronio(_) => Selection { metric: "soma_rmse", better: Better::Lower },
            TaskConfig::Shd(_) | TaskConfig::ShdAdding(_) => Selection { metric: "accuracy", better: Better::Higher },
        }
    }

    /// Steps of one sample as a model sees it (the length FLOPs are counted over).
    pub fn steps_per_sample(&self) -> usize {
        match self {
            TaskConfig::Neuronio(s) => s.window,
            TaskConfig::Shd(s) => s.steps(),
            TaskConfig::ShdAdding(s) => 2 * s.steps(),
        }
    }

    /// The paper's configuration of model `kind` for this task: input and output sizes, readout,
    /// time step and the sizes the paper trained (`elmbench list` names the kinds).
    pub fn model_preset(&self, kind: &str) -> Result<ModelConfig> {
        match self {
            TaskConfig::Neuronio(_) => neuronio::model_preset(kind),
            TaskConfig::Shd(s) => shd::model_preset(kind, s, shd::NUM_CLASSES),
            TaskConfig::ShdAdding(s) => shd::model_preset(kind, s, shd::NUM_SUMS),
        }
    }

    /// Reads the task's data under `data_dir` (real, or a synthetic surrogate there).
    pub fn open(&self, data_dir: &Path, quiet: bool) -> Result<Box<dyn Task>> {
        self.validate()?;
        Ok(match self {
            TaskConfig::Neuronio(s) => Box::new(neuronio::NeuronioTask::open(self.clone(), s, data_dir, quiet)?),
            TaskConfig::Shd(_) | TaskConfig::ShdAdding(_) => Box::new(shd::ShdTask::open(self.clone(), data_dir)?),
        })
    }
}
