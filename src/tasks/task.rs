//! What a task offers the one training loop and the evaluator, once its data is open: seeded
//! training batches that can be saved and resumed, the loss, and the evaluation of a split with
//! the task's own protocol. What a task is before its data is read (names, metric columns, model
//! presets) is `TaskConfig`'s.

use super::{DataSource, TaskConfig};
use crate::engine::SparseSequences;
use crate::metrics::Metrics;
use crate::models::SequenceModel;
use anyhow::Result;

/// A split of a task's data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    Train,
    Valid,
    Test,
}

impl Split {
    pub fn name(&self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Valid => "valid",
            Split::Test => "test",
        }
    }
}

/// What a batch asks the model to produce.
#[derive(Clone, Debug, PartialEq)]
pub enum Targets {
    /// Per-step values in the task's own layout (NeuronIO: the spike targets of every step, then
    /// the soma targets).
    Values(Vec<f32>),
    /// One class per sample.
    Classes(Vec<u32>),
}

/// One batch: the model's inputs (batch, time, features) and their targets.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    pub inputs: SparseSequences,
    pub targets: Targets,
}

/// The loss of a batch and its gradient with respect to the model's reported outputs.
#[derive(Clone, Debug)]
pub struct BatchLoss {
    pub loss: f64,
    pub grad: Vec<f32>,
    /// Classification tasks: how many samples the outputs classify correctly.
    pub correct: Option<usize>,
}

/// Training batches, drawn in a fixed order from a seed; the state between two batches can be
/// saved and restored, so an interrupted run resumes with exactly the batches it would have seen.
pub trait TrainStream: Send {
    fn next_batch(&mut self) -> Result<Batch>;
    fn state(&self) -> Result<serde_json::Value>;
    fn restore(&mut self, state: &serde_json::Value) -> Result<()>;
}

pub trait Task: Send + Sync {
    fn config(&self) -> &TaskConfig;
    /// Real or synthetic data, said in every result.
    fn data_source(&self) -> &DataSource;
    /// Refuses a model whose input or output sizes do not fit the task.
    fn check_model(&self, model: &dyn SequenceModel) -> Result<()>;
    /// Batches in one epoch when the training settings leave it open (one pass over the
    /// training split, for tasks that have one).
    fn default_batches_per_epoch(&self, batch_size: usize) -> usize;
    fn train_stream(&self, batch_size: usize, seed: u64) -> Result<Box<dyn TrainStream>>;
    /// Whether the data has this split (a NeuronIO folder may come without its test files).
    fn has_split(&self, _split: Split) -> bool {
        true
    }
    fn loss(&self, outputs: &[f32], batch: &Batch) -> Result<BatchLoss>;
    /// The task's metrics of `split` (names and order: `TaskConfig::metrics`).
    fn evaluate(&self, model: &dyn SequenceModel, split: Split) -> Result<Metrics>;
}
