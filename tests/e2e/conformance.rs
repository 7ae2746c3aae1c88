//! `puqbackup conformance` against the API container: every black-box check
//! passes, with the restore allowed, and the configuration is the same
//! afterwards.

use std::process::Command;

use puqbackup::conformance::Method;

use crate::harness::Stack;

/// The conformance run passes against the container and writes JUnit XML
/// without failures; the backup configuration is unchanged afterwards.
#[test]
fn conformance_passes_against_the_container() {
    let stack = Stack::api_only();
    stack.configure(&[("number_backups", "7")]);
    let before = stack.success(Method::Get, "/api/v1/backups/config", &[]);
    let folder = tempfile::tempdir().unwrap();
    let junit = folder.path().join("conformance.xml");

    let output = Command::new(env!("CARGO_BIN_EXE_puqbackup"))
        .args(["conformance", "--allow-restore", "--url", &stack.url])
        .args(["--access-hash", &stack.hash])
        .arg("--junit")
        .arg(&junit)
        .output()
        .unwrap();

    let table = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{table}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("failures=\"0\""), "{xml}");
    assert!(xml.matches("<testcase").count() >= 20, "{xml}");
    assert_eq!(
        stack.success(Method::Get, "/api/v1/backups/config", &[]),
        before
    );
}
