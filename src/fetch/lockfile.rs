//! `<data dir>/fetch.lock`: what was verified and unpacked, per downloaded file.
//!
//! It pins the sha256 of files whose upstream publishes no checksum (trust on first use: later
//! fetches must match it), and it lets a second fetch of verified data do nothing without reading
//! a 100 GB archive again. It is written atomically (temporary file, then rename).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

pub const LOCK_FILE_NAME: &str = "fetch.lock";

const HEADER: &str = "# Written by `elmbench fetch`: the verified downloads in this data dir.\n\
# sha256 pins files that have no published checksum (trust on first use): later fetches must\n\
# match it. Delete an entry (or this file) to forget it.\n\n";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockEntry {
    pub dataset: String,
    pub name: String,
    pub dest: String,
    /// Where the verified copy came from ("placed by hand" when it was not downloaded).
    pub source: String,
    pub size: u64,
    pub sha256: String,
    pub md5: String,
    /// The upstream md5 list the file matched, when it did (so that `--verify-only`, which stays
    /// offline, checks against the same value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub md5_list: Option<String>,
    /// What the file was checked against, e.g. "md5 (published list ...)" or "trust on first use".
    pub verified_against: String,
    pub trust_on_first_use: bool,
    /// Top-level files and folders the unpack put into `dest` (the file itself for unpack = none).
    #[serde(default)]
    pub outputs: Vec<String>,
    /// All of `outputs` were moved into place.
    #[serde(default)]
    pub unpacked: bool,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LockToml {
    #[serde(default, rename = "file")]
    files: Vec<LockEntry>,
}

#[derive(Debug)]
pub struct LockFile {
    path: PathBuf,
    entries: Vec<LockEntry>,
}

impl LockFile {
    /// Reads `<data_dir>/fetch.lock`, or starts an empty one.
    pub fn load(data_dir: &Path) -> Result<LockFile> {
        let path = data_dir.join(LOCK_FILE_NAME);
        let entries = match std::fs::read_to_string(&path) {
            Ok(text) => {
                let parsed: LockToml = toml::from_str(&text).with_context(|| {
                    format!(
                        "invalid lock file {} (fix or delete it; deleting forgets pinned checksums)",
                        path.display()
                    )
                })?;
                parsed.files
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        Ok(LockFile { path, entries })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn get(&self, dest: &str, name: &str) -> Option<&LockEntry> {
        self.entries.iter().find(|e| e.dest == dest && e.name == name)
    }

    /// Adds or replaces the entry for (dest, name) and saves the file.
    pub fn put(&mut self, entry: LockEntry) -> Result<()> {
        match self.entries.iter_mut().find(|e| e.dest == entry.dest && e.name == entry.name) {
            Some(existing) => *existing = entry,
            None => self.entries.push(entry),
        }
        self.save()
    }

    fn save(&self) -> Result<()> {
        if let Some(parent) = self.path.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
        }
        let body =
            toml::to_string(&LockToml { files: self.entries.clone() }).context("cannot serialise the lock file")?;
        let tmp = self.path.with_extension("lock.tmp");
        std::fs::write(&tmp, format!("{HEADER}{body}")).with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, &self.path).with_context(|| format!("cannot replace {}", self.path.display()))
    }
}
