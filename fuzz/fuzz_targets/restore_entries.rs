//! The restore engine on archives built from arbitrary entries whose file
//! list and metadata are right, so that the fuzzer reaches the checks of
//! names and entry types and the extraction itself instead of stopping at
//! the list: hostile names (`..`, absolute paths at the sandbox's outside
//! folder, backslashes, NUL, empty and `.` parts), symbolic links aiming
//! out of the site followed by entries through them, devices, FIFOs and
//! any mode. Whatever the archive, nothing is written outside the site and
//! a refused restore changes nothing (see `sandbox.rs`).

#![no_main]

mod sandbox;
#[allow(dead_code)]
#[path = "../../fixtures/generator/raw.rs"]
mod raw;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use puqbackup::format::{FILE_LIST_NAME, METADATA_NAME, Place};
use raw::{RawArchive, RawEntry};

/// One part of an entry's name.
#[derive(Debug, Arbitrary)]
enum Part {
    Config,
    Statistics,
    Wireguard,
    Link,
    Known,
    Dot,
    DotDot,
    Empty,
    Nul,
    /// The sandbox's outside folder, as an absolute path.
    Outside,
    /// One of a few plain names, so that entries meet in folders.
    Plain(u8),
    Text(String),
}

/// What a symbolic link entry points at.
#[derive(Debug, Arbitrary)]
enum Target {
    /// `../` this many times, then `outside`.
    Up(u8),
    /// The outside folder's absolute path.
    Outside,
    Inside,
    Text(String),
}

#[derive(Debug, Arbitrary)]
enum Kind {
    File,
    Folder,
    Symlink(Target),
    Fifo,
    Device,
    Mode(u16),
}

#[derive(Debug, Arbitrary)]
struct Entry {
    parts: Vec<Part>,
    backslashes: bool,
    kind: Kind,
    data: Vec<u8>,
    unlisted: bool,
    stored: bool,
}

#[derive(Debug, Arbitrary)]
struct Archive {
    /// Start from a small correct backup rather than an empty one.
    base: bool,
    entries: Vec<Entry>,
}

fuzz_target!(|input: Archive| {
    let sandbox = sandbox::Sandbox::new();
    let outside = sandbox.outside().to_string_lossy().into_owned();

    let mut archive = if input.base {
        raw::backup()
    } else {
        let mut archive = RawArchive::default();
        archive.entries.push(RawEntry {
            listed: false,
            ..RawEntry::file(FILE_LIST_NAME, b"").stored()
        });
        archive
            .entries
            .push(RawEntry::file(METADATA_NAME, b"{}"));
        archive
    };
    for entry in input.entries.iter().take(16) {
        archive.add(entry_of(entry, &outside));
    }

    // The metadata agrees with the trees, then the list with everything.
    let has_statistics = archive
        .entries
        .iter()
        .any(|entry| Place::of(&String::from_utf8_lossy(&entry.name)) == Place::Statistics);
    let tree: Vec<&RawEntry> = archive
        .entries
        .iter()
        .filter(|entry| {
            let place = Place::of(&String::from_utf8_lossy(&entry.name));
            entry.listed && matches!(place, Place::Config | Place::Statistics)
        })
        .collect();
    let files = tree.len() as u64;
    let bytes = tree.iter().map(|entry| entry.data.len() as u64).sum();
    archive.entry(METADATA_NAME).data = raw::metadata(has_statistics, files, bytes).to_json();
    archive.relist();

    let _ = sandbox.restore(&archive.build());
});

fn entry_of(entry: &Entry, outside: &str) -> RawEntry {
    let separator = if entry.backslashes { "\\" } else { "/" };
    let mut name: String = entry
        .parts
        .iter()
        .take(6)
        .map(|part| match part {
            Part::Config => "config".to_string(),
            Part::Statistics => "statistics".to_string(),
            Part::Wireguard => "wireguard".to_string(),
            Part::Link => "link".to_string(),
            Part::Known => "known.txt".to_string(),
            Part::Dot => ".".to_string(),
            Part::DotDot => "..".to_string(),
            Part::Empty => String::new(),
            Part::Nul => "\0".to_string(),
            Part::Outside => outside.to_string(),
            Part::Plain(index) => format!("n{}", index % 4),
            Part::Text(text) => text.chars().take(16).collect(),
        })
        .collect::<Vec<_>>()
        .join(separator);
    let data: Vec<u8> = entry.data.iter().take(1024).copied().collect();

    let mut raw = match &entry.kind {
        Kind::Folder => {
            if !name.ends_with('/') {
                name.push('/');
            }
            RawEntry::folder(&name)
        }
        Kind::Symlink(target) => {
            let target = match target {
                Target::Up(count) => format!("{}outside", "../".repeat(usize::from(count % 6))),
                Target::Outside => outside.to_string(),
                Target::Inside => "wireguard".to_string(),
                Target::Text(text) => text.chars().take(32).collect(),
            };
            RawEntry {
                mode: 0o120_777,
                ..RawEntry::file(&name, target.as_bytes())
            }
        }
        Kind::Fifo => RawEntry {
            mode: 0o010_644,
            ..RawEntry::file(&name, &data)
        },
        Kind::Device => RawEntry {
            mode: 0o020_644,
            ..RawEntry::file(&name, &data)
        },
        Kind::Mode(mode) => RawEntry {
            mode: u32::from(*mode),
            ..RawEntry::file(&name, &data)
        },
        Kind::File => RawEntry::file(&name, &data),
    };
    if entry.stored {
        raw = raw.stored();
    }
    raw.listed = raw.listed && !entry.unlisted;
    raw
}
