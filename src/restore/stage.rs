//! Extracting a checked archive into staging folders beside the live trees.
//!
//! Every file is created new (never opened if it exists, never through a
//! symlink) with its mode, less setuid, setgid and sticky bits and others'
//! write permission (a configuration any local user could change would be
//! theirs to run); it is written as it is inflated and checked against its
//! CRC-32, size and the SHA-256 in the list. The staging folders stay
//! private until every file is written, so no one else reaches a file
//! before it is checked. Files are written on every core. Folders get their
//! modes last, deepest first, so that a read-only folder does not stop its
//! own content from being written. Then each staging tree's file system is
//! synced once: one sync per file would cost a journal commit each, and the
//! guarantee is only that everything is on disk before the swap.

use std::collections::HashMap;
use std::collections::hash_map::Entry as Slot;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use chrono::{Local, NaiveDate, TimeZone};

use super::RestoreError;
use super::fs::RestoreFs;
use crate::catalogue::ApiError;
use crate::format::Place;
use crate::zipfile::dostime::DosTime;
use crate::zipfile::extra::{EXTENDED_TIMESTAMP_ID, ExtraFields};
use crate::zipfile::parallel::{for_each_entry, worker_count};
use crate::zipfile::{Entry, EntryKind, EntryReadError, EntryReader, Layout, ReadAt, hex};

/// How much of a file is written before its writeback is started.
const WRITEBACK_STRIDE: u64 = 8 << 20;

/// A tree being staged: the archive's top folder and where it goes.
#[derive(Debug, Clone)]
pub struct StagedTree {
    /// `config` or `statistics`.
    pub place: Place,
    /// The staging folder.
    pub staging: PathBuf,
}

/// What staging wrote.
#[derive(Debug, Default, Clone, Copy)]
pub struct StageCounts {
    /// Files written.
    pub files: u64,
    /// Folders created.
    pub folders: u64,
    /// Bytes written.
    pub bytes: u64,
}

/// Extracts every entry of `trees`' places into their staging folders, which
/// must not exist yet.
///
/// Folders are made first, in entry order; then the files are written on
/// every core; then folders get their modes, and one sync of each staging
/// tree's file system puts everything on disk before anything is swapped.
///
/// # Errors
/// `Failed to create folder:`, `Failed to create file:` or `Failed to unzip
/// file:` with the path and the cause. The staging folders may hold part of
/// the tree afterwards; the caller removes them.
pub fn stage(
    archive: &File,
    layout: &Layout,
    hashes: &HashMap<String, [u8; 32]>,
    trees: &[StagedTree],
    fs: &RestoreFs,
) -> Result<StageCounts, RestoreError> {
    let mut counts = StageCounts::default();
    let mut folder_modes: Vec<(PathBuf, u32)> = Vec::new();
    let mut made = Made::default();

    for tree in trees {
        fs.create_folder(&tree.staging)
            .map_err(|error| failed(ApiError::CreateFolder, &tree.staging, error, false))?;
        made.folders.push(tree.staging.clone());
        made.kinds.insert(tree.staging.clone(), MadeKind::Folder);
        // The tree's own mode when the archive has no entry for its folder.
        folder_modes.push((tree.staging.clone(), 0o755));
    }

    // Folders, in entry order; each file's place is claimed as it comes, so
    // that a file and a folder of the same name fail as they would one by
    // one.
    let mut files: Vec<PlannedFile<'_>> = Vec::new();
    // The folder of the file before, as its name has it (the top folder
    // names the tree): files of one folder usually follow each other, and
    // once a folder is made, a file after it can fail only on its own name.
    let mut last_folder: Option<&str> = None;
    for entry in &layout.entries {
        let Some(name) = entry.name() else { continue };
        let Some(tree) = trees.iter().find(|tree| tree.place == Place::of(name)) else {
            continue;
        };
        let relative = relative_path(name);
        let target = tree.staging.join(&relative);
        let mode = entry.unix_mode().map(restored_mode);

        match entry.kind() {
            EntryKind::Directory => {
                made.ensure_folders(&tree.staging, &relative, fs)?;
                folder_modes.push((target, mode.unwrap_or(0o755)));
            }
            EntryKind::File => {
                let folder = name.rsplit_once('/').map_or("", |(folder, _)| folder);
                if last_folder != Some(folder) {
                    if let Some(parent) = relative.parent() {
                        made.ensure_folders(&tree.staging, parent, fs)?;
                    }
                    last_folder = Some(folder);
                }
                match made.kinds.entry(target.clone()) {
                    Slot::Occupied(_) => {
                        let exists = std::io::Error::from_raw_os_error(
                            rustix::io::Errno::EXIST.raw_os_error(),
                        );
                        return Err(failed(ApiError::CreateFile, &target, exists, false));
                    }
                    Slot::Vacant(slot) => {
                        slot.insert(MadeKind::File);
                    }
                }
                files.push(PlannedFile {
                    index: entry.index,
                    name,
                    target,
                    mode: mode.unwrap_or(0o644),
                    expected: hashes.get(name).copied(),
                });
            }
            // The pre-check refuses symlinks and special files; nothing
            // else reaches this point.
            EntryKind::Symlink | EntryKind::Special => {
                return Err(RestoreError::Failed {
                    error: ApiError::Unzip,
                    detail: format!("`{name}` is not a regular file or folder"),
                    archive_at_fault: true,
                });
            }
        }
    }

    // The files, on every core.
    let selected: Vec<usize> = files.iter().map(|file| file.index).collect();
    let mut plan_of: Vec<Option<&PlannedFile<'_>>> = vec![None; layout.entries.len()];
    for file in &files {
        if let Some(slot) = plan_of.get_mut(file.index) {
            *slot = Some(file);
        }
    }
    let sizes = for_each_entry(
        archive,
        layout,
        &selected,
        worker_count(),
        |reader, source, entry| match plan_of.get(entry.index).copied().flatten() {
            Some(file) => extract_file(reader, source, entry, file, fs),
            None => Ok(0),
        },
        // Meanwhile the disk catches up with what is written, so that the
        // sync after the last file has little left to do.
        &mut || {
            for tree in trees {
                fs.start_file_system_writeback(&tree.staging);
            }
        },
        &|_| false,
    )
    .map_err(|(_, error)| error)?;
    for size in sizes.into_iter().flatten() {
        counts.bytes += size;
        counts.files += 1;
    }

    // Folder modes deepest first, then everything on disk before the swap.
    folder_modes.sort_by_key(|(path, _)| std::cmp::Reverse(path.components().count()));
    for (path, mode) in &folder_modes {
        fs.set_mode(path, *mode)
            .map_err(|error| failed(ApiError::CreateFolder, path, error, false))?;
    }
    for tree in trees {
        fs.sync_file_system(&tree.staging)
            .map_err(|error| failed(ApiError::CreateFolder, &tree.staging, error, false))?;
    }
    counts.folders = made.folders.len() as u64;
    Ok(counts)
}

