//! `puqbackup inspect` run as a program: on a backup that `create` wrote, and
//! on every file of the ziplinter peer corpus, archives written by other tools
//! with the anomalies their `readme.*` files describe.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test whose own setup fails should stop right there"
)]

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::cargo::cargo_bin_cmd;
use serde_json::Value;

/// The peer corpus: beside the repository clone in CI, in `/work/shared`
/// on a developer machine. Missing, it fails the test rather than skip it.
fn corpus() -> PathBuf {
    let beside = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/peer-corpora/ziplinter");
    let fallback = PathBuf::from("/work/shared/peer-corpora/ziplinter");
    [beside, fallback]
        .into_iter()
        .find(|path| path.is_dir())
        .expect("the ziplinter peer corpus is neither beside the repository nor in /work/shared")
}

fn peer(name: &str) -> PathBuf {
    let path = corpus().join(name);
    assert!(path.is_file(), "peer file `{}` is missing", path.display());
    path
}

/// Runs `inspect --json` on `archive`; answers the exit code and the JSON.
fn inspect_json(archive: &Path) -> (i32, Value) {
    let output = cargo_bin_cmd!("puqbackup")
        .arg("inspect")
        .arg("--json")
        .arg(archive)
        .output()
        .unwrap();
    let code = output
        .status
        .code()
        .unwrap_or_else(|| panic!("inspect of `{}` died by a signal", archive.display()));
    let json = serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "inspect of `{}` (exit {code}) printed no JSON: {error}; stderr: {}",
            archive.display(),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (code, json)
}

/// The entries of an inspection, and the names of those entries.
fn entries(json: &Value) -> &Vec<Value> {
    json["entries"].as_array().expect("`entries` is an array")
}

fn names(json: &Value) -> Vec<&str> {
    entries(json)
        .iter()
        .map(|entry| entry["name"].as_str().expect("an entry has a name"))
        .collect()
}

/// Writes a small configuration tree and backs it up with `create`; answers
/// the folder (kept alive) and the archive's path.
fn created_backup() -> (tempfile::TempDir, PathBuf) {
    let folder = tempfile::tempdir().unwrap();
    let config = folder.path().join("config");
    fs::create_dir_all(config.join("peers")).unwrap();
    fs::write(config.join("wg0.conf"), "[Interface]\nListenPort = 51820\n").unwrap();
    // Long enough to shrink when deflated; wg0.conf is too short to.
    let alice = "[Peer]\nAllowedIPs = 10.0.0.2/32\n".repeat(8);
    fs::write(config.join("peers/alice.conf"), alice).unwrap();
    let out = folder.path().join("out");
    fs::create_dir(&out).unwrap();

    let output = cargo_bin_cmd!("puqbackup")
        .args(["create", "--host", "test.host", "--json", "--config-dir"])
        .arg(&config)
        .arg("--out-dir")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "create failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let created: Value = serde_json::from_slice(&output.stdout).unwrap();
    let path = PathBuf::from(created["path"].as_str().expect("create names its `path`"));
    (folder, path)
}

/// A backup that `create` wrote shows its entries with their methods (a
/// file that deflate would not shrink is stored), the file list first and
/// matching every file, and the metadata parsed.
#[test]
fn created_backup_is_described() {
    let (_folder, archive) = created_backup();
    let (code, json) = inspect_json(&archive);

    assert_eq!(code, 0);
    assert_eq!(json["is_zip"], true);
    assert_eq!(
        names(&json),
        vec![
            "filelist.sha256",
            "config/",
            "config/peers/",
            "config/peers/alice.conf",
            "config/wg0.conf",
            "metadata.json",
        ]
    );
    let methods: Vec<&str> = entries(&json)
        .iter()
        .map(|entry| entry["method"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        methods,
        vec!["stored", "stored", "stored", "deflate", "stored", "deflate"]
    );
    let wg0 = &entries(&json)[4];
    assert_eq!(wg0["uncompressed_size"], 31);
    assert_eq!(wg0["kind"], "file");
    assert_eq!(
        wg0["unix_mode"]["text"].as_str().map(|text| &text[..1]),
        Some("-")
    );

    let list = &json["backup"]["file_list"];
    assert_eq!(list["present"], true);
    assert_eq!(list["position"], 0);
    assert_eq!(list["is_first_entry"], true);
    assert_eq!(list["lines"], 3);
    assert_eq!(list["malformed_line_count"], 0);
    assert_eq!(list["crc32_matches"], true);
    assert_eq!(
        list["comparison"]["listed_but_missing"],
        Value::Array(vec![])
    );
    assert_eq!(
        list["comparison"]["present_but_unlisted"],
        Value::Array(vec![])
    );

    let metadata = &json["backup"]["metadata"];
    assert_eq!(metadata["is_last_entry"], true);
    assert_eq!(metadata["content"]["host"], "test.host");
    assert_eq!(metadata["content"]["tree_files"], 2);
}

/// The text form of the same backup has the sections in order: summary, end
/// record, entries, backup part.
#[test]
fn created_backup_reads_as_text() {
    let (_folder, archive) = created_backup();
    let output = cargo_bin_cmd!("puqbackup")
        .arg("inspect")
        .arg(&archive)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));

    let text = String::from_utf8(output.stdout).unwrap();
    let at = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("`{needle}` missing from:\n{text}"))
    };
    assert!(at("archive `") < at("end of central directory record at offset"));
    assert!(at("end of central directory record") < at("entry #0 `filelist.sha256`"));
    assert!(at("entry #5 `metadata.json`") < at("\nbackup\n"));
    assert!(text.contains("file list `filelist.sha256`: entry #0 (the first)"));
    assert!(text.contains("the list names exactly the files in the archive"));
}

