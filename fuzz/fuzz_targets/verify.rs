//! `verify` on arbitrary bytes: it never panics, its report always
//! serializes, its verdict agrees with its problems, and the quick check
//! that restore runs first (without reading data) never refuses an archive
//! that the full check accepts.

#![no_main]

use libfuzzer_sys::fuzz_target;
use puqbackup::verify::{Severity, VerifyOptions, verify_source};

/// Small enough that a declared size of a few megabytes is refused quickly,
/// large enough for every fixture.
const MAX_SIZE: u64 = 4 << 20;

fuzz_target!(|data: &[u8]| {
    let full = VerifyOptions {
        max_size: MAX_SIZE,
        read_data: true,
    };
    let report = verify_source(data, "fuzz.zip", &full, &mut |_, _| {});
    let has_error = report
        .problems
        .iter()
        .any(|problem| problem.severity == Severity::Error);
    assert_eq!(report.valid, !has_error);
    assert!(report.readable, "bytes in memory are always readable");
    serde_json::to_vec(&report).expect("a report serializes");

    let quick = VerifyOptions {
        max_size: MAX_SIZE,
        read_data: false,
    };
    let quick_report = verify_source(data, "fuzz.zip", &quick, &mut |_, _| {});
    if report.valid {
        assert!(
            quick_report.valid,
            "the quick check refuses what the full check accepts: {:?}",
            quick_report.problems
        );
    }
});
