//! Character vocabularies built from training text (Text, Retrieval), the way S4 builds them
//! with torchtext's `build_vocab_from_iterator`: count every character of the training documents
//! (as truncated to T), keep those seen at least `min_count` times, most frequent first, ties in
//! code-point order (torchtext sorts by token, then stably by count).
//!
//! Index 0 is `<unk>`, for every character the vocabulary lacks; characters follow from index 1.
//! S4 also reserves `<pad>` and `<eos>`: padding here is an all-zero row (`batch`) and no EOS is
//! appended (the sequence's end is its last step), so neither needs an index.
//!
//! The vocabulary must fit the paper's one-hot width: when more characters qualify than
//! `max_entries - 1`, the least frequent become `<unk>` too, and `left_out()` says how many.

use anyhow::{ensure, Result};
use std::collections::HashMap;

/// The index of `<unk>`.
pub const UNK: u8 = 0;

/// Character counts over training documents.
#[derive(Clone, Debug)]
pub struct CharCounter {
    ascii: [u64; 128],
    other: HashMap<char, u64>,
}

impl Default for CharCounter {
    fn default() -> Self {
        Self { ascii: [0; 128], other: HashMap::new() }
    }
}

impl CharCounter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts the characters of `text`.
    pub fn add(&mut self, text: &str) {
        for c in text.chars() {
            if c.is_ascii() {
                self.ascii[c as usize] += 1;
            } else {
                *self.other.entry(c).or_insert(0) += 1;
            }
        }
    }

    /// (character, count) for every character seen, in code-point order.
    pub fn counts(&self) -> Vec<(char, u64)> {
        let mut out: Vec<(char, u64)> =
            (0u8..128).filter(|&b| self.ascii[b as usize] > 0).map(|b| (b as char, self.ascii[b as usize])).collect();
        let mut other: Vec<(char, u64)> = self.other.iter().map(|(&c, &n)| (c, n)).collect();
        other.sort_unstable();
        out.extend(other);
        out
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CharVocab {
    /// The character of index k + 1, with its training count.
    symbols: Vec<(char, u64)>,
    ascii: [u8; 128],
    other: HashMap<char, u8>,
    min_count: u64,
    /// Characters seen at least `min_count` times that the size cap left out.
    left_out: usize,
    /// Distinct characters seen in training.
    distinct: usize,
}

impl CharVocab {
    /// The vocabulary of `counter`'s characters seen at least `min_count` times, at most
    /// `max_entries` entries with `<unk>` (2..=256, as indices are bytes).
    pub fn build(counter: &CharCounter, min_count: u64, max_entries: usize) -> Result<Self> {
        ensure!(
            (2..=256).contains(&max_entries),
            "a character vocabulary holds 2..=256 entries (<unk> and byte indices), not {max_entries}"
        );
        let counts = counter.counts();
        let distinct = counts.len();
        let mut kept: Vec<(char, u64)> = counts.into_iter().filter(|&(_, n)| n >= min_count.max(1)).collect();
        // Stable: ties stay in code-point order.
        kept.sort_by_key(|&(_, n)| std::cmp::Reverse(n));
        let left_out = kept.len().saturating_sub(max_entries - 1);
        kept.truncate(max_entries - 1);
        let mut ascii = [UNK; 128];
        let mut other = HashMap::new();
        for (k, &(c, _)) in kept.iter().enumerate() {
            let index = (k + 1) as u8;
            if c.is_ascii() {
                ascii[c as usize] = index;
            } else {
                other.insert(c, index);
            }
        }
        Ok(Self { symbols: kept, ascii, other, min_count, left_out, distinct })
    }

    /// Entries, `<unk>` included: the one-hot columns the tokens use.
    pub fn len(&self) -> usize {
        self.symbols.len() + 1
    }

    /// Never empty: `<unk>` is always there.
    pub fn is_empty(&self) -> bool {
        false
    }

    pub fn min_count(&self) -> u64 {
        self.min_count
    }

    /// Characters that qualified but did not fit the size cap (they read as `<unk>`).
    pub fn left_out(&self) -> usize {
        self.left_out
    }

    /// Distinct characters in the training text.
    pub fn distinct_in_training(&self) -> usize {
        self.distinct
    }

    /// The index of `c` (`UNK` when the vocabulary lacks it).
    pub fn index(&self, c: char) -> u8 {
        if c.is_ascii() {
            self.ascii[c as usize]
        } else {
            self.other.get(&c).copied().unwrap_or(UNK)
        }
    }

    /// The character of `index`: `None` for `<unk>` and for indices past the end.
    pub fn symbol(&self, index: u8) -> Option<char> {
        (index as usize).checked_sub(1).and_then(|k| self.symbols.get(k)).map(|&(c, _)| c)
    }

    /// The training count of the character of `index` (`None` for `<unk>`).
    pub fn count(&self, index: u8) -> Option<u64> {
        (index as usize).checked_sub(1).and_then(|k| self.symbols.get(k)).map(|&(_, n)| n)
    }

    /// Entry names in index order: `<unk>`, then the characters.
    pub fn entries(&self) -> Vec<String> {
        std::iter::once("<unk>".to_string()).chain(self.symbols.iter().map(|(c, _)| c.to_string())).collect()
    }

    /// Appends the indices of `text`'s characters to `out`; returns how many were `<unk>`.
    pub fn encode_into(&self, text: &str, out: &mut Vec<u8>) -> usize {
        let mut unknown = 0;
        for c in text.chars() {
            let index = self.index(c);
            unknown += (index == UNK) as usize;
            out.push(index);
        }
        unknown
    }
}

/// Provisional codes for encoding training text in the same pass that counts it: each character
/// gets the next byte the first time it is seen, and `recode_table` maps the codes to vocabulary
/// indices once all counts (and so the vocabulary) are known. With more than 256 distinct
/// characters the codes run out: counting goes on (so the vocabulary is still right) but the
/// tokens written are not usable, and the caller encodes the training text again.
#[derive(Clone, Debug)]
pub struct FirstSeen {
    ascii: [u32; 128],
    other: HashMap<char, u32>,
    /// The character and count of each code.
    chars: Vec<(char, u64)>,
}

impl Default for FirstSeen {
    fn default() -> Self {
        Self { ascii: [u32::MAX; 128], other: HashMap::new(), chars: Vec::new() }
    }
}

impl FirstSeen {
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts `text`'s characters and appends their codes to `out` (only while they fit a byte).
    pub fn encode_into(&mut self, text: &str, out: &mut Vec<u8>) {
        for c in text.chars() {
            let slot = if c.is_ascii() { &mut self.ascii[c as usize] } else { self.other.entry(c).or_insert(u32::MAX) };
            if *slot == u32::MAX {
                *slot = self.chars.len() as u32;
                self.chars.push((c, 0));
            }
            let code = *slot as usize;
            self.chars[code].1 += 1;
            if code < 256 {
                out.push(code as u8);
            }
        }
    }

    /// Whether every character got a byte code (so the tokens written are usable).
    pub fn codes_fit(&self) -> bool {
        self.chars.len() <= 256
    }

    /// The counts, for building the vocabulary.
    pub fn counter(&self) -> CharCounter {
        let mut counter = CharCounter::new();
        for &(c, n) in &self.chars {
            if c.is_ascii() {
                counter.ascii[c as usize] += n;
            } else {
                *counter.other.entry(c).or_insert(0) += n;
            }
        }
        counter
    }

    /// Code -> vocabulary index, for `Sequences::recode`; `None` when the codes did not fit.
    pub fn recode_table(&self, vocab: &CharVocab) -> Option<[u8; 256]> {
        if !self.codes_fit() {
            return None;
        }
        let mut table = [UNK; 256];
        for (code, &(c, _)) in self.chars.iter().enumerate() {
            table[code] = vocab.index(c);
        }
        Some(table)
    }
}

/// `text` cut to its first `max_chars` characters, and whether it was cut.
pub fn truncate_chars(text: &str, max_chars: usize) -> (&str, bool) {
    match text.char_indices().nth(max_chars) {
        Some((byte, _)) => (&text[..byte], true),
        None => (text, false),
    }
}
