//! The backups API server's scheduler, driven by the clock the test hands to
//! `prepare`: the scheduler looks at it every second and makes the backups
//! that fell due since it last looked.

// A test fails by panicking; `expect` says what was expected.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod server_support;

use std::time::Duration;

use chrono::{DateTime, Utc};
use server_support::{TestServer, entry_names, write_file};

/// Long enough for the scheduler to have looked at the clock at least once.
const ONE_TICK: Duration = Duration::from_millis(1300);

/// How long a due backup may take to appear.
const DUE_LIMIT: Duration = Duration::from_secs(3);

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

/// A server whose statistics tree holds one file.
fn server_with_statistics() -> TestServer {
    TestServer::start_with(|settings| {
        write_file(
            &settings.data_dir.join("statistics"),
            "traffic.json",
            b"{\"alice\": 1}",
        );
    })
}

/// An hourly schedule makes nothing before its minute and one backup once
/// the clock passes it, without statistics when it asks for none.
#[test]
fn the_hourly_schedule_makes_one_backup_at_its_minute() {
    let server = server_with_statistics();
    server.configure("every_hour=1&every_hour_minute=30&every_hour_statistics=0");

    server.clock.set(at("2026-03-10T10:29:58Z"));
    std::thread::sleep(ONE_TICK);
    assert!(server.listed().is_empty(), "a backup before its minute");

    server.clock.set(at("2026-03-10T10:30:01Z"));
    assert!(
        server.wait_for(DUE_LIMIT, || !server.listed().is_empty()),
        "no backup after the minute passed"
    );
    std::thread::sleep(ONE_TICK);
    let listed = server.listed();
    assert_eq!(listed.len(), 1, "{listed:?}");
    let bytes = std::fs::read(server.backups_dir().join(&listed[0])).unwrap();
    assert!(
        !entry_names(&bytes)
            .iter()
            .any(|entry| entry.starts_with("statistics/"))
    );
}

/// With both schedules off, hours passing make no backup.
#[test]
fn a_disabled_schedule_makes_no_backup() {
    let server = server_with_statistics();
    let settings = server.configure("every_hour=0&every_day=0&every_hour_minute=30");
    assert_eq!(settings["every_hour"], false);
    assert_eq!(settings["every_day"], false);

    server.clock.set(at("2026-03-10T10:29:59Z"));
    std::thread::sleep(ONE_TICK);
    server.clock.set(at("2026-03-11T13:00:00Z"));
    std::thread::sleep(ONE_TICK);

    assert!(server.listed().is_empty(), "{:?}", server.listed());
}

/// The hourly and the daily schedule due in the same minute make one
/// backup, with statistics because the daily one asks for them.
#[test]
fn hourly_and_daily_in_the_same_minute_make_one_backup_with_statistics() {
    let server = server_with_statistics();
    server.configure(
        "every_hour=1&every_hour_minute=15&every_hour_statistics=0\
         &every_day=1&every_day_hour=10&every_day_minute=15&every_day_statistics=1",
    );

    server.clock.set(at("2026-03-10T10:14:59Z"));
    std::thread::sleep(ONE_TICK);
    assert!(server.listed().is_empty(), "a backup before its minute");
    server.clock.set(at("2026-03-10T10:15:02Z"));

    assert!(
        server.wait_for(DUE_LIMIT, || !server.listed().is_empty()),
        "no backup after the minute passed"
    );
    std::thread::sleep(ONE_TICK);
    let listed = server.listed();
    assert_eq!(listed.len(), 1, "{listed:?}");
    let bytes = std::fs::read(server.backups_dir().join(&listed[0])).unwrap();
    assert!(
        entry_names(&bytes).contains(&"statistics/traffic.json".to_string()),
        "{:?}",
        entry_names(&bytes)
    );
}

/// The daily schedule runs in the server's time zone: 14:45 in Warsaw is
/// 13:45 UTC in March.
#[test]
fn the_daily_schedule_runs_in_the_servers_time_zone() {
    let server = TestServer::start_with(|settings| {
        settings.time_zone = Some("Europe/Warsaw".to_string());
    });
    server.configure("every_day=1&every_day_hour=14&every_day_minute=45");

    server.clock.set(at("2026-03-10T13:44:58Z"));
    std::thread::sleep(ONE_TICK);
    assert!(server.listed().is_empty(), "a backup before its minute");
    server.clock.set(at("2026-03-10T13:45:01Z"));

    assert!(
        server.wait_for(DUE_LIMIT, || !server.listed().is_empty()),
        "no backup at 14:45 Warsaw time"
    );
    let status = server.get("/api/v1/system/status").success();
    assert_eq!(status["time_zone"], "Europe/Warsaw");
    assert_eq!(
        status["next_scheduled_backup"], "2026-03-11T14:45:00+01:00",
        "{status}"
    );
}
