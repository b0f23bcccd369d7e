//! An LRA task as the trainer drives it: shuffled epochs over the used training items,
//! cross-entropy on the last output, accuracy and loss over the used validation or test items.

use super::data::LraData;
use super::stream::LraStream;
use super::{LraSettings, LraTask};
use crate::metrics::Metrics;
use crate::models::SequenceModel;
use crate::tasks::classification::{classification_loss, Scorer};
use crate::tasks::{Batch, BatchLoss, DataSource, Split, Task, TaskConfig, TrainStream};
use anyhow::{bail, Result};
use std::path::Path;
use std::sync::Arc;

/// Items per evaluation forward pass.
const EVAL_BATCH: usize = 32;

pub struct Lra {
    config: TaskConfig,
    data: Arc<LraData>,
}

impl Lra {
    pub fn open(
        config: TaskConfig,
        task: LraTask,
        settings: &LraSettings,
        data_dir: &Path,
        quiet: bool,
    ) -> Result<Self> {
        let data = LraData::open(task, settings, data_dir)?;
        if !quiet {
            eprintln!(
                "{} ({} data): {} / {} / {} items used, {} steps, {} tokens in {} inputs; read: {}",
                config.name(),
                data.source.describe(),
                data.items(Split::Train),
                data.items(Split::Valid),
                data.items(Split::Test),
                data.steps(),
                data.vocab_size(),
                data.input_size(),
                data.report
            );
        }
        Ok(Self { config, data: Arc::new(data) })
    }

    pub fn data(&self) -> &LraData {
        &self.data
    }
}

impl Task for Lra {
    fn config(&self) -> &TaskConfig {
        &self.config
    }

    fn data_source(&self) -> &DataSource {
        &self.data.source
    }

    fn check_model(&self, model: &dyn SequenceModel) -> Result<()> {
        let task = self.data.task;
        // Retrieval's model reads 2B documents and answers B pairs; the others one per sequence.
        let sequences = if self.data.is_pairs() { 2 } else { 1 };
        let reported = model.reported_shape(sequences, self.data.steps());
        if model.num_input() != task.input_size() || model.num_output() != task.classes() || reported != (1, 1) {
            bail!(
                "{} needs a model of {} one-hot inputs and {} outputs, read once per {} (readout last-step or mean{}); \
                 this one maps {} inputs to {} outputs and reports {reported:?} (items, steps) for {sequences} sequences",
                self.config.name(),
                task.input_size(),
                task.classes(),
                if sequences == 2 { "pair of documents" } else { "sequence" },
                if sequences == 2 { ", in two towers: kind two-tower" } else { "" },
                model.num_input(),
                model.num_output(),
            );
        }
        Ok(())
    }

    fn default_batches_per_epoch(&self, batch_size: usize) -> usize {
        (self.data.items(Split::Train) / batch_size).max(1)
    }

    fn train_stream(&self, batch_size: usize, seed: u64) -> Result<Box<dyn TrainStream>> {
        Ok(Box::new(LraStream::new(self.data.clone(), batch_size, self.data.settings().input_dropout, seed)?))
    }

    fn loss(&self, outputs: &[f32], batch: &Batch) -> Result<BatchLoss> {
        classification_loss(outputs, batch, self.data.task.classes())
    }

    fn evaluate(&self, model: &dyn SequenceModel, split: Split) -> Result<Metrics> {
        let n = self.data.items(split);
        if n == 0 {
            bail!("nothing to evaluate: the {} split of {} has no items", split.name(), self.config.name());
        }
        let mut scorer = Scorer::default();
        let picks: Vec<usize> = (0..n).collect();
        for chunk in picks.chunks(EVAL_BATCH) {
            let (x, labels) = self.data.batch(split, chunk)?;
            scorer.score(model, &x, &labels, self.data.task.classes())?;
        }
        scorer.metrics()
    }
}