/// Every file of the peer corpus, zip or not, is described without a crash:
/// exit 0 for a zip, 1 for anything else, and JSON that parses either way.
#[test]
fn every_peer_file_is_described() {
    let mut seen = 0;
    for entry in fs::read_dir(corpus()).unwrap() {
        let path = entry.unwrap().path();
        let (code, json) = inspect_json(&path);
        let is_zip = json["is_zip"].as_bool().expect("`is_zip` is a boolean");
        assert_eq!(
            code,
            if is_zip { 0 } else { 1 },
            "exit of `{}`",
            path.display()
        );
        if path.extension().is_some_and(|extension| extension == "zip") {
            assert!(is_zip, "`{}` is not read as a zip", path.display());
            seen += 1;
        }
    }
    assert!(seen >= 40, "only {seen} zips in the peer corpus");
}

/// A file that is not a zip is still described: its size and why it is not
/// one.
#[test]
fn not_a_zip_exits_one_with_a_reason() {
    let (code, json) = inspect_json(&peer("readme.notzip"));
    assert_eq!(code, 1);
    assert_eq!(json["is_zip"], false);
    assert_eq!(json["file_size"], 27);
    assert!(
        json["not_zip_reason"]
            .as_str()
            .is_some_and(|reason| !reason.is_empty())
    );
}

