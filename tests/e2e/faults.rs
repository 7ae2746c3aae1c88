//! Faults end to end: an FTP server that stops, stalls or refuses the final
//! rename in the middle of an upload; the API killed with SIGKILL during
//! creates and restores; the data file system filling up during a create.
//! After each, the local backups are whole, the FTP side holds nothing under
//! a final name that is not complete, and the live configuration is either
//! the old tree or the new one.

use std::time::{Duration, Instant};

use puqbackup::catalogue::ApiError;
use puqbackup::conformance::Method;

use crate::harness::{
    BACKUPS, DATA, FTP_FOLDER, FTP_PASSWORD, FtpServer, Stack, StackBuilder, refused,
};

/// Bytes per second the slow FTP server takes.
const SLOW_RATE: &str = "1000000";

/// Writes `megabytes` of random statistics in the API container.
fn random_statistics(stack: &Stack, megabytes: u32) {
    stack.api_exec_ok(&[
        "sh",
        "-c",
        &format!("mkdir -p {DATA}/statistics && head -c {megabytes}M /dev/urandom > {DATA}/statistics/traffic.db"),
    ]);
}

/// The names in the FTP upload folder.
fn ftp_files(stack: &Stack) -> Vec<String> {
    stack
        .ftp_exec_ok(&["ls", "-A", FTP_FOLDER])
        .stdout
        .lines()
        .map(str::to_string)
        .collect()
}

/// Waits until the FTP server holds a temporary upload.
fn wait_for_partial(stack: &Stack) {
    let started = stack.wait_for(Duration::from_secs(30), || {
        ftp_files(stack)
            .iter()
            .any(|name| name.ends_with(".partial"))
    });
    assert!(started, "no upload began: {:?}", ftp_files(stack));
}

/// Starts a create with statistics in a thread; answers its handle, which
/// gives the answer, or the error when none came (the server was killed).
type Pending = std::thread::JoinHandle<
    Result<puqbackup::conformance::Answer, puqbackup::conformance::ConformanceError>,
>;

fn create_in_background(stack: &Stack) -> Pending {
    let client = puqbackup::conformance::Client::new(
        stack.url.clone(),
        stack.hash.clone(),
        false,
        Duration::from_secs(120),
    );
    std::thread::spawn(move || {
        let form = [("statistics".to_string(), "1".to_string())];
        client.send(
            Method::Post,
            "/api/v1/backups",
            puqbackup::conformance::Cookie::Given,
            &form,
        )
    })
}

/// The FTP server stops in the middle of an upload: `FTP upload error:`,
/// the local backup is kept and verifies, and the FTP side holds no file
/// under the final name.
#[test]
fn the_ftp_server_stops_in_mid_upload() {
    let stack = StackBuilder::default()
        .ftp(FtpServer::Vsftpd)
        .ftp_env("FTP_MAX_RATE", SLOW_RATE)
        .start();
    stack.configure_ftp(FTP_PASSWORD, false);
    random_statistics(&stack, 6);

    let request = create_in_background(&stack);
    wait_for_partial(&stack);
    let ftp = stack.ftp.as_ref().unwrap();
    ftp.stop().unwrap();
    let answer = request.join().unwrap().expect("an answer");

    refused(&answer, 502, ApiError::FtpUpload.text());
    let listed = stack.listed();
    assert_eq!(listed.len(), 1);
    stack.api_exec_ok(&["puqbackup", "verify", &format!("{BACKUPS}/{}", listed[0])]);
    ftp.start().unwrap();
    assert!(
        !ftp_files(&stack).contains(&listed[0]),
        "{:?}",
        ftp_files(&stack)
    );
}

/// Thaws a paused FTP container when dropped, so that it can be removed
/// whatever the test's outcome.
struct Thaw<'a>(&'a Stack);

impl Drop for Thaw<'_> {
    fn drop(&mut self) {
        self.0.pause_ftp(false);
    }
}

/// The FTP server freezes in the middle of an upload: the transfer timeout
/// (10 s in the harness) fires, the request answers `FTP upload error:`
/// naming the timeout well within a minute, and the local backup is kept.
#[test]
fn the_ftp_server_stalls_in_mid_upload() {
    let stack = StackBuilder::default()
        .ftp(FtpServer::Vsftpd)
        .ftp_env("FTP_MAX_RATE", SLOW_RATE)
        .start();
    stack.configure_ftp(FTP_PASSWORD, false);
    random_statistics(&stack, 6);

    let request = create_in_background(&stack);
    wait_for_partial(&stack);
    let frozen = Instant::now();
    stack.pause_ftp(true);
    let thaw = Thaw(&stack);
    let answer = request.join().unwrap().expect("an answer");
    let waited = frozen.elapsed();

    let text = refused(&answer, 502, ApiError::FtpUpload.text());
    assert!(text.contains("timed out"), "{text}");
    assert!(
        waited < Duration::from_secs(45),
        "answered after {waited:?}"
    );
    drop(thaw);
    let listed = stack.listed();
    assert_eq!(listed.len(), 1);
    assert!(
        !ftp_files(&stack).contains(&listed[0]),
        "{:?}",
        ftp_files(&stack)
    );
}

