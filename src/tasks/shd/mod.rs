//! The Spiking Heidelberg Digits (Cramer et al. 2020): spoken digits 0-9 in English and German,
//! as spikes of 700 cochlear channels over about a second; 20 classes. SHD-Adding (the ELM paper's
//! task) shows two digits one after the other and asks for the sum of their values (19 classes).

pub mod binning;
pub mod dataset;
pub mod presets;
pub mod settings;
pub mod synthetic;
pub mod task;

pub use presets::model_preset;
pub use settings::ShdSettings;
pub use task::ShdTask;

/// Cochlear channels.
pub const NUM_UNITS: usize = 700;
/// Digits 0-9 in English, then in German.
pub const NUM_CLASSES: usize = 20;
/// SHD-Adding: (label1 mod 10) + (label2 mod 10) ranges over 0..=18.
pub const NUM_SUMS: usize = 19;

/// Metrics of the validation and test splits.
pub const METRICS: &[&str] = &["accuracy", "loss"];
/// Running metrics of the training batches (with input dropout), as the official notebook reports
/// its training accuracy.
pub const TRAIN_METRICS: &[&str] = &["accuracy", "loss"];
