//! The containers of one test: a Docker network of its own, the API
//! container and, when the test needs one, an FTP server container on that
//! network. Everything is removed when the [`Stack`] is dropped, also when
//! the test fails.
//!
//! Containers are started and removed by testcontainers; commands inside a
//! running container go through the `docker exec` command, which can run as
//! root, feed standard input and report the exit status.

use std::collections::HashMap;
use std::io::Write;
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use puqbackup::conformance::{Answer, Client, Cookie, Method};
use serde_json::Value;
use testcontainers::bollard::models::{HostConfig, PortBinding};
use testcontainers::core::{Healthcheck, WaitFor};
use testcontainers::runners::SyncRunner;
use testcontainers::{Container, GenericImage, ImageExt};

/// The API image that docker/build-images.sh builds.
pub const API_IMAGE: (&str, &str) = ("puqbackup/api", "test");

/// The host name in the names of the API container's backups.
pub const HOST: &str = "vpn.e2e.test";

/// The API container's data folder (a volume of the image).
pub const DATA: &str = "/var/lib/puqbackup";

/// The API container's backups folder.
pub const BACKUPS: &str = "/var/lib/puqbackup/backups";

/// A file whose presence makes the API's health command fail.
pub const PANEL_DOWN: &str = "/var/lib/puqbackup/panel-down";

/// The FTP images' test user and password, and the folder uploads go to
/// (inside the user's home, which is the FTP root).
pub const FTP_USER: &str = "ftpuser";
/// The password of [`FTP_USER`].
pub const FTP_PASSWORD: &str = "ftp-password";
/// `ftp_path` of the tests, relative to the FTP root.
pub const FTP_PATH: &str = "uploads";
/// Where [`FTP_PATH`] is inside the FTP container.
pub const FTP_FOLDER: &str = "/home/ftpuser/uploads";

/// Which FTP server image a test runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FtpServer {
    /// vsftpd, the default of the harness.
    Vsftpd,
    /// Pure-FTPd.
    PureFtpd,
    /// ProFTPD.
    Proftpd,
}

impl FtpServer {
    fn image(self) -> (&'static str, &'static str) {
        match self {
            FtpServer::Vsftpd => ("puqbackup/ftp-vsftpd", "test"),
            FtpServer::PureFtpd => ("puqbackup/ftp-pure-ftpd", "test"),
            FtpServer::Proftpd => ("puqbackup/ftp-proftpd", "test"),
        }
    }
}

/// How a stack is made.
#[derive(Default)]
pub struct StackBuilder {
    ftp: Option<FtpServer>,
    ftp_tls: bool,
    ftp_tmpfs: Option<String>,
    ftp_env: Vec<(String, String)>,
    api_tmpfs: Vec<(String, String)>,
    settings: Vec<String>,
}

impl StackBuilder {
    /// Adds an FTP server of `kind` on the stack's network.
    pub fn ftp(mut self, kind: FtpServer) -> Self {
        self.ftp = Some(kind);
        self
    }

    /// The FTP server requires explicit FTPS; the API trusts its certificate.
    pub fn ftp_tls(mut self) -> Self {
        self.ftp_tls = true;
        self
    }

    /// The FTP upload folder is a tmpfs with these mount options.
    pub fn ftp_upload_tmpfs(mut self, options: &str) -> Self {
        self.ftp_tmpfs = Some(options.to_string());
        self
    }

    /// An environment variable of the FTP container (see its entrypoint).
    pub fn ftp_env(mut self, name: &str, value: &str) -> Self {
        self.ftp_env.push((name.to_string(), value.to_string()));
        self
    }

    /// A tmpfs at `path` in the API container, with these mount options.
    pub fn api_tmpfs(mut self, path: &str, options: &str) -> Self {
        self.api_tmpfs.push((path.to_string(), options.to_string()));
        self
    }

    /// A line added to the API's settings file.
    pub fn setting(mut self, line: &str) -> Self {
        self.settings.push(line.to_string());
        self
    }

