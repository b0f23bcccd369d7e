//! What reading a task's files did besides reading: items skipped as the reference pipelines skip
//! them, sequences truncated to T, characters outside the vocabulary. Nothing is dropped
//! silently: the caller prints this (`Display`) in its log.

use std::fmt;

/// One item a reference pipeline skips, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// The file or record, as the data names it.
    pub item: String,
    pub reason: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadReport {
    /// Items read into the splits.
    pub items: usize,
    /// Items left out, each named.
    pub skipped: Vec<Skipped>,
    /// Sequences (documents, for Retrieval) cut to the task's T.
    pub truncated: usize,
    /// Empty lines passed over in text files (a trailing newline is not counted).
    pub blank_lines: usize,
    /// Tokens that became `<unk>` (Text, Retrieval), over all splits.
    pub unknown_tokens: usize,
    /// Anything else worth a line in the log.
    pub notes: Vec<String>,
}

impl ReadReport {
    pub fn skipped_count(&self) -> usize {
        self.skipped.len()
    }

    pub fn skip(&mut self, item: impl Into<String>, reason: impl Into<String>) {
        self.skipped.push(Skipped { item: item.into(), reason: reason.into() });
    }

    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }
}

impl fmt::Display for ReadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} items read, {} skipped, {} truncated, {} blank lines, {} tokens <unk>",
            self.items,
            self.skipped.len(),
            self.truncated,
            self.blank_lines,
            self.unknown_tokens
        )?;
        for s in &self.skipped {
            write!(f, "\n  skipped {}: {}", s.item, s.reason)?;
        }
        for note in &self.notes {
            write!(f, "\n  {note}")?;
        }
        Ok(())
    }
}
