//! Restoring a backup: the live configuration tree (and the statistics tree,
//! when the backup holds one) replaced by the archive's, all at once or not
//! at all.
//!
//! A restore runs in this order:
//! 1. take the data folder's lock, and recover from any interrupted restore;
//! 2. check the archive as `verify` does, without reading data: readable, a
//!    zip, not empty, a non-empty file list, counts, names, then hazards.
//!    Nothing is written before every check passes;
//! 3. extract into staging folders beside the live trees, each file checked
//!    against its CRC-32, size and SHA-256 as it is written, and synced;
//! 4. swap the staged trees in with atomic exchanges, journaled so that a
//!    crash leaves either every old tree or every new one;
//! 5. keep the old trees as snapshots (one by default) and remove older ones.
//!
//! Any failure before the swap removes the staging folders and leaves the
//! live trees exactly as they were.

pub mod fs;
pub mod plan;
mod stage;
mod swap;

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::catalogue::ApiError;
use crate::format::{FILE_LIST_NAME, Place};
use crate::lock::{DataLock, LockError};
use crate::verify::{Problem, ProblemCode, Severity, VerifyOptions, verify_and_keep};
use crate::zipfile::Layout;
pub use fs::{FaultPlan, InjectedFailure, Operation, RestoreFs};
pub use plan::{RestorePlan, plan_restore};
use stage::StagedTree;
pub use swap::TreePaths;

/// Where and how to restore.
#[derive(Debug, Clone)]
pub struct RestoreOptions {
    /// The live configuration tree.
    pub config_dir: PathBuf,
    /// The live statistics tree; without it, statistics in a backup are
    /// left out.
    pub statistics_dir: Option<PathBuf>,
    /// How many pre-restore snapshots of each tree to keep.
    pub snapshots_to_keep: usize,
    /// The size cap passed to the archive check.
    pub max_size: u64,
    /// Faults to inject, for tests and scenarios.
    pub faults: FaultPlan,
    /// The panel's status when known (the server passes it); a restore runs
    /// only when it is `OK`.
    pub panel_status: Option<String>,
}

impl RestoreOptions {
    /// Options with one snapshot kept, the default size cap and no faults.
    pub fn new(config_dir: impl Into<PathBuf>) -> RestoreOptions {
        RestoreOptions {
            config_dir: config_dir.into(),
            statistics_dir: None,
            snapshots_to_keep: 1,
            max_size: crate::verify::DEFAULT_MAX_SIZE,
            faults: FaultPlan::default(),
            panel_status: None,
        }
    }
}

/// What a restore did.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreOutcome {
    /// Files written into the live trees.
    pub files: u64,
    /// Folders created.
    pub folders: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Whether the statistics tree was replaced.
    pub statistics_restored: bool,
    /// Snapshots of the old trees.
    pub snapshots: Vec<PathBuf>,
    /// What recovery and tidying did or could not do, one line each.
    pub notes: Vec<String>,
}

/// Why a restore did not happen.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    /// The archive failed the check; nothing was written.
    #[error("{}", .0.message)]
    Refused(Problem),
    /// A step failed; the live trees are as they were.
    #[error("{}", .error.with_cause(.detail))]
    Failed {
        /// The documented text.
        error: ApiError,
        /// The path and the cause.
        detail: String,
        /// Whether the archive is to blame (damaged data) rather than the
        /// file system.
        archive_at_fault: bool,
    },
    /// Another restore or a backup holds the lock.
    #[error(transparent)]
    Busy(LockError),
    /// A file-system step outside the documented cases failed.
    #[error("{action}: {source}")]
    Io {
        /// What was being done.
        action: String,
        /// The cause.
        source: std::io::Error,
    },
}

impl RestoreError {
    /// The same error with `text` added to its detail.
    fn with_detail(self, text: String) -> RestoreError {
        match self {
            RestoreError::Failed {
                error,
                detail,
                archive_at_fault,
            } => RestoreError::Failed {
                error,
                detail: detail + &text,
                archive_at_fault,
            },
            RestoreError::Io { action, source } => RestoreError::Io {
                action: action + &text,
                source,
            },
            other => other,
        }
    }

