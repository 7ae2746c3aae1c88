//! When hourly and daily backups are due: exact minutes, coalescing,
//! daylight-saving nights, long windows, the ticker under a busy server and a
//! clock set back, and properties over random schedules, zones and windows.
//!
//! Expected instants are written out in UTC, each with its local time in a
//! comment, so that no test computes its expectation with the code it checks.

// A test fails by panicking; `expect` says what was expected.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::Instant;

use chrono::{DateTime, TimeDelta, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use proptest::prelude::*;
use puqbackup::schedule::{
    Clock, MAX_RUNS, ManualClock, Run, Schedule, ScheduleError, Ticker, next_run, parse_zone,
    runs_between,
};

fn utc(text: &str) -> DateTime<Utc> {
    text.parse().expect("a test instant")
}

fn instants(runs: &[Run]) -> Vec<DateTime<Utc>> {
    runs.iter().map(|run| run.at).collect()
}

/// Nothing enabled; tests switch on what they need.
const OFF: Schedule = Schedule {
    every_hour: false,
    every_hour_minute: 0,
    every_hour_statistics: false,
    every_day: false,
    every_day_hour: 0,
    every_day_minute: 0,
    every_day_statistics: false,
};

fn hourly(minute: u8) -> Schedule {
    Schedule {
        every_hour: true,
        every_hour_minute: minute,
        ..OFF
    }
}

fn daily(hour: u8, minute: u8) -> Schedule {
    Schedule {
        every_day: true,
        every_day_hour: hour,
        every_day_minute: minute,
        ..OFF
    }
}

const WARSAW: Tz = Tz::Europe__Warsaw;

/// The hourly run is due in a window that ends at its minute, and not in the
/// windows that end a nanosecond before or start at it.
#[test]
fn hourly_fires_at_its_minute_only() {
    let schedule = hourly(30);
    let due = utc("2026-06-10T08:30:00Z"); // 10:30 CEST

    let run = runs_between(&schedule, WARSAW, utc("2026-06-10T08:29:00Z"), due);
    assert_eq!(instants(&run), [due]);
    assert!(run[0].hourly && !run[0].daily && !run[0].statistics);

    let just_before = due - TimeDelta::nanoseconds(1);
    assert!(runs_between(&schedule, WARSAW, utc("2026-06-10T08:29:00Z"), just_before).is_empty());
    assert!(runs_between(&schedule, WARSAW, due, utc("2026-06-10T08:31:00Z")).is_empty());
    assert_eq!(
        instants(&runs_between(&schedule, WARSAW, just_before, due)),
        [due]
    );
}

/// The daily run is due at its local hour and minute (14:45 CEST is 12:45
/// UTC), not at 14:44 or 14:46, and once in a day.
#[test]
fn daily_fires_at_its_time_only() {
    let schedule = Schedule {
        every_day_statistics: true,
        ..daily(14, 45)
    };
    let runs = runs_between(
        &schedule,
        WARSAW,
        utc("2026-06-09T22:00:00Z"), // 00:00 CEST
        utc("2026-06-10T22:00:00Z"), // 24:00 CEST
    );
    assert_eq!(instants(&runs), [utc("2026-06-10T12:45:00Z")]);
    assert!(runs[0].daily && !runs[0].hourly && runs[0].statistics);

    for (after, until) in [
        ("2026-06-10T12:43:00Z", "2026-06-10T12:44:00Z"),
        ("2026-06-10T12:45:00Z", "2026-06-10T12:46:00Z"),
    ] {
        assert!(runs_between(&schedule, WARSAW, utc(after), utc(until)).is_empty());
    }
}

/// A minute stepping clock sees the hourly run at each :30 and nowhere else,
/// and the ticker's runs match the window's.
#[test]
fn a_ticker_stepped_each_minute_fires_at_the_minute() {
    let schedule = hourly(30);
    let start = utc("2026-06-10T00:00:00Z");
    let clock = ManualClock::new(start);
    let mut ticker = Ticker::new(clock.now());
    let mut seen = Vec::new();
    for _ in 0..24 * 60 {
        clock.advance(TimeDelta::minutes(1));
        if let Some(run) = ticker.due(&schedule, WARSAW, clock.now()) {
            assert_eq!(run.at, clock.now(), "a run is made the minute it is due");
            seen.push(run);
        }
    }
    assert_eq!(seen.len(), 24);
    assert!(seen.iter().all(|run| run.at.minute() == 30));
    assert_eq!(seen, runs_between(&schedule, WARSAW, start, clock.now()));
}

/// When the hourly and the daily part name the same minute, one run is due,
/// carrying both flags and the statistics only the daily part asks for; the
/// other hours' runs have none.
#[test]
fn hourly_and_daily_in_one_minute_are_one_run() {
    let schedule = Schedule {
        every_hour: true,
        every_hour_minute: 5,
        every_hour_statistics: false,
        every_day: true,
        every_day_hour: 13,
        every_day_minute: 5,
        every_day_statistics: true,
    };
    let runs = runs_between(
        &schedule,
        Tz::UTC,
        utc("2026-06-10T00:00:00Z"),
        utc("2026-06-11T00:00:00Z"),
    );
    assert_eq!(runs.len(), 24);
    let both: Vec<&Run> = runs.iter().filter(|run| run.daily).collect();
    assert_eq!(both.len(), 1);
    assert_eq!(both[0].at, utc("2026-06-10T13:05:00Z"));
    assert!(both[0].hourly && both[0].statistics);
    assert!(
        runs.iter()
            .filter(|run| !run.daily)
            .all(|run| run.hourly && !run.statistics)
    );

    // The other way round: statistics from the hourly part alone.
    let swapped = Schedule {
        every_hour_statistics: true,
        every_day_statistics: false,
        ..schedule
    };
    let runs = runs_between(
        &swapped,
        Tz::UTC,
        utc("2026-06-10T13:00:00Z"),
        utc("2026-06-10T13:10:00Z"),
    );
    assert_eq!(runs.len(), 1);
    assert!(runs[0].statistics && runs[0].hourly && runs[0].daily);
}

/// A part that is switched off never fires, whatever its minute and
/// statistics flag, and a schedule with both off has no next run.
#[test]
fn disabled_parts_never_fire() {
    let all_off = Schedule {
        every_hour_statistics: true,
        every_day_statistics: true,
        every_hour_minute: 30,
        every_day_hour: 2,
        every_day_minute: 30,
        ..OFF
    };
    let (after, until) = (utc("2026-01-01T00:00:00Z"), utc("2026-02-01T00:00:00Z"));
    assert!(runs_between(&all_off, WARSAW, after, until).is_empty());
    assert_eq!(next_run(&all_off, WARSAW, after), None);

    let daily_only = Schedule {
        every_day: true,
        ..all_off
    };
    let runs = runs_between(&daily_only, WARSAW, after, until);
    assert_eq!(runs.len(), 31);
    assert!(runs.iter().all(|run| run.daily && !run.hourly));

    let hourly_only = Schedule {
        every_hour: true,
        ..all_off
    };
    let runs = runs_between(&hourly_only, WARSAW, after, until);
    assert_eq!(runs.len(), 31 * 24);
    assert!(runs.iter().all(|run| run.hourly && !run.daily));
}

/// A server that was down from 08:00 and starts at 12:45 does not make up
/// the runs of 08:30 to 12:30: its ticker starts at the start time, and the
/// first run is 13:30.
#[test]
fn runs_before_the_start_are_not_made_up() {
    let schedule = hourly(30);
    let clock = ManualClock::new(utc("2026-06-10T12:45:00Z"));
    let mut ticker = Ticker::new(clock.now());

    clock.advance(TimeDelta::minutes(1));
    assert_eq!(ticker.due(&schedule, Tz::UTC, clock.now()), None);
    clock.set(utc("2026-06-10T13:29:59Z"));
    assert_eq!(ticker.due(&schedule, Tz::UTC, clock.now()), None);
    clock.set(utc("2026-06-10T13:30:00Z"));
    let run = ticker.due(&schedule, Tz::UTC, clock.now()).unwrap();
    assert_eq!(run.at, utc("2026-06-10T13:30:00Z"));

    // The window the server asks for at its start covers only the start.
    assert!(
        runs_between(
            &schedule,
            Tz::UTC,
            utc("2026-06-10T12:45:00Z"),
            utc("2026-06-10T12:45:00Z")
        )
        .is_empty()
    );
}

/// On the spring-forward night in Warsaw (2026-03-29, 02:00 CET becomes
/// 03:00 CEST at 01:00 UTC) a daily run at 02:30 runs at 03:00 CEST, right
/// after the jump, and once.
#[test]
fn daily_in_the_skipped_hour_runs_after_the_jump() {
    let runs = runs_between(
        &daily(2, 30),
        WARSAW,
        utc("2026-03-28T00:00:00Z"),
        utc("2026-03-31T00:00:00Z"),
    );
    assert_eq!(
        instants(&runs),
        [
            utc("2026-03-28T01:30:00Z"), // 02:30 CET
            utc("2026-03-29T01:00:00Z"), // 03:00 CEST, for the skipped 02:30
            utc("2026-03-30T00:30:00Z"), // 02:30 CEST
        ]
    );
}

/// On the fall-back night in Warsaw (2026-10-25, 03:00 CEST becomes 02:00 CET
/// at 01:00 UTC) 02:30 happens twice; the daily run at 02:30 runs once, at
/// the first (CEST) one.
#[test]
fn daily_in_the_repeated_hour_runs_once() {
    let runs = runs_between(
        &daily(2, 30),
        WARSAW,
        utc("2026-10-24T00:00:00Z"),
        utc("2026-10-27T00:00:00Z"),
    );
    assert_eq!(
        instants(&runs),
        [
            utc("2026-10-24T00:30:00Z"), // 02:30 CEST
            utc("2026-10-25T00:30:00Z"), // 02:30 CEST, the first of two
            utc("2026-10-26T01:30:00Z"), // 02:30 CET
        ]
    );
}

/// Hourly at minute 30 over the local spring-forward day in Warsaw: the day
/// has 23 hours (00:00 CET is 03-28T23:00Z, 24:00 CEST is 03-29T22:00Z) but
/// names 24 local times 00:30 to 23:30. 02:30 does not exist and runs at
/// 03:00 CEST, right after the jump, so every one of the 24 runs once: 24
/// runs, with 03:00 and 03:30 half an hour apart.
#[test]
fn hourly_on_the_spring_forward_day() {
    let runs = runs_between(
        &hourly(30),
        WARSAW,
        utc("2026-03-28T23:00:00Z"),
        utc("2026-03-29T22:00:00Z"),
    );
    assert_eq!(runs.len(), 24);
    assert_eq!(
        instants(&runs[..4]),
        [
            utc("2026-03-28T23:30:00Z"), // 00:30 CET
            utc("2026-03-29T00:30:00Z"), // 01:30 CET
            utc("2026-03-29T01:00:00Z"), // 03:00 CEST, for the skipped 02:30
            utc("2026-03-29T01:30:00Z"), // 03:30 CEST
        ]
    );
    assert_eq!(runs[23].at, utc("2026-03-29T21:30:00Z")); // 23:30 CEST
}

/// Hourly at minute 0 over the same day: the skipped 02:00 would run at
/// 03:00 CEST, which is also the hourly run of 03:00, and one instant is one
/// run, so the day has 23 runs.
#[test]
fn hourly_on_the_hour_on_the_spring_forward_day() {
    let runs = runs_between(
        &hourly(0),
        WARSAW,
        utc("2026-03-28T22:59:00Z"),
        utc("2026-03-29T21:59:00Z"),
    );
    assert_eq!(runs.len(), 23);
    assert_eq!(
        instants(&runs[..3]),
        [
            utc("2026-03-28T23:00:00Z"), // 00:00 CET
            utc("2026-03-29T00:00:00Z"), // 01:00 CET
            utc("2026-03-29T01:00:00Z"), // 03:00 CEST, for 02:00 and 03:00
        ]
    );
}

/// Hourly at minute 30 over the local fall-back day in Warsaw: the day has
/// 25 hours (00:00 CEST is 10-24T22:00Z, 24:00 CET is 10-25T23:00Z) and names
/// 24 local times. 02:30 happens twice and runs at its first occurrence
/// only, so the day has 24 runs, and the repeated hour leaves a two-hour gap
/// between 02:30 CEST and 03:30 CET.
#[test]
fn hourly_on_the_fall_back_day() {
    let runs = runs_between(
        &hourly(30),
        WARSAW,
        utc("2026-10-24T22:00:00Z"),
        utc("2026-10-25T23:00:00Z"),
    );
    assert_eq!(runs.len(), 24);
    assert_eq!(
        instants(&runs[..4]),
        [
            utc("2026-10-24T22:30:00Z"), // 00:30 CEST
            utc("2026-10-24T23:30:00Z"), // 01:30 CEST
            utc("2026-10-25T00:30:00Z"), // 02:30 CEST, the first of two
            utc("2026-10-25T02:30:00Z"), // 03:30 CET
        ]
    );
    assert_eq!(runs[23].at, utc("2026-10-25T22:30:00Z")); // 23:30 CET
}

/// A ticker stepped each minute through both Warsaw nights makes the same
/// runs as the window: the daylight-saving rules hold for the server's loop,
/// not just for the listing.
#[test]
fn a_ticker_follows_the_daylight_saving_rules() {
    let schedule = Schedule {
        every_day: true,
        every_day_hour: 2,
        every_day_minute: 30,
        every_day_statistics: true,
        ..hourly(30)
    };
    for start in ["2026-03-28T20:00:00Z", "2026-10-24T20:00:00Z"] {
        let start = utc(start);
        let clock = ManualClock::new(start);
        let mut ticker = Ticker::new(start);
        let mut seen = Vec::new();
        for _ in 0..12 * 60 {
            clock.advance(TimeDelta::minutes(1));
            seen.extend(ticker.due(&schedule, WARSAW, clock.now()));
        }
        assert_eq!(seen, runs_between(&schedule, WARSAW, start, clock.now()));
        assert_eq!(seen.iter().filter(|run| run.daily).count(), 1);
    }
}

/// Zones without daylight saving (UTC, Asia/Tokyo at +09:00) run every local
/// time of a whole year exactly once: hourly runs an hour apart all year, the
/// daily at 09:00 in Tokyo is midnight UTC.
#[test]
fn zones_without_daylight_saving() {
    let (after, until) = (utc("2025-12-31T15:00:00Z"), utc("2026-12-31T15:00:00Z"));
    for zone in [Tz::UTC, Tz::Asia__Tokyo] {
        let runs = runs_between(&hourly(15), zone, after, until);
        assert_eq!(runs.len(), 365 * 24, "{zone}");
        assert!(
            runs.windows(2)
                .all(|pair| pair[1].at - pair[0].at == TimeDelta::hours(1)),
            "{zone}"
        );
    }

    let runs = runs_between(&daily(9, 0), Tz::Asia__Tokyo, after, until);
    assert_eq!(runs.len(), 365);
    assert!(
        runs.iter()
            .all(|run| run.at.hour() == 0 && run.at.minute() == 0)
    );
}

/// A week-long window over a daylight-saving change returns every run in
/// well under a second, even in a debug build: each of its 168 hours of real
/// time holds one hourly run at :10, the 02:10 that the spring-forward jump
/// skips adds one at 03:00 CEST, and the daily at 04:45 runs 7 times.
#[test]
fn a_week_long_window_is_fast() {
    let schedule = Schedule {
        every_day: true,
        every_day_hour: 4,
        every_day_minute: 45,
        ..hourly(10)
    };
    let started = Instant::now();
    let runs = runs_between(
        &schedule,
        WARSAW,
        utc("2026-03-25T00:00:00Z"),
        utc("2026-04-01T00:00:00Z"),
    );
    let elapsed = started.elapsed();
    assert_eq!(runs.len(), 7 * 24 + 1 + 7);
    assert!(elapsed.as_millis() < 500, "took {elapsed:?}");
}

/// A window longer than the cap returns the cap's number of runs, and they
/// are the earliest ones: the same as the window that ends at the last.
#[test]
fn long_windows_are_capped_to_the_earliest_runs() {
    let schedule = hourly(0);
    let after = utc("2000-01-01T00:00:00Z");
    let runs = runs_between(&schedule, WARSAW, after, utc("2100-01-01T00:00:00Z"));
    assert_eq!(runs.len(), MAX_RUNS);
    let last = runs[MAX_RUNS - 1].at;
    assert_eq!(runs, runs_between(&schedule, WARSAW, after, last));
    assert!(runs_between(&schedule, WARSAW, after, last - TimeDelta::seconds(1)).len() < MAX_RUNS);
}

/// The next run is strictly after the instant given, across a jump forward
/// too.
#[test]
fn next_run_is_strictly_after() {
    let schedule = hourly(30);
    let at = utc("2026-06-10T08:30:00Z");
    assert_eq!(
        next_run(&schedule, WARSAW, at).map(|run| run.at),
        Some(utc("2026-06-10T09:30:00Z"))
    );
    assert_eq!(
        next_run(&schedule, WARSAW, at - TimeDelta::seconds(1)).map(|run| run.at),
        Some(at)
    );
    // 01:45 CET on the spring-forward night: 02:30 is skipped and runs at
    // 03:00 CEST.
    assert_eq!(
        next_run(&schedule, WARSAW, utc("2026-03-29T00:45:00Z")).map(|run| run.at),
        Some(utc("2026-03-29T01:00:00Z"))
    );
}

/// Samoa skipped the whole of 2011-12-30 (it moved across the date line):
/// the daily run of that day's 10:00 runs at the first minute that exists
/// after the jump, 2011-12-31 00:00 local (10:00 UTC on the 30th).
#[test]
fn a_skipped_day_runs_once_after_the_jump() {
    let runs = runs_between(
        &daily(10, 0),
        Tz::Pacific__Apia,
        utc("2011-12-29T00:00:00Z"),
        utc("2011-12-31T12:00:00Z"),
    );
    assert_eq!(
        instants(&runs),
        [
            utc("2011-12-29T20:00:00Z"), // 12-29 10:00 at -10:00
            utc("2011-12-30T10:00:00Z"), // 12-31 00:00 at +14:00, for 12-30
            utc("2011-12-30T20:00:00Z"), // 12-31 10:00 at +14:00
        ]
    );
}

/// A server busy from 10:05 to 13:20 makes one backup for the three hourly
/// runs it missed, at the latest of them, with statistics because the daily
/// run of 11:00 among them asks for them; the next reading finds nothing.
#[test]
fn the_ticker_coalesces_a_busy_gap() {
    let schedule = Schedule {
        every_hour: true,
        every_hour_minute: 0,
        every_hour_statistics: false,
        every_day: true,
        every_day_hour: 11,
        every_day_minute: 0,
        every_day_statistics: true,
    };
    let clock = ManualClock::new(utc("2026-06-10T10:05:00Z"));
    let mut ticker = Ticker::new(clock.now());

    clock.set(utc("2026-06-10T13:20:00Z"));
    let run = ticker.due(&schedule, Tz::UTC, clock.now()).unwrap();
    assert_eq!(
        run,
        Run {
            at: utc("2026-06-10T13:00:00Z"),
            statistics: true,
            hourly: true,
            daily: true,
        }
    );

    clock.advance(TimeDelta::minutes(1));
    assert_eq!(ticker.due(&schedule, Tz::UTC, clock.now()), None);
    clock.set(utc("2026-06-10T14:00:00Z"));
    let run = ticker.due(&schedule, Tz::UTC, clock.now()).unwrap();
    assert!(run.hourly && !run.daily && !run.statistics);
}

/// A clock set back by 15 minutes after the 10:30 run does not run 10:30
/// again when it passes it a second time; runs resume at 11:30.
#[test]
fn the_ticker_ignores_a_clock_set_back() {
    let schedule = hourly(30);
    let clock = ManualClock::new(utc("2026-06-10T10:29:00Z"));
    let mut ticker = Ticker::new(clock.now());
    clock.set(utc("2026-06-10T10:35:00Z"));
    assert!(ticker.due(&schedule, Tz::UTC, clock.now()).is_some());

    clock.set(utc("2026-06-10T10:20:00Z"));
    for _ in 0..60 {
        assert_eq!(
            ticker.due(&schedule, Tz::UTC, clock.now()),
            None,
            "at {}",
            clock.now()
        );
        clock.advance(TimeDelta::minutes(1));
    }
    assert_eq!(ticker.last(), utc("2026-06-10T11:19:00Z"));
    clock.set(utc("2026-06-10T11:30:00Z"));
    let run = ticker.due(&schedule, Tz::UTC, clock.now()).unwrap();
    assert_eq!(run.at, utc("2026-06-10T11:30:00Z"));
}

/// A clock set back by more than three hours (the old time was wrong) does
/// not silence the scheduler until it catches up: the ticker starts again
/// from the new time and the next run is the next one due from there.
#[test]
fn the_ticker_starts_again_after_a_large_set_back() {
    let schedule = hourly(30);
    let mut ticker = Ticker::new(utc("2030-01-01T00:00:00Z"));
    assert_eq!(
        ticker.due(&schedule, Tz::UTC, utc("2026-06-10T10:00:00Z")),
        None
    );
    assert_eq!(ticker.last(), utc("2026-06-10T10:00:00Z"));
    let run = ticker
        .due(&schedule, Tz::UTC, utc("2026-06-10T10:30:00Z"))
        .unwrap();
    assert_eq!(run.at, utc("2026-06-10T10:30:00Z"));
}

/// An unknown zone is refused with its name in the message.
#[test]
fn parse_zone_rejects_made_up_names() {
    let error = parse_zone("Mars/Olympus").unwrap_err();
    assert_eq!(error, ScheduleError::UnknownZone("Mars/Olympus".into()));
    assert!(error.to_string().contains("`Mars/Olympus`"), "{error}");
    assert_eq!(parse_zone("Asia/Tokyo"), Ok(Tz::Asia__Tokyo));
}

/// Zones for the properties: steady ones, European and American rules,
/// a half-hour change (Lord Howe), quarter-hour offsets (Kathmandu,
/// Chatham), changes at midnight (Havana, São Paulo until 2019), the
/// date-line jump (Apia) and negative summer time (Casablanca).
const ZONES: [Tz; 12] = [
    Tz::UTC,
    Tz::Europe__Warsaw,
    Tz::America__New_York,
    Tz::America__Sao_Paulo,
    Tz::America__Havana,
    Tz::Australia__Lord_Howe,
    Tz::Asia__Tokyo,
    Tz::Asia__Kathmandu,
    Tz::Pacific__Chatham,
    Tz::Pacific__Apia,
    Tz::Africa__Casablanca,
    Tz::Asia__Tehran,
];

fn any_schedule() -> impl Strategy<Value = Schedule> {
    (
        any::<bool>(),
        0u8..60,
        any::<bool>(),
        any::<bool>(),
        0u8..24,
        0u8..60,
        any::<bool>(),
    )
        .prop_map(|(every_hour, hm, hs, every_day, dh, dm, ds)| Schedule {
            every_hour,
            every_hour_minute: hm,
            every_hour_statistics: hs,
            every_day,
            every_day_hour: dh,
            every_day_minute: dm,
            every_day_statistics: ds,
        })
}

fn any_zone() -> impl Strategy<Value = Tz> {
    proptest::sample::select(ZONES.to_vec())
}

/// An instant between 1990 and 2060, to the nanosecond.
fn any_instant() -> impl Strategy<Value = DateTime<Utc>> {
    (631_152_000i64..2_840_140_800, 0u32..1_000_000_000)
        .prop_map(|(seconds, nanos)| Utc.timestamp_opt(seconds, nanos).unwrap())
}

/// The runs an independent, minute-by-minute reading of the rules expects:
/// a UTC minute runs a local time the schedule names when the local clock
/// shows it for the first time, or when the clock jumps over it between the
/// minute before and this one.
fn expected_by_minutes(
    schedule: &Schedule,
    zone: Tz,
    after: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, bool, bool)> {
    let names_hourly = |local: chrono::NaiveDateTime| {
        schedule.every_hour && local.minute() == u32::from(schedule.every_hour_minute)
    };
    let names_daily = |local: chrono::NaiveDateTime| {
        schedule.every_day
            && local.hour() == u32::from(schedule.every_day_hour)
            && local.minute() == u32::from(schedule.every_day_minute)
    };

    let mut expected = Vec::new();
    let first = after.timestamp().div_euclid(60) + 1;
    let last = until.timestamp().div_euclid(60);
    for minute in first..=last {
        let at = Utc.timestamp_opt(minute * 60, 0).unwrap();
        if at <= after {
            continue;
        }
        let now = at.with_timezone(&zone).naive_local();
        let before = (at - TimeDelta::minutes(1))
            .with_timezone(&zone)
            .naive_local();

        let first_showing =
            zone.from_local_datetime(&now).earliest() == Some(at.with_timezone(&zone));
        let (mut hourly, mut daily) = (
            first_showing && names_hourly(now),
            first_showing && names_daily(now),
        );
        let mut skipped = before + TimeDelta::minutes(1);
        while skipped < now {
            hourly |= names_hourly(skipped);
            daily |= names_daily(skipped);
            skipped += TimeDelta::minutes(1);
        }
        if hourly || daily {
            expected.push((at, hourly, daily));
        }
    }
    expected
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Every run lies in the window, the runs increase at least a minute
    /// apart, the flags say which parts asked, statistics follows them, and
    /// two adjacent windows return together what the whole one returns.
    #[test]
    fn windows_are_consistent(
        schedule in any_schedule(),
        zone in any_zone(),
        after in any_instant(),
        length in 0i64..10 * 86_400_000,
        split in 0.0f64..=1.0,
    ) {
        let until = after + TimeDelta::milliseconds(length);
        let runs = runs_between(&schedule, zone, after, until);

        for run in &runs {
            prop_assert!(run.at > after && run.at <= until, "{run:?} outside the window");
            prop_assert!(run.hourly || run.daily);
            prop_assert!(!run.hourly || schedule.every_hour);
            prop_assert!(!run.daily || schedule.every_day);
            let statistics = (run.hourly && schedule.every_hour_statistics)
                || (run.daily && schedule.every_day_statistics);
            prop_assert_eq!(run.statistics, statistics);
        }
        for pair in runs.windows(2) {
            prop_assert!(pair[1].at - pair[0].at >= TimeDelta::minutes(1), "{pair:?}");
        }

        let middle = after + TimeDelta::milliseconds((length as f64 * split) as i64);
        let mut joined = runs_between(&schedule, zone, after, middle);
        joined.extend(runs_between(&schedule, zone, middle, until));
        prop_assert_eq!(&joined, &runs);

        prop_assert_eq!(
            next_run(&schedule, zone, after).filter(|run| run.at <= until),
            runs.first().copied()
        );
    }

    /// The runs match a minute-by-minute reading of the rules, which sees
    /// each jump of the local clock as it happens.
    #[test]
    fn runs_match_a_minute_by_minute_reading(
        schedule in any_schedule(),
        zone in any_zone(),
        after in any_instant(),
        length in 0i64..3 * 86_400,
    ) {
        let until = after + TimeDelta::seconds(length);
        let runs: Vec<_> = runs_between(&schedule, zone, after, until)
            .into_iter()
            .map(|run| (run.at, run.hourly, run.daily))
            .collect();
        prop_assert_eq!(runs, expected_by_minutes(&schedule, zone, after, until));
    }
}

/// The minute-by-minute reading, pinned to the nights it matters on, so
/// that it is checked on them and not only where random windows fall.
#[test]
fn minute_reading_agrees_on_the_daylight_saving_nights() {
    let schedule = Schedule {
        every_day: true,
        every_day_hour: 2,
        every_day_minute: 15,
        ..hourly(15)
    };
    let nights = [
        (WARSAW, "2026-03-28T12:00:00Z"),
        (WARSAW, "2026-10-24T12:00:00Z"),
        (Tz::Australia__Lord_Howe, "2026-04-04T00:00:00Z"),
        (Tz::Australia__Lord_Howe, "2026-10-03T00:00:00Z"),
        (Tz::America__Sao_Paulo, "2018-11-03T12:00:00Z"),
        (Tz::America__Sao_Paulo, "2019-02-16T12:00:00Z"),
        (Tz::Pacific__Apia, "2011-12-29T00:00:00Z"),
    ];
    for (zone, start) in nights {
        let after = utc(start);
        let until = after + TimeDelta::days(2);
        let runs: Vec<_> = runs_between(&schedule, zone, after, until)
            .into_iter()
            .map(|run| (run.at, run.hourly, run.daily))
            .collect();
        assert_eq!(
            runs,
            expected_by_minutes(&schedule, zone, after, until),
            "{zone} {start}"
        );
    }
}

/// Hourly on the hour over the fall-back day in Warsaw: 02:00 happens twice
/// and runs the first time only, so 24 runs, and the daily at 03:30 (which
/// happens once, in winter time) runs once: the last rows of
/// docs/SCHEDULE.md's table.
#[test]
fn on_the_hour_and_after_the_repeat_on_the_fall_back_day() {
    let (after, until) = (utc("2026-10-24T21:59:00Z"), utc("2026-10-25T22:59:00Z"));
    let runs = runs_between(&hourly(0), WARSAW, after, until);
    assert_eq!(runs.len(), 24);
    assert_eq!(runs[2].at, utc("2026-10-25T00:00:00Z")); // 02:00 CEST
    assert_eq!(runs[3].at, utc("2026-10-25T02:00:00Z")); // 03:00 CET

    let runs = runs_between(&daily(3, 30), WARSAW, after, until);
    assert_eq!(instants(&runs), [utc("2026-10-25T02:30:00Z")]); // 03:30 CET
}

/// docs/SCHEDULE.md states the cap on listed runs and the limit of a clock
/// set back that the code has.
#[test]
fn the_schedule_doc_states_the_limits() {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/SCHEDULE.md"),
    )
    .unwrap();
    assert!(doc.contains(&format!("at most {MAX_RUNS} runs")));
    let hours = puqbackup::schedule::CLOCK_SET_BACK_LIMIT.num_hours();
    assert!(doc.contains(&format!("set back by up to {hours} hours")));
    assert!(doc.contains(&format!("set back by more than {hours} hours")));
}
