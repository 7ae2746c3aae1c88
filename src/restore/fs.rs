//! The file-system operations a restore performs, in one place, so that each
//! can be counted and, for tests and scenarios, made to fail or to crash the
//! process at a chosen step.
//!
//! Every operation that changes the disk is a numbered step. A [`FaultPlan`]
//! can fail the n-th operation of a kind with an OS error, make writes fail
//! with "no space left" after a byte budget, or abort the process at a step,
//! which is how the crash tests reach every point of a restore.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

/// The kinds of operation a fault can target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Operation {
    /// Creating a folder.
    CreateFolder,
    /// Creating a file.
    CreateFile,
    /// Writing file data.
    Write,
    /// Setting permissions or times.
    SetAttributes,
    /// Syncing a file or folder.
    Sync,
    /// Exchanging two trees, or renaming one into place.
    Swap,
    /// Renaming a tree aside (into a snapshot).
    Rename,
    /// Removing a tree.
    Remove,
}

/// One injected failure: the `nth` operation of `operation` (from 1) fails
/// with OS error `errno`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct InjectedFailure {
    /// Which kind of operation.
    pub operation: Operation,
    /// Which occurrence of it, from 1.
    pub nth: u64,
    /// The OS error number it fails with.
    pub errno: i32,
}

/// Faults to inject; the default injects none.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct FaultPlan {
    /// Abort the process when this step (from 1) is about to run.
    pub crash_at_step: Option<u64>,
    /// Failures of single operations.
    #[serde(default)]
    pub failures: Vec<InjectedFailure>,
    /// Writes fail with "no space left on device" once this many bytes have
    /// been written.
    pub space_bytes: Option<u64>,
}

impl FaultPlan {
    /// Reads a plan from the `PUQBACKUP_FAULT` variable, a test switch that
    /// takes a JSON plan such as `{"crash_at_step": 12}`. Unset or empty
    /// means no fault.
    ///
    /// # Errors
    /// When the variable is set but not a plan.
    pub fn from_environment() -> Result<FaultPlan, String> {
        match std::env::var("PUQBACKUP_FAULT") {
            Ok(text) if !text.trim().is_empty() => serde_json::from_str(&text)
                .map_err(|error| format!("PUQBACKUP_FAULT is not a fault plan: {error}")),
            _ => Ok(FaultPlan::default()),
        }
    }
}

/// The file system as a restore sees it. Workers extracting files at the
/// same time share one: steps are counted in the order they happen.
#[derive(Debug, Default)]
pub struct RestoreFs {
    plan: FaultPlan,
    steps: AtomicU64,
    counts: [AtomicU64; 8],
    written: AtomicU64,
    /// The process's umask, when it could be read: the bits the kernel
    /// takes from the mode a file is created with.
    umask: Option<u32>,
}

impl RestoreFs {
    /// A file system with `plan`'s faults.
    pub fn new(plan: FaultPlan) -> RestoreFs {
        RestoreFs {
            plan,
            umask: process_umask(),
            ..RestoreFs::default()
        }
    }

    /// Whether a file created with permission bits `mode` still needs them
    /// set: the umask took some of them, or it could not be read.
    pub fn mode_needs_setting(&self, mode: u32) -> bool {
        self.umask.is_none_or(|umask| mode & 0o777 & umask != 0)
    }

    /// How many steps ran so far.
    pub fn steps(&self) -> u64 {
        self.steps.load(Ordering::SeqCst)
    }

    /// Counts a step of `operation`, crashing or failing it if the plan says
    /// so.
    fn step(&self, operation: Operation) -> io::Result<()> {
        let step = self.steps.fetch_add(1, Ordering::SeqCst) + 1;
        if self.plan.crash_at_step == Some(step) {
            // A crash, as a power cut or `kill -9` would make it: no unwinding,
            // no cleanup.
            std::process::abort();
        }
        let count = self.counts[operation as usize].fetch_add(1, Ordering::SeqCst) + 1;
        for failure in &self.plan.failures {
            if failure.operation == operation && failure.nth == count {
                return Err(io::Error::from_raw_os_error(failure.errno));
            }
        }
        Ok(())
    }

