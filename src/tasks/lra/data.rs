//! One LRA task's data, opened for training: the reader's splits (or Pathfinder's index and its
//! seeded split), the items of each split a run uses (all, or a seeded subsample), and the token
//! sequences of a batch as the model sees them (cut to the declared length, images downscaled).
//! Everything stays as `u8` tokens; the one-hot input is made per batch.

use super::pathfinder::{PathfinderIndex, PathfinderSplits, Resolution};
use super::{one_hot_batch, ImageData, ImdbText, ListOps, LraSettings, LraSplit, LraTask, ReadReport, Retrieval};
use crate::engine::numpy_random::NumpyGenerator;
use crate::engine::SparseSequences;
use crate::tasks::{DataSource, Split};
use anyhow::{bail, Context, Result};
use rayon::prelude::*;
use std::path::Path;

/// The splits of a task as its reader gives them. One value per opened task, so the variants'
/// sizes do not matter.
#[allow(clippy::large_enum_variant)]
enum Splits {
    ListOps(ListOps),
    Text(ImdbText),
    Image(ImageData),
    Retrieval(Retrieval),
    Pathfinder(PathfinderIndex, PathfinderSplits),
}

/// The token sequences of a batch: one per item, and for Retrieval the second documents.
pub struct TokenBatch {
    pub first: Vec<Vec<u8>>,
    pub second: Option<Vec<Vec<u8>>>,
    pub labels: Vec<u32>,
}

pub struct LraData {
    pub task: LraTask,
    settings: LraSettings,
    splits: Splits,
    /// Positions into the reader's split (Pathfinder: into the split's index list) of the items
    /// used, per split: train, valid, test.
    used: [Vec<usize>; 3],
    pub report: ReadReport,
    pub source: DataSource,
}

fn slot(split: Split) -> usize {
    match split {
        Split::Train => 0,
        Split::Valid => 1,
        Split::Test => 2,
    }
}

impl LraData {
    pub fn open(task: LraTask, settings: &LraSettings, data_dir: &Path) -> Result<Self> {
        settings.validate(task)?;
        let splits = match task {
            LraTask::ListOps => Splits::ListOps(ListOps::load(data_dir)?),
            LraTask::Text => Splits::Text(ImdbText::load(data_dir)?),
            LraTask::Image => Splits::Image(ImageData::load(data_dir)?),
            LraTask::Retrieval => Splits::Retrieval(Retrieval::load(data_dir)?),
            LraTask::Pathfinder | LraTask::PathX => {
                let resolution = if task == LraTask::PathX { Resolution::Px128 } else { Resolution::Px32 };
                let index = PathfinderIndex::load(data_dir, resolution)?;
                // Membership is the seeded permutation's; within a split the images keep the
                // metadata's order (the stream shuffles anyway), so exports read in file order.
                let mut split = index.splits(settings.split_seed);
                for list in [&mut split.train, &mut split.val, &mut split.test] {
                    list.sort_unstable();
                }
                Splits::Pathfinder(index, split)
            }
        };
        let report = match &splits {
            Splits::ListOps(d) => d.report.clone(),
            Splits::Text(d) => d.report.clone(),
            Splits::Image(d) => d.report.clone(),
            Splits::Retrieval(d) => d.report.clone(),
            Splits::Pathfinder(d, _) => d.report.clone(),
        };
        let mut data = Self {
            task,
            settings: settings.clone(),
            splits,
            used: Default::default(),
            report,
            source: source(task, data_dir)?,
        };
        for split in [Split::Train, Split::Valid, Split::Test] {
            let available = data.available(split);
            let wanted = settings.items(split, available);
            let mut positions: Vec<usize> = (0..available).collect();
            if wanted < available {
                NumpyGenerator::new(settings.split_seed).shuffle(&mut positions);
                positions.truncate(wanted);
                positions.sort_unstable();
            }
            data.used[slot(split)] = positions;
        }
        Ok(data)
    }

    /// Items in the reader's split.
    fn available(&self, split: Split) -> usize {
        match &self.splits {
            Splits::ListOps(d) => d.split(split).len(),
            Splits::Text(d) => d.split(split).len(),
            Splits::Image(d) => d.split(split).len(),
            Splits::Retrieval(d) => d.split(split).len(),
            Splits::Pathfinder(_, s) => s.get(split).len(),
        }
    }

    /// The items of `split` a run uses; a batch names them by their place in this list.
    pub fn items(&self, split: Split) -> usize {
        self.used[slot(split)].len()
    }

    /// Steps per sequence as the model sees them.
    pub fn settings(&self) -> &LraSettings {
        &self.settings
    }

    pub fn steps(&self) -> usize {
        self.settings.steps(self.task)
    }

    pub fn input_size(&self) -> usize {
        self.task.input_size()
    }

