//! When the hourly and the daily backups are due.
//!
//! A [`Schedule`] is the scheduling part of the backup settings, field for
//! field as the API's configuration names it. Everything here is pure: the
//! caller passes the time zone and the instants, so every rule can be tested
//! with any clock and without waiting.
//!
//! - [`runs_between`] lists the runs due in a window `(after, until]`;
//!   [`next_run`] finds the first one after an instant.
//! - [`Ticker`] turns successive readings of a [`Clock`] into at most one run
//!   per reading, so a server that was busy makes one backup, not several.
//! - [`parse_zone`] and [`system_zone`] give the IANA time zone the schedule
//!   is read in.
//!
//! The rules, told for administrators in docs/SCHEDULE.md: each local time the
//! schedule names runs once; a local time that a jump forward skips runs at
//! the first minute that exists after the jump; a local time that a jump back
//! repeats runs at its first occurrence; an hourly and a daily run at the same
//! instant are one backup, with statistics if either asks for them.

mod clock;
mod runs;
mod ticker;
mod zone;

pub use clock::{Clock, ManualClock, SystemClock};
pub use runs::{MAX_RUNS, next_run, runs_between};
pub use ticker::{CLOCK_SET_BACK_LIMIT, Ticker};
pub use zone::{detect_zone, parse_zone, system_zone};

use chrono::{DateTime, Utc};

use crate::catalogue::ApiError;

/// The scheduling settings of the backups API, with its field names.
///
/// Hours and minutes are local times in the zone the caller passes along.
/// [`Schedule::check`] tells whether the numbers are in range; a part whose
/// number is out of range never runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Schedule {
    /// Whether a backup is made every hour.
    pub every_hour: bool,
    /// The minute of each hour the hourly backup runs at, 0 to 59.
    pub every_hour_minute: u8,
    /// Whether the hourly backup includes traffic statistics.
    pub every_hour_statistics: bool,
    /// Whether a backup is made every day.
    pub every_day: bool,
    /// The hour of the day the daily backup runs at, 0 to 23.
    pub every_day_hour: u8,
    /// The minute of that hour, 0 to 59.
    pub every_day_minute: u8,
    /// Whether the daily backup includes traffic statistics.
    pub every_day_statistics: bool,
}

impl Schedule {
    /// Checks that every hour and minute is in range, whether or not its part
    /// is enabled, as the API's Set Configuration does.
    ///
    /// # Errors
    /// The first number out of range, in the order the API checks them:
    /// [`ScheduleError::HourlyMinute`], [`ScheduleError::DailyHour`],
    /// [`ScheduleError::DailyMinute`].
    pub fn check(&self) -> Result<(), ScheduleError> {
        if self.every_hour_minute > 59 {
            return Err(ScheduleError::HourlyMinute(self.every_hour_minute));
        }
        if self.every_day_hour > 23 {
            return Err(ScheduleError::DailyHour(self.every_day_hour));
        }
        if self.every_day_minute > 59 {
            return Err(ScheduleError::DailyMinute(self.every_day_minute));
        }
        Ok(())
    }
}

/// One backup the schedule asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    /// When it is due.
    pub at: DateTime<Utc>,
    /// Whether it includes traffic statistics: true when any part that asked
    /// for this run wants them.
    pub statistics: bool,
    /// Whether the hourly part asked for it.
    pub hourly: bool,
    /// Whether the daily part asked for it.
    pub daily: bool,
}

/// Why a time zone or a schedule was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScheduleError {
    /// The name is not in the IANA time zone database.
    #[error("unknown time zone `{0}`: expected an IANA name such as `Europe/Warsaw`")]
    UnknownZone(String),
    /// `every_hour_minute` is above 59.
    #[error("hourly minute `{0}` is out of range: it must be between 0 and 59")]
    HourlyMinute(u8),
    /// `every_day_hour` is above 23.
    #[error("daily hour `{0}` is out of range: it must be between 0 and 23")]
    DailyHour(u8),
    /// `every_day_minute` is above 59.
    #[error("daily minute `{0}` is out of range: it must be between 0 and 59")]
    DailyMinute(u8),
}

impl ScheduleError {
    /// The documented API text that reports this error, if the API has one.
    pub const fn api_error(&self) -> Option<ApiError> {
        match self {
            ScheduleError::UnknownZone(_) => None,
            ScheduleError::HourlyMinute(_) => Some(ApiError::HourlyMinuteRange),
            ScheduleError::DailyHour(_) => Some(ApiError::DailyHourRange),
            ScheduleError::DailyMinute(_) => Some(ApiError::DailyMinuteRange),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `check` accepts the edges of each range and refuses one past them,
    /// naming the API text of the field at fault.
    #[test]
    fn check_refuses_numbers_out_of_range() {
        let edges = Schedule {
            every_hour_minute: 59,
            every_day_hour: 23,
            every_day_minute: 59,
            ..Schedule::default()
        };
        assert_eq!(edges.check(), Ok(()));

        let cases = [
            (
                Schedule {
                    every_hour_minute: 60,
                    ..edges
                },
                ApiError::HourlyMinuteRange,
            ),
            (
                Schedule {
                    every_day_hour: 24,
                    ..edges
                },
                ApiError::DailyHourRange,
            ),
            (
                Schedule {
                    every_day_minute: 60,
                    ..edges
                },
                ApiError::DailyMinuteRange,
            ),
        ];
        for (schedule, expected) in cases {
            let error = schedule.check().unwrap_err();
            assert_eq!(error.api_error(), Some(expected), "{schedule:?}");
        }
    }
}
