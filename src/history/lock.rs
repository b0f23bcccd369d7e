//! An exclusive lock on a history file while it is read, extended and rewritten, so that two
//! recorders at once (two experiments of a nightly recorded in parallel, a nightly and a manual
//! `history record`) cannot lose each other's entries: the read-modify-write happens under an
//! advisory `flock` on `<file>.lock`, and the rewrite itself is atomic (a reader never sees a half
//! file). Where `flock` is not available (non-Unix), only the atomic rewrite protects the file.

use anyhow::{Context, Result};
use std::fs::File;
use std::path::{Path, PathBuf};

/// Held until dropped; the lock file itself stays (removing it would race with a waiter).
pub struct FileLock {
    _file: File,
    pub path: PathBuf,
}

/// Blocks until `<path>.lock` is locked exclusively by this process.
pub fn lock_beside(path: &Path) -> Result<FileLock> {
    let mut name = path.file_name().with_context(|| format!("{} has no file name", path.display()))?.to_os_string();
    name.push(".lock");
    let lock_path = path.with_file_name(name);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("opening lock file {}", lock_path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::io::AsRawFd;
        // SAFETY: the descriptor is open for the lifetime of `file`; flock has no other contract.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
        if rc != 0 {
            return Err(std::io::Error::last_os_error()).with_context(|| format!("locking {}", lock_path.display()));
        }
    }
    Ok(FileLock { _file: file, path: lock_path })
}
