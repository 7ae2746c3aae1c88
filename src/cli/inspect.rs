//! `puqbackup inspect`: a forensic view of an archive.

use std::fs::File;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use puqbackup::inspect::{human, inspect_source};

/// Describe an archive's structure without extracting anything
///
/// Exit status: 0 when the file is a zip (whatever it holds), 1 when it is
/// not a zip, 2 when it cannot be read.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The archive to inspect
    #[arg(value_name = "ARCHIVE")]
    archive: PathBuf,

    /// Print the description as one JSON object
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let label = args.archive.display().to_string();
    let file = File::open(&args.archive).with_context(|| format!("cannot open `{label}`"))?;
    let inspection = inspect_source(&file, &label)?;

    let text = if args.json {
        let mut json = serde_json::to_string(&inspection)?;
        json.push('\n');
        json
    } else {
        human::render(&inspection)
    };
    super::write_text(&text)?;
    Ok(if inspection.is_zip {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(super::EXIT_REFUSED)
    })
}
