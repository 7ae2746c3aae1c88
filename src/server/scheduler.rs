//! The loop that makes the hourly and daily backups.
//!
//! Every second it asks the schedule which runs fell due since it last
//! looked (a window that starts when the server started, so missed runs are
//! never made up). Runs due together come as one. A run waits for a create
//! or restore in progress to finish, never overlapping it.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::AppState;
use super::backups::make_backup;
use crate::schedule::Ticker;

/// Runs until `stop` turns true; a backup in progress finishes first.
pub async fn run(state: Arc<AppState>, mut stop: watch::Receiver<bool>) {
    let mut ticker = Ticker::new(state.clock.now());
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
        tick(&state, &mut ticker).await;
    }
}

/// One look at the schedule: makes the backup that is due, if any.
pub async fn tick(state: &Arc<AppState>, ticker: &mut Ticker) {
    let schedule = state.backup_settings().schedule();
    let Some(run) = ticker.due(&schedule, state.zone, state.clock.now()) else {
        return;
    };
    tracing::info!(at = %run.at, statistics = run.statistics, hourly = run.hourly, daily = run.daily, "scheduled backup");
    if let Err(failure) = make_backup(state, run.statistics, true).await {
        tracing::error!("scheduled backup: {}", failure.message);
    }
}
