//! Where the LRA files are under the data root.
//!
//! `elmbench fetch` (fetch/datasets.toml) unpacks the LRA release into `<data>/lra/`, CIFAR-10
//! into `<data>/cifar10/` and IMDB into `<data>/imdb/`. The release's tar holds a doubled
//! `lra_release/lra_release/` prefix (S4, S5), and some copies have a single level (DATASETS.md
//! 3.1), so both are searched. The folders are also accepted directly under the data root, and
//! CIFAR-10 and IMDB beside the release in `<data>/lra/` (the shared fixtures' layout), so a
//! hand-made copy is found too.

use anyhow::{bail, Result};
use std::path::{Path, PathBuf};

/// Folders that may hold the release's contents (`listops-1000/`, `tsv_data/`, `pathfinder32/`
/// ...), most specific first.
pub fn release_roots(data_dir: &Path) -> Vec<PathBuf> {
    let lra = data_dir.join("lra");
    vec![
        lra.join("lra_release/lra_release"),
        lra.join("lra_release"),
        lra,
        data_dir.join("lra_release/lra_release"),
        data_dir.join("lra_release"),
        data_dir.to_path_buf(),
    ]
}

/// The first of the release roots that holds `relative` (a folder).
pub fn release_folder(data_dir: &Path, relative: &str, what: &str) -> Result<PathBuf> {
    find_folder(release_roots(data_dir), relative, what, "lra")
}

/// `relative` (a folder) of a dataset fetched on its own into `<data>/<dest>/`.
pub fn dataset_folder(data_dir: &Path, dest: &str, relative: &str, what: &str) -> Result<PathBuf> {
    let roots = vec![data_dir.join(dest), data_dir.to_path_buf(), data_dir.join("lra")];
    find_folder(roots, relative, what, dest)
}

fn find_folder(roots: Vec<PathBuf>, relative: &str, what: &str, fetch: &str) -> Result<PathBuf> {
    let candidates: Vec<PathBuf> = roots.into_iter().map(|r| r.join(relative)).collect();
    if let Some(found) = candidates.iter().find(|c| c.is_dir()) {
        return Ok(found.clone());
    }
    let tried = candidates.iter().map(|c| c.display().to_string()).collect::<Vec<_>>().join(", ");
    bail!("no {what}: none of {tried} is a folder; run `elmbench fetch {fetch}` for the real data")
}

/// `dir/name`, which must be a file.
pub fn required_file(dir: &Path, name: &str, what: &str) -> Result<PathBuf> {
    let path = dir.join(name);
    if !path.is_file() {
        bail!("{what}: {} is missing", path.display());
    }
    Ok(path)
}
