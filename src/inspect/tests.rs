//! Unit tests of inspection, on archives built here with the `zip` crate and
//! on bytes that are no archive at all.

#![allow(
    clippy::unwrap_used,
    reason = "a test whose own input cannot be built should stop right there"
)]

use std::io::{Cursor, Write};

use proptest::prelude::*;
use zip::CompressionMethod;
use zip::write::{SimpleFileOptions, ZipWriter};

use super::*;
use crate::format::metadata::FORMAT_MARKER;
use crate::format::{FILE_LIST_NAME, FileList, ListedFile, METADATA_NAME, Metadata};

/// A zip of `(name, content)` pairs, stored; names ending in `/` become
/// folders.
fn archive(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Stored)
        .unix_permissions(0o644);
    for (name, content) in entries {
        if name.ends_with('/') {
            zip.add_directory(*name, options).unwrap();
        } else {
            zip.start_file(*name, options).unwrap();
            zip.write_all(content).unwrap();
        }
    }
    zip.finish().unwrap().into_inner()
}

/// `bytes` with every occurrence of `from` replaced by `to`, of the same
/// length: how two entries come to share a name the writer refuses.
fn replace_all(mut bytes: Vec<u8>, from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let mut position = 0;
    while let Some(found) = bytes[position..]
        .windows(from.len())
        .position(|window| window == from)
    {
        let start = position + found;
        bytes[start..start + to.len()].copy_from_slice(to);
        position = start + to.len();
    }
    bytes
}

fn list_of(paths: &[&str]) -> Vec<u8> {
    FileList {
        files: paths
            .iter()
            .map(|path| ListedFile {
                path: (*path).to_string(),
                sha256: [0; 32],
            })
            .collect(),
    }
    .encode()
}

fn metadata() -> Vec<u8> {
    Metadata {
        format: FORMAT_MARKER.to_string(),
        format_version: 1,
        host: "test.host".to_string(),
        backup_name: "test.host_2024-01-01_00-00-00.zip".to_string(),
        started: "2024-01-01T00:00:00.000000000+00:00".to_string(),
        completed: "2024-01-01T00:00:01.000000000+00:00".to_string(),
        statistics: false,
        tree_files: 1,
        tree_bytes: 3,
        tool: "puqbackup 0.1.0".to_string(),
    }
    .to_json()
}

fn inspect(bytes: &[u8]) -> Inspection {
    inspect_source(bytes, "test.zip").unwrap()
}

/// A file that is not a zip is described (size, first bytes, reason), not an
/// error.
#[test]
fn not_a_zip_is_described() {
    let inspection = inspect(b"This is not a zip. At all.\n");
    assert!(!inspection.is_zip);
    assert_eq!(inspection.file_size, 27);
    assert_eq!(
        inspection.first_bytes,
        hex(b"This is not a zip. At all.\n".get(..16).unwrap())
    );
    assert!(inspection.not_zip_reason.is_some());
    assert!(inspection.container.is_none() && inspection.backup.is_none());
}

/// An empty file is not a zip and does not trip the first-bytes read.
#[test]
fn empty_file_is_not_a_zip() {
    let inspection = inspect(b"");
    assert!(!inspection.is_zip);
    assert_eq!(inspection.first_bytes, "");
}

/// A well-formed backup reads as one: list first and matching, metadata last
/// and parsed.
#[test]
fn backup_files_are_read_and_compared() {
    let bytes = archive(&[
        (FILE_LIST_NAME, &list_of(&["config/a", METADATA_NAME])),
        ("config/", b""),
        ("config/a", b"abc"),
        (METADATA_NAME, &metadata()),
    ]);
    let inspection = inspect(&bytes);
    let backup = inspection.backup.unwrap();

    let list = backup.file_list;
    assert_eq!(list.position, Some(0));
    assert!(list.is_first_entry);
    assert_eq!(list.lines, Some(2));
    assert_eq!(list.crc32_matches, Some(true));
    let comparison = list.comparison.unwrap();
    assert!(comparison.listed_but_missing.is_empty());
    assert!(comparison.present_but_unlisted.is_empty());

    assert!(backup.metadata.is_last_entry);
    assert_eq!(
        backup.metadata.content.map(|content| content.host),
        Some("test.host".to_string())
    );
}

/// Missing, unlisted and twice-listed names are each reported; folders and
/// the list itself are not files to compare.
#[test]
fn list_mismatches_are_named() {
    let mut list = list_of(&["config/a", "config/gone", "config/a"]);
    list.extend_from_slice(b"not a line\n");
    let bytes = archive(&[
        ("config/", b""),
        ("config/a", b"abc"),
        ("config/extra", b"x"),
        ("config/extrb", b"x"),
        (FILE_LIST_NAME, &list),
    ]);
    let bytes = replace_all(bytes, b"config/extrb", b"config/extra");
    let list = inspect(&bytes).backup.unwrap().file_list;

    assert_eq!(list.position, Some(4));
    assert!(!list.is_first_entry);
    assert_eq!(list.lines, Some(4));
    assert_eq!(list.malformed_line_count, 1);
    assert_eq!(list.malformed_lines.first().map(|line| line.line), Some(4));
    let comparison = list.comparison.unwrap();
    assert_eq!(comparison.listed_but_missing, vec!["config/gone"]);
    assert_eq!(comparison.present_but_unlisted, vec!["config/extra"]);
    assert_eq!(comparison.listed_more_than_once, vec!["config/a"]);
}

