//! What the server parses of a request before any handler runs: the form
//! parameters of a query string and body, the `access_hash` cookie among
//! `Cookie` headers, and the backup settings a form changes. None panics;
//! every limit holds; a refusal never echoes more than a bounded part of
//! the input; settings that are accepted are in range.

#![no_main]

use std::collections::HashMap;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use puqbackup::server::BackupSettings;
use puqbackup::server::request::{
    AccessCookie, MAX_PARAMETER_NAME_BYTES, MAX_PARAMETER_VALUE_BYTES, MAX_PARAMETERS,
    Parameters, access_hash_in,
};

#[derive(Debug, Arbitrary)]
struct Request<'a> {
    query: &'a str,
    body: &'a [u8],
    cookies: Vec<&'a [u8]>,
    /// Settings given as they are, past the form parser.
    settings: Vec<(&'a str, &'a str)>,
}

/// The longest refusal text: a fixed phrase and at most one escaped name.
const MAX_REFUSAL_BYTES: usize = 200 + 10 * MAX_PARAMETER_NAME_BYTES;

fuzz_target!(|request: Request<'_>| {
    match Parameters::parse(request.query, request.body) {
        Ok(parameters) => {
            assert!(parameters.0.len() <= MAX_PARAMETERS);
            for (name, value) in &parameters.0 {
                assert!(name.len() <= MAX_PARAMETER_NAME_BYTES);
                assert!(value.len() <= MAX_PARAMETER_VALUE_BYTES);
            }
            check_settings(&parameters.0);
        }
        Err(failure) => {
            assert_eq!(failure.status.as_u16(), 400);
            assert!(
                failure.message.len() <= MAX_REFUSAL_BYTES,
                "a refusal of {} bytes",
                failure.message.len()
            );
        }
    }

    match access_hash_in(request.cookies.iter().copied()) {
        AccessCookie::Given(value) => {
            assert!(!value.contains(';'), "a value holds the separator");
            let found = request.cookies.iter().any(|raw| {
                std::str::from_utf8(raw).is_ok_and(|text| text.contains(value.as_str()))
            });
            assert!(found, "the value is in some header");
        }
        AccessCookie::Missing | AccessCookie::Repeated => {}
    }

    let settings: HashMap<String, String> = request
        .settings
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
    check_settings(&settings);
});

/// Accepted settings are in the documented ranges, and FTP upload is on
/// only with a server, a user and a password.
fn check_settings(parameters: &HashMap<String, String>) {
    let Ok(next) = BackupSettings::default().changed_by(parameters) else {
        return;
    };
    assert!(next.every_hour_minute <= 59);
    assert!(next.every_day_hour <= 23);
    assert!(next.every_day_minute <= 59);
    assert!(next.number_backups >= 1);
    assert!(next.ftp_server_port >= 1);
    if next.backup_to_ftp {
        assert!(!next.ftp_server.is_empty());
        assert!(!next.ftp_user.is_empty());
        assert!(!next.ftp_password.is_empty());
    }
}
