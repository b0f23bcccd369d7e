//! Text files read line by line with a bound on each line, so a file without newlines (or a
//! binary one) costs at most the bound, not its size; every problem names the file and line.

use anyhow::{anyhow, Result};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

pub(crate) struct Lines {
    path: PathBuf,
    reader: BufReader<File>,
    max_line_bytes: usize,
    /// 1-based number of the line last returned.
    number: usize,
    buffer: Vec<u8>,
}

/// An error about line `line` of `path`.
pub(crate) fn at_line(path: &Path, line: usize, message: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("{}:{line}: {message}", path.display())
}

impl Lines {
    pub fn open(path: &Path, max_line_bytes: usize) -> Result<Self> {
        let file = File::open(path).map_err(|e| anyhow!("{}: cannot open ({e})", path.display()))?;
        Ok(Self {
            path: path.to_path_buf(),
            reader: BufReader::with_capacity(1 << 16, file),
            max_line_bytes,
            number: 0,
            buffer: Vec::new(),
        })
    }

    /// The next line without its `\n` and one `\r` before it (Python's csv writer ends lines
    /// with CRLF), checked to be UTF-8; `None` at the end of the file. A last line without a
    /// newline is a line; the empty string after a final newline is not.
    pub fn next_line(&mut self) -> Result<Option<(usize, &str)>> {
        self.buffer.clear();
        let limit = self.max_line_bytes as u64 + 2;
        let read = (&mut self.reader)
            .take(limit)
            .read_until(b'\n', &mut self.buffer)
            .map_err(|e| at_line(&self.path, self.number + 1, format_args!("cannot read ({e})")))?;
        if read == 0 {
            return Ok(None);
        }
        self.number += 1;
        if self.buffer.last() == Some(&b'\n') {
            self.buffer.pop();
            if self.buffer.last() == Some(&b'\r') {
                self.buffer.pop();
            }
        }
        if self.buffer.len() > self.max_line_bytes {
            return Err(at_line(
                &self.path,
                self.number,
                format_args!("longer than {} bytes: is this the right file?", self.max_line_bytes),
            ));
        }
        let text = std::str::from_utf8(&self.buffer).map_err(|e| {
            at_line(
                &self.path,
                self.number,
                format_args!("not UTF-8 text (invalid byte at column {})", e.valid_up_to() + 1),
            )
        })?;
        Ok(Some((self.number, text)))
    }
}
