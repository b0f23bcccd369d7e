//! Where datasets live: `--data-dir`, else `$ELMBENCH_DATA`, else `./data` (DESIGN.md section 5).

use std::path::{Path, PathBuf};

/// The environment variable that names the data root when `--data-dir` is not given.
pub const DATA_DIR_ENV: &str = "ELMBENCH_DATA";

/// The data root for a command: the flag wins, then the environment, then `./data`.
pub fn resolve(flag: Option<&Path>) -> PathBuf {
    if let Some(dir) = flag {
        return dir.to_path_buf();
    }
    match std::env::var_os(DATA_DIR_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from("data"),
    }
}
