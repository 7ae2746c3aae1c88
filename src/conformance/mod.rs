//! A black-box check of a deployment of the backups API: ours, or the
//! original panel. It speaks only HTTP(S) to the server root it is given and
//! compares each answer with the reference (docs/CONFORMANCE.md lists the
//! checks and what each documented error text is covered by).
//!
//! The run changes nothing lasting in the server's configuration: the backup
//! configuration is read first and put back at the end, also when a check
//! fails or the run panics (a guard does it), and the last check reads it
//! again to show it came back exactly. The run adds backups (a plain create
//! and the one whose FTP upload fails); it raises `number_backups` while it
//! creates them, so that retention removes none of the existing ones, and
//! afterwards deletes the ones it made where the server offers
//! `DELETE /api/v1/backups/<name>`. A restore of a backup runs only when the
//! caller allows it; it restores the backup the run just made.
//!
//! The FTP check points the server at `127.0.0.1` on a closed port (the
//! discard port, 9), the server's own loopback: nothing leaves the server's
//! machine.

mod client;
mod configuration;
mod junit;

use std::time::{Duration, Instant};

use chrono::DateTime;
use serde::Serialize;
use serde_json::Value;

use crate::catalogue::ApiError;
pub use client::{Answer, Client, Cookie, Envelope, Method};
pub use configuration::Configuration;
pub use junit::junit_xml;

/// The backup name a restore and a download ask for, which no server holds.
pub const ABSENT_BACKUP: &str = "conformance-check_1970-01-01_00-00-00.zip";

/// The port the FTP check points the server at, on its own loopback: the
/// discard port, which no FTP server uses.
pub const CLOSED_FTP_PORT: u16 = 9;

/// The user and password the FTP checks fill in; no server accepts them,
/// since no FTP server is reached.
const PLACEHOLDER_FTP_LOGIN: &str = "conformance";

/// How a run goes.
#[derive(Clone)]
pub struct Options {
    /// The server root, such as `http://127.0.0.1:8080`; a final `/` and an
    /// `/api/v1` suffix are accepted.
    pub url: String,
    /// The access hash to authorize with; never shown.
    pub access_hash: String,
    /// Restore the backup the run made, and wait for the status to be `OK`.
    pub allow_restore: bool,
    /// Accept any TLS certificate (self-signed test servers).
    pub insecure: bool,
    /// The longest one request may take.
    pub request_timeout: Duration,
    /// How long the status may take to come back to `OK` after a restore.
    pub status_timeout: Duration,
}

impl Options {
    /// Options for `url` and `access_hash`, without restore, with certificate
    /// checks and the default time limits.
    pub fn new(url: impl Into<String>, access_hash: impl Into<String>) -> Options {
        Options {
            url: url.into(),
            access_hash: access_hash.into(),
            allow_restore: false,
            insecure: false,
            request_timeout: Duration::from_secs(120),
            status_timeout: Duration::from_secs(60),
        }
    }
}

impl std::fmt::Debug for Options {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Options")
            .field("url", &self.url)
            .field("access_hash", &"(hidden)")
            .field("allow_restore", &self.allow_restore)
            .field("insecure", &self.insecure)
            .field("request_timeout", &self.request_timeout)
            .field("status_timeout", &self.status_timeout)
            .finish()
    }
}

/// Why a run could not take place at all.
#[derive(Debug, thiserror::Error)]
pub enum ConformanceError {
    /// The URL is not an HTTP(S) server root.
    #[error("`{url}` is not a server root: {reason}")]
    Url {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The access hash is not 80 lowercase hex characters.
    #[error(
        "the access hash is not {} lowercase hex characters",
        crate::access::HASH_LENGTH
    )]
    AccessHash,
    /// The server did not answer.
    #[error("no answer from `{url}`: {reason}")]
    Connection {
        /// The URL requested.
        url: String,
        /// The cause.
        reason: String,
    },
}

/// The verdict on one check.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What is checked, as `area/case`.
    pub name: String,
    /// The documented error text the check expects, when it expects one.
    pub covers: Option<ApiError>,
    /// What the reference wants.
    pub expected: String,
    /// What the server answered.
    pub got: String,
    /// Whether the answer is what the reference wants.
    pub passed: bool,
    /// Information beside the verdict: HTTP codes, sizes, what was seen.
    pub notes: Vec<String>,
    /// How long the check took.
    pub milliseconds: u64,
}

/// The outcome of a run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The server root checked.
    pub server: String,
    /// Every check, in the order they ran.
    pub checks: Vec<Check>,
    /// What the run left behind or removed: backups it made and deleted, or
    /// could not delete.
    pub cleanup: Vec<String>,
}

