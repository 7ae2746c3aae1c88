//! Backups end to end: create with and without statistics, list, download,
//! retention, and a backups folder that cannot be written.

use puqbackup::catalogue::ApiError;
use puqbackup::conformance::Method;

use crate::harness::{BACKUPS, DATA, Stack, refused, sha256_hex};

/// Creates with and without statistics are listed newest first with their
/// documented fields, a download is byte-identical to the file in the
/// container, and the downloaded archive verifies offline.
#[test]
fn create_list_and_download() {
    let stack = Stack::api_only();
    stack.api_exec_ok(&[
        "sh",
        "-c",
        &format!("mkdir -p {DATA}/statistics/traffic && echo 'alice 10' > {DATA}/statistics/traffic/alice.log"),
    ]);

    let plain = stack.create(false);
    // Names have a one-second resolution; a pause keeps them ordered.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let with_statistics = stack.create(true);

    let msg = stack.success(Method::Get, "/api/v1/backups", &[]);
    let entries = msg["backups"].as_array().unwrap();
    let names: Vec<&str> = entries
        .iter()
        .map(|entry| entry["backup_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, [with_statistics.as_str(), plain.as_str()]);
    for entry in entries {
        let date = entry["creation_date"].as_str().unwrap();
        chrono::DateTime::parse_from_rfc3339(date)
            .unwrap_or_else(|error| panic!("creation_date `{date}`: {error}"));
        assert!(
            entry["size"].is_number() || entry["size"].is_string(),
            "{entry}"
        );
    }

    // The alias lists the same.
    let alias = stack.success(Method::Get, "/api/v1/system/backups", &[]);
    assert_eq!(alias, msg);

    let folder = tempfile::tempdir().unwrap();
    for name in [&plain, &with_statistics] {
        let answer = stack.send(Method::Get, &format!("/api/v1/backups/{name}"), &[]);
        assert_eq!(answer.code, 200, "{}", answer.describe());
        let inside = stack
            .api_exec_ok(&["sha256sum", &format!("{BACKUPS}/{name}")])
            .stdout;
        let digest = sha256_hex(&answer.body);
        assert!(
            inside.starts_with(&digest),
            "{name}: {inside} against {digest}"
        );

        // Statistics are in the one backup that was asked for them.
        let archive = zip::ZipArchive::new(std::io::Cursor::new(&answer.body)).unwrap();
        let has_statistics = archive
            .file_names()
            .any(|entry| entry.is_ok_and(|entry| entry.starts_with("statistics/")));
        assert_eq!(has_statistics, name == &with_statistics, "{name}");

        let path = folder.path().join(name);
        std::fs::write(&path, &answer.body).unwrap();
        let verify = std::process::Command::new(env!("CARGO_BIN_EXE_puqbackup"))
            .arg("verify")
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            verify.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&verify.stdout)
        );
    }
}

/// When the backups folder cannot be written, a create answers `Error
/// backup creation:` with its cause, and nothing is listed.
#[test]
fn an_unwritable_backups_folder_fails_the_create() {
    let stack = Stack::api_only();
    stack.api_exec_ok(&["chmod", "0555", BACKUPS]);

    let answer = stack.send(Method::Post, "/api/v1/backups", &[("statistics", "0")]);
    let text = refused(&answer, 500, ApiError::BackupCreation.text());
    assert!(
        text.len() > ApiError::BackupCreation.text().len() + 1,
        "{text}"
    );

    stack.api_exec_ok(&["chmod", "0700", BACKUPS]);
    assert!(stack.listed().is_empty());
    let leftovers = stack.api_exec_ok(&["ls", "-A", BACKUPS]).stdout;
    assert_eq!(leftovers.trim(), "", "leftovers in the backups folder");
}

/// Retention keeps exactly `number_backups`: the newest ones.
#[test]
fn retention_keeps_exactly_number_backups() {
    let stack = Stack::api_only();
    stack.configure(&[("number_backups", "2")]);
    let mut made = Vec::new();
    for _ in 0..4 {
        made.push(stack.create(false));
        std::thread::sleep(std::time::Duration::from_millis(1100));
    }
    let listed = stack.listed();
    assert_eq!(listed, [made[3].clone(), made[2].clone()]);
    let files = stack.api_exec_ok(&["ls", "-A", BACKUPS]).stdout;
    assert_eq!(files.lines().count(), 2, "{files}");
}
