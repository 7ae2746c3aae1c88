//! The backup settings of the API: schedules, retention and FTP upload, as
//! `GET /api/v1/backups/config` shows them and `PUT` changes them.
//!
//! They live in the data folder, outside the configuration tree, so they are
//! never part of a backup. They are saved atomically and readable by their
//! owner only (they hold the FTP password).

use std::collections::HashMap;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::catalogue::ApiError;
use crate::schedule::Schedule;

/// The settings, with the reference's field names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BackupSettings {
    /// Upload every backup to the FTP server.
    pub backup_to_ftp: bool,
    /// Daily backups on.
    pub every_day: bool,
    /// Hour of the daily backup, 0-23.
    pub every_day_hour: u8,
    /// Minute of the daily backup, 0-59.
    pub every_day_minute: u8,
    /// Daily backups include statistics.
    pub every_day_statistics: bool,
    /// Hourly backups on.
    pub every_hour: bool,
    /// Minute of the hourly backup, 0-59.
    pub every_hour_minute: u8,
    /// Hourly backups include statistics.
    pub every_hour_statistics: bool,
    /// FTP password.
    pub ftp_password: String,
    /// Folder on the FTP server, created when missing.
    pub ftp_path: String,
    /// FTP server host name or address.
    pub ftp_server: String,
    /// FTP server port.
    pub ftp_server_port: u16,
    /// FTP user.
    pub ftp_user: String,
    /// How many local backups are kept.
    pub number_backups: u32,
    /// Explicit FTPS (`AUTH TLS`); an extension of the reference.
    pub ftp_tls: bool,
}

impl Default for BackupSettings {
    fn default() -> Self {
        BackupSettings {
            backup_to_ftp: false,
            every_day: false,
            every_day_hour: 3,
            every_day_minute: 0,
            every_day_statistics: true,
            every_hour: false,
            every_hour_minute: 0,
            every_hour_statistics: false,
            ftp_password: String::new(),
            ftp_path: String::new(),
            ftp_server: String::new(),
            ftp_server_port: 21,
            ftp_user: String::new(),
            number_backups: 10,
            ftp_tls: false,
        }
    }
}

/// Why a settings change is refused: the message to answer with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SettingsError(pub String);

