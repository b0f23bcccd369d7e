//! Checksum lists that upstream publishes beside its files.
//!
//! SHD's host publishes `md5sums.txt` (lines of `<md5>  <file name>`) next to the archives, and the
//! reference code (spytorch, elmneuron) checks against it at run time (DATASETS.md 2.1). The list
//! is the authority; the md5 pinned in the manifest is the fallback when the list cannot be read
//! (offline, a mirror without it) or does not name the file.

use std::collections::HashMap;

use anyhow::{Context, Result};
use reqwest::blocking::Client;
use reqwest::Url;

use super::manifest::FileEntry;

/// The name of the published md5 list beside the SHD archives.
pub const SHD_MD5_LIST: &str = "md5sums.txt";

/// The URL of the checksum list that applies to `entry` when downloading from `file_url`, if any:
/// for the `shd` dataset, `md5sums.txt` in the same folder (also on a mirror).
pub fn md5_list_url(entry: &FileEntry, file_url: &Url) -> Option<Url> {
    if entry.dataset != "shd" || entry.md5.is_none() {
        return None;
    }
    file_url.join(SHD_MD5_LIST).ok()
}

/// Parses `md5sum` output: `<md5>  <name>` or `<md5> *<name>`, one per line; other lines are
/// ignored. Names are reduced to their last path segment.
pub fn parse_md5_list(text: &str) -> HashMap<String, String> {
    let mut sums = HashMap::new();
    for line in text.lines() {
        let mut parts = line.split_whitespace();
        let (Some(md5), Some(name)) = (parts.next(), parts.next()) else {
            continue;
        };
        let md5 = md5.to_ascii_lowercase();
        if md5.len() != 32 || !md5.bytes().all(|b| b.is_ascii_hexdigit()) {
            continue;
        }
        let name = name.trim_start_matches('*');
        let name = name.rsplit('/').next().unwrap_or(name);
        sums.insert(name.to_string(), md5);
    }
    sums
}

/// Downloads and parses a checksum list (small; one attempt, the client's timeouts apply).
pub fn fetch_md5_list(client: &Client, url: &Url) -> Result<HashMap<String, String>> {
    let response = client.get(url.clone()).send().with_context(|| format!("cannot read {url}"))?;
    let status = response.status();
    if !status.is_success() {
        anyhow::bail!("{url} answered {status}");
    }
    let text = response.text().with_context(|| format!("cannot read {url}"))?;
    Ok(parse_md5_list(&text))
}
