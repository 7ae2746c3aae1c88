//! `puqbackup create`: back up the configuration tree (and statistics).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use puqbackup::create::{CreateOptions, Destination, create_backup};

/// Create a backup archive of the configuration tree
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The panel's configuration tree
    #[arg(long, value_name = "DIR")]
    config_dir: PathBuf,

    /// The traffic statistics tree, to include statistics
    #[arg(long, value_name = "DIR")]
    statistics_dir: Option<PathBuf>,

    /// Host name for the archive name [default: this machine's]
    #[arg(long, value_name = "NAME")]
    host: Option<String>,

    /// Folder to write `<host>_YYYY-MM-DD_HH-MM-SS.zip` into [default: .]
    #[arg(long, value_name = "DIR", conflicts_with = "output")]
    out_dir: Option<PathBuf>,

    /// Exact path of the archive to write
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,

    /// Deflate level, 0 (store) to 9
    #[arg(long, value_name = "N", default_value_t = 6,
          value_parser = clap::value_parser!(u8).range(0..=9))]
    level: u8,

    /// Print name, path, size, SHA-256, file count and statistics as JSON
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let host = match args.host {
        Some(host) => host,
        None => rustix::system::uname()
            .nodename()
            .to_str()
            .context("this machine's host name is not UTF-8: name one with --host")?
            .to_string(),
    };
    let destination = match (args.output, args.out_dir) {
        (Some(path), _) => Destination::File(path),
        (None, Some(folder)) => Destination::Directory(folder),
        (None, None) => Destination::Directory(PathBuf::from(".")),
    };
    let mut options = CreateOptions::new(&args.config_dir, &host, destination);
    options.statistics_dir = args.statistics_dir;
    options.compression_level = args.level;

    let created = create_backup(&options).context("backup not created")?;
    if args.json {
        super::print_json(&serde_json::json!({
            "name": created.name,
            "path": created.path,
            "size": created.size,
            "sha256": created.sha256,
            "file_count": created.file_count,
            "statistics": created.statistics,
        }))?;
    } else {
        super::write_text(&format!("{}\n", created.path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}
