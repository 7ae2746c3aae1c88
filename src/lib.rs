//! puqbackup: backups of a WireGuard VPN control panel's configuration, as
//! zip archives that carry the list of their own files with SHA-256 sums.
//!
//! The library holds the archive format ([`format`](mod@format)), a zip reader that trusts
//! nothing ([`zipfile`]), and the operations built on them: [`create`],
//! [`verify`], [`inspect`] and [`restore`], and the upload of a backup to an
//! FTP server ([`ftp`]). The API's authentication, the store of access
//! hashes, is [`access`]. The documented API error texts
//! live in [`catalogue`]; everything that reports one of them takes it from
//! there. [`schedule`] decides when the server's hourly and daily backups
//! are due, and [`server`] is the backups API; [`conformance`] checks any
//! deployment of that API, ours or the original panel's, over HTTP(S).

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod access;
pub mod allocator;
pub mod catalogue;
pub mod conformance;
pub mod create;
pub mod format;
pub mod ftp;
pub mod inspect;
pub mod lock;
pub mod restore;
pub mod scenario;
pub mod schedule;
pub mod server;
pub mod units;
pub mod verify;
pub mod zipfile;