impl Report {
    /// How many checks passed.
    pub fn passed(&self) -> usize {
        self.checks.iter().filter(|check| check.passed).count()
    }

    /// How many checks failed.
    pub fn failed(&self) -> usize {
        self.checks.len() - self.passed()
    }
}

/// The server root of `url`: scheme, host and port, without a final `/` and
/// without an `/api/v1` suffix.
///
/// # Errors
/// When `url` is not `http://` or `https://` followed by a host.
pub fn server_root(url: &str) -> Result<String, ConformanceError> {
    let invalid = |reason: &str| ConformanceError::Url {
        url: url.to_string(),
        reason: reason.to_string(),
    };
    let trimmed = url.trim().trim_end_matches('/');
    let trimmed = trimmed.strip_suffix("/api/v1").unwrap_or(trimmed);
    let trimmed = trimmed.trim_end_matches('/');
    let Some((scheme, rest)) = trimmed.split_once("://") else {
        return Err(invalid("it does not start with `http://` or `https://`"));
    };
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err(invalid("it does not start with `http://` or `https://`"));
    }
    if rest.is_empty() || rest.starts_with('/') {
        return Err(invalid("it names no host"));
    }
    if rest.contains(['?', '#']) {
        return Err(invalid("a server root has no query or fragment"));
    }
    Ok(trimmed.to_string())
}

/// Runs every check against the server at `options.url`.
///
/// # Errors
/// When the URL or the access hash is malformed, or the server does not
/// answer the first request. Once it has answered, a failure is a failed
/// check, never an error.
pub fn run(options: &Options) -> Result<Report, ConformanceError> {
    let root = server_root(&options.url)?;
    if !crate::access::is_well_formed(&options.access_hash) {
        return Err(ConformanceError::AccessHash);
    }
    let client = Client::new(
        root.clone(),
        options.access_hash.clone(),
        options.insecure,
        options.request_timeout,
    );

    // A first request tells an unreachable server from a wrong one.
    client.send(Method::Get, "/api/v1/backups", Cookie::Given, &[])?;

    let mut runner = Runner {
        client: &client,
        options,
        checks: Vec::new(),
        made: Vec::new(),
    };
    runner.authorization();
    runner.restore_of_an_absent_backup();
    match runner.current_configuration() {
        Some(original) => {
            let guard = Guard {
                client: &client,
                original,
                armed: true,
            };
            runner.validation(&guard.original);
            runner.round_trip(&guard.original);
            runner.create_phase(&guard.original);
            let restored = guard.restore();
            runner.checks.push(restored);
        }
        None => {
            let reason = "not run: the current configuration could not be read, so it could \
                          not be put back";
            for name in configuration_dependent_checks(options.allow_restore) {
                runner.checks.push(Check {
                    name: name.to_string(),
                    covers: covered_by(name),
                    expected: "a run".to_string(),
                    got: reason.to_string(),
                    passed: false,
                    notes: Vec::new(),
                    milliseconds: 0,
                });
            }
        }
    }
    let cleanup = runner.delete_made_backups();
    Ok(Report {
        server: root,
        checks: runner.checks,
        cleanup,
    })
}

/// The checks that need the current configuration, in the order they run.
fn configuration_dependent_checks(allow_restore: bool) -> Vec<&'static str> {
    let mut names = vec![
        "configuration/every-hour-minute-60",
        "configuration/every-day-hour-24",
        "configuration/every-day-minute-60",
        "configuration/number-backups-0",
        "configuration/ftp-server-empty",
        "configuration/ftp-user-empty",
        "configuration/ftp-password-empty",
        "configuration/refused-changes-nothing",
        "configuration/round-trip",
        "create/without-statistics",
        "list/contains-new-backup",
        "list-system/contains-new-backup",
        "download/zip",
        "create/ftp-upload-error",
    ];
    if allow_restore {
        names.extend(["restore/created-backup", "restore/status-ok"]);
    }
    names.push("configuration/restored");
    names
}

/// The documented text a check of that name expects.
fn covered_by(name: &str) -> Option<ApiError> {
    Some(match name {
        "configuration/every-hour-minute-60" => ApiError::HourlyMinuteRange,
        "configuration/every-day-hour-24" => ApiError::DailyHourRange,
        "configuration/every-day-minute-60" => ApiError::DailyMinuteRange,
        "configuration/number-backups-0" => ApiError::NumberBackupsRange,
        "configuration/ftp-server-empty" => ApiError::FtpServerMissing,
        "configuration/ftp-user-empty" => ApiError::FtpUserMissing,
        "configuration/ftp-password-empty" => ApiError::FtpPasswordMissing,
        "create/ftp-upload-error" => ApiError::FtpUpload,
        "restore/no-such-backup" => ApiError::NoSuchBackup,
        name if name.starts_with("authorization/") => ApiError::NotAuthorized,
        _ => return None,
    })
}