    /// Creates one folder (its parent must exist), private until its mode is
    /// set.
    pub fn create_folder(&self, path: &Path) -> io::Result<()> {
        self.step(Operation::CreateFolder)?;
        fs::DirBuilder::new().mode(0o700).create(path)
    }

    /// Creates a new file for writing, private to its owner; never follows
    /// a symlink and never opens an existing file.
    pub fn create_file(&self, path: &Path) -> io::Result<File> {
        self.create_file_with_mode(path, 0o600)
    }

    /// Creates a new file for writing as [`RestoreFs::create_file`] does,
    /// with permission bits `mode` less the umask (setuid, setgid and sticky
    /// are always cleared). It can be written whatever `mode` says.
    pub fn create_file_with_mode(&self, path: &Path, mode: u32) -> io::Result<File> {
        self.step(Operation::CreateFile)?;
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode & 0o777)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
            .open(path)
    }

    /// Writes all of `bytes` to `file`.
    pub fn write(&self, file: &mut File, bytes: &[u8]) -> io::Result<()> {
        self.step(Operation::Write)?;
        if let Some(budget) = self.plan.space_bytes {
            let length = bytes.len() as u64;
            let fits = self
                .written
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |written| {
                    let total = written.saturating_add(length);
                    (total <= budget).then_some(total)
                });
            if fits.is_err() {
                return Err(io::Error::from_raw_os_error(
                    rustix::io::Errno::NOSPC.raw_os_error(),
                ));
            }
        }
        file.write_all(bytes)
    }

    /// Sets permission bits (setuid, setgid and sticky are always cleared).
    pub fn set_mode(&self, path: &Path, mode: u32) -> io::Result<()> {
        self.step(Operation::SetAttributes)?;
        fs::set_permissions(path, fs::Permissions::from_mode(mode & 0o777))
    }

    /// Sets an open file's permission bits (setuid, setgid and sticky are
    /// always cleared).
    pub fn set_file_mode(&self, file: &File, mode: u32) -> io::Result<()> {
        self.step(Operation::SetAttributes)?;
        file.set_permissions(fs::Permissions::from_mode(mode & 0o777))
    }

    /// Sets a file's modification time.
    pub fn set_modified(&self, file: &File, time: SystemTime) -> io::Result<()> {
        self.step(Operation::SetAttributes)?;
        file.set_modified(time)
    }

    /// Flushes a file to disk.
    pub fn sync_file(&self, file: &File) -> io::Result<()> {
        self.step(Operation::Sync)?;
        file.sync_all()
    }

    /// Starts writing `length` bytes of `file` from `offset` to disk without
    /// waiting, so that the disk works while extraction goes on and the one
    /// sync at the end has little left to do. Not a step: it changes nothing
    /// that a reader or a crash could see, and a failure here is met again
    /// by that sync.
    pub fn start_writeback(&self, file: &File, offset: u64, length: u64) {
        if let Some(length) = std::num::NonZeroU64::new(length) {
            let _ = rustix::fs::fadvise(file, offset, Some(length), rustix::fs::Advice::DontNeed);
        }
    }

    /// Writes what is dirty on the file system that holds `path` to disk
    /// and waits for it, ahead of the sync that counts: like
    /// [`RestoreFs::start_writeback`], not a step, and its failure is met
    /// again by that sync.
    pub fn start_file_system_writeback(&self, path: &Path) {
        if let Ok(folder) = File::open(path) {
            let _ = rustix::fs::syncfs(&folder);
        }
    }

    /// Flushes everything written to the file system that holds `path`:
    /// the data and entries of every file and folder made so far, in one
    /// step rather than one per file.
    pub fn sync_file_system(&self, path: &Path) -> io::Result<()> {
        self.step(Operation::Sync)?;
        let folder = File::open(path)?;
        rustix::fs::syncfs(&folder).map_err(io::Error::from)
    }

    /// Flushes a folder's entries to disk.
    pub fn sync_folder(&self, path: &Path) -> io::Result<()> {
        self.step(Operation::Sync)?;
        File::open(path)?.sync_all()
    }

    /// Exchanges two paths atomically: each then names what the other did.
    pub fn exchange(&self, first: &Path, second: &Path) -> io::Result<()> {
        self.step(Operation::Swap)?;
        rustix::fs::renameat_with(
            rustix::fs::CWD,
            first,
            rustix::fs::CWD,
            second,
            rustix::fs::RenameFlags::EXCHANGE,
        )
        .map_err(io::Error::from)
    }

    /// Renames `from` to `to`, which must not exist, as the swap of a tree
    /// into an empty place.
    pub fn swap_into_place(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.step(Operation::Swap)?;
        rename_noreplace(from, to)
    }

    /// Renames `from` to `to`, which must not exist.
    pub fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.step(Operation::Rename)?;
        rename_noreplace(from, to)
    }

    /// Removes a tree; a missing one is not an error.
    pub fn remove_tree(&self, path: &Path) -> io::Result<()> {
        self.step(Operation::Remove)?;
        match fs::symlink_metadata(path) {
            Ok(metadata) if metadata.is_dir() => fs::remove_dir_all(path),
            Ok(_) => fs::remove_file(path),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// Writes `bytes` to `path` atomically: written to `temporary` (in the
    /// same folder), synced, renamed over the target, and the folder synced.
    pub fn write_atomically(&self, path: &Path, temporary: &Path, bytes: &[u8]) -> io::Result<()> {
        let _ = fs::remove_file(temporary);
        let mut file = self.create_file(temporary)?;
        self.write(&mut file, bytes)?;
        self.sync_file(&file)?;
        drop(file);
        self.step(Operation::Rename)?;
        fs::rename(temporary, path)?;
        if let Some(parent) = path.parent() {
            self.sync_folder(parent)?;
        }
        Ok(())
    }

    /// Removes a file; a missing one is not an error.
    pub fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.step(Operation::Remove)?;
        match fs::remove_file(path) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
            _ => Ok(()),
        }
    }
}

