//! Checksums: computing them (while downloading, or over a file on disk) and comparing them with
//! what the manifest, the upstream list or the lock file expects.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use anyhow::{Context, Result};
use md5::Md5;
use sha2::{Digest, Sha256};

use super::progress;

/// Running sha256 and md5 of a byte stream: both are computed in one pass because the manifest
/// names either (md5 is all some upstreams publish) and the lock file always records sha256.
#[derive(Clone, Default)]
pub struct Hashers {
    sha256: Sha256,
    md5: Md5,
    bytes: u64,
}

/// The finished checksums of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digests {
    pub sha256: String,
    pub md5: String,
    pub size: u64,
}

impl Hashers {
    pub fn new() -> Hashers {
        Hashers::default()
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.sha256.update(bytes);
        self.md5.update(bytes);
        self.bytes += bytes.len() as u64;
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    pub fn finish(self) -> Digests {
        Digests { sha256: hex(&self.sha256.finalize()), md5: hex(&self.md5.finalize()), size: self.bytes }
    }
}

pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Feeds a file into `hashers`, showing a progress bar for large files.
pub fn hash_into(path: &Path, hashers: &mut Hashers, show_progress: bool) -> Result<()> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = progress::bytes_bar(
        show_progress,
        Some(len),
        &format!("checking {}", path.file_name().unwrap_or_default().to_string_lossy()),
    );
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = reader.read(&mut buf).with_context(|| format!("cannot read {}", path.display()))?;
        if n == 0 {
            break;
        }
        hashers.update(&buf[..n]);
        bar.inc(n as u64);
    }
    bar.finish_and_clear();
    Ok(())
}

/// The checksums of a whole file.
pub fn hash_file(path: &Path, show_progress: bool) -> Result<Digests> {
    let mut hashers = Hashers::new();
    hash_into(path, &mut hashers, show_progress)?;
    Ok(hashers.finish())
}

/// Where an expected checksum comes from, for messages and the lock file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Manifest,
    /// An upstream checksum list, e.g. zenkelab's md5sums.txt.
    PublishedList(String),
    /// Pinned in the lock file by an earlier verified download.
    LockFile,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Manifest => write!(f, "manifest"),
            Source::PublishedList(url) => write!(f, "published list {url}"),
            Source::LockFile => write!(f, "fetch.lock, trust on first use"),
        }
    }
}

/// Everything a file must match. With no checksum at all the file is trusted on first use.
#[derive(Debug, Clone, Default)]
pub struct Expected {
    pub sha256: Option<(String, Source)>,
    pub md5: Option<(String, Source)>,
    pub size: Option<u64>,
}

impl Expected {
    pub fn has_checksum(&self) -> bool {
        self.sha256.is_some() || self.md5.is_some()
    }
}

/// Compares `actual` with `expected`. The error names the file and, for each failing check, the
/// expected and the actual value.
pub fn check(label: &str, expected: &Expected, actual: &Digests) -> Result<Vec<String>> {
    let mut matched = Vec::new();
    let mut failures = Vec::new();
    if let Some(size) = expected.size {
        if size == actual.size {
            matched.push(format!("size {size} bytes"));
        } else {
            failures.push(format!("size: expected {size} bytes (manifest), got {} bytes", actual.size));
        }
    }
    for (algorithm, want, got) in [("sha256", &expected.sha256, &actual.sha256), ("md5", &expected.md5, &actual.md5)] {
        if let Some((want, source)) = want {
            if want == got {
                matched.push(format!("{algorithm} {want} ({source})"));
            } else {
                failures.push(format!("{algorithm}: expected {want} ({source}), got {got}"));
            }
        }
    }
    if failures.is_empty() {
        Ok(matched)
    } else {
        anyhow::bail!(
            "{label} failed verification:\n  {}\n  (sha256 of the file checked: {})",
            failures.join("\n  "),
            actual.sha256
        )
    }
}
