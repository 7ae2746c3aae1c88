//! `puqbackup create`: what it writes, what it prints, and what it refuses.

// A test fails by panicking; `expect` says what was expected.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::path::Path;

use support::{
    HOST, Tree, entry_names, exit_code, folder_listing, json_lines, puqbackup, sample_config,
    sample_statistics, sha256_hex, stderr,
};
use tempfile::TempDir;

/// Runs `create --json` with `extra` arguments and answers the one JSON
/// object it prints.
fn create_json(config: &Path, extra: &[&std::ffi::OsStr]) -> serde_json::Value {
    let output = puqbackup()
        .arg("create")
        .arg("--config-dir")
        .arg(config)
        .args(["--host", HOST, "--json"])
        .args(extra)
        .output()
        .expect("create runs");
    assert_eq!(exit_code(&output), 0, "create failed: {}", stderr(&output));
    let mut lines = json_lines(&output);
    assert_eq!(lines.len(), 1, "create --json prints one line");
    lines.remove(0)
}

/// Whether `name` is `<host>_YYYY-MM-DD_HH-MM-SS.zip` with a real date and
/// time.
fn is_backup_name(name: &str, host: &str) -> bool {
    let Some(stamp) = name
        .strip_prefix(host)
        .and_then(|rest| rest.strip_prefix('_'))
        .and_then(|rest| rest.strip_suffix(".zip"))
    else {
        return false;
    };
    let shape_ok = stamp.len() == 19
        && stamp.char_indices().all(|(index, character)| match index {
            4 | 7 | 13 | 16 => character == '-',
            10 => character == '_',
            _ => character.is_ascii_digit(),
        });
    shape_ok && chrono::NaiveDateTime::parse_from_str(stamp, "%Y-%m-%d_%H-%M-%S").is_ok()
}

/// Runs `create` expecting exit status 2 and answers its standard error.
fn create_fails(config: &Path, out_dir: &Path, extra: &[&str]) -> String {
    let output = puqbackup()
        .arg("create")
        .arg("--config-dir")
        .arg(config)
        .arg("--out-dir")
        .arg(out_dir)
        .args(extra)
        .output()
        .expect("create runs");
    assert_eq!(exit_code(&output), 2, "create did not fail: {output:?}");
    stderr(&output)
}

/// `--json` reports the archive's name, path, size, SHA-256, file count and
/// the statistics flag, and each agrees with the file on disk.
#[test]
fn json_describes_the_written_archive() {
    let config = sample_config();
    let out = TempDir::new().unwrap();
    let created = create_json(config.path(), &["--out-dir".as_ref(), out.path().as_ref()]);

    let name = created["name"].as_str().expect("name is a string");
    assert!(is_backup_name(name, HOST), "`{name}` is not a backup name");
    let path = Path::new(created["path"].as_str().expect("path is a string"));
    assert_eq!(path, out.path().join(name));
    let bytes = std::fs::read(path).expect("the archive exists at `path`");
    assert_eq!(created["size"].as_u64(), Some(bytes.len() as u64));
    assert_eq!(
        created["sha256"].as_str(),
        Some(sha256_hex(&bytes).as_str())
    );
    assert_eq!(created["file_count"].as_u64(), Some(4));
    assert_eq!(created["statistics"].as_bool(), Some(false));
    assert_eq!(folder_listing(out.path()), vec![name.to_string()]);
}

/// Without `--statistics-dir` the archive holds the configuration tree and no
/// `statistics/` entry, between the file list and the metadata.
#[test]
fn without_statistics_only_the_config_tree_is_stored() {
    let config = sample_config();
    let out = TempDir::new().unwrap();
    let created = create_json(config.path(), &["--out-dir".as_ref(), out.path().as_ref()]);
    let bytes = std::fs::read(created["path"].as_str().unwrap()).unwrap();

    let names = entry_names(&bytes);
    assert_eq!(
        names,
        [
            "filelist.sha256",
            "config/",
            "config/clients/",
            "config/clients/alice.conf",
            "config/clients/bob.conf",
            "config/empty/",
            "config/panel/",
            "config/panel/settings.json",
            "config/wg0.conf",
            "metadata.json",
        ]
    );
}

