//! Archives made by create, as other zip tools see them: Info-ZIP `unzip` and
//! `zip`, Python's `zipfile`, `zipdetails` and GNU `sha256sum`.
//!
//! The tools must be installed; a missing one fails the test with the name of
//! what to install.

// A test fails by panicking; `expect` says what was expected.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::{Tree, create_in, entry_names, exit_code, puqbackup, sample_statistics};
use tempfile::TempDir;

/// A tree with the names other tools find awkward; with a newline in one
/// name when `with_newline`.
fn awkward_tree(with_newline: bool) -> Tree {
    let tree = Tree::new();
    tree.file("wg0.conf", "[Interface]\nListenPort = 51820\n")
        .file("with space/peer one.conf", "[Peer]\n")
        .file("ünïcödé/ключ.conf", "unicode\n")
        .file("back\\slash.conf", "backslash\n")
        .file(
            "big.bin",
            (0..50_000u32)
                .map(|n| (n * 7 % 251) as u8)
                .collect::<Vec<u8>>(),
        )
        .file("traffic.db", large_mixed_file())
        .folder("empty folder");
    if with_newline {
        tree.file("new\nline.conf", "newline\n");
    }
    tree
}

/// A file large enough to be deflated in pieces on every core (3 MiB and
/// a few bytes): runs of text that compress, between runs of bytes that do
/// not, from a fixed seed.
fn large_mixed_file() -> Vec<u8> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let text = b"2024-02-01T00:00:00Z peer-17 rx=1048576 tx=524288\n";
    (0..3 * 1024 * 1024 + 7)
        .map(|index: usize| {
            if (index / 100_000) % 3 == 2 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 32) as u8
            } else {
                text[index % text.len()]
            }
        })
        .collect()
}

/// Makes an archive of an awkward tree with statistics into `out`.
fn awkward_archive(out: &Path, with_newline: bool) -> PathBuf {
    let config = awkward_tree(with_newline);
    let statistics = sample_statistics();
    create_in(config.path(), Some(statistics.path()), out).path
}

/// Runs `tool` (which must be installed from `package`) with `args` in
/// `folder`.
fn run(tool: &str, package: &str, args: &[&OsStr], folder: &Path) -> Output {
    let program = support::require_tool(tool, package);
    Command::new(program)
        .args(args)
        .current_dir(folder)
        .output()
        .unwrap_or_else(|error| panic!("`{tool}` does not run: {error}"))
}

/// Asserts exit status 0 and that no output line holds one of `words`
/// (case-insensitive).
fn assert_clean(tool: &str, output: &Output, words: &[&str]) {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(exit_code(output), 0, "`{tool}` failed:\n{text}");
    for line in text.lines() {
        let lower = line.to_lowercase();
        for word in words {
            assert!(!lower.contains(word), "`{tool}` says `{line}`:\n{text}");
        }
    }
}

/// Extracts `archive` into a new folder `into` with Python's `zipfile`.
fn extract_with_python(archive: &Path, into: &Path) {
    let output = run(
        "python3",
        "python3",
        &[
            "-m".as_ref(),
            "zipfile".as_ref(),
            "-e".as_ref(),
            archive.as_ref(),
            into.as_ref(),
        ],
        archive.parent().unwrap(),
    );
    assert_clean("python3 -m zipfile -e", &output, &[]);
}

/// `sha256sum -c --strict` accepts the extracted file list.
fn assert_list_checks(folder: &Path) {
    let output = run(
        "sha256sum",
        "coreutils",
        &[
            "-c".as_ref(),
            "--strict".as_ref(),
            "filelist.sha256".as_ref(),
        ],
        folder,
    );
    assert_clean("sha256sum -c --strict", &output, &["failed", "improperly"]);
}

/// `puqbackup verify` calls `archive` valid.
fn assert_valid(archive: &Path) {
    let output = puqbackup().arg("verify").arg(archive).output().unwrap();
    assert_eq!(
        exit_code(&output),
        0,
        "verify refuses {}:\n{}",
        archive.display(),
        String::from_utf8_lossy(&output.stdout)
    );
}

/// Info-ZIP `unzip -t` tests every entry without a warning.
#[test]
fn unzip_tests_the_archive_cleanly() {
    let out = TempDir::new().unwrap();
    let archive = awkward_archive(out.path(), true);
    let output = run(
        "unzip",
        "unzip",
        &["-t".as_ref(), archive.as_ref()],
        out.path(),
    );
    assert_clean("unzip -t", &output, &["warning", "error:"]);
    assert!(String::from_utf8_lossy(&output.stdout).contains("No errors detected"));
}

/// Python's `zipfile -t` finds no bad entry.
#[test]
fn python_zipfile_tests_the_archive_cleanly() {
    let out = TempDir::new().unwrap();
    let archive = awkward_archive(out.path(), true);
    let output = run(
        "python3",
        "python3",
        &[
            "-m".as_ref(),
            "zipfile".as_ref(),
            "-t".as_ref(),
            archive.as_ref(),
        ],
        out.path(),
    );
    assert_clean("python3 -m zipfile -t", &output, &["bad", "error"]);
    assert!(String::from_utf8_lossy(&output.stdout).contains("Done testing"));
}

