//! What `verify` can find wrong with an archive: a stable code, a severity,
//! and the documented API text that leads the message where one applies.

use serde::Serialize;

use crate::catalogue::ApiError;

/// How much a problem matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// The archive is not a valid backup.
    Error,
    /// Worth knowing; the archive stays valid.
    Warning,
}

/// A stable name for each kind of problem, used in JSON output and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)] // Each variant is described by `ProblemCode::describe`.
pub enum ProblemCode {
    Unreadable,
    NotAZip,
    EmptyArchive,
    FileListMissing,
    FileListEmpty,
    FileListMalformed,
    FileListDuplicate,
    FileCountMismatch,
    FileNameMismatch,
    CrcMismatch,
    SizeMismatch,
    HashMismatch,
    DataCorrupt,
    PathTraversal,
    AbsolutePath,
    DriveLetter,
    InvalidName,
    NonUtf8Name,
    Backslash,
    Symlink,
    SpecialFile,
    DuplicateName,
    OverlappingEntries,
    HeaderMismatch,
    MalformedEntry,
    MalformedArchive,
    LeadingBytes,
    TrailingBytes,
    HiddenData,
    UnaccountedBytes,
    Encrypted,
    UnsupportedMethod,
    SizeLimit,
    ForeignEntry,
    ConfigMissing,
    MetadataMissing,
    MetadataInvalid,
    UnsupportedVersion,
    StatisticsMismatch,
    FileListNotFirst,
    DirectoryWithoutSlash,
    SetuidBit,
}

impl ProblemCode {
    /// Every code, in the order checks run.
    pub const ALL: [ProblemCode; 42] = {
        use ProblemCode::*;
        [
            Unreadable,
            NotAZip,
            EmptyArchive,
            FileListMissing,
            FileListEmpty,
            FileListMalformed,
            FileListDuplicate,
            FileCountMismatch,
            FileNameMismatch,
            CrcMismatch,
            SizeMismatch,
            HashMismatch,
            DataCorrupt,
            PathTraversal,
            AbsolutePath,
            DriveLetter,
            InvalidName,
            NonUtf8Name,
            Backslash,
            Symlink,
            SpecialFile,
            DuplicateName,
            OverlappingEntries,
            HeaderMismatch,
            MalformedEntry,
            MalformedArchive,
            LeadingBytes,
            TrailingBytes,
            HiddenData,
            UnaccountedBytes,
            Encrypted,
            UnsupportedMethod,
            SizeLimit,
            ForeignEntry,
            ConfigMissing,
            MetadataMissing,
            MetadataInvalid,
            UnsupportedVersion,
            StatisticsMismatch,
            FileListNotFirst,
            DirectoryWithoutSlash,
            SetuidBit,
        ]
    };

