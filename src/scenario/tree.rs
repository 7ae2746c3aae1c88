//! Trees on disk for scenarios: written from a spec, read back as a
//! comparable picture (kind, mode and SHA-256 of every path).

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::{FileSpec, Fill, TreeSpec};
use crate::format::Place;
use crate::zipfile::{EntryKind, Layout, hex, read_entry};

/// One path of a tree as compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// A folder.
    Folder,
    /// A file: its size and SHA-256 in hex.
    File(u64, String),
    /// Anything else (a symlink, a device): never expected.
    Other,
}

/// A tree as compared: relative paths (folders with a final `/`) to nodes.
pub type Picture = BTreeMap<String, Node>;

/// Writes the tree `spec` under `root`, which is created.
pub fn materialize(root: &Path, spec: &TreeSpec) -> Result<(), String> {
    let fail =
        |path: &Path, error: std::io::Error| format!("cannot write `{}`: {error}", path.display());
    fs::create_dir_all(root).map_err(|error| fail(root, error))?;
    for (name, file) in spec {
        let path = root.join(name.trim_end_matches('/'));
        if name.ends_with('/') {
            fs::create_dir_all(&path).map_err(|error| fail(&path, error))?;
            continue;
        }
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|error| fail(parent, error))?;
        }
        match file {
            FileSpec::Text(text) => fs::write(&path, text).map_err(|error| fail(&path, error))?,
            FileSpec::WithMode { content, mode } => {
                fs::write(&path, content).map_err(|error| fail(&path, error))?;
                fs::set_permissions(&path, fs::Permissions::from_mode(mode.bits()?))
                    .map_err(|error| fail(&path, error))?;
            }
            FileSpec::Generated { size, fill } => {
                let size = crate::units::parse_size(size)?;
                generate(&path, size, *fill).map_err(|error| fail(&path, error))?;
            }
        }
    }
    Ok(())
}

/// Writes `size` bytes of `fill` to `path`, a block at a time.
fn generate(path: &Path, size: u64, fill: Fill) -> std::io::Result<()> {
    let mut file = std::io::BufWriter::new(fs::File::create(path)?);
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut line = 0u64;
    let mut written = 0u64;
    let mut block = Vec::with_capacity(1 << 16);
    while written < size {
        block.clear();
        match fill {
            Fill::Zeros => block.resize(1 << 16, 0),
            Fill::Random => {
                for _ in 0..(1 << 13) {
                    // xorshift: fixed seed, so every run writes the same bytes.
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    block.extend_from_slice(&state.to_le_bytes());
                }
            }
            Fill::Text => {
                while block.len() < 1 << 16 {
                    line += 1;
                    let peer = line % 251;
                    let text = format!(
                        "2023-01-27T19:{:02}:{:02} peer{peer} rx={} tx={}\n",
                        (line / 60) % 60,
                        line % 60,
                        line * 7919 % 1_000_003,
                        line * 104_729 % 999_983
                    );
                    block.extend_from_slice(text.as_bytes());
                }
            }
        }
        let take = usize::try_from((size - written).min(block.len() as u64)).unwrap_or(0);
        file.write_all(&block[..take])?;
        written += take as u64;
    }
    file.flush()
}

/// The picture of the tree at `root`; an absent root is `None`.
pub fn picture(root: &Path) -> Result<Option<Picture>, String> {
    if fs::symlink_metadata(root).is_err() {
        return Ok(None);
    }
    let mut found = Picture::new();
    for entry in walkdir::WalkDir::new(root)
        .min_depth(1)
        .follow_links(false)
        .sort_by_file_name()
    {
        let entry = entry.map_err(|error| format!("cannot read `{}`: {error}", root.display()))?;
        let relative = entry
            .path()
            .strip_prefix(root)
            .unwrap_or(entry.path())
            .to_string_lossy()
            .into_owned();
        let file_type = entry.file_type();
        if file_type.is_dir() {
            found.insert(format!("{relative}/"), Node::Folder);
        } else if file_type.is_file() {
            let file = fs::File::open(entry.path())
                .map_err(|error| format!("cannot read `{}`: {error}", entry.path().display()))?;
            let hash = crate::create::hash_file(&file)
                .map_err(|error| format!("cannot read `{}`: {error}", entry.path().display()))?;
            let size = file.metadata().map(|metadata| metadata.len()).unwrap_or(0);
            found.insert(relative, Node::File(size, hex(&hash)));
        } else {
            found.insert(relative, Node::Other);
        }
    }
    Ok(Some(found))
}

/// The picture of a spec, as it would be on disk.
pub fn picture_of_spec(spec: &TreeSpec) -> Result<Picture, String> {
    let folder = tempfile_folder()?;
    materialize(folder.path(), spec)?;
    Ok(picture(folder.path())?.unwrap_or_default())
}

/// The picture of the tree at `place` inside an archive; `None` when the
/// archive holds nothing there.
pub fn picture_of_archive(bytes: &[u8], place: Place) -> Result<Option<Picture>, String> {
    let layout = Layout::read(bytes).map_err(|error| error.to_string())?;
    let mut found = Picture::new();
    let mut any = false;
    for entry in &layout.entries {
        let Some(name) = entry.name() else { continue };
        if Place::of(name) != place {
            continue;
        }
        any = true;
        let relative = name.split_once('/').map_or("", |(_, rest)| rest);
        if relative.is_empty() {
            continue;
        }
        match entry.kind() {
            EntryKind::Directory => {
                found.insert(relative.to_string(), Node::Folder);
                // Folders implied by deeper paths exist on disk too.
            }
            _ => {
                let mut hasher = Sha256::new();
                let digest = read_entry(bytes, entry, |chunk| {
                    hasher.update(chunk);
                    Ok(())
                })
                .map_err(|error| error.to_string())?;
                found.insert(
                    relative.to_string(),
                    Node::File(digest.size, hex(&digest.sha256)),
                );
            }
        }
        let mut parent = Path::new(relative.trim_end_matches('/')).parent();
        while let Some(folder) = parent.filter(|folder| !folder.as_os_str().is_empty()) {
            found.insert(format!("{}/", folder.to_string_lossy()), Node::Folder);
            parent = folder.parent();
        }
    }
    Ok(any.then_some(found))
}

/// A temporary folder, removed on drop.
pub fn tempfile_folder() -> Result<TemporaryFolder, String> {
    let base = std::env::temp_dir();
    for attempt in 0..1000u32 {
        let path = base.join(format!("puqbackup-replay-{}-{attempt}", std::process::id()));
        if fs::create_dir(&path).is_ok() {
            return Ok(TemporaryFolder { path });
        }
    }
    Err(format!(
        "cannot create a temporary folder in `{}`",
        base.display()
    ))
}

/// A folder removed, with its content, on drop.
#[derive(Debug)]
pub struct TemporaryFolder {
    path: std::path::PathBuf,
}

impl TemporaryFolder {
    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TemporaryFolder {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// Lines describing how two pictures differ, at most `limit` of them.
pub fn differences(expected: &Picture, actual: &Picture, limit: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for (path, node) in expected {
        match actual.get(path) {
            None => lines.push(format!("missing `{path}`")),
            Some(other) if other != node => lines.push(format!("`{path}` differs")),
            _ => {}
        }
    }
    for path in actual.keys() {
        if !expected.contains_key(path) {
            lines.push(format!("unexpected `{path}`"));
        }
    }
    lines.truncate(limit);
    lines
}