/// A file that cannot be read exits 2 with a message, not a description.
#[test]
fn unreadable_file_exits_two() {
    let output = cargo_bin_cmd!("puqbackup")
        .args(["inspect", "--json", "/nonexistent/archive.zip"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot open"));
}

/// Three entries named `aaaa` are one duplicate name carried by all three.
#[test]
fn same_names_reports_the_duplicate() {
    let (code, json) = inspect_json(&peer("same-names.zip"));
    assert_eq!(code, 0);
    let duplicates = json["container"]["duplicate_names"].as_array().unwrap();
    assert_eq!(duplicates.len(), 1);
    assert_eq!(duplicates[0]["name"], "aaaa");
    assert_eq!(duplicates[0]["entries"], serde_json::json!([0, 1, 2]));
}

/// Junk after the end record is counted as trailing bytes and a gap.
#[test]
fn trailing_junk_is_counted() {
    let (_, json) = inspect_json(&peer("test-trailing-junk.zip"));
    let trailing = json["container"]["trailing_bytes"].as_u64().unwrap();
    assert!(trailing > 0);
    let gaps = json["container"]["gaps"].as_array().unwrap();
    assert!(gaps.iter().any(|gap| gap["length"] == trailing));
}

/// The 1024 bytes put before the central directory are a gap at their
/// offset.
#[test]
fn data_before_central_directory_is_a_gap() {
    let (_, json) = inspect_json(&peer("test_with_extra_data_before_central_directory.zip"));
    let gaps = json["container"]["gaps"].as_array().unwrap();
    assert!(
        gaps.iter()
            .any(|gap| gap["length"] == 1024 && gap["offset"] == 954),
        "gaps: {gaps:?}"
    );
}

/// A local header that says bzip2 where the central directory says deflate
/// is a disagreement on the compression method.
#[test]
fn mismatched_local_compression_is_a_disagreement() {
    let (_, json) = inspect_json(&peer("test_mismatched_compression_local.zip"));
    let entry = &entries(&json)[0];
    assert_eq!(entry["method"]["number"], 8);
    assert_eq!(entry["local_header"]["method"]["number"], 12);
    let disagreements = entry["header_disagreements"].as_array().unwrap();
    assert!(
        disagreements.iter().any(|text| text
            .as_str()
            .is_some_and(|text| text.starts_with("compression method"))),
        "disagreements: {disagreements:?}"
    );
}

/// A local header name that differs from the central one is shown as such.
#[test]
fn mismatched_names_are_a_disagreement() {
    let (_, json) = inspect_json(&peer("test-mismatched-names.zip"));
    let entry = &entries(&json)[0];
    assert_eq!(entry["name"], "test.txt");
    assert_eq!(entry["local_header"]["name"], "tets.txt");
    assert!(
        entry["header_disagreements"][0]
            .as_str()
            .unwrap()
            .starts_with("name")
    );
}

/// An absolute name is shown as stored, with its leading `/`.
#[test]
fn absolute_name_keeps_its_slash() {
    let (code, json) = inspect_json(&peer("absolute-name.zip"));
    assert_eq!(code, 0);
    assert!(
        names(&json)[0].starts_with('/'),
        "names: {:?}",
        names(&json)
    );
}

/// The ZIP64 records are found and their values replace the saturated ones.
#[test]
fn zip64_records_are_shown() {
    let (_, json) = inspect_json(&peer("zip64.zip"));
    let container = &json["container"];
    assert!(container["zip64_locator"].is_object());
    assert_eq!(container["zip64_end_record"]["entries_total"], 1);
    assert_eq!(
        container["end_record"]["central_directory_offset"],
        u64::from(u32::MAX)
    );
    let entry = &entries(&json)[0];
    assert_eq!(entry["uncompressed_size"], 36);
    let ids: Vec<&Value> = entry["central_extra"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|field| &field["id"])
        .collect();
    assert_eq!(ids, vec![&serde_json::json!(1)]);
}

/// A symlink entry is a symlink, with its mode in both forms.
#[test]
fn symlink_is_a_symlink() {
    let (_, json) = inspect_json(&peer("symlink.zip"));
    let entry = &entries(&json)[0];
    assert_eq!(entry["kind"], "symlink");
    assert_eq!(entry["unix_mode"]["octal"], "120777");
    assert_eq!(entry["unix_mode"]["text"], "lrwxrwxrwx");
}

/// A CP-437 name that is not UTF-8 keeps its raw bytes in hex.
#[test]
fn cp437_name_keeps_its_bytes() {
    let (_, json) = inspect_json(&peer("cp-437.zip"));
    let entry = &entries(&json)[0];
    assert_eq!(entry["name_hex"], "6672616e87616973");
    assert_eq!(entry["version_made_by"]["host_name"], "MS-DOS");
}

/// An encrypted entry shows the flag and its AES extra field, and nothing is
/// decrypted or read.
#[test]
fn encrypted_entry_is_flagged() {
    let (code, json) = inspect_json(&peer("secret.zip"));
    assert_eq!(code, 0);
    let entry = &entries(&json)[0];
    let flags: Vec<&str> = entry["flags"]["names"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(flags.contains(&"encrypted"), "flags: {flags:?}");
    assert!(
        entry["central_extra"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|field| field["kind"] == "AES encryption")
    );
}

/// An entry comment that is binary (a PNG) is given in hex as well as text.
#[test]
fn binary_entry_comment_is_in_hex() {
    let (_, json) = inspect_json(&peer("binary_comment.zip"));
    let comment = &entries(&json)[0]["comment"];
    assert_eq!(comment["length"], 162);
    assert!(comment["hex"].as_str().unwrap().starts_with("89504e47"));
}

/// The archive comment is shown as text when it is plain text.
#[test]
fn archive_comment_is_text() {
    let (_, json) = inspect_json(&peer("test.zip"));
    assert_eq!(
        json["container"]["comment"]["text"],
        "This is a zipfile comment."
    );
    assert_eq!(json["container"]["comment"]["hex"], Value::Null);
}

/// Bytes put before the whole archive are an offset shift, and the local
/// headers are found where the shift puts them.
#[test]
fn concatenated_archive_has_an_offset_shift() {
    let (_, json) = inspect_json(&peer("concatenated.zip"));
    let shift = json["container"]["offset_shift"].as_u64().unwrap();
    assert!(shift > 0);
    let offsets = &entries(&json)[0]["offsets"];
    assert_eq!(
        offsets["local_header"].as_u64(),
        offsets["local_header_declared"]
            .as_u64()
            .map(|declared| declared + shift)
    );
}

/// A data descriptor written after the data is found and decoded.
#[test]
fn data_descriptor_is_decoded() {
    let (_, json) = inspect_json(&peer("dd.zip"));
    let entry = &entries(&json)[0];
    assert_eq!(entry["data_descriptor"]["has_signature"], true);
    assert_eq!(entry["data_descriptor"]["crc32"], entry["crc32"]);
}

/// The extended timestamp's mtime is decoded beside the DOS time.
#[test]
fn extended_timestamp_is_decoded() {
    let (_, json) = inspect_json(&peer("test.zip"));
    let modified = &entries(&json)[0]["modified"];
    assert_eq!(modified["extended_mtime"], 1_283_652_721);
    assert_eq!(modified["extended_mtime_utc"], "2010-09-05T02:12:01Z");
    assert_eq!(modified["dos"], "2010-09-05 12:12:02");
}

/// An archive without the backup's files says so rather than failing.
#[test]
fn foreign_zip_has_no_backup_files() {
    let (code, json) = inspect_json(&peer("test.zip"));
    assert_eq!(code, 0);
    assert_eq!(json["backup"]["file_list"]["present"], false);
    assert_eq!(json["backup"]["metadata"]["present"], false);
}

/// A reader that stops early (a pipe into `head`) ends inspect quietly,
/// text or JSON: no panic on the closed pipe. The output is larger than a
/// pipe's buffer, so a write always meets the closed end.
#[test]
fn closed_pipe_is_not_a_crash() {
    for format in [&["--json"][..], &[][..]] {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin!("puqbackup"))
            .arg("inspect")
            .args(format)
            .arg(peer("long_file_name_comment.zip"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let output = child.wait_with_output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{format:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
