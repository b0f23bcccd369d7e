//! Ragged token sequences in two flat arrays (all tokens, one end offset per sequence), so a
//! split of 147,086 document pairs costs its bytes and a few allocations, not one per sequence.

use super::batch::one_hot_batch;
use crate::engine::SparseSequences;
use anyhow::{bail, Result};

/// Token sequences, one `u8` index per step.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sequences {
    tokens: Vec<u8>,
    /// Sequence i is `tokens[ends[i - 1]..ends[i]]` (`0..ends[0]` for the first).
    ends: Vec<usize>,
}

impl Sequences {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one sequence.
    pub fn push(&mut self, tokens: &[u8]) {
        self.tokens.extend_from_slice(tokens);
        self.ends.push(self.tokens.len());
    }

    /// Appends one sequence whose tokens the caller writes into the given buffer (which holds
    /// every earlier sequence's tokens; only appending is allowed).
    pub fn push_with(&mut self, write: impl FnOnce(&mut Vec<u8>)) {
        let before = self.tokens.len();
        write(&mut self.tokens);
        debug_assert!(self.tokens.len() >= before);
        self.ends.push(self.tokens.len());
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Sequence `i` (panics if `i >= len()`, like slice indexing).
    pub fn get(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.tokens[start..self.ends[i]]
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = &[u8]> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// Tokens of all sequences together.
    pub fn total_tokens(&self) -> usize {
        self.tokens.len()
    }

    pub fn max_len(&self) -> usize {
        self.iter().map(<[u8]>::len).max().unwrap_or(0)
    }

    /// Heap bytes held (tokens and offsets, at their capacity).
    pub fn heap_bytes(&self) -> usize {
        self.tokens.capacity() + self.ends.capacity() * std::mem::size_of::<usize>()
    }

    /// Replaces every token t by `table[t]`; returns how many became `unk`.
    pub fn recode(&mut self, table: &[u8; 256], unk: u8) -> usize {
        let mut unknown = 0;
        for t in &mut self.tokens {
            *t = table[*t as usize];
            unknown += (*t == unk) as usize;
        }
        unknown
    }

    /// Gives back capacity the reading left over.
    pub fn shrink_to_fit(&mut self) {
        self.tokens.shrink_to_fit();
        self.ends.shrink_to_fit();
    }
}

/// One split of a single-sequence task: sequence i with class `labels[i]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LraSplit {
    pub sequences: Sequences,
    pub labels: Vec<u8>,
}

impl LraSplit {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The tokens of item `i` (panics if `i >= len()`).
    pub fn tokens(&self, i: usize) -> &[u8] {
        self.sequences.get(i)
    }

    pub fn label(&self, i: usize) -> u8 {
        self.labels[i]
    }

    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// The model input of `items`: batch b is item `items[b]`, left-padded to `time` steps of
    /// `features` one-hot columns (`batch::one_hot_batch`).
    pub fn sparse_batch(&self, items: &[usize], time: usize, features: usize) -> Result<SparseSequences> {
        check_items(items, self.len())?;
        one_hot_batch(items.iter().map(|&i| self.tokens(i)), time, features)
    }

    /// The classes of `items`, in batch order.
    pub fn label_batch(&self, items: &[usize]) -> Result<Vec<u8>> {
        check_items(items, self.len())?;
        Ok(items.iter().map(|&i| self.labels[i]).collect())
    }

    pub fn heap_bytes(&self) -> usize {
        self.sequences.heap_bytes() + self.labels.capacity()
    }
}

/// One split of Retrieval: two documents per item and whether they are linked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PairSplit {
    pub first: Sequences,
    pub second: Sequences,
    pub labels: Vec<u8>,
}

impl PairSplit {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Item `i`'s two documents (panics if `i >= len()`).
    pub fn tokens(&self, i: usize) -> (&[u8], &[u8]) {
        (self.first.get(i), self.second.get(i))
    }

    pub fn label(&self, i: usize) -> u8 {
        self.labels[i]
    }

    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// The two towers' input as one batch of 2B sequences: b < B is item `items[b]`'s first
    /// document, B + b its second, each left-padded to `time` steps.
    pub fn sparse_batch(&self, items: &[usize], time: usize, features: usize) -> Result<SparseSequences> {
        check_items(items, self.len())?;
        let firsts = items.iter().map(|&i| self.first.get(i));
        let seconds = items.iter().map(|&i| self.second.get(i));
        one_hot_batch(firsts.chain(seconds), time, features)
    }

    pub fn label_batch(&self, items: &[usize]) -> Result<Vec<u8>> {
        check_items(items, self.len())?;
        Ok(items.iter().map(|&i| self.labels[i]).collect())
    }

    pub fn heap_bytes(&self) -> usize {
        self.first.heap_bytes() + self.second.heap_bytes() + self.labels.capacity()
    }
}

pub(crate) fn check_items(items: &[usize], len: usize) -> Result<()> {
    match items.iter().find(|&&i| i >= len) {
        Some(&bad) => bail!("item {bad} asked for, but the split has {len} items"),
        None => Ok(()),
    }
}
