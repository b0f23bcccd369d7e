//! Putting a synthetic dataset in place safely, for every generator (`elmbench synth shd|lra`):
//! a dataset root is replaceable only when it is absent, empty, or marked as synthetic by its
//! `SYNTHETIC.json`; a finished staging folder replaces it by renames, the old copy deleted only
//! once the new one is in place.

use anyhow::{bail, Context, Result};
use std::path::Path;

/// The file beside synthetic data that says so (generator, tier, seed, ...).
pub const MARKER: &str = "SYNTHETIC.json";

/// Refuses to replace a root that is not a folder, or holds data without the marker (real data).
pub fn check_replaceable(root: &Path) -> Result<()> {
    if !root.exists() {
        return Ok(());
    }
    if !root.is_dir() {
        bail!("{} exists and is not a folder; refusing to replace it with synthetic data", root.display());
    }
    let has_entries = std::fs::read_dir(root).with_context(|| format!("listing {}", root.display()))?.next().is_some();
    if has_entries && !root.join(MARKER).exists() {
        bail!("{} holds data that elmbench did not synthesize (no {MARKER}); refusing to overwrite it", root.display());
    }
    Ok(())
}

/// Renames the finished staging folder to `root`, moving an earlier synthetic `root` aside first
/// and deleting it only once the new one is in place.
pub fn move_into_place(staging: &Path, root: &Path) -> Result<()> {
    // Checked again: real data may have arrived while we were writing.
    check_replaceable(root)?;
    let old = if root.exists() {
        let old = crate::io::temporary_sibling(root)?;
        std::fs::rename(root, &old).with_context(|| format!("moving the old {} aside", root.display()))?;
        Some(old)
    } else {
        None
    };
    if let Err(e) = std::fs::rename(staging, root) {
        if let Some(old) = &old {
            let _ = std::fs::rename(old, root);
        }
        return Err(e).with_context(|| format!("moving {} to {}", staging.display(), root.display()));
    }
    if let Some(old) = old {
        std::fs::remove_dir_all(&old).with_context(|| format!("removing the old synthetic data {}", old.display()))?;
    }
    Ok(())
}
