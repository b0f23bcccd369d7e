//! The settings of the six LRA tasks (`[task]` with `name = "lra-listops"`, `"lra-text"`, ...).
//! Unset, a task is the paper's: every item of the release, the task's full length T, the images
//! at their own size. A smaller tier declares what it shrinks here, and the table says so.

use super::LraTask;
use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// The most items a split may be asked for (the largest real split, Retrieval's training pairs,
/// has 147,086; Pathfinder's 160,000).
const MAX_ITEMS: usize = 1_000_000;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LraSettings {
    /// Items of each split used; unset means all. A subsample is the first N of a permutation
    /// drawn with `split_seed` (numpy's `default_rng(split_seed).shuffle`), the same in every run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub train_items: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_items: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_items: Option<usize>,
    /// Steps the model sees (per document for Retrieval); unset means the task's T (ListOps
    /// 2,000, Text 4,096, Retrieval 4,000). Longer sequences keep their first `max_length`
    /// tokens, as LRA truncates. Token tasks only: images shrink with `downscale`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_length: Option<usize>,
    /// Pathfinder and Path-X: average the grey levels of `downscale` x `downscale` blocks before
    /// binning (Path-X 128 x 128 becomes 32 x 32 with 4). 1 keeps the images as they are.
    pub downscale: usize,
    /// Seed of Pathfinder's 80/10/10 permutation and of every subsample.
    pub split_seed: u64,
    /// Training input dropout (`crate::tasks::input_dropout`): each token of a training batch is
    /// dropped (its one-hot step zeroed) with this probability; evaluation sees every token. The
    /// rebuttal's Table S7 trains the Pathfinder ELM with dropout without saying where it acts;
    /// the paper's only ELM dropout is this one, on the inputs (SHD, appendix B).
    #[serde(skip_serializing_if = "is_zero")]
    pub input_dropout: f64,
}

fn is_zero(p: &f64) -> bool {
    *p == 0.0
}

impl Default for LraSettings {
    fn default() -> Self {
        Self {
            train_items: None,
            valid_items: None,
            test_items: None,
            max_length: None,
            downscale: 1,
            split_seed: super::pathfinder::SPLIT_SEED,
            input_dropout: 0.0,
        }
    }
}

impl LraSettings {
    pub fn validate(&self, task: LraTask) -> Result<()> {
        if !(0.0..1.0).contains(&self.input_dropout) {
            bail!("task.input_dropout = {} must be within [0, 1)", self.input_dropout);
        }
        for (name, value) in
            [("train_items", self.train_items), ("valid_items", self.valid_items), ("test_items", self.test_items)]
        {
            if let Some(n) = value {
                if n == 0 || n > MAX_ITEMS {
                    bail!("task.{name} = {n} must be within 1..={MAX_ITEMS}");
                }
            }
        }
        let image = matches!(task, LraTask::Image | LraTask::Pathfinder | LraTask::PathX);
        if let Some(length) = self.max_length {
            if image {
                bail!("task.max_length belongs to the token tasks; the image tasks shrink with task.downscale");
            }
            if length == 0 || length > task.seq_len() {
                bail!("task.max_length = {length} must be within 1..={} (the task's T)", task.seq_len());
            }
        }
        let side = match task {
            LraTask::Pathfinder => 32,
            LraTask::PathX => 128,
            _ if self.downscale == 1 => return Ok(()),
            _ => bail!("task.downscale belongs to Pathfinder and Path-X (it is {})", self.downscale),
        };
        if self.downscale == 0 || side % self.downscale != 0 {
            bail!("task.downscale = {} must divide the image side {side}", self.downscale);
        }
        Ok(())
    }

    /// Steps of one sequence as the model sees it (per document for Retrieval).
    pub fn steps(&self, task: LraTask) -> usize {
        match task {
            LraTask::Pathfinder | LraTask::PathX => task.seq_len() / (self.downscale.max(1) * self.downscale.max(1)),
            _ => self.max_length.unwrap_or(task.seq_len()),
        }
    }

    /// How many items of a split of `available` are used.
    pub fn items(&self, split: crate::tasks::Split, available: usize) -> usize {
        use crate::tasks::Split;
        let asked = match split {
            Split::Train => self.train_items,
            Split::Valid => self.valid_items,
            Split::Test => self.test_items,
        };
        asked.map_or(available, |n| n.min(available))
    }
}