    /// Starts the containers and waits until they are healthy.
    pub fn start(self) -> Stack {
        let network = unique_name("net");
        let mut ftp_name = None;
        let mut ftp_certificate = None;

        let ftp = self.ftp.map(|kind| {
            let name = unique_name("ftp");
            let (image, tag) = kind.image();
            let mut tmpfs = HashMap::new();
            if let Some(options) = &self.ftp_tmpfs {
                tmpfs.insert(FTP_FOLDER.to_string(), options.clone());
            }
            let mut request = GenericImage::new(image, tag)
                .with_wait_for(WaitFor::healthcheck())
                .with_network(&network)
                .with_container_name(&name)
                .with_label("io.puqbackup.harness", "true")
                .with_env_var("FTP_TLS", if self.ftp_tls { "1" } else { "0" })
                .with_env_var("FTP_TLS_NAME", &name)
                .with_health_check(quick_health("/usr/local/bin/ftp-healthcheck"))
                .with_startup_timeout(Duration::from_secs(60))
                .with_host_config_modifier(move |config: &mut HostConfig| {
                    // Nothing of the FTP server is published: only the API
                    // container talks to it, on the stack's network.
                    config.publish_all_ports = Some(false);
                    config.port_bindings = Some(HashMap::new());
                    if !tmpfs.is_empty() {
                        config.tmpfs = Some(tmpfs.clone());
                    }
                });
            for (variable, value) in &self.ftp_env {
                request = request.with_env_var(variable, value);
            }
            if kind == FtpServer::PureFtpd {
                // Pure-FTPd sets these capabilities for itself at start,
                // and exits when it cannot; Docker does not grant them by
                // default.
                request = request
                    .with_cap_add("DAC_READ_SEARCH")
                    .with_cap_add("SYS_NICE");
            }
            let container = request.start().expect("the FTP container starts");
            docker_exec_ok(
                container.id(),
                "0",
                &[
                    "sh",
                    "-c",
                    &format!("mkdir -p {FTP_FOLDER} && chown {FTP_USER} {FTP_FOLDER}"),
                ],
            );
            if self.ftp_tls {
                let pem = docker_exec_ok(container.id(), "0", &["cat", "/run/ftp-tls/cert.pem"]);
                ftp_certificate = Some(pem.stdout);
            }
            ftp_name = Some(name);
            container
        });

        let mut settings = vec![
            "listen = \"0.0.0.0:8080\"".to_string(),
            format!("data_dir = \"{DATA}\""),
            "time_zone = \"UTC\"".to_string(),
            format!("host_name = \"{HOST}\""),
            "ftp_connect_timeout_seconds = 5".to_string(),
            "ftp_transfer_timeout_seconds = 10".to_string(),
            format!("health_command = [\"/bin/sh\", \"-c\", \"test ! -e {PANEL_DOWN}\"]"),
        ];
        if ftp_certificate.is_some() {
            settings.push("ftp_trusted_certificates = \"/etc/puqbackup/ftp.pem\"".to_string());
        }
        settings.extend(self.settings);
        let settings = settings.join("\n") + "\n";

        let tmpfs: HashMap<String, String> = self.api_tmpfs.into_iter().collect();
        let mut request = GenericImage::new(API_IMAGE.0, API_IMAGE.1)
            .with_wait_for(WaitFor::healthcheck())
            .with_network(&network)
            .with_container_name(unique_name("api"))
            .with_label("io.puqbackup.harness", "true")
            .with_env_var("RUST_LOG", "info")
            .with_copy_to("/etc/puqbackup/server.toml", settings.into_bytes())
            .with_health_check(quick_health("/usr/local/bin/puqbackup-healthcheck"))
            .with_startup_timeout(Duration::from_secs(60))
            .with_host_config_modifier(move |config: &mut HostConfig| {
                // The API port on the host's loopback only, on a port the
                // engine picks.
                config.publish_all_ports = Some(false);
                config.port_bindings = Some(HashMap::from([(
                    "8080/tcp".to_string(),
                    Some(vec![PortBinding {
                        host_ip: Some("127.0.0.1".to_string()),
                        host_port: Some(String::new()),
                    }]),
                )]));
                if !tmpfs.is_empty() {
                    config.tmpfs = Some(tmpfs.clone());
                }
            });
        if let Some(pem) = ftp_certificate {
            request = request.with_copy_to("/etc/puqbackup/ftp.pem", pem.into_bytes());
        }
        let api = request.start().expect("the API container starts");

        let port = api
            .get_host_port_ipv4(8080)
            .expect("the API port is published");
        let url = format!("http://127.0.0.1:{port}");
        let gateway = default_gateway(api.id());
        let hash = add_hash(api.id(), "e2e", &gateway.to_string());
        let client = Client::new(url.clone(), hash.clone(), false, Duration::from_secs(120));
        Stack {
            api,
            ftp,
            ftp_name,
            url,
            hash,
            client,
        }
    }
}

