//! `puqbackup verify`: verdicts, exit statuses, and the code and documented
//! text of each problem it finds in damaged archives.

// A test fails by panicking; `expect` says what was expected.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};

use puqbackup::verify::EARLY_DATA_FROM;
use puqbackup::zipfile::Layout;
use support::{
    Member, Tree, archive_bytes, exit_code, list_line, members, message_of, problems, puqbackup,
    sample_config, stdout, verify_json, write_file, write_zip,
};
use tempfile::TempDir;

/// The documented texts the messages must start with.
const EMPTY_FILE_LIST: &str = "Empty list of files in file with file list";
const FILE_COUNT_MISMATCH: &str =
    "The number of files in the archive does not match the list of files in the file";
const FILE_NAME_MISMATCH: &str = "Mismatch between files in archive and list of files";
const UNZIP: &str = "Failed to unzip file:";
const OPEN_ARCHIVE: &str = "Failed to open archive, ERROR:";
const EMPTY_ARCHIVE: &str = "Empty archive";
const BACKUP_READER: &str = "Error backup reader:";

/// A fresh archive of the sample tree, as taken-apart members.
fn sample_members() -> Vec<Member> {
    members(&archive_bytes(sample_config().path()))
}

/// Replaces the data of the member `name`.
fn set_data(members: &mut [Member], name: &str, data: &[u8]) {
    let member = members
        .iter_mut()
        .find(|member| member.name == name)
        .unwrap_or_else(|| panic!("no member `{name}`"));
    member.data = data.to_vec();
}

/// Verifies `bytes` (written to a file) with `--json` and `extra` arguments,
/// expecting exit status 1; answers the report.
fn verify_invalid(bytes: &[u8], extra: &[&str]) -> serde_json::Value {
    let folder = TempDir::new().unwrap();
    let path = write_file(folder.path(), "damaged.zip", bytes);
    let (code, mut reports) = verify_json(extra, &[&path]);
    assert_eq!(reports.len(), 1);
    let report = reports.remove(0);
    assert_eq!(code, 1, "exit status for an invalid archive: {report:#}");
    assert_eq!(report["valid"], false, "{report:#}");
    report
}

/// Asserts that `report` has a `code` problem whose message starts with
/// `text`, and answers that message.
fn assert_problem(report: &serde_json::Value, code: &str, text: &str) -> String {
    let message = message_of(report, code);
    assert!(
        message.starts_with(text),
        "`{code}` message does not start with `{text}`: {message}"
    );
    message
}

/// Writes a fresh archive of the sample tree into `folder`.
fn fresh_archive(folder: &Path) -> PathBuf {
    support::create_in(sample_config().path(), None, folder).path
}

/// A fresh archive verifies: exit status 0 and a human verdict of valid.
#[test]
fn a_fresh_archive_is_valid() {
    let folder = TempDir::new().unwrap();
    let archive = fresh_archive(folder.path());

    let output = puqbackup().arg("verify").arg(&archive).output().unwrap();
    assert_eq!(exit_code(&output), 0, "{output:?}");
    let text = stdout(&output);
    assert!(
        text.starts_with(&format!("{}: valid (", archive.display())),
        "{text}"
    );
    assert!(!text.contains("error"), "{text}");
}

/// `--json` prints one object per archive, one per line, in argument order,
/// each with `archive`, `valid` and `problems`.
#[test]
fn json_prints_one_object_per_archive() {
    let folder = TempDir::new().unwrap();
    let valid = fresh_archive(folder.path());
    let invalid = write_file(folder.path(), "not.zip", b"plain text, not a zip archive\n");

    let (code, reports) = verify_json(&[], &[&valid, &invalid, &valid]);
    assert_eq!(code, 1);
    assert_eq!(reports.len(), 3);
    let verdicts: Vec<(&str, bool)> = reports
        .iter()
        .map(|report| {
            assert!(report["problems"].is_array(), "{report}");
            (
                report["archive"].as_str().expect("archive is a string"),
                report["valid"].as_bool().expect("valid is a bool"),
            )
        })
        .collect();
    let (valid, invalid) = (valid.to_str().unwrap(), invalid.to_str().unwrap());
    assert_eq!(verdicts, [(valid, true), (invalid, false), (valid, true)]);
    assert_eq!(problems(&reports[0]), []);
}