/// With `--statistics-dir` the statistics tree is stored under `statistics/`,
/// counted in `file_count`, and `statistics` is true.
#[test]
fn with_statistics_both_trees_are_stored() {
    let config = sample_config();
    let statistics = sample_statistics();
    let out = TempDir::new().unwrap();
    let created = create_json(
        config.path(),
        &[
            "--out-dir".as_ref(),
            out.path().as_ref(),
            "--statistics-dir".as_ref(),
            statistics.path().as_ref(),
        ],
    );
    assert_eq!(created["statistics"].as_bool(), Some(true));
    assert_eq!(created["file_count"].as_u64(), Some(6));

    let bytes = std::fs::read(created["path"].as_str().unwrap()).unwrap();
    let names = entry_names(&bytes);
    for expected in [
        "statistics/",
        "statistics/traffic/",
        "statistics/traffic/2024-02.db",
        "statistics/traffic/2024-03.db",
        "config/wg0.conf",
    ] {
        assert!(
            names.iter().any(|name| name == expected),
            "no `{expected}` in {names:?}"
        );
    }
    assert_eq!(names.first().map(String::as_str), Some("filelist.sha256"));
    assert_eq!(names.last().map(String::as_str), Some("metadata.json"));
}

/// `--output FILE` writes exactly that file, whatever its name.
#[test]
fn output_names_the_exact_file() {
    let config = sample_config();
    let out = TempDir::new().unwrap();
    let target = out.path().join("nightly.zip");
    let created = create_json(config.path(), &["--output".as_ref(), target.as_ref()]);
    assert_eq!(created["path"].as_str(), target.to_str());
    assert!(is_backup_name(created["name"].as_str().unwrap(), HOST));
    assert_eq!(folder_listing(out.path()), ["nightly.zip"]);

    let bytes = std::fs::read(&target).unwrap();
    assert_eq!(
        created["sha256"].as_str(),
        Some(sha256_hex(&bytes).as_str())
    );
}

/// An existing output file is never overwritten: exit status 2, the file
/// keeps its bytes, and nothing else is left beside it.
#[test]
fn refuses_to_overwrite_an_existing_output() {
    let config = sample_config();
    let out = TempDir::new().unwrap();
    let target = out.path().join("taken.zip");
    std::fs::write(&target, b"precious").unwrap();

    let output = puqbackup()
        .arg("create")
        .arg("--config-dir")
        .arg(config.path())
        .args(["--host", HOST, "--output"])
        .arg(&target)
        .output()
        .unwrap();
    assert_eq!(exit_code(&output), 2);
    assert!(
        stderr(&output).contains("already exists"),
        "{}",
        stderr(&output)
    );
    assert_eq!(std::fs::read(&target).unwrap(), b"precious");
    assert_eq!(folder_listing(out.path()), ["taken.zip"]);
}

/// A symbolic link in the tree fails the backup with a message naming it,
/// and leaves no file (not even a partial one) in the output folder.
#[test]
fn a_symlink_in_the_tree_is_refused_by_name() {
    let config = sample_config();
    std::os::unix::fs::symlink("/etc/passwd", config.path().join("clients/link.conf")).unwrap();
    let out = TempDir::new().unwrap();

    let message = create_fails(config.path(), out.path(), &["--host", HOST]);
    assert!(
        message.contains("link.conf"),
        "the message names no file: {message}"
    );
    assert!(message.contains("symbolic link"), "{message}");
    assert_eq!(folder_listing(out.path()), Vec::<String>::new());
}