/// The umask, as the kernel reports it in `/proc/self/status`: reading it
/// any other way means setting it, which other threads would see.
fn process_umask() -> Option<u32> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status
        .lines()
        .find_map(|line| line.strip_prefix("Umask:"))?;
    u32::from_str_radix(line.trim(), 8).ok()
}

fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    rustix::fs::renameat_with(
        rustix::fs::CWD,
        from,
        rustix::fs::CWD,
        to,
        rustix::fs::RenameFlags::NOREPLACE,
    )
    .map_err(io::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The n-th operation of the targeted kind fails, and only that one.
    #[test]
    fn injected_failure_hits_the_nth_operation() {
        let folder = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
        let fs = RestoreFs::new(FaultPlan {
            failures: vec![InjectedFailure {
                operation: Operation::CreateFolder,
                nth: 2,
                errno: 13,
            }],
            ..FaultPlan::default()
        });
        assert!(fs.create_folder(&folder.path().join("a")).is_ok());
        let error = fs.create_folder(&folder.path().join("b")).err();
        assert_eq!(error.and_then(|error| error.raw_os_error()), Some(13));
        assert!(fs.create_folder(&folder.path().join("c")).is_ok());
        assert_eq!(fs.steps(), 3);
    }

    /// Writes past the space budget fail as a full disk would.
    #[test]
    fn space_budget_runs_out() {
        let folder = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
        let fs = RestoreFs::new(FaultPlan {
            space_bytes: Some(10),
            ..FaultPlan::default()
        });
        let mut file = fs
            .create_file(&folder.path().join("f"))
            .unwrap_or_else(|error| panic!("{error}"));
        assert!(fs.write(&mut file, b"12345678").is_ok());
        let error = fs.write(&mut file, b"123").err();
        assert_eq!(
            error.and_then(|error| error.raw_os_error()),
            Some(rustix::io::Errno::NOSPC.raw_os_error())
        );
    }
}
