//! The documentation states the same facts as the code: every documented
//! API text and every problem code, with its severity and leading text, and
//! every key of the server's settings file, with its default.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use puqbackup::catalogue::ApiError;
use puqbackup::server::ServerSettings;
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

/// The keys `ServerSettings` accepts, as its deserializer names them: it
/// refuses an unknown key and lists the expected ones in the error.
fn server_settings_keys() -> Vec<String> {
    let error = toml::from_str::<ServerSettings>("no_such_key = 0").unwrap_err();
    let message = error.to_string();
    let (_, expected) = message
        .split_once("expected")
        .unwrap_or_else(|| panic!("no list of keys in: {message}"));
    let keys: Vec<String> = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    assert!(
        keys.len() > 10 && keys.iter().any(|key| key == "listen"),
        "the keys were not read from: {message}"
    );
    keys
}

/// The rows of the table of keys in docs/SERVER.md: key and default cell.
fn server_doc_rows(doc: &str) -> Vec<(String, String)> {
    let section = doc
        .split("\n## The settings file\n")
        .nth(1)
        .expect("docs/SERVER.md has a section `The settings file`");
    section
        .lines()
        .skip_while(|line| !line.starts_with("| key |"))
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let key = cells[1].trim_matches('`').to_string();
            (key, cells[3].to_string())
        })
        .collect()
}

/// docs/SERVER.md has a row for every key of the settings file, and no row
/// for a key the server does not accept.
#[test]
fn server_doc_lists_every_settings_key() {
    let doc = read_doc("docs/SERVER.md");
    let documented: Vec<String> = server_doc_rows(&doc)
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    let keys = server_settings_keys();
    for key in &keys {
        assert!(
            documented.contains(key),
            "docs/SERVER.md has no row for the settings key `{key}`"
        );
        assert!(
            doc.contains(&format!("**`{key}`**")),
            "docs/SERVER.md does not describe the settings key `{key}`"
        );
    }
    for key in &documented {
        assert!(
            keys.contains(key),
            "docs/SERVER.md lists `{key}`, which the settings file does not take"
        );
    }
}

/// The defaults in docs/SERVER.md are the code's: the keys whose default is
/// a TOML value, written into a file, give `ServerSettings::default()`, and
/// the keys documented as not set are `None` in it.
#[test]
fn server_doc_states_the_defaults() {
    let doc = read_doc("docs/SERVER.md");
    let defaults = format!("{:#?}", ServerSettings::default());
    let mut file = String::new();
    for (key, default) in server_doc_rows(&doc) {
        // A default that is a value is its first code span; the others say
        // "not set", which the code must agree with.
        if let Some(value) = default.strip_prefix('`') {
            let value = value.split('`').next().unwrap();
            file.push_str(&format!("{key} = {value}\n"));
        } else {
            assert!(
                default.starts_with("not set"),
                "the default of `{key}` is neither a value nor `not set`: {default}"
            );
            assert!(
                defaults
                    .lines()
                    .any(|line| line.trim() == format!("{key}: None,")),
                "docs/SERVER.md says `{key}` is not set by default, but its default is not `None`"
            );
        }
    }
    let documented: ServerSettings = toml::from_str(&file).unwrap();
    assert_eq!(
        format!("{documented:#?}"),
        defaults,
        "docs/SERVER.md states other defaults than the code"
    );
}
