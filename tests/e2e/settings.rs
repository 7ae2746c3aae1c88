//! The backup configuration end to end: every validation text of the
//! reference, and a round trip of a complete configuration.

use puqbackup::catalogue::ApiError;
use puqbackup::conformance::Method;

use crate::harness::{Stack, refused};

/// A complete, valid configuration as the reference's example sends it.
const VALID: [(&str, &str); 14] = [
    ("backup_to_ftp", "1"),
    ("every_day", "1"),
    ("every_day_hour", "14"),
    ("every_day_minute", "45"),
    ("every_day_statistics", "1"),
    ("every_hour", "1"),
    ("every_hour_minute", "40"),
    ("every_hour_statistics", "1"),
    ("ftp_password", "QWEqwe123"),
    ("ftp_path", "home/backups"),
    ("ftp_server", "ftp.invalid"),
    ("ftp_server_port", "21"),
    ("ftp_user", "puqvpncp"),
    ("number_backups", "100"),
];

/// `VALID` with one value replaced.
fn with(name: &str, value: &'static str) -> Vec<(&'static str, &'static str)> {
    VALID
        .iter()
        .map(|&(key, old)| (key, if key == name { value } else { old }))
        .collect()
}

/// Each invalid value answers its documented text (400) and leaves the
/// configuration as it was.
#[test]
fn every_validation_text() {
    let stack = Stack::api_only();
    let before = stack.success(Method::Get, "/api/v1/backups/config", &[]);
    let cases = [
        ("every_hour_minute", "60", ApiError::HourlyMinuteRange),
        ("every_day_hour", "24", ApiError::DailyHourRange),
        ("every_day_minute", "60", ApiError::DailyMinuteRange),
        ("number_backups", "0", ApiError::NumberBackupsRange),
        ("ftp_server", "", ApiError::FtpServerMissing),
        ("ftp_user", "", ApiError::FtpUserMissing),
        ("ftp_password", "", ApiError::FtpPasswordMissing),
    ];
    for (name, value, error) in cases {
        let answer = stack.send(Method::Put, "/api/v1/backups/config", &with(name, value));
        refused(&answer, 400, error.text());
    }
    assert_eq!(
        stack.success(Method::Get, "/api/v1/backups/config", &[]),
        before
    );
}

/// A complete configuration set through the API reads back the same, with
/// the reference's types: flags as booleans, numbers as numbers.
#[test]
fn configuration_round_trip() {
    let stack = Stack::api_only();
    stack.success(Method::Put, "/api/v1/backups/config", &VALID);
    let read = stack.success(Method::Get, "/api/v1/backups/config", &[]);
    let expected = serde_json::json!({
        "backup_to_ftp": true,
        "every_day": true,
        "every_day_hour": 14,
        "every_day_minute": 45,
        "every_day_statistics": true,
        "every_hour": true,
        "every_hour_minute": 40,
        "every_hour_statistics": true,
        "ftp_password": "QWEqwe123",
        "ftp_path": "home/backups",
        "ftp_server": "ftp.invalid",
        "ftp_server_port": 21,
        "ftp_user": "puqvpncp",
        "number_backups": 100,
    });
    for (name, value) in expected.as_object().unwrap() {
        assert_eq!(&read[name], value, "{name} in {read}");
    }
}
