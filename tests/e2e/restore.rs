//! Restore end to end: a backup replaces the live configuration and the
//! status comes back to `OK`; every documented refusal and failure is
//! reached through a real mechanism in the container, and leaves the live
//! configuration as it was.

use std::process::Command;
use std::time::Duration;

use puqbackup::catalogue::ApiError;
use puqbackup::conformance::Method;

use crate::harness::{BACKUPS, DATA, PANEL_DOWN, Stack, StackBuilder, name_at, refused};

/// The default configuration tree of the API container.
const CONFIG: &str = "/var/lib/puqbackup/config";

/// `PUT /api/v1/backups/restore` of `name`.
fn restore(stack: &Stack, name: &str) -> puqbackup::conformance::Answer {
    stack.send(
        Method::Put,
        "/api/v1/backups/restore",
        &[("backup_name", name)],
    )
}

/// Waits for the status to be `OK`; panics with the last one otherwise.
fn wait_for_ok(stack: &Stack) {
    let mut last = String::new();
    let ok = stack.wait_for(Duration::from_secs(30), || {
        let msg = stack.success(Method::Get, "/api/v1/system/status", &[]);
        last = msg["status"].as_str().unwrap_or_default().to_string();
        last == "OK"
    });
    assert!(ok, "the status stayed `{last}`");
}

/// A restore puts the backup's configuration in place of the changed live
/// one, and the status goes back to `OK`.
#[test]
fn restore_replaces_the_live_configuration() {
    let stack = Stack::api_only();
    let then = stack.api_tree(CONFIG);
    let name = stack.create(false);
    stack.api_exec_ok(&[
        "sh",
        "-c",
        &format!("echo changed > {CONFIG}/wireguard/wg0.conf && echo new > {CONFIG}/added.conf"),
    ]);
    assert_ne!(stack.api_tree(CONFIG), then);

    let msg = stack.success(
        Method::Put,
        "/api/v1/backups/restore",
        &[("backup_name", &name)],
    );

    assert_eq!(msg, "success");
    assert_eq!(stack.api_tree(CONFIG), then);
    wait_for_ok(&stack);
}

/// A failing health check: `PUQVPNCP status not OK` (409), nothing changes.
#[test]
fn restore_refused_while_the_status_is_not_ok() {
    let stack = Stack::api_only();
    let name = stack.create(false);
    stack.api_exec_ok(&["touch", PANEL_DOWN]);
    let status = stack.success(Method::Get, "/api/v1/system/status", &[]);
    assert_ne!(status["status"], "OK", "{status}");
    let before = stack.api_tree(CONFIG);

    refused(&restore(&stack, &name), 409, ApiError::StatusNotOk.text());

    assert_eq!(stack.api_tree(CONFIG), before);
    stack.api_exec_ok(&["rm", PANEL_DOWN]);
    wait_for_ok(&stack);
}

/// A name no backup has, for a restore and for a download: `There is no
/// backup with this name` (404).
#[test]
fn restore_and_download_of_an_unknown_name() {
    let stack = Stack::api_only();
    stack.create(false);
    let absent = name_at("1999-01-01_00-00-00");
    for name in [absent.as_str(), "../config", ""] {
        refused(&restore(&stack, name), 404, ApiError::NoSuchBackup.text());
    }
    let answer = stack.send(Method::Get, &format!("/api/v1/backups/{absent}"), &[]);
    refused(&answer, 404, ApiError::NoSuchBackup.text());
}

/// Each malformed archive placed into the backups folder is refused with
/// its documented text, and the live configuration stays as it was.
#[test]
fn malformed_archives_in_the_backups_folder_are_refused() {
    let stack = Stack::api_only();
    let cases = [
        ("path-traversal.zip", 422, ApiError::BackupReader),
        ("symlink.zip", 422, ApiError::BackupReader),
        ("malformed-file-list.zip", 422, ApiError::BackupReader),
        ("empty-file-list.zip", 422, ApiError::EmptyFileList),
        ("no-file-list.zip", 422, ApiError::EmptyFileList),
        ("empty.zip", 422, ApiError::EmptyArchive),
        ("count-mismatch.zip", 422, ApiError::FileCountMismatch),
        ("name-mismatch.zip", 422, ApiError::FileNameMismatch),
        ("not-a-zip.zip", 422, ApiError::OpenArchive),
        ("truncated.zip", 422, ApiError::OpenArchive),
        ("crc-mismatch.zip", 422, ApiError::Unzip),
        ("hash-mismatch.zip", 422, ApiError::Unzip),
        ("corrupt-deflate.zip", 422, ApiError::Unzip),
    ];
    let before = stack.api_tree(CONFIG);
    for (index, (fixture, code, error)) in cases.iter().enumerate() {
        let name = name_at(&format!("2026-01-05_10-00-{index:02}"));
        stack.place_fixture(fixture, &name);
        let answer = restore(&stack, &name);
        let text = refused(&answer, *code, error.text());
        assert!(
            text.len() > error.text().len(),
            "{fixture}: no cause in `{text}`"
        );
        assert_eq!(stack.api_tree(CONFIG), before, "{fixture}");
    }
    wait_for_ok(&stack);
}

/// A backup file the server's user cannot read: `Error backup reader:`.
#[test]
fn an_unreadable_backup_file() {
    let stack = Stack::api_only();
    let name = name_at("2026-01-05_10-00-00");
    stack.place_fixture("valid-config-only.zip", &name);
    stack.api_root_ok(&["chown", "root:root", &format!("{BACKUPS}/{name}")]);
    stack.api_root_ok(&["chmod", "0600", &format!("{BACKUPS}/{name}")]);

    refused(&restore(&stack, &name), 500, ApiError::BackupReader.text());
}

