//! The error texts of the backups API, word for word as its reference
//! documents them.
//!
//! This is the one place those texts are written. The toolkit's messages, the
//! server's responses, the tests and docs/ERRORS.md all take them from here.
//! A text that ends with a colon is followed by the cause:
//! `FTP upload error: 530 Login incorrect.`

use std::fmt;

/// One documented error text of the backups API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum ApiError {
    /// The access hash is missing, unknown, revoked or used from another address.
    NotAuthorized,
    /// Creating the archive failed.
    BackupCreation,
    /// The archive was made but could not be uploaded.
    FtpUpload,
    /// The panel is not healthy, so restore refuses to run.
    StatusNotOk,
    /// No backup has the requested name.
    NoSuchBackup,
    /// The backup file could not be read.
    BackupReader,
    /// The file list is missing or holds no line.
    EmptyFileList,
    /// The archive holds no file.
    EmptyArchive,
    /// The archive holds another number of files than its list names.
    FileCountMismatch,
    /// The names of the files in the archive differ from the list.
    FileNameMismatch,
    /// The live configuration could not be moved aside.
    DeleteOldConfiguration,
    /// The file is not a zip archive that can be opened.
    OpenArchive,
    /// A folder could not be created during restore.
    CreateFolder,
    /// A file could not be created during restore.
    CreateFile,
    /// A file's data could not be extracted or did not match.
    Unzip,
    /// `every_hour_minute` is out of range.
    HourlyMinuteRange,
    /// `every_day_hour` is out of range.
    DailyHourRange,
    /// `every_day_minute` is out of range.
    DailyMinuteRange,
    /// `number_backups` is not positive.
    NumberBackupsRange,
    /// `ftp_server` is empty while upload is on.
    FtpServerMissing,
    /// `ftp_user` is empty while upload is on.
    FtpUserMissing,
    /// `ftp_password` is empty while upload is on.
    FtpPasswordMissing,
}

/// An endpoint of the backups API, as its reference names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Endpoint {
    /// `GET /api/v1/backups`.
    List,
    /// `POST /api/v1/backups`.
    Create,
    /// `PUT /api/v1/backups/restore`.
    Restore,
    /// `GET /api/v1/backups/<name>`.
    Download,
    /// `GET /api/v1/backups/config`.
    GetConfiguration,
    /// `PUT /api/v1/backups/config`.
    SetConfiguration,
}

impl Endpoint {
    /// Every endpoint, in the reference's order.
    pub const ALL: [Endpoint; 6] = [
        Endpoint::List,
        Endpoint::Create,
        Endpoint::Restore,
        Endpoint::Download,
        Endpoint::GetConfiguration,
        Endpoint::SetConfiguration,
    ];

    /// The reference's heading for this endpoint.
    pub const fn title(self) -> &'static str {
        match self {
            Endpoint::List => "Backups List",
            Endpoint::Create => "Backup Create",
            Endpoint::Restore => "Backup Restore",
            Endpoint::Download => "Backup Download",
            Endpoint::GetConfiguration => "Backups Get Configuration",
            Endpoint::SetConfiguration => "Backups Set Configuration",
        }
    }

    /// The error texts the reference lists for this endpoint, in its order.
    pub const fn errors(self) -> &'static [ApiError] {
        use ApiError::*;
        match self {
            Endpoint::List | Endpoint::Download | Endpoint::GetConfiguration => &[NotAuthorized],
            Endpoint::Create => &[NotAuthorized, BackupCreation, FtpUpload],
            Endpoint::Restore => &[
                NotAuthorized,
                StatusNotOk,
                NoSuchBackup,
                BackupReader,
                EmptyFileList,
                EmptyArchive,
                FileCountMismatch,
                FileNameMismatch,
                DeleteOldConfiguration,
                OpenArchive,
                CreateFolder,
                CreateFile,
                Unzip,
            ],
            Endpoint::SetConfiguration => &[
                NotAuthorized,
                HourlyMinuteRange,
                DailyHourRange,
                DailyMinuteRange,
                NumberBackupsRange,
                FtpServerMissing,
                FtpUserMissing,
                FtpPasswordMissing,
            ],
        }
    }
}

