//! Binned samples as model input: one sequence of a `SparseSequences` batch per sample, or per
//! pair of samples placed one after the other in time (SHD-Adding: the first digit in steps
//! 0..T, the second in T..2T, as the official `SHDAdding` concatenates them).

use super::binning::BinnedSample;
use super::NUM_UNITS;
use crate::engine::SparseSequences;
use anyhow::{ensure, Result};

/// A batch with no sequences yet, of `time` steps on the 700 SHD channels.
pub fn empty_batch(time: usize) -> SparseSequences {
    SparseSequences::new(0, time, NUM_UNITS, vec![0], Vec::new(), Vec::new())
}

/// Appends one sequence to `batch`: each `(offset, sample)` puts the sample's step s at time
/// step `offset + s`; steps no part covers stay empty. Parts must come in time order without
/// overlapping and end within `batch.time`. The counts become the values (exact in f32 below
/// 2^24).
pub fn append_sequence(batch: &mut SparseSequences, parts: &[(usize, &BinnedSample)]) -> Result<()> {
    ensure!(batch.features == NUM_UNITS, "an SHD batch has {NUM_UNITS} features, this one {}", batch.features);
    ensure!(
        batch.row_start.len() == batch.batch * batch.time + 1,
        "the batch's rows are not complete ({} row starts for {} sequences of {} steps)",
        batch.row_start.len(),
        batch.batch,
        batch.time
    );
    batch.changed();
    let mut free_from = 0;
    for (k, &(offset, sample)) in parts.iter().enumerate() {
        ensure!(
            offset >= free_from,
            "part {k} starts at step {offset}, inside the part before it (which ends at {free_from})"
        );
        free_from = offset + sample.steps();
        ensure!(
            free_from <= batch.time,
            "part {k} covers steps {offset}..{free_from}, beyond the batch's {} steps",
            batch.time
        );
    }
    let added: usize = parts.iter().map(|(_, s)| s.entries().len()).sum();
    batch.feature.reserve(added);
    batch.value.reserve(added);
    batch.row_start.reserve(batch.time);
    // Rows of this sequence whose end is already in row_start.
    let mut closed = 0;
    for &(offset, sample) in parts {
        for entry in sample.entries() {
            let row = offset + entry.step as usize;
            while closed < row {
                batch.row_start.push(batch.feature.len());
                closed += 1;
            }
            batch.feature.push(entry.unit as u32);
            batch.value.push(entry.count as f32);
        }
    }
    while closed < batch.time {
        batch.row_start.push(batch.feature.len());
        closed += 1;
    }
    batch.batch += 1;
    Ok(())
}
