//! What every classification task shares: the cross-entropy on the model's reported logits (one
//! row per item: a last-step or mean readout) with the count of correct predictions, and the
//! scoring of fixed evaluation batches as accuracy and mean cross-entropy.

use super::{Batch, BatchLoss, Targets};
use crate::engine::{Inputs, SparseSequences};
use crate::metrics::{accuracy, predicted_class, Metrics};
use crate::models::SequenceModel;
use crate::train::loss::cross_entropy;
use anyhow::{bail, Result};

/// The metrics of evaluated splits and of the training batches.
pub const METRICS: &[&str] = &["accuracy", "loss"];

/// The mean cross-entropy of a batch's logits against its classes, its gradient, and how many
/// items the logits classify correctly.
pub fn classification_loss(outputs: &[f32], batch: &Batch, classes: usize) -> Result<BatchLoss> {
    let Targets::Classes(labels) = &batch.targets else { bail!("a classification batch carries classes") };
    if outputs.len() != labels.len() * classes || labels.iter().any(|&l| l as usize >= classes) {
        bail!("cross-entropy: {} outputs for {} items of {classes} classes", outputs.len(), labels.len());
    }
    let (loss, grad) = cross_entropy(outputs, labels, classes);
    let correct = outputs
        .chunks_exact(classes)
        .zip(labels)
        .filter(|(row, &label)| predicted_class(row) == Some(label as usize))
        .count();
    Ok(BatchLoss { loss, grad, correct: Some(correct) })
}

/// Accumulates the predictions of evaluation batches.
#[derive(Default)]
pub struct Scorer {
    predicted: Vec<usize>,
    labels: Vec<usize>,
    loss_sum: f64,
}

impl Scorer {
    /// Runs `model` on one batch and records its predictions.
    pub fn score(
        &mut self,
        model: &dyn SequenceModel,
        x: &SparseSequences,
        labels: &[u32],
        classes: usize,
    ) -> Result<()> {
        let pass = model.forward(&Inputs::Sparse(x))?;
        let logits = pass.output();
        if logits.len() != labels.len() * classes {
            bail!("the model reports {} values for {} items of {classes} classes", logits.len(), labels.len());
        }
        let (loss, _) = cross_entropy(logits, labels, classes);
        if !loss.is_finite() {
            bail!("the model's outputs give a non-finite loss");
        }
        self.loss_sum += loss * labels.len() as f64;
        for (row, &label) in logits.chunks_exact(classes).zip(labels) {
            self.predicted.push(predicted_class(row).unwrap_or(usize::MAX));
            self.labels.push(label as usize);
        }
        Ok(())
    }

    /// Accuracy and mean cross-entropy over everything scored.
    pub fn metrics(&self) -> Result<Metrics> {
        let mut m = Metrics::new();
        m.set("accuracy", accuracy(&self.predicted, &self.labels)?);
        m.set("loss", self.loss_sum / self.labels.len().max(1) as f64);
        Ok(m)
    }
}
