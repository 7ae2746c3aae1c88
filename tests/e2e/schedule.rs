//! The scheduler end to end: with the hourly schedule on, the API
//! container makes a backup at the configured minute by itself.

use std::time::Duration;

use chrono::{Timelike, Utc};

use crate::harness::Stack;

/// An hourly schedule at the next minute (UTC, the container's zone)
/// makes one backup named for that minute, with no request.
#[test]
fn the_hourly_schedule_makes_a_backup_at_its_minute() {
    let stack = Stack::api_only();
    let mut now = Utc::now();
    // Too close to the next minute to configure it in time: take the one
    // after.
    if now.second() >= 50 {
        now += chrono::TimeDelta::seconds(15);
    }
    let minute = (now.minute() + 1) % 60;
    let text = minute.to_string();
    stack.configure(&[
        ("every_hour", "1"),
        ("every_hour_minute", &text),
        ("every_hour_statistics", "0"),
        ("every_day", "0"),
        ("backup_to_ftp", "0"),
    ]);
    assert!(stack.listed().is_empty());

    let made = stack.wait_for(Duration::from_secs(150), || !stack.listed().is_empty());

    assert!(
        made,
        "no scheduled backup within 150 s:\n{}",
        stack.api_log()
    );
    let listed = stack.listed();
    assert_eq!(listed.len(), 1, "{listed:?}");
    // `<host>_YYYY-MM-DD_HH-MM-SS.zip`: the minute is the configured one.
    let minute_in_name = &listed[0][listed[0].len() - 9..listed[0].len() - 7];
    assert_eq!(minute_in_name, format!("{minute:02}"), "{listed:?}");
}
