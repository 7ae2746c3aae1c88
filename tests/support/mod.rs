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

/// What a path in a tree is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// A folder.
    Folder,
    /// A regular file.
    File,
    /// A symbolic link (never followed).
    Symlink,
    /// A device, FIFO or socket.
    Special,
}

/// One path of a tree as a restore must reproduce it.
#[derive(Clone, PartialEq, Eq)]
pub struct Node {
    /// What it is.
    pub kind: NodeKind,
    /// Permission bits with setuid, setgid and sticky (`mode & 0o7777`).
    pub mode: u32,
    /// A file's content, a link's target; empty for folders.
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Contents are shown by size and hash, so that a failure stays short.
        write!(
            formatter,
            "{:?} {:o} {} bytes {}",
            self.kind,
            self.mode,
            self.bytes.len(),
            &sha256_hex(&self.bytes)[..12]
        )
    }
}

/// A whole tree: relative path (`""` for the root itself) → node. A missing
/// tree gives an empty image.
pub type TreeImage = BTreeMap<String, Node>;

/// Reads the tree at `root` without following symlinks.
pub fn tree_image(root: &Path) -> TreeImage {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};

    let mut image = TreeImage::new();
    if std::fs::symlink_metadata(root).is_err() {
        return image;
    }
    for item in walkdir::WalkDir::new(root).follow_links(false) {
        let item = item.expect("the tree walks");
        let metadata = item
            .path()
            .symlink_metadata()
            .expect("metadata of a tree item");
        let file_type = metadata.file_type();
        let (kind, bytes) = if file_type.is_dir() {
            (NodeKind::Folder, Vec::new())
        } else if file_type.is_file() {
            (
                NodeKind::File,
                std::fs::read(item.path()).expect("a file reads"),
            )
        } else if file_type.is_symlink() {
            let target = std::fs::read_link(item.path()).expect("a link reads");
            (
                NodeKind::Symlink,
                target.into_os_string().into_encoded_bytes(),
            )
        } else {
            assert!(
                file_type.is_fifo()
                    || file_type.is_socket()
                    || file_type.is_char_device()
                    || file_type.is_block_device()
            );
            (NodeKind::Special, Vec::new())
        };
        let relative = item
            .path()
            .strip_prefix(root)
            .expect("inside the tree")
            .to_string_lossy()
            .into_owned();
        let mode = metadata.permissions().mode() & 0o7777;
        image.insert(relative, Node { kind, mode, bytes });
    }
    image
}

/// The modification time of every path of the tree at `root`.
pub fn modification_times(root: &Path) -> BTreeMap<String, std::time::SystemTime> {
    walkdir::WalkDir::new(root)
        .follow_links(false)
        .into_iter()
        .map(|item| {
            let item = item.expect("the tree walks");
            let modified = item
                .path()
                .symlink_metadata()
                .and_then(|metadata| metadata.modified())
                .expect("a modification time");
            let relative = item.path().strip_prefix(root).expect("inside the tree");
            (relative.to_string_lossy().into_owned(), modified)
        })
        .collect()
}

/// The paths at which two images differ, each with both sides, empty when
/// they are equal.
pub fn image_differences(actual: &TreeImage, expected: &TreeImage) -> Vec<String> {
    let paths: std::collections::BTreeSet<&String> = actual.keys().chain(expected.keys()).collect();
    paths
        .into_iter()
        .filter(|path| actual.get(*path) != expected.get(*path))
        .map(|path| {
            format!(
                "`{path}`: {:?}, expected {:?}",
                actual.get(path),
                expected.get(path)
            )
        })
        .collect()
}

/// Fails the test, naming every differing path, unless the tree at `root`
/// is exactly `expected`.
pub fn assert_tree(root: &Path, expected: &TreeImage, what: &str) {
    let differences = image_differences(&tree_image(root), expected);
    assert!(
        differences.is_empty(),
        "{what} (`{}`) differs:\n{}",
        root.display(),
        differences.join("\n")
    );
}

/// A tree described in the test: files with content and mode, folders with
/// mode, each path relative to the root.
#[derive(Debug, Clone, Default)]
pub struct ModelTree {
    /// The root folder's mode.
    pub root_mode: u32,
    /// `(path, content, mode)`.
    pub files: Vec<(String, Vec<u8>, u32)>,
    /// `(path, mode)`, including empty folders.
    pub folders: Vec<(String, u32)>,
}

