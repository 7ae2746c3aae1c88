//! End-to-end tests: the backups API server and real FTP servers in Docker
//! containers, driven over HTTP from the host as a client would.
//!
//! Built only with `cargo test --features e2e`. They need a running Docker
//! engine and the images that `docker/build-images.sh` makes (offline, from
//! a debootstrap base). Each test has a network and containers of its own,
//! all removed when it ends; the API is published on 127.0.0.1 only.
//! docs/CONFORMANCE.md maps every documented error text to the test that
//! reaches it here and the mechanism it uses.

// A test fails by panicking; `expect` says what was expected.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod access;
mod backups;
mod compose;
mod conformance;
mod faults;
mod ftp;
mod harness;
mod restore;
mod schedule;
mod settings;
