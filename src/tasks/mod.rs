//! Tasks: everything dataset-specific, behind one interface so that one training loop, one
//! evaluator and one experiment runner serve every dataset family of the paper.
//!
//! A task knows where its data is (real under the data root, or a synthetic surrogate), its
//! splits, its seeded and resumable training batches, its loss, the evaluation protocol of a
//! split, the metric columns it reports and the model presets it needs. Models never know a
//! task; tasks never know a model's insides.
//!
//! * `neuronio`: fit a detailed neuron's spikes and soma voltage (Figures 2-4, Table S4).
//! * `shd`, `shd-adding`: spoken-digit classification from cochlear spikes (Figure 5).
//! * `lra`: the six Long Range Arena tasks' real files, read into token sequences (Table 1).

pub mod classification;
pub mod config;
pub mod data_source;
pub mod input_dropout;
pub mod lra;
pub mod neuronio;
pub mod shd;
pub mod shuffled_epochs;
pub mod synthetic_root;
pub mod task;

pub use config::{Better, Selection, TaskConfig, TASK_NAMES};
pub use data_source::{resolve_data, synthetic_root, DataSource, Dataset, Tier};
pub use task::{Batch, BatchLoss, Split, Targets, Task, TrainStream};
