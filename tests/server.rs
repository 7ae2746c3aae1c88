//! The backups API server over real HTTP: who may call it, the backups it
//! lists, makes, serves, deletes and takes in, its backup settings, and the
//! envelope of every answer.

// A test fails by panicking; `expect` says what was expected.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod server_support;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use chrono::DateTime;
use puqbackup::catalogue::{ApiError, Endpoint};
use puqbackup::verify::{VerifyOptions, verify_path};
use server_support::{Cookie, HOST, TestServer, entry_names, fixture, tree_contents, write_file};

const FORM: &str = "application/x-www-form-urlencoded";

/// A request: method, path, and a body with its content type.
type Request<'a> = (&'a str, &'a str, Option<(&'a str, Vec<u8>)>);

/// A name in the backup format, for an archive placed by a test.
fn name_at(time: &str) -> String {
    format!("{HOST}_{time}.zip")
}

/// Every endpoint refuses, with `Not authorized` and 401 and nothing done,
/// a request without a cookie, with a malformed hash, an unknown hash, a
/// revoked hash, and a hash bound to another address (also when the request
/// claims that address in `X-Forwarded-For`).
#[test]
fn every_endpoint_refuses_a_request_without_a_valid_hash() {
    let server = TestServer::start();
    let placed = name_at("2026-01-05_10-00-00");
    server.place_fixture("valid-config-only.zip", &placed);
    let settings_before = server.get("/api/v1/backups/config").success();
    let upload = std::fs::read(fixture("valid-config-only.zip")).unwrap();
    let download = format!("/api/v1/backups/{placed}");
    let requests: Vec<Request<'_>> = vec![
        ("GET", "/api/v1/backups", None),
        ("GET", "/api/v1/system/backups", None),
        (
            "POST",
            "/api/v1/backups",
            Some((FORM, b"statistics=1".to_vec())),
        ),
        (
            "PUT",
            "/api/v1/backups/restore",
            Some((FORM, format!("backup_name={placed}").into_bytes())),
        ),
        ("GET", &download, None),
        ("GET", "/api/v1/backups/config", None),
        (
            "PUT",
            "/api/v1/backups/config",
            Some((FORM, b"number_backups=3&every_hour=1".to_vec())),
        ),
        ("GET", "/api/v1/system/status", None),
        ("DELETE", &download, None),
        (
            "POST",
            "/api/v1/backups/upload?backup_name=test.host_2026-01-06_10-00-00.zip",
            Some(("application/zip", upload)),
        ),
    ];
    let unknown = "0123456789abcdef".repeat(5);
    let uppercase = server.hashes.valid.to_uppercase();
    let other_name = format!("session={}", server.hashes.valid);
    let cookies = [
        ("no cookie", Cookie::None),
        ("an empty hash", Cookie::Hash("")),
        ("a malformed hash", Cookie::Hash("not-a-hash")),
        ("an upper-case hash", Cookie::Hash(&uppercase)),
        ("a hash under another cookie name", Cookie::Raw(&other_name)),
        ("an unknown hash", Cookie::Hash(&unknown)),
        ("a revoked hash", Cookie::Hash(&server.hashes.revoked)),
        (
            "a hash bound to 10.9.9.9",
            Cookie::Hash(&server.hashes.elsewhere),
        ),
    ];
    let config_before = tree_contents(&server.config_dir());

    for (method, path, body) in &requests {
        for (what, cookie) in cookies {
            let answer = server.send(method, path, cookie, body.clone(), &[]);
            let json = answer.json();
            assert_eq!(answer.status, 401, "{method} {path} with {what}: {json}");
            assert_eq!(
                json,
                serde_json::json!({"error": "Not authorized", "msg": "", "status": "error"}),
                "{method} {path} with {what}"
            );
        }
    }

    // Without trusted proxies, a forwarded address is not believed.
    let forwarded = server.send(
        "GET",
        "/api/v1/backups",
        Cookie::Hash(&server.hashes.elsewhere),
        None,
        &[("X-Forwarded-For", "10.9.9.9")],
    );
    forwarded.refused(401, ApiError::NotAuthorized.text());

    assert_eq!(server.backups_folder_names(), [placed]);
    assert_eq!(
        server.get("/api/v1/backups/config").success(),
        settings_before
    );
    assert_eq!(tree_contents(&server.config_dir()), config_before);
    for endpoint in Endpoint::ALL {
        assert_eq!(endpoint.errors()[0], ApiError::NotAuthorized);
    }
}

