//! Writing files so that a crash never leaves a half file where a good one was: build a
//! temporary sibling, sync it, rename it over the target. Used for checkpoints, results, caches,
//! synthetic datasets and downloads alike.

use anyhow::{Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A hidden name beside `path` for building it before a rename, unique per process and call:
/// threads of one process may build the same target at once (two runs sharing a parse cache, two
/// experiments synthesizing the same data), and each must rename its own complete copy.
pub fn temporary_sibling(path: &Path) -> Result<PathBuf> {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let file_name = path.file_name().with_context(|| format!("{} has no file name", path.display()))?;
    let call = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Ok(path.with_file_name(format!(".{}.tmp-{}-{call}", file_name.to_string_lossy(), std::process::id())))
}

/// Writes `bytes` to a temporary sibling, syncs it, and renames it over `path`.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temporary_sibling(path)?;
    let result = (|| -> Result<()> {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("writing {}", path.display()))
}