impl ApiError {
    /// Every distinct text, once each.
    pub const ALL: [ApiError; 22] = [
        ApiError::NotAuthorized,
        ApiError::BackupCreation,
        ApiError::FtpUpload,
        ApiError::StatusNotOk,
        ApiError::NoSuchBackup,
        ApiError::BackupReader,
        ApiError::EmptyFileList,
        ApiError::EmptyArchive,
        ApiError::FileCountMismatch,
        ApiError::FileNameMismatch,
        ApiError::DeleteOldConfiguration,
        ApiError::OpenArchive,
        ApiError::CreateFolder,
        ApiError::CreateFile,
        ApiError::Unzip,
        ApiError::HourlyMinuteRange,
        ApiError::DailyHourRange,
        ApiError::DailyMinuteRange,
        ApiError::NumberBackupsRange,
        ApiError::FtpServerMissing,
        ApiError::FtpUserMissing,
        ApiError::FtpPasswordMissing,
    ];

    /// The documented text, exactly.
    pub const fn text(self) -> &'static str {
        match self {
            ApiError::NotAuthorized => "Not authorized",
            ApiError::BackupCreation => "Error backup creation:",
            ApiError::FtpUpload => "FTP upload error:",
            ApiError::StatusNotOk => "PUQVPNCP status not OK",
            ApiError::NoSuchBackup => "There is no backup with this name",
            ApiError::BackupReader => "Error backup reader:",
            ApiError::EmptyFileList => "Empty list of files in file with file list",
            ApiError::EmptyArchive => "Empty archive",
            ApiError::FileCountMismatch => {
                "The number of files in the archive does not match the list of files in the file"
            }
            ApiError::FileNameMismatch => "Mismatch between files in archive and list of files",
            ApiError::DeleteOldConfiguration => "Unable to delete old configuration:",
            ApiError::OpenArchive => "Failed to open archive, ERROR:",
            ApiError::CreateFolder => "Failed to create folder:",
            ApiError::CreateFile => "Failed to create file:",
            ApiError::Unzip => "Failed to unzip file:",
            ApiError::HourlyMinuteRange => {
                "In every hour schedule, the minute parameter must be between 0 and 59"
            }
            ApiError::DailyHourRange => {
                "In the daily schedule, the hour parameter must be between 0 and 23"
            }
            ApiError::DailyMinuteRange => {
                "In a daily schedule, the minute parameter must be between 0 and 59"
            }
            ApiError::NumberBackupsRange => "Number backups parameter must be greater than 0",
            ApiError::FtpServerMissing => "FTP server must be filled",
            ApiError::FtpUserMissing => "FTP user must be filled",
            ApiError::FtpPasswordMissing => "FTP password must be filled",
        }
    }

    /// Whether the reference writes a cause after the text (it ends with a
    /// colon).
    pub const fn takes_cause(self) -> bool {
        self.text().as_bytes()[self.text().len() - 1] == b':'
    }

    /// The full message: the text, then the cause after one space when the
    /// text takes one. A text without a colon gets the cause after `: `, so
    /// that detail is never lost but the documented text still leads.
    pub fn with_cause(self, cause: impl fmt::Display) -> String {
        let cause = cause.to_string();
        if cause.is_empty() {
            self.text().to_string()
        } else if self.takes_cause() {
            format!("{} {cause}", self.text())
        } else {
            format!("{}: {cause}", self.text())
        }
    }

    /// The endpoints whose reference section lists this text.
    pub fn endpoints(self) -> Vec<Endpoint> {
        Endpoint::ALL
            .into_iter()
            .filter(|endpoint| endpoint.errors().contains(&self))
            .collect()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// The reference documents 22 distinct texts in 27 endpoint/error pairs.
    #[test]
    fn counts_match_the_reference() {
        let distinct: HashSet<&str> = ApiError::ALL.iter().map(|error| error.text()).collect();
        assert_eq!(distinct.len(), 22);
        let pairs: usize = Endpoint::ALL
            .iter()
            .map(|endpoint| endpoint.errors().len())
            .sum();
        assert_eq!(pairs, 27);
        for error in ApiError::ALL {
            assert!(
                !error.endpoints().is_empty(),
                "{error:?} belongs to no endpoint"
            );
        }
    }

    #[test]
    fn causes_follow_the_colon() {
        assert_eq!(
            ApiError::FtpUpload.with_cause("530 Login incorrect."),
            "FTP upload error: 530 Login incorrect."
        );
        assert_eq!(ApiError::EmptyArchive.with_cause(""), "Empty archive");
        assert_eq!(
            ApiError::EmptyFileList.with_cause("no `filelist.sha256`"),
            "Empty list of files in file with file list: no `filelist.sha256`"
        );
    }
}
