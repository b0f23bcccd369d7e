//! Token sequences as a one-hot model input.
//!
//! Padding convention: a sequence shorter than T is LEFT-padded. Its padding steps are all-zero
//! rows (no padding token, so no one-hot column is spent on it) and its tokens fill steps
//! T - len .. T. The paper classifies from the last output, so the last step must hold every
//! sequence's last real token; right padding would put the readout after up to thousands of
//! empty steps (a Text review is 1,300 characters on average against T = 4,096).

use crate::engine::SparseSequences;
use anyhow::{bail, ensure, Result};

/// One sequence of the batch per item of `sequences`, each left-padded to `time` steps, with one
/// non-zero (1.0) per real token at column `token` of `features`: row `b * time + t`.
pub fn one_hot_batch<'a>(
    sequences: impl IntoIterator<Item = &'a [u8]>,
    time: usize,
    features: usize,
) -> Result<SparseSequences> {
    let sequences = sequences.into_iter();
    let (low, _) = sequences.size_hint();
    let mut row_start = Vec::with_capacity(low * time + 1);
    let mut feature = Vec::new();
    let mut value = Vec::new();
    row_start.push(0);
    let mut batch = 0;
    for tokens in sequences {
        ensure!(
            tokens.len() <= time,
            "sequence {batch} of the batch has {} tokens, more than the {time} steps of the input",
            tokens.len()
        );
        if let Some((t, &bad)) = tokens.iter().enumerate().find(|(_, &tok)| tok as usize >= features) {
            bail!(
                "sequence {batch} of the batch: token {bad} at position {t} is not one of the {features} input columns"
            );
        }
        let pad = time - tokens.len();
        feature.reserve(tokens.len());
        value.reserve(tokens.len());
        row_start.extend(std::iter::repeat_n(feature.len(), pad));
        for &token in tokens {
            feature.push(token as u32);
            value.push(1.0);
            row_start.push(feature.len());
        }
        batch += 1;
    }
    Ok(SparseSequences::new(batch, time, features, row_start, feature, value))
}
