//! Putting staged trees in place of the live ones, and finishing or undoing
//! a swap that a crash interrupted.
//!
//! Every tree has fixed companions in the folder that holds it, which is on
//! the same file system, so that every move is a rename:
//! - `.<name>.puqbackup-staging`: the new tree while it is written, and the
//!   old tree right after the exchange;
//! - `.<name>.puqbackup-snapshot-<time>`: old trees kept so that a restore can
//!   be undone;
//! - `.<config>.puqbackup-journal`: present only while trees are swapped.
//!
//! The journal makes a swap of two trees (configuration and statistics) all
//! or nothing. It is written, synced, before the first exchange, with phase
//! `swapping` and the inode of each staged tree. Once every exchange is done
//! it is rewritten with phase `committed`; then the old trees become
//! snapshots and the journal is removed. Recovery after a crash reads it: a
//! `swapping` journal is undone (every tree whose live path holds the staged
//! inode is exchanged back), a `committed` one is finished. Without a journal,
//! a staging folder is an unfinished extraction and is removed.

use std::ffi::OsString;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::RestoreError;
use super::fs::RestoreFs;
use crate::catalogue::ApiError;
use crate::lock::data_folder;

const STAGING_SUFFIX: &str = ".puqbackup-staging";
const SNAPSHOT_INFIX: &str = ".puqbackup-snapshot-";
const JOURNAL_SUFFIX: &str = ".puqbackup-journal";

/// The companion paths of one live tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreePaths {
    /// The live tree.
    pub live: PathBuf,
    /// Where the new tree is staged.
    pub staging: PathBuf,
}

impl TreePaths {
    /// The companions of `live`.
    ///
    /// # Errors
    /// When `live` has no file name (such as `/` or `..`).
    pub fn of(live: &Path) -> Result<TreePaths, RestoreError> {
        let name = tree_name(live)?;
        Ok(TreePaths {
            live: live.to_path_buf(),
            staging: data_folder(live).join(hidden(&name, STAGING_SUFFIX)),
        })
    }

    /// The prefix of this tree's snapshot names.
    fn snapshot_prefix(&self) -> OsString {
        let name = self.live.file_name().unwrap_or_default();
        hidden(name, SNAPSHOT_INFIX)
    }

    /// A new snapshot path, named by the current time so that names sort by
    /// age.
    fn new_snapshot(&self) -> PathBuf {
        let stamp = chrono::Local::now().format("%Y%m%dT%H%M%S%.9f").to_string();
        let mut name = self.snapshot_prefix();
        name.push(stamp);
        data_folder(&self.live).join(name)
    }

    /// Existing snapshots, oldest first.
    pub fn snapshots(&self) -> Vec<PathBuf> {
        let prefix = self.snapshot_prefix();
        let prefix = prefix.as_encoded_bytes();
        let mut found: Vec<PathBuf> = std::fs::read_dir(data_folder(&self.live))
            .into_iter()
            .flatten()
            .flatten()
            .filter(|entry| entry.file_name().as_encoded_bytes().starts_with(prefix))
            .map(|entry| entry.path())
            .collect();
        found.sort();
        found
    }
}

/// Where the journal of a restore whose first tree is `config` lives.
pub fn journal_path(config: &Path) -> Result<PathBuf, RestoreError> {
    let name = tree_name(config)?;
    Ok(data_folder(config).join(hidden(&name, JOURNAL_SUFFIX)))
}

fn tree_name(live: &Path) -> Result<OsString, RestoreError> {
    live.file_name()
        .map(OsString::from)
        .ok_or_else(|| RestoreError::Io {
            action: format!(
                "`{}` cannot be restored into: it has no folder name",
                live.display()
            ),
            source: std::io::Error::from(std::io::ErrorKind::InvalidInput),
        })
}

