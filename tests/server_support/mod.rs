//! Helpers for the tests of the backups API server: the real server in this
//! process on a port of 127.0.0.1, driven over real HTTP; a real FTP server
//! (libunftp) beside it; tmpfs mounts for faults the file system must make.
//!
//! Each test file compiles this module on its own and uses only part of it.
#![allow(dead_code)]
// Every helper is used by some test file, none by all.
// A test fails by panicking; `expect` says what was expected.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use libunftp::ServerBuilder;
use puqbackup::access::{AccessStore, AllowedNetwork};
use puqbackup::schedule::ManualClock;
use puqbackup::server::{AppState, ServerSettings, prepare, serve_on};
use serde_json::Value;
use tempfile::TempDir;
use unftp_core::auth::{AuthenticationError, Authenticator, Credentials, Principal};
use unftp_sbe_fs::Filesystem;

/// The host name in the test server's backup names.
pub const HOST: &str = "test.host";

/// The instant the test server's clock shows when it starts.
pub fn start_time() -> DateTime<Utc> {
    "2026-03-10T10:00:00Z".parse().expect("a valid time")
}

/// The fixture archive `name` from `fixtures/`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// The access hashes a test server knows.
pub struct Hashes {
    /// Bound to 127.0.0.1: every request of the tests passes with it.
    pub valid: String,
    /// Bound to 10.9.9.9, so refused from 127.0.0.1.
    pub elsewhere: String,
    /// Bound to 127.0.0.1 but revoked.
    pub revoked: String,
}

/// One answer of the server.
#[derive(Debug)]
pub struct Answer {
    /// The HTTP status code.
    pub status: u16,
    /// Header names (lowercase) and values.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "the body is not JSON ({error}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The value of the header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The `msg` of a successful answer; fails on anything else.
    pub fn success(&self) -> Value {
        let json = self.json();
        assert_eq!(self.status, 200, "{json}");
        assert_eq!(json["status"], "success", "{json}");
        assert_eq!(json["error"], "", "{json}");
        json["msg"].clone()
    }

    /// Fails unless this is an error envelope with `code` whose `error`
    /// starts with `text`; answers the whole error text.
    pub fn refused(&self, code: u16, text: &str) -> String {
        let json = self.json();
        assert_eq!(self.status, code, "{json}");
        assert_eq!(json["status"], "error", "{json}");
        assert_eq!(json["msg"], "", "{json}");
        let error = json["error"].as_str().expect("a text in `error`");
        assert!(
            error.starts_with(text),
            "`{error}` does not start with `{text}`"
        );
        error.to_string()
    }
}

