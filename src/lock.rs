//! One lock per data folder, so that a restore never runs beside another
//! restore or a backup of the same tree.
//!
//! The lock is an advisory `flock` on the folder that holds the live tree (the
//! tree's parent): that folder stays in place while the tree inside it is
//! swapped, and locking it needs no write permission. A restore takes it
//! exclusively, a backup shared; neither waits: a busy lock is refused with a
//! message naming the folder. The lock is released when the value is dropped
//! or the process ends, however it ends.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use rustix::fs::{FlockOperation, flock};

/// Why the lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it.
    #[error("another restore or backup is running on `{0}`")]
    Busy(PathBuf),
    /// The folder cannot be opened.
    #[error("cannot lock `{path}`: {source}")]
    Io {
        /// The folder.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

/// A held lock on a data folder.
#[derive(Debug)]
pub struct DataLock {
    _folder: File,
}

impl DataLock {
    /// Takes the lock on the folder that holds `tree`, exclusively for a
    /// restore, shared for a backup.
    ///
    /// # Errors
    /// [`LockError::Busy`] when another process holds it in a conflicting
    /// way, [`LockError::Io`] when the folder cannot be opened.
    pub fn take(tree: &Path, exclusive: bool) -> Result<DataLock, LockError> {
        let folder = data_folder(tree);
        let handle = File::open(&folder).map_err(|source| LockError::Io {
            path: folder.clone(),
            source,
        })?;
        let operation = if exclusive {
            FlockOperation::NonBlockingLockExclusive
        } else {
            FlockOperation::NonBlockingLockShared
        };
        match flock(&handle, operation) {
            Ok(()) => Ok(DataLock { _folder: handle }),
            Err(rustix::io::Errno::WOULDBLOCK) => Err(LockError::Busy(folder)),
            Err(errno) => Err(LockError::Io {
                path: folder,
                source: errno.into(),
            }),
        }
    }
}

/// The folder that holds `tree`: its parent, or `.` for a bare name.
pub fn data_folder(tree: &Path) -> PathBuf {
    match tree.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An exclusive lock refuses a second one and any shared one, and is free
    /// again once dropped.
    #[test]
    fn exclusive_lock_excludes() {
        let folder = tempfile::tempdir().unwrap();
        let tree = folder.path().join("config");
        let held = DataLock::take(&tree, true).unwrap();
        assert!(matches!(
            DataLock::take(&tree, true),
            Err(LockError::Busy(_))
        ));
        assert!(matches!(
            DataLock::take(&tree, false),
            Err(LockError::Busy(_))
        ));
        drop(held);
        let shared = DataLock::take(&tree, false).unwrap();
        assert!(DataLock::take(&tree, false).is_ok());
        assert!(matches!(
            DataLock::take(&tree, true),
            Err(LockError::Busy(_))
        ));
        drop(shared);
    }
}