    /// The code as it appears in JSON (`file-count-mismatch`).
    pub fn as_str(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|value| value.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    /// Whether the problem makes the archive invalid.
    pub const fn severity(self) -> Severity {
        use ProblemCode::*;
        match self {
            Backslash | UnaccountedBytes | FileListNotFirst | DirectoryWithoutSlash | SetuidBit => {
                Severity::Warning
            }
            _ => Severity::Error,
        }
    }

    /// The documented API text that opens the message, where one applies.
    /// Restore reports a refusal with the same text.
    pub const fn api_error(self) -> Option<ApiError> {
        use ProblemCode::*;
        match self {
            Unreadable => Some(ApiError::BackupReader),
            NotAZip => Some(ApiError::OpenArchive),
            EmptyArchive => Some(ApiError::EmptyArchive),
            FileListMissing | FileListEmpty => Some(ApiError::EmptyFileList),
            FileListMalformed => Some(ApiError::BackupReader),
            FileCountMismatch => Some(ApiError::FileCountMismatch),
            FileListDuplicate | FileNameMismatch => Some(ApiError::FileNameMismatch),
            CrcMismatch | SizeMismatch | HashMismatch | DataCorrupt | Encrypted
            | UnsupportedMethod => Some(ApiError::Unzip),
            DuplicateName | OverlappingEntries | HeaderMismatch | MalformedEntry
            | MalformedArchive | LeadingBytes | TrailingBytes | HiddenData => {
                Some(ApiError::OpenArchive)
            }
            PathTraversal | AbsolutePath | DriveLetter | InvalidName | NonUtf8Name | Symlink
            | SpecialFile | SizeLimit | ForeignEntry | ConfigMissing | MetadataMissing
            | MetadataInvalid | UnsupportedVersion | StatisticsMismatch => {
                Some(ApiError::BackupReader)
            }
            Backslash | UnaccountedBytes | FileListNotFirst | DirectoryWithoutSlash | SetuidBit => {
                None
            }
        }
    }

    /// What the code means, for docs and `--help`.
    pub const fn describe(self) -> &'static str {
        use ProblemCode::*;
        match self {
            Unreadable => "the file cannot be read",
            NotAZip => "the file is not a zip archive that can be opened",
            EmptyArchive => "the archive holds no file",
            FileListMissing => "the archive has no file list",
            FileListEmpty => "the file list names no file",
            FileListMalformed => "a line of the file list cannot be read",
            FileListDuplicate => "the file list names a path twice",
            FileCountMismatch => "the archive holds another number of files than the list names",
            FileNameMismatch => "files are listed but missing, or present but not listed",
            CrcMismatch => "an entry's data does not match its CRC-32",
            SizeMismatch => "an entry's data is not as long as its header says",
            HashMismatch => "a file's SHA-256 differs from the list",
            DataCorrupt => "an entry's compressed data is damaged or cut short",
            PathTraversal => "a name climbs out of the target with `..`",
            AbsolutePath => "a name starts at the root",
            DriveLetter => "a name starts with a drive letter",
            InvalidName => "a name is empty, holds NUL, or has empty or `.` components",
            NonUtf8Name => "a name is not valid UTF-8",
            Backslash => "a name holds a backslash, a separator for Windows readers",
            Symlink => "an entry is a symbolic link",
            SpecialFile => "an entry is a device, FIFO or socket",
            DuplicateName => "two entries have the same name",
            OverlappingEntries => "entries share bytes with each other or the central directory",
            HeaderMismatch => "a local header disagrees with the central directory",
            MalformedEntry => "an entry's records cannot be decoded",
            MalformedArchive => "the archive's end records disagree with its central directory",
            LeadingBytes => "bytes come before the archive",
            TrailingBytes => "bytes come after the archive's end",
            HiddenData => "a local header lies outside every listed entry",
            UnaccountedBytes => "bytes between entries belong to no record",
            Encrypted => "an entry is encrypted",
            UnsupportedMethod => "an entry uses a compression method other than stored or deflate",
            SizeLimit => "declared sizes exceed the size cap",
            ForeignEntry => "an entry lies outside `config/`, `statistics/` and the format's files",
            ConfigMissing => "the archive holds no configuration tree",
            MetadataMissing => "the archive has no metadata file",
            MetadataInvalid => "the metadata file cannot be read",
            UnsupportedVersion => "the archive follows a newer format version",
            StatisticsMismatch => "the metadata and the archive disagree on statistics",
            FileListNotFirst => "the file list is not the first entry",
            DirectoryWithoutSlash => "a folder entry's name does not end with `/`",
            SetuidBit => "an entry's mode has setuid, setgid or sticky bits (never restored)",
        }
    }
}

/// One problem found in an archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// What kind of problem.
    pub code: ProblemCode,
    /// Whether it makes the archive invalid.
    pub severity: Severity,
    /// The message: the documented API text where one applies, then detail.
    pub message: String,
    /// The entry concerned, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry: Option<String>,
}

impl Problem {
    /// A problem with `detail`, led by the code's API text.
    pub fn new(code: ProblemCode, detail: impl Into<String>) -> Problem {
        let detail = detail.into();
        let message = match code.api_error() {
            Some(error) => error.with_cause(&detail),
            None => detail,
        };
        Problem {
            code,
            severity: code.severity(),
            message,
            entry: None,
        }
    }

    /// The same problem, tied to an entry.
    pub fn at(mut self, entry: impl Into<String>) -> Problem {
        self.entry = Some(entry.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_kebab_case_and_unique() {
        let names: std::collections::HashSet<String> =
            ProblemCode::ALL.iter().map(|code| code.as_str()).collect();
        assert_eq!(names.len(), ProblemCode::ALL.len());
        assert_eq!(
            ProblemCode::FileCountMismatch.as_str(),
            "file-count-mismatch"
        );
    }

    /// Messages start with the documented text, which the API's clients
    /// match on.
    #[test]
    fn messages_lead_with_the_documented_text() {
        let problem = Problem::new(ProblemCode::FileCountMismatch, "3 files, 4 listed");
        assert!(problem.message.starts_with(
            "The number of files in the archive does not match the list of files in the file"
        ));
        let warning = Problem::new(ProblemCode::Backslash, "name `a\\b`");
        assert_eq!(warning.message, "name `a\\b`");
        assert_eq!(warning.severity, Severity::Warning);
    }
}
