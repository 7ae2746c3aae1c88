//! FTP upload end to end, against vsftpd, Pure-FTPd and ProFTPD in
//! containers, and FTPS against vsftpd: the uploaded file is byte-identical
//! to the local backup and was written under a temporary name; every
//! failure answers `FTP upload error:` and keeps the local backup.

use puqbackup::catalogue::ApiError;
use puqbackup::conformance::Method;

use crate::harness::{
    BACKUPS, DATA, FTP_FOLDER, FTP_PASSWORD, FtpServer, Stack, StackBuilder, refused,
};

/// Uploads one backup to `kind` and checks the file on the FTP side.
fn upload_is_byte_identical(kind: FtpServer, tls: bool) {
    let mut builder = StackBuilder::default().ftp(kind);
    if tls {
        builder = builder.ftp_tls();
    }
    let stack = builder.start();
    stack.configure_ftp(FTP_PASSWORD, tls);

    let name = stack.create(false);

    let local = stack
        .api_exec_ok(&["sha256sum", &format!("{BACKUPS}/{name}")])
        .stdout;
    let remote = stack
        .ftp_exec_ok(&["sha256sum", &format!("{FTP_FOLDER}/{name}")])
        .stdout;
    let digest = |line: &str| {
        line.split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(digest(&remote), digest(&local), "{kind:?}");
    let listing = stack.ftp_exec_ok(&["ls", "-A", FTP_FOLDER]).stdout;
    assert_eq!(listing.trim(), name, "{kind:?}: only the final file stays");

    // The server's own log shows the data went to a temporary name, which
    // was renamed once complete: the final name never held a partial file.
    let log = stack.ftp_log();
    let temporary = format!(".{name}.partial");
    assert!(
        log.contains(&temporary),
        "{kind:?}: no upload to `{temporary}` in:\n{log}"
    );
    assert_eq!(stack.listed(), [name]);
}

/// vsftpd receives the backup byte for byte, through a temporary name.
#[test]
fn upload_to_vsftpd() {
    upload_is_byte_identical(FtpServer::Vsftpd, false);
}

/// Pure-FTPd receives the backup byte for byte, through a temporary name.
#[test]
fn upload_to_pure_ftpd() {
    upload_is_byte_identical(FtpServer::PureFtpd, false);
}

/// ProFTPD receives the backup byte for byte, through a temporary name.
#[test]
fn upload_to_proftpd() {
    upload_is_byte_identical(FtpServer::Proftpd, false);
}

/// vsftpd with explicit FTPS required receives the backup over TLS, its
/// self-signed certificate trusted through `ftp_trusted_certificates`.
#[test]
fn upload_to_vsftpd_over_ftps() {
    upload_is_byte_identical(FtpServer::Vsftpd, true);
}

/// Asserts an `FTP upload error:` answer whose cause contains `cause`, and
/// that the local backup is kept and listed. Answers the error text.
fn upload_failed(stack: &Stack, statistics: bool, cause: &[&str]) -> String {
    let before = stack.listed();
    let flag = if statistics { "1" } else { "0" };
    let answer = stack.send(Method::Post, "/api/v1/backups", &[("statistics", flag)]);
    let text = refused(&answer, 502, ApiError::FtpUpload.text());
    assert!(
        cause.iter().any(|part| text.contains(part)),
        "wanted one of {cause:?} in `{text}`"
    );
    let listed = stack.listed();
    assert_eq!(
        listed.len(),
        before.len() + 1,
        "the local backup is kept: {listed:?}"
    );
    text
}

/// A password the FTP server refuses: `FTP upload error:` with its 530.
#[test]
fn an_ftp_login_refused() {
    let stack = Stack::with_vsftpd();
    stack.configure_ftp("not-the-password", false);
    upload_failed(&stack, false, &["530"]);
    let listing = stack.ftp_exec_ok(&["ls", "-A", FTP_FOLDER]).stdout;
    assert_eq!(listing.trim(), "");
}

/// An FTP server that is stopped: `FTP upload error:` naming the
/// connection.
#[test]
fn an_ftp_server_that_is_stopped() {
    let stack = Stack::with_vsftpd();
    stack.configure_ftp(FTP_PASSWORD, false);
    stack.ftp.as_ref().unwrap().stop().unwrap();
    upload_failed(
        &stack,
        false,
        &["connect", "resolve", "refused", "timed out"],
    );
}

/// An FTP server without room for the backup: `FTP upload error:` with the
/// server's reply, and no file under the final name on the FTP side.
#[test]
fn an_ftp_server_without_room() {
    let stack = StackBuilder::default()
        .ftp(FtpServer::Vsftpd)
        .ftp_upload_tmpfs("size=256k,mode=1777")
        .start();
    stack.configure_ftp(FTP_PASSWORD, false);
    // A megabyte that does not compress makes the backup larger than the
    // FTP server's room.
    stack.api_exec_ok(&[
        "sh",
        "-c",
        &format!("mkdir -p {DATA}/statistics && head -c 1048576 /dev/urandom > {DATA}/statistics/traffic.db"),
    ]);

    upload_failed(&stack, true, &["451"]);

    let listing = stack.ftp_exec_ok(&["ls", "-A", FTP_FOLDER]).stdout;
    let name = stack.listed().remove(0);
    assert!(
        !listing.lines().any(|line| line == name),
        "final name on the FTP side: {listing}"
    );
}

/// An FTP server that requires FTPS refuses a plain login: `FTP upload
/// error:` with its reply.
#[test]
fn plain_ftp_to_a_server_that_requires_ftps() {
    let stack = StackBuilder::default()
        .ftp(FtpServer::Vsftpd)
        .ftp_tls()
        .start();
    stack.configure_ftp(FTP_PASSWORD, false);
    upload_failed(&stack, false, &["530", "encryption"]);
}
