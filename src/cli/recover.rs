//! `puqbackup recover`: finish or undo a restore that was interrupted.

use std::path::PathBuf;
use std::process::ExitCode;

use puqbackup::restore::{RestoreOptions, recover};

/// Bring the trees back to a whole state after an interrupted restore
///
/// Undoes a swap that was not committed, finishes one that was, and removes
/// staging leftovers; prints what it did. Every restore does this first.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The live configuration tree
    #[arg(long, value_name = "DIR")]
    config_dir: PathBuf,

    /// The live statistics tree
    #[arg(long, value_name = "DIR")]
    statistics_dir: Option<PathBuf>,

    /// How many snapshots of the old trees to keep
    #[arg(long, value_name = "N", default_value_t = 1)]
    keep_snapshots: usize,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut options = RestoreOptions::new(&args.config_dir);
    options.statistics_dir = args.statistics_dir;
    options.snapshots_to_keep = args.keep_snapshots;
    let notes = recover(&options)?;
    let mut text = String::new();
    if notes.is_empty() {
        text.push_str("nothing to recover\n");
    }
    for note in notes {
        text.push_str(&note);
        text.push('\n');
    }
    super::write_text(&text)?;
    Ok(ExitCode::SUCCESS)
}
