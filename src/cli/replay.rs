//! `puqbackup replay`: replay restore scenarios offline.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use puqbackup::scenario::{Verdict, collect, junit_xml, replay_file};

/// Replay restore scenarios offline, each in a temporary folder
///
/// Prints a table of scenario, expected result, actual result and verdict.
/// Exit status: 0 when every scenario passes, 1 when any fails, 2 for usage
/// errors.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Scenario files or folders of them [default: scenarios]
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,

    /// Print one JSON object per scenario, one per line
    #[arg(long)]
    json: bool,

    /// Also write the verdicts as JUnit XML to this file
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from("scenarios")]
    } else {
        args.paths
    };
    let files = collect(&paths).map_err(anyhow::Error::msg)?;
    if files.is_empty() {
        anyhow::bail!("no scenario files under {}", display_paths(&paths));
    }

    let mut verdicts = Vec::new();
    for file in &files {
        let verdict = replay_file(file);
        if args.json {
            super::print_json(&verdict)?;
        }
        verdicts.push(verdict);
    }
    if !args.json {
        super::write_text(&table(&verdicts))?;
    }
    if let Some(path) = &args.junit {
        std::fs::write(path, junit_xml(&verdicts))
            .with_context(|| format!("cannot write `{}`", path.display()))?;
    }
    let failed = verdicts.iter().any(|verdict| !verdict.passed);
    Ok(if failed {
        ExitCode::from(super::EXIT_REFUSED)
    } else {
        ExitCode::SUCCESS
    })
}

fn display_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|path| format!("`{}`", path.display()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The verdicts as an aligned table, failures explained under their row.
fn table(verdicts: &[Verdict]) -> String {
    let shorten = |text: &str, width: usize| -> String {
        let text = text.replace('\n', " ");
        if text.chars().count() <= width {
            text
        } else {
            let cut: String = text.chars().take(width.saturating_sub(1)).collect();
            format!("{cut}…")
        }
    };
    let name_width = verdicts
        .iter()
        .map(|verdict| verdict.scenario.chars().count())
        .max()
        .unwrap_or(8)
        .max(8);
    let mut text = format!(
        "{:<name_width$}  {:<40}  {:<40}  verdict\n",
        "scenario", "expected", "got"
    );
    for verdict in verdicts {
        text.push_str(&format!(
            "{:<name_width$}  {:<40}  {:<40}  {}\n",
            verdict.scenario,
            shorten(&verdict.expected, 40),
            shorten(&verdict.got, 40),
            if verdict.passed { "pass" } else { "FAIL" }
        ));
        for reason in &verdict.reasons {
            text.push_str(&format!("    {reason}\n"));
        }
    }
    let passed = verdicts.iter().filter(|verdict| verdict.passed).count();
    text.push_str(&format!(
        "{passed} passed, {} failed\n",
        verdicts.len() - passed
    ));
    text
}
