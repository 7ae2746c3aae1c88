//! Helpers shared by the integration tests: trees on disk, the binary, archives
//! made and taken apart, and the JSON the commands print.
//!
//! Each test file compiles this module on its own and uses only part of it.
#![allow(dead_code)] // Every helper is used by some test file, none by all.

use std::collections::BTreeMap;
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::process::Output;

use chrono::{DateTime, FixedOffset};
use puqbackup::create::{CreateOptions, CreatedBackup, Destination, create_backup};
use puqbackup::zipfile::{EntryKind, Layout, read_entry};
use sha2::{Digest, Sha256};
use tempfile::TempDir;

/// The host name the tests put into archive names.
pub const HOST: &str = "vpn.example.org";

/// The time every archive made through the library carries.
pub fn fixed_time() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2024-03-09T07:05:03+01:00").expect("a valid RFC 3339 time")
}

/// The `puqbackup` binary of this build.
pub fn puqbackup() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("puqbackup").expect("the puqbackup binary is built")
}

/// A folder that is deleted at the end of the test, to build trees in.
pub struct Tree {
    folder: TempDir,
}

impl Tree {
    /// An empty tree.
    pub fn new() -> Tree {
        Tree {
            folder: TempDir::new().expect("a temporary folder"),
        }
    }

    /// The tree's root.
    pub fn path(&self) -> &Path {
        self.folder.path()
    }

    /// Writes `content` to `relative`, creating its folders.
    pub fn file(&self, relative: &str, content: impl AsRef<[u8]>) -> &Tree {
        let path = self.path().join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("folders for a file");
        }
        std::fs::write(&path, content).expect("a file in the tree");
        self
    }

    /// Creates the folder `relative` and its parents.
    pub fn folder(&self, relative: &str) -> &Tree {
        std::fs::create_dir_all(self.path().join(relative)).expect("a folder in the tree");
        self
    }
}

/// A small configuration tree like the panel's.
pub fn sample_config() -> Tree {
    let tree = Tree::new();
    tree.file(
        "wg0.conf",
        "[Interface]\nPrivateKey = x\nListenPort = 51820\n",
    )
    .file("clients/alice.conf", "[Peer]\nPublicKey = a\n")
    .file("clients/bob.conf", "[Peer]\nPublicKey = b\n")
    .file("panel/settings.json", "{\"theme\":\"dark\"}\n")
    .folder("empty");
    tree
}

/// A small statistics tree.
pub fn sample_statistics() -> Tree {
    let tree = Tree::new();
    tree.file("traffic/2024-03.db", vec![7u8; 3000])
        .file("traffic/2024-02.db", b"\x00\x01");
    tree
}

/// Makes an archive of `config` (and `statistics`) into `out_dir` through the
/// library, at the fixed time.
pub fn create_in(config: &Path, statistics: Option<&Path>, out_dir: &Path) -> CreatedBackup {
    let mut options = CreateOptions::new(config, HOST, Destination::Directory(out_dir.into()));
    options.statistics_dir = statistics.map(Path::to_path_buf);
    options.fixed_time = Some(fixed_time());
    create_backup(&options).expect("the backup is created")
}

/// Makes an archive of `config` and answers its bytes.
pub fn archive_bytes(config: &Path) -> Vec<u8> {
    let out = TempDir::new().expect("a temporary folder");
    let created = create_in(config, None, out.path());
    std::fs::read(&created.path).expect("the archive reads back")
}

/// SHA-256 in lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The entry names of an archive, in central directory order.
pub fn entry_names(archive: &[u8]) -> Vec<String> {
    let layout = Layout::read(archive).expect("the archive's structure reads");
    layout
        .entries
        .iter()
        .map(|entry| entry.display_name())
        .collect()
}

/// One entry of an archive taken apart: its name and, for files, its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The entry name; folders end with `/`.
    pub name: String,
    /// The uncompressed data (empty for folders).
    pub data: Vec<u8>,
}

