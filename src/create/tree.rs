//! Walking a tree to back up: sorted, symlinks not followed, and anything that
//! is not a regular file or a folder refused by name.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use walkdir::WalkDir;

use super::CreateError;
use crate::format::path::{PathHazard, path_hazards};

/// What a tree item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TreeItemKind {
    /// A folder.
    Directory,
    /// A regular file.
    File,
}

/// One file or folder to put into the archive.
#[derive(Debug, Clone)]
pub struct TreeItem {
    /// The entry name: `<top>/<relative path>`, with `/` after folders.
    pub archive_name: String,
    /// Where it is on disk.
    pub source: PathBuf,
    /// File or folder.
    pub kind: TreeItemKind,
    /// Permission bits (without setuid, setgid and sticky).
    pub mode: u32,
    /// Last modification.
    pub modified: SystemTime,
    /// Size in bytes at the time of the walk.
    pub size: u64,
}

/// Lists the tree at `root` as entries under `top/`, folders before their
/// content, names in byte order, showing each item to `found` as it is
/// listed.
///
/// # Errors
/// When the root is not a folder, a path is not UTF-8, an item is a symlink,
/// socket, FIFO or device, or the walk cannot read a folder.
pub fn walk_tree(
    root: &Path,
    top: &str,
    mut found: impl FnMut(&TreeItem),
) -> Result<Vec<TreeItem>, CreateError> {
    let root_metadata = std::fs::metadata(root).map_err(|source| CreateError::Read {
        path: root.to_path_buf(),
        source,
    })?;
    if !root_metadata.is_dir() {
        return Err(CreateError::NotAFolder(root.to_path_buf()));
    }

    let mut items = Vec::new();
    for entry in WalkDir::new(root).follow_links(false).sort_by_file_name() {
        let entry = entry.map_err(|error| {
            let path = error.path().unwrap_or(root).to_path_buf();
            let source = error
                .into_io_error()
                .unwrap_or_else(|| std::io::Error::other("file system loop"));
            CreateError::Read { path, source }
        })?;
        let path = entry.path();
        let file_type = entry.file_type();
        let kind = if file_type.is_dir() {
            TreeItemKind::Directory
        } else if file_type.is_file() {
            TreeItemKind::File
        } else {
            let kind = if file_type.is_symlink() {
                "symbolic link"
            } else if file_type.is_socket() {
                "socket"
            } else if file_type.is_fifo() {
                "FIFO"
            } else if file_type.is_block_device() {
                "block device"
            } else if file_type.is_char_device() {
                "character device"
            } else {
                "file of unknown type"
            };
            return Err(CreateError::UnsupportedFile {
                path: path.to_path_buf(),
                kind,
            });
        };

        let relative = path.strip_prefix(root).unwrap_or(path);
        let mut archive_name = top.to_string();
        for component in relative.components() {
            let text = component
                .as_os_str()
                .to_str()
                .ok_or_else(|| CreateError::NonUtf8Name(path.to_path_buf()))?;
            archive_name.push('/');
            archive_name.push_str(text);
        }
        if kind == TreeItemKind::Directory {
            archive_name.push('/');
        }

        // A name that is harmless here but climbs out of the target, or
        // starts at a root, for a reader that takes `\` as a separator would
        // make an archive that verify refuses: refuse it now instead.
        if path_hazards(archive_name.as_bytes())
            .iter()
            .any(|hazard| *hazard != PathHazard::Backslash)
        {
            return Err(CreateError::UnsafeName(path.to_path_buf()));
        }

        let metadata = entry.metadata().map_err(|error| CreateError::Read {
            path: path.to_path_buf(),
            source: error
                .into_io_error()
                .unwrap_or_else(|| std::io::Error::other("file system loop")),
        })?;
        let item = TreeItem {
            archive_name,
            source: path.to_path_buf(),
            kind,
            mode: metadata.mode() & 0o777,
            modified: metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            size: metadata.len(),
        };
        found(&item);
        items.push(item);
    }
    Ok(items)
}