/// A file list that declares more than the bound is refused before any of it
/// is read.
#[test]
fn oversized_list_is_not_read() {
    let mut bytes = archive(&[(FILE_LIST_NAME, b"x")]);
    let layout = Layout::read(&bytes).unwrap();
    let entry = layout.entries.first().unwrap();

    // Declared uncompressed size in the central header, at offset 24.
    let field = usize::try_from(entry.central.offset).unwrap() + 24;
    bytes[field..field + 4].copy_from_slice(&(300u32 << 20).to_le_bytes());
    let list = inspect(&bytes).backup.unwrap().file_list;
    assert!(
        list.unreadable
            .is_some_and(|reason| reason.contains("more than"))
    );
    assert_eq!(list.lines, None);
}

/// Metadata that is not the format's JSON says why.
#[test]
fn bad_metadata_says_why() {
    let bytes = archive(&[(METADATA_NAME, b"{\"format\": \"else\"}")]);
    let metadata = inspect(&bytes).backup.unwrap().metadata;
    assert!(metadata.present);
    assert!(metadata.content.is_none());
    assert!(metadata.unreadable.is_some());
}

/// Duplicate names are found byte for byte and name every entry carrying
/// them.
#[test]
fn duplicates_list_their_entries() {
    let bytes = archive(&[("dup-a", b"1"), ("other", b"2"), ("dup-b", b"3")]);
    let bytes = replace_all(bytes, b"dup-b", b"dup-a");
    let container = inspect(&bytes).container.unwrap();
    assert_eq!(
        container.duplicate_names,
        vec![DuplicateName {
            name: "dup-a".to_string(),
            name_hex: None,
            entries: vec![0, 2],
        }]
    );
}

/// A name that is not UTF-8 keeps its bytes in hex.
#[test]
fn undecodable_name_keeps_its_bytes() {
    assert_eq!(
        name_hex(b"fran\x87ais").as_deref(),
        Some("6672616e87616973")
    );
    assert_eq!(name_hex(b"plain"), None);
}

/// The extended timestamp's mtime is read only when its flag says it is
/// there and its bytes are.
#[test]
fn extended_mtime_needs_flag_and_bytes() {
    assert_eq!(
        extended_mtime(&[1, 0x40, 0x42, 0x0f, 0x00]),
        Some(1_000_000)
    );
    assert_eq!(extended_mtime(&[1, 0xff, 0xff, 0xff, 0xff]), Some(-1));
    assert_eq!(extended_mtime(&[2, 0x40, 0x42, 0x0f, 0x00]), None);
    assert_eq!(extended_mtime(&[1, 0x40]), None);
    assert_eq!(extended_mtime(&[]), None);
}

/// Flag bits are named, unknown ones by number.
#[test]
fn flags_are_named() {
    assert_eq!(
        Flags::of(0x0809).names,
        vec!["encrypted", "data descriptor", "utf-8"]
    );
    assert_eq!(Flags::of(0x0006).names, vec!["bit 1", "bit 2"]);
    assert!(Flags::of(0).names.is_empty());
}

/// An entry's fields come through: method, sizes, mode, offsets, versions.
#[test]
fn entry_fields_are_described() {
    let bytes = archive(&[("config/a", b"abc")]);
    let inspection = inspect(&bytes);
    let entry = inspection.entries.first().unwrap();
    assert_eq!(entry.name, "config/a");
    assert_eq!(
        entry.method,
        Method {
            number: 0,
            name: "stored"
        }
    );
    assert_eq!((entry.compressed_size, entry.uncompressed_size), (3, 3));
    assert_eq!(entry.crc32, crc32fast::hash(b"abc"));
    assert_eq!(
        entry.unix_mode.as_ref().map(|mode| mode.text.as_str()),
        Some("-rw-r--r--")
    );
    assert_eq!(entry.version_made_by.host_name, "Unix");
    assert_eq!(entry.offsets.local_header, Some(0));
    assert_eq!(entry.offsets.data, Some(30 + 8));
    assert!(entry.local_header.is_some() && entry.local_header_error.is_none());
    assert!(entry.header_disagreements.is_empty());
}

/// Names from the archive reach the text output escaped, never as terminal
/// commands.
#[test]
fn text_output_escapes_names() {
    let bytes = archive(&[("evil\u{1b}[2J", b"x")]);
    let text = human::render(&inspect(&bytes));
    assert!(!text.contains('\u{1b}'));
    assert!(text.contains("evil\\u{1b}[2J"));
}

proptest! {
    /// Any bytes are described, rendered and serialized without a panic.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let inspection = inspect(&bytes);
        let _ = human::render(&inspection);
        prop_assert!(serde_json::to_string(&inspection).is_ok());
    }

    /// A real backup with bytes overwritten anywhere is still described
    /// without a panic.
    #[test]
    fn damaged_backup_never_panics(
        changes in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)
    ) {
        let mut bytes = archive(&[
            (FILE_LIST_NAME, &list_of(&["config/a", METADATA_NAME])),
            ("config/a", b"abc"),
            (METADATA_NAME, &metadata()),
        ]);
        let length = bytes.len();
        for (position, value) in changes {
            if let Some(byte) = bytes.get_mut(position % length) {
                *byte = value;
            }
        }
        let inspection = inspect(&bytes);
        let _ = human::render(&inspection);
        prop_assert!(serde_json::to_string(&inspection).is_ok());
    }
}
