//! What a restore would change, without changing anything: the files and
//! folders it would add, change and remove, compared with the live trees.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Serialize;
use walkdir::WalkDir;

use super::{RestoreError, RestoreOptions, check_archive};
use crate::format::Place;
use crate::zipfile::EntryKind;

/// The changes a restore would make, by archive path (`config/...`,
/// `statistics/...`; folders end with `/`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct RestorePlan {
    /// In the archive, not in the live tree.
    pub added: Vec<String>,
    /// In both, with other content (or a file where a folder is).
    pub changed: Vec<String>,
    /// In the live tree, not in the archive.
    pub removed: Vec<String>,
    /// Files in both with the same content.
    pub unchanged: u64,
    /// Whether the statistics tree would be replaced.
    pub statistics_replaced: bool,
}

/// Checks `archive` as a restore would and compares it with the live trees.
///
/// # Errors
/// The same refusals as a restore; I/O errors reading the live trees.
pub fn plan_restore(archive: &Path, options: &RestoreOptions) -> Result<RestorePlan, RestoreError> {
    let checked = check_archive(archive, options.max_size)?;
    let mut plan = RestorePlan::default();

    let mut trees = vec![(
        Place::Config,
        crate::format::CONFIG_DIR,
        options.config_dir.clone(),
    )];
    if let (Some(statistics_dir), true) = (&options.statistics_dir, checked.has_statistics) {
        trees.push((
            Place::Statistics,
            crate::format::STATISTICS_DIR,
            statistics_dir.clone(),
        ));
        plan.statistics_replaced = true;
    }

    for (place, top, live_root) in trees {
        // What the archive would put there.
        let mut incoming = BTreeSet::new();
        for entry in &checked.layout.entries {
            let Some(name) = entry.name() else { continue };
            if Place::of(name) != place {
                continue;
            }
            let relative = name
                .trim_end_matches('/')
                .split_once('/')
                .map_or("", |(_, rest)| rest);
            if relative.is_empty() {
                continue;
            }
            let live = live_root.join(relative);
            let is_folder = entry.kind() == EntryKind::Directory;
            incoming.insert(relative.to_string());
            let metadata = std::fs::symlink_metadata(&live);
            match (metadata, is_folder) {
                (Err(_), _) => plan.added.push(name.to_string()),
                (Ok(metadata), true) if metadata.is_dir() => {}
                (Ok(metadata), false) if metadata.is_file() => {
                    let listed = checked.hashes.get(name).copied();
                    let current = hash_file(&live).map_err(|source| RestoreError::Io {
                        action: format!("cannot read `{}`", live.display()),
                        source,
                    })?;
                    if listed == Some(current) {
                        plan.unchanged += 1;
                    } else {
                        plan.changed.push(name.to_string());
                    }
                }
                (Ok(_), _) => plan.changed.push(name.to_string()),
            }
        }

        // What is there now and would go.
        if live_root.is_dir() {
            for item in WalkDir::new(&live_root)
                .min_depth(1)
                .follow_links(false)
                .sort_by_file_name()
            {
                let item = item.map_err(|error| RestoreError::Io {
                    action: format!("cannot read `{}`", live_root.display()),
                    source: error
                        .into_io_error()
                        .unwrap_or_else(|| std::io::Error::other("loop")),
                })?;
                let relative = item.path().strip_prefix(&live_root).unwrap_or(item.path());
                let relative = relative.to_string_lossy().into_owned();
                if !incoming.contains(&relative) {
                    let suffix = if item.file_type().is_dir() { "/" } else { "" };
                    plan.removed.push(format!("{top}/{relative}{suffix}"));
                }
            }
        }
    }
    Ok(plan)
}

fn hash_file(path: &Path) -> std::io::Result<[u8; 32]> {
    let file = std::fs::File::open(path)?;
    crate::create::hash_file(&file)
}