/// A malformed archive sent through the upload endpoint is refused with its
/// documented text and leaves nothing in the backups folder.
#[test]
fn a_malformed_upload_is_refused() {
    let stack = Stack::api_only();
    let fixture =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/name-mismatch.zip");
    let name = name_at("2026-01-05_10-00-00");
    let output = Command::new("curl")
        .args(["-s", "--max-time", "30", "-b"])
        .arg(format!("access_hash={}", stack.hash))
        .args(["-H", "Content-Type: application/zip", "--data-binary"])
        .arg(format!("@{}", fixture.display()))
        .arg(format!(
            "{}/api/v1/backups/upload?backup_name={name}",
            stack.url
        ))
        .output()
        .expect("curl runs");
    let body: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("{error}: {}", String::from_utf8_lossy(&output.stdout)));
    let text = body["error"].as_str().unwrap();
    assert!(
        text.starts_with(ApiError::FileNameMismatch.text()),
        "{body}"
    );
    assert!(stack.listed().is_empty());
    let files = stack.api_exec_ok(&["ls", "-A", BACKUPS]).stdout;
    assert_eq!(files.trim(), "");
}

/// A live configuration that is a mount point cannot be moved aside:
/// `Unable to delete old configuration:`, and it stays as it was.
#[test]
fn a_configuration_that_is_a_mount_point() {
    let stack = StackBuilder::default()
        .api_tmpfs(CONFIG, "size=1m,mode=1777")
        .start();
    // The folder existed, so no sample was written into it: a tree of our
    // own, backed up, then changed.
    stack.api_exec_ok(&[
        "sh",
        "-c",
        &format!("mkdir -p {CONFIG}/wireguard && echo '[Interface]' > {CONFIG}/wireguard/wg0.conf"),
    ]);
    let name = stack.create(false);
    stack.api_exec_ok(&[
        "sh",
        "-c",
        &format!("echo changed > {CONFIG}/wireguard/wg0.conf"),
    ]);
    let before = stack.api_tree(CONFIG);

    refused(
        &restore(&stack, &name),
        500,
        ApiError::DeleteOldConfiguration.text(),
    );

    assert_eq!(stack.api_tree(CONFIG), before);
    let leftovers = stack.api_exec_ok(&["ls", "-A", DATA]).stdout;
    assert!(!leftovers.contains("staging"), "{leftovers}");
    wait_for_ok(&stack);
}

/// A statistics tree whose parent folder the server cannot write: its
/// staging folder cannot be made, `Failed to create folder:`.
#[test]
fn a_statistics_tree_in_a_folder_that_cannot_be_written() {
    let stack = StackBuilder::default()
        .api_tmpfs("/srv/statistics", "size=1m,mode=1777")
        .setting("statistics_dir = \"/srv/statistics\"")
        .start();
    stack.api_exec_ok(&["sh", "-c", "echo 'alice 10' > /srv/statistics/alice.log"]);
    let name = stack.create(true);
    let config = stack.api_tree(CONFIG);
    let statistics = stack.api_tree("/srv/statistics");

    refused(&restore(&stack, &name), 500, ApiError::CreateFolder.text());

    assert_eq!(stack.api_tree(CONFIG), config);
    assert_eq!(stack.api_tree("/srv/statistics"), statistics);
}

/// A file system with an inode for the staging folder and none for a file:
/// `Failed to create file:`.
#[test]
fn a_file_system_without_free_inodes() {
    // Eight inodes hold the sample configuration and the tmpfs root; one
    // more is free.
    let stack = StackBuilder::default()
        .api_tmpfs("/srv/panel", "size=1m,nr_inodes=9,mode=1777")
        .setting("config_dir = \"/srv/panel/config\"")
        .start();
    // A configuration of one file, and the inodes it frees taken by
    // other files, so that only the staging folder still fits.
    stack.api_exec_ok(&[
        "sh",
        "-c",
        "cd /srv/panel/config && mv wireguard/wg0.conf . && rm -r wireguard panel && touch ../a ../b ../c ../d ../e",
    ]);
    let name = stack.create(false);
    let before = stack.api_tree("/srv/panel/config");

    refused(&restore(&stack, &name), 500, ApiError::CreateFile.text());

    assert_eq!(stack.api_tree("/srv/panel/config"), before);
}

/// A file system that fills up while the archive is extracted: the write
/// fails with `Failed to unzip file:` and the cause, and the live
/// configuration stays as it was.
#[test]
fn a_file_system_that_fills_up_during_extraction() {
    let stack = StackBuilder::default()
        .api_tmpfs("/srv/panel", "size=2m,mode=1777")
        .setting("config_dir = \"/srv/panel/config\"")
        .start();
    stack.api_exec_ok(&[
        "sh",
        "-c",
        "head -c 786432 /dev/urandom > /srv/panel/config/peers.db",
    ]);
    let name = stack.create(false);
    // Leave less room than the backup's configuration needs.
    stack.api_exec_ok(&[
        "sh",
        "-c",
        "head -c 1048576 /dev/zero > /srv/panel/filler || true",
    ]);
    let before = stack.api_tree("/srv/panel/config");

    let text = refused(&restore(&stack, &name), 500, ApiError::Unzip.text());
    assert!(text.contains("No space left on device"), "{text}");
    assert_eq!(stack.api_tree("/srv/panel/config"), before);
    let leftovers = stack.api_exec_ok(&["ls", "-A", "/srv/panel"]).stdout;
    assert_eq!(
        leftovers.split_whitespace().collect::<Vec<_>>(),
        ["config", "filler"]
    );
}