    /// Tokens in use (a vocabulary can be smaller than the input size; DATASETS.md 3.7).
    pub fn vocab_size(&self) -> usize {
        match &self.splits {
            Splits::ListOps(d) => d.vocab_size(),
            Splits::Text(d) => d.vocab_size(),
            Splits::Image(d) => d.vocab_size(),
            Splits::Retrieval(d) => d.vocab_size(),
            Splits::Pathfinder(d, _) => d.vocab_size(),
        }
    }

    pub fn is_pairs(&self) -> bool {
        matches!(self.splits, Splits::Retrieval(_))
    }

    /// The token sequences and classes of the items `picks` (places in `items(split)`).
    pub fn tokens(&self, split: Split, picks: &[usize]) -> Result<TokenBatch> {
        let used = &self.used[slot(split)];
        if let Some(&bad) = picks.iter().find(|&&p| p >= used.len()) {
            bail!("item {bad} of the {} split asked for; it has {}", split.name(), used.len());
        }
        let positions: Vec<usize> = picks.iter().map(|&p| used[p]).collect();
        let steps = self.steps();
        let cut = |tokens: &[u8]| tokens[..tokens.len().min(steps)].to_vec();
        let single = |s: &LraSplit| TokenBatch {
            first: positions.iter().map(|&i| cut(s.tokens(i))).collect(),
            second: None,
            labels: positions.iter().map(|&i| s.label(i) as u32).collect(),
        };
        Ok(match &self.splits {
            Splits::ListOps(d) => single(d.split(split)),
            Splits::Text(d) => single(d.split(split)),
            Splits::Image(d) => single(d.split(split)),
            Splits::Retrieval(d) => {
                let s = d.split(split);
                TokenBatch {
                    first: positions.iter().map(|&i| cut(s.tokens(i).0)).collect(),
                    second: Some(positions.iter().map(|&i| cut(s.tokens(i).1)).collect()),
                    labels: positions.iter().map(|&i| s.label(i) as u32).collect(),
                }
            }
            Splits::Pathfinder(index, s) => {
                let images: Vec<usize> = positions.iter().map(|&i| s.get(split)[i]).collect();
                let factor = self.settings.downscale.max(1);
                let side = index.resolution.side();
                let shift = index.resolution.shift();
                let first = images
                    .par_iter()
                    .map(|&i| Ok(bin(&downscale(&index.decode_grey(i)?, side, factor), shift)))
                    .collect::<Result<Vec<_>>>()?;
                TokenBatch { first, second: None, labels: images.iter().map(|&i| index.label(i) as u32).collect() }
            }
        })
    }

    /// The one-hot model input and the classes of `picks`: one left-padded sequence per item,
    /// and for Retrieval the B first documents, then the B second ones (the two towers).
    pub fn batch(&self, split: Split, picks: &[usize]) -> Result<(SparseSequences, Vec<u32>)> {
        let t = self.tokens(split, picks)?;
        let sequences = t.first.iter().chain(t.second.iter().flatten()).map(Vec::as_slice);
        let x = one_hot_batch(sequences, self.steps(), self.input_size())
            .with_context(|| format!("a {} batch of the {} split", self.task.name(), split.name()))?;
        Ok((x, t.labels))
    }
}

/// The mean of every `factor` x `factor` block of a `side` x `side` image, rounded half up.
pub fn downscale(grey: &[u8], side: usize, factor: usize) -> Vec<u8> {
    if factor == 1 {
        return grey.to_vec();
    }
    let small = side / factor;
    let n = (factor * factor) as u32;
    let mut out = Vec::with_capacity(small * small);
    for by in 0..small {
        for bx in 0..small {
            let mut sum = 0u32;
            for y in by * factor..(by + 1) * factor {
                sum +=
                    grey[y * side + bx * factor..y * side + (bx + 1) * factor].iter().map(|&v| v as u32).sum::<u32>();
            }
            out.push(((sum + n / 2) / n) as u8);
        }
    }
    out
}

fn bin(grey: &[u8], shift: u32) -> Vec<u8> {
    grey.iter().map(|&v| v >> shift).collect()
}

fn source(task: LraTask, data_dir: &Path) -> Result<DataSource> {
    folder_source(data_dir, task.folder())
}

/// Real data, or the synthetic surrogate that `<data_dir>/<folder>/SYNTHETIC.json` names.
pub fn folder_source(data_dir: &Path, folder: &str) -> Result<DataSource> {
    let marker = data_dir.join(folder).join(crate::tasks::synthetic_root::MARKER);
    if !marker.exists() {
        return Ok(DataSource::Real);
    }
    let text = std::fs::read_to_string(&marker).with_context(|| format!("reading {}", marker.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{}: not JSON", marker.display()))?;
    let field = |name: &str| value.get(name).cloned().with_context(|| format!("{}: no `{name}`", marker.display()));
    Ok(DataSource::Synthetic {
        generator: serde_json::from_value(field("generator")?)?,
        tier: serde_json::from_value(field("tier")?)?,
        seed: serde_json::from_value(field("seed")?)?,
    })
}