/// A FIFO in the tree fails the backup with a message naming it, without
/// blocking on it, and leaves no file in the output folder.
#[test]
fn a_fifo_in_the_tree_is_refused_by_name() {
    let config = sample_config();
    let fifo = config.path().join("panel/control.pipe");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .expect("a FIFO is made");
    let out = TempDir::new().unwrap();

    let message = create_fails(config.path(), out.path(), &["--host", HOST]);
    assert!(
        message.contains("control.pipe"),
        "the message names no file: {message}"
    );
    assert!(message.contains("FIFO"), "{message}");
    assert_eq!(folder_listing(out.path()), Vec::<String>::new());
}

/// A configuration folder that does not exist is exit status 2, named in the
/// message, with nothing written.
#[test]
fn a_missing_config_dir_is_an_error() {
    let base = TempDir::new().unwrap();
    let missing = base.path().join("no-such-config");
    let out = TempDir::new().unwrap();

    let message = create_fails(&missing, out.path(), &["--host", HOST]);
    assert!(message.contains("no-such-config"), "{message}");
    assert_eq!(folder_listing(out.path()), Vec::<String>::new());
}

/// A host name holding `/` cannot form an archive name: exit status 2 and
/// nothing written.
#[test]
fn a_host_with_a_slash_is_refused() {
    let config = sample_config();
    let out = TempDir::new().unwrap();

    let message = create_fails(config.path(), out.path(), &["--host", "evil/../host"]);
    assert!(message.contains("evil/../host"), "{message}");
    assert_eq!(folder_listing(out.path()), Vec::<String>::new());
}

/// Empty folders and names with spaces, non-ASCII letters, a backslash or a
/// newline are stored under their exact names, and the list escapes the last
/// two the way `sha256sum` does.
#[test]
fn unusual_names_and_empty_folders_are_preserved() {
    let config = Tree::new();
    config
        .file("with space.conf", "a")
        .file("ünïcödé/ключ 鍵.conf", "b")
        .file("back\\slash.conf", "c")
        .file("new\nline.conf", "d")
        .folder("empty folder")
        .folder("deep/er/empty");
    let out = TempDir::new().unwrap();
    let created = create_json(config.path(), &["--out-dir".as_ref(), out.path().as_ref()]);
    let bytes = std::fs::read(created["path"].as_str().unwrap()).unwrap();

    let names = entry_names(&bytes);
    for expected in [
        "config/with space.conf",
        "config/ünïcödé/",
        "config/ünïcödé/ключ 鍵.conf",
        "config/back\\slash.conf",
        "config/new\nline.conf",
        "config/empty folder/",
        "config/deep/",
        "config/deep/er/",
        "config/deep/er/empty/",
    ] {
        assert!(
            names.iter().any(|name| name == expected),
            "no `{expected:?}` in {names:?}"
        );
    }

    let members = support::members(&bytes);
    let list = String::from_utf8(members[0].data.clone()).unwrap();
    assert!(
        list.contains(&format!(
            "\\{}  config/back\\\\slash.conf\n",
            sha256_hex(b"c")
        )),
        "{list}"
    );
    assert!(
        list.contains(&format!("\\{}  config/new\\nline.conf\n", sha256_hex(b"d"))),
        "{list}"
    );
    assert!(list.contains(&format!("{}  config/with space.conf\n", sha256_hex(b"a"))));
}

/// An empty regular file is backed up as an empty entry, listed with the
/// SHA-256 of no bytes.
#[test]
fn empty_files_are_backed_up() {
    let config = Tree::new();
    config.file("wg0.conf", "x").file("peers/none.conf", "");
    let out = TempDir::new().unwrap();
    let created = create_json(config.path(), &["--out-dir".as_ref(), out.path().as_ref()]);
    assert_eq!(created["file_count"].as_u64(), Some(2));

    let bytes = std::fs::read(created["path"].as_str().unwrap()).unwrap();
    let members = support::members(&bytes);
    let empty = members
        .iter()
        .find(|member| member.name == "config/peers/none.conf")
        .expect("the empty file is stored");
    assert!(empty.data.is_empty());
    let list = String::from_utf8(members[0].data.clone()).unwrap();
    assert!(list.contains(&format!("{}  config/peers/none.conf\n", sha256_hex(b""))));
}

