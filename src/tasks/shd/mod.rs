//! The Spiking Heidelberg Digits (Cramer et al. 2020; DATASETS.md 2): spoken digits 0-9 in English
//! and German, each a sequence of spikes on 700 cochlea-model channels, 20 classes. SHD-Adding (the
//! ELM paper's task) shows two digits one after the other and asks for the sum of their values
//! (19 classes).
//!
//! - `file`: the real HDF5 files, read and checked into flat arrays (`ShdFile`).
//! - `binning`: the official binning of a sample's spikes into counts per time step and channel.
//! - `batch`: binned samples appended to a sparse model input, alone or two after each other in
//!   time (SHD-Adding).
//! - `summary`: what a file holds, for structural checks.
//! - `dataset`: where the files are, real or synthetic; `synthetic`: the surrogate.
//! - `split`, `stream`, `evaluation`, `task`: the tasks `shd` and `shd-adding` on top.
//! - `settings`, `presets`: their settings and the paper's models for them.

pub mod batch;
pub mod binning;
pub mod dataset;
pub mod evaluation;
pub mod export;
pub mod file;
mod numbers;
pub mod presets;
pub mod settings;
pub mod split;
pub mod stream;
pub mod summary;
pub mod synthetic;
pub mod task;

pub use batch::{append_sequence, empty_batch};
pub use binning::{numpy_arange, numpy_digitize, BinScratch, BinnedEntry, BinnedSample, Binning, MAX_BIN_MS};
pub use file::{ShdFile, ShdSample, SpikeTimes, TimeType};
pub use presets::model_preset;
pub use settings::ShdSettings;
pub use summary::ShdSummary;
pub use task::ShdTask;

/// Input channels: spikes are on units 0..700.
pub const NUM_UNITS: usize = 700;
/// Classes: labels are 0..20 (`extra/keys` names them; 0-9 English, 10-19 German by convention).
pub const NUM_CLASSES: usize = 20;
/// SHD-Adding: (label1 mod 10) + (label2 mod 10) ranges over 0..=18.
pub const NUM_SUMS: usize = 19;
/// Samples of the current release's files (DATASETS.md 2.2).
pub const TRAIN_SAMPLES: usize = 8156;
pub const TEST_SAMPLES: usize = 2264;
/// Samples of the earlier release the first SHD pages and README describe.
pub const EARLIER_TRAIN_SAMPLES: usize = 8332;
pub const EARLIER_TEST_SAMPLES: usize = 2088;

/// Metrics of the validation and test splits (accuracy and the mean cross-entropy) and, as the
/// official notebook reports its training accuracy, of the training batches (with input dropout).
pub use crate::tasks::classification::METRICS;
