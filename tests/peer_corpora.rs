//! Verify against a corpus of odd and hostile zip files collected by other
//! zip linters: none of them is a valid backup, none may crash verify, and a
//! few must be refused for their particular defect.

// A test fails by panicking; `expect` says what was expected.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::path::PathBuf;

use support::{problems, verify_json};

/// The ziplinter corpus: beside the repository in CI, under `/work/shared`
/// on a development machine.
fn corpus() -> PathBuf {
    let beside =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/peer-corpora/ziplinter");
    let fallback = PathBuf::from("/work/shared/peer-corpora/ziplinter");
    [beside, fallback]
        .into_iter()
        .find(|candidate| candidate.is_dir())
        .expect("the ziplinter corpus is at ../shared/peer-corpora/ziplinter or /work/shared")
}

/// The codes verify reports for the corpus file `name`, after checking that
/// it exits 1 or 2 with one well-formed, invalid JSON report.
fn codes_for(name: &str) -> Vec<String> {
    let path = corpus().join(name);
    let (code, reports) = verify_json(&[], &[&path]);
    assert!(code == 1 || code == 2, "`{name}`: exit status {code}");
    assert_eq!(reports.len(), 1, "`{name}`: one report");
    assert_eq!(reports[0]["valid"], false, "`{name}`: {:#}", reports[0]);
    problems(&reports[0])
        .into_iter()
        .map(|(code, _)| code)
        .collect()
}

/// Every zip in the corpus is refused with exit status 1 or 2 and a JSON
/// report that says `valid: false`; none crashes verify.
#[test]
fn no_corpus_file_is_a_valid_backup() {
    let mut zips: Vec<String> = std::fs::read_dir(corpus())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".zip"))
        .collect();
    zips.sort();
    assert!(zips.len() >= 40, "the corpus is incomplete: {zips:?}");
    for name in &zips {
        let codes = codes_for(name);
        assert!(!codes.is_empty(), "`{name}` is invalid without a problem");
    }
}

/// Files refused for their own defect, not only for lacking a file list.
#[test]
fn corpus_defects_are_named() {
    for (name, expected) in [
        ("same-names.zip", "duplicate-name"),
        ("absolute-name.zip", "absolute-path"),
        ("relative.zip", "path-traversal"),
        ("test-trailing-junk.zip", "trailing-bytes"),
        ("symlink.zip", "symlink"),
        ("secret.zip", "encrypted"),
        ("zip_password.zip", "encrypted"),
        ("found-me-bzip2.zip", "unsupported-method"),
        ("found-me-lzma.zip", "unsupported-method"),
        ("found-me-zstd.zip", "unsupported-method"),
        ("test_mismatched_compression_local.zip", "header-mismatch"),
        ("test-mismatched-names.zip", "header-mismatch"),
        ("cp-437.zip", "non-utf8-name"),
        ("concatenated.zip", "leading-bytes"),
        ("unused-range.zip", "hidden-data"),
    ] {
        let codes = codes_for(name);
        assert!(
            codes.iter().any(|code| code == expected),
            "`{name}` lacks `{expected}`: {codes:?}"
        );
    }
}

/// A file that is no zip at all is `not-a-zip`, and an archive whose only
/// entry is a folder is empty.
#[test]
fn corpus_non_archives_are_named() {
    let path = corpus().join("readme.notzip");
    let (code, reports) = verify_json(&[], &[&path]);
    assert_eq!(code, 1);
    let codes: Vec<String> = problems(&reports[0])
        .into_iter()
        .map(|(code, _)| code)
        .collect();
    assert_eq!(codes, ["not-a-zip"]);

    assert_eq!(codes_for("test_dir_no_slash.zip"), ["empty-archive"]);
}
