//! The committed fixtures: their bytes are the generator's output, and
//! `verify` answers for each what `fixtures/README.md` says.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

#[path = "../fixtures/generator/catalog.rs"]
mod catalog;
#[path = "../fixtures/generator/raw.rs"]
mod raw;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use puqbackup::verify::{VerifyOptions, verify_path};

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Rebuilding a fixture gives exactly the committed bytes, so the generator
/// is the true source of every archive.
#[test]
fn committed_fixtures_are_the_generator_output() {
    for fixture in catalog::all() {
        let committed = std::fs::read(fixtures_dir().join(fixture.name))
            .unwrap_or_else(|error| panic!("{}: {error}", fixture.name));
        assert!(
            committed == (fixture.build)(),
            "{} differs from the generator's output: run `cargo run --example make-fixtures`",
            fixture.name
        );
    }
}

/// Every fixture gets the verdict and exactly the problem codes the
/// catalogue promises.
#[test]
fn verify_answers_each_fixture_as_documented() {
    for fixture in catalog::all() {
        let path = fixtures_dir().join(fixture.name);
        let report = verify_path(&path, &VerifyOptions::default(), &mut |_, _| {});
        let codes: BTreeSet<String> = report.codes().iter().map(|code| code.as_str()).collect();
        let expected: BTreeSet<String> =
            fixture.codes.iter().map(|code| code.to_string()).collect();
        assert_eq!(
            report.valid, fixture.valid,
            "{}: {:#?}",
            fixture.name, report.problems
        );
        assert_eq!(codes, expected, "{}: {:#?}", fixture.name, report.problems);

        // Where a documented API text applies, the message leads with it.
        for problem in &report.problems {
            if let Some(error) = problem.code.api_error() {
                assert!(
                    problem.message.starts_with(error.text()),
                    "{}: `{}` does not start with `{}`",
                    fixture.name,
                    problem.message,
                    error.text()
                );
            }
        }
    }
}

/// The command's exit status follows the verdict: 0 for valid, 1 for invalid.
#[test]
fn exit_status_follows_the_verdict() {
    for fixture in catalog::all() {
        let expected = if fixture.valid { 0 } else { 1 };
        Command::cargo_bin("puqbackup")
            .unwrap()
            .arg("verify")
            .arg(fixtures_dir().join(fixture.name))
            .assert()
            .code(expected);
    }
}

/// The README's table is the generator's, and no archive in `fixtures/` is
/// missing from it.
#[test]
fn readme_lists_every_fixture() {
    let fixtures = catalog::all();
    let readme = std::fs::read_to_string(fixtures_dir().join("README.md")).unwrap();
    assert_eq!(
        readme,
        catalog::readme(&fixtures),
        "run `cargo run --example make-fixtures`"
    );

    let known: BTreeSet<&str> = fixtures.iter().map(|fixture| fixture.name).collect();
    for entry in std::fs::read_dir(fixtures_dir()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".zip") {
            assert!(
                known.contains(name.as_str()),
                "{name} is not built by the generator"
            );
        }
    }
}