fn hidden(name: &std::ffi::OsStr, suffix: &str) -> OsString {
    let mut text = OsString::from(".");
    text.push(name);
    text.push(suffix);
    text
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Phase {
    Swapping,
    Committed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct JournalTree {
    paths: TreePaths,
    /// Device and inode of the staged tree's folder.
    staged: (u64, u64),
    /// Whether a live tree existed (and so sits in staging after the swap).
    live_existed: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Journal {
    phase: Phase,
    trees: Vec<JournalTree>,
}

/// What the swap left behind.
#[derive(Debug, Default, Clone)]
pub struct SwapResult {
    /// Snapshots made of the old trees.
    pub snapshots: Vec<PathBuf>,
    /// Things worth telling that did not fail the restore.
    pub notes: Vec<String>,
}

fn inode(path: &Path) -> std::io::Result<(u64, u64)> {
    let metadata = std::fs::symlink_metadata(path)?;
    Ok((metadata.dev(), metadata.ino()))
}

fn io_error(action: String) -> impl FnOnce(std::io::Error) -> RestoreError {
    move |source| RestoreError::Io { action, source }
}

/// Swaps every staged tree into place; all of them or none.
///
/// # Errors
/// `Unable to delete old configuration:` when a live tree cannot be moved
/// aside; other errors when the journal cannot be written or the swap cannot
/// be made durable. On any error the swaps already made are undone, and the
/// journal and staging folders are removed, so the live trees are exactly as
/// they were. Only if undoing fails too are the journal and staging folders
/// left for [`recover`], and the message says so.
pub fn swap(
    trees: &[TreePaths],
    journal: &Path,
    keep_snapshots: usize,
    fs: &RestoreFs,
) -> Result<SwapResult, RestoreError> {
    // The journal first, naming what is about to change.
    let mut entries = Vec::new();
    for paths in trees {
        let staged = inode(&paths.staging).map_err(io_error(format!(
            "cannot read `{}`",
            paths.staging.display()
        )))?;
        entries.push(JournalTree {
            paths: paths.clone(),
            staged,
            live_existed: std::fs::symlink_metadata(&paths.live).is_ok(),
        });
    }
    let mut record = Journal {
        phase: Phase::Swapping,
        trees: entries,
    };
    if let Err(error) = write_journal(journal, &record, fs) {
        discard(trees, journal, fs);
        return Err(error);
    }

    // The exchanges, then their durability and the commit record.
    let mut swapped = 0;
    let mut failure = None;
    for tree in &record.trees {
        let result = if tree.live_existed {
            fs.exchange(&tree.paths.staging, &tree.paths.live)
        } else {
            fs.swap_into_place(&tree.paths.staging, &tree.paths.live)
        };
        match result {
            Ok(()) => swapped += 1,
            Err(cause) => {
                failure = Some(RestoreError::Failed {
                    error: ApiError::DeleteOldConfiguration,
                    detail: format!("cannot move `{}` aside: {cause}", tree.paths.live.display()),
                    archive_at_fault: false,
                });
                break;
            }
        }
    }
    let failure = match failure {
        Some(failure) => failure,
        None => {
            let committed = record
                .trees
                .iter()
                .try_for_each(|tree| {
                    let folder = data_folder(&tree.paths.live);
                    fs.sync_folder(&folder)
                        .map_err(io_error(format!("cannot sync `{}`", folder.display())))
                })
                .and_then(|()| {
                    record.phase = Phase::Committed;
                    write_journal(journal, &record, fs)
                });
            match committed {
                // Committed: the new trees are live. The rest only tidies up.
                Ok(()) => return Ok(finish(&record, journal, keep_snapshots, fs)),
                Err(error) => error,
            }
        }
    };

    // Undo the swaps made, newest first.
    for tree in record.trees[..swapped].iter().rev() {
        if let Err(undo) = unswap(tree, fs) {
            return Err(failure.with_detail(format!(
                "; swapping `{}` back failed too: {undo}; `puqbackup recover` will put it back",
                tree.paths.live.display()
            )));
        }
    }
    discard(trees, journal, fs);
    Err(failure)
}

/// Removes the journal (and its temporary file) and the staging folders,
/// which hold only staged trees when this runs.
fn discard(trees: &[TreePaths], journal: &Path, fs: &RestoreFs) {
    let _ = fs.remove_file(&temporary_journal(journal));
    let _ = fs.remove_file(journal);
    for tree in trees {
        let _ = fs.remove_tree(&tree.staging);
    }
}

/// Where the journal is written before it is renamed into place.
fn temporary_journal(journal: &Path) -> PathBuf {
    let mut name = journal.as_os_str().to_os_string();
    name.push(".tmp");
    PathBuf::from(name)
}

fn unswap(tree: &JournalTree, fs: &RestoreFs) -> std::io::Result<()> {
    if tree.live_existed {
        fs.exchange(&tree.paths.staging, &tree.paths.live)
    } else {
        fs.rename(&tree.paths.live, &tree.paths.staging)
    }
}

/// After the commit: old trees become snapshots, the journal goes, and
/// snapshots beyond `keep` are removed, oldest first.
fn finish(record: &Journal, journal: &Path, keep: usize, fs: &RestoreFs) -> SwapResult {
    let mut result = SwapResult::default();
    let mut all_moved = true;
    for tree in &record.trees {
        if !tree.live_existed || std::fs::symlink_metadata(&tree.paths.staging).is_err() {
            continue;
        }
        let snapshot = tree.paths.new_snapshot();
        match fs.rename(&tree.paths.staging, &snapshot) {
            Ok(()) => result.snapshots.push(snapshot),
            Err(error) => {
                all_moved = false;
                result.notes.push(format!(
                    "the old tree stays at `{}` until `puqbackup recover` moves it: {error}",
                    tree.paths.staging.display()
                ));
            }
        }
    }
    // The committed journal stays while an old tree still sits in staging:
    // without it, recovery would take that tree for an unfinished extraction.
    if all_moved && let Err(error) = fs.remove_file(journal) {
        result
            .notes
            .push(format!("cannot remove `{}`: {error}", journal.display()));
    }
    for tree in &record.trees {
        let snapshots = tree.paths.snapshots();
        let excess = snapshots.len().saturating_sub(keep);
        for old in &snapshots[..excess] {
            match fs.remove_tree(old) {
                Ok(()) => {
                    result.snapshots.retain(|kept| kept != old);
                }
                Err(error) => result.notes.push(format!(
                    "cannot remove the old snapshot `{}`: {error}",
                    old.display()
                )),
            }
        }
    }
    result
}

fn write_journal(path: &Path, record: &Journal, fs: &RestoreFs) -> Result<(), RestoreError> {
    let text = serde_json::to_vec_pretty(record).unwrap_or_default();
    fs.write_atomically(path, &temporary_journal(path), &text)
        .map_err(io_error(format!(
            "cannot write the journal `{}`",
            path.display()
        )))
}

/// Brings the trees back to a whole state after a crash: undoes a swap that
/// was not committed, finishes one that was, and removes staging leftovers.
/// Answers what it did, one line each, for the log.
///
/// # Errors
/// When the journal cannot be read or a tree cannot be moved back.
pub fn recover(
    trees: &[TreePaths],
    journal: &Path,
    keep_snapshots: usize,
    fs: &RestoreFs,
) -> Result<Vec<String>, RestoreError> {
    let mut notes = Vec::new();
    let temporary = temporary_journal(journal);
    if std::fs::symlink_metadata(&temporary).is_ok() {
        fs.remove_file(&temporary)
            .map_err(io_error(format!("cannot remove `{}`", temporary.display())))?;
        notes.push(format!(
            "removed the unfinished journal `{}`",
            temporary.display()
        ));
    }

    match std::fs::read(journal) {
        Ok(bytes) => {
            let record: Journal =
                serde_json::from_slice(&bytes).map_err(|error| RestoreError::Io {
                    action: format!("the journal `{}` cannot be read", journal.display()),
                    source: std::io::Error::new(std::io::ErrorKind::InvalidData, error),
                })?;
            match record.phase {
                Phase::Swapping => {
                    let mut undone = false;
                    for tree in record.trees.iter().rev() {
                        let swapped = inode(&tree.paths.live).ok() == Some(tree.staged);
                        if swapped {
                            unswap(tree, fs).map_err(io_error(format!(
                                "cannot swap `{}` back after an interrupted restore",
                                tree.paths.live.display()
                            )))?;
                            notes.push(format!(
                                "undid the interrupted swap of `{}`",
                                tree.paths.live.display()
                            ));
                            undone = true;
                        }
                    }
                    fs.remove_file(journal)
                        .map_err(io_error(format!("cannot remove `{}`", journal.display())))?;
                    if !undone {
                        notes.push(format!(
                            "removed the journal `{}` of an interrupted restore that had swapped nothing",
                            journal.display()
                        ));
                    }
                }
                Phase::Committed => {
                    // A commit record whose trees are not live (undoing after
                    // a failed commit got that far) is treated as no swap.
                    let live = record
                        .trees
                        .iter()
                        .all(|tree| inode(&tree.paths.live).ok() == Some(tree.staged));
                    if live {
                        let result = finish(&record, journal, keep_snapshots, fs);
                        notes.push("finished the tidying of an interrupted restore".to_string());
                        notes.extend(result.notes);
                    } else {
                        fs.remove_file(journal)
                            .map_err(io_error(format!("cannot remove `{}`", journal.display())))?;
                        notes.push(format!(
                            "removed the journal `{}` of a restore that was undone",
                            journal.display()
                        ));
                    }
                }
            }
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(RestoreError::Io {
                action: format!("cannot read the journal `{}`", journal.display()),
                source,
            });
        }
    }

    for tree in trees {
        if std::fs::symlink_metadata(&tree.staging).is_ok() {
            fs.remove_tree(&tree.staging).map_err(io_error(format!(
                "cannot remove the staging leftovers `{}`",
                tree.staging.display()
            )))?;
            notes.push(format!(
                "removed the staging leftovers `{}` of an interrupted restore",
                tree.staging.display()
            ));
        }
    }
    Ok(notes)
}
