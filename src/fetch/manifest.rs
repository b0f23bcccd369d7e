//! The dataset manifest (`fetch/datasets.toml`): one `[[file]]` table per archive.
//!
//! The schema is a user-facing format (people write their own for private mirrors), so its keys are
//! fixed and unknown keys are an error that names the key and the manifest file.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Deserialize;

/// The manifest that ships with elmbench, compiled into the binary so that `elmbench fetch` works
/// from any directory.
pub const BUILTIN_MANIFEST: &str = include_str!("../../fetch/datasets.toml");

/// How a downloaded file becomes the files the loaders read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Unpack {
    /// The download is used as it is.
    #[serde(rename = "none")]
    None,
    /// A gzip of a single file: `x.gz` becomes `x`.
    #[serde(rename = "gunzip")]
    Gunzip,
    /// A zip archive.
    #[serde(rename = "zip")]
    Zip,
    /// A gzipped tar, whatever the file name says (the LRA release is `lra_release.gz`).
    #[serde(rename = "tar.gz")]
    TarGz,
}

impl Unpack {
    pub fn as_str(self) -> &'static str {
        match self {
            Unpack::None => "none",
            Unpack::Gunzip => "gunzip",
            Unpack::Zip => "zip",
            Unpack::TarGz => "tar.gz",
        }
    }
}

/// One downloadable file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// The name given to `elmbench fetch`.
    pub dataset: String,
    pub url: String,
    /// The downloaded file's name (also its name in a `--mirror`).
    pub name: String,
    /// Bytes; absent or 0 means unknown.
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default)]
    pub sha256: Option<String>,
    #[serde(default)]
    pub md5: Option<String>,
    pub unpack: Unpack,
    /// Folder under the data dir that receives the download and what it unpacks to.
    pub dest: String,
    #[serde(default)]
    pub licence: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

impl FileEntry {
    /// The expected size, treating the template's `size = 0` as "unknown".
    pub fn known_size(&self) -> Option<u64> {
        self.size.filter(|&s| s > 0)
    }

    /// No checksum is published upstream: the first verified download is trusted and pinned.
    pub fn is_trust_on_first_use(&self) -> bool {
        self.sha256.is_none() && self.md5.is_none()
    }

    /// The URL to download from: the manifest's, or `<mirror>/<name>` when a mirror is given.
    pub fn effective_url(&self, mirror: Option<&str>) -> String {
        match mirror {
            Some(base) => format!("{}/{}", base.trim_end_matches('/'), self.name),
            None => self.url.clone(),
        }
    }

    /// The destination folder as a relative path (validated when the manifest was loaded).
    pub fn dest_path(&self) -> PathBuf {
        PathBuf::from(&self.dest)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestToml {
    #[serde(default, rename = "file")]
    files: Vec<FileEntry>,
}

/// A parsed and validated manifest, with where it came from (for messages).
#[derive(Debug, Clone)]
pub struct Manifest {
    pub origin: String,
    pub files: Vec<FileEntry>,
}

impl Manifest {
    /// The manifest compiled into the binary.
    pub fn builtin() -> Result<Manifest> {
        Manifest::parse(BUILTIN_MANIFEST, "fetch/datasets.toml (built in)")
    }

    /// A manifest file given with `--manifest`.
    pub fn load(path: &Path) -> Result<Manifest> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read manifest {}", path.display()))?;
        Manifest::parse(&text, &path.display().to_string())
    }

    /// Parses and validates manifest text; `origin` names the manifest in every error.
    pub fn parse(text: &str, origin: &str) -> Result<Manifest> {
        let parsed: ManifestToml = toml::from_str(text).with_context(|| format!("invalid manifest {origin}"))?;
        let mut files = parsed.files;
        let mut seen = BTreeSet::new();
        for (index, entry) in files.iter_mut().enumerate() {
            validate_entry(entry).with_context(|| format!("manifest {origin}: [[file]] number {}", index + 1))?;
            if !seen.insert((entry.dest.clone(), entry.name.clone())) {
                bail!("manifest {origin}: two [[file]] tables download `{}` into `{}`", entry.name, entry.dest);
            }
        }
        Ok(Manifest { origin: origin.to_string(), files })
    }

    /// Dataset names in manifest order, without repeats.
    pub fn dataset_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for entry in &self.files {
            if !names.contains(&entry.dataset) {
                names.push(entry.dataset.clone());
            }
        }
        names
    }

    /// The entries of the requested datasets (`all` means every dataset), in manifest order.
    pub fn select(&self, datasets: &[String]) -> Result<Vec<&FileEntry>> {
        if datasets.is_empty() {
            bail!(
                "name at least one dataset to fetch; the manifest {} has: {}, or `all`",
                self.origin,
                self.dataset_names().join(", ")
            );
        }
        let known = self.dataset_names();
        for wanted in datasets {
            if wanted != "all" && !known.contains(wanted) {
                bail!("unknown dataset `{wanted}`; the manifest {} has: {}, or `all`", self.origin, known.join(", "));
            }
        }
        let everything = datasets.iter().any(|d| d == "all");
        Ok(self.files.iter().filter(|e| everything || datasets.contains(&e.dataset)).collect())
    }
}

fn validate_entry(entry: &mut FileEntry) -> Result<()> {
    if entry.dataset.trim().is_empty() {
        bail!("`dataset` is empty");
    }
    let url = reqwest::Url::parse(&entry.url).with_context(|| format!("`url` {:?} is not a valid URL", entry.url))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        bail!("`url` {} must be http or https", entry.url);
    }
    let name_ok = !entry.name.is_empty()
        && entry.name != "."
        && entry.name != ".."
        && !entry.name.contains(['/', '\\'])
        && !entry.name.starts_with('.');
    if !name_ok {
        bail!("`name` {:?} must be a plain file name (no folders, not hidden)", entry.name);
    }
    if entry.name.ends_with(".part") {
        bail!("`name` {:?} must not end in .part (used for downloads in progress)", entry.name);
    }
    let dest = Path::new(&entry.dest);
    let dest_ok =
        !entry.dest.is_empty() && dest.components().all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if !dest_ok {
        bail!("`dest` {:?} must be a relative folder inside the data dir (no `..`, not absolute)", entry.dest);
    }
    if entry.unpack == Unpack::Gunzip && !entry.name.ends_with(".gz") {
        bail!("`unpack = \"gunzip\"` needs a `name` ending in .gz, got {:?}", entry.name);
    }
    entry.sha256 = normalise_hex(entry.sha256.take(), "sha256", 64)?;
    entry.md5 = normalise_hex(entry.md5.take(), "md5", 32)?;
    Ok(())
}

fn normalise_hex(value: Option<String>, key: &str, len: usize) -> Result<Option<String>> {
    let Some(value) = value else { return Ok(None) };
    let lower = value.trim().to_ascii_lowercase();
    if lower.len() != len || !lower.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("`{key}` {value:?} is not {len} hexadecimal digits");
    }
    Ok(Some(lower))
}
