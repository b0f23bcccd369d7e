//! NeuronIO as a task: the official window sampler for training, the official loss (with the
//! burn-in setting), and the official test protocol on whole simulations for validation and
//! test. Files are parsed once and cached (`cache`); each split is read on first use, so a folder
//! with only the test files is enough to evaluate, and a run that diverges never reads the test.

use super::cache::{cache_dir, read_cached};
use super::dataset::{locate, NeuronioSplits};
use super::evaluation::evaluate_shuffled;
use super::{
    neuronio_loss, InputShuffle, NeuronioFile, NeuronioSampler, NeuronioSettings, SamplerConfig, SamplerState,
};
use super::{SIMULATIONS_PER_FILE, SIMULATION_MS};
use crate::metrics::Metrics;
use crate::models::SequenceModel;
use crate::tasks::{Batch, BatchLoss, DataSource, Split, Targets, Task, TaskConfig, TrainStream};
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The official result keys, in the order of `runs.csv`.
pub const METRICS: &[&str] = &[
    "auc",
    "soma_rmse",
    "soma_mae",
    "soma_explained_variance_percent",
    "tp_at_fp_0025",
    "auc_at_fp_0025",
    "tp_at_fp_0100",
    "auc_at_fp_0100",
];

pub struct NeuronioTask {
    config: TaskConfig,
    settings: NeuronioSettings,
    splits: NeuronioSplits,
    cache: PathBuf,
    quiet: bool,
    /// The files of train, valid and test, each read on first use.
    loaded: [Mutex<Option<Arc<Vec<NeuronioFile>>>>; 3],
    /// `task.shuffle_inputs_seed`: the channel order the model sees (made with the first split read).
    shuffle: std::sync::OnceLock<Option<Arc<InputShuffle>>>,
}

fn slot(split: Split) -> usize {
    match split {
        Split::Train => 0,
        Split::Valid => 1,
        Split::Test => 2,
    }
}

fn load_files(paths: &[PathBuf], what: &str, cache: &Path, quiet: bool) -> Result<Vec<NeuronioFile>> {
    let bar = if quiet { ProgressBar::hidden() } else { ProgressBar::new(paths.len() as u64) };
    bar.set_style(ProgressStyle::with_template(&format!(
        "reading {what} files [{{bar:30}}] {{pos}}/{{len}} {{elapsed}}"
    ))?);
    let files = paths
        .par_iter()
        .map(|p| {
            let f = read_cached(p, cache);
            bar.inc(1);
            f
        })
        .collect::<Result<Vec<_>>>();
    bar.finish_and_clear();
    files
}

impl NeuronioTask {
    pub fn open(config: TaskConfig, settings: &NeuronioSettings, data_dir: &Path, quiet: bool) -> Result<Self> {
        let splits = locate(data_dir)?;
        let cache = cache_dir(data_dir);
        Ok(Self {
            config,
            settings: settings.clone(),
            splits,
            cache,
            quiet,
            loaded: Default::default(),
            shuffle: std::sync::OnceLock::new(),
        })
    }

    /// The paths of a split (validation: the first `valid_files`).
    fn paths(&self, split: Split) -> Vec<PathBuf> {
        match split {
            Split::Train => self.splits.train.clone(),
            Split::Valid => self.splits.valid.iter().take(self.settings.valid_files).cloned().collect(),
            Split::Test => self.splits.test.clone(),
        }
    }

    /// A split's files, read (and cached) on first use.
    fn files(&self, split: Split) -> Result<Arc<Vec<NeuronioFile>>> {
        let mut slot = self.loaded[slot(split)]
            .lock()
            .map_err(|_| anyhow::anyhow!("a thread reading the {} files failed", split.name()))?;
        if let Some(files) = slot.as_ref() {
            return Ok(files.clone());
        }
        let paths = self.paths(split);
        if paths.is_empty() {
            let folders = match split {
                Split::Train => "full_ergodic_train_batch_2 to _10",
                Split::Valid => "full_ergodic_train_batch_1",
                Split::Test => "Data_test",
            };
            bail!("no {} files ({folders}, *.p) below {}", split.name(), self.splits.root.display());
        }
        let what = match split {
            Split::Train => "training",
            Split::Valid => "validation",
            Split::Test => "test",
        };
        let files = Arc::new(load_files(&paths, what, &self.cache, self.quiet)?);
        *slot = Some(files.clone());
        Ok(files)
    }

    /// Input channels of the data: those of the first split present (read for it).
    fn channels(&self) -> Result<usize> {
        let split = [Split::Train, Split::Valid, Split::Test]
            .into_iter()
            .find(|s| !self.paths(*s).is_empty())
            .context("no NeuronIO files")?;
        Ok(self.files(split)?.first().map_or(super::NUM_INPUTS, |f| f.num_inputs()))
    }