/// With several archives, one missing file makes the exit status 2 even
/// beside an invalid one, and every archive is still reported.
#[test]
fn an_unreadable_archive_wins_over_an_invalid_one() {
    let folder = TempDir::new().unwrap();
    let valid = fresh_archive(folder.path());
    let invalid = write_file(folder.path(), "not.zip", b"plain text");
    let missing = folder.path().join("missing.zip");

    assert_eq!(verify_json(&[], &[&valid, &valid]).0, 0);
    assert_eq!(verify_json(&[], &[&valid, &invalid]).0, 1);
    let (code, reports) = verify_json(&[], &[&valid, &missing, &invalid]);
    assert_eq!(code, 2);
    assert_eq!(reports.len(), 3);
    assert_eq!(reports[1]["readable"], false);
    message_of(&reports[1], "unreadable");
    assert_eq!(verify_json(&[], &[&missing]).0, 2);
}

/// A file that is not a zip is `not-a-zip`, led by the open-archive text.
#[test]
fn a_file_that_is_not_a_zip_is_reported() {
    let report = verify_invalid(b"This is not a zip. At all.\n", &[]);
    assert_problem(&report, "not-a-zip", OPEN_ARCHIVE);
}

/// Rebuilding an archive's members with the `zip` crate keeps it valid, so
/// the damage in the tests below is the only thing wrong with their input.
#[test]
fn a_rebuilt_archive_is_still_valid() {
    let folder = TempDir::new().unwrap();
    let path = write_file(folder.path(), "rebuilt.zip", &write_zip(&sample_members()));
    let (code, reports) = verify_json(&[], &[&path]);
    assert_eq!(code, 0, "{:#}", reports[0]);
}

/// An archive without the file list is `file-list-missing`.
#[test]
fn a_missing_file_list_is_reported() {
    let mut members = sample_members();
    members.retain(|member| member.name != "filelist.sha256");
    let report = verify_invalid(&write_zip(&members), &[]);
    assert_problem(&report, "file-list-missing", EMPTY_FILE_LIST);
}

/// A file list without a line is `file-list-empty`.
#[test]
fn an_empty_file_list_is_reported() {
    let mut members = sample_members();
    set_data(&mut members, "filelist.sha256", b"");
    let report = verify_invalid(&write_zip(&members), &[]);
    assert_problem(&report, "file-list-empty", EMPTY_FILE_LIST);
}

/// A list naming one file more than the archive holds is
/// `file-count-mismatch`.
#[test]
fn a_count_mismatch_is_reported() {
    let mut members = sample_members();
    let mut list = members[0].data.clone();
    list.extend_from_slice(list_line("config/ghost.conf", b"boo").as_bytes());
    set_data(&mut members, "filelist.sha256", &list);

    let report = verify_invalid(&write_zip(&members), &[]);
    let message = assert_problem(&report, "file-count-mismatch", FILE_COUNT_MISMATCH);
    assert!(message.contains('5') && message.contains('6'), "{message}");
}

/// A file renamed inside the archive is `file-name-mismatch`, naming both the
/// listed file that is missing and the file that is not listed.
#[test]
fn a_name_mismatch_names_both_files() {
    let mut members = sample_members();
    let bob = members
        .iter_mut()
        .find(|member| member.name == "config/clients/bob.conf")
        .unwrap();
    bob.name = "config/clients/carol.conf".to_string();

    let report = verify_invalid(&write_zip(&members), &[]);
    let message = assert_problem(&report, "file-name-mismatch", FILE_NAME_MISMATCH);
    assert!(message.contains("`config/clients/bob.conf`"), "{message}");
    assert!(message.contains("`config/clients/carol.conf`"), "{message}");
    let codes: Vec<String> = problems(&report)
        .into_iter()
        .map(|(code, _)| code)
        .collect();
    assert!(
        !codes.contains(&"file-count-mismatch".to_string()),
        "{codes:?}"
    );
}

