//! Command-line parsing and the subcommands, one module each.

mod conformance;
mod create;
mod hash;
mod inspect;
mod progress;
mod recover;
mod replay;
mod restore;
mod serve;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use puqbackup::inspect::text::escape_for_terminal;

/// Back up, inspect, verify and restore the configuration of a WireGuard
/// VPN control panel, and serve its backups API.
#[derive(Debug, Parser)]
#[command(name = "puqbackup", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Create(create::Args),
    Verify(verify::Args),
    Inspect(inspect::Args),
    Restore(restore::Args),
    Recover(recover::Args),
    Replay(replay::Args),
    Serve(serve::Args),
    Hash(hash::Args),
    Conformance(conformance::Args),
}

/// Exit status for a refused or invalid archive.
pub const EXIT_REFUSED: u8 = 1;
/// Exit status for usage errors and I/O failures.
pub const EXIT_ERROR: u8 = 2;

/// Parses the arguments, runs the subcommand and maps its result to an exit
/// status.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Create(args) => create::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Restore(args) => restore::run(args),
        Command::Recover(args) => recover::run(args),
        Command::Replay(args) => replay::run(args),
        Command::Serve(args) => serve::run_server(args),
        Command::Hash(args) => hash::run(args),
        Command::Conformance(args) => conformance::run(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("puqbackup: {}", escape_for_terminal(&format!("{error:#}")));
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// Writes `value` as one line of JSON to standard output.
fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    let mut text = serde_json::to_string(value)?;
    text.push('\n');
    write_text(&text)
}

/// Writes text to standard output. A reader that stopped early (a pipe into
/// `head`) is not an error: the rest of the output is dropped quietly.
fn write_text(text: &str) -> anyhow::Result<()> {
    use anyhow::Context;
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(error).context("cannot write to standard output")
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
