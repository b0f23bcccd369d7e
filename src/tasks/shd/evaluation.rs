//! Scoring a model on an SHD split: the accuracy of the class read at the last step (or whatever
//! the model's readout reports) and the mean cross-entropy, over a fixed list of items.
//!
//! * SHD: every sample of the split, in file order. (The official iterator evaluates only whole
//!   batches of 8, so it leaves out the last `n mod 8` validation samples; we score them all.)
//! * SHD-Adding: the pairs the official notebook draws, `batches` batches of 8 from numpy's
//!   `default_rng(seed)` (the official validation and test streams are re-seeded at every pass,
//!   so their pairs are fixed).

use super::stream::{BatchBuilder, Item};
use super::ShdFile;
use crate::engine::numpy_random::NumpyGenerator;
use crate::engine::{Rng, SparseSequences};
use crate::metrics::Metrics;
use crate::models::SequenceModel;
use crate::tasks::classification::Scorer;
use crate::tasks::input_dropout::drop_inputs;
use anyhow::{bail, Result};
use std::sync::Arc;

/// Items scored per forward pass: enough for the batch-parallel kernels, few enough that the
/// saved activations of a 2000-step pass stay small.
const EVAL_BATCH: usize = 16;

/// What a split is scored on.
pub struct EvalSet {
    pub file: Arc<ShdFile>,
    pub items: Vec<Item>,
}

/// SHD-Adding's fixed evaluation pairs over `split` (indices into the file).
pub fn pair_items(split: &[usize], batches: usize, pair_batch: usize, seed: u64) -> Result<Vec<Item>> {
    if split.is_empty() {
        bail!("no samples to draw SHD-Adding pairs from");
    }
    let mut rng = NumpyGenerator::new(seed);
    let mut items = Vec::with_capacity(batches * pair_batch);
    for _ in 0..batches {
        let draws = rng.integers_vec(0, split.len() as i64, 2 * pair_batch)?;
        items.extend(
            (0..pair_batch).map(|i| Item::Pair(split[draws[i] as usize], split[draws[pair_batch + i] as usize])),
        );
    }
    Ok(items)
}

/// Calls `each` with the inputs and labels of `set`'s items, `EVAL_BATCH` at a time, in order;
/// with `dropout = Some((p, seed))` the inputs are dropped as in training (the official
/// notebook's evaluation does this), from one generator over the whole set.
pub fn for_each_batch(
    set: &EvalSet,
    builder: &mut BatchBuilder,
    dropout: Option<(f64, u64)>,
    mut each: impl FnMut(SparseSequences, Vec<u32>) -> Result<()>,
) -> Result<()> {
    let mut rng = dropout.map(|(_, seed)| Rng::new(seed));
    for chunk in set.items.chunks(EVAL_BATCH) {
        let mut x = builder.inputs(&set.file, chunk)?;
        if let (Some((p, _)), Some(rng)) = (dropout, rng.as_mut()) {
            drop_inputs(&mut x, p, rng);
        }
        each(x, chunk.iter().map(|item| item.label(set.file.labels())).collect())?;
    }
    Ok(())
}

/// Accuracy and mean cross-entropy of `model` on `set` (inputs as `for_each_batch` makes them).
pub fn evaluate(
    model: &dyn SequenceModel,
    set: &EvalSet,
    builder: &mut BatchBuilder,
    classes: usize,
    dropout: Option<(f64, u64)>,
) -> Result<Metrics> {
    if set.items.is_empty() {
        bail!("nothing to evaluate in {}", set.file.path().display());
    }
    let mut scorer = Scorer::default();
    for_each_batch(set, builder, dropout, |x, labels| scorer.score(model, &x, &labels, classes))?;
    scorer.metrics()
}