    /// The documented API text of this failure, where one applies.
    pub fn api_error(&self) -> Option<ApiError> {
        match self {
            RestoreError::Refused(problem) => problem.code.api_error(),
            RestoreError::Failed { error, .. } => Some(*error),
            RestoreError::Busy(_) | RestoreError::Io { .. } => None,
        }
    }

    /// Whether the archive is to blame (so the command exits 1, not 2).
    pub fn is_archive_fault(&self) -> bool {
        match self {
            RestoreError::Refused(problem) => problem.code != ProblemCode::Unreadable,
            RestoreError::Failed {
                archive_at_fault, ..
            } => *archive_at_fault,
            RestoreError::Busy(_) | RestoreError::Io { .. } => false,
        }
    }
}

/// The path of the backup called `name` in `folder`.
///
/// # Errors
/// `There is no backup with this name` when `name` is not a plain backup
/// file name (no folder part, ending in `.zip`) or no such file exists.
pub fn find_backup(folder: &Path, name: &str) -> Result<PathBuf, RestoreError> {
    let missing = |detail: String| RestoreError::Failed {
        error: ApiError::NoSuchBackup,
        detail,
        archive_at_fault: false,
    };
    let plain = !name.is_empty()
        && name.ends_with(".zip")
        && !name.starts_with('.')
        && !name.contains(['/', '\\', '\0']);
    if !plain {
        return Err(missing(format!("`{name}` is not a backup name")));
    }
    // A symbolic link is no backup, even one to a file: it could lead the
    // restore anywhere, and the list never shows one.
    let path = folder.join(name);
    match std::fs::symlink_metadata(&path) {
        Ok(metadata) if metadata.is_file() => Ok(path),
        _ => Err(missing(format!("`{name}`"))),
    }
}

/// An archive that passed the check, ready to extract.
pub(crate) struct CheckedArchive {
    pub(crate) file: File,
    pub(crate) layout: Layout,
    pub(crate) hashes: HashMap<String, [u8; 32]>,
    pub(crate) has_statistics: bool,
}

/// Step 2: the archive's check, in the documented order, without reading
/// data.
pub(crate) fn check_archive(archive: &Path, max_size: u64) -> Result<CheckedArchive, RestoreError> {
    let label = archive.display().to_string();
    let file = File::open(archive).map_err(|error| {
        RestoreError::Refused(Problem::new(
            ProblemCode::Unreadable,
            format!("cannot open `{label}`: {error}"),
        ))
    })?;
    let options = VerifyOptions {
        max_size,
        read_data: false,
    };
    let verified = verify_and_keep(&file, &label, &options, &mut |_, _| {});
    if let Some(problem) = verified
        .report
        .problems
        .into_iter()
        .find(|problem| problem.severity == Severity::Error)
    {
        return Err(RestoreError::Refused(problem));
    }

    // The check passed, so the layout and the list read cleanly.
    let refused =
        |detail: String| RestoreError::Refused(Problem::new(ProblemCode::Unreadable, detail));
    let layout = verified
        .layout
        .ok_or_else(|| refused(format!("cannot read `{label}`")))?;
    let list = verified
        .list
        .ok_or_else(|| refused(format!("`{FILE_LIST_NAME}` vanished from `{label}`")))?;
    let hashes = list
        .files
        .into_iter()
        .map(|file| (file.path, file.sha256))
        .collect();
    let has_statistics = layout.entries.iter().any(|entry| {
        entry
            .name()
            .is_some_and(|name| Place::of(name) == Place::Statistics)
    });
    Ok(CheckedArchive {
        file,
        layout,
        hashes,
        has_statistics,
    })
}

