//! A progress line on standard error, only on a terminal and only for work
//! that takes longer than a moment.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use puqbackup::units::human_bytes;

/// How long work runs before a progress line appears.
const QUIET_PERIOD: Duration = Duration::from_millis(700);
/// How often the line is redrawn.
const REDRAW_EVERY: Duration = Duration::from_millis(100);

/// Draws `label: 42% (120.0 MiB of 286.1 MiB)` on standard error.
pub struct ProgressLine {
    label: String,
    enabled: bool,
    started: Instant,
    last_drawn: Option<Instant>,
}

impl ProgressLine {
    /// A line for `label`, silent when standard error is not a terminal.
    pub fn new(label: &str) -> ProgressLine {
        ProgressLine {
            label: label.to_string(),
            enabled: std::io::stderr().is_terminal(),
            started: Instant::now(),
            last_drawn: None,
        }
    }

    /// Reports that `done` of `total` bytes are checked.
    pub fn update(&mut self, done: u64, total: u64) {
        if !self.enabled || self.started.elapsed() < QUIET_PERIOD {
            return;
        }
        if self
            .last_drawn
            .is_some_and(|drawn| drawn.elapsed() < REDRAW_EVERY)
        {
            return;
        }
        self.last_drawn = Some(Instant::now());
        let percent = done.saturating_mul(100).checked_div(total).unwrap_or(100);
        let mut stderr = std::io::stderr();
        let _ = write!(
            stderr,
            "\r\x1b[2K{}: {percent:>3}% ({} of {})",
            self.label,
            human_bytes(done),
            human_bytes(total)
        );
        let _ = stderr.flush();
    }

    /// Clears the line if one was drawn.
    pub fn finish(self) {
        if self.last_drawn.is_some() {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
        }
    }
}