/// The running containers of one test.
pub struct Stack {
    /// The API container.
    pub api: Container<GenericImage>,
    /// The FTP container, when the test has one.
    pub ftp: Option<Container<GenericImage>>,
    ftp_name: Option<String>,
    /// `http://127.0.0.1:<port>`, the API as published on the host.
    pub url: String,
    /// An access hash bound to the address requests from the host come from.
    pub hash: String,
    /// A client of the API with [`Stack::hash`].
    pub client: Client,
}

impl Stack {
    /// A stack with the API container only.
    pub fn api_only() -> Stack {
        StackBuilder::default().start()
    }

    /// A stack with the API and a vsftpd container.
    pub fn with_vsftpd() -> Stack {
        StackBuilder::default().ftp(FtpServer::Vsftpd).start()
    }

    /// Sends a request with the stack's hash.
    pub fn send(&self, method: Method, path: &str, form: &[(&str, &str)]) -> Answer {
        self.send_with(method, path, Cookie::Given, form)
    }

    /// Sends a request with the given cookie.
    pub fn send_with(
        &self,
        method: Method,
        path: &str,
        cookie: Cookie,
        form: &[(&str, &str)],
    ) -> Answer {
        let form: Vec<(String, String)> = form
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        self.client
            .send(method, path, cookie, &form)
            .unwrap_or_else(|error| panic!("{method:?} {path}: no answer: {error}"))
    }

    /// The `msg` of a successful answer; panics with the answer otherwise.
    pub fn success(&self, method: Method, path: &str, form: &[(&str, &str)]) -> Value {
        let answer = self.send(method, path, form);
        match &answer.envelope {
            Some(envelope) if envelope.is_success() && answer.code == 200 => envelope.msg.clone(),
            _ => panic!("{method:?} {path}: {}", answer.describe()),
        }
    }

    /// Creates a backup and answers its name.
    pub fn create(&self, statistics: bool) -> String {
        let flag = if statistics { "1" } else { "0" };
        let msg = self.success(Method::Post, "/api/v1/backups", &[("statistics", flag)]);
        msg["backup_name"]
            .as_str()
            .unwrap_or_else(|| panic!("no backup_name in {msg}"))
            .to_string()
    }

