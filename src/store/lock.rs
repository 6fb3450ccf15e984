//! Advisory file locks (`flock` through std's `File::lock`) shared by every backend on one
//! state_dir. The kernel drops them when the holder closes the file or dies, so a crashed
//! editor never leaves a lock behind.

use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

fn open(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(path)
}

/// Waits for the exclusive lock on `path` (created if missing); held until the file is dropped.
pub fn exclusive(path: &Path) -> io::Result<File> {
    let file = open(path)?;
    file.lock()?;
    Ok(file)
}

/// Takes the exclusive lock on `path` if nobody holds it; `None` when another process does.
pub fn try_exclusive(path: &Path) -> io::Result<Option<File>> {
    let file = open(path)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(e)) => Err(e),
    }
}