/// Names that carry terminal commands or direction overrides reach a
/// person's terminal escaped: the human report and the error lines show
/// `\u{1b}` and `\u{202e}`, never the characters themselves.
#[test]
fn names_reach_the_terminal_escaped() {
    let mut members = sample_members();
    let bob = members
        .iter_mut()
        .find(|member| member.name == "config/clients/bob.conf")
        .unwrap();
    bob.name = "config/clients/\u{1b}[2J\u{202e}fnoc.bob".to_string();
    let folder = TempDir::new().unwrap();
    let path = write_file(folder.path(), "hostile.zip", &write_zip(&members));

    let output = puqbackup().arg("verify").arg(&path).output().unwrap();
    assert_eq!(exit_code(&output), 1, "{output:?}");
    let report = stdout(&output);
    assert!(report.contains("INVALID"), "{report}");
    assert!(report.contains("\\u{1b}[2J\\u{202e}fnoc.bob"), "{report}");
    for hidden in ['\u{1b}', '\u{202e}'] {
        assert!(
            !report.contains(hidden),
            "{hidden:?} unescaped in {report:?}"
        );
    }

    let site = TempDir::new().unwrap();
    let output = puqbackup()
        .arg("restore")
        .arg(&path)
        .arg("--config-dir")
        .arg(site.path().join("config"))
        .output()
        .unwrap();
    assert_eq!(exit_code(&output), 1, "{output:?}");
    let error = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(error.contains("\\u{1b}"), "{error}");
    for hidden in ['\u{1b}', '\u{202e}'] {
        assert!(!error.contains(hidden), "{hidden:?} unescaped in {error:?}");
    }
}

/// One flipped byte inside a deflated entry's data is caught by the reader:
/// `crc-mismatch` or `data-corrupt` on that entry, led by the unzip text.
#[test]
fn a_flipped_byte_in_deflated_data_is_reported() {
    let config = Tree::new();
    let text: String = (0..2000)
        .map(|line| format!("peer {line} allowed 10.0.{line}.0/24\n"))
        .collect();
    config
        .file("peers.conf", &text)
        .file("wg0.conf", "[Interface]\n");
    let mut bytes = archive_bytes(config.path());

    let layout = Layout::read(bytes.as_slice()).unwrap();
    let entry = layout
        .entries
        .iter()
        .find(|entry| entry.central.name == b"config/peers.conf")
        .unwrap();
    assert_eq!(entry.central.method, 8, "the entry is deflated");
    let start = entry.data_offset().unwrap() as usize;
    let middle = start + entry.central.compressed_size as usize / 2;
    bytes[middle] ^= 0x55;

    let report = verify_invalid(&bytes, &[]);
    let found: Vec<(String, String)> = problems(&report)
        .into_iter()
        .filter(|(code, _)| code == "crc-mismatch" || code == "data-corrupt")
        .collect();
    assert!(!found.is_empty(), "{report:#}");
    for (_, message) in found {
        assert!(message.starts_with(UNZIP), "{message}");
        assert!(message.contains("config/peers.conf"), "{message}");
    }
}

/// Damage in the file list's own data is reported by the list check, which
/// cannot read the list, and again by the data check of its entry.
/// The two read it once between them when it reads to its end (stored, as
/// this tool writes it), and the data check reads it again when it does
/// not (deflated, with the stream broken). A list of a few hundred files is
/// read by the checks; one of over a mebibyte, while the structure is read.
#[test]
fn damage_in_the_file_list_is_reported_by_the_list_and_the_data_checks() {
    for (files, padding) in [(300, 0), (4_600, 160)] {
        let config = Tree::new();
        let long = "x".repeat(padding);
        for index in 0..files {
            config.file(
                &format!("peers/{index}{long}.conf"),
                format!("peer {index}\n"),
            );
        }
        damage_in_the_file_list(&archive_bytes(config.path()));
    }
}

