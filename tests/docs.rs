//! The documentation states the same facts as the code: every documented
//! API text and every problem code, with its severity and leading text.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use puqbackup::catalogue::ApiError;
use puqbackup::verify::{ProblemCode, Severity};

fn read_doc(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(name)).unwrap()
}

/// docs/ERRORS.md lists each of the 22 documented texts, word for word.
#[test]
fn errors_doc_lists_every_api_text() {
    let doc = read_doc("docs/ERRORS.md");
    for error in ApiError::ALL {
        assert!(
            doc.contains(&format!("| `{}` |", error.text())),
            "docs/ERRORS.md lacks `{}`",
            error.text()
        );
    }
}

/// Each problem code's row in docs/ERRORS.md gives the severity and the
/// leading text that the code itself has.
#[test]
fn errors_doc_describes_every_problem_code() {
    let doc = read_doc("docs/ERRORS.md");
    for code in ProblemCode::ALL {
        let prefix = format!("| `{}` |", code.as_str());
        let row = doc
            .lines()
            .find(|line| line.starts_with(&prefix))
            .unwrap_or_else(|| panic!("docs/ERRORS.md has no row for `{}`", code.as_str()));
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let severity = match code.severity() {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        assert_eq!(cells[2], severity, "severity of `{}`", code.as_str());
        let leading = code
            .api_error()
            .map(|error| format!("`{}`", error.text()))
            .unwrap_or_default();
        assert_eq!(cells[3], leading, "leading text of `{}`", code.as_str());
    }
}

/// README.md opens with the command that runs the main job on a shipped
/// fixture and the test command, and the fixture exists.
#[test]
fn readme_opens_with_the_two_commands() {
    let readme = read_doc("README.md");
    let head: String = readme.lines().take(12).collect::<Vec<_>>().join("\n");
    assert!(
        head.contains("cargo test"),
        "README.md must name `cargo test` first"
    );
    let main_job = head
        .lines()
        .find(|line| line.contains("cargo run") && line.contains("verify"))
        .expect("README.md must open with a verify command on a fixture");
    let fixture = main_job
        .split_whitespace()
        .find(|word| word.starts_with("fixtures/"))
        .expect("the command names a fixture");
    assert!(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(fixture)
            .is_file()
    );
}