/// Create never writes an archive that its own verify refuses: a file named
/// `..\` (legal on unix, a climb out of the target for a Windows reader) is
/// either refused up front or stored in an archive that verifies.
#[test]
fn names_verify_would_refuse_are_not_written() {
    let config = Tree::new();
    config.file("wg0.conf", "x").file("..\\", "y");
    let out = TempDir::new().unwrap();

    let output = puqbackup()
        .arg("create")
        .arg("--config-dir")
        .arg(config.path())
        .args(["--host", HOST, "--out-dir"])
        .arg(out.path())
        .output()
        .unwrap();
    match exit_code(&output) {
        0 => {
            let archive = out.path().join(folder_listing(out.path()).remove(0));
            let (code, reports) = support::verify_json(&[], &[&archive]);
            assert_eq!(
                code, 0,
                "create wrote an archive verify refuses: {:#}",
                reports[0]
            );
        }
        2 => {
            assert!(stderr(&output).contains("..\\"), "{}", stderr(&output));
            assert_eq!(folder_listing(out.path()), Vec::<String>::new());
        }
        other => panic!("create exited with {other}: {output:?}"),
    }
}

/// Bytes that deflate cannot shrink, from a fixed seed.
fn noise(length: usize) -> Vec<u8> {
    let mut state = 0x9E37_79B9u32;
    (0..length)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        })
        .collect()
}

/// Every level from 0 to 9 gives an archive that verify calls valid, that
/// the `zip` crate reads back byte for byte, with files stored at level 0
/// and deflated above it, except those deflate does not shrink (empty files
/// are always stored, the metadata always deflated).
#[test]
fn every_level_writes_an_archive_that_reads_back() {
    let config = sample_config();
    let bulky: Vec<u8> = (0..300_000u32).map(|index| (index % 251) as u8).collect();
    support::write_file(config.path(), "bulky.bin", &bulky);
    // Noise of the two sizes that are compressed differently.
    support::write_file(config.path(), "short.noise", &noise(700));
    support::write_file(config.path(), "long.noise", &noise(40_000));
    for level in 0..=9u8 {
        let out = TempDir::new().unwrap();
        let created = create_json(
            config.path(),
            &[
                "--out-dir".as_ref(),
                out.path().as_ref(),
                "--level".as_ref(),
                level.to_string().as_ref(),
            ],
        );
        let path = Path::new(created["path"].as_str().unwrap());
        puqbackup().arg("verify").arg(path).assert().success();
        let bytes = std::fs::read(path).unwrap();
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        for index in 0..archive.len() {
            let mut entry = archive.by_index(index).unwrap();
            let name = entry.name().unwrap().to_string();
            if entry.is_dir() {
                continue;
            }
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut data).unwrap();
            // The format's own files are written the same at every level.
            let expected = if name == "metadata.json" {
                zip::CompressionMethod::Deflated
            } else if name == "filelist.sha256" || level == 0 || data.is_empty() {
                zip::CompressionMethod::Stored
            } else if deflated_length(&data, level) < data.len() {
                zip::CompressionMethod::Deflated
            } else {
                zip::CompressionMethod::Stored
            };
            assert_eq!(entry.compression(), expected, "level {level}: `{name}`");
            if name.ends_with(".noise") && level > 0 {
                assert_eq!(expected, zip::CompressionMethod::Stored, "`{name}`");
            }
            if expected == zip::CompressionMethod::Deflated {
                assert!(
                    entry.compressed_size() < entry.size(),
                    "level {level}: `{name}`"
                );
            }
            if let Some(relative) = name.strip_prefix("config/") {
                let on_disk = std::fs::read(config.path().join(relative)).unwrap();
                assert!(data == on_disk, "level {level}: `{name}` differs");
            }
        }
    }
}

/// How long a raw deflate stream of `data` at `level` is.
fn deflated_length(data: &[u8], level: u8) -> usize {
    let mut encoder =
        flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(level.into()));
    std::io::Write::write_all(&mut encoder, data).unwrap();
    encoder.finish().unwrap().len()
}