/// What one check saw.
struct Outcome {
    got: String,
    passed: bool,
    notes: Vec<String>,
}

impl Outcome {
    fn pass(got: impl Into<String>) -> Outcome {
        Outcome {
            got: got.into(),
            passed: true,
            notes: Vec::new(),
        }
    }

    fn fail(got: impl Into<String>) -> Outcome {
        Outcome {
            got: got.into(),
            passed: false,
            notes: Vec::new(),
        }
    }

    fn note(mut self, note: impl Into<String>) -> Outcome {
        self.notes.push(note.into());
        self
    }
}

/// Whether `answer` is an error envelope whose text starts with `error`.
fn expect_error(answer: &Result<Answer, ConformanceError>, error: ApiError) -> Outcome {
    match answer {
        Err(failure) => Outcome::fail(failure.to_string()),
        Ok(answer) => {
            let passed = answer.envelope.as_ref().is_some_and(|envelope| {
                envelope.status == "error" && envelope.error.starts_with(error.text())
            });
            Outcome {
                got: answer.describe(),
                passed,
                notes: Vec::new(),
            }
        }
    }
}

/// The envelope of a successful answer, or the outcome that says why there
/// is none.
fn success_envelope(answer: Result<Answer, ConformanceError>) -> Result<(Answer, Value), Outcome> {
    match answer {
        Err(failure) => Err(Outcome::fail(failure.to_string())),
        Ok(answer) => match &answer.envelope {
            Some(envelope) if envelope.is_success() => {
                let msg = envelope.msg.clone();
                Ok((answer, msg))
            }
            _ => Err(Outcome::fail(answer.describe())),
        },
    }
}

/// Puts the original configuration back when dropped, unless
/// [`Guard::restore`] did it already.
struct Guard<'a> {
    client: &'a Client,
    original: Configuration,
    armed: bool,
}

impl Guard<'_> {
    /// Puts the original configuration back, reads it again, and answers the
    /// check that it came back exactly.
    fn restore(mut self) -> Check {
        let started = Instant::now();
        self.armed = false;
        let expected = "the configuration read at the start, exactly".to_string();
        let put = self.client.send(
            Method::Put,
            "/api/v1/backups/config",
            Cookie::Given,
            &self.original.form(),
        );
        let outcome = match success_envelope(put) {
            Err(outcome) => Outcome::fail(format!("not put back: {}", outcome.got)),
            Ok(_) => {
                let got =
                    self.client
                        .send(Method::Get, "/api/v1/backups/config", Cookie::Given, &[]);
                match success_envelope(got) {
                    Err(outcome) => Outcome::fail(format!("not read again: {}", outcome.got)),
                    Ok((_, msg)) => {
                        let differences = self.original.differences(&msg, true);
                        if differences.is_empty() {
                            Outcome::pass("the same configuration")
                        } else {
                            Outcome::fail(differences.join("; "))
                        }
                    }
                }
            }
        };
        finish("configuration/restored", expected, started, outcome)
    }
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        if self.armed {
            // A check panicked: put the configuration back all the same.
            let _ = self.client.send(
                Method::Put,
                "/api/v1/backups/config",
                Cookie::Given,
                &self.original.form(),
            );
        }
    }
}

fn finish(name: &str, expected: String, started: Instant, outcome: Outcome) -> Check {
    Check {
        name: name.to_string(),
        covers: covered_by(name),
        expected,
        got: outcome.got,
        passed: outcome.passed,
        notes: outcome.notes,
        milliseconds: started.elapsed().as_millis() as u64,
    }
}