/// On a first start, with no access store, `prepare` makes one hash that
/// works from 127.0.0.1; the hash is found among other cookies too.
#[test]
fn the_first_start_makes_a_hash_that_works_from_loopback() {
    let server = TestServer::start_fresh();
    let hash = server.hashes.valid.clone();
    assert_eq!(hash.len(), 80);

    server.get("/api/v1/backups").success();
    let among_others = format!("theme=dark; access_hash={hash}; lang=en");
    let answer = server.send(
        "GET",
        "/api/v1/backups",
        Cookie::Raw(&among_others),
        None,
        &[],
    );
    answer.success();
}

/// A backup made without statistics is valid, holds no `statistics/`, and
/// its answer names it, dates it and sizes it as the list does.
#[test]
fn create_without_statistics_makes_a_valid_backup_without_them() {
    let server = TestServer::start_with(|settings| {
        write_file(
            &settings.data_dir.join("statistics"),
            "traffic.json",
            b"{\"alice\": 1}",
        );
    });

    let msg = server
        .form("POST", "/api/v1/backups", "statistics=0")
        .success();

    let name = msg["backup_name"].as_str().unwrap();
    assert!(name.starts_with(&format!("{HOST}_")) && name.ends_with(".zip"));
    let path = server.backups_dir().join(name);
    let report = verify_path(&path, &VerifyOptions::default(), &mut |_, _| {});
    assert!(report.valid, "{:?}", report.problems);
    assert!(!report.metadata.unwrap().statistics);
    let bytes = std::fs::read(&path).unwrap();
    let entries = entry_names(&bytes);
    assert!(entries.iter().any(|entry| entry.starts_with("config/")));
    assert!(
        !entries.iter().any(|entry| entry.starts_with("statistics/")),
        "{entries:?}"
    );
    let listed = server.get("/api/v1/backups").success();
    assert_eq!(listed["backups"][0], msg);
}

/// `statistics=1` puts the statistics tree into the backup, and the archive
/// served by download is valid.
#[test]
fn create_with_statistics_includes_the_statistics_tree() {
    let server = TestServer::start_with(|settings| {
        write_file(
            &settings.data_dir.join("statistics"),
            "traffic.json",
            b"{\"alice\": 1}",
        );
    });

    let name = server.create(true);

    let downloaded = server.get(&format!("/api/v1/backups/{name}"));
    assert_eq!(downloaded.status, 200);
    let copy = server.root().join("downloaded.zip");
    std::fs::write(&copy, &downloaded.body).unwrap();
    let report = verify_path(&copy, &VerifyOptions::default(), &mut |_, _| {});
    assert!(report.valid, "{:?}", report.problems);
    assert!(report.metadata.unwrap().statistics);
    let entries = entry_names(&downloaded.body);
    assert!(
        entries.contains(&"statistics/traffic.json".to_string()),
        "{entries:?}"
    );
}

/// `statistics` other than 0 or 1 is refused with 400 and nothing is made.
#[test]
fn create_refuses_a_statistics_value_other_than_0_or_1() {
    let server = TestServer::start();

    server
        .form("POST", "/api/v1/backups", "statistics=yes")
        .refused(400, "`statistics` must be 0 or 1");

    assert!(server.backups_folder_names().is_empty());
}

