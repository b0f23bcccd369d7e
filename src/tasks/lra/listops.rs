//! ListOps (DATASETS.md 3.2): `listops-1000/basic_{train,val,test}.tsv`, a header
//! `Source<TAB>Target`, then one expression and its value (0-9) per line, written by Python's csv
//! writer (CRLF line ends).
//!
//! Tokenisation is LRA's (S4's `listops_tokenizer`): `(` and `)` are deleted, the rest split on
//! whitespace; `]` is a token of its own (LRA renames it `X`). What remains are 15 symbols, and
//! their indices here are fixed: digits 0-9 are 0-9, then `[MIN` 10, `[MAX` 11, `[MED` 12, `[SM`
//! 13, `]` 14. The paper's input is 25 wide; columns 15-24 stay zero.
//!
//! Sequences longer than T = 2,000 are cut to it, as LRA does (the generator makes 501-1,999
//! tokens, so real files have none); the report counts any. A symbol outside the 15, a wrong
//! column count, or a value outside 0-9 is an error naming the file and line.

use super::lines::{at_line, Lines};
use super::locate::{release_folder, required_file};
use super::report::ReadReport;
use super::sequences::LraSplit;
use super::LraTask;
use crate::tasks::Split;
use anyhow::{bail, Result};
use std::borrow::Cow;
use std::path::{Path, PathBuf};

/// The symbols, in index order.
pub const TOKENS: [&str; 15] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "[MIN", "[MAX", "[MED", "[SM", "]"];
pub const VOCAB_SIZE: usize = TOKENS.len();
pub const NUM_CLASSES: usize = 10;
/// Tokens kept per expression (LRA's max_length).
pub const MAX_LEN: usize = 2000;
pub const HEADER: &str = "Source\tTarget";
/// Published split sizes (DATASETS.md 3.2).
pub const SPLIT_SIZES: [usize; 3] = [96_000, 2_000, 2_000];
/// The longest line accepted: a 2,000-token expression with its parentheses is about 12 KB.
const MAX_LINE_BYTES: usize = 1 << 20;

/// The index of one symbol.
pub fn token_index(symbol: &str) -> Option<u8> {
    TOKENS.iter().position(|&t| t == symbol).map(|i| i as u8)
}

/// LRA's tokens of one expression, appended to `out` as indices; at most `max_len` are kept.
/// Returns the number of tokens in the expression (before the cut), or the first symbol outside
/// the vocabulary with its word position.
pub fn tokenize_into(source: &str, max_len: usize, out: &mut Vec<u8>) -> std::result::Result<usize, (usize, String)> {
    let mut count = 0;
    for (word_number, word) in source.split_whitespace().enumerate() {
        // Almost every word is a lone parenthesis or a symbol; only the rare glued form
        // (`(7`) needs a copy.
        let symbol: Cow<str> = if word.contains(['(', ')']) {
            Cow::Owned(word.chars().filter(|&c| c != '(' && c != ')').collect())
        } else {
            Cow::Borrowed(word)
        };
        if symbol.is_empty() {
            continue;
        }
        let index = token_index(&symbol).ok_or_else(|| (word_number + 1, symbol.to_string()))?;
        if count < max_len {
            out.push(index);
        }
        count += 1;
    }
    Ok(count)
}

/// The three files.
#[derive(Clone, Debug)]
pub struct ListOpsFiles {
    pub dir: PathBuf,
    pub train: PathBuf,
    pub val: PathBuf,
    pub test: PathBuf,
}

pub fn locate(data_dir: &Path) -> Result<ListOpsFiles> {
    let dir = release_folder(data_dir, "listops-1000", "ListOps data (listops-1000/)")?;
    let file = |split: &str| required_file(&dir, &format!("basic_{split}.tsv"), "ListOps");
    Ok(ListOpsFiles { train: file("train")?, val: file("val")?, test: file("test")?, dir })
}

/// One ListOps file, read and checked.
pub fn read_split(path: &Path, report: &mut ReadReport) -> Result<LraSplit> {
    let mut lines = Lines::open(path, MAX_LINE_BYTES)?;
    match lines.next_line()? {
        Some((_, HEADER)) => {}
        Some((n, other)) => {
            return Err(at_line(
                path,
                n,
                format_args!("expected the header `Source<TAB>Target`, found {:?}", clip(other)),
            ))
        }
        None => bail!("{}: empty file (expected the header `Source<TAB>Target`)", path.display()),
    }
    let mut split = LraSplit::default();
    while let Some((n, line)) = lines.next_line()? {
        if line.trim().is_empty() {
            report.blank_lines += 1;
            continue;
        }
        let columns: Vec<&str> = line.split('\t').collect();
        let [source, target] = columns[..] else {
            return Err(at_line(
                path,
                n,
                format_args!("{} tab-separated columns, expected 2 (Source, Target)", columns.len()),
            ));
        };
        let label: u8 =
            target.parse().map_err(|_| at_line(path, n, format_args!("Target {target:?} is not an integer")))?;
        if label as usize >= NUM_CLASSES {
            return Err(at_line(path, n, format_args!("Target {label} is not a value 0..9")));
        }
        let mut tokens = 0;
        let mut bad = None;
        split.sequences.push_with(|out| match tokenize_into(source, MAX_LEN, out) {
            Ok(count) => tokens = count,
            Err(e) => bad = Some(e),
        });
        if let Some((word, symbol)) = bad {
            return Err(at_line(
                path,
                n,
                format_args!(
                    "word {word} of Source, {symbol:?}, is not a ListOps symbol (0-9, [MIN, [MAX, [MED, [SM, ])"
                ),
            ));
        }
        if tokens == 0 {
            return Err(at_line(path, n, "Source holds no tokens"));
        }
        report.truncated += (tokens > MAX_LEN) as usize;
        split.labels.push(label);
    }
    split.sequences.shrink_to_fit();
    report.items += split.len();
    Ok(split)
}

/// The three splits.
#[derive(Clone, Debug)]
pub struct ListOps {
    pub train: LraSplit,
    pub val: LraSplit,
    pub test: LraSplit,
    pub report: ReadReport,
}

impl ListOps {
    pub fn read(files: &ListOpsFiles) -> Result<Self> {
        let mut report = ReadReport::default();
        let train = read_split(&files.train, &mut report)?;
        let val = read_split(&files.val, &mut report)?;
        let test = read_split(&files.test, &mut report)?;
        let sizes = [train.len(), val.len(), test.len()];
        if sizes != SPLIT_SIZES {
            report.note(format!(
                "split sizes {sizes:?} differ from the published {SPLIT_SIZES:?} (a subset or a synthetic copy?)"
            ));
        }
        Ok(Self { train, val, test, report })
    }

    /// `locate` then `read`.
    pub fn load(data_dir: &Path) -> Result<Self> {
        Self::read(&locate(data_dir)?)
    }

    pub fn split(&self, split: Split) -> &LraSplit {
        match split {
            Split::Train => &self.train,
            Split::Valid => &self.val,
            Split::Test => &self.test,
        }
    }

    /// The 15 symbols.
    pub fn vocab_size(&self) -> usize {
        VOCAB_SIZE
    }

    pub fn input_size(&self) -> usize {
        LraTask::ListOps.input_size()
    }

    pub fn seq_len(&self) -> usize {
        LraTask::ListOps.seq_len()
    }
}

/// The start of a line, for error messages.
pub(crate) fn clip(text: &str) -> String {
    let (head, cut) = super::vocab::truncate_chars(text, 60);
    if cut {
        format!("{head}...")
    } else {
        head.to_string()
    }
}
