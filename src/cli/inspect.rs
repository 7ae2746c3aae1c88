//! `puqbackup inspect`: a forensic view of an archive.

use std::path::PathBuf;
use std::process::ExitCode;

/// Describe an archive's structure without extracting anything
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The archive to inspect
    #[arg(value_name = "ARCHIVE")]
    archive: PathBuf,

    /// Print the description as JSON
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let _ = (args.archive, args.json);
    anyhow::bail!("inspect is not built yet")
}