impl ModelTree {
    /// A tree with only its root, of mode 0755.
    pub fn new() -> ModelTree {
        ModelTree {
            root_mode: 0o755,
            ..ModelTree::default()
        }
    }

    /// Adds a file (its folders must be added too, or get mode 0755).
    pub fn file(mut self, path: &str, content: impl AsRef<[u8]>, mode: u32) -> ModelTree {
        self.files
            .push((path.to_string(), content.as_ref().to_vec(), mode));
        self
    }

    /// Adds a folder.
    pub fn folder(mut self, path: &str, mode: u32) -> ModelTree {
        self.folders.push((path.to_string(), mode));
        self
    }

    /// Writes the tree at `root`, which must not exist.
    pub fn write_to(&self, root: &Path) {
        std::fs::create_dir(root).expect("the model's root is created");
        self.write_into(root);
    }

    /// Writes the tree into the empty folder `root`; modes are set last,
    /// deepest first, so that read-only folders can be filled.
    pub fn write_into(&self, root: &Path) {
        use std::os::unix::fs::PermissionsExt;

        for (path, _) in &self.folders {
            std::fs::create_dir_all(root.join(path)).expect("a model folder");
        }
        for (path, content, _) in &self.files {
            let target = root.join(path);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).expect("folders of a model file");
            }
            std::fs::write(&target, content).expect("a model file");
        }
        let mut modes: Vec<(PathBuf, u32)> = self
            .files
            .iter()
            .map(|(path, _, mode)| (root.join(path), *mode))
            .chain(
                self.folders
                    .iter()
                    .map(|(path, mode)| (root.join(path), *mode)),
            )
            .collect();
        modes.sort_by_key(|(path, _)| std::cmp::Reverse(path.components().count()));
        modes.push((root.to_path_buf(), self.root_mode));
        for (path, mode) in modes {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
                .expect("a model mode");
        }
    }

    /// The image a tree written from this model has.
    pub fn image(&self) -> TreeImage {
        let folder = TempDir::new().expect("a temporary folder");
        let root = folder.path().join("model");
        self.write_to(&root);
        tree_image(&root)
    }
}

/// Makes a backup of the models through the library into `out_dir` and
/// answers the archive's path.
pub fn backup_of(config: &ModelTree, statistics: Option<&ModelTree>, out_dir: &Path) -> PathBuf {
    let sources = TempDir::new().expect("a temporary folder");
    let config_root = sources.path().join("config");
    config.write_to(&config_root);
    let statistics_root = statistics.map(|model| {
        let root = sources.path().join("statistics");
        model.write_to(&root);
        root
    });
    create_in(&config_root, statistics_root.as_deref(), out_dir).path
}

/// A data folder holding the live trees `config` and `statistics`, as the
/// panel lays them out, deleted at the end of the test.
pub struct Site {
    folder: TempDir,
}

impl Site {
    /// An empty data folder.
    pub fn new() -> Site {
        Site {
            folder: TempDir::new().expect("a temporary folder"),
        }
    }

    /// The data folder, which holds the trees and their companions.
    pub fn data_folder(&self) -> &Path {
        self.folder.path()
    }

    /// The live configuration tree.
    pub fn config(&self) -> PathBuf {
        self.data_folder().join("config")
    }

    /// The live statistics tree.
    pub fn statistics(&self) -> PathBuf {
        self.data_folder().join("statistics")
    }

    /// The snapshots of the tree named `tree` (`config` or `statistics`),
    /// oldest first.
    pub fn snapshots(&self, tree: &str) -> Vec<PathBuf> {
        let prefix = format!(".{tree}.puqbackup-snapshot-");
        folder_listing(self.data_folder())
            .into_iter()
            .filter(|name| name.starts_with(&prefix))
            .map(|name| self.data_folder().join(name))
            .collect()
    }

    /// Everything in the data folder besides the live trees and their
    /// snapshots: staging folders, journals, temporary files.
    pub fn leftovers(&self) -> Vec<String> {
        folder_listing(self.data_folder())
            .into_iter()
            .filter(|name| name != "config" && name != "statistics")
            .filter(|name| !name.contains(".puqbackup-snapshot-"))
            .collect()
    }
}

/// The effective user id of this process, from `/proc/self/status`.
pub fn effective_uid() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status reads");
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .and_then(|id| id.parse().ok())
        .expect("a Uid line with the effective id")
}
