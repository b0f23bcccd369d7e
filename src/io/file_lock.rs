//! An exclusive advisory lock on a file (`flock(2)`), held until the guard is dropped. Slurm
//! array tasks of one experiment finish at unpredictable moments and each re-assembles
//! runs.csv from every run's row: reading the rows and writing the file must be one critical
//! section, or a task that read the rows before another's row landed can write last and lose
//! that row. flock serialises processes (and threads with their own open file) on one host and,
//! through the kernel's NFS client, across the nodes of a cluster's shared file system.

use anyhow::{Context, Result};
use std::fs::{File, OpenOptions};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

pub struct FileLock {
    // Closing the file releases the lock.
    _file: File,
    path: PathBuf,
}

impl FileLock {
    /// Blocks until this process holds the lock on `path` (created if absent; never deleted, as
    /// deleting a lock file while another process waits on it would split the lock in two).
    pub fn exclusive(path: &Path) -> Result<Self> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .with_context(|| format!("opening the lock file {}", path.display()))?;
        loop {
            // SAFETY: flock on a file descriptor this function owns for the call's duration.
            let status = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
            if status == 0 {
                break;
            }
            let error = std::io::Error::last_os_error();
            if error.kind() != std::io::ErrorKind::Interrupted {
                return Err(error).with_context(|| format!("locking {}", path.display()));
            }
        }
        Ok(Self { _file: file, path: path.to_path_buf() })
    }

    /// The lock of a file that is read, changed and rewritten (a history, say): `<path>.lock`.
    pub fn beside(path: &Path) -> Result<Self> {
        let mut name = path.file_name().with_context(|| format!("{} has no file name", path.display()))?.to_os_string();
        name.push(".lock");
        Self::exclusive(&path.with_file_name(name))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}
