//! `puqbackup conformance`: check a deployment of the backups API against
//! the reference, over HTTP(S).

use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr;

use anyhow::Context;
use puqbackup::conformance::{Check, Options, Report, junit_xml, run as run_checks};

/// Check a running backups API (ours or the original panel) against the
/// reference
///
/// Talks only to URL. The backup configuration is put back as it was at
/// the end; the run adds backups and deletes them where the server offers
/// `DELETE`. A restore runs only with --allow-restore. Prints a table of
/// check, expected, got and verdict. Exit status: 0 when every check
/// passes, 1 when any fails, 2 for usage errors and a server that does not
/// answer.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The server root, such as http://127.0.0.1:8080 (an /api/v1 suffix is
    /// accepted)
    #[arg(long, value_name = "URL")]
    url: String,

    /// The access hash to authorize with (80 lowercase hex characters)
    #[arg(long, value_name = "HASH")]
    access_hash: HiddenHash,

    /// Also write the verdicts as JUnit XML to this file
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,

    /// Print one JSON object per check, one per line, then a summary
    #[arg(long)]
    json: bool,

    /// Also restore the backup the run made, and wait for the status `OK`
    #[arg(long)]
    allow_restore: bool,

    /// Accept any TLS certificate (for self-signed test servers)
    #[arg(long)]
    insecure: bool,
}

/// An access hash that debug output does not show.
#[derive(Clone)]
struct HiddenHash(String);

impl std::fmt::Debug for HiddenHash {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("(hidden)")
    }
}

impl FromStr for HiddenHash {
    type Err = std::convert::Infallible;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(HiddenHash(text.trim().to_string()))
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut options = Options::new(args.url, args.access_hash.0);
    options.allow_restore = args.allow_restore;
    options.insecure = args.insecure;
    let report = run_checks(&options)?;

    if args.json {
        for check in &report.checks {
            super::print_json(check)?;
        }
        super::print_json(&serde_json::json!({
            "server": report.server,
            "passed": report.passed(),
            "failed": report.failed(),
            "cleanup": report.cleanup,
        }))?;
    } else {
        super::write_text(&table(&report))?;
    }
    if let Some(path) = &args.junit {
        std::fs::write(path, junit_xml(&report))
            .with_context(|| format!("cannot write `{}`", path.display()))?;
    }
    Ok(if report.failed() > 0 {
        ExitCode::from(super::EXIT_REFUSED)
    } else {
        ExitCode::SUCCESS
    })
}

/// The checks as an aligned table, notes under their row, then what the
/// cleanup did and the count.
fn table(report: &Report) -> String {
    let shorten = |text: &str, width: usize| -> String {
        let text = text.replace('\n', " ");
        if text.chars().count() <= width {
            text
        } else {
            let cut: String = text.chars().take(width.saturating_sub(1)).collect();
            format!("{cut}…")
        }
    };
    let name_width = report
        .checks
        .iter()
        .map(|check| check.name.chars().count())
        .max()
        .unwrap_or(5)
        .max(5);
    let mut text = format!(
        "{:<name_width$}  {:<44}  {:<44}  verdict\n",
        "check", "expected", "got"
    );
    for check in &report.checks {
        text.push_str(&row(check, name_width, &shorten));
    }
    for note in &report.cleanup {
        text.push_str(&format!("cleanup: {note}\n"));
    }
    text.push_str(&format!(
        "{} passed, {} failed\n",
        report.passed(),
        report.failed()
    ));
    text
}

fn row(check: &Check, name_width: usize, shorten: &dyn Fn(&str, usize) -> String) -> String {
    let mut text = format!(
        "{:<name_width$}  {:<44}  {:<44}  {}\n",
        check.name,
        shorten(&check.expected, 44),
        shorten(&check.got, 44),
        if check.passed { "pass" } else { "FAIL" }
    );
    // A shortened answer is given whole under a failure.
    if !check.passed && check.got.chars().count() > 44 {
        text.push_str(&format!("    got: {}\n", check.got));
    }
    for note in &check.notes {
        text.push_str(&format!("    {note}\n"));
    }
    text
}