/// `zipdetails` walks every record without a warning or an error.
#[test]
fn zipdetails_finds_nothing_wrong() {
    let out = TempDir::new().unwrap();
    let archive = awkward_archive(out.path(), true);
    let output = run("zipdetails", "perl", &[archive.as_ref()], out.path());
    assert_clean("zipdetails", &output, &["warning", "error"]);
    assert!(String::from_utf8_lossy(&output.stdout).contains("END CENTRAL HEADER"));
}

/// Extracted by Python, the files pass `sha256sum -c --strict` against the
/// file list, escaped names (backslash, newline) included.
#[test]
fn python_extraction_passes_sha256sum() {
    let out = TempDir::new().unwrap();
    let archive = awkward_archive(out.path(), true);
    let extracted = out.path().join("extracted");
    extract_with_python(&archive, &extracted);
    assert!(extracted.join("config/new\nline.conf").is_file());
    assert!(extracted.join("config/empty folder").is_dir());
    assert_list_checks(&extracted);
}

/// Extracted by Info-ZIP `unzip`, the files pass `sha256sum -c --strict`
/// (names without control characters, which unzip rewrites).
#[test]
fn unzip_extraction_passes_sha256sum() {
    let out = TempDir::new().unwrap();
    let archive = awkward_archive(out.path(), false);
    let extracted = out.path().join("extracted");
    let output = run(
        "unzip",
        "unzip",
        &[
            "-q".as_ref(),
            archive.as_ref(),
            "-d".as_ref(),
            extracted.as_ref(),
        ],
        out.path(),
    );
    assert_clean("unzip", &output, &["warning", "error"]);
    assert_list_checks(&extracted);
}

/// Repacks the extraction in `folder` with Info-ZIP `zip -r -q`, `extra`
/// options and the top-level items in `order`; answers the new archive.
fn repack(folder: &Path, name: &str, extra: &[&str], order: &[&str]) -> PathBuf {
    let archive = folder.parent().unwrap().join(name);
    let mut args: Vec<&OsStr> = vec!["-r".as_ref(), "-q".as_ref()];
    args.extend(extra.iter().map(OsStr::new));
    args.push(archive.as_ref());
    args.extend(order.iter().map(OsStr::new));
    let output = run("zip", "zip", &args, folder);
    assert_clean("zip -r", &output, &["warning", "error"]);
    archive
}

/// An archive extracted and zipped again with Info-ZIP `zip` still verifies:
/// with folder entries or without (`-D`), and with the file list first or
/// last.
#[test]
fn archives_repacked_by_info_zip_still_verify() {
    let out = TempDir::new().unwrap();
    let archive = awkward_archive(out.path(), true);
    let extracted = out.path().join("extracted");
    extract_with_python(&archive, &extracted);

    let list_first = ["filelist.sha256", "config", "statistics", "metadata.json"];
    let list_last = ["config", "statistics", "metadata.json", "filelist.sha256"];
    for (name, extra, order) in [
        ("first.zip", &[][..], &list_first),
        ("first-no-folders.zip", &["-D"][..], &list_first),
        ("last.zip", &[][..], &list_last),
        ("last-no-folders.zip", &["-D"][..], &list_last),
    ] {
        let repacked = repack(&extracted, name, extra, order);
        let names = std::fs::read(&repacked)
            .map(|bytes| entry_names(&bytes))
            .unwrap();
        let list_position = names.iter().position(|entry| entry == "filelist.sha256");
        let expected = if order[0] == "filelist.sha256" {
            0
        } else {
            names.len() - 1
        };
        assert_eq!(list_position, Some(expected), "{name}: {names:?}");
        assert_eq!(
            names.iter().any(|entry| entry.ends_with('/')),
            extra.is_empty(),
            "{name}: folder entries only without -D: {names:?}"
        );
        assert_valid(&repacked);
    }
}

/// The large file, which is deflated in pieces on every core, is one
/// ordinary deflate entry: method 8 and version needed 2.0 in both headers,
/// the file's CRC-32 and size in both, and smaller than the file.
#[test]
fn a_file_deflated_in_pieces_is_an_ordinary_deflate_entry() {
    let out = TempDir::new().unwrap();
    let archive = awkward_archive(out.path(), false);
    let file = std::fs::File::open(&archive).unwrap();
    let layout = puqbackup::zipfile::Layout::read(&file).expect("a readable archive");
    let entry = layout
        .entries
        .iter()
        .find(|entry| entry.central.name == b"config/traffic.db")
        .expect("the large file's entry");
    let local = entry.local.as_ref().expect("its local header");
    let expected = large_mixed_file();

    assert_eq!((entry.central.method, local.method), (8, 8));
    assert_eq!(
        (entry.central.version_needed, local.version_needed),
        (20, 20)
    );
    let crc = crc32fast::hash(&expected);
    assert_eq!((entry.central.crc32, local.crc32), (crc, crc));
    let length = expected.len() as u64;
    assert_eq!(
        (entry.central.uncompressed_size, local.uncompressed_size),
        (length, length)
    );
    assert_eq!(entry.central.compressed_size, local.compressed_size);
    assert!(
        entry.central.compressed_size < length / 2,
        "{} of {length} bytes",
        entry.central.compressed_size
    );
    assert_valid(&archive);
}
