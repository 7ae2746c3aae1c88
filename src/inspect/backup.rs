//! The backup's own files as inspection sees them: where the file list is,
//! how its lines read and how they compare with the archive's entries, and
//! what the metadata file says.
//!
//! These two entries are the only ones whose data is read, each up to a
//! bound; a larger one is described as too large instead of read.

use std::collections::HashSet;
use std::io;

use serde::Serialize;

use crate::format::{FILE_LIST_NAME, FileList, METADATA_NAME, Metadata};
use crate::zipfile::{Entry, EntryKind, EntryReadError, Layout, ReadAt, read_entry};

/// The largest file list that is read.
pub const MAX_FILE_LIST_SIZE: u64 = 256 << 20;

/// The largest metadata file that is read.
pub const MAX_METADATA_SIZE: u64 = 1 << 20;

/// How many malformed lines are described one by one; the count covers all.
const MALFORMED_LINES_SHOWN: usize = 100;

/// The backup-specific part of an inspection.
#[derive(Debug, Clone, Serialize)]
pub struct BackupView {
    /// The file list.
    pub file_list: FileListView,
    /// The metadata file.
    pub metadata: MetadataView,
}

/// The file list entry and what it says.
#[derive(Debug, Clone, Serialize)]
pub struct FileListView {
    /// The entry name looked for.
    pub name: &'static str,
    /// Whether an entry has that name.
    pub present: bool,
    /// The index of the first entry with that name.
    pub position: Option<usize>,
    /// Whether that entry is the archive's first, as the format wants.
    pub is_first_entry: bool,
    /// Why the list could not be read, when it could not.
    pub unreadable: Option<String>,
    /// Whether the data read matches the entry's CRC-32, when it was read.
    pub crc32_matches: Option<bool>,
    /// Number of lines, well-formed or not.
    pub lines: Option<usize>,
    /// Number of malformed lines.
    pub malformed_line_count: usize,
    /// The first malformed lines, each with why.
    pub malformed_lines: Vec<MalformedLine>,
    /// The list against the archive's files, when the list could be read.
    pub comparison: Option<ListComparison>,
}

/// A line of the file list that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MalformedLine {
    /// The line number, from 1.
    pub line: usize,
    /// What is wrong with it.
    pub reason: String,
}

/// The file list against the files in the archive: every entry that is not a
/// folder, other than the list itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListComparison {
    /// Paths the list names that no entry has, in list order.
    pub listed_but_missing: Vec<String>,
    /// Files in the archive that the list does not name, in archive order
    /// (names that are not UTF-8 never match and are shown with
    /// replacement characters).
    pub present_but_unlisted: Vec<String>,
    /// Paths the list names more than once.
    pub listed_more_than_once: Vec<String>,
}

/// The metadata entry and what it says.
#[derive(Debug, Clone, Serialize)]
pub struct MetadataView {
    /// The entry name looked for.
    pub name: &'static str,
    /// Whether an entry has that name.
    pub present: bool,
    /// The index of the first entry with that name.
    pub position: Option<usize>,
    /// Whether that entry is the archive's last, as the format wants.
    pub is_last_entry: bool,
    /// Why the metadata could not be read or understood, when it could not.
    pub unreadable: Option<String>,
    /// Whether the data read matches the entry's CRC-32, when it was read.
    pub crc32_matches: Option<bool>,
    /// The parsed content.
    pub content: Option<Metadata>,
}

/// Describes the file list and the metadata of the archive in `source`.
///
/// # Errors
/// When reading `source` fails; damaged or oversized entries are described,
/// not errors.
pub fn describe<S: ReadAt + ?Sized>(source: &S, layout: &Layout) -> io::Result<BackupView> {
    Ok(BackupView {
        file_list: describe_file_list(source, layout)?,
        metadata: describe_metadata(source, layout)?,
    })
}

fn describe_file_list<S: ReadAt + ?Sized>(source: &S, layout: &Layout) -> io::Result<FileListView> {
    let entry = find(layout, FILE_LIST_NAME);
    let mut view = FileListView {
        name: FILE_LIST_NAME,
        present: entry.is_some(),
        position: entry.map(|entry| entry.index),
        is_first_entry: entry.is_some_and(|entry| entry.index == 0),
        unreadable: None,
        crc32_matches: None,
        lines: None,
        malformed_line_count: 0,
        malformed_lines: Vec::new(),
        comparison: None,
    };
    let Some(entry) = entry else {
        return Ok(view);
    };

    // The list's bytes, then its lines, then the lines against the entries.
    let (bytes, crc32_matches) = match read_small(source, entry, MAX_FILE_LIST_SIZE)? {
        Ok(read) => read,
        Err(reason) => {
            view.unreadable = Some(reason);
            return Ok(view);
        }
    };
    view.crc32_matches = Some(crc32_matches);

    let (list, errors) = FileList::parse(&bytes);
    view.lines = Some(list.files.len() + errors.len());
    view.malformed_line_count = errors.len();
    view.malformed_lines = errors
        .into_iter()
        .take(MALFORMED_LINES_SHOWN)
        .map(|error| MalformedLine {
            line: error.line,
            reason: error.reason,
        })
        .collect();
    view.comparison = Some(compare(&list, &layout.entries));
    Ok(view)
}