    /// The names of the listed backups, newest first.
    pub fn listed(&self) -> Vec<String> {
        let msg = self.success(Method::Get, "/api/v1/backups", &[]);
        msg["backups"]
            .as_array()
            .unwrap_or_else(|| panic!("no list of backups in {msg}"))
            .iter()
            .map(|entry| {
                entry["backup_name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect()
    }

    /// Sets the backup configuration: the current one with `changes`.
    pub fn configure(&self, changes: &[(&str, &str)]) {
        let current = self.success(Method::Get, "/api/v1/backups/config", &[]);
        let mut form: Vec<(String, String)> = Vec::new();
        if let Some(map) = current.as_object() {
            for (name, value) in map {
                let text = match value {
                    Value::Bool(true) => "1".to_string(),
                    Value::Bool(false) => "0".to_string(),
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                form.push((name.clone(), text));
            }
        }
        for (name, value) in changes {
            match form.iter_mut().find(|(existing, _)| existing == name) {
                Some(entry) => entry.1 = value.to_string(),
                None => form.push((name.to_string(), value.to_string())),
            }
        }
        let pairs: Vec<(&str, &str)> = form
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        self.success(Method::Put, "/api/v1/backups/config", &pairs);
    }

    /// Points the API's FTP upload at the stack's FTP server.
    pub fn configure_ftp(&self, password: &str, tls: bool) {
        let server = self.ftp_name.clone().expect("the stack has an FTP server");
        self.configure(&[
            ("backup_to_ftp", "1"),
            ("ftp_server", &server),
            ("ftp_server_port", "21"),
            ("ftp_user", FTP_USER),
            ("ftp_password", password),
            ("ftp_path", FTP_PATH),
            ("ftp_tls", if tls { "1" } else { "0" }),
        ]);
    }

    /// Runs a command in the API container as its own user; panics unless
    /// it succeeds.
    pub fn api_exec_ok(&self, command: &[&str]) -> Text {
        docker_exec_ok(self.api.id(), "puqbackup", command)
    }

    /// Runs a command in the API container as root; panics unless it
    /// succeeds.
    pub fn api_root_ok(&self, command: &[&str]) -> Text {
        docker_exec_ok(self.api.id(), "0", command)
    }

    /// Runs a command in the FTP container as root; panics unless it
    /// succeeds.
    pub fn ftp_exec_ok(&self, command: &[&str]) -> Text {
        let ftp = self.ftp.as_ref().expect("the stack has an FTP server");
        docker_exec_ok(ftp.id(), "0", command)
    }

    /// Writes `bytes` to `path` in the API container, as its user.
    pub fn api_write(&self, path: &str, bytes: &[u8]) {
        let output = docker_exec(
            self.api.id(),
            "puqbackup",
            &["sh", "-c", "cat > \"$1\"", "write", path],
            Some(bytes),
        );
        assert!(
            output.status.success(),
            "writing {path}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Places the fixture `fixture` into the backups folder as `name`.
    pub fn place_fixture(&self, fixture: &str, name: &str) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(fixture);
        let bytes =
            std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        self.api_write(&format!("{BACKUPS}/{name}"), &bytes);
    }

    /// A listing of the files under `folder` in the API container:
    /// `<sha256>  <path>` lines, sorted.
    pub fn api_tree(&self, folder: &str) -> String {
        let script = "cd \"$1\" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum";
        self.api_exec_ok(&["sh", "-c", script, "tree", folder])
            .stdout
    }

    /// The API container's log (standard output and error).
    pub fn api_log(&self) -> String {
        container_log(self.api.id())
    }

    /// The FTP container's log.
    pub fn ftp_log(&self) -> String {
        let ftp = self.ftp.as_ref().expect("the stack has an FTP server");
        // ProFTPD writes its logs to files (it refuses /proc/1/fd/1).
        let files = docker_exec(
            ftp.id(),
            "0",
            &["sh", "-c", "cat /var/log/ftp/*.log 2>/dev/null || true"],
            None,
        );
        container_log(ftp.id()) + &String::from_utf8_lossy(&files.stdout)
    }

    /// Kills the API process with SIGKILL (the container's init and all),
    /// starts the container again on its volume, and waits until it
    /// answers. The published port may change: the stack follows it.
    pub fn kill_and_restart_api(&mut self) {
        let id = self.api.id().to_string();
        docker_ok(&["kill", "--signal", "KILL", &id]);
        // `docker kill` returns once the signal is sent: wait for the end.
        docker_ok(&["wait", &id]);
        docker_ok(&["start", &id]);
        let port = docker_ok(&["port", &id, "8080/tcp"]);
        let port = port
            .lines()
            .find_map(|line| line.strip_prefix("127.0.0.1:"))
            .unwrap_or_else(|| panic!("no port on 127.0.0.1 in `{port}`"))
            .trim()
            .to_string();
        self.url = format!("http://127.0.0.1:{port}");
        self.client = Client::new(
            self.url.clone(),
            self.hash.clone(),
            false,
            Duration::from_secs(120),
        );
        let answers = self.wait_for(Duration::from_secs(60), || {
            self.client
                .send(Method::Get, "/api/v1/system/status", Cookie::Given, &[])
                .is_ok_and(|answer| answer.code == 200)
        });
        assert!(answers, "the API did not come back:\n{}", self.api_log());
    }

    /// Freezes (`docker pause`) or thaws the FTP container.
    pub fn pause_ftp(&self, paused: bool) {
        let ftp = self.ftp.as_ref().expect("the stack has an FTP server");
        docker_ok(&[if paused { "pause" } else { "unpause" }, ftp.id()]);
    }

    /// Waits until `check` holds, up to `limit`; answers whether it did.
    pub fn wait_for(&self, limit: Duration, mut check: impl FnMut() -> bool) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            if check() {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

/// A command's standard output and error as text.
pub struct Text {
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// A backup name of the API container's host at `time`
/// (`YYYY-MM-DD_HH-MM-SS`).
pub fn name_at(time: &str) -> String {
    format!("{HOST}_{time}.zip")
}

/// Asserts that `answer` is the documented error: the envelope says
/// `error`, its text starts with `text`, and the HTTP code is `code`.
/// Answers the error text.
pub fn refused(answer: &Answer, code: u16, text: &str) -> String {
    let envelope = answer
        .envelope
        .as_ref()
        .unwrap_or_else(|| panic!("no envelope: {}", answer.describe()));
    assert_eq!(envelope.status, "error", "{}", answer.describe());
    assert!(
        envelope.error.starts_with(text),
        "wanted `{text}`, got {}",
        answer.describe()
    );
    assert_eq!(answer.code, code, "{}", answer.describe());
    envelope.error.clone()
}

/// Runs `docker` with `arguments`; panics unless it succeeds. Answers its
/// standard output.
fn docker_ok(arguments: &[&str]) -> String {
    let output = Command::new("docker")
        .args(arguments)
        .output()
        .expect("docker runs");
    assert!(
        output.status.success(),
        "docker {arguments:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A container's log (standard output and error).
fn container_log(container: &str) -> String {
    let output = Command::new("docker")
        .args(["logs", container])
        .output()
        .expect("docker logs runs");
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The SHA-256 of `bytes` in lowercase hexadecimal.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// A container name unique to this test run.
fn unique_name(kind: &str) -> String {
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "puqbackup-e2e-{}-{}-{kind}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    )
}

/// The image's health check, run often so that a start is seen quickly.
fn quick_health(command: &str) -> Healthcheck {
    Healthcheck::cmd([command])
        .with_interval(Duration::from_millis(500))
        .with_timeout(Duration::from_secs(3))
        .with_retries(120)
        .with_start_period(Duration::from_secs(30))
}

/// `docker exec` of `command` in `container` as `user`, with `input` on
/// its standard input.
fn docker_exec(container: &str, user: &str, command: &[&str], input: Option<&[u8]>) -> Output {
    let mut docker = Command::new("docker");
    docker.args(["exec", "-u", user]);
    if input.is_some() {
        docker.arg("-i");
    }
    docker
        .arg(container)
        .args(command)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = docker.spawn().expect("docker exec starts");
    if let Some(bytes) = input {
        let mut stdin = child.stdin.take().expect("stdin is piped");
        stdin.write_all(bytes).expect("docker exec takes the input");
    }
    child.wait_with_output().expect("docker exec ends")
}

/// [`docker_exec`] without input; panics unless it succeeds.
fn docker_exec_ok(container: &str, user: &str, command: &[&str]) -> Text {
    let output = docker_exec(container, user, command, None);
    let text = Text {
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    assert!(
        output.status.success(),
        "{command:?} in {container}: {}\n{}",
        output.status,
        text.stderr
    );
    text
}

/// The container's default gateway, read from its routing table: requests
/// from the host through the published port arrive from it.
fn default_gateway(container: &str) -> Ipv4Addr {
    let routes = docker_exec_ok(container, "0", &["cat", "/proc/net/route"]).stdout;
    for line in routes.lines().skip(1) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() > 2 && fields[1] == "00000000" {
            let raw = u32::from_str_radix(fields[2], 16).expect("a hexadecimal gateway");
            // The kernel prints the address in the machine's byte order.
            return Ipv4Addr::from(raw.to_le_bytes());
        }
    }
    panic!("no default route in:\n{routes}");
}

/// Adds an access hash named `name` for `address` in the API container.
pub fn add_hash_in(container: &str, name: &str, address: &str) -> String {
    add_hash(container, name, address)
}

fn add_hash(container: &str, name: &str, address: &str) -> String {
    let store = format!("{DATA}/access-hashes.json");
    let text = docker_exec_ok(
        container,
        "puqbackup",
        &[
            "puqbackup",
            "hash",
            "add",
            name,
            "--ip",
            address,
            "--store",
            &store,
            "--json",
        ],
    )
    .stdout;
    let value: Value = serde_json::from_str(&text).unwrap_or_else(|error| {
        panic!("hash add printed no JSON ({error}): {text}");
    });
    value["access_hash"]
        .as_str()
        .unwrap_or_else(|| panic!("no hash in {value}"))
        .to_string()
}
