//! `puqbackup conformance` against our server, run as a process, and against
//! a fake server that answers everything wrongly.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

/// Every check of a run without `--allow-restore`, in the order they run.
const CHECKS: [&str; 31] = [
    "authorization/list/no-cookie",
    "authorization/list/wrong-hash",
    "authorization/list-system/no-cookie",
    "authorization/list-system/wrong-hash",
    "authorization/create/no-cookie",
    "authorization/create/wrong-hash",
    "authorization/restore/no-cookie",
    "authorization/restore/wrong-hash",
    "authorization/download/no-cookie",
    "authorization/download/wrong-hash",
    "authorization/get-configuration/no-cookie",
    "authorization/get-configuration/wrong-hash",
    "authorization/set-configuration/no-cookie",
    "authorization/set-configuration/wrong-hash",
    "restore/no-such-backup",
    "configuration/get",
    "configuration/every-hour-minute-60",
    "configuration/every-day-hour-24",
    "configuration/every-day-minute-60",
    "configuration/number-backups-0",
    "configuration/ftp-server-empty",
    "configuration/ftp-user-empty",
    "configuration/ftp-password-empty",
    "configuration/refused-changes-nothing",
    "configuration/round-trip",
    "create/without-statistics",
    "list/contains-new-backup",
    "list-system/contains-new-backup",
    "download/zip",
    "create/ftp-upload-error",
    "configuration/restored",
];

/// The checks `--allow-restore` adds, before `configuration/restored`.
const RESTORE_CHECKS: [&str; 2] = ["restore/created-backup", "restore/status-ok"];

/// The FTP password the server starts with; no output may show it.
const FTP_PASSWORD: &str = "never-shown-secret";

/// A `puqbackup serve` child process, killed when dropped.
struct ServerProcess {
    child: Child,
    url: String,
}

