//! The metadata file: what a restore or an auditor needs to know about a
//! backup without reading its trees.

use serde::{Deserialize, Serialize};

/// The content of `metadata.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// Always `puqbackup-backup`: tells this file from any other JSON.
    pub format: String,
    /// The format version the archive follows.
    pub format_version: u32,
    /// The host the backup was made on (the name's host part).
    pub host: String,
    /// The archive's file name.
    pub backup_name: String,
    /// When the backup started (RFC 3339, nanoseconds, local offset); the
    /// name's time is this one cut to the second.
    pub started: String,
    /// When the last tree file was written (RFC 3339, nanoseconds, local
    /// offset).
    pub completed: String,
    /// Whether the statistics tree is included.
    pub statistics: bool,
    /// Number of files in the trees (the list has one more line, for this
    /// file).
    pub tree_files: u64,
    /// Total bytes of those files.
    pub tree_bytes: u64,
    /// The tool and version that wrote the archive.
    pub tool: String,
}

/// The value of [`Metadata::format`].
pub const FORMAT_MARKER: &str = "puqbackup-backup";

impl Metadata {
    /// The JSON text stored in the archive.
    pub fn to_json(&self) -> Vec<u8> {
        let mut text = serde_json::to_vec_pretty(self).unwrap_or_default();
        text.push(b'\n');
        text
    }

    /// Reads the stored JSON.
    ///
    /// # Errors
    /// When the text is not this structure or not this format.
    pub fn from_json(bytes: &[u8]) -> Result<Metadata, String> {
        let metadata: Metadata = serde_json::from_slice(bytes)
            .map_err(|error| format!("not valid metadata: {error}"))?;
        if metadata.format != FORMAT_MARKER {
            return Err(format!(
                "`format` is `{}`, expected `{FORMAT_MARKER}`",
                metadata.format
            ));
        }
        Ok(metadata)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_checks_marker() {
        let metadata = Metadata {
            format: FORMAT_MARKER.to_string(),
            format_version: 1,
            host: "host".to_string(),
            backup_name: "host_2023-01-27_19-00-40.zip".to_string(),
            started: "2023-01-27T19:00:40.000000001+01:00".to_string(),
            completed: "2023-01-27T19:00:57.159356394+01:00".to_string(),
            statistics: false,
            tree_files: 3,
            tree_bytes: 10,
            tool: "puqbackup 0.1.0".to_string(),
        };
        assert_eq!(
            Metadata::from_json(&metadata.to_json()),
            Ok(metadata.clone())
        );
        let mut other = metadata;
        other.format = "else".to_string();
        assert!(Metadata::from_json(&other.to_json()).is_err());
    }
}
