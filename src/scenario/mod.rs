//! Restore scenarios: one TOML file per case, replayed offline in temporary
//! folders (described for people in docs/SCENARIOS.md).
//!
//! A scenario names the archive (a fixture, or trees built into a backup on
//! the spot, optionally damaged), the live trees before the restore, the
//! conditions around it (panel status, a small real file system, a live tree
//! that is a mount point, injected faults), and the expected result: success
//! with the resulting trees, or one documented error text with the live trees
//! unchanged.

mod junit;
mod replay;
mod tree;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::restore::FaultPlan;
pub use junit::junit_xml;
pub use replay::{Verdict, replay_file};

/// One scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// What the scenario shows.
    #[serde(default)]
    pub description: String,
    /// The backup to restore.
    pub archive: ArchiveSpec,
    /// The live trees before the restore.
    #[serde(default)]
    pub live: LiveSpec,
    /// What surrounds the restore.
    #[serde(default)]
    pub conditions: Conditions,
    /// What must come of it.
    pub expect: Expectation,
}

/// A tree: paths (relative to the tree's root) to files, folders ending in
/// `/`.
pub type TreeSpec = BTreeMap<String, FileSpec>;

/// One file of a tree.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum FileSpec {
    /// Its text (empty for a folder).
    Text(String),
    /// Generated content of a size, for large files.
    Generated {
        /// The size, with an optional unit (`K`, `M`, `G`).
        size: String,
        /// What it is filled with.
        #[serde(default)]
        fill: Fill,
    },
    /// Text with a mode.
    WithMode {
        /// Its text.
        content: String,
        /// Its mode, such as `0o600` written as the number 384 or as
        /// the string `"600"`.
        mode: ModeSpec,
    },
}

/// A file mode, as a number or as octal text.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ModeSpec {
    /// The mode as a number.
    Number(u32),
    /// The mode as octal digits.
    Octal(String),
}

impl ModeSpec {
    /// The mode bits.
    pub fn bits(&self) -> Result<u32, String> {
        match self {
            ModeSpec::Number(bits) => Ok(*bits),
            ModeSpec::Octal(text) => u32::from_str_radix(text.trim_start_matches("0o"), 8)
                .map_err(|_| format!("`{text}` is not an octal mode")),
        }
    }
}

/// How generated content is filled.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Fill {
    /// Log-like lines: compresses well.
    #[default]
    Text,
    /// Pseudo-random bytes from a fixed seed: does not compress.
    Random,
    /// Zero bytes.
    Zeros,
}

/// The backup to restore.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchiveSpec {
    /// A committed archive, relative to the scenario file's folder.
    pub fixture: Option<PathBuf>,
    /// A configuration tree to build a backup of.
    pub config: Option<TreeSpec>,
    /// A statistics tree to include in the built backup.
    pub statistics: Option<TreeSpec>,
    /// Damage done to the archive's bytes, in order.
    #[serde(default)]
    pub damage: Vec<Damage>,
    /// The name the restore asks for; by default the archive's own.
    pub name: Option<String>,
    /// Whether the archive is left out of the backups folder.
    #[serde(default)]
    pub missing: bool,
}

/// A change to an archive's bytes. Offsets below zero count from the end.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Damage {
    /// Inverts every bit of the byte at `offset`.
    FlipByte {
        /// Where.
        offset: i64,
    },
    /// Keeps only the first `length` bytes.
    Truncate {
        /// How many bytes stay.
        length: u64,
    },
    /// Appends text.
    Append {
        /// What is appended.
        text: String,
    },
    /// Writes bytes (given in hex) at `offset`.
    Overwrite {
        /// Where.
        offset: i64,
        /// The bytes, in hex.
        hex: String,
    },
}

/// The live trees before the restore.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveSpec {
    /// The configuration tree; absent means there is none yet.
    pub config: Option<TreeSpec>,
    /// The statistics tree; absent means there is none yet.
    pub statistics: Option<TreeSpec>,
    /// Whether the restore is given a statistics folder; by default when
    /// `statistics` is given.
    pub statistics_dir: Option<bool>,
}

/// What surrounds the restore.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conditions {
    /// The panel's status; a restore runs only when it is `OK`.
    pub panel_status: Option<String>,
    /// The live trees' folder is a real tmpfs of this size (needs root).
    pub tmpfs_size: Option<String>,
    /// The live configuration folder is a mount point (a real tmpfs; needs
    /// root), which cannot be moved aside.
    #[serde(default)]
    pub config_is_mount_point: bool,
    /// Faults injected into the restore's file-system layer.
    #[serde(default)]
    pub faults: FaultPlan,
    /// Snapshots to keep.
    pub keep_snapshots: Option<usize>,
    /// The size cap, with an optional unit.
    pub max_size: Option<String>,
}

/// What must come of the restore.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// `success` or `refused`.
    pub result: ExpectedResult,
    /// For `refused`: the documented text the message starts with.
    pub error: Option<String>,
    /// For `success`: the configuration tree afterwards; by default the
    /// archive's.
    pub config: Option<TreeSpec>,
    /// For `success`: the statistics tree afterwards; by default the
    /// archive's when it has one and a statistics folder was given, else the
    /// live one unchanged.
    pub statistics: Option<TreeSpec>,
}

/// The two kinds of result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExpectedResult {
    /// The restore succeeds.
    Success,
    /// The restore is refused or fails, changing nothing.
    Refused,
}

impl Scenario {
    /// Reads a scenario file.
    ///
    /// # Errors
    /// When the file cannot be read or is not a scenario.
    pub fn load(path: &Path) -> Result<Scenario, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| format!("cannot read `{}`: {error}", path.display()))?;
        let scenario: Scenario = toml::from_str(&text)
            .map_err(|error| format!("`{}` is not a scenario: {error}", path.display()))?;
        let archive = &scenario.archive;
        if archive.fixture.is_some() == archive.config.is_some() {
            return Err(format!(
                "`{}`: the archive needs exactly one of `fixture` and `config`",
                path.display()
            ));
        }
        if scenario.expect.result == ExpectedResult::Refused && scenario.expect.error.is_none() {
            return Err(format!(
                "`{}`: a refused result needs the `error` text it starts with",
                path.display()
            ));
        }
        Ok(scenario)
    }
}

/// Every scenario file under `paths` (files as given, folders searched for
/// `*.toml`), sorted.
///
/// # Errors
/// When a path cannot be read.
pub fn collect(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut found = Vec::new();
    for path in paths {
        if path.is_dir() {
            for entry in walkdir::WalkDir::new(path).sort_by_file_name() {
                let entry =
                    entry.map_err(|error| format!("cannot read `{}`: {error}", path.display()))?;
                if entry.file_type().is_file()
                    && entry
                        .path()
                        .extension()
                        .is_some_and(|extension| extension == "toml")
                {
                    found.push(entry.into_path());
                }
            }
        } else if path.is_file() {
            found.push(path.clone());
        } else {
            return Err(format!(
                "`{}` is not a scenario file or folder",
                path.display()
            ));
        }
    }
    Ok(found)
}