/// The problem with a backup as the list or a create shows it, if any:
/// `backup_name` a `.zip` name (the one wanted, when given), `creation_date`
/// RFC 3339 with fractional seconds and an offset, `size` a number.
fn backup_entry_problem(entry: &Value, wanted: Option<&str>) -> Option<String> {
    let Some(name) = entry.get("backup_name").and_then(Value::as_str) else {
        return Some("`backup_name` is not a text".to_string());
    };
    if !name.ends_with(".zip") {
        return Some(format!("`backup_name` `{name}` does not end in `.zip`"));
    }
    if let Some(wanted) = wanted
        && name != wanted
    {
        return Some(format!("`backup_name` is `{name}`, not `{wanted}`"));
    }
    let Some(date) = entry.get("creation_date").and_then(Value::as_str) else {
        return Some("`creation_date` is not a text".to_string());
    };
    if DateTime::parse_from_rfc3339(date).is_err() {
        return Some(format!("`creation_date` `{date}` is not RFC 3339"));
    }
    let time = date.split(['T', 't']).nth(1).unwrap_or("");
    if !time.contains('.') {
        return Some(format!(
            "`creation_date` `{date}` has no fractional seconds"
        ));
    }
    if !entry.get("size").is_some_and(Value::is_number) {
        return Some("`size` is not a number".to_string());
    }
    None
}

