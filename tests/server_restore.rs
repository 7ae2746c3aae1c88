//! Restore through the backups API server: what it puts in place, and that
//! every refusal and failure answers its documented text and leaves the live
//! trees exactly as they were.

// A test fails by panicking; `expect` says what was expected.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod server_support;

use puqbackup::catalogue::ApiError;
use server_support::{HOST, Mount, TestServer, folder_names, tree_contents, write_file};

/// A name in the backup format.
fn name_at(time: &str) -> String {
    format!("{HOST}_{time}.zip")
}

/// `PUT /api/v1/backups/restore` with `form`.
fn restore(server: &TestServer, form: &str) -> server_support::Answer {
    server.form("PUT", "/api/v1/backups/restore", form)
}

/// A restore puts the backup's configuration and statistics in place of the
/// live ones, answers `success`, and the status is `OK` again.
#[test]
fn restore_replaces_the_live_trees_with_the_backups() {
    let server = TestServer::start_with(|settings| {
        write_file(
            &settings.data_dir.join("statistics"),
            "traffic/alice.log",
            b"alice 10\n",
        );
    });
    let config_then = tree_contents(&server.config_dir());
    let statistics_then = tree_contents(&server.statistics_dir());
    let name = server.create(true);
    write_file(&server.config_dir(), "wireguard/wg0.conf", b"changed\n");
    write_file(&server.config_dir(), "added/new.conf", b"new\n");
    std::fs::remove_file(server.config_dir().join("panel/settings.json")).unwrap();
    write_file(&server.statistics_dir(), "traffic/alice.log", b"alice 99\n");
    assert_ne!(tree_contents(&server.config_dir()), config_then);

    let msg = restore(&server, &format!("backup_name={name}")).success();

    assert_eq!(msg, "success");
    assert_eq!(tree_contents(&server.config_dir()), config_then);
    assert_eq!(tree_contents(&server.statistics_dir()), statistics_then);
    let status = server.get("/api/v1/system/status").success();
    assert_eq!(status["status"], "OK");
    assert_eq!(server.listed(), [name]);
}

/// A failing health check refuses the restore with `PUQVPNCP status not OK`
/// and 409, before anything changes.
#[test]
fn restore_refuses_when_the_status_is_not_ok() {
    let server = TestServer::start_with(|settings| {
        settings.health_command = vec!["false".to_string()];
    });
    let name = name_at("2026-01-05_10-00-00");
    server.place_fixture("valid-config-only.zip", &name);
    let before = tree_contents(&server.config_dir());

    restore(&server, &format!("backup_name={name}")).refused(409, ApiError::StatusNotOk.text());

    assert_eq!(tree_contents(&server.config_dir()), before);
}

/// An unknown name, a name with a path in it and an empty or missing name
/// answer `There is no backup with this name` with 404.
#[test]
fn restore_refuses_a_name_that_is_no_backup() {
    let server = TestServer::start();
    server.place_fixture("valid-config-only.zip", &name_at("2026-01-05_10-00-00"));
    server.place_fixture("valid-config-only.zip", "../x.zip");
    std::fs::create_dir(server.backups_dir().join("a")).unwrap();
    server.place_fixture("valid-config-only.zip", "a/b.zip");
    let before = tree_contents(&server.config_dir());

    for form in [
        format!("backup_name={}", name_at("2026-01-05_10-00-01")),
        "backup_name=../x.zip".to_string(),
        "backup_name=..%2Fx.zip".to_string(),
        "backup_name=a/b.zip".to_string(),
        "backup_name=a".to_string(),
        "backup_name=".to_string(),
        String::new(),
    ] {
        let error = restore(&server, &form).refused(404, ApiError::NoSuchBackup.text());
        assert!(!error.is_empty(), "{form}");
        assert_eq!(tree_contents(&server.config_dir()), before, "{form}");
    }
}