fn damage_in_the_file_list(stored: &[u8]) {
    let deflated = write_zip(&members(stored));
    let stored = stored.to_vec();
    for (pristine, method, codes) in [
        (stored, 0, ["crc-mismatch"].as_slice()),
        (
            deflated,
            8,
            ["crc-mismatch", "data-corrupt", "size-mismatch"].as_slice(),
        ),
    ] {
        let layout = Layout::read(pristine.as_slice()).unwrap();
        let list = layout
            .entries
            .iter()
            .find(|entry| entry.central.name == b"filelist.sha256")
            .unwrap();
        assert_eq!(list.central.method, method);
        let start = list.data_offset().unwrap() as usize;
        let length = list.central.compressed_size as usize;
        for at in [start + length / 2, start + length - 3] {
            let mut bytes = pristine.clone();
            bytes[at] ^= 0x55;
            let report = verify_invalid(&bytes, &[]);
            let on_list: Vec<(String, String)> = problems(&report)
                .into_iter()
                .filter(|(_, message)| message.contains("`filelist.sha256`"))
                .collect();
            // The list check's problem, then at least one of the data's.
            assert!(on_list.len() >= 2, "{report:#}");
            assert!(codes.contains(&on_list[0].0.as_str()), "{report:#}");
            assert!(
                on_list[1..]
                    .iter()
                    .any(|(code, _)| codes.contains(&code.as_str())),
                "{report:#}"
            );
        }
    }
}

/// Changed content with a correct CRC but the old hash in the list is
/// `hash-mismatch`: the SHA-256 is checked, not only the CRC.
#[test]
fn changed_content_with_a_fresh_crc_is_a_hash_mismatch() {
    let mut members = sample_members();
    set_data(
        &mut members,
        "config/wg0.conf",
        b"[Interface]\nPrivateKey = y\n",
    );

    let report = verify_invalid(&write_zip(&members), &[]);
    let message = assert_problem(&report, "hash-mismatch", UNZIP);
    assert!(message.contains("config/wg0.conf"), "{message}");
    let codes: Vec<String> = problems(&report)
        .into_iter()
        .map(|(code, _)| code)
        .collect();
    assert_eq!(codes, ["hash-mismatch"], "only the hash differs");
}

/// A zip with no entry at all is `empty-archive`.
#[test]
fn an_archive_without_entries_is_empty() {
    let report = verify_invalid(&write_zip(&[]), &[]);
    assert_problem(&report, "empty-archive", EMPTY_ARCHIVE);
}

/// `--max-size` caps the declared size: a 4 KiB file under a 1 KiB cap is
/// `size-limit`, and the default cap accepts the same archive.
#[test]
fn max_size_caps_the_declared_size() {
    let config = Tree::new();
    config.file("big.conf", vec![b'x'; 4096]);
    let bytes = archive_bytes(config.path());

    let report = verify_invalid(&bytes, &["--max-size", "1K"]);
    assert_problem(&report, "size-limit", BACKUP_READER);

    let folder = TempDir::new().unwrap();
    let path = write_file(folder.path(), "ok.zip", &bytes);
    assert_eq!(verify_json(&[], &[&path]).0, 0);
}

