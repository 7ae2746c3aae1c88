//! The API reference's own `curl` examples, run by `sh` against the server
//! with only the address, the hash and the backup names changed.

// A test fails by panicking; `expect` says what was expected.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod server_support;

use std::path::Path;
use std::process::Command;

use server_support::TestServer;

/// The reference's examples, as it writes them.
const LIST: &str = r#"curl \
-b "access_hash=7effe99173b87e9cdebdab66d6fb23c9b244af250cb09b5dd36d8f80d14a8510b2d00bcba7290252" \
-X GET https://dev.softkeel.com/api/v1/system/backups"#;

const CREATE: &str = r#"curl \
-b "access_hash=7b8125b94edbb5baf677286fb186942673afe317e0298601990d4cf3dd37991e399e764f9bc2fd20" \
-d "statistics=1" \
-X POST https://dev.softkeel.com/api/v1/backups"#;

const RESTORE: &str = r#"curl \
-b "access_hash=7b8125b94edbb5baf677286fb186942673afe317e0298601990d4cf3dd37991e399e764f9bc2fd20" \
-d "backup_name=dev.softkeel.com_2023-01-28_12-50-42.zip" \
-X PUT https://dev.softkeel.com/api/v1/backups/restore"#;

const DOWNLOAD: &str = r#"curl \
-b "access_hash=7b8125b94edbb5baf677286fb186942673afe317e0298601990d4cf3dd37991e399e764f9bc2fd20" \
-X GET https://dev.softkeel.com/api/v1/backups/dev.softkeel.com_2023-01-28_12-00-59.zip \
--output dev.softkeel.com_2023-01-28_12-00-59.zip"#;

const GET_CONFIG: &str = r#"curl \
-b "access_hash=7b8125b94edbb5baf677286fb186942673afe317e0298601990d4cf3dd37991e399e764f9bc2fd20" \
-X GET https://dev.softkeel.com/api/v1/backups/config"#;

const SET_CONFIG: &str = r#"curl \
-b "access_hash=7b8125b94edbb5baf677286fb186942673afe317e0298601990d4cf3dd37991e399e764f9bc2fd20" \
-d "backup_to_ftp=1&\
every_day=1&\
every_day_hour=14&\
every_day_minute=45&\
every_day_statistics=1&\
every_hour=1&\
every_hour_minute=40&\
every_hour_statistics=1&\
ftp_password=QWEqwe123&\
ftp_path=home/dev.softkeel.com&\
ftp_server=home.uuq.pl&\
ftp_server_port=21&\
ftp_user=puqvpncp&\
number_backups=100" \
-X PUT https://dev.softkeel.com/api/v1/backups/config
"#;

/// Runs `example` in `folder` with the reference's address and hashes
/// replaced, and `names` swapped (reference name, real name); answers its
/// standard output.
fn run(server: &TestServer, folder: &Path, example: &str, names: &[(&str, &str)]) -> String {
    let mut line = example
        .replace("https://dev.softkeel.com", &server.base)
        .replace(
            "7effe99173b87e9cdebdab66d6fb23c9b244af250cb09b5dd36d8f80d14a8510b2d00bcba7290252",
            &server.hashes.valid,
        )
        .replace(
            "7b8125b94edbb5baf677286fb186942673afe317e0298601990d4cf3dd37991e399e764f9bc2fd20",
            &server.hashes.valid,
        );
    for (from, to) in names {
        line = line.replace(from, to);
    }
    let output = Command::new("sh")
        .arg("-c")
        .arg(line.replacen("curl", "curl --silent --show-error", 1))
        .current_dir(folder)
        .output()
        .expect("sh runs");
    assert!(
        output.status.success(),
        "{line}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Fails unless `output` is a success envelope; answers its `msg`.
fn success(output: &str) -> serde_json::Value {
    let json: serde_json::Value = serde_json::from_str(output).expect("a JSON answer");
    assert_eq!(json["status"], "success", "{json}");
    assert_eq!(json["error"], "", "{json}");
    json["msg"].clone()
}

/// Every example of the reference gets a successful answer: create with
/// statistics, list under both paths, download to a file, restore, and the
/// settings got and set.
#[test]
fn the_references_curl_examples_succeed() {
    let server = TestServer::start_with(|settings| {
        settings.host_name = Some("dev.softkeel.com".to_string());
    });
    let folder = tempfile::TempDir::new().unwrap();

    let created = success(&run(&server, folder.path(), CREATE, &[]));
    let name = created["backup_name"].as_str().unwrap().to_string();
    assert!(name.starts_with("dev.softkeel.com_"), "{name}");

    let listed = success(&run(&server, folder.path(), LIST, &[]));
    assert_eq!(listed["backups"][0]["backup_name"], name.as_str());
    let on_the_other_path = run(
        &server,
        folder.path(),
        LIST,
        &[("/api/v1/system/backups", "/api/v1/backups")],
    );
    assert_eq!(success(&on_the_other_path), listed);

    let downloaded = run(
        &server,
        folder.path(),
        DOWNLOAD,
        &[("dev.softkeel.com_2023-01-28_12-00-59.zip", &name)],
    );
    assert!(downloaded.is_empty());
    let saved = std::fs::read(folder.path().join(&name)).unwrap();
    assert!(saved == std::fs::read(server.backups_dir().join(&name)).unwrap());

    let restored = run(
        &server,
        folder.path(),
        RESTORE,
        &[("dev.softkeel.com_2023-01-28_12-50-42.zip", &name)],
    );
    assert_eq!(success(&restored), "success");

    let set = success(&run(&server, folder.path(), SET_CONFIG, &[]));
    let expected = serde_json::json!({
        "backup_to_ftp": true, "every_day": true, "every_day_hour": 14,
        "every_day_minute": 45, "every_day_statistics": true, "every_hour": true,
        "every_hour_minute": 40, "every_hour_statistics": true,
        "ftp_password": "QWEqwe123", "ftp_path": "home/dev.softkeel.com",
        "ftp_server": "home.uuq.pl", "ftp_server_port": 21, "ftp_user": "puqvpncp",
        "number_backups": 100, "ftp_tls": false,
    });
    assert_eq!(set, expected);
    let got = success(&run(&server, folder.path(), GET_CONFIG, &[]));
    assert_eq!(got, expected);
}
