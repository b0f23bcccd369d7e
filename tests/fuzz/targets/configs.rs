//! Configuration text: training configs (TOML, with model sections), experiment files, golden
//! files, the fetch manifest and the fetch lock file.

use super::{files, put, read, repo, Target};
use crate::mutate;
use std::path::Path;

pub fn targets() -> Vec<Target> {
    let text = Some(mutate::text::mutate as mutate::Aware);
    vec![
        Target { name: "train-config", seeds: train_seeds, aware: text, run: train_config },
        Target { name: "experiment", seeds: experiment_seeds, aware: text, run: experiment },
        Target { name: "golden", seeds: golden_seeds, aware: text, run: golden },
        Target { name: "manifest", seeds: manifest_seeds, aware: text, run: manifest },
        Target { name: "lockfile", seeds: lock_seeds, aware: text, run: lockfile },
    ]
}

fn train_seeds() -> Vec<Vec<u8>> {
    files(repo().join("configs"), ".toml")
}

/// Loads and validates the config, [model] section included (finding A: its sizes are checked
/// against models::limits; finding B: train.prefetch is bounded). The model is not built: a
/// valid config may ask for a model up to those limits (1 GiB per tensor), which is not a
/// parser's allocation; models built from weights files are (official-model-config, checkpoint).
fn train_config(bytes: &[u8], dir: &Path) -> anyhow::Result<()> {
    elmbench::train::config::TrainConfig::load(&put(dir, "config.toml", bytes)?, &[])?;
    Ok(())
}

fn experiment_seeds() -> Vec<Vec<u8>> {
    files(repo().join("benchmarks"), ".toml")
}

fn experiment(bytes: &[u8], dir: &Path) -> anyhow::Result<()> {
    elmbench::experiments::spec::ExperimentSpec::load_file(&put(dir, "case.toml", bytes)?)?;
    Ok(())
}

fn golden_seeds() -> Vec<Vec<u8>> {
    files(repo().join("golden"), ".smoke.toml")
}

fn golden(bytes: &[u8], dir: &Path) -> anyhow::Result<()> {
    elmbench::golden::GoldenFile::load(&put(dir, "case.toml", bytes)?)?;
    Ok(())
}

fn manifest_seeds() -> Vec<Vec<u8>> {
    vec![read(repo().join("fetch/datasets.toml"))]
}

fn manifest(bytes: &[u8], _: &Path) -> anyhow::Result<()> {
    elmbench::fetch::manifest::Manifest::parse(std::str::from_utf8(bytes)?, "case.toml")?;
    Ok(())
}

fn lock_seeds() -> Vec<Vec<u8>> {
    let entry = |dataset: &str, name: &str, size: u64, tofu: bool| {
        format!(
            "[[file]]\ndataset = \"{dataset}\"\nname = \"{name}\"\ndest = \"{dataset}\"\nsource = \"https://example.org/{name}\"\n\
             size = {size}\nsha256 = \"{}\"\nmd5 = \"{}\"\nverified_against = \"md5 (published)\"\n\
             trust_on_first_use = {tofu}\noutputs = [\"{name}\", \"extracted\"]\nunpacked = true\n\n",
            "ab".repeat(32),
            "cd".repeat(16)
        )
    };
    vec![format!(
        "# lock\n\n{}{}",
        entry("shd", "shd_train.h5.gz", 130_863_613, false),
        entry("imdb", "aclImdb.tar.gz", 84_125_825, true)
    )
    .into_bytes()]
}

fn lockfile(bytes: &[u8], dir: &Path) -> anyhow::Result<()> {
    put(dir, elmbench::fetch::lockfile::LOCK_FILE_NAME, bytes)?;
    elmbench::fetch::lockfile::LockFile::load(dir)?;
    Ok(())
}