/// The list is newest first by the time in the name; each entry has the
/// name, an RFC 3339 date with nanoseconds and offset, and the size in
/// megabytes; files that are not backups are left out; the alias answers
/// the same.
#[test]
fn the_list_is_newest_first_with_name_date_and_size() {
    let server = TestServer::start();
    let names = [
        name_at("2025-12-31_23-59-59"),
        name_at("2026-01-02_08-00-00"),
        name_at("2026-01-01_12-30-00"),
    ];
    for name in &names {
        server.place_fixture("valid-config-only.zip", name);
    }
    std::fs::write(server.backups_dir().join("notes.txt"), b"not a backup").unwrap();
    std::fs::write(server.backups_dir().join(".upload-1.partial"), b"partial").unwrap();

    let msg = server.get("/api/v1/backups").success();

    let backups = msg["backups"].as_array().unwrap();
    let listed: Vec<&str> = backups
        .iter()
        .map(|backup| backup["backup_name"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [&names[1], &names[2], &names[0]]);
    let bytes = std::fs::metadata(fixture("valid-config-only.zip"))
        .unwrap()
        .len();
    for backup in backups {
        let date = backup["creation_date"].as_str().unwrap();
        DateTime::parse_from_rfc3339(date).expect("an RFC 3339 date");
        let fraction = date.split('.').nth(1).expect("a fraction of a second");
        assert_eq!(fraction.len(), "123456789+00:00".len(), "{date}");
        assert!(fraction[..9].bytes().all(|b| b.is_ascii_digit()), "{date}");
        assert!(date.ends_with("+00:00"), "{date}");
        let size = backup["size"].as_f64().unwrap();
        let expected = (bytes as f64 / 1_000_000.0 * 10_000.0).round() / 10_000.0;
        assert_eq!(size, expected);
    }
    assert_eq!(server.get("/api/v1/system/backups").success(), msg);
}

/// With `time_zone` set, names and dates are in that zone's local time, as
/// the schedules are.
#[test]
fn names_and_dates_follow_the_configured_time_zone() {
    let server = TestServer::start_with(|settings| {
        settings.time_zone = Some("Europe/Warsaw".to_string());
    });

    let msg = server
        .form("POST", "/api/v1/backups", "statistics=0")
        .success();

    let warsaw = chrono::Utc::now().with_timezone(&chrono_tz::Europe::Warsaw);
    let offset = warsaw.format("%:z").to_string();
    let date = msg["creation_date"].as_str().unwrap();
    assert!(date.ends_with(&offset), "`{date}` is not at {offset}");
    let name = msg["backup_name"].as_str().unwrap();
    let hour = warsaw.format("%Y-%m-%d_%H").to_string();
    assert!(
        name.starts_with(&format!("{HOST}_{hour}")),
        "`{name}` is not named in Warsaw's time ({hour})"
    );
}

/// Download answers the file byte for byte with its length, an attachment
/// name and the zip type; a byte range answers 206 with those bytes.
#[test]
fn download_serves_the_file_whole_or_by_range() {
    let server = TestServer::start();
    let name = server.create(false);
    let file = std::fs::read(server.backups_dir().join(&name)).unwrap();
    let path = format!("/api/v1/backups/{name}");

    let whole = server.get(&path);
    assert_eq!(whole.status, 200);
    assert!(whole.body == file, "the download differs from the file");
    assert_eq!(
        whole.header("content-length"),
        Some(file.len().to_string().as_str())
    );
    assert_eq!(whole.header("content-type"), Some("application/zip"));
    assert_eq!(
        whole.header("content-disposition"),
        Some(format!("attachment; filename=\"{name}\"").as_str())
    );

    let hash = server.hashes.valid.clone();
    let part = server.send(
        "GET",
        &path,
        Cookie::Hash(&hash),
        None,
        &[("Range", "bytes=10-99")],
    );
    assert_eq!(part.status, 206);
    assert_eq!(
        part.header("content-range"),
        Some(format!("bytes 10-99/{}", file.len()).as_str())
    );
    assert_eq!(part.header("content-length"), Some("90"));
    assert!(part.body == file[10..100]);

    let tail = server.send(
        "GET",
        &path,
        Cookie::Hash(&hash),
        None,
        &[("Range", "bytes=-16")],
    );
    assert_eq!(tail.status, 206);
    assert!(tail.body == file[file.len() - 16..]);

    let beyond = format!("bytes={}-", file.len());
    let refused = server.send(
        "GET",
        &path,
        Cookie::Hash(&hash),
        None,
        &[("Range", &beyond)],
    );
    refused.refused(416, "the range cannot be served");
    assert_eq!(
        refused.header("content-range"),
        Some(format!("bytes */{}", file.len()).as_str())
    );
}

/// Download and delete of a name that is no backup, path tricks included,
/// answer 404 with `There is no backup with this name`.
#[test]
fn download_and_delete_of_an_unknown_name_answer_404() {
    let server = TestServer::start();
    server.place_fixture("valid-config-only.zip", &name_at("2026-01-05_10-00-00"));
    std::fs::write(server.data_dir().join("secret.zip"), b"outside").unwrap();

    for name in [
        name_at("2026-01-05_10-00-01"),
        "..%2Fsecret.zip".to_string(),
        "notes.zip".to_string(),
    ] {
        let path = format!("/api/v1/backups/{name}");
        server
            .get(&path)
            .refused(404, ApiError::NoSuchBackup.text());
        server
            .form("DELETE", &path, "")
            .refused(404, ApiError::NoSuchBackup.text());
    }
    assert!(server.data_dir().join("secret.zip").exists());
    assert_eq!(server.backups_folder_names().len(), 1);
}

/// Delete removes that backup's local file and nothing else.
#[test]
fn delete_removes_only_that_backup() {
    let server = TestServer::start();
    let kept = name_at("2026-01-05_10-00-00");
    let deleted = name_at("2026-01-05_11-00-00");
    server.place_fixture("valid-config-only.zip", &kept);
    server.place_fixture("valid-config-only.zip", &deleted);

    let msg = server
        .send(
            "DELETE",
            &format!("/api/v1/backups/{deleted}"),
            Cookie::Hash(&server.hashes.valid),
            None,
            &[],
        )
        .success();

    assert_eq!(msg, "success");
    assert_eq!(server.listed(), std::slice::from_ref(&kept));
    assert_eq!(server.backups_folder_names(), [kept]);
}

/// A valid backup uploaded as the body is stored byte for byte under the
/// name asked for, or under the name in its metadata, and listed; a name
/// already taken is refused with 409 and nothing left behind.
#[test]
fn upload_accepts_a_valid_backup_and_lists_it() {
    let server = TestServer::start();
    let bytes = std::fs::read(fixture("valid-with-statistics.zip")).unwrap();
    let wanted = name_at("2026-02-01_08-00-00");

    let msg = server
        .send(
            "POST",
            &format!("/api/v1/backups/upload?backup_name={wanted}"),
            Cookie::Hash(&server.hashes.valid),
            Some(("application/zip", bytes.clone())),
            &[],
        )
        .success();

    assert_eq!(msg["backup_name"], wanted.as_str());
    assert!(std::fs::read(server.backups_dir().join(&wanted)).unwrap() == bytes);
    let unnamed = server
        .send(
            "POST",
            "/api/v1/backups/upload",
            Cookie::Hash(&server.hashes.valid),
            Some(("application/zip", bytes.clone())),
            &[],
        )
        .success();
    let from_metadata = unnamed["backup_name"].as_str().unwrap().to_string();
    assert_ne!(from_metadata, wanted);
    let again = server.send(
        "POST",
        &format!("/api/v1/backups/upload?backup_name={wanted}"),
        Cookie::Hash(&server.hashes.valid),
        Some(("application/zip", bytes.clone())),
        &[],
    );
    again.refused(409, &format!("a backup named `{wanted}` already exists"));
    let mut listed = server.listed();
    listed.sort();
    let mut expected = vec![wanted, from_metadata];
    expected.sort();
    assert_eq!(listed, expected);
    assert_eq!(server.backups_folder_names(), expected);
}

/// A damaged upload is refused with 422 and the documented text of its
/// fault, and leaves nothing in the backups folder, no hidden file either.
#[test]
fn upload_refuses_a_damaged_archive_and_leaves_nothing() {
    let server = TestServer::start();
    let cases = [
        ("crc-mismatch.zip", ApiError::Unzip),
        ("not-a-zip.zip", ApiError::OpenArchive),
        ("empty.zip", ApiError::EmptyArchive),
        ("count-mismatch.zip", ApiError::FileCountMismatch),
    ];

    for (fixture_name, error) in cases {
        let bytes = std::fs::read(fixture(fixture_name)).unwrap();
        let answer = server.send(
            "POST",
            &format!(
                "/api/v1/backups/upload?backup_name={}",
                name_at("2026-02-01_08-00-00")
            ),
            Cookie::Hash(&server.hashes.valid),
            Some(("application/zip", bytes)),
            &[],
        );
        answer.refused(422, error.text());
        assert!(
            server.backups_folder_names().is_empty(),
            "{fixture_name}: {:?}",
            server.backups_folder_names()
        );
    }
    assert!(server.listed().is_empty());
}

/// Retention keeps exactly `number_backups`, the newest; backups made in the
/// same second get distinct names.
#[test]
fn retention_keeps_the_newest_number_backups() {
    let server = TestServer::start();
    server.configure("number_backups=2");

    let names: Vec<String> = (0..3).map(|_| server.create(false)).collect();

    assert_eq!(
        names
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        3,
        "{names:?}"
    );
    assert_eq!(server.listed(), [names[2].clone(), names[1].clone()]);
    let mut on_disk = server.backups_folder_names();
    on_disk.sort();
    let mut expected = vec![names[1].clone(), names[2].clone()];
    expected.sort();
    assert_eq!(on_disk, expected);
}

/// When the backups folder cannot be written to (a file stands in its
/// place), create answers `Error backup creation:` with 500.
#[test]
fn create_reports_a_backups_folder_it_cannot_write() {
    let server = TestServer::start();
    std::fs::remove_dir(server.backups_dir()).unwrap();
    std::fs::write(server.backups_dir(), b"a file, not a folder").unwrap();

    server
        .form("POST", "/api/v1/backups", "statistics=0")
        .refused(500, ApiError::BackupCreation.text());

    assert_eq!(
        std::fs::read(server.backups_dir()).unwrap(),
        b"a file, not a folder"
    );
}

/// A FIFO in the configuration tree makes create answer `Error backup
/// creation:` naming it, without waiting on it and without leaving a file.
#[test]
fn create_refuses_a_special_file_in_the_configuration() {
    let server = TestServer::start();
    let fifo = server.config_dir().join("wireguard").join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());

    let error = server
        .form("POST", "/api/v1/backups", "statistics=0")
        .refused(500, ApiError::BackupCreation.text());

    assert!(error.contains("pipe"), "{error}");
    assert!(server.backups_folder_names().is_empty());
}