/// An FTP server that answers 550 to the final rename: `FTP upload error:`
/// with the 550, the temporary file is deleted, no final name appears.
#[test]
fn the_ftp_server_refuses_the_final_rename() {
    let stack = StackBuilder::default()
        .ftp(FtpServer::Vsftpd)
        .ftp_env("FTP_DENIED_COMMANDS", "RNFR,RNTO")
        .start();
    stack.configure_ftp(FTP_PASSWORD, false);

    let answer = stack.send(Method::Post, "/api/v1/backups", &[("statistics", "0")]);

    let text = refused(&answer, 502, ApiError::FtpUpload.text());
    assert!(text.contains("550"), "{text}");
    assert_eq!(stack.listed().len(), 1);
    assert_eq!(ftp_files(&stack), Vec::<String>::new());
}

/// The data file system fills up during a create: `Error backup creation:`
/// with the cause, no partial archive stays, and retention removed nothing.
#[test]
fn the_backups_file_system_fills_up_during_a_create() {
    let stack = StackBuilder::default()
        .api_tmpfs("/srv/backups", "size=1m,mode=1777")
        .setting("backups_dir = \"/srv/backups\"")
        .start();
    stack.configure(&[("number_backups", "2")]);
    let first = stack.create(false);
    std::thread::sleep(Duration::from_millis(1100));
    let second = stack.create(false);
    random_statistics(&stack, 2);

    let answer = stack.send(Method::Post, "/api/v1/backups", &[("statistics", "1")]);

    let text = refused(&answer, 500, ApiError::BackupCreation.text());
    assert!(text.contains("No space left on device"), "{text}");
    assert_eq!(stack.listed(), [second.clone(), first.clone()]);
    let files = stack.api_exec_ok(&["ls", "-A", "/srv/backups"]).stdout;
    let mut files: Vec<&str> = files.lines().collect();
    files.sort_unstable();
    let mut wanted = vec![first.as_str(), second.as_str()];
    wanted.sort_unstable();
    assert_eq!(files, wanted, "a partial archive stayed");
}

/// SIGKILL at 20 moments during creates: after each restart no partial
/// archive is left or listed, and every listed backup verifies.
#[test]
fn sigkill_during_creates() {
    let mut stack = Stack::api_only();
    stack.configure(&[("number_backups", "100")]);
    random_statistics(&stack, 4);
    let started = Instant::now();
    stack.create(true);
    let duration = started.elapsed();

    for round in 0..20u32 {
        let request = create_in_background(&stack);
        // Moments spread over one create's duration, and a little past it.
        std::thread::sleep(duration * round / 16);
        stack.kill_and_restart_api();
        let _ = request.join();

        let files = stack.api_exec_ok(&["ls", "-A", BACKUPS]).stdout;
        let listed = stack.listed();
        let mut on_disk: Vec<String> = files.lines().map(str::to_string).collect();
        on_disk.sort_unstable();
        let mut sorted = listed.clone();
        sorted.sort_unstable();
        assert_eq!(on_disk, sorted, "round {round}: files that are not backups");
        let mut verify = vec!["puqbackup".to_string(), "verify".to_string()];
        verify.extend(listed.iter().map(|name| format!("{BACKUPS}/{name}")));
        let verify: Vec<&str> = verify.iter().map(String::as_str).collect();
        stack.api_exec_ok(&verify);
    }
}

/// SIGKILL at 20 moments during restores: after each restart the live
/// configuration is exactly the old tree or the new one, and no staging
/// leftover stays beside it.
#[test]
fn sigkill_during_restores() {
    let mut stack = Stack::api_only();
    let config = format!("{DATA}/config");
    // A tree large enough for a restore to take a while.
    stack.api_exec_ok(&[
        "sh",
        "-c",
        &format!("mkdir -p {config}/peers && for i in $(seq 200); do head -c 20000 /dev/urandom > {config}/peers/$i.conf; done"),
    ]);
    let new_tree = stack.api_tree(&config);
    let name = stack.create(false);
    let reset = format!("rm -rf {config} && mkdir -p {config} && echo old > {config}/old.conf");
    stack.api_exec_ok(&["sh", "-c", &reset]);
    let old_tree = stack.api_tree(&config);
    let started = Instant::now();
    stack.success(
        Method::Put,
        "/api/v1/backups/restore",
        &[("backup_name", &name)],
    );
    let duration = started.elapsed();

    let mut outcomes = [0u32; 2];
    for round in 0..20u32 {
        stack.api_exec_ok(&["sh", "-c", &reset]);
        assert_eq!(stack.api_tree(&config), old_tree);
        let client = puqbackup::conformance::Client::new(
            stack.url.clone(),
            stack.hash.clone(),
            false,
            Duration::from_secs(120),
        );
        let backup = name.clone();
        let request = std::thread::spawn(move || {
            let form = [("backup_name".to_string(), backup)];
            client.send(
                Method::Put,
                "/api/v1/backups/restore",
                puqbackup::conformance::Cookie::Given,
                &form,
            )
        });
        std::thread::sleep(duration * round / 16);
        stack.kill_and_restart_api();
        let answered = request
            .join()
            .unwrap()
            .is_ok_and(|answer| answer.code == 200);

        let tree = stack.api_tree(&config);
        assert!(
            !answered || tree == new_tree,
            "round {round}: the restore answered success, but the tree is not the backup's"
        );
        if tree == old_tree {
            outcomes[0] += 1;
        } else if tree == new_tree {
            outcomes[1] += 1;
        } else {
            panic!("round {round}: the live configuration is a mix:\n{tree}");
        }
        let data = stack.api_exec_ok(&["ls", "-A", DATA]).stdout;
        assert!(
            !data.contains("staging") && !data.contains("journal"),
            "round {round}: leftovers in the data folder:\n{data}"
        );
    }
    eprintln!(
        "old tree {} times, new tree {} times",
        outcomes[0], outcomes[1]
    );
}
