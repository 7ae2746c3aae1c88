//! Archive names: `<host>_YYYY-MM-DD_HH-MM-SS.zip`, in the server's local time.

use std::fmt;

use chrono::NaiveDateTime;

const TIME_FORMAT: &str = "%Y-%m-%d_%H-%M-%S";
/// Length of `YYYY-MM-DD_HH-MM-SS`.
const TIME_LENGTH: usize = 19;

/// Why a host or an archive name is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The host name cannot be part of a file name.
    #[error("host name `{0}` is not usable in an archive name: {1}")]
    BadHost(String, &'static str),
    /// The file name does not have the archive name's shape.
    #[error("`{0}` is not a backup name (expected `<host>_YYYY-MM-DD_HH-MM-SS.zip`)")]
    BadName(String),
}

/// A parsed archive name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct BackupName {
    /// The host part.
    pub host: String,
    /// The local time the backup was started, to the second.
    pub time: NaiveDateTime,
}

impl BackupName {
    /// A name for `host` at `time`.
    ///
    /// # Errors
    /// When the host name is empty, longer than 253 bytes, or holds anything
    /// but ASCII letters, digits, `.`, `-` and `_`.
    pub fn new(host: &str, time: NaiveDateTime) -> Result<BackupName, NameError> {
        check_host(host)?;
        Ok(BackupName {
            host: host.to_string(),
            time: time.with_nanosecond_zero(),
        })
    }

    /// Parses a file name. The host is everything before the last 20
    /// characters (`_` and the time), so a host may itself hold `_`.
    ///
    /// # Errors
    /// When the name does not have the shape or the time is not a real one.
    pub fn parse(file_name: &str) -> Result<BackupName, NameError> {
        let bad = || NameError::BadName(file_name.to_string());
        let stem = file_name.strip_suffix(".zip").ok_or_else(bad)?;
        let split = stem.len().checked_sub(TIME_LENGTH + 1).ok_or_else(bad)?;
        if !stem.is_char_boundary(split) {
            return Err(bad());
        }
        let (host, rest) = stem.split_at(split);
        let time_text = rest.strip_prefix('_').ok_or_else(bad)?;
        let time = NaiveDateTime::parse_from_str(time_text, TIME_FORMAT).map_err(|_| bad())?;
        check_host(host).map_err(|_| bad())?;
        Ok(BackupName {
            host: host.to_string(),
            time,
        })
    }
}

impl fmt::Display for BackupName {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{}_{}.zip",
            self.host,
            self.time.format(TIME_FORMAT)
        )
    }
}

trait WithNanosecondZero {
    fn with_nanosecond_zero(self) -> Self;
}

impl WithNanosecondZero for NaiveDateTime {
    fn with_nanosecond_zero(self) -> Self {
        use chrono::Timelike;
        self.with_nanosecond(0).unwrap_or(self)
    }
}

fn check_host(host: &str) -> Result<(), NameError> {
    let bad = |reason| Err(NameError::BadHost(host.to_string(), reason));
    if host.is_empty() {
        return bad("it is empty");
    }
    if host.len() > 253 {
        return bad("it is longer than 253 bytes");
    }
    if host.starts_with('.') {
        return bad("it starts with `.`");
    }
    if !host
        .bytes()
        .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'-' | b'_'))
    {
        return bad("only letters, digits, `.`, `-` and `_` are allowed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(h: u32, m: u32, s: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2023, 1, 27)
            .and_then(|date| date.and_hms_opt(h, m, s))
            .unwrap_or_default()
    }

    #[test]
    fn formats_like_the_panel() {
        let name = BackupName::new("dev.softkeel.com", at(19, 0, 40));
        assert_eq!(
            name.map(|name| name.to_string()),
            Ok("dev.softkeel.com_2023-01-27_19-00-40.zip".to_string())
        );
    }

    /// A host holding `_` still parses, because the time is read from the end.
    #[test]
    fn parses_host_with_underscore() {
        let parsed = BackupName::parse("my_host_2023-01-27_19-00-40.zip");
        assert_eq!(
            parsed,
            Ok(BackupName {
                host: "my_host".to_string(),
                time: at(19, 0, 40)
            })
        );
    }

    #[test]
    fn refuses_other_shapes() {
        for name in [
            "config",
            "restore",
            ".zip",
            "_2023-01-27_19-00-40.zip",
            "host_2023-13-27_19-00-40.zip",
            "host_2023-01-27_19-00-40.zip.partial",
            "../x_2023-01-27_19-00-40.zip",
            "hé_2023-01-27_19-00-40.zip",
        ] {
            assert!(BackupName::parse(name).is_err(), "{name} was accepted");
        }
    }

    #[test]
    fn refuses_hosts_with_slashes() {
        assert!(BackupName::new("a/b", at(0, 0, 0)).is_err());
        assert!(BackupName::new("", at(0, 0, 0)).is_err());
    }
}
