//! Turns successive readings of the clock into at most one backup each.
//!
//! The server reads its clock, asks the ticker what is due and makes that
//! backup; the ticker remembers the reading, so the next question covers only
//! the time since. Whatever the gap between two readings, one run comes out:
//! a server that was busy, suspended or whose clock jumped forward makes one
//! backup, not one per missed minute.

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;

use super::{Run, Schedule, runs_between};

/// How far the clock may be set back before the ticker gives up waiting for
/// it to catch up and starts again from the new time. Three hours is the
/// limit cron uses for the same judgement: a smaller step back is a clock
/// correction whose times already ran, a larger one means the old time was
/// wrong.
pub const CLOCK_SET_BACK_LIMIT: TimeDelta = TimeDelta::hours(3);

/// The tail of a long gap that decides the coalesced run. Every enabled part
/// runs at least once in any two days, so three days show every part that
/// ran anywhere in the gap, and the latest run is in them too.
const COALESCE_SPAN: TimeDelta = TimeDelta::days(3);

/// The scheduler's memory: the latest instant it has looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticker {
    last: DateTime<Utc>,
}

impl Ticker {
    /// A ticker that starts at `start`: no run at or before it is ever due,
    /// so runs missed while the server was down are not made up.
    pub fn new(start: DateTime<Utc>) -> Ticker {
        Ticker { last: start }
    }

    /// The latest instant looked at; the next run after it is what to sleep
    /// until.
    pub fn last(&self) -> DateTime<Utc> {
        self.last
    }

    /// The run due in the window since the last call, up to and including
    /// `now`, and the window moves on to `now`.
    ///
    /// Several runs in the window come out as one: at the latest of their
    /// instants, with statistics if any of them asks, and the hourly and daily
    /// flags of all of them.
    ///
    /// When `now` is not after the last instant (the clock was set back),
    /// nothing is due. A step back of up to [`CLOCK_SET_BACK_LIMIT`] keeps the
    /// window where it was, so times that already ran are not run again: runs
    /// resume once the clock passes the last instant. A larger step back
    /// starts the window again at `now`, so the scheduler is not silenced for
    /// as long as the clock was wrong; times between `now` and the old instant
    /// then run again as the clock reaches them.
    pub fn due(&mut self, schedule: &Schedule, zone: Tz, now: DateTime<Utc>) -> Option<Run> {
        if now <= self.last {
            if self.last.signed_duration_since(now) > CLOCK_SET_BACK_LIMIT {
                self.last = now;
            }
            return None;
        }

        let after = now
            .checked_sub_signed(COALESCE_SPAN)
            .map_or(self.last, |start| start.max(self.last));
        self.last = now;
        runs_between(schedule, zone, after, now)
            .into_iter()
            .reduce(|earlier, later| Run {
                at: later.at,
                statistics: earlier.statistics || later.statistics,
                hourly: earlier.hourly || later.hourly,
                daily: earlier.daily || later.daily,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    const HOURLY_AT_10: Schedule = Schedule {
        every_hour: true,
        every_hour_minute: 10,
        every_hour_statistics: false,
        every_day: false,
        every_day_hour: 0,
        every_day_minute: 0,
        every_day_statistics: false,
    };

    /// A gap of weeks comes out as one run at the latest due instant, the
    /// same as a gap of hours would.
    #[test]
    fn a_long_gap_is_one_run_at_its_latest_time() {
        let mut ticker = Ticker::new(utc("2026-01-01T00:00:00Z"));
        let run = ticker
            .due(&HOURLY_AT_10, Tz::UTC, utc("2026-02-15T07:45:00Z"))
            .unwrap();
        assert_eq!(run.at, utc("2026-02-15T07:10:00Z"));
        assert_eq!(ticker.last(), utc("2026-02-15T07:45:00Z"));
    }

    /// A daily run early in a long gap still sets the daily flag and its
    /// statistics on the coalesced run.
    #[test]
    fn a_long_gap_keeps_every_part_that_ran() {
        let schedule = Schedule {
            every_day: true,
            every_day_hour: 1,
            every_day_statistics: true,
            ..HOURLY_AT_10
        };
        let mut ticker = Ticker::new(utc("2026-01-01T00:00:00Z"));
        let run = ticker
            .due(&schedule, Tz::UTC, utc("2026-01-20T00:30:00Z"))
            .unwrap();
        assert_eq!(run.at, utc("2026-01-20T00:10:00Z"));
        assert!(run.daily && run.hourly && run.statistics);
    }
}