/// Unknown paths answer 404 and known paths with another method 405, in the
/// envelope.
#[test]
fn unknown_endpoints_and_methods_answer_in_the_envelope() {
    let server = TestServer::start();

    server
        .get("/api/v1/nothing")
        .refused(404, "no such endpoint");
    server
        .form("DELETE", "/api/v1/backups", "")
        .refused(405, "this endpoint does not take that method");
    server
        .form("POST", "/api/v1/backups/config", "number_backups=3")
        .refused(405, "this endpoint does not take that method");
    server
        .get("/api/v1/backups/restore")
        .refused(405, "this endpoint does not take that method");
}

/// The settings put are the settings got; they are saved with mode 0600
/// outside the configuration tree, so no backup holds the FTP password.
#[test]
fn backup_settings_round_trip_and_stay_private() {
    let server = TestServer::start();
    let form = "backup_to_ftp=1&every_day=1&every_day_hour=14&every_day_minute=45\
        &every_day_statistics=0&every_hour=1&every_hour_minute=40&every_hour_statistics=1\
        &ftp_password=QWEqwe123-private&ftp_path=home/dev&ftp_server=ftp.example.org\
        &ftp_server_port=2121&ftp_user=puqvpncp&number_backups=7";

    let put = server.configure(form);

    let got = server.get("/api/v1/backups/config").success();
    assert_eq!(put, got);
    let expected = serde_json::json!({
        "backup_to_ftp": true, "every_day": true, "every_day_hour": 14,
        "every_day_minute": 45, "every_day_statistics": false, "every_hour": true,
        "every_hour_minute": 40, "every_hour_statistics": true,
        "ftp_password": "QWEqwe123-private", "ftp_path": "home/dev",
        "ftp_server": "ftp.example.org", "ftp_server_port": 2121, "ftp_user": "puqvpncp",
        "number_backups": 7, "ftp_tls": false,
    });
    assert_eq!(got, expected);

    let file = server.state.settings.backup_settings_file();
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    assert!(!file.starts_with(server.config_dir()));
    assert!(!file.starts_with(server.statistics_dir()));
    let stored = std::fs::read_to_string(&file).unwrap();
    assert!(stored.contains("QWEqwe123-private"));
    for (path, content) in tree_contents(&server.config_dir()) {
        let content = content.unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&content).contains("QWEqwe123-private"),
            "{path} holds the password"
        );
    }

    // A partial change keeps the other values.
    let changed = server.configure("backup_to_ftp=0&number_backups=3");
    assert_eq!(changed["number_backups"], 3);
    assert_eq!(changed["backup_to_ftp"], false);
    assert_eq!(changed["every_day_hour"], 14);
    assert_eq!(changed["ftp_password"], "QWEqwe123-private");
}