/// Every entry of `archive`, in order, read through the library's reader.
pub fn members(archive: &[u8]) -> Vec<Member> {
    let layout = Layout::read(archive).expect("the archive's structure reads");
    layout
        .entries
        .iter()
        .map(|entry| {
            let mut data = Vec::new();
            if entry.kind() != EntryKind::Directory {
                read_entry(archive, entry, |chunk| {
                    data.extend_from_slice(chunk);
                    Ok(())
                })
                .expect("the entry's data reads");
            }
            Member {
                name: entry.display_name(),
                data,
            }
        })
        .collect()
}

/// Writes `members` as a new zip with the `zip` crate: folders for names
/// ending with `/`, deflated files otherwise, in the order given.
pub fn write_zip(members: &[Member]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o644);
    for member in members {
        if member.name.ends_with('/') {
            zip.add_directory(member.name.as_str(), options.unix_permissions(0o755))
                .expect("a folder entry");
        } else {
            zip.start_file(member.name.as_str(), options)
                .expect("a file entry");
            zip.write_all(&member.data).expect("the entry's data");
        }
    }
    zip.finish().expect("the zip is finished").into_inner()
}

/// The file list line for `path` with content `data` (paths without
/// characters that need escaping).
pub fn list_line(path: &str, data: &[u8]) -> String {
    format!("{}  {path}\n", sha256_hex(data))
}

/// The decompressed files of a tree part of an archive: name → data, for
/// every entry that is not a folder and not one of the format's own files.
pub fn tree_files(members: &[Member]) -> BTreeMap<String, Vec<u8>> {
    members
        .iter()
        .filter(|member| !member.name.ends_with('/'))
        .filter(|member| member.name != "filelist.sha256" && member.name != "metadata.json")
        .map(|member| (member.name.clone(), member.data.clone()))
        .collect()
}

/// Writes `bytes` to a new file `name` in `folder` and answers its path.
pub fn write_file(folder: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = folder.join(name);
    std::fs::write(&path, bytes).expect("a file is written");
    path
}

/// The exit code of a finished command (a signal counts as a failure).
pub fn exit_code(output: &Output) -> i32 {
    output
        .status
        .code()
        .unwrap_or_else(|| panic!("the command was killed: {output:?}"))
}

/// Standard output as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Each line of standard output parsed as one JSON value.
pub fn json_lines(output: &Output) -> Vec<serde_json::Value> {
    stdout(output)
        .lines()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|error| panic!("`{line}` is not JSON: {error}"))
        })
        .collect()
}

/// Runs `puqbackup verify --json` on `archives` with `extra` arguments first.
pub fn verify_json(extra: &[&str], archives: &[&Path]) -> (i32, Vec<serde_json::Value>) {
    let output = puqbackup()
        .arg("verify")
        .arg("--json")
        .args(extra)
        .args(archives)
        .output()
        .expect("verify runs");
    (exit_code(&output), json_lines(&output))
}

/// The problems in a verify report, as (code, message) pairs.
pub fn problems(report: &serde_json::Value) -> Vec<(String, String)> {
    report["problems"]
        .as_array()
        .unwrap_or_else(|| panic!("the report has no problems array: {report}"))
        .iter()
        .map(|problem| {
            (
                problem["code"].as_str().unwrap_or_default().to_string(),
                problem["message"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// The message of the first problem with `code`, failing the test when there
/// is none.
pub fn message_of(report: &serde_json::Value, code: &str) -> String {
    problems(report)
        .into_iter()
        .find(|(found, _)| found == code)
        .map(|(_, message)| message)
        .unwrap_or_else(|| panic!("no `{code}` problem in {report:#}"))
}

/// The names of the files left in `folder`.
pub fn folder_listing(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .expect("the folder lists")
        .map(|entry| {
            entry
                .expect("a folder entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

/// Fails the test, naming what to install, when `tool` is not on `PATH`.
pub fn require_tool(tool: &str, package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|folder| folder.join(tool))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!("`{tool}` is not on PATH: install it (Debian/Ubuntu package `{package}`)")
        })
}