impl ServerProcess {
    /// Starts the server in `folder` with extra `settings` (TOML) and waits
    /// until it answers.
    fn start(folder: &Path, settings: &str, scheme: &str) -> ServerProcess {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let file = folder.join("server.toml");
        std::fs::write(
            &file,
            format!(
                "listen = \"127.0.0.1:{port}\"\ndata_dir = \"{}\"\nhost_name = \"test.host\"\n{settings}",
                folder.join("data").display()
            ),
        )
        .unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_puqbackup"))
            .arg("serve")
            .arg("--config")
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("the server exited with {status}");
            }
            assert!(Instant::now() < deadline, "the server did not come up");
            std::thread::sleep(Duration::from_millis(50));
        }
        ServerProcess {
            child,
            url: format!("{scheme}://127.0.0.1:{port}"),
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A new hash from `hash add` for 127.0.0.1.
fn add_hash(folder: &Path) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_puqbackup"))
        .args(["hash", "add", "conformance", "--ip", "127.0.0.1", "--store"])
        .arg(folder.join("data/access-hashes.json"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

/// Sends a request with the hash and answers the envelope.
fn api(url: &str, method: &str, path: &str, hash: &str, form: &str) -> Value {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let request = ureq::http::Request::builder()
        .method(method)
        .uri(format!("{url}{path}"))
        .header("Cookie", format!("access_hash={hash}"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form.to_string())
        .unwrap();
    let mut response = agent.run(request).unwrap();
    serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap()
}

/// Our server with a configuration unlike the defaults and one backup kept
/// under `number_backups=1`; answers the server, the hash and that backup's
/// name.
fn prepared_server(folder: &Path) -> (ServerProcess, String, String) {
    let server = ServerProcess::start(folder, "", "http");
    let hash = add_hash(folder);
    let set = api(
        &server.url,
        "PUT",
        "/api/v1/backups/config",
        &hash,
        &format!(
            "backup_to_ftp=0&every_day=0&every_day_hour=14&every_day_minute=45&\
             every_day_statistics=0&every_hour=0&every_hour_minute=40&every_hour_statistics=1&\
             ftp_password={FTP_PASSWORD}&ftp_path=home/backups&ftp_server=ftp.example&\
             ftp_server_port=2121&ftp_user=puqvpncp&number_backups=1"
        ),
    );
    assert_eq!(set["status"], "success", "{set}");
    let created = api(&server.url, "POST", "/api/v1/backups", &hash, "");
    assert_eq!(created["status"], "success", "{created}");
    let name = created["msg"]["backup_name"].as_str().unwrap().to_string();
    (server, hash, name)
}

fn conformance(url: &str, hash: &str, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_puqbackup"))
        .args(["conformance", "--url", url, "--access-hash", hash])
        .args(extra)
        .output()
        .unwrap()
}

/// The JSON lines of a `--json` run: the checks, then the summary.
fn json_run(output: &Output) -> (Vec<Value>, Value) {
    let mut lines: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let summary = lines.pop().expect("a summary line");
    (lines, summary)
}

fn names(checks: &[Value]) -> Vec<String> {
    checks
        .iter()
        .map(|check| check["name"].as_str().unwrap().to_string())
        .collect()
}

fn backup_names(url: &str, hash: &str) -> Vec<String> {
    let list = api(url, "GET", "/api/v1/backups", hash, "");
    list["msg"]["backups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["backup_name"].as_str().unwrap().to_string())
        .collect()
}

/// Against our server every check passes (exit 0, the JSON and the JUnit
/// file say so for each check), and afterwards the configuration is the one
/// before, the backup that `number_backups=1` kept is still there, the
/// backups the run made are deleted, and no output shows the FTP password
/// or the access hash.
#[test]
fn every_check_passes_against_our_server_and_nothing_lasting_changes() {
    let folder = TempDir::new().unwrap();
    let (server, hash, kept) = prepared_server(folder.path());
    let before = api(&server.url, "GET", "/api/v1/backups/config", &hash, "");
    let junit = folder.path().join("conformance.xml");

    let output = conformance(
        &format!("{}/api/v1/", server.url),
        &hash,
        &["--json", "--junit", junit.to_str().unwrap()],
    );
    let (checks, summary) = json_run(&output);
    let failed: Vec<&Value> = checks
        .iter()
        .filter(|check| check["passed"] != true)
        .collect();
    assert!(failed.is_empty(), "failed checks: {failed:#?}");
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(names(&checks), CHECKS);
    assert_eq!(summary["passed"], CHECKS.len());
    assert_eq!(summary["failed"], 0);

    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains(&format!("tests=\"{}\" failures=\"0\"", CHECKS.len())),
        "{xml}"
    );
    assert!(!xml.contains("<failure"), "{xml}");
    for name in CHECKS {
        assert!(
            xml.contains(&format!("name=\"{name}\"")),
            "{name} not in {xml}"
        );
    }

    let after = api(&server.url, "GET", "/api/v1/backups/config", &hash, "");
    assert_eq!(after, before);
    assert_eq!(backup_names(&server.url, &hash), vec![kept]);
    let cleanup = summary["cleanup"].as_array().unwrap();
    assert_eq!(cleanup.len(), 2, "{summary}");
    assert!(
        cleanup
            .iter()
            .all(|note| note.as_str().unwrap().starts_with("deleted"))
    );

    let printed = String::from_utf8_lossy(&output.stdout) + String::from_utf8_lossy(&output.stderr);
    assert!(!printed.contains(FTP_PASSWORD));
    assert!(!printed.contains(&hash));
    assert!(!xml.contains(FTP_PASSWORD) && !xml.contains(&hash));
}

/// With `--allow-restore` the run also restores the backup it made and sees
/// the status come back to `OK`; the table ends with `33 passed, 0 failed`
/// and the configuration is the one before.
#[test]
fn allow_restore_adds_a_restore_that_passes() {
    let folder = TempDir::new().unwrap();
    let (server, hash, _) = prepared_server(folder.path());
    let before = api(&server.url, "GET", "/api/v1/backups/config", &hash, "");

    let output = conformance(&server.url, &hash, &["--allow-restore"]);
    let table = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{table}");
    assert!(table.ends_with("33 passed, 0 failed\n"), "{table}");
    for name in RESTORE_CHECKS {
        let row = table
            .lines()
            .find(|line| line.starts_with(name))
            .unwrap_or_else(|| panic!("no row for {name} in {table}"));
        assert!(row.ends_with("pass"), "{row}");
    }
    let after = api(&server.url, "GET", "/api/v1/backups/config", &hash, "");
    assert_eq!(after, before);
}

/// Over HTTPS with a self-signed certificate the run refuses the
/// certificate (exit 2) unless `--insecure` is given; then every check
/// passes.
#[test]
fn insecure_accepts_a_self_signed_certificate() {
    let folder = TempDir::new().unwrap();
    let generated = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let certificate = folder.path().join("certificate.pem");
    let key = folder.path().join("key.pem");
    std::fs::write(&certificate, generated.cert.pem()).unwrap();
    std::fs::write(&key, generated.signing_key.serialize_pem()).unwrap();
    let settings = format!(
        "tls_certificate = \"{}\"\ntls_key = \"{}\"\n",
        certificate.display(),
        key.display()
    );
    let server = ServerProcess::start(folder.path(), &settings, "https");
    let hash = add_hash(folder.path());

    let refused = conformance(&server.url, &hash, &[]);
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("no answer from"),
        "{refused:?}"
    );

    let accepted = conformance(&server.url, &hash, &["--insecure", "--json"]);
    let (checks, summary) = json_run(&accepted);
    assert_eq!(accepted.status.code(), Some(0), "{checks:#?}");
    assert_eq!(summary["failed"], 0);
}

/// A fake server that answers every request with one fixed envelope.
fn fake_server(body: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut request_body = vec![0; length];
            let _ = reader.read_exact(&mut request_body);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

/// A server that says `success` to everything fails the run (exit 1): every
/// authorization check fails, and the checks that need the configuration
/// fail as not run, under the same names as against a good server.
#[test]
fn a_server_that_accepts_everything_fails() {
    let url = fake_server(r#"{"error":"","msg":"","status":"success"}"#);
    let output = conformance(&url, &"0".repeat(80), &["--json"]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let (checks, summary) = json_run(&output);
    assert_eq!(names(&checks), CHECKS);

    let authorization: Vec<&Value> = checks
        .iter()
        .filter(|check| {
            check["name"]
                .as_str()
                .unwrap()
                .starts_with("authorization/")
        })
        .collect();
    assert_eq!(authorization.len(), 14);
    for check in &authorization {
        assert_eq!(check["passed"], false, "{check}");
        assert_eq!(check["covers"], "NotAuthorized");
        assert_eq!(check["got"], "success (HTTP 200)");
    }
    let restored = checks.last().unwrap();
    assert_eq!(restored["passed"], false);
    assert!(restored["got"].as_str().unwrap().starts_with("not run"));
    assert_eq!(summary["passed"], 0);
}

/// A URL that is not a server root, a malformed hash and a server that does
/// not answer are usage errors (exit 2), not failed checks.
#[test]
fn usage_and_connection_errors_exit_2() {
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    for (url, hash, message) in [
        ("127.0.0.1:8080", "a".repeat(80), "is not a server root"),
        (
            "http://127.0.0.1:8080",
            "A".repeat(80),
            "the access hash is not",
        ),
        (closed.as_str(), "a".repeat(80), "no answer from"),
    ] {
        let output = conformance(url, &hash, &[]);
        assert_eq!(output.status.code(), Some(2), "{output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(message), "{stderr}");
        assert!(!stderr.contains(&hash), "{stderr}");
    }
}

/// Two documented texts that no black-box run can provoke, through our
/// server as a process: a create whose configuration tree has vanished
/// answers `Error backup creation:` and lists nothing new; a restore while
/// the health command fails answers `PUQVPNCP status not OK`.
#[test]
fn texts_that_need_control_of_the_server() {
    use puqbackup::catalogue::ApiError;

    let folder = TempDir::new().unwrap();
    let server = ServerProcess::start(folder.path(), "health_command = [\"false\"]\n", "http");
    let hash = add_hash(folder.path());

    let restore = api(
        &server.url,
        "PUT",
        "/api/v1/backups/restore",
        &hash,
        "backup_name=test.host_2024-01-01_00-00-00.zip",
    );
    assert_eq!(restore["status"], "error", "{restore}");
    let text = restore["error"].as_str().unwrap();
    assert!(text.starts_with(ApiError::StatusNotOk.text()), "{text}");

    std::fs::remove_dir_all(folder.path().join("data/config")).unwrap();
    let created = api(
        &server.url,
        "POST",
        "/api/v1/backups",
        &hash,
        "statistics=0",
    );
    assert_eq!(created["status"], "error", "{created}");
    let text = created["error"].as_str().unwrap();
    assert!(text.starts_with(ApiError::BackupCreation.text()), "{text}");
    assert!(backup_names(&server.url, &hash).is_empty());
}