/// Each documented validation text answers 400 for its field, the settings
/// stay as they were, and with several faults the first in the reference's
/// order answers.
#[test]
fn set_configuration_refuses_each_documented_fault() {
    let server = TestServer::start();
    let before = server.get("/api/v1/backups/config").success();
    let cases = [
        ("every_hour_minute=60", ApiError::HourlyMinuteRange),
        ("every_hour_minute=-1", ApiError::HourlyMinuteRange),
        ("every_day_hour=24", ApiError::DailyHourRange),
        ("every_day_minute=60", ApiError::DailyMinuteRange),
        ("number_backups=0", ApiError::NumberBackupsRange),
        ("number_backups=-3", ApiError::NumberBackupsRange),
        (
            "backup_to_ftp=1&ftp_user=u&ftp_password=p",
            ApiError::FtpServerMissing,
        ),
        (
            "backup_to_ftp=1&ftp_server=h&ftp_password=p",
            ApiError::FtpUserMissing,
        ),
        (
            "backup_to_ftp=1&ftp_server=h&ftp_user=u",
            ApiError::FtpPasswordMissing,
        ),
        (
            "backup_to_ftp=1&ftp_server=%20&ftp_user=u&ftp_password=p",
            ApiError::FtpServerMissing,
        ),
        // Several faults: the reference's order decides.
        (
            "number_backups=0&every_day_minute=99&every_day_hour=30&every_hour_minute=70",
            ApiError::HourlyMinuteRange,
        ),
        (
            "number_backups=0&every_day_minute=99&every_day_hour=30",
            ApiError::DailyHourRange,
        ),
        (
            "number_backups=0&every_day_minute=99",
            ApiError::DailyMinuteRange,
        ),
        (
            "backup_to_ftp=1&number_backups=0",
            ApiError::NumberBackupsRange,
        ),
        ("backup_to_ftp=1", ApiError::FtpServerMissing),
        ("backup_to_ftp=1&ftp_server=h", ApiError::FtpUserMissing),
        ("every_hour_minute=abc", ApiError::HourlyMinuteRange),
        ("number_backups=many", ApiError::NumberBackupsRange),
    ];

    for (form, error) in cases {
        let text = server
            .form("PUT", "/api/v1/backups/config", form)
            .refused(400, error.text());
        if !error.takes_cause() && text != error.text() {
            assert!(
                text.starts_with(&format!("{}: ", error.text())),
                "{form}: {text}"
            );
        }
        assert_eq!(server.get("/api/v1/backups/config").success(), before);
    }
}