impl BackupSettings {
    /// Reads the settings file; a missing file gives the defaults.
    ///
    /// # Errors
    /// When the file exists but cannot be read or parsed.
    pub fn load(path: &Path) -> Result<BackupSettings, String> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|error| {
                format!("`{}` is not valid backup settings: {error}", path.display())
            }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                Ok(BackupSettings::default())
            }
            Err(error) => Err(format!("cannot read `{}`: {error}", path.display())),
        }
    }

    /// Saves atomically with mode 0600.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let mut temporary = path.as_os_str().to_os_string();
        temporary.push(".tmp");
        let temporary = std::path::PathBuf::from(temporary);
        let text = serde_json::to_vec_pretty(self).unwrap_or_default();
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temporary)?;
        file.write_all(&text)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&temporary, path)?;
        if let Some(folder) = path.parent() {
            std::fs::File::open(folder)?.sync_all()?;
        }
        Ok(())
    }

    /// The schedules, for the scheduler.
    pub fn schedule(&self) -> Schedule {
        Schedule {
            every_hour: self.every_hour,
            every_hour_minute: self.every_hour_minute,
            every_hour_statistics: self.every_hour_statistics,
            every_day: self.every_day,
            every_day_hour: self.every_day_hour,
            every_day_minute: self.every_day_minute,
            every_day_statistics: self.every_day_statistics,
        }
    }

    /// These settings changed by the form `parameters`. A field that is not
    /// given keeps its value. Checks run in the order the reference lists
    /// its errors, and the first failure is the answer.
    ///
    /// # Errors
    /// The documented text of the first failed check, or, for a value that is
    /// not a number or not `0`/`1`, a message naming the field.
    pub fn changed_by(
        &self,
        parameters: &HashMap<String, String>,
    ) -> Result<BackupSettings, SettingsError> {
        let mut next = self.clone();
        let flag = |name: &str, current: bool| -> Result<bool, SettingsError> {
            match parameters.get(name).map(|value| value.trim()) {
                None => Ok(current),
                Some("1") | Some("true") => Ok(true),
                Some("0") | Some("false") => Ok(false),
                Some(other) => Err(SettingsError(format!(
                    "`{name}` must be 0 or 1, not `{other}`"
                ))),
            }
        };
        let number =
            |name: &str, error: ApiError, low: i64, high: i64, current: i64| match parameters
                .get(name)
                .map(|value| value.trim())
            {
                None => Ok(current),
                Some(text) => match text.parse::<i64>() {
                    Ok(value) if (low..=high).contains(&value) => Ok(value),
                    Ok(value) => Err(SettingsError(
                        error.with_cause(format!("`{name}` is {value}")),
                    )),
                    Err(_) => Err(SettingsError(
                        error.with_cause(format!("`{name}` is not a number: `{text}`")),
                    )),
                },
            };
        let text = |name: &str, current: &str| -> String {
            parameters
                .get(name)
                .cloned()
                .unwrap_or_else(|| current.to_string())
        };

        next.backup_to_ftp = flag("backup_to_ftp", self.backup_to_ftp)?;
        next.every_day = flag("every_day", self.every_day)?;
        next.every_day_statistics = flag("every_day_statistics", self.every_day_statistics)?;
        next.every_hour = flag("every_hour", self.every_hour)?;
        next.every_hour_statistics = flag("every_hour_statistics", self.every_hour_statistics)?;
        next.ftp_tls = flag("ftp_tls", self.ftp_tls)?;

        next.every_hour_minute = number(
            "every_hour_minute",
            ApiError::HourlyMinuteRange,
            0,
            59,
            i64::from(self.every_hour_minute),
        )? as u8;
        next.every_day_hour = number(
            "every_day_hour",
            ApiError::DailyHourRange,
            0,
            23,
            i64::from(self.every_day_hour),
        )? as u8;
        next.every_day_minute = number(
            "every_day_minute",
            ApiError::DailyMinuteRange,
            0,
            59,
            i64::from(self.every_day_minute),
        )? as u8;
        next.number_backups = number(
            "number_backups",
            ApiError::NumberBackupsRange,
            1,
            i64::from(u32::MAX),
            i64::from(self.number_backups),
        )? as u32;

        next.ftp_server = text("ftp_server", &self.ftp_server).trim().to_string();
        next.ftp_user = text("ftp_user", &self.ftp_user);
        next.ftp_password = text("ftp_password", &self.ftp_password);
        next.ftp_path = text("ftp_path", &self.ftp_path).trim().to_string();
        if next.backup_to_ftp {
            if next.ftp_server.is_empty() {
                return Err(SettingsError(ApiError::FtpServerMissing.text().to_string()));
            }
            if next.ftp_user.is_empty() {
                return Err(SettingsError(ApiError::FtpUserMissing.text().to_string()));
            }
            if next.ftp_password.is_empty() {
                return Err(SettingsError(
                    ApiError::FtpPasswordMissing.text().to_string(),
                ));
            }
        }
        next.ftp_server_port = match parameters.get("ftp_server_port").map(|value| value.trim()) {
            None => self.ftp_server_port,
            Some("") => 21,
            Some(text) => match text.parse::<u16>() {
                Ok(port) if port > 0 => port,
                _ => {
                    return Err(SettingsError(format!(
                        "`ftp_server_port` must be a number from 1 to 65535, not `{text}`"
                    )));
                }
            },
        };
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect()
    }

    /// The reference's own example is accepted and read as it shows.
    #[test]
    fn reference_example_is_accepted() {
        let settings = BackupSettings::default()
            .changed_by(&form(&[
                ("backup_to_ftp", "1"),
                ("every_day", "1"),
                ("every_day_hour", "14"),
                ("every_day_minute", "45"),
                ("every_day_statistics", "1"),
                ("every_hour", "1"),
                ("every_hour_minute", "40"),
                ("every_hour_statistics", "1"),
                ("ftp_password", "QWEqwe123"),
                ("ftp_path", "home/dev.softkeel.com"),
                ("ftp_server", "home.uuq.pl"),
                ("ftp_server_port", "21"),
                ("ftp_user", "puqvpncp"),
                ("number_backups", "100"),
            ]))
            .unwrap();
        assert_eq!(settings.every_day_hour, 14);
        assert_eq!(settings.number_backups, 100);
        assert!(settings.backup_to_ftp && settings.every_hour_statistics);
    }

    /// With several bad values, the first in the reference's order answers.
    #[test]
    fn checks_run_in_the_reference_order() {
        let bad = form(&[
            ("every_hour_minute", "60"),
            ("every_day_hour", "24"),
            ("number_backups", "0"),
        ]);
        let error = BackupSettings::default().changed_by(&bad).unwrap_err();
        assert!(error.0.starts_with(ApiError::HourlyMinuteRange.text()));

        let error = BackupSettings::default()
            .changed_by(&form(&[
                ("every_day_hour", "24"),
                ("every_day_minute", "99"),
            ]))
            .unwrap_err();
        assert!(error.0.starts_with(ApiError::DailyHourRange.text()));

        let error = BackupSettings::default()
            .changed_by(&form(&[("backup_to_ftp", "1"), ("ftp_user", "u")]))
            .unwrap_err();
        assert_eq!(error.0, ApiError::FtpServerMissing.text());
    }

    #[test]
    fn bad_flags_and_ports_name_the_field() {
        let error = BackupSettings::default()
            .changed_by(&form(&[("every_day", "yes")]))
            .unwrap_err();
        assert!(error.0.contains("`every_day`"));
        let error = BackupSettings::default()
            .changed_by(&form(&[("ftp_server_port", "70000")]))
            .unwrap_err();
        assert!(error.0.contains("`ftp_server_port`"));
        let settings = BackupSettings::default()
            .changed_by(&form(&[("ftp_server_port", "")]))
            .unwrap();
        assert_eq!(settings.ftp_server_port, 21);
    }
}
