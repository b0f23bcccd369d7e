//! Retrieval (DATASETS.md 3.4): the AAN citation pairs, `tsv_data/new_aan_pairs.{train,eval,
//! test}.tsv`, no header, five tab-separated columns: label, id1, id2, text1, text2. Lines are
//! split on `\t` only and `"` is an ordinary character (LRA reads them with quoting off; the texts
//! hold quotes). The label is printed as `0`/`1` or `0.0`/`1.0` (LRA parses a float): it is read
//! as a number that must be exactly 0 or 1.
//!
//! Each document becomes its first T = 4,000 characters (LRA's max_length per document; S4's
//! l_max 4,000), as indices of the vocabulary built from the training split's documents, so
//! one item is two sequences (`PairSplit`). The vocabulary follows S4's AAN loader: every
//! character of the training documents (S4 sets no minimum count here, unlike Text), most
//! frequent first, plus `<unk>`, at most 105 entries (the paper's input size). S4 reports 98
//! entries with its three specials, so 96 here: the cap does not bind on the real data; were it
//! ever to, the least frequent characters would read as `<unk>` and the report would say so.

use super::lines::{at_line, Lines};
use super::listops::clip;
use super::locate::{release_folder, required_file};
use super::report::ReadReport;
use super::sequences::PairSplit;
use super::vocab::{truncate_chars, CharVocab, FirstSeen, UNK};
use super::LraTask;
use crate::tasks::Split;
use anyhow::Result;
use std::path::{Path, PathBuf};

/// Characters kept per document.
pub const MAX_LEN: usize = 4000;
/// A character joins the vocabulary when the training documents hold it this often (S4: every
/// character).
pub const MIN_COUNT: u64 = 1;
/// Published training size; eval and test (18,090 / 17,437) are unverified (DATASETS.md 3.4).
pub const TRAIN_PAIRS: usize = 147_086;
/// The longest line accepted: two whole papers are far below it.
const MAX_LINE_BYTES: usize = 64 << 20;

#[derive(Clone, Debug)]
pub struct RetrievalFiles {
    pub dir: PathBuf,
    pub train: PathBuf,
    pub eval: PathBuf,
    pub test: PathBuf,
}

pub fn locate(data_dir: &Path) -> Result<RetrievalFiles> {
    let dir = release_folder(data_dir, "tsv_data", "Retrieval (AAN) data (tsv_data/)")?;
    let file = |split: &str| required_file(&dir, &format!("new_aan_pairs.{split}.tsv"), "Retrieval (AAN)");
    Ok(RetrievalFiles { train: file("train")?, eval: file("eval")?, test: file("test")?, dir })
}

/// The label column: a number that is exactly 0 or 1 (`1`, `1.0`).
pub fn parse_label(text: &str) -> std::result::Result<u8, String> {
    let value: f64 = text.parse().map_err(|_| format!("label {text:?} is not a number"))?;
    if value == 0.0 {
        Ok(0)
    } else if value == 1.0 {
        Ok(1)
    } else {
        Err(format!("label {text:?} is not 0 or 1"))
    }
}

/// One AAN file, each document cut to T and encoded by `encode` (which returns how many
/// characters became `<unk>`).
pub fn read_pairs(
    path: &Path,
    report: &mut ReadReport,
    mut encode: impl FnMut(&str, &mut Vec<u8>) -> usize,
) -> Result<PairSplit> {
    let mut lines = Lines::open(path, MAX_LINE_BYTES)?;
    let mut split = PairSplit::default();
    while let Some((n, line)) = lines.next_line()? {
        if line.is_empty() {
            report.blank_lines += 1;
            continue;
        }
        let columns: Vec<&str> = line.split('\t').collect();
        let [label, _id1, _id2, text1, text2] = columns[..] else {
            return Err(at_line(
                path,
                n,
                format_args!(
                    "{} tab-separated columns, expected 5 (label, id1, id2, text1, text2); the line starts {:?}",
                    columns.len(),
                    clip(line)
                ),
            ));
        };
        let label = parse_label(label).map_err(|e| at_line(path, n, e))?;
        for (text, sequences) in [(text1, &mut split.first), (text2, &mut split.second)] {
            let (kept, cut) = truncate_chars(text, MAX_LEN);
            report.truncated += cut as usize;
            sequences.push_with(|out| report.unknown_tokens += encode(kept, out));
        }
        split.labels.push(label);
    }
    split.first.shrink_to_fit();
    split.second.shrink_to_fit();
    Ok(split)
}

#[derive(Clone, Debug)]
pub struct Retrieval {
    pub train: PairSplit,
    pub eval: PairSplit,
    pub test: PairSplit,
    pub vocab: CharVocab,
    pub report: ReadReport,
}

impl Retrieval {
    /// Reads with S4's rule (every training character) capped at the input size 105.
    pub fn read(files: &RetrievalFiles) -> Result<Self> {
        Self::read_with(files, MIN_COUNT, LraTask::Retrieval.input_size())
    }

    pub fn read_with(files: &RetrievalFiles, min_count: u64, max_entries: usize) -> Result<Self> {
        let mut report = ReadReport::default();
        // One pass over the (large) training file counts the characters and writes provisional
        // codes, recoded once the vocabulary is known, so the documents are held once, as bytes;
        // only with more than 256 distinct characters is the file read again.
        let mut first_seen = FirstSeen::new();
        let mut train = read_pairs(&files.train, &mut report, |text, out| {
            first_seen.encode_into(text, out);
            0
        })?;
        let vocab = CharVocab::build(&first_seen.counter(), min_count, max_entries)?;
        match first_seen.recode_table(&vocab) {
            Some(table) => {
                report.unknown_tokens += train.first.recode(&table, UNK) + train.second.recode(&table, UNK);
            }
            None => {
                let mut again = ReadReport::default();
                train = read_pairs(&files.train, &mut again, |text, out| vocab.encode_into(text, out))?;
                report.unknown_tokens += again.unknown_tokens;
            }
        }
        let eval = read_pairs(&files.eval, &mut report, |text, out| vocab.encode_into(text, out))?;
        let test = read_pairs(&files.test, &mut report, |text, out| vocab.encode_into(text, out))?;
        report.items = train.len() + eval.len() + test.len();
        report.note(format!(
            "vocabulary: {} entries (<unk> + {} of the {} characters in the training documents, those seen at least \
             {} times){}",
            vocab.len(),
            vocab.len() - 1,
            vocab.distinct_in_training(),
            vocab.min_count(),
            if vocab.left_out() > 0 {
                format!("; {} more qualified but exceed the cap of {max_entries} and read as <unk>", vocab.left_out())
            } else {
                String::new()
            }
        ));
        if train.len() != TRAIN_PAIRS {
            report.note(format!(
                "train: {} pairs, the real data has {TRAIN_PAIRS} (a subset or a synthetic copy?)",
                train.len()
            ));
        }
        Ok(Self { train, eval, test, vocab, report })
    }

    pub fn load(data_dir: &Path) -> Result<Self> {
        Self::read(&locate(data_dir)?)
    }

    pub fn split(&self, split: Split) -> &PairSplit {
        match split {
            Split::Train => &self.train,
            Split::Valid => &self.eval,
            Split::Test => &self.test,
        }
    }

    pub fn vocab_size(&self) -> usize {
        self.vocab.len()
    }

    pub fn input_size(&self) -> usize {
        LraTask::Retrieval.input_size()
    }

    /// Steps per document.
    pub fn seq_len(&self) -> usize {
        LraTask::Retrieval.seq_len()
    }
}