/// Which cookie a request carries.
#[derive(Debug, Clone, Copy)]
pub enum Cookie<'a> {
    /// No cookie at all.
    None,
    /// `access_hash=<value>`.
    Hash(&'a str),
    /// A whole `Cookie` header, as written.
    Raw(&'a str),
}

/// The backups API server, in this process on a port of 127.0.0.1, until
/// dropped.
pub struct TestServer {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The port.
    pub port: u16,
    /// The state the handlers share.
    pub state: Arc<AppState>,
    /// The scheduler's clock.
    pub clock: ManualClock,
    /// The hashes the server knows.
    pub hashes: Hashes,
    agent: ureq::Agent,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<Result<(), puqbackup::server::ServerError>>>,
    runtime: Option<tokio::runtime::Runtime>,
    // Dropped before `data`, so that its folder can be removed.
    mounts: Vec<Mount>,
    data: TempDir,
}

impl TestServer {
    /// A server with the test settings.
    pub fn start() -> TestServer {
        TestServer::start_with(|_| {})
    }

    /// A server with the test settings changed by `configure`, which may
    /// also prepare the data folder (`settings.data_dir`) before the server
    /// reads it.
    pub fn start_with(configure: impl FnOnce(&mut ServerSettings)) -> TestServer {
        let data = TempDir::new().expect("a temporary data folder");
        let mut settings = test_settings(&data);
        std::fs::create_dir_all(&settings.data_dir).unwrap();
        let hashes = write_hashes(&settings.access_store());
        configure(&mut settings);

        let clock = ManualClock::new(start_time());
        let (state, initial) =
            prepare(settings, Arc::new(clock.clone())).expect("the server prepares its data");
        assert_eq!(initial, None, "the store had hashes, so none is made");
        TestServer::serve(data, state, clock, hashes)
    }

    /// A server on a first start, with no access store: its one valid hash
    /// is the one `prepare` made. The other hashes of [`Hashes`] are empty.
    pub fn start_fresh() -> TestServer {
        let data = TempDir::new().expect("a temporary data folder");
        let clock = ManualClock::new(start_time());
        let (state, initial) = prepare(test_settings(&data), Arc::new(clock.clone()))
            .expect("the server prepares its data");
        let hashes = Hashes {
            valid: initial.expect("a first start makes a hash"),
            elsewhere: String::new(),
            revoked: String::new(),
        };
        TestServer::serve(data, state, clock, hashes)
    }

    /// Serves `state` on a new listener.
    fn serve(data: TempDir, state: Arc<AppState>, clock: ManualClock, hashes: Hashes) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("a port on 127.0.0.1");
        let port = listener.local_addr().unwrap().port();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = runtime.spawn(serve_on(state.clone(), listener, async move {
            let _ = stopped.await;
        }));
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        TestServer {
            base: format!("http://127.0.0.1:{port}"),
            port,
            state,
            clock,
            hashes,
            agent,
            stop: Some(stop),
            served: Some(served),
            runtime: Some(runtime),
            mounts: Vec::new(),
            data,
        }
    }

    /// Answers the request: `method` on `path` (with any query), the cookie,
    /// a body with its content type, and more headers.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        cookie: Cookie<'_>,
        body: Option<(&str, Vec<u8>)>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut request = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        match cookie {
            Cookie::None => {}
            Cookie::Hash(hash) => request = request.header("Cookie", format!("access_hash={hash}")),
            Cookie::Raw(text) => request = request.header("Cookie", text),
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let result = match body {
            Some((content_type, bytes)) => self.agent.run(
                request
                    .header("Content-Type", content_type)
                    .body(bytes)
                    .unwrap(),
            ),
            None => self.agent.run(request.body(()).unwrap()),
        };
        let mut response = result.unwrap_or_else(|error| panic!("{method} {path}: {error}"));
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_string(),
                    value.to_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        let body = response
            .body_mut()
            .with_config()
            .limit(1 << 30)
            .read_to_vec()
            .unwrap();
        Answer {
            status,
            headers,
            body,
        }
    }

    /// `GET path` with the valid hash.
    pub fn get(&self, path: &str) -> Answer {
        self.send("GET", path, Cookie::Hash(&self.hashes.valid), None, &[])
    }

    /// `method path` with the valid hash and `form` as a form body.
    pub fn form(&self, method: &str, path: &str, form: &str) -> Answer {
        let body = Some((
            "application/x-www-form-urlencoded",
            form.as_bytes().to_vec(),
        ));
        self.send(method, path, Cookie::Hash(&self.hashes.valid), body, &[])
    }

    /// `POST /api/v1/backups` with `statistics=<0|1>`; answers the new
    /// backup's name.
    pub fn create(&self, statistics: bool) -> String {
        let form = if statistics {
            "statistics=1"
        } else {
            "statistics=0"
        };
        let msg = self.form("POST", "/api/v1/backups", form).success();
        msg["backup_name"]
            .as_str()
            .expect("a backup name")
            .to_string()
    }

    /// `PUT /api/v1/backups/config` with `form`; answers the settings.
    pub fn configure(&self, form: &str) -> Value {
        self.form("PUT", "/api/v1/backups/config", form).success()
    }

    /// The names `GET /api/v1/backups` lists, in its order.
    pub fn listed(&self) -> Vec<String> {
        let msg = self.get("/api/v1/backups").success();
        msg["backups"]
            .as_array()
            .expect("a list of backups")
            .iter()
            .map(|backup| backup["backup_name"].as_str().unwrap().to_string())
            .collect()
    }

    /// The server's data folder.
    pub fn data_dir(&self) -> PathBuf {
        self.state.settings.data_dir.clone()
    }

    /// The backups folder.
    pub fn backups_dir(&self) -> PathBuf {
        self.state.settings.backups_dir()
    }

    /// The live configuration tree.
    pub fn config_dir(&self) -> PathBuf {
        self.state.settings.config_dir()
    }

    /// The live statistics tree.
    pub fn statistics_dir(&self) -> PathBuf {
        self.state.settings.statistics_dir()
    }

    /// The names in the backups folder, hidden ones included, sorted.
    pub fn backups_folder_names(&self) -> Vec<String> {
        folder_names(&self.backups_dir())
    }

    /// Copies the fixture `fixture_name` into the backups folder as
    /// `backup_name`.
    pub fn place_fixture(&self, fixture_name: &str, backup_name: &str) {
        std::fs::copy(fixture(fixture_name), self.backups_dir().join(backup_name))
            .expect("a fixture copied into the backups folder");
    }

    /// Polls `condition` every 50 ms for up to `limit`; answers whether it
    /// came true.
    pub fn wait_for(&self, limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
        let started = Instant::now();
        loop {
            if condition() {
                return true;
            }
            if started.elapsed() > limit {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Asks the server to stop and answers whether `serve_on` returned `Ok`
    /// within `limit`.
    pub fn stop_within(&mut self, limit: Duration) -> bool {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let (Some(runtime), Some(served)) = (self.runtime.as_ref(), self.served.take()) else {
            return false;
        };
        runtime
            .block_on(async { tokio::time::timeout(limit, served).await })
            .is_ok_and(|joined| joined.is_ok_and(|result| result.is_ok()))
    }

    /// Keeps `mount` until the server is dropped, and unmounts it before the
    /// data folder is removed.
    pub fn keep(&mut self, mount: Mount) {
        self.mounts.push(mount);
    }

    /// Keeps the temporary folder's path alive for helpers that need it.
    pub fn root(&self) -> &Path {
        self.data.path()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_secs(2));
        }
    }
}

/// The test settings: a data folder in `data`, the test host, UTC, short
/// FTP and command timeouts.
fn test_settings(data: &TempDir) -> ServerSettings {
    ServerSettings {
        data_dir: data.path().join("data"),
        host_name: Some(HOST.to_string()),
        time_zone: Some("UTC".to_string()),
        ftp_connect_timeout_seconds: 2,
        ftp_transfer_timeout_seconds: 5,
        command_timeout_seconds: 5,
        ..ServerSettings::default()
    }
}

/// Writes an access store with the three hashes of [`Hashes`].
fn write_hashes(path: &Path) -> Hashes {
    let loopback: IpAddr = "127.0.0.1".parse().unwrap();
    let other: IpAddr = "10.9.9.9".parse().unwrap();
    let mut store = AccessStore::load(path).unwrap();
    let valid = store
        .add("tests", AllowedNetwork::single(loopback))
        .unwrap();
    let elsewhere = store
        .add("elsewhere", AllowedNetwork::single(other))
        .unwrap();
    let revoked = store
        .add("revoked", AllowedNetwork::single(loopback))
        .unwrap();
    store.revoke("revoked").unwrap();
    Hashes {
        valid,
        elsewhere,
        revoked,
    }
}

/// The names in `folder`, hidden ones included, sorted.
pub fn folder_names(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .expect("a readable folder")
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Every file and folder below `root`, by relative path: a file's bytes, or
/// `None` for a folder.
pub fn tree_contents(root: &Path) -> BTreeMap<String, Option<Vec<u8>>> {
    walkdir::WalkDir::new(root)
        .min_depth(1)
        .into_iter()
        .map(|entry| entry.unwrap())
        .map(|entry| {
            let relative = entry.path().strip_prefix(root).unwrap();
            let content = entry
                .file_type()
                .is_file()
                .then(|| std::fs::read(entry.path()).unwrap());
            (relative.to_string_lossy().into_owned(), content)
        })
        .collect()
}

/// Writes `content` to `root/relative`, creating its folders.
pub fn write_file(root: &Path, relative: &str, content: &[u8]) {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

/// The names of the entries of the zip archive `bytes`.
pub fn entry_names(bytes: &[u8]) -> Vec<String> {
    let layout = puqbackup::zipfile::Layout::read(bytes).expect("the archive's structure reads");
    layout
        .entries
        .iter()
        .map(|entry| entry.display_name())
        .collect()
}

/// A tmpfs mounted on a folder, unmounted when dropped.
pub struct Mount {
    path: PathBuf,
}

impl Mount {
    /// Mounts a tmpfs with `options` (e.g. `size=1m`) on `path`, which must
    /// be a folder; what it held is hidden until the unmount.
    pub fn tmpfs(path: &Path, options: &str) -> Mount {
        run_tool(
            Command::new("mount")
                .args(["-t", "tmpfs", "-o", options, "tmpfs"])
                .arg(path),
        );
        Mount {
            path: path.to_path_buf(),
        }
    }

    /// Makes the mount read-only.
    pub fn make_read_only(&self) {
        run_tool(
            Command::new("mount")
                .args(["-o", "remount,ro"])
                .arg(&self.path),
        );
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let unmounted = Command::new("umount")
            .arg(&self.path)
            .status()
            .is_ok_and(|status| status.success());
        if !unmounted {
            let _ = Command::new("umount").arg("-l").arg(&self.path).status();
        }
    }
}

fn run_tool(command: &mut Command) {
    let output = command.output().expect("the tool runs");
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The FTP user the FTP server accepts.
pub const FTP_USER: &str = "puqvpncp";
/// Its password.
pub const FTP_PASSWORD: &str = "QWEqwe123-secret";

/// Accepts one user with one password.
#[derive(Debug)]
struct OneUser;

#[async_trait::async_trait]
impl Authenticator for OneUser {
    async fn authenticate(
        &self,
        username: &str,
        credentials: &Credentials,
    ) -> Result<Principal, AuthenticationError> {
        if username == FTP_USER && credentials.password.as_deref() == Some(FTP_PASSWORD) {
            Ok(Principal {
                username: username.to_string(),
            })
        } else {
            Err(AuthenticationError::BadPassword)
        }
    }
}

/// An FTP server (libunftp) on a port of 127.0.0.1, serving a temporary
/// folder, until dropped.
pub struct FtpServer {
    root: TempDir,
    /// The control port.
    pub port: u16,
    runtime: Option<tokio::runtime::Runtime>,
}

impl FtpServer {
    /// Starts the server.
    pub fn start() -> FtpServer {
        let root = TempDir::new().unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let home = root.path().to_path_buf();
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            // One libunftp server per connection, so that the port is known
            // before anything listens on it.
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let home = home.clone();
                let server = ServerBuilder::with_authenticator(
                    Box::new(move || Filesystem::new(home.clone()).unwrap()),
                    Arc::new(OneUser),
                )
                .passive_ports(49152..=65535)
                .build()
                .unwrap();
                tokio::spawn(server.service(stream));
            }
        });
        FtpServer {
            root,
            port,
            runtime: Some(runtime),
        }
    }

    /// The path of `relative` below the server's root.
    pub fn path(&self, relative: &str) -> PathBuf {
        self.root.path().join(relative)
    }

    /// Every file below the root, as relative paths, sorted.
    pub fn files(&self) -> Vec<String> {
        let mut files: Vec<String> = walkdir::WalkDir::new(self.root.path())
            .into_iter()
            .map(|entry| entry.unwrap())
            .filter(|entry| entry.file_type().is_file())
            .map(|entry| {
                let relative = entry.path().strip_prefix(self.root.path()).unwrap();
                relative.to_string_lossy().into_owned()
            })
            .collect();
        files.sort();
        files
    }
}

impl Drop for FtpServer {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// A port of 127.0.0.1 that nothing listens on.
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}
