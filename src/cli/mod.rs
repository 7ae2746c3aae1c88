//! Command-line parsing and the subcommands, one module each.

mod create;
mod inspect;
mod progress;
mod recover;
mod restore;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Back up, inspect and verify the configuration of a WireGuard VPN control
/// panel.
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
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("puqbackup: {error:#}");
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

/// Parses a byte count: a number with an optional unit (`K`, `M`, `G`, `T`,
/// powers of 1024, with or without `iB`).
fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|character: char| !character.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a size (examples: 500M, 64G, 1048576)"))?;
    let shift = match unit
        .trim()
        .to_ascii_uppercase()
        .trim_end_matches("IB")
        .trim_end_matches('B')
    {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => return Err(format!("`{text}` has an unknown unit (use K, M, G or T)")),
    };
    number
        .checked_mul(1u64 << shift)
        .ok_or_else(|| format!("`{text}` is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_binary_units() {
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("64G"), Ok(64 << 30));
        assert_eq!(parse_size("2MiB"), Ok(2 << 20));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("5X").is_err());
        assert!(parse_size("99999999999T").is_err());
    }

    #[test]
    fn command_line_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