/// Each damaged archive is refused with the documented text of its fault
/// and 422; the live trees stay as they were and nothing is left beside
/// them.
#[test]
fn restore_refuses_each_kind_of_damaged_archive() {
    let server = TestServer::start_with(|settings| {
        write_file(
            &settings.data_dir.join("statistics"),
            "traffic/alice.log",
            b"alice 10\n",
        );
    });
    let cases = [
        ("path-traversal.zip", ApiError::BackupReader),
        ("symlink.zip", ApiError::BackupReader),
        ("foreign-entry.zip", ApiError::BackupReader),
        ("missing-metadata.zip", ApiError::BackupReader),
        ("malformed-file-list.zip", ApiError::BackupReader),
        ("empty-file-list.zip", ApiError::EmptyFileList),
        ("no-file-list.zip", ApiError::EmptyFileList),
        ("empty.zip", ApiError::EmptyArchive),
        ("count-mismatch.zip", ApiError::FileCountMismatch),
        ("name-mismatch.zip", ApiError::FileNameMismatch),
        ("not-a-zip.zip", ApiError::OpenArchive),
        ("truncated.zip", ApiError::OpenArchive),
        ("overlapping-entries.zip", ApiError::OpenArchive),
        ("crc-mismatch.zip", ApiError::Unzip),
        ("hash-mismatch.zip", ApiError::Unzip),
        ("corrupt-deflate.zip", ApiError::Unzip),
        ("encrypted.zip", ApiError::Unzip),
    ];
    let config_before = tree_contents(&server.config_dir());
    let statistics_before = tree_contents(&server.statistics_dir());
    let data_before = folder_names(&server.data_dir());

    for (index, (fixture_name, error)) in cases.iter().enumerate() {
        let name = name_at(&format!("2026-01-05_10-00-{index:02}"));
        server.place_fixture(fixture_name, &name);

        let answer = restore(&server, &format!("backup_name={name}"));

        let text = answer.refused(422, error.text());
        assert!(text.len() > error.text().len(), "{fixture_name}: no cause");
        assert_eq!(
            tree_contents(&server.config_dir()),
            config_before,
            "{fixture_name}"
        );
        assert_eq!(
            tree_contents(&server.statistics_dir()),
            statistics_before,
            "{fixture_name}"
        );
        assert_eq!(
            folder_names(&server.data_dir()),
            data_before,
            "{fixture_name}"
        );
        let status = server.get("/api/v1/system/status").success();
        assert_eq!(status["status"], "OK", "{fixture_name}");
    }
}

/// When the live configuration cannot be moved aside (it is a mount point),
/// restore answers `Unable to delete old configuration:` and the live tree
/// is unchanged.
#[test]
fn restore_reports_a_configuration_it_cannot_move_aside() {
    let mut server = TestServer::start();
    let name = name_at("2026-01-05_10-00-00");
    server.place_fixture("valid-config-only.zip", &name);
    server.keep(Mount::tmpfs(&server.config_dir(), "size=1m"));
    write_file(&server.config_dir(), "wireguard/wg0.conf", b"[Interface]\n");
    write_file(&server.config_dir(), "panel/settings.json", b"{}\n");
    let before = tree_contents(&server.config_dir());
    let data_before = folder_names(&server.data_dir());

    let text = restore(&server, &format!("backup_name={name}"))
        .refused(500, ApiError::DeleteOldConfiguration.text());

    assert!(text.contains("config"), "{text}");
    assert_eq!(tree_contents(&server.config_dir()), before);
    assert_eq!(folder_names(&server.data_dir()), data_before);
    let status = server.get("/api/v1/system/status").success();
    assert_eq!(status["status"], "OK");
}

