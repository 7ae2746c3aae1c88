//! `puqbackup hash`: the access hashes it creates, lists and revokes, and the
//! store it leaves for the server.

// A test fails by panicking; `expect` says what was expected.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use puqbackup::access::{AccessStore, Denied};
use support::{exit_code, json_lines, puqbackup, sha256_hex, stderr, stdout};
use tempfile::TempDir;

/// A temporary folder and the store path inside it.
fn store_in(folder: &TempDir) -> PathBuf {
    folder.path().join("data").join("access-hashes.json")
}

/// Runs `puqbackup hash <arguments> --store <store>` and answers its output.
fn hash(store: &Path, arguments: &[&str]) -> std::process::Output {
    puqbackup()
        .arg("hash")
        .args(arguments)
        .arg("--store")
        .arg(store)
        .output()
        .expect("puqbackup hash runs")
}

/// Runs `hash add NAME --ip ADDR`, expects success and answers the hash.
fn add(store: &Path, name: &str, address: &str) -> String {
    let output = hash(store, &["add", name, "--ip", address]);
    assert_eq!(exit_code(&output), 0, "add failed: {}", stderr(&output));
    stdout(&output).trim_end().to_string()
}

fn is_lowercase_hex(text: &str) -> bool {
    text.bytes()
        .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
}

/// `hash add` prints the new hash and nothing else: 80 lowercase hex
/// characters and a newline, and two hashes differ.
#[test]
fn add_prints_80_lowercase_hex_characters() {
    let folder = TempDir::new().unwrap();
    let store = store_in(&folder);

    let output = hash(&store, &["add", "admin", "--ip", "127.0.0.1"]);
    assert_eq!(exit_code(&output), 0, "{}", stderr(&output));
    let printed = stdout(&output);
    let access_hash = printed.strip_suffix('\n').expect("one line");
    assert_eq!(access_hash.len(), 80, "{printed:?}");
    assert!(is_lowercase_hex(access_hash), "{printed:?}");
    assert_eq!(stderr(&output), "");

    assert_ne!(add(&store, "second", "127.0.0.1"), access_hash);
}

/// The store file holds the SHA-256 of the printed hash, never the hash,
/// and only its owner may read it.
#[test]
fn store_holds_the_digest_with_mode_0600() {
    let folder = TempDir::new().unwrap();
    let store = store_in(&folder);
    let access_hash = add(&store, "admin", "10.0.0.0/8");

    let text = std::fs::read_to_string(&store).unwrap();
    assert!(!text.contains(&access_hash), "the hash is in the store");
    let file: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        file["entries"][0]["sha256"],
        sha256_hex(access_hash.as_bytes())
    );
    assert_eq!(file["entries"][0]["name"], "admin");
    assert_eq!(file["entries"][0]["allowed"], "10.0.0.0/8");

    let mode = std::fs::metadata(&store).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
}

/// `hash add --json` prints one object with the name, the allowed network
/// and the hash, and that hash is the one stored.
#[test]
fn add_json_prints_name_network_and_hash() {
    let folder = TempDir::new().unwrap();
    let store = store_in(&folder);

    let output = hash(&store, &["add", "robot", "--ip", "2001:db8::/32", "--json"]);
    assert_eq!(exit_code(&output), 0, "{}", stderr(&output));
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 1);
    let object = lines[0].as_object().unwrap();
    assert_eq!(object.len(), 3, "{object:?}");
    assert_eq!(object["name"], "robot");
    assert_eq!(object["allowed"], "2001:db8::/32");
    let access_hash = object["access_hash"].as_str().unwrap();
    assert!(access_hash.len() == 80 && is_lowercase_hex(access_hash));

    let loaded = AccessStore::load(&store).unwrap();
    let client = "2001:db8::5".parse().unwrap();
    assert_eq!(loaded.check(access_hash, client).unwrap().name(), "robot");
}

/// `hash list` shows each name, network and state, in text and JSON, and
/// never a hash.
#[test]
fn list_shows_names_and_networks_but_no_hash() {
    let folder = TempDir::new().unwrap();
    let store = store_in(&folder);
    let admin = add(&store, "admin", "127.0.0.1");
    let office = add(&store, "office", "192.0.2.0/24");
    assert_eq!(exit_code(&hash(&store, &["revoke", "office"])), 0);

    let output = hash(&store, &["list"]);
    assert_eq!(exit_code(&output), 0, "{}", stderr(&output));
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with("admin\t127.0.0.1\t"), "{text}");
    assert!(lines[0].ends_with("\tactive"), "{text}");
    assert!(lines[1].starts_with("office\t192.0.2.0/24\t"), "{text}");
    assert!(lines[1].contains("\trevoked "), "{text}");

    let output = hash(&store, &["list", "--json"]);
    assert_eq!(exit_code(&output), 0, "{}", stderr(&output));
    let entries = json_lines(&output);
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["name"], "admin");
    assert_eq!(entries[0]["allowed"], "127.0.0.1");
    assert!(entries[0]["revoked"].is_null());
    assert!(
        entries[0]["created"]
            .as_str()
            .is_some_and(|time| { chrono::DateTime::parse_from_rfc3339(time).is_ok() })
    );
    assert!(entries[1]["revoked"].is_string());

    for output in [hash(&store, &["list"]), hash(&store, &["list", "--json"])] {
        for secret in [&admin, &office] {
            assert!(!stdout(&output).contains(secret.as_str()));
            assert!(!stdout(&output).contains(&sha256_hex(secret.as_bytes())));
        }
    }
}

