//! `puqbackup hash`: create, list and revoke the API's access hashes.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use puqbackup::access::{AccessStore, AllowedNetwork};

/// Create, list and revoke API access hashes
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    Add(AddArgs),
    List(ListArgs),
    Revoke(RevokeArgs),
}

/// The store file, shared by every subcommand.
#[derive(Debug, clap::Args)]
struct StoreArg {
    /// The access-hash store (the server keeps it in its data folder)
    #[arg(long, value_name = "FILE", default_value = "data/access-hashes.json")]
    store: PathBuf,
}

/// Create an access hash and print it; it is shown this once only
#[derive(Debug, clap::Args)]
struct AddArgs {
    /// A unique name for the hash, up to 64 characters
    name: String,

    /// The address or network (CIDR) the hash may be used from
    #[arg(long, value_name = "ADDR")]
    ip: AllowedNetwork,

    #[command(flatten)]
    store: StoreArg,

    /// Print name, allowed network and the hash as JSON
    #[arg(long)]
    json: bool,
}

/// List the access hashes: names, networks, creation and revocation times
#[derive(Debug, clap::Args)]
struct ListArgs {
    #[command(flatten)]
    store: StoreArg,

    /// Print one JSON object per hash
    #[arg(long)]
    json: bool,
}

/// Revoke an access hash; its name stays taken
#[derive(Debug, clap::Args)]
struct RevokeArgs {
    /// The name of the hash
    name: String,

    #[command(flatten)]
    store: StoreArg,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::Add(args) => add(args),
        Command::List(args) => list(args),
        Command::Revoke(args) => revoke(args),
    }
}

fn add(args: AddArgs) -> anyhow::Result<ExitCode> {
    let mut store = AccessStore::load(&args.store.store)?;
    let access_hash = store
        .add(&args.name, args.ip)
        .context("access hash not created")?;

    // The one moment the hash is shown: standard output, nowhere else.
    if args.json {
        super::print_json(&serde_json::json!({
            "name": args.name,
            "allowed": args.ip,
            "access_hash": access_hash,
        }))?;
    } else {
        super::write_text(&format!("{access_hash}\n"))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn list(args: ListArgs) -> anyhow::Result<ExitCode> {
    let store = AccessStore::load(&args.store.store)?;
    let time = |time: chrono::DateTime<chrono::FixedOffset>| {
        time.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false)
    };

    let mut text = String::new();
    for entry in store.list() {
        let revoked = entry.revoked().map(time);
        if args.json {
            let object = serde_json::json!({
                "name": entry.name(),
                "allowed": entry.allowed(),
                "created": time(entry.created()),
                "revoked": revoked,
            });
            text.push_str(&serde_json::to_string(&object)?);
        } else {
            let state = match revoked {
                Some(when) => format!("revoked {when}"),
                None => "active".to_string(),
            };
            text.push_str(&format!(
                "{}\t{}\t{}\t{state}",
                entry.name(),
                entry.allowed(),
                time(entry.created()),
            ));
        }
        text.push('\n');
    }
    super::write_text(&text)?;
    Ok(ExitCode::SUCCESS)
}

fn revoke(args: RevokeArgs) -> anyhow::Result<ExitCode> {
    let mut store = AccessStore::load(&args.store.store)?;
    store
        .revoke(&args.name)
        .context("access hash not revoked")?;
    Ok(ExitCode::SUCCESS)
}
