//! The `[task]` table of a training configuration: which task (`name`) and its own settings.
//! Everything about a task that is known before its data is read lives here: its metric columns,
//! which validation metric picks the best epoch, the model presets it needs, the length of a
//! sample. `open` reads the data and gives the `Task` the trainer drives.

use super::lra::{LraSettings, LraTask};
use super::{classification, lra, neuronio, shd, Dataset, Task};
use crate::models::ModelConfig;
use anyhow::{Context, Result};
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
    /// LRA ListOps: the value of a nested MIN/MAX/MED/SM expression, 10 classes (Tay et al. 2021).
    LraListops(LraSettings),
    /// LRA Text: IMDB review sentiment from characters, 2 classes.
    LraText(LraSettings),
    /// LRA Retrieval: whether two AAN papers cite each other, from characters, 2 classes.
    LraRetrieval(LraSettings),
    /// LRA Image: grey CIFAR-10 pixel by pixel, 10 classes.
    LraImage(LraSettings),
    /// LRA Pathfinder: whether two dots lie on one dashed path, 32 x 32 pixels, 2 classes.
    LraPathfinder(LraSettings),
    /// LRA Path-X: Pathfinder at 128 x 128 pixels.
    LraPathx(LraSettings),
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
pub const TASK_NAMES: &[&str] = &[
    "neuronio",
    "shd",
    "shd-adding",
    "lra-listops",
    "lra-text",
    "lra-retrieval",
    "lra-image",
    "lra-pathfinder",
    "lra-pathx",
];

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
            TaskConfig::LraListops(_) => "lra-listops",
            TaskConfig::LraText(_) => "lra-text",
            TaskConfig::LraRetrieval(_) => "lra-retrieval",
            TaskConfig::LraImage(_) => "lra-image",
            TaskConfig::LraPathfinder(_) => "lra-pathfinder",
            TaskConfig::LraPathx(_) => "lra-pathx",
        }
    }

    /// The LRA task and its settings, for the six LRA tasks.
    pub fn lra(&self) -> Option<(LraTask, &LraSettings)> {
        match self {
            TaskConfig::LraListops(s) => Some((LraTask::ListOps, s)),
            TaskConfig::LraText(s) => Some((LraTask::Text, s)),
            TaskConfig::LraRetrieval(s) => Some((LraTask::Retrieval, s)),
            TaskConfig::LraImage(s) => Some((LraTask::Image, s)),
            TaskConfig::LraPathfinder(s) => Some((LraTask::Pathfinder, s)),
            TaskConfig::LraPathx(s) => Some((LraTask::PathX, s)),
            _ => None,
        }
    }

    pub fn dataset(&self) -> Dataset {
        match self {
            TaskConfig::Neuronio(_) => Dataset::Neuronio,
            TaskConfig::Shd(_) | TaskConfig::ShdAdding(_) => Dataset::Shd,
            _ => match self.lra().map(|(task, _)| task) {
                Some(LraTask::Image) => Dataset::Cifar10,
                Some(LraTask::Text) => Dataset::Imdb,
                _ => Dataset::Lra,
            },
        }
    }

    pub fn validate(&self) -> Result<()> {
        match self {
            TaskConfig::Neuronio(s) => s.validate(),
            TaskConfig::Shd(s) => s.validate(false),
            TaskConfig::ShdAdding(s) => s.validate(true),
            _ => self.lra().map_or(Ok(()), |(task, s)| s.validate(task)),
        }
    }

    /// The metrics evaluated on the validation and test splits, in column order.
    pub fn metrics(&self) -> &'static [&'static str] {
        match self {
            TaskConfig::Neuronio(_) => neuronio::METRICS,
            _ => classification::METRICS,
        }
    }

    /// The running metrics of the training batches reported for the best epoch (`train_*`
    /// columns); none for NeuronIO, whose training loss is in the run's history.
    pub fn train_metrics(&self) -> &'static [&'static str] {
        match self {
            TaskConfig::Neuronio(_) => &[],
            _ => classification::METRICS,
        }
    }

    pub fn selection(&self) -> Selection {
        match self {
            TaskConfig::Neuronio(_) => Selection { metric: "soma_rmse", better: Better::Lower },
            _ => Selection { metric: "accuracy", better: Better::Higher },
        }
    }

    /// Steps of one sample as a model sees it (the length FLOPs are counted over).
    pub fn steps_per_sample(&self) -> usize {
        match self {
            TaskConfig::Neuronio(s) => s.window,
            TaskConfig::Shd(s) => s.steps(),
            TaskConfig::ShdAdding(s) => 2 * s.steps(),
            // Retrieval's model reads two documents of this length.
            _ => self.lra().map_or(0, |(task, s)| s.steps(task) * if task == LraTask::Retrieval { 2 } else { 1 }),
        }
    }

    /// The paper's configuration of model `kind` for this task: input and output sizes, readout,
    /// time step and the sizes the paper trained (`elmbench list` names the kinds).
    pub fn model_preset(&self, kind: &str) -> Result<ModelConfig> {
        match self {
            TaskConfig::Neuronio(_) => neuronio::model_preset(kind),
            TaskConfig::Shd(s) => shd::model_preset(kind, s, shd::NUM_CLASSES),
            TaskConfig::ShdAdding(s) => shd::model_preset(kind, s, shd::NUM_SUMS),
            _ => {
                let (task, settings) = self.lra().context("an LRA task")?;
                lra::model_preset(kind, task, settings)
            }
        }
    }

    /// Reads the task's data under `data_dir` (real, or a synthetic surrogate there).
    pub fn open(&self, data_dir: &Path, quiet: bool) -> Result<Box<dyn Task>> {
        self.validate()?;
        Ok(match self {
            TaskConfig::Neuronio(s) => Box::new(neuronio::NeuronioTask::open(self.clone(), s, data_dir, quiet)?),
            TaskConfig::Shd(_) | TaskConfig::ShdAdding(_) => Box::new(shd::ShdTask::open(self.clone(), data_dir)?),
            _ => Box::new(self.open_lra(data_dir, quiet)?),
        })
    }

    /// Opens an LRA task (its concrete type, for `elmbench export`).
    pub fn open_lra(&self, data_dir: &Path, quiet: bool) -> Result<lra::Lra> {
        self.validate()?;
        let (task, settings) = self.lra().with_context(|| format!("`{}` is not an LRA task", self.name()))?;
        lra::Lra::open(self.clone(), task, settings, data_dir, quiet)
    }
}
