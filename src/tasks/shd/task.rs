//! SHD and SHD-Adding as tasks: the files are read once (and checked), the training file split
//! into training and validation samples with the official numpy draw, training batches streamed
//! as the official iterators draw them, cross-entropy on the model's last output, and accuracy on
//! the validation and test items.

use super::dataset::{locate, ShdFiles};
use super::evaluation::{evaluate, pair_items, EvalSet};
use super::settings::ADDING_PAIR_BATCH;
use super::split::validation_split;
use super::stream::{BatchBuilder, Item, ShdStream};
use super::{Binning, ShdFile, ShdSettings, NUM_CLASSES, NUM_SUMS, NUM_UNITS};
use crate::metrics::Metrics;
use crate::models::SequenceModel;
use crate::tasks::classification::classification_loss;
use crate::tasks::{Batch, BatchLoss, DataSource, Split, Task, TaskConfig, TrainStream};
use anyhow::{bail, Result};
use std::sync::Arc;

/// SHD-Adding's training epoch in the official notebook.
const ADDING_BATCHES_PER_EPOCH: usize = 2000;

pub struct ShdTask {
    config: TaskConfig,
    settings: ShdSettings,
    adding: bool,
    files: ShdFiles,
    train_file: Arc<ShdFile>,
    binning: Binning,
    train_split: Arc<Vec<usize>>,
    valid: EvalSet,
    test: EvalSet,
    /// What `Split::Train` is scored on: the whole training split (SHD) or fixed pairs from it.
    train_eval: EvalSet,
}

impl ShdTask {
    pub fn open(config: TaskConfig, data_dir: &std::path::Path) -> Result<Self> {
        let (settings, adding) = match &config {
            TaskConfig::Shd(s) => (s.clone(), false),
            TaskConfig::ShdAdding(s) => (s.clone(), true),
            TaskConfig::Neuronio(_) => bail!("not an SHD task"),
        };
        let files = locate(data_dir)?;
        let train_file = Arc::new(ShdFile::read(&files.train)?);
        let test_file = Arc::new(ShdFile::read(&files.test)?);
        let (train, valid) = validation_split(train_file.len(), settings.valid_fraction, settings.split_seed)?;
        if train.is_empty() || valid.is_empty() {
            bail!(
                "{}: {} samples leave an empty training or validation split at valid_fraction {}",
                files.train.display(),
                train_file.len(),
                settings.valid_fraction
            );
        }
        let all_test: Vec<usize> = (0..test_file.len()).collect();
        let (valid_items, test_items, train_items) = if adding {
            let pairs = |split: &[usize], batches| pair_items(split, batches, ADDING_PAIR_BATCH, settings.pair_seed);
            (
                pairs(&valid, settings.valid_batches())?,
                pairs(&all_test, settings.test_batches())?,
                pairs(&train, settings.test_batches())?,
            )
        } else {
            let ones = |split: &[usize]| split.iter().map(|&k| Item::One(k)).collect::<Vec<_>>();
            (ones(&valid), ones(&all_test), ones(&train))
        };
        Ok(Self {
            binning: Binning::new(settings.bin_ms)?,
            valid: EvalSet { file: train_file.clone(), items: valid_items },
            test: EvalSet { file: test_file, items: test_items },
            train_eval: EvalSet { file: train_file.clone(), items: train_items },
            train_split: Arc::new(train),
            train_file,
            config,
            settings,
            adding,
            files,
        })
    }

    fn classes(&self) -> usize {
        if self.adding {
            NUM_SUMS
        } else {
            NUM_CLASSES
        }
    }

    /// The items a split is scored on (what `elmbench export` writes).
    pub fn eval_set(&self, split: Split) -> &EvalSet {
        match split {
            Split::Train => &self.train_eval,
            Split::Valid => &self.valid,
            Split::Test => &self.test,
        }
    }

    pub fn binning(&self) -> &Binning {
        &self.binning
    }

    /// The input dropout of evaluation: none, unless `dropout_at_eval` (then drawn from a
    /// generator seeded with `pair_seed`, the same for every evaluation).
    pub fn eval_dropout(&self) -> Option<(f64, u64)> {
        self.settings.dropout_at_eval.then_some((self.settings.input_dropout, self.settings.pair_seed))
    }

    /// Steps of one item as the model sees it.
    pub fn steps(&self) -> usize {
        self.binning.steps() * if self.adding { 2 } else { 1 }
    }
}

impl Task for ShdTask {
    fn config(&self) -> &TaskConfig {
        &self.config
    }

    fn data_source(&self) -> &DataSource {
        &self.files.source
    }

    fn check_model(&self, model: &dyn SequenceModel) -> Result<()> {
        let classes = self.classes();
        if model.num_input() != NUM_UNITS || model.num_output() != classes || model.readout().steps(2) != 1 {
            bail!(
                "{} needs a model of {NUM_UNITS} inputs and {classes} outputs read once per sample (readout \
                 last-step or mean); this one maps {} inputs to {} outputs with readout {:?}",
                self.config.name(),
                model.num_input(),
                model.num_output(),
                model.readout()
            );
        }
        Ok(())
    }

    fn default_batches_per_epoch(&self, batch_size: usize) -> usize {
        if self.adding {
            ADDING_BATCHES_PER_EPOCH
        } else {
            (self.train_split.len() / batch_size).max(1)
        }
    }

    fn train_stream(&self, batch_size: usize, seed: u64) -> Result<Box<dyn TrainStream>> {
        Ok(Box::new(ShdStream::new(
            self.train_file.clone(),
            self.train_split.clone(),
            self.binning.clone(),
            self.adding,
            batch_size,
            self.settings.input_dropout,
            seed,
        )?))
    }

    fn loss(&self, outputs: &[f32], batch: &Batch) -> Result<BatchLoss> {
        classification_loss(outputs, batch, self.classes())
    }

    fn evaluate(&self, model: &dyn SequenceModel, split: Split) -> Result<Metrics> {
        let mut builder = BatchBuilder::new(self.binning.clone());
        evaluate(model, self.eval_set(split), &mut builder, self.classes(), self.eval_dropout())
    }
}
