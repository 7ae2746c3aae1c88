//! `GET /api/v1/system/status`, and the commands the server runs around a
//! restore.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::Response;

use super::AppState;
use super::envelope::success;

/// The status text: a `Loading (...)` text while a restore or reload runs,
/// a failure text when the data folder cannot be written or the health
/// command fails, `OK` otherwise.
pub async fn current_status(state: &Arc<AppState>) -> String {
    if let Some(activity) = state.activity() {
        return activity;
    }
    let folder = state.settings.data_dir.clone();
    let writable = tokio::task::spawn_blocking(move || {
        let probe = folder.join(format!(".status-probe-{}", std::process::id()));
        std::fs::write(&probe, b"").and_then(|()| std::fs::remove_file(&probe))
    })
    .await;
    match writable {
        Ok(Ok(())) => {}
        Ok(Err(error)) => return format!("Error (the data folder cannot be written: {error})"),
        Err(error) => return format!("Error ({error})"),
    }
    if !state.settings.health_command.is_empty()
        && let Err(error) = run_command(
            &state.settings.health_command,
            state.settings.command_timeout_seconds,
        )
        .await
    {
        return format!("Error (health check failed: {error})");
    }
    "OK".to_string()
}

/// `GET /api/v1/system/status`.
pub async fn status(State(state): State<Arc<AppState>>) -> Response {
    let text = current_status(&state).await;
    let backups = state.settings.backups_dir();
    let zone = state.zone;
    let count =
        tokio::task::spawn_blocking(move || super::backups::list_backups(&backups, zone).len())
            .await
            .unwrap_or(0);
    let schedule = state.backup_settings().schedule();
    let next = crate::schedule::next_run(&schedule, state.zone, state.clock.now())
        .map(|run| run.at.with_timezone(&state.zone).to_rfc3339());
    success(serde_json::json!({
        "status": text,
        "version": env!("CARGO_PKG_VERSION"),
        "count_backups": count,
        "next_scheduled_backup": next,
        "time_zone": state.zone.name(),
    }))
}

/// Runs `command` (program and arguments), failing on a non-zero exit or
/// after `timeout_seconds`.
pub async fn run_command(command: &[String], timeout_seconds: u64) -> Result<(), String> {
    let Some((program, arguments)) = command.split_first() else {
        return Ok(());
    };
    let child = tokio::process::Command::new(program)
        .args(arguments)
        .kill_on_drop(true)
        .output();
    match tokio::time::timeout(Duration::from_secs(timeout_seconds.max(1)), child).await {
        Err(_) => Err(format!("`{program}` ran longer than {timeout_seconds} s")),
        Ok(Err(error)) => Err(format!("`{program}` cannot run: {error}")),
        Ok(Ok(output)) if output.status.success() => Ok(()),
        Ok(Ok(output)) => Err(format!("`{program}` exited with {}", output.status)),
    }
}
