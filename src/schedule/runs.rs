//! The runs a schedule makes in a window of time, daylight-saving changes
//! included.
//!
//! The work is done per local day, not per minute: each day of the window
//! names at most 25 local times (24 hourly, 1 daily), and each is turned into
//! an instant once. A week costs a few hundred look-ups in the zone's rules.

use chrono::{DateTime, Days, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

use super::{Run, Schedule};

/// The most runs [`runs_between`] returns: the earliest ones of the window.
/// It is more than a year of hourly runs; a caller that wants more asks again
/// from the last run it was given.
pub const MAX_RUNS: usize = 10_000;

/// How far past a skipped local time to look for the first minute that
/// exists. The longest jump forward in the time zone database is a whole day
/// (Samoa crossed the date line at the end of 2011).
const LONGEST_GAP_MINUTES: i64 = 2 * 24 * 60;

/// Local days looked at on either side of the window's own dates. A skipped
/// time moves forward into the next day at most, and the first occurrence of
/// a repeated time can fall a few hours before the window's first local date,
/// so two days cover both with room to spare.
const MARGIN_DAYS: u64 = 2;

/// How far [`next_run`] looks. Every enabled part names a local time each
/// day, and a skipped one moves by a day at most, so any two days hold a run.
const NEXT_RUN_HORIZON: TimeDelta = TimeDelta::days(4);

/// A local time of day the schedule names, with the part that names it.
struct Slot {
    time: NaiveTime,
    hourly: bool,
    statistics: bool,
}

/// The runs due in `(after, until]`, in increasing order, at most one per
/// instant: an hourly and a daily run that fall on the same instant are one
/// [`Run`] with both flags, and statistics if either part asks.
///
/// Each local time the schedule names in `zone` runs once: where a jump
/// forward skips it, at the first minute that exists after the jump; where a
/// jump back repeats it, at its first occurrence. Nothing is returned for an
/// empty or reversed window, nor for a schedule with nothing enabled; at most
/// [`MAX_RUNS`] runs are returned, the earliest ones.
pub fn runs_between(
    schedule: &Schedule,
    zone: Tz,
    after: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Vec<Run> {
    let slots = slots(schedule);
    if slots.is_empty() || until <= after {
        return Vec::new();
    }

    // The local days whose times can land in the window.
    let first_day = local_date(zone, after)
        .checked_sub_days(Days::new(MARGIN_DAYS))
        .unwrap_or(NaiveDate::MIN);
    let last_day = local_date(zone, until)
        .checked_add_days(Days::new(MARGIN_DAYS))
        .unwrap_or(NaiveDate::MAX);

    // Every enabled part runs at least once a day, so the days are walked in
    // order until the cap is reached, then a margin further: runs of later
    // days cannot come before the ones already found.
    let mut runs = Vec::new();
    let mut stop_after = None;
    let mut day = first_day;
    loop {
        for slot in &slots {
            let Some(at) = resolve(zone, day.and_time(slot.time)) else {
                continue;
            };
            if at > after && at <= until {
                runs.push(Run {
                    at,
                    statistics: slot.statistics,
                    hourly: slot.hourly,
                    daily: !slot.hourly,
                });
            }
        }
        // Runs of one instant are counted once, so merge before counting.
        if stop_after.is_none() && runs.len() >= MAX_RUNS {
            sort_and_merge(&mut runs);
            if runs.len() >= MAX_RUNS {
                stop_after = Some(
                    day.checked_add_days(Days::new(MARGIN_DAYS + 1))
                        .unwrap_or(NaiveDate::MAX),
                );
            }
        }
        if day >= last_day || stop_after.is_some_and(|stop| day >= stop) {
            break;
        }
        match day.succ_opt() {
            Some(next) => day = next,
            None => break,
        }
    }

    sort_and_merge(&mut runs);
    runs.truncate(MAX_RUNS);
    runs
}

/// The first run strictly after `after`, or `None` when nothing is enabled
/// (or the end of the calendar is near).
pub fn next_run(schedule: &Schedule, zone: Tz, after: DateTime<Utc>) -> Option<Run> {
    let until = after
        .checked_add_signed(NEXT_RUN_HORIZON)
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    runs_between(schedule, zone, after, until)
        .into_iter()
        .next()
}

/// The local times of day the enabled parts of `schedule` name; a part whose
/// hour or minute is out of range names none.
fn slots(schedule: &Schedule) -> Vec<Slot> {
    let mut slots = Vec::with_capacity(25);
    if schedule.every_hour {
        let minute = u32::from(schedule.every_hour_minute);
        slots.extend((0..24).filter_map(|hour| {
            Some(Slot {
                time: NaiveTime::from_hms_opt(hour, minute, 0)?,
                hourly: true,
                statistics: schedule.every_hour_statistics,
            })
        }));
    }
    if schedule.every_day {
        let time = NaiveTime::from_hms_opt(
            u32::from(schedule.every_day_hour),
            u32::from(schedule.every_day_minute),
            0,
        );
        if let Some(time) = time {
            slots.push(Slot {
                time,
                hourly: false,
                statistics: schedule.every_day_statistics,
            });
        }
    }
    slots
}

/// Orders `runs` by instant and folds the runs of one instant into one.
fn sort_and_merge(runs: &mut Vec<Run>) {
    runs.sort_by_key(|run| run.at);
    runs.dedup_by(|later, kept| {
        if later.at != kept.at {
            return false;
        }
        kept.statistics |= later.statistics;
        kept.hourly |= later.hourly;
        kept.daily |= later.daily;
        true
    });
}

/// The instant a local time runs at: its first occurrence, or, when a jump
/// forward skips it, the first local minute after it that exists.
fn resolve(zone: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    if let Some(at) = zone.from_local_datetime(&local).earliest() {
        return Some(at.to_utc());
    }
    (1..=LONGEST_GAP_MINUTES).find_map(|minutes| {
        let later = local.checked_add_signed(TimeDelta::minutes(minutes))?;
        zone.from_local_datetime(&later)
            .earliest()
            .map(|at| at.to_utc())
    })
}

/// The local date of `at` in `zone`, or its UTC date at the ends of the
/// calendar, where the local one cannot be written.
fn local_date(zone: Tz, at: DateTime<Utc>) -> NaiveDate {
    let offset = zone.offset_from_utc_datetime(&at.naive_utc());
    at.naive_utc()
        .checked_add_offset(chrono::Offset::fix(&offset))
        .unwrap_or(at.naive_utc())
        .date()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    /// A skipped local time resolves to the instant of the jump (03:00 CEST
    /// on the Warsaw spring-forward night), not to a minute later.
    #[test]
    fn a_skipped_time_resolves_to_the_jump() {
        let local = NaiveDate::from_ymd_opt(2026, 3, 29)
            .unwrap()
            .and_hms_opt(2, 30, 0)
            .unwrap();
        assert_eq!(
            resolve(Tz::Europe__Warsaw, local),
            Some(utc("2026-03-29T01:00:00Z"))
        );
    }

    /// A repeated local time resolves to its first occurrence (02:30 CEST,
    /// not 02:30 CET) on the Warsaw fall-back night.
    #[test]
    fn a_repeated_time_resolves_to_its_first_occurrence() {
        let local = NaiveDate::from_ymd_opt(2026, 10, 25)
            .unwrap()
            .and_hms_opt(2, 30, 0)
            .unwrap();
        assert_eq!(
            resolve(Tz::Europe__Warsaw, local),
            Some(utc("2026-10-25T00:30:00Z"))
        );
    }

    /// A part with an out-of-range number names no time, the other part
    /// still does.
    #[test]
    fn out_of_range_parts_name_no_time() {
        let schedule = Schedule {
            every_hour: true,
            every_hour_minute: 60,
            every_day: true,
            every_day_hour: 5,
            every_day_minute: 0,
            ..Schedule::default()
        };
        let slots = slots(&schedule);
        assert_eq!(slots.len(), 1);
        assert!(!slots[0].hourly);
    }

    /// The ends of the calendar neither panic nor loop: the window from the
    /// first to the last instant chrono knows stops at the cap.
    #[test]
    fn the_whole_calendar_stops_at_the_cap() {
        let schedule = Schedule {
            every_hour: true,
            every_day: true,
            ..Schedule::default()
        };
        for zone in [Tz::UTC, Tz::Pacific__Kiritimati, Tz::Etc__GMTPlus12] {
            let runs = runs_between(
                &schedule,
                zone,
                DateTime::<Utc>::MIN_UTC,
                DateTime::<Utc>::MAX_UTC,
            );
            assert_eq!(runs.len(), MAX_RUNS, "{zone}");
            assert_eq!(next_run(&schedule, zone, DateTime::<Utc>::MAX_UTC), None);
        }
    }
}