/// A file to extract: its entry, where it goes and what it must be.
struct PlannedFile<'a> {
    index: usize,
    name: &'a str,
    target: PathBuf,
    mode: u32,
    expected: Option<[u8; 32]>,
}

/// What staging made so far. The staging folders are new, so this is all
/// they hold.
#[derive(Default)]
struct Made {
    kinds: HashMap<PathBuf, MadeKind>,
    folders: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MadeKind {
    Folder,
    File,
}

impl Made {
    /// Creates each missing folder of `relative` under `root`.
    fn ensure_folders(
        &mut self,
        root: &Path,
        relative: &Path,
        fs: &RestoreFs,
    ) -> Result<(), RestoreError> {
        let mut path = root.to_path_buf();
        for component in relative.components() {
            path.push(component);
            match self.kinds.get(&path) {
                Some(MadeKind::Folder) => {}
                Some(MadeKind::File) => {
                    return Err(RestoreError::Failed {
                        error: ApiError::CreateFolder,
                        detail: format!("`{}`: a file of that name is in the way", path.display()),
                        archive_at_fault: true,
                    });
                }
                None => {
                    fs.create_folder(&path)
                        .map_err(|error| failed(ApiError::CreateFolder, &path, error, false))?;
                    self.kinds.insert(path.clone(), MadeKind::Folder);
                    self.folders.push(path.clone());
                }
            }
        }
        Ok(())
    }
}

/// The mode a restored entry gets from the mode in its archive: the
/// permission bits, less others' write permission. Setuid, setgid and
/// sticky bits are never set.
fn restored_mode(archived: u32) -> u32 {
    archived & 0o775
}

/// `config/a/b` → `a/b`; `config/` → ``.
fn relative_path(name: &str) -> PathBuf {
    let trimmed = name.trim_end_matches('/');
    match trimmed.split_once('/') {
        Some((_, rest)) => PathBuf::from(rest),
        None => PathBuf::new(),
    }
}

/// Writes one file, checking it as it goes, and gives it its time and
/// mode; answers its size.
fn extract_file<S: ReadAt + ?Sized>(
    reader: &mut EntryReader,
    archive: &S,
    entry: &Entry,
    planned: &PlannedFile<'_>,
    fs: &RestoreFs,
) -> Result<u64, RestoreError> {
    let (name, target) = (planned.name, planned.target.as_path());
    // Created with its mode: the staging folder stays private to its owner
    // until every file is written, so no one else reaches it unchecked.
    let mut file = fs
        .create_file_with_mode(target, planned.mode)
        .map_err(|error| failed(ApiError::CreateFile, target, error, false))?;

    // Writeback starts behind the data as it is written.
    let mut written = 0u64;
    let mut flushed = 0u64;
    let digest = reader
        .read(archive, entry, |chunk| {
            fs.write(&mut file, chunk)?;
            written += chunk.len() as u64;
            if written - flushed >= WRITEBACK_STRIDE {
                fs.start_writeback(&file, flushed, written - flushed);
                flushed = written;
            }
            Ok(())
        })
        .map_err(|error| {
            let (detail, archive_at_fault) = match &error {
                EntryReadError::Sink(cause) => (
                    format!("cannot write `{}`: {cause}", target.display()),
                    false,
                ),
                EntryReadError::Io(cause) => (
                    format!("cannot read the archive at `{name}`: {cause}"),
                    false,
                ),
                other => (format!("`{name}`: {other}"), true),
            };
            RestoreError::Failed {
                error: ApiError::Unzip,
                detail,
                archive_at_fault,
            }
        })?;

    let mismatch = |detail: String| RestoreError::Failed {
        error: ApiError::Unzip,
        detail: format!("`{name}`: {detail}"),
        archive_at_fault: true,
    };
    if digest.size != entry.central.uncompressed_size {
        return Err(mismatch(format!(
            "{} bytes of data, {} declared",
            digest.size, entry.central.uncompressed_size
        )));
    }
    if digest.crc32 != entry.central.crc32 {
        return Err(mismatch(format!(
            "CRC-32 is {:#010x}, {:#010x} declared",
            digest.crc32, entry.central.crc32
        )));
    }
    match planned.expected {
        Some(hash) if hash == digest.sha256 => {}
        Some(hash) => {
            return Err(mismatch(format!(
                "SHA-256 is {}, the list says {}",
                hex(&digest.sha256),
                hex(&hash)
            )));
        }
        None => return Err(mismatch("the file list has no line for it".to_string())),
    }

    // The data reaches the disk with everything else, in the one sync
    // after the last file. Small files are left to it whole: written back
    // one by one they would cost a disk request each.
    if written >= WRITEBACK_STRIDE {
        fs.start_writeback(&file, flushed, written - flushed);
    }
    if let Some(time) = modification_time(entry) {
        fs.set_modified(&file, time)
            .map_err(|error| failed(ApiError::CreateFile, target, error, false))?;
    }
    if fs.mode_needs_setting(planned.mode) {
        fs.set_file_mode(&file, planned.mode)
            .map_err(|error| failed(ApiError::CreateFile, target, error, false))?;
    }
    Ok(digest.size)
}

/// The entry's modification time: the extended timestamp when present, else
/// the DOS time read as local time.
fn modification_time(entry: &Entry) -> Option<SystemTime> {
    if let Some(data) = ExtraFields::find_in(&entry.central.extra, EXTENDED_TIMESTAMP_ID)
        && data.first().is_some_and(|flags| flags & 1 != 0)
        && let Some(bytes) = data.get(1..5)
    {
        let seconds = i32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        let seconds = u64::try_from(seconds).ok()?;
        return SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(seconds));
    }
    let dos = DosTime::decode(entry.central.dos_date, entry.central.dos_time);
    if !dos.is_valid() {
        return None;
    }
    let naive = NaiveDate::from_ymd_opt(
        i32::from(dos.year),
        u32::from(dos.month),
        u32::from(dos.day),
    )?
    .and_hms_opt(
        u32::from(dos.hour),
        u32::from(dos.minute),
        u32::from(dos.second),
    )?;
    let local = Local.from_local_datetime(&naive).earliest()?;
    Some(local.into())
}

fn failed(
    error: ApiError,
    path: &Path,
    cause: std::io::Error,
    archive_at_fault: bool,
) -> RestoreError {
    RestoreError::Failed {
        error,
        detail: format!("`{}`: {cause}", path.display()),
        archive_at_fault,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_drop_the_top_folder() {
        assert_eq!(relative_path("config/"), PathBuf::new());
        assert_eq!(relative_path("config/a/b"), PathBuf::from("a/b"));
        assert_eq!(relative_path("statistics/db/"), PathBuf::from("db"));
    }
}
