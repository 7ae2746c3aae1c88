//! `puqbackup serve`: run the backups API server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use puqbackup::server::{ServerSettings, prepare, run, system_clock};

/// Run the backups API server
///
/// With no settings file it listens on 127.0.0.1:8080 and keeps everything
/// under `data/` in the current folder, with a sample configuration; on a
/// first start it creates an access hash for 127.0.0.1 and prints it once.
/// The log goes to standard error; `RUST_LOG` filters it (default `info`).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The settings file (TOML; every key is in docs/SERVER.md)
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,

    /// Address and port to listen on, instead of the settings file's
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
}

pub fn run_server(args: Args) -> anyhow::Result<ExitCode> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    cap_allocator_arenas();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();

    let mut settings = match &args.config {
        Some(path) => ServerSettings::load(path).map_err(anyhow::Error::msg)?,
        None => ServerSettings::default(),
    };
    if let Some(listen) = args.listen {
        settings.listen = listen;
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(async {
        let (state, initial) = prepare(settings, system_clock())?;
        if let Some(hash) = initial {
            super::write_text(&format!(
                "created the access hash `initial` for 127.0.0.1 (shown only now):\n{hash}\n"
            ))?;
        }
        run(state).await?;
        Ok::<(), anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The variable that caps glibc's allocator arenas.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const ARENA_VARIABLE: &str = "MALLOC_ARENA_MAX";

/// The cap the server sets.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const ARENA_CAP: &str = "2";

/// Makes sure the server runs with glibc's allocator arenas capped. By
/// default glibc gives threads up to eight arenas per core, each keeping the
/// memory freed into it: under steady load the server grew for minutes
/// (70 MB to 130 MB over five), and with two arenas it stays flat at the
/// same throughput. glibc reads the cap only when a process starts, so
/// without it the server starts itself again, in place (same process id,
/// arguments and open files), with the cap set. A cap the caller set, to
/// any value, is kept.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn cap_allocator_arenas() {
    use std::os::unix::process::CommandExt;

    if std::env::var_os(ARENA_VARIABLE).is_some() {
        return;
    }
    let Ok(program) = std::env::current_exe() else {
        return;
    };
    let mut arguments = std::env::args_os();
    let name = arguments.next().unwrap_or_else(|| program.clone().into());
    // `exec` returns only when it failed; the server then runs as it is.
    let error = std::process::Command::new(&program)
        .arg0(name)
        .args(arguments)
        .env(ARENA_VARIABLE, ARENA_CAP)
        .exec();
    eprintln!(
        "puqbackup: cannot restart with {ARENA_VARIABLE}={ARENA_CAP} ({error}); memory may grow under load"
    );
}