/// Takes the lock and brings the trees of `options` back to a whole state
/// after an interrupted restore; answers what it did, one line each. The
/// server runs this at start; every restore runs it first.
///
/// # Errors
/// When the lock is held elsewhere, or a tree cannot be put back.
pub fn recover(options: &RestoreOptions) -> Result<Vec<String>, RestoreError> {
    let fs = RestoreFs::new(options.faults.clone());
    let _lock = lock_for_restore(&options.config_dir)?;
    let (trees, journal) = companions(options)?;
    swap::recover(&trees, &journal, options.snapshots_to_keep, &fs)
}

fn lock_for_restore(config_dir: &Path) -> Result<DataLock, RestoreError> {
    DataLock::take(config_dir, true).map_err(|error| match error {
        LockError::Busy(_) => RestoreError::Busy(error),
        LockError::Io { path, source } => RestoreError::Io {
            action: format!("cannot lock `{}`", path.display()),
            source,
        },
    })
}

/// Every tree's companion paths (configuration first) and the journal's.
fn companions(options: &RestoreOptions) -> Result<(Vec<TreePaths>, PathBuf), RestoreError> {
    let mut trees = vec![TreePaths::of(&options.config_dir)?];
    if let Some(statistics_dir) = &options.statistics_dir {
        trees.push(TreePaths::of(statistics_dir)?);
    }
    Ok((trees, swap::journal_path(&options.config_dir)?))
}

/// Restores `archive` into the trees of `options`.
///
/// # Errors
/// See [`RestoreError`]. Whatever fails, the live trees are either exactly as
/// they were or, once the swap is committed, exactly the archive's.
pub fn restore_archive(
    archive: &Path,
    options: &RestoreOptions,
) -> Result<RestoreOutcome, RestoreError> {
    let fs = RestoreFs::new(options.faults.clone());

    // 0. The panel must be healthy: a restore under a loading panel would
    // race its own start-up.
    if let Some(status) = &options.panel_status
        && status != "OK"
    {
        return Err(RestoreError::Failed {
            error: ApiError::StatusNotOk,
            detail: format!("the status is `{status}`"),
            archive_at_fault: false,
        });
    }

    // 1. The lock, then whatever an interrupted restore left behind.
    let _lock = lock_for_restore(&options.config_dir)?;
    let (all_trees, journal) = companions(options)?;
    let mut notes = swap::recover(&all_trees, &journal, options.snapshots_to_keep, &fs)?;
    let config = all_trees[0].clone();
    let statistics = all_trees.get(1).cloned();

    // 2. The check.
    let checked = check_archive(archive, options.max_size)?;

    // 3. Staging: the configuration, and the statistics when the backup has
    // them and a place for them was given.
    let mut trees = vec![(Place::Config, config)];
    match (&statistics, checked.has_statistics) {
        (Some(paths), true) => trees.push((Place::Statistics, paths.clone())),
        (None, true) => notes.push(
            "the backup holds statistics; without a statistics folder they were left out"
                .to_string(),
        ),
        _ => {}
    }
    let staged: Vec<StagedTree> = trees
        .iter()
        .map(|(place, paths)| StagedTree {
            place: *place,
            staging: paths.staging.clone(),
        })
        .collect();
    let paths: Vec<TreePaths> = trees.iter().map(|(_, paths)| paths.clone()).collect();
    let remove_staging = |fs: &RestoreFs| {
        for tree in &paths {
            let _ = fs.remove_tree(&tree.staging);
        }
    };
    let counts = match stage::stage(
        &checked.file,
        &checked.layout,
        &checked.hashes,
        &staged,
        &fs,
    ) {
        Ok(counts) => counts,
        Err(error) => {
            remove_staging(&fs);
            return Err(error);
        }
    };

    // 4. and 5. The swap, then snapshots.
    // The swap cleans up after itself: on failure the staging folders may
    // hold the old trees, which only the swap (or recovery) may touch.
    let swapped = swap::swap(&paths, &journal, options.snapshots_to_keep, &fs)?;
    notes.extend(swapped.notes);
    Ok(RestoreOutcome {
        files: counts.files,
        folders: counts.folders,
        bytes: counts.bytes,
        statistics_restored: paths.len() > 1,
        snapshots: swapped.snapshots,
        notes,
    })
}
