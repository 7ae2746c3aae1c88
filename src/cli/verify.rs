//! `puqbackup verify`: check archives against their file lists.

use std::path::PathBuf;
use std::process::ExitCode;

use puqbackup::verify::{DEFAULT_MAX_SIZE, Report, Severity, VerifyOptions, verify_path};

use puqbackup::inspect::text::escape_for_terminal;
use puqbackup::units::human_bytes;

use super::progress::ProgressLine;

/// Verify backup archives against the file list inside them
///
/// Exit status: 0 when every archive is valid, 1 when any is not, 2 when a
/// file cannot be read.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The archives to verify
    #[arg(required = true, value_name = "ARCHIVE")]
    archives: Vec<PathBuf>,

    /// Print one JSON object per archive, one per line
    #[arg(long)]
    json: bool,

    /// Cap on the declared uncompressed size of an archive (K, M, G, T units)
    #[arg(long, value_name = "SIZE", value_parser = puqbackup::units::parse_size,
          default_value_t = DEFAULT_MAX_SIZE)]
    max_size: u64,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let options = VerifyOptions {
        max_size: args.max_size,
        ..VerifyOptions::default()
    };
    let mut any_invalid = false;
    let mut any_unreadable = false;
    for archive in &args.archives {
        let mut progress = ProgressLine::new(&archive.display().to_string());
        let report = verify_path(archive, &options, &mut |done, total| {
            progress.update(done, total)
        });
        progress.finish();

        any_invalid |= !report.valid;
        any_unreadable |= !report.readable;
        if args.json {
            super::print_json(&report)?;
        } else {
            super::write_text(&human(&report))?;
        }
    }
    Ok(if any_unreadable {
        ExitCode::from(super::EXIT_ERROR)
    } else if any_invalid {
        ExitCode::from(super::EXIT_REFUSED)
    } else {
        ExitCode::SUCCESS
    })
}

fn human(report: &Report) -> String {
    let verdict = if report.valid { "valid" } else { "INVALID" };
    let mut text = format!(
        "{}: {verdict} ({} files, {} checked)\n",
        escape_for_terminal(&report.archive),
        report.files,
        human_bytes(report.bytes_checked)
    );
    for problem in &report.problems {
        let severity = match problem.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        text.push_str(&format!(
            "  {severity} [{}]: {}\n",
            problem.code.as_str(),
            escape_for_terminal(&problem.message)
        ));
    }
    text
}