/// The names of the backups in a list answer's `msg`.
fn listed_names(msg: &Value) -> Vec<String> {
    msg.get("backups")
        .and_then(Value::as_array)
        .map(|backups| {
            backups
                .iter()
                .filter_map(|entry| entry.get("backup_name").and_then(Value::as_str))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The download path of the backup `name`.
fn download_path(name: &str) -> String {
    const KEEP: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'.')
        .remove(b'-')
        .remove(b'_');
    format!(
        "/api/v1/backups/{}",
        percent_encoding::utf8_percent_encode(name, KEEP)
    )
}

/// Form parameters, in the order sent.
type Form = Vec<(String, String)>;

fn form(pairs: &[(&str, &str)]) -> Form {
    pairs
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

/// The checks, run one after the other against one client.
struct Runner<'a> {
    client: &'a Client,
    options: &'a Options,
    checks: Vec<Check>,
    /// Backups the run made, to delete at the end.
    made: Vec<String>,
}

impl Runner<'_> {
    fn record(
        &mut self,
        name: &str,
        expected: impl Into<String>,
        started: Instant,
        outcome: Outcome,
    ) {
        self.checks
            .push(finish(name, expected.into(), started, outcome));
    }

    fn send(
        &self,
        method: Method,
        path: &str,
        parameters: &[(String, String)],
    ) -> Result<Answer, ConformanceError> {
        self.client.send(method, path, Cookie::Given, parameters)
    }

    /// Every endpoint, without a cookie and with a wrong hash, answers
    /// `Not authorized`. The requests carry values that change nothing even
    /// on a server that ignored the hash: an absent backup, a minute of 60.
    fn authorization(&mut self) {
        let absent = form(&[("backup_name", ABSENT_BACKUP)]);
        let requests: [(&str, Method, String, Form); 7] = [
            (
                "list",
                Method::Get,
                "/api/v1/backups".to_string(),
                Vec::new(),
            ),
            (
                "list-system",
                Method::Get,
                "/api/v1/system/backups".to_string(),
                Vec::new(),
            ),
            (
                "create",
                Method::Post,
                "/api/v1/backups".to_string(),
                form(&[("statistics", "0")]),
            ),
            (
                "restore",
                Method::Put,
                "/api/v1/backups/restore".to_string(),
                absent,
            ),
            (
                "download",
                Method::Get,
                download_path(ABSENT_BACKUP),
                Vec::new(),
            ),
            (
                "get-configuration",
                Method::Get,
                "/api/v1/backups/config".to_string(),
                Vec::new(),
            ),
            (
                "set-configuration",
                Method::Put,
                "/api/v1/backups/config".to_string(),
                form(&[("every_hour_minute", "60")]),
            ),
        ];
        let expected = format!("error `{}`", ApiError::NotAuthorized.text());
        for (endpoint, method, path, parameters) in &requests {
            for (cookie, case) in [(Cookie::None, "no-cookie"), (Cookie::Wrong, "wrong-hash")] {
                let started = Instant::now();
                let answer = self.client.send(*method, path, cookie, parameters);
                let outcome = expect_error(&answer, ApiError::NotAuthorized);
                self.record(
                    &format!("authorization/{endpoint}/{case}"),
                    expected.clone(),
                    started,
                    outcome,
                );
            }
        }
    }

    /// A restore of a name no server holds is refused by name.
    fn restore_of_an_absent_backup(&mut self) {
        let started = Instant::now();
        let answer = self.send(
            Method::Put,
            "/api/v1/backups/restore",
            &form(&[("backup_name", ABSENT_BACKUP)]),
        );
        let outcome = expect_error(&answer, ApiError::NoSuchBackup);
        self.record(
            "restore/no-such-backup",
            format!("error `{}`", ApiError::NoSuchBackup.text()),
            started,
            outcome,
        );
    }

    /// Reads the configuration; it must hold the reference's fields.
    fn current_configuration(&mut self) -> Option<Configuration> {
        let started = Instant::now();
        let answer = self.send(Method::Get, "/api/v1/backups/config", &[]);
        let (outcome, configuration) = match success_envelope(answer) {
            Err(outcome) => (outcome, None),
            Ok((answer, msg)) => match Configuration::from_msg(&msg) {
                Ok(configuration) => (
                    Outcome::pass(format!("success with the 14 fields (HTTP {})", answer.code)),
                    Some(configuration),
                ),
                Err(problem) => (Outcome::fail(problem), None),
            },
        };
        self.record(
            "configuration/get",
            "success with the 14 fields of the reference",
            started,
            outcome,
        );
        configuration
    }

    /// Each validation text of set configuration, one request each, every
    /// other field filled; then the configuration is unchanged.
    fn validation(&mut self, original: &Configuration) {
        let ftp_on = original
            .with("backup_to_ftp", true)
            .with("ftp_server", "127.0.0.1")
            .with("ftp_server_port", CLOSED_FTP_PORT)
            .with("ftp_user", PLACEHOLDER_FTP_LOGIN)
            .with("ftp_password", PLACEHOLDER_FTP_LOGIN);
        let cases = [
            (
                "configuration/every-hour-minute-60",
                ApiError::HourlyMinuteRange,
                original.with("every_hour_minute", 60),
            ),
            (
                "configuration/every-day-hour-24",
                ApiError::DailyHourRange,
                original.with("every_day_hour", 24),
            ),
            (
                "configuration/every-day-minute-60",
                ApiError::DailyMinuteRange,
                original.with("every_day_minute", 60),
            ),
            (
                "configuration/number-backups-0",
                ApiError::NumberBackupsRange,
                original.with("number_backups", 0),
            ),
            (
                "configuration/ftp-server-empty",
                ApiError::FtpServerMissing,
                ftp_on.with("ftp_server", ""),
            ),
            (
                "configuration/ftp-user-empty",
                ApiError::FtpUserMissing,
                ftp_on.with("ftp_user", ""),
            ),
            (
                "configuration/ftp-password-empty",
                ApiError::FtpPasswordMissing,
                ftp_on.with("ftp_password", ""),
            ),
        ];
        for (name, error, configuration) in cases {
            let started = Instant::now();
            let answer = self.send(Method::Put, "/api/v1/backups/config", &configuration.form());
            let outcome = expect_error(&answer, error);
            self.record(name, format!("error `{}`", error.text()), started, outcome);
        }

        let started = Instant::now();
        let outcome = self.compare_configuration(original, true);
        self.record(
            "configuration/refused-changes-nothing",
            "the configuration as it was",
            started,
            outcome,
        );
    }

    /// Reads the configuration and compares it with `wanted`.
    fn compare_configuration(&self, wanted: &Configuration, exact: bool) -> Outcome {
        let answer = self.send(Method::Get, "/api/v1/backups/config", &[]);
        match success_envelope(answer) {
            Err(outcome) => outcome,
            Ok((_, msg)) => {
                let differences = wanted.differences(&msg, exact);
                if differences.is_empty() {
                    Outcome::pass("the same values")
                } else {
                    Outcome::fail(differences.join("; "))
                }
            }
        }
    }

    /// A changed but valid configuration is answered and read back as sent.
    /// The schedules are off in it, so that no scheduled backup starts.
    fn round_trip(&mut self, original: &Configuration) {
        let started = Instant::now();
        let changed = original
            .with("backup_to_ftp", false)
            .with("every_day", false)
            .with("every_hour", false)
            .with(
                "every_day_hour",
                (original.number("every_day_hour") + 5) % 24,
            )
            .with(
                "every_day_minute",
                (original.number("every_day_minute") + 23) % 60,
            )
            .with(
                "every_hour_minute",
                (original.number("every_hour_minute") + 17) % 60,
            )
            .with(
                "every_day_statistics",
                !original.flag("every_day_statistics"),
            )
            .with(
                "every_hour_statistics",
                !original.flag("every_hour_statistics"),
            )
            .with("number_backups", original.number("number_backups") + 7)
            .with("ftp_server", "127.0.0.1")
            .with("ftp_server_port", CLOSED_FTP_PORT)
            .with("ftp_user", "conformance-user")
            .with("ftp_password", "conformance-password")
            .with("ftp_path", "conformance/path");
        let answer = self.send(Method::Put, "/api/v1/backups/config", &changed.form());
        let outcome = match success_envelope(answer) {
            Err(outcome) => outcome,
            Ok((_, msg)) => {
                let differences = changed.differences(&msg, false);
                if differences.is_empty() {
                    self.compare_configuration(&changed, false)
                } else {
                    Outcome::fail(format!("the answer: {}", differences.join("; ")))
                }
            }
        };
        self.record(
            "configuration/round-trip",
            "the values sent, in the answer and read back",
            started,
            outcome,
        );
    }

    /// The names of the backups listed now.
    fn listed(&self) -> Vec<String> {
        match success_envelope(self.send(Method::Get, "/api/v1/backups", &[])) {
            Ok((_, msg)) => listed_names(&msg),
            Err(_) => Vec::new(),
        }
    }

    /// Create, list, download, the FTP error and, when allowed, restore;
    /// with FTP off and retention raised above the number of backups, so
    /// that no existing backup is removed and nothing is uploaded.
    fn create_phase(&mut self, original: &Configuration) {
        let existing = self.listed().len() as u64;
        let keep_all = original.number("number_backups").max(existing + 10);
        let creating = original
            .with("backup_to_ftp", false)
            .with("number_backups", keep_all);
        let prepared =
            success_envelope(self.send(Method::Put, "/api/v1/backups/config", &creating.form()));
        if let Err(outcome) = prepared {
            let reason = format!(
                "not run: retention could not be raised, so a create might remove a backup: {}",
                outcome.got
            );
            for name in configuration_dependent_checks(self.options.allow_restore)
                .into_iter()
                .skip_while(|name| *name != "create/without-statistics")
                .take_while(|name| *name != "configuration/restored")
            {
                self.record(name, "a run", Instant::now(), Outcome::fail(reason.clone()));
            }
            return;
        }

        let created = self.create();
        for (name, path) in [
            ("list/contains-new-backup", "/api/v1/backups"),
            ("list-system/contains-new-backup", "/api/v1/system/backups"),
        ] {
            self.list_contains(name, path, created.as_deref());
        }
        self.download(created.as_deref());
        self.ftp_upload_error(&creating);
        if self.options.allow_restore {
            self.restore_created(created.as_deref());
        }
    }

    /// A backup without statistics; answers its name.
    fn create(&mut self) -> Option<String> {
        let started = Instant::now();
        let answer = self.send(
            Method::Post,
            "/api/v1/backups",
            &form(&[("statistics", "0")]),
        );
        let (outcome, name) = match success_envelope(answer) {
            Err(outcome) => (outcome, None),
            Ok((answer, msg)) => {
                let name = msg
                    .get("backup_name")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                if let Some(name) = &name {
                    self.made.push(name.clone());
                }
                match backup_entry_problem(&msg, None) {
                    Some(problem) => (Outcome::fail(problem), name),
                    None => (
                        Outcome::pass(format!(
                            "`{}` (HTTP {})",
                            name.as_deref().unwrap_or(""),
                            answer.code
                        )),
                        name,
                    ),
                }
            }
        };
        self.record(
            "create/without-statistics",
            "success with `backup_name`, `creation_date` and `size`",
            started,
            outcome,
        );
        name
    }

    /// The list at `path` holds the new backup, well described.
    fn list_contains(&mut self, check: &str, path: &str, created: Option<&str>) {
        let started = Instant::now();
        let expected = "the new backup with `backup_name`, RFC 3339 `creation_date` with \
                        fractional seconds and an offset, numeric `size`";
        let Some(created) = created else {
            self.record(
                check,
                expected,
                started,
                Outcome::fail("not run: no backup was made"),
            );
            return;
        };
        let outcome = match success_envelope(self.send(Method::Get, path, &[])) {
            Err(outcome) => outcome,
            Ok((answer, msg)) => {
                let backups = msg.get("backups").and_then(Value::as_array);
                let entry = backups.and_then(|backups| {
                    backups.iter().find(|entry| {
                        entry.get("backup_name").and_then(Value::as_str) == Some(created)
                    })
                });
                match (backups, entry) {
                    (None, _) => Outcome::fail("`msg.backups` is not a list"),
                    (Some(backups), None) => Outcome::fail(format!(
                        "`{created}` is not among the {} listed",
                        backups.len()
                    )),
                    (Some(backups), Some(entry)) => {
                        match backup_entry_problem(entry, Some(created)) {
                            Some(problem) => Outcome::fail(problem),
                            None => Outcome::pass(format!("listed (HTTP {})", answer.code)).note(
                                format!(
                                    "{} backups listed, `size` {}",
                                    backups.len(),
                                    entry["size"]
                                ),
                            ),
                        }
                    }
                }
            }
        };
        self.record(check, expected, started, outcome);
    }

    /// The download is a zip archive as long as its `Content-Length`.
    fn download(&mut self, created: Option<&str>) {
        let started = Instant::now();
        let expected = "a zip archive (`PK\\x03\\x04`) as long as its `Content-Length`";
        let Some(created) = created else {
            self.record(
                "download/zip",
                expected,
                started,
                Outcome::fail("not run: no backup was made"),
            );
            return;
        };
        let outcome = match self.send(Method::Get, &download_path(created), &[]) {
            Err(failure) => Outcome::fail(failure.to_string()),
            Ok(answer) => {
                let length = answer.body.len() as u64;
                let got = format!(
                    "{length} bytes, `Content-Length` {} (HTTP {})",
                    answer
                        .content_length
                        .map_or("missing".to_string(), |value| value.to_string()),
                    answer.code
                );
                if !answer.body.starts_with(b"PK\x03\x04") {
                    Outcome::fail(format!("not a zip archive: {}", answer.describe()))
                } else if answer.content_length != Some(length) {
                    Outcome::fail(got)
                } else {
                    let report = crate::verify::verify_source(
                        &answer.body,
                        created,
                        &crate::verify::VerifyOptions::default(),
                        &mut |_, _| {},
                    );
                    let verdict = if report.valid {
                        format!("`puqbackup verify`: valid, {} files", report.files)
                    } else {
                        format!(
                            "`puqbackup verify`: not valid ({} problems; an archive of \
                             another format is not ours to judge)",
                            report.problems.len()
                        )
                    };
                    Outcome::pass(got).note(verdict)
                }
            }
        };
        self.record("download/zip", expected, started, outcome);
    }

    /// With FTP on towards a closed port of the server's own loopback, a
    /// create reports `FTP upload error:`. The backup it made is deleted
    /// with the others; the configuration goes back to `creating`.
    fn ftp_upload_error(&mut self, creating: &Configuration) {
        let started = Instant::now();
        let check = "create/ftp-upload-error";
        let expected = format!("error `{}`", ApiError::FtpUpload.text());
        let unreachable = creating
            .with("backup_to_ftp", true)
            .with("ftp_server", "127.0.0.1")
            .with("ftp_server_port", CLOSED_FTP_PORT)
            .with("ftp_user", PLACEHOLDER_FTP_LOGIN)
            .with("ftp_password", PLACEHOLDER_FTP_LOGIN)
            .with("ftp_path", "");
        let set = self.send(Method::Put, "/api/v1/backups/config", &unreachable.form());
        if let Err(outcome) = success_envelope(set) {
            let outcome = Outcome::fail(format!(
                "the configuration with FTP on was refused: {}",
                outcome.got
            ));
            self.record(check, expected, started, outcome);
            return;
        }

        let before = self.listed();
        let answer = self.send(
            Method::Post,
            "/api/v1/backups",
            &form(&[("statistics", "0")]),
        );
        let mut outcome = expect_error(&answer, ApiError::FtpUpload);
        for name in self.listed() {
            if !before.contains(&name) && !self.made.contains(&name) {
                outcome = outcome.note(format!("the server kept `{name}`"));
                self.made.push(name);
            }
        }
        let back = self.send(Method::Put, "/api/v1/backups/config", &creating.form());
        if let Err(failure) = success_envelope(back) {
            outcome = outcome.note(format!(
                "FTP could not be turned off again: {}",
                failure.got
            ));
        }
        self.record(check, expected, started, outcome);
    }

    /// Restores the backup just made, then waits for the status to be `OK`.
    fn restore_created(&mut self, created: Option<&str>) {
        let started = Instant::now();
        let Some(created) = created else {
            for check in ["restore/created-backup", "restore/status-ok"] {
                self.record(
                    check,
                    "a run",
                    started,
                    Outcome::fail("not run: no backup was made"),
                );
            }
            return;
        };
        let answer = self.send(
            Method::Put,
            "/api/v1/backups/restore",
            &form(&[("backup_name", created)]),
        );
        let outcome = match success_envelope(answer) {
            Err(outcome) => outcome,
            Ok((answer, _)) => Outcome::pass(answer.describe()),
        };
        self.record("restore/created-backup", "success", started, outcome);

        let started = Instant::now();
        let outcome = self.wait_for_status_ok();
        self.record(
            "restore/status-ok",
            format!(
                "`msg.status` `OK` within {} s, where `/api/v1/system/status` exists",
                self.options.status_timeout.as_secs()
            ),
            started,
            outcome,
        );
    }

    fn wait_for_status_ok(&self) -> Outcome {
        let deadline = Instant::now() + self.options.status_timeout;
        let mut last = String::new();
        loop {
            match self.send(Method::Get, "/api/v1/system/status", &[]) {
                Err(failure) => last = failure.to_string(),
                Ok(answer) if last.is_empty() && matches!(answer.code, 404 | 405) => {
                    return Outcome::pass(format!("no status endpoint (HTTP {})", answer.code))
                        .note("the server has no `/api/v1/system/status`: nothing to wait for");
                }
                Ok(answer) => {
                    let status = answer
                        .envelope
                        .as_ref()
                        .filter(|envelope| envelope.is_success())
                        .and_then(|envelope| envelope.msg.get("status"))
                        .and_then(Value::as_str)
                        .map(str::to_string);
                    match status {
                        Some(status) if status == "OK" => {
                            return Outcome::pass("`OK`");
                        }
                        Some(status) => last = format!("`{status}`"),
                        None => last = answer.describe(),
                    }
                }
            }
            if Instant::now() >= deadline {
                return Outcome::fail(format!("still {last}"));
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Deletes the backups the run made, where the server can; answers what
    /// happened to each.
    fn delete_made_backups(&self) -> Vec<String> {
        let mut notes = Vec::new();
        for name in &self.made {
            let answer = self
                .client
                .send(Method::Delete, &download_path(name), Cookie::Given, &[]);
            notes.push(match answer {
                Ok(answer) if answer.envelope.as_ref().is_some_and(Envelope::is_success) => {
                    format!("deleted `{name}`")
                }
                Ok(answer) => format!("left `{name}`: the delete answered {}", answer.describe()),
                Err(failure) => format!("left `{name}`: {failure}"),
            });
        }
        notes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A final slash and an `/api/v1` suffix are dropped; other schemes and
    /// missing hosts are refused.
    #[test]
    fn server_roots_are_normalized() {
        for url in [
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8080/",
            "http://127.0.0.1:8080/api/v1",
            "http://127.0.0.1:8080/api/v1/",
        ] {
            assert_eq!(server_root(url).unwrap(), "http://127.0.0.1:8080");
        }
        assert_eq!(
            server_root("https://panel.example/base/").unwrap(),
            "https://panel.example/base"
        );
        for url in ["ftp://host", "127.0.0.1:8080", "http://", "http://h/?a=1"] {
            assert!(server_root(url).is_err(), "{url}");
        }
    }

    /// A backup entry needs a `.zip` name, RFC 3339 with a fraction and an
    /// offset, and a numeric size.
    #[test]
    fn backup_entries_are_checked() {
        let good = serde_json::json!({
            "backup_name": "h_2023-01-27_19-00-40.zip",
            "creation_date": "2023-01-27T19:00:57.159356394+01:00",
            "size": 7.462
        });
        assert_eq!(backup_entry_problem(&good, None), None);
        assert!(backup_entry_problem(&good, Some("other.zip")).is_some());
        let mut no_fraction = good.clone();
        no_fraction["creation_date"] = Value::from("2023-01-27T19:00:57+01:00");
        assert!(
            backup_entry_problem(&no_fraction, None)
                .unwrap()
                .contains("fractional")
        );
        let mut no_offset = good.clone();
        no_offset["creation_date"] = Value::from("2023-01-27T19:00:57.15");
        assert!(
            backup_entry_problem(&no_offset, None)
                .unwrap()
                .contains("RFC 3339")
        );
        let mut text_size = good;
        text_size["size"] = Value::from("7.462");
        assert!(
            backup_entry_problem(&text_size, None)
                .unwrap()
                .contains("`size`")
        );
    }

    /// Every check that needs the configuration has a place in the list the
    /// run falls back on, and the documented texts are named where expected.
    #[test]
    fn dependent_checks_are_listed() {
        let names = configuration_dependent_checks(true);
        assert_eq!(names.last(), Some(&"configuration/restored"));
        assert!(names.contains(&"restore/status-ok"));
        assert!(!configuration_dependent_checks(false).contains(&"restore/status-ok"));
        assert_eq!(
            covered_by("authorization/list/no-cookie"),
            Some(ApiError::NotAuthorized)
        );
        assert_eq!(
            covered_by("create/ftp-upload-error"),
            Some(ApiError::FtpUpload)
        );
    }
}
