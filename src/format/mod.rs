//! The backup archive format, version 1 (described for people in
//! docs/FORMAT.md).
//!
//! A backup is a plain zip archive named `<host>_YYYY-MM-DD_HH-MM-SS.zip`. Its
//! first entry is the file list [`FILE_LIST_NAME`], its last the metadata
//! [`METADATA_NAME`]; between them the configuration tree under [`CONFIG_DIR`]
//! and, when included, the statistics tree under [`STATISTICS_DIR`].

pub mod file_list;
pub mod metadata;
pub mod name;
pub mod path;

pub use file_list::{FileList, FileListError, ListedFile};
pub use metadata::Metadata;
pub use name::{BackupName, NameError};

/// The version of the format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// The file with the file list, at the archive's root.
pub const FILE_LIST_NAME: &str = "filelist.sha256";

/// The metadata file, at the archive's root.
pub const METADATA_NAME: &str = "metadata.json";

/// The folder that holds the configuration tree.
pub const CONFIG_DIR: &str = "config";

/// The folder that holds the statistics tree.
pub const STATISTICS_DIR: &str = "statistics";

/// Where an entry of a backup belongs, judged by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// The file list itself.
    FileList,
    /// The metadata file.
    Metadata,
    /// Inside the configuration tree (or the tree's own folder).
    Config,
    /// Inside the statistics tree (or the tree's own folder).
    Statistics,
    /// Anywhere else: not part of the format.
    Foreign,
}

impl Place {
    /// Classifies an entry name (with `/` separators, directories ending in
    /// `/`).
    pub fn of(name: &str) -> Place {
        let trimmed = name.strip_suffix('/').unwrap_or(name);
        let top = trimmed.split('/').next().unwrap_or("");
        match (trimmed, top) {
            (FILE_LIST_NAME, _) => Place::FileList,
            (METADATA_NAME, _) => Place::Metadata,
            (_, CONFIG_DIR) => Place::Config,
            (_, STATISTICS_DIR) => Place::Statistics,
            _ => Place::Foreign,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_follow_the_top_folder() {
        assert_eq!(Place::of("filelist.sha256"), Place::FileList);
        assert_eq!(Place::of("config/"), Place::Config);
        assert_eq!(Place::of("config/wg0.conf"), Place::Config);
        assert_eq!(Place::of("statistics/db/traffic"), Place::Statistics);
        assert_eq!(Place::of("configuration/x"), Place::Foreign);
        assert_eq!(Place::of("config/filelist.sha256"), Place::Config);
    }
}
