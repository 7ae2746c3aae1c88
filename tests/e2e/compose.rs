//! docker-compose.yml as users run it: `docker-compose up` (Compose v1, as
//! Debian ships it) gives a stack on which the reference's requests work
//! with the host changed, including the upload to the FTP service.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::harness::sha256_hex;

/// A Compose project of its own, taken down with its volume when dropped.
struct Project {
    name: String,
    api_port: u16,
}

impl Project {
    fn compose(&self, arguments: &[&str]) -> Output {
        Command::new("docker-compose")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["--project-name", &self.name, "--file", "docker-compose.yml"])
            .args(arguments)
            .env("PUQBACKUP_API_PORT", self.api_port.to_string())
            .env("PUQBACKUP_FTP_PORT", free_port().to_string())
            .output()
            .expect("docker-compose runs")
    }

    fn compose_ok(&self, arguments: &[&str]) -> String {
        let output = self.compose(arguments);
        assert!(
            output.status.success(),
            "docker-compose {arguments:?}: {}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = self.compose(&["down", "--volumes", "--remove-orphans", "--timeout", "20"]);
    }
}

/// A port on the host's loopback that nothing listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

/// `curl` as the reference writes it, against the published API.
fn curl(arguments: &[&str]) -> Vec<u8> {
    let output = Command::new("curl")
        .args(["-s", "--max-time", "60"])
        .args(arguments)
        .output()
        .expect("curl runs");
    assert!(
        output.status.success(),
        "curl {arguments:?}: {}",
        output.status
    );
    output.stdout
}

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|error| panic!("{error}: {}", String::from_utf8_lossy(bytes)))
}

/// `docker-compose up` starts both services healthy; with an access hash
/// for the host, the reference's list, create, configuration and download
/// requests work, and a backup lands byte for byte on the FTP service.
#[test]
fn compose_stack_answers_the_reference_requests() {
    let project = Project {
        name: format!("puqbackup-e2e-{}", std::process::id()),
        api_port: free_port(),
    };
    project.compose_ok(&["up", "-d"]);

    // Healthy: the image's check answers through the published port too.
    let api = format!("http://127.0.0.1:{}", project.api_port);
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut ready = false;
    while Instant::now() < deadline {
        let output = Command::new("curl")
            .args([
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "--max-time",
                "2",
            ])
            .arg(format!("{api}/api/v1/system/status"))
            .output()
            .expect("curl runs");
        if output.stdout == b"401" {
            ready = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(
        ready,
        "the API did not answer:\n{}",
        project.compose_ok(&["logs"])
    );

    let store = "/var/lib/puqbackup/access-hashes.json";
    let hash = project
        .compose_ok(&[
            "exec",
            "-T",
            "api",
            "puqbackup",
            "hash",
            "add",
            "host",
            "--ip",
            "172.29.80.1",
            "--store",
            store,
        ])
        .trim()
        .to_string();
    let cookie = format!("access_hash={hash}");

    let list = json(&curl(&[
        "-b",
        &cookie,
        "-X",
        "GET",
        &format!("{api}/api/v1/backups"),
    ]));
    assert_eq!(list["status"], "success", "{list}");

    let set = json(&curl(&[
        "-b",
        &cookie,
        "-d",
        "backup_to_ftp=1&every_day=1&every_day_hour=14&every_day_minute=45&every_day_statistics=1&every_hour=1&every_hour_minute=40&every_hour_statistics=1&ftp_password=ftp-password&ftp_path=backups&ftp_server=ftp&ftp_server_port=21&ftp_user=ftpuser&number_backups=100",
        "-X",
        "PUT",
        &format!("{api}/api/v1/backups/config"),
    ]));
    assert_eq!(set["status"], "success", "{set}");

    let created = json(&curl(&[
        "-b",
        &cookie,
        "-d",
        "statistics=1",
        "-X",
        "POST",
        &format!("{api}/api/v1/backups"),
    ]));
    assert_eq!(created["status"], "success", "{created}");
    let name = created["msg"]["backup_name"].as_str().unwrap().to_string();

    let downloaded = curl(&[
        "-b",
        &cookie,
        "-X",
        "GET",
        &format!("{api}/api/v1/backups/{name}"),
    ]);
    let remote = project.compose_ok(&[
        "exec",
        "-T",
        "ftp",
        "sha256sum",
        &format!("/home/ftpuser/backups/{name}"),
    ]);
    assert!(remote.starts_with(&sha256_hex(&downloaded)), "{remote}");
}