/// Compares the list's paths with the entries' names byte for byte.
fn compare(list: &FileList, entries: &[Entry]) -> ListComparison {
    let files: Vec<&Entry> = entries
        .iter()
        .filter(|entry| entry.kind() != EntryKind::Directory)
        .filter(|entry| entry.central.name != FILE_LIST_NAME.as_bytes())
        .collect();
    let present: HashSet<&[u8]> = files
        .iter()
        .map(|entry| entry.central.name.as_slice())
        .collect();

    let mut listed: HashSet<&[u8]> = HashSet::new();
    let mut listed_but_missing = Vec::new();
    let mut listed_more_than_once = Vec::new();
    for file in &list.files {
        let path = file.path.as_bytes();
        if !listed.insert(path) {
            if !listed_more_than_once.contains(&file.path) {
                listed_more_than_once.push(file.path.clone());
            }
            continue;
        }
        if !present.contains(path) {
            listed_but_missing.push(file.path.clone());
        }
    }

    // A duplicated entry is one name to the list: it is shown once.
    let mut shown: HashSet<&[u8]> = HashSet::new();
    let present_but_unlisted = files
        .iter()
        .filter(|entry| !listed.contains(entry.central.name.as_slice()))
        .filter(|entry| shown.insert(entry.central.name.as_slice()))
        .map(|entry| entry.display_name())
        .collect();

    ListComparison {
        listed_but_missing,
        present_but_unlisted,
        listed_more_than_once,
    }
}

fn describe_metadata<S: ReadAt + ?Sized>(source: &S, layout: &Layout) -> io::Result<MetadataView> {
    let entry = find(layout, METADATA_NAME);
    let mut view = MetadataView {
        name: METADATA_NAME,
        present: entry.is_some(),
        position: entry.map(|entry| entry.index),
        is_last_entry: entry.is_some_and(|entry| entry.index + 1 == layout.entries.len()),
        unreadable: None,
        crc32_matches: None,
        content: None,
    };
    let Some(entry) = entry else {
        return Ok(view);
    };

    match read_small(source, entry, MAX_METADATA_SIZE)? {
        Ok((bytes, crc32_matches)) => {
            view.crc32_matches = Some(crc32_matches);
            match Metadata::from_json(&bytes) {
                Ok(metadata) => view.content = Some(metadata),
                Err(reason) => view.unreadable = Some(reason),
            }
        }
        Err(reason) => view.unreadable = Some(reason),
    }
    Ok(view)
}

/// The first entry named `name`: the one a reader that stops at the first
/// match would take.
fn find<'a>(layout: &'a Layout, name: &str) -> Option<&'a Entry> {
    layout
        .entries
        .iter()
        .find(|entry| entry.central.name == name.as_bytes())
}

/// Reads a small entry whole, with whether its CRC-32 matches. The outer
/// error is a failure to read the archive; the inner one says why this
/// entry's data cannot be had.
fn read_small<S: ReadAt + ?Sized>(
    source: &S,
    entry: &Entry,
    limit: u64,
) -> io::Result<Result<(Vec<u8>, bool), String>> {
    // Refused before any byte is read: what is not a plain file, and what
    // declares more than the bound (reading stops one byte past the declared
    // size, so the bound holds whatever the data inflates to).
    if entry.kind() != EntryKind::File {
        return Ok(Err("the entry is not a regular file".to_string()));
    }
    let declared = entry.central.uncompressed_size;
    if declared > limit {
        return Ok(Err(format!(
            "the entry declares {declared} bytes, more than the {limit} read"
        )));
    }

    let mut content = Vec::new();
    match read_entry(source, entry, |chunk| {
        content.extend_from_slice(chunk);
        Ok(())
    }) {
        Ok(digest) => Ok(Ok((content, digest.crc32 == entry.central.crc32))),
        Err(EntryReadError::Io(error)) => Err(error),
        Err(error) => Ok(Err(error.to_string())),
    }
}
