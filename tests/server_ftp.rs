//! The backups API server's FTP upload, against a real FTP server (libunftp)
//! in this process: what arrives, and what a failed upload answers and
//! keeps.

// A test fails by panicking; `expect` says what was expected.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod server_support;

use puqbackup::catalogue::ApiError;
use server_support::{Cookie, FTP_PASSWORD, FTP_USER, FtpServer, TestServer, closed_port};

/// The settings form that turns FTP upload on.
fn ftp_form(port: u16, password: &str) -> String {
    format!(
        "backup_to_ftp=1&ftp_server=127.0.0.1&ftp_server_port={port}\
         &ftp_user={FTP_USER}&ftp_password={password}&ftp_path=home/dev.example"
    )
}

/// With FTP on, create uploads the new backup into `ftp_path`, byte for
/// byte, and leaves no temporary file on the FTP server.
#[test]
fn create_uploads_the_backup_byte_for_byte() {
    let ftp = FtpServer::start();
    let server = TestServer::start();
    server.configure(&ftp_form(ftp.port, FTP_PASSWORD));

    let name = server.create(false);

    let local = std::fs::read(server.backups_dir().join(&name)).unwrap();
    let remote = std::fs::read(ftp.path(&format!("home/dev.example/{name}"))).unwrap();
    assert!(
        remote == local,
        "the remote copy differs from the local one"
    );
    assert_eq!(ftp.files(), [format!("home/dev.example/{name}")]);
}

/// Delete removes the local copy only; the copy on the FTP server stays.
#[test]
fn delete_keeps_the_copy_on_the_ftp_server() {
    let ftp = FtpServer::start();
    let server = TestServer::start();
    server.configure(&ftp_form(ftp.port, FTP_PASSWORD));
    let name = server.create(false);

    server
        .send(
            "DELETE",
            &format!("/api/v1/backups/{name}"),
            Cookie::Hash(&server.hashes.valid),
            None,
            &[],
        )
        .success();

    assert!(server.listed().is_empty());
    assert_eq!(ftp.files(), [format!("home/dev.example/{name}")]);
}

/// A login the FTP server refuses answers `FTP upload error:` with 502 and
/// without the password; the local backup is kept and listed.
#[test]
fn a_refused_ftp_login_keeps_the_local_backup() {
    let ftp = FtpServer::start();
    let server = TestServer::start();
    server.configure(&ftp_form(ftp.port, "wrong-password-123"));

    let text = server
        .form("POST", "/api/v1/backups", "statistics=0")
        .refused(502, ApiError::FtpUpload.text());

    assert!(!text.contains("wrong-password-123"), "{text}");
    let listed = server.listed();
    assert_eq!(listed.len(), 1);
    assert_eq!(server.backups_folder_names(), listed);
    assert!(ftp.files().is_empty(), "{:?}", ftp.files());
}

/// An FTP server that is down answers `FTP upload error:` with 502; the
/// local backup is kept and listed.
#[test]
fn an_ftp_server_that_is_down_keeps_the_local_backup() {
    let server = TestServer::start();
    server.configure(&ftp_form(closed_port(), FTP_PASSWORD));

    server
        .form("POST", "/api/v1/backups", "statistics=1")
        .refused(502, ApiError::FtpUpload.text());

    let listed = server.listed();
    assert_eq!(listed.len(), 1);
    assert_eq!(server.backups_folder_names(), listed);
}

/// An `ftp_path` that cannot be created on the FTP server (a file stands
/// where a folder is needed) answers `FTP upload error:` naming the folder;
/// the local backup is kept.
#[test]
fn an_ftp_path_that_cannot_be_created_keeps_the_local_backup() {
    let ftp = FtpServer::start();
    std::fs::create_dir_all(ftp.path("home")).unwrap();
    std::fs::write(ftp.path("home/dev.example"), b"a file, not a folder").unwrap();
    let server = TestServer::start();
    server.configure(&ftp_form(ftp.port, FTP_PASSWORD));

    let text = server
        .form("POST", "/api/v1/backups", "statistics=0")
        .refused(502, ApiError::FtpUpload.text());

    assert!(text.contains("home/dev.example"), "{text}");
    assert_eq!(server.listed().len(), 1);
    assert_eq!(ftp.files(), ["home/dev.example"]);
}