/// When the statistics tree's folder is read-only, so that its staging
/// folder cannot be made, restore answers `Failed to create folder:` and
/// both live trees are unchanged.
#[test]
fn restore_reports_a_staging_folder_it_cannot_create() {
    let mut mount = None;
    let mut server = TestServer::start_with(|settings| {
        let filesystem = settings.data_dir.join("statistics-fs");
        std::fs::create_dir_all(&filesystem).unwrap();
        let mounted = Mount::tmpfs(&filesystem, "size=1m");
        write_file(&filesystem, "statistics/traffic/alice.log", b"alice 10\n");
        mounted.make_read_only();
        settings.statistics_dir = Some(filesystem.join("statistics"));
        mount = Some(mounted);
    });
    server.keep(mount.take().unwrap());
    let name = name_at("2026-01-05_10-00-00");
    server.place_fixture("valid-with-statistics.zip", &name);
    let config_before = tree_contents(&server.config_dir());
    let statistics_before = tree_contents(&server.statistics_dir());
    let data_before = folder_names(&server.data_dir());

    let text = restore(&server, &format!("backup_name={name}"))
        .refused(500, ApiError::CreateFolder.text());

    assert!(text.contains("Read-only file system"), "{text}");
    assert_eq!(tree_contents(&server.config_dir()), config_before);
    assert_eq!(tree_contents(&server.statistics_dir()), statistics_before);
    assert_eq!(folder_names(&server.data_dir()), data_before);
}

/// When the statistics tree's file system runs out of inodes after its
/// staging folders, restore answers `Failed to create file:` and both live
/// trees are unchanged.
#[test]
fn restore_reports_a_file_it_cannot_create() {
    let mut mount = None;
    let mut server = TestServer::start_with(|settings| {
        let filesystem = settings.data_dir.join("statistics-fs");
        std::fs::create_dir_all(&filesystem).unwrap();
        // Four inodes: the root, the live tree, its staging folder and the
        // archive's `statistics/traffic/`; its first file finds none left.
        let mounted = Mount::tmpfs(&filesystem, "size=1m,nr_inodes=4");
        std::fs::create_dir(filesystem.join("statistics")).unwrap();
        settings.statistics_dir = Some(filesystem.join("statistics"));
        mount = Some(mounted);
    });
    server.keep(mount.take().unwrap());
    let name = name_at("2026-01-05_10-00-00");
    server.place_fixture("valid-with-statistics.zip", &name);
    let config_before = tree_contents(&server.config_dir());
    let data_before = folder_names(&server.data_dir());

    let text =
        restore(&server, &format!("backup_name={name}")).refused(500, ApiError::CreateFile.text());

    assert!(text.contains("alice.log"), "{text}");
    assert_eq!(tree_contents(&server.config_dir()), config_before);
    assert!(tree_contents(&server.statistics_dir()).is_empty());
    assert_eq!(folder_names(&server.data_dir()), data_before);
    assert_eq!(
        folder_names(&server.data_dir().join("statistics-fs")),
        ["statistics"]
    );
}

/// While the reload command runs after a restore, the status is
/// `Loading (...)` and a second restore is refused with `PUQVPNCP status not
/// OK`; once it has run, the status is `OK` again.
#[test]
fn the_status_is_loading_while_the_reload_command_runs() {
    let marker = tempfile::TempDir::new().unwrap();
    let started = marker.path().join("reload-started");
    let script = format!("touch {} && sleep 2", started.display());
    let server = TestServer::start_with(|settings| {
        settings.reload_command = vec!["sh".to_string(), "-c".to_string(), script];
    });
    let name = server.create(false);
    let form = format!("backup_name={name}");

    std::thread::scope(|scope| {
        let restoring = scope.spawn(|| {
            server
                .form("PUT", "/api/v1/backups/restore", &form)
                .success()
        });
        assert!(
            server.wait_for(std::time::Duration::from_secs(10), || started.exists()),
            "the reload command never ran"
        );
        let status = server.get("/api/v1/system/status").success();
        let text = status["status"].as_str().unwrap().to_string();
        assert!(text.starts_with("Loading ("), "{status}");
        server
            .form("PUT", "/api/v1/backups/restore", &form)
            .refused(409, ApiError::StatusNotOk.text());
        restoring.join().unwrap();
    });

    assert_eq!(
        server.get("/api/v1/system/status").success()["status"],
        "OK"
    );
}
