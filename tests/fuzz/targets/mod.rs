//! The parsers under test: one `Target` per entry point that reads outside input, with its
//! seed inputs and its format-aware mutation.

mod configs;
mod data;
mod weights;

use std::path::{Path, PathBuf};

/// Parses one input; the path is the parser's scratch folder.
pub type Parse = fn(&[u8], &Path) -> anyhow::Result<()>;

pub struct Target {
    pub name: &'static str,
    /// Seed inputs (real-format fixtures, or files the project's own writers make).
    pub seeds: fn() -> Vec<Vec<u8>>,
    pub aware: Option<crate::mutate::Aware>,
    /// Parses one input; `dir` is this parser's scratch folder (file-based parsers write the
    /// input there under the name they expect).
    pub run: Parse,
}

pub fn all() -> Vec<Target> {
    let mut all = Vec::new();
    all.extend(weights::targets());
    all.extend(data::targets());
    all.extend(configs::targets());
    all
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(rel: &str) -> PathBuf {
    repo().join("tests/fixtures").join(rel)
}

pub fn read(path: impl AsRef<Path>) -> Vec<u8> {
    let path = path.as_ref();
    std::fs::read(path).unwrap_or_else(|e| panic!("fuzz seed {}: {e}", path.display()))
}

/// Every file under `dir` whose name ends with `suffix`, sorted.
pub fn files(dir: impl AsRef<Path>, suffix: &str) -> Vec<Vec<u8>> {
    let mut paths = Vec::new();
    let mut stack = vec![dir.as_ref().to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("fuzz seeds {}: {e}", d.display())) {
            let path = entry.expect("readable entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.to_string_lossy().ends_with(suffix) {
                paths.push(path);
            }
        }
    }
    paths.sort();
    paths.iter().map(read).collect()
}

/// Writes `bytes` as `dir/name` and returns the path.
pub fn put(dir: &Path, name: &str, bytes: &[u8]) -> anyhow::Result<PathBuf> {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&path, bytes)?;
    Ok(path)
}
