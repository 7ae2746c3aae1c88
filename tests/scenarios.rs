//! Replaying the committed scenarios, and the replay's own judgement: a
//! scenario whose expectation is wrong must fail.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn replay(paths: &[&Path], extra: &[&str]) -> std::process::Output {
    Command::cargo_bin("puqbackup")
        .unwrap()
        .current_dir(root())
        .arg("replay")
        .args(paths)
        .args(extra)
        .output()
        .unwrap()
}

/// Every committed scenario passes, the table ends with its count, and the
/// JUnit file lists each as a passing test case.
#[test]
fn committed_scenarios_pass() {
    let junit = tempfile::NamedTempFile::new().unwrap();
    let output = replay(&[], &["--junit", junit.path().to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");

    let count = std::fs::read_dir(root().join("scenarios"))
        .unwrap()
        .filter(|entry| {
            entry
                .as_ref()
                .is_ok_and(|entry| entry.path().extension().is_some_and(|ext| ext == "toml"))
        })
        .count();
    assert!(count >= 50, "only {count} scenarios");
    assert!(
        stdout.contains(&format!("{count} passed, 0 failed")),
        "{stdout}"
    );
    let xml = std::fs::read_to_string(junit.path()).unwrap();
    assert!(
        xml.contains(&format!("tests=\"{count}\" failures=\"0\"")),
        "{xml}"
    );
}

/// Each documented restore error that can happen offline has a scenario
/// expecting it.
#[test]
fn every_offline_restore_error_has_a_scenario() {
    use puqbackup::catalogue::{ApiError, Endpoint};
    let mut texts = String::new();
    for entry in std::fs::read_dir(root().join("scenarios")).unwrap() {
        texts.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    for error in Endpoint::Restore.errors() {
        if *error == ApiError::NotAuthorized {
            continue;
        }
        assert!(
            texts.contains(&format!("error = \"{}\"", error.text())),
            "no scenario expects `{}`",
            error.text()
        );
    }
}

fn scenario_file(folder: &Path, name: &str, text: &str) -> PathBuf {
    let path = folder.join(name);
    let fixtures = root().join("fixtures");
    std::fs::write(&path, text.replace("FIXTURES", fixtures.to_str().unwrap())).unwrap();
    path
}

/// Wrong expectations are caught: success expected of a refused archive,
/// the wrong error text, and a resulting tree that differs from the one
/// expected. Each fails with its reason, and the exit status is 1.
#[test]
fn wrong_expectations_fail() {
    let folder = tempfile::tempdir().unwrap();
    let success_of_refused = scenario_file(
        folder.path(),
        "a.toml",
        "[archive]\nfixture = \"FIXTURES/crc-mismatch.zip\"\n[live.config]\n\"a\" = \"b\"\n\
         [expect]\nresult = \"success\"\n",
    );
    let wrong_text = scenario_file(
        folder.path(),
        "b.toml",
        "[archive]\nfixture = \"FIXTURES/empty.zip\"\n[expect]\nresult = \"refused\"\n\
         error = \"Failed to unzip file:\"\n",
    );
    let wrong_tree = scenario_file(
        folder.path(),
        "c.toml",
        "[archive]\nfixture = \"FIXTURES/valid-config-only.zip\"\n[expect]\nresult = \"success\"\n\
         [expect.config]\n\"not-in-the-archive.conf\" = \"x\"\n",
    );
    let refused_of_valid = scenario_file(
        folder.path(),
        "d.toml",
        "[archive]\nfixture = \"FIXTURES/valid-config-only.zip\"\n[expect]\nresult = \"refused\"\n\
         error = \"Empty archive\"\n",
    );

    for (path, reason) in [
        (&success_of_refused, "the restore failed"),
        (&wrong_text, "does not start with `Failed to unzip file:`"),
        (&wrong_tree, "the configuration tree differs"),
        (&refused_of_valid, "the restore succeeded"),
    ] {
        let output = replay(&[path.as_path()], &["--json"]);
        assert_eq!(output.status.code(), Some(1), "{}", path.display());
        let verdict: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(verdict["passed"], false);
        let reasons = verdict["reasons"].to_string();
        assert!(reasons.contains(reason), "{}: {reasons}", path.display());
    }
}

/// A file that is not a scenario is a failing verdict, not a crash.
#[test]
fn malformed_scenario_fails_cleanly() {
    let folder = tempfile::tempdir().unwrap();
    let path = scenario_file(folder.path(), "bad.toml", "[archive]\nnonsense = 1\n");
    let output = replay(&[path.as_path()], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stdout).contains("is not a scenario"));
}