    fn shuffle(&self) -> Result<Option<Arc<InputShuffle>>> {
        if let Some(s) = self.shuffle.get() {
            return Ok(s.clone());
        }
        let made = match self.settings.shuffle_inputs_seed {
            Some(seed) => Some(Arc::new(InputShuffle::new(self.channels()?, seed))),
            None => None,
        };
        Ok(self.shuffle.get_or_init(|| made).clone())
    }
}

/// The official sampler behind the generic stream (and the channel shuffle, if any).
struct NeuronioStream(NeuronioSampler, Option<Arc<InputShuffle>>);

impl TrainStream for NeuronioStream {
    fn next_batch(&mut self) -> Result<Batch> {
        let mut b = self.0.next_batch();
        if let Some(shuffle) = &self.1 {
            shuffle.apply(&mut b.inputs);
        }
        let mut values = b.spike;
        values.extend(b.soma);
        Ok(Batch { inputs: b.inputs, targets: Targets::Values(values) })
    }
    fn state(&self) -> Result<serde_json::Value> {
        Ok(serde_json::to_value(self.0.state())?)
    }
    fn restore(&mut self, state: &serde_json::Value) -> Result<()> {
        let state: SamplerState = serde_json::from_value(state.clone()).context("the saved NeuronIO sampler state")?;
        self.0.restore(&state)
    }
}

impl Task for NeuronioTask {
    fn config(&self) -> &TaskConfig {
        &self.config
    }

    fn data_source(&self) -> &DataSource {
        &self.splits.source
    }

    fn check_model(&self, model: &dyn SequenceModel) -> Result<()> {
        let inputs = self.channels()?;
        if model.num_input() != inputs || model.num_output() != 2 || !model.readout().is_per_step() {
            bail!(
                "NeuronIO needs a model of {inputs} inputs with a spike and a soma output (num_output = 2) at every step; \
                 this one maps {} inputs to {} outputs with readout {:?}",
                model.num_input(),
                model.num_output(),
                model.readout()
            );
        }
        Ok(())
    }

    fn default_batches_per_epoch(&self, _batch_size: usize) -> usize {
        // The official trainer's epoch, which does not depend on the data size.
        10_000
    }

    fn train_stream(&self, batch_size: usize, seed: u64) -> Result<Box<dyn TrainStream>> {
        let s = &self.settings;
        let per_file = (s.file_load_fraction * (SIMULATIONS_PER_FILE * SIMULATION_MS) as f64
            / (batch_size * s.window) as f64)
            .max(1.0) as usize;
        let config =
            SamplerConfig { batch: batch_size, window: s.window, ignore_start: 500, batches_per_file: per_file, seed };
        Ok(Box::new(NeuronioStream(NeuronioSampler::new(self.files(Split::Train)?, config)?, self.shuffle()?)))
    }

    fn has_split(&self, split: Split) -> bool {
        match split {
            Split::Train => false,
            Split::Valid => !self.splits.valid.is_empty(),
            Split::Test => !self.splits.test.is_empty(),
        }
    }

    fn loss(&self, outputs: &[f32], batch: &Batch) -> Result<BatchLoss> {
        let Targets::Values(values) = &batch.targets else { bail!("NeuronIO batches carry per-step targets") };
        let (b, t) = (batch.inputs.batch, batch.inputs.time);
        if values.len() != 2 * b * t || outputs.len() != 2 * b * t {
            bail!(
                "NeuronIO loss: {} outputs and {} targets for a batch of {b} x {t} steps",
                outputs.len(),
                values.len()
            );
        }
        let (spike, soma) = values.split_at(b * t);
        let (loss, grad) = neuronio_loss(outputs, spike, soma, b, t, self.settings.loss_burn_in);
        Ok(BatchLoss { loss, grad, correct: None })
    }

    fn evaluate(&self, model: &dyn SequenceModel, split: Split) -> Result<Metrics> {
        if split == Split::Train {
            bail!("NeuronIO is evaluated on its validation and test files, not on the training files");
        }
        let (window, burn_in) = (self.settings.window, self.settings.eval_burn_in);
        let files = self.files(split)?;
        let shuffle = self.shuffle()?;
        let m = evaluate_shuffled(model, &files, burn_in, window, shuffle.as_deref())?;
        Ok(Metrics::from([
            ("auc", m.auc),
            ("soma_rmse", m.soma_rmse),
            ("soma_mae", m.soma_mae),
            ("soma_explained_variance_percent", m.soma_explained_variance_percent),
            ("tp_at_fp_0025", m.tp_at_fp_0025),
            ("auc_at_fp_0025", m.auc_at_fp_0025),
            ("tp_at_fp_0100", m.tp_at_fp_0100),
            ("auc_at_fp_0100", m.auc_at_fp_0100),
        ]))
    }
}
