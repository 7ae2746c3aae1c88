//! `puqbackup restore`: replace the live configuration with a backup's,
//! offline.

use std::path::PathBuf;
use std::process::ExitCode;

use puqbackup::inspect::text::escape_for_terminal;
use puqbackup::restore::{FaultPlan, RestoreError, RestoreOptions, plan_restore, restore_archive};
use puqbackup::verify::DEFAULT_MAX_SIZE;

/// Restore a backup into the configuration tree (and statistics tree)
///
/// The archive is checked first and nothing changes unless every check
/// passes; the new trees are staged beside the live ones and swapped in
/// atomically. Exit status: 0 restored, 1 the archive is refused, 2 usage or
/// I/O errors.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The backup archive
    #[arg(value_name = "ARCHIVE")]
    archive: PathBuf,

    /// The live configuration tree to replace
    #[arg(long, value_name = "DIR")]
    config_dir: PathBuf,

    /// The live statistics tree, replaced when the backup holds statistics
    #[arg(long, value_name = "DIR")]
    statistics_dir: Option<PathBuf>,

    /// Change nothing; print the files that would be added, changed and removed
    #[arg(long)]
    dry_run: bool,

    /// How many snapshots of the old trees to keep beside them
    #[arg(long, value_name = "N", default_value_t = 1)]
    keep_snapshots: usize,

    /// Cap on the declared uncompressed size of the archive (K, M, G, T units)
    #[arg(long, value_name = "SIZE", value_parser = puqbackup::units::parse_size,
          default_value_t = DEFAULT_MAX_SIZE)]
    max_size: u64,

    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut options = RestoreOptions::new(&args.config_dir);
    options.statistics_dir = args.statistics_dir.clone();
    options.snapshots_to_keep = args.keep_snapshots;
    options.max_size = args.max_size;
    options.faults = FaultPlan::from_environment().map_err(anyhow::Error::msg)?;
    let archive = args.archive.display().to_string();

    if args.dry_run {
        return match plan_restore(&args.archive, &options) {
            Ok(plan) => {
                if args.json {
                    super::print_json(&serde_json::json!({
                        "archive": archive, "dry_run": true, "plan": plan,
                    }))?;
                } else {
                    let mut text = String::new();
                    for (mark, paths) in [
                        ("+", &plan.added),
                        ("~", &plan.changed),
                        ("-", &plan.removed),
                    ] {
                        for path in paths {
                            text.push_str(&format!("{mark} {}\n", path.escape_debug()));
                        }
                    }
                    text.push_str(&format!(
                        "{} to add, {} to change, {} to remove, {} unchanged{}\n",
                        plan.added.len(),
                        plan.changed.len(),
                        plan.removed.len(),
                        plan.unchanged,
                        if plan.statistics_replaced {
                            "; statistics replaced"
                        } else {
                            ""
                        }
                    ));
                    super::write_text(&text)?;
                }
                Ok(ExitCode::SUCCESS)
            }
            Err(error) => report_failure(&archive, &error, args.json),
        };
    }

    match restore_archive(&args.archive, &options) {
        Ok(outcome) => {
            for note in &outcome.notes {
                eprintln!("puqbackup: {}", escape_for_terminal(note));
            }
            if args.json {
                super::print_json(&serde_json::json!({
                    "archive": archive, "restored": true, "outcome": outcome,
                }))?;
            } else {
                let mut text = format!(
                    "restored `{archive}` into `{}`: {} files, {} folders{}\n",
                    args.config_dir.display(),
                    outcome.files,
                    outcome.folders,
                    if outcome.statistics_restored {
                        ", statistics included"
                    } else {
                        ""
                    }
                );
                for snapshot in &outcome.snapshots {
                    text.push_str(&format!(
                        "the old tree is kept at `{}`\n",
                        snapshot.display()
                    ));
                }
                super::write_text(&text)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => report_failure(&archive, &error, args.json),
    }
}

fn report_failure(archive: &str, error: &RestoreError, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        super::print_json(&serde_json::json!({
            "archive": archive,
            "restored": false,
            "error": error.to_string(),
            "documented_text": error.api_error().map(|text| text.text()),
        }))?;
    } else {
        eprintln!("puqbackup: {}", escape_for_terminal(&error.to_string()));
    }
    Ok(ExitCode::from(if error.is_archive_fault() {
        super::EXIT_REFUSED
    } else {
        super::EXIT_ERROR
    }))
}
