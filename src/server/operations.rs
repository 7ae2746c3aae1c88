//! Restore by name, and the backup settings.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::edge::task_failure;
use super::envelope::{Failure, success};
use super::request::Parameters;
use super::status::current_status;
use crate::catalogue::ApiError;
use crate::restore::{RestoreError, RestoreOptions, find_backup, restore_archive};

/// The HTTP status for a restore that did not happen.
fn restore_status(error: &RestoreError) -> StatusCode {
    match error.api_error() {
        Some(ApiError::NoSuchBackup) => StatusCode::NOT_FOUND,
        Some(ApiError::StatusNotOk) => StatusCode::CONFLICT,
        _ if matches!(error, RestoreError::Busy(_)) => StatusCode::CONFLICT,
        _ if error.is_archive_fault() => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// `PUT /api/v1/backups/restore` with `backup_name`.
pub async fn restore(State(state): State<Arc<AppState>>, parameters: Parameters) -> Response {
    match run_restore(&state, parameters.get("backup_name").unwrap_or("")).await {
        Ok(()) => success("success"),
        Err(failure) => failure.into_response(),
    }
}

async fn run_restore(state: &Arc<AppState>, name: &str) -> Result<(), Failure> {
    // The panel must be healthy, and nothing else may be running.
    let status = current_status(state).await;
    if status != "OK" {
        return Err(Failure::api(
            StatusCode::CONFLICT,
            ApiError::StatusNotOk,
            format!("the status is `{status}`"),
        ));
    }
    let _operation = state.operation.try_lock().map_err(|_| {
        Failure::api(
            StatusCode::CONFLICT,
            ApiError::StatusNotOk,
            "a backup or a restore is running",
        )
    })?;

    let folder = state.settings.backups_dir();
    let archive = find_backup(&folder, name)
        .map_err(|error| Failure::new(restore_status(&error), error.to_string()))?;
    let mut options = RestoreOptions::new(state.settings.config_dir());
    options.statistics_dir = Some(state.settings.statistics_dir());
    options.snapshots_to_keep = state.settings.keep_snapshots;
    options.panel_status = Some("OK".to_string());

    state.set_activity(Some(format!("Loading (restoring `{name}`)")));
    let result = tokio::task::spawn_blocking(move || restore_archive(&archive, &options)).await;
    let outcome = match result {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(error)) => {
            state.set_activity(None);
            tracing::error!(name, "restore failed: {error}");
            return Err(Failure::new(restore_status(&error), error.to_string()));
        }
        Err(error) => {
            state.set_activity(None);
            return Err(Failure::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                task_failure(error),
            ));
        }
    };
    for note in &outcome.notes {
        tracing::warn!("{note}");
    }
    tracing::info!(name, files = outcome.files, "restored");

    // The panel picks up its new configuration; meanwhile it is loading.
    if !state.settings.reload_command.is_empty() {
        state.set_activity(Some("Loading (reloading the configuration)".to_string()));
        if let Err(error) = super::status::run_command(
            &state.settings.reload_command,
            state.settings.command_timeout_seconds,
        )
        .await
        {
            tracing::error!("the reload command failed: {error}");
        }
    }
    state.set_activity(None);
    Ok(())
}

/// `GET /api/v1/backups/config`.
pub async fn get_config(State(state): State<Arc<AppState>>) -> Response {
    success(state.backup_settings())
}

/// `PUT /api/v1/backups/config`: checks in the reference's order, then saves
/// atomically and answers the settings as saved.
pub async fn put_config(State(state): State<Arc<AppState>>, parameters: Parameters) -> Response {
    let current = state.backup_settings();
    let next = match current.changed_by(&parameters.0) {
        Ok(next) => next,
        Err(error) => return Failure::new(StatusCode::BAD_REQUEST, error.0).into_response(),
    };
    let path = state.settings.backup_settings_file();
    let saved = next.clone();
    let result = tokio::task::spawn_blocking(move || saved.save(&path)).await;
    match result {
        Ok(Ok(())) => {
            if let Ok(mut settings) = state.backup_settings.lock() {
                *settings = next.clone();
            }
            tracing::info!("backup settings changed");
            success(next)
        }
        Ok(Err(error)) => Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot save the backup settings: {error}"),
        )
        .into_response(),
        Err(error) => {
            Failure::new(StatusCode::INTERNAL_SERVER_ERROR, task_failure(error)).into_response()
        }
    }
}