/// FTP fields are needed only with `backup_to_ftp=1`; a bad port, a flag
/// other than 0/1 and a parameter given twice are refused with 400.
#[test]
fn set_configuration_checks_ftp_fields_ports_flags_and_repeats() {
    let server = TestServer::start();

    let saved = server.configure("backup_to_ftp=0&ftp_server=&ftp_user=&ftp_password=");
    assert_eq!(saved["backup_to_ftp"], false);
    let before = server.get("/api/v1/backups/config").success();

    let refusals = [
        ("ftp_server_port=70000", "`ftp_server_port`"),
        ("ftp_server_port=0", "`ftp_server_port`"),
        ("ftp_server_port=twenty-one", "`ftp_server_port`"),
        ("every_day=yes", "`every_day` must be 0 or 1"),
        ("backup_to_ftp=2", "`backup_to_ftp` must be 0 or 1"),
        ("every_hour_statistics=on", "`every_hour_statistics`"),
        (
            "number_backups=3&number_backups=4",
            "the parameter `number_backups` is given more than once",
        ),
    ];
    for (form, text) in refusals {
        let error = server
            .form("PUT", "/api/v1/backups/config", form)
            .refused(400, "");
        assert!(error.contains(text), "{form}: {error}");
        assert_eq!(server.get("/api/v1/backups/config").success(), before);
    }

    // The same parameter in the query and in the body is given twice too.
    server
        .form(
            "PUT",
            "/api/v1/backups/config?number_backups=3",
            "number_backups=4",
        )
        .refused(
            400,
            "the parameter `number_backups` is given more than once",
        );
    assert_eq!(server.get("/api/v1/backups/config").success(), before);
}

/// The status endpoint answers `OK` on a healthy server, and a failing
/// health command makes it a failure text.
#[test]
fn status_reports_ok_or_the_failed_health_check() {
    let healthy = TestServer::start();
    let msg = healthy.get("/api/v1/system/status").success();
    assert_eq!(msg["status"], "OK");
    assert_eq!(msg["time_zone"], "UTC");

    let failing = TestServer::start_with(|settings| {
        settings.health_command = vec!["false".to_string()];
    });
    let msg = failing.get("/api/v1/system/status").success();
    let status = msg["status"].as_str().unwrap();
    assert!(status.starts_with("Error (health check failed"), "{status}");
}

/// `serve_on` returns `Ok` soon after its shutdown future completes.
#[test]
fn the_server_stops_when_asked() {
    let mut server = TestServer::start();
    server.get("/api/v1/backups").success();

    assert!(server.stop_within(Duration::from_secs(5)));
}