/// A missing store lists as empty, without creating the file.
#[test]
fn list_of_a_missing_store_is_empty() {
    let folder = TempDir::new().unwrap();
    let store = store_in(&folder);
    let output = hash(&store, &["list"]);
    assert_eq!(exit_code(&output), 0, "{}", stderr(&output));
    assert_eq!(stdout(&output), "");
    assert!(!store.exists());
}

/// `hash revoke` succeeds once; revoking again, or a name that does not
/// exist, exits 2 with a message naming it.
#[test]
fn revoke_works_once_and_unknown_names_fail() {
    let folder = TempDir::new().unwrap();
    let store = store_in(&folder);
    let access_hash = add(&store, "admin", "127.0.0.1");

    let output = hash(&store, &["revoke", "admin"]);
    assert_eq!(exit_code(&output), 0, "{}", stderr(&output));
    let client = "127.0.0.1".parse().unwrap();
    assert_eq!(
        AccessStore::load(&store)
            .unwrap()
            .check(&access_hash, client),
        Err(Denied::Revoked {
            name: "admin".to_string()
        })
    );

    let again = hash(&store, &["revoke", "admin"]);
    assert_eq!(exit_code(&again), 2);
    assert!(
        stderr(&again).contains("`admin` is revoked already"),
        "{}",
        stderr(&again)
    );

    let unknown = hash(&store, &["revoke", "nobody"]);
    assert_eq!(exit_code(&unknown), 2);
    assert!(
        stderr(&unknown).contains("no access hash is named `nobody`"),
        "{}",
        stderr(&unknown)
    );
}

/// A second `hash add` with a taken name exits 2, prints no hash and
/// leaves the store as it was.
#[test]
fn duplicate_name_fails_and_changes_nothing() {
    let folder = TempDir::new().unwrap();
    let store = store_in(&folder);
    add(&store, "admin", "127.0.0.1");
    let before = std::fs::read(&store).unwrap();

    let output = hash(&store, &["add", "admin", "--ip", "10.0.0.1"]);
    assert_eq!(exit_code(&output), 2);
    assert_eq!(stdout(&output), "");
    assert!(
        stderr(&output).contains("`admin` exists already"),
        "{}",
        stderr(&output)
    );
    assert_eq!(std::fs::read(&store).unwrap(), before);
}

/// A hash made by the CLI passes `AccessStore::check` from its address
/// (also as an IPv4-mapped IPv6 address) and is refused from any other.
#[test]
fn cli_store_is_accepted_by_check_for_the_right_address_only() {
    let folder = TempDir::new().unwrap();
    let store = store_in(&folder);
    let access_hash = add(&store, "admin", "192.0.2.10");
    let loaded = AccessStore::load(&store).unwrap();

    let entry = loaded
        .check(&access_hash, "192.0.2.10".parse().unwrap())
        .unwrap();
    assert_eq!(entry.name(), "admin");
    assert!(
        loaded
            .check(&access_hash, "::ffff:192.0.2.10".parse().unwrap())
            .is_ok()
    );
    assert!(matches!(
        loaded.check(&access_hash, "192.0.2.11".parse().unwrap()),
        Err(Denied::WrongAddress { .. })
    ));
    assert!(matches!(
        loaded.check(&access_hash, "127.0.0.1".parse().unwrap()),
        Err(Denied::WrongAddress { .. })
    ));
}

/// Without `--store`, the store is `data/access-hashes.json` under the
/// current folder, where the server looks by default.
#[test]
fn default_store_is_in_the_data_folder() {
    let folder = TempDir::new().unwrap();
    let output = puqbackup()
        .current_dir(folder.path())
        .args(["hash", "add", "admin", "--ip", "::1"])
        .output()
        .unwrap();
    assert_eq!(exit_code(&output), 0, "{}", stderr(&output));
    let access_hash = stdout(&output).trim_end().to_string();

    let loaded = AccessStore::load(folder.path().join("data/access-hashes.json")).unwrap();
    assert!(loaded.check(&access_hash, "::1".parse().unwrap()).is_ok());
}

/// A corrupt store makes every subcommand exit 2 with a message naming
/// the file, and it is never overwritten.
#[test]
fn corrupt_store_fails_and_is_kept() {
    let folder = TempDir::new().unwrap();
    let store = store_in(&folder);
    std::fs::create_dir_all(store.parent().unwrap()).unwrap();
    std::fs::write(&store, "{\"version\":1,").unwrap();

    for arguments in [
        &["add", "admin", "--ip", "127.0.0.1"][..],
        &["list"],
        &["revoke", "admin"],
    ] {
        let output = hash(&store, arguments);
        assert_eq!(exit_code(&output), 2, "{arguments:?}");
        assert_eq!(stdout(&output), "", "{arguments:?}");
        assert!(
            stderr(&output).contains("is not a valid access-hash store"),
            "{}",
            stderr(&output)
        );
    }
    assert_eq!(std::fs::read_to_string(&store).unwrap(), "{\"version\":1,");
}

/// `--ip` takes only an address or a network with clear host bits, and a
/// bad one exits 2 before any store is written.
#[test]
fn bad_addresses_are_refused() {
    let folder = TempDir::new().unwrap();
    let store = store_in(&folder);
    for address in ["localhost", "10.0.0.1/8", "10.0.0.0/33", ""] {
        let output = hash(&store, &["add", "admin", "--ip", address]);
        assert_eq!(exit_code(&output), 2, "{address:?}");
        assert_eq!(stdout(&output), "");
    }
    assert!(!store.exists());
}