/// Verification goes on after the first problem: a renamed file, a changed
/// file and a missing metadata file are all reported together.
#[test]
fn several_problems_are_reported_at_once() {
    let mut members = sample_members();
    members.retain(|member| member.name != "metadata.json");
    set_data(&mut members, "config/wg0.conf", b"changed");
    members
        .iter_mut()
        .find(|member| member.name == "config/clients/alice.conf")
        .unwrap()
        .name = "config/clients/mallory.conf".to_string();

    let report = verify_invalid(&write_zip(&members), &[]);
    assert_problem(&report, "file-count-mismatch", FILE_COUNT_MISMATCH);
    assert_problem(&report, "file-name-mismatch", FILE_NAME_MISMATCH);
    assert_problem(&report, "hash-mismatch", UNZIP);
    assert_problem(&report, "metadata-missing", BACKUP_READER);
}

/// Entries are read while the structure is still being read. When the last
/// end record in the file points to a central directory that fails to
/// decode halfway, the structure is read again from the end record before
/// it; what was read for the entries of the given-up directory must not
/// stand for the real entries. Here the forged directory gives a file a
/// compressed size one byte short, which read would be damage: the verdict
/// has the trailing bytes and no damaged data. The file is the first one
/// that is read early, so that its forged read is the first batch handed
/// over, which is always taken.
#[test]
fn entries_read_for_a_given_up_end_record_do_not_count() {
    let config = sample_config();
    for index in 0..EARLY_DATA_FROM + 100 {
        config.file(
            &format!("peers/{:03}/{index:05}.conf", index % 50),
            format!("peer {index} {}\n", "ab".repeat(index % 40)),
        );
    }
    let mut bytes = archive_bytes(config.path());
    let real = Layout::read(&bytes).unwrap();
    let directory_start = usize::try_from(real.central_directory_offset).unwrap();
    let directory_end = directory_start + usize::try_from(real.central_directory_size).unwrap();

    // The real directory again, the compressed size (at 20 in a central
    // header) of the first file read early one short, then a header cut
    // off inside its name.
    let mut forged = bytes[directory_start..directory_end].to_vec();
    let victim = real
        .entries
        .iter()
        .skip(EARLY_DATA_FROM)
        .find(|entry| entry.central.name != b"filelist.sha256" && entry.central.compressed_size > 0)
        .unwrap();
    let at = usize::try_from(victim.central.offset).unwrap() - directory_start + 20;
    let size = u32::from_le_bytes(forged[at..at + 4].try_into().unwrap());
    forged[at..at + 4].copy_from_slice(&(size - 1).to_le_bytes());
    let mut cut = vec![0u8; 46];
    cut[..4].copy_from_slice(&0x0201_4b50u32.to_le_bytes());
    cut[28..30].copy_from_slice(&200u16.to_le_bytes());
    forged.extend_from_slice(&cut);

    let forged_offset = u32::try_from(bytes.len()).unwrap();
    let entries = u16::try_from(real.entries.len() + 1).unwrap();
    bytes.extend_from_slice(&forged);
    bytes.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    bytes.extend_from_slice(&[0, 0, 0, 0]);
    bytes.extend_from_slice(&entries.to_le_bytes());
    bytes.extend_from_slice(&entries.to_le_bytes());
    bytes.extend_from_slice(&u32::try_from(forged.len()).unwrap().to_le_bytes());
    bytes.extend_from_slice(&forged_offset.to_le_bytes());
    bytes.extend_from_slice(&[0, 0]);

    // The archive read is the real one, with the forgery as trailing bytes.
    let read = Layout::read(&bytes).unwrap();
    assert_eq!(read.central_directory_offset, real.central_directory_offset);
    assert!(read.trailing_bytes > 0);

    let report = verify_invalid(&bytes, &[]);
    let codes: Vec<String> = problems(&report)
        .into_iter()
        .map(|(code, _)| code)
        .collect();
    assert!(codes.contains(&"trailing-bytes".to_string()), "{report:#}");
    for code in &codes {
        assert!(
            !matches!(
                code.as_str(),
                "data-corrupt" | "crc-mismatch" | "size-mismatch" | "hash-mismatch"
            ),
            "a read of the forged directory was taken for the real entry: {report:#}"
        );
    }
}
