//! What an SHD file holds, in numbers a person can check against the published ones.

use super::{TimeType, NUM_CLASSES, NUM_UNITS};

/// Counts and ranges of one file (see `ShdFile::summary`).
#[derive(Clone, Debug, PartialEq)]
pub struct ShdSummary {
    pub samples: usize,
    pub spikes: usize,
    pub time_type: TimeType,
    /// The latest spike, in seconds (0 for a file without spikes).
    pub max_time_s: f64,
    /// The highest channel used (`None` for a file without spikes); always below 700.
    pub max_unit: Option<u16>,
    /// Samples per class.
    pub label_counts: [usize; NUM_CLASSES],
    /// Distinct speakers, if the file has `extra/speaker`.
    pub speakers: Option<usize>,
    /// Class names, if the file has `extra/keys`.
    pub keys: Option<usize>,
}

impl ShdSummary {
    /// How many of the 20 classes have at least one sample.
    pub fn classes_present(&self) -> usize {
        self.label_counts.iter().filter(|&&n| n > 0).count()
    }

    /// One line: "8156 samples, 61112739 spikes (float16 times up to 1.40 s, units < 700), 20 of 20
    /// classes, 10 speakers".
    pub fn describe(&self) -> String {
        let mut text = format!(
            "{} samples, {} spikes ({} times up to {:.2} s, units < {NUM_UNITS}), {} of {NUM_CLASSES} classes",
            self.samples,
            self.spikes,
            self.time_type.name(),
            self.max_time_s,
            self.classes_present()
        );
        if let Some(speakers) = self.speakers {
            text.push_str(&format!(", {speakers} speakers"));
        }
        text
    }
}
