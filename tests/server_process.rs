//! `puqbackup serve` as a process: its first start, HTTPS and the clients
//! that stall in it, trusted proxies, and a graceful stop on SIGTERM.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// A `puqbackup serve` child process, stopped with SIGTERM when dropped.
struct ServerProcess {
    child: Child,
    port: u16,
}

impl ServerProcess {
    /// Starts the server in `folder` with `settings` (TOML, without
    /// `listen` and `data_dir`, which are added) and waits until it answers.
    fn start(folder: &Path, settings: &str, scheme: &str, curl_extra: &[&str]) -> ServerProcess {
        ServerProcess::start_in(folder, settings, scheme, curl_extra, |_| {})
    }

    /// [`ServerProcess::start`], with `prepare` changing the command first
    /// (its environment, say).
    fn start_in(
        folder: &Path,
        settings: &str,
        scheme: &str,
        curl_extra: &[&str],
        prepare: impl FnOnce(&mut Command),
    ) -> ServerProcess {
        let port = free_port();
        let file = folder.join("server.toml");
        std::fs::write(
            &file,
            format!(
                "listen = \"127.0.0.1:{port}\"\ndata_dir = \"{}\"\nhost_name = \"test.host\"\n{settings}",
                folder.join("data").display()
            ),
        )
        .unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_puqbackup"));
        command
            .arg("serve")
            .arg("--config")
            .arg(&file)
            .current_dir(folder)
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        prepare(&mut command);
        let mut child = command.spawn().unwrap();

        wait_until_up(&mut child, port, scheme, curl_extra);
        ServerProcess { child, port }
    }

    /// Sends SIGTERM, waits for the exit, and answers its status and what
    /// it printed on standard output.
    fn stop(mut self) -> (Option<i32>, String) {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).unwrap();
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let code = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status.code();
            }
            assert!(
                Instant::now() < deadline,
                "the server did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut printed = String::new();
        if let Some(mut stdout) = self.child.stdout.take() {
            let _ = stdout.read_to_string(&mut printed);
        }
        (code, printed)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Waits until the server answers a request (401 without a cookie).
fn wait_until_up(child: &mut Child, port: u16, scheme: &str, curl_extra: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut arguments = vec!["-s", "-o", "/dev/null", "-w", "%{http_code}"];
        arguments.extend_from_slice(curl_extra);
        let url = format!("{scheme}://127.0.0.1:{port}/api/v1/system/status");
        arguments.push(&url);
        let output = Command::new("curl").args(&arguments).output().unwrap();
        if String::from_utf8_lossy(&output.stdout) == "401" {
            return;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the server exited with {status}");
        }
        assert!(Instant::now() < deadline, "the server did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A new hash from `hash add`, bound to `ip`.
fn add_hash(folder: &Path, name: &str, ip: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_puqbackup"))
        .args(["hash", "add", name, "--ip", ip, "--store"])
        .arg(folder.join("data/access-hashes.json"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

fn curl(arguments: &[&str]) -> serde_json::Value {
    let output = Command::new("curl")
        .arg("-s")
        .args(arguments)
        .output()
        .unwrap();
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("{error}: {}", String::from_utf8_lossy(&output.stdout)))
}

/// The value of `variable` in the environment of the running process `pid`.
fn environment_value(pid: u32, variable: &str) -> Option<String> {
    let environment = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    environment.split(|byte| *byte == 0).find_map(|entry| {
        let text = String::from_utf8_lossy(entry);
        text.strip_prefix(&format!("{variable}="))
            .map(str::to_string)
    })
}

/// The server caps glibc's allocator arenas at two: started without the
/// cap, the process that answers (the one started, same id) runs with
/// `MALLOC_ARENA_MAX=2`; a cap the caller set is kept as it is.
#[test]
fn the_server_runs_with_capped_allocator_arenas() {
    let folder = TempDir::new().unwrap();
    let server = ServerProcess::start_in(folder.path(), "", "http", &[], |command| {
        command.env_remove("MALLOC_ARENA_MAX");
    });
    assert_eq!(
        environment_value(server.child.id(), "MALLOC_ARENA_MAX").as_deref(),
        Some("2")
    );
    let (code, _) = server.stop();
    assert_eq!(code, Some(0));

    let folder = TempDir::new().unwrap();
    let server = ServerProcess::start_in(folder.path(), "", "http", &[], |command| {
        command.env("MALLOC_ARENA_MAX", "4");
    });
    assert_eq!(
        environment_value(server.child.id(), "MALLOC_ARENA_MAX").as_deref(),
        Some("4")
    );
}

/// A first start in an empty folder creates the data folder, a sample
/// configuration and one access hash for 127.0.0.1, printed once; a second
/// start prints none; SIGTERM ends the server with status 0.
#[test]
fn first_start_prints_one_hash_and_sigterm_stops_cleanly() {
    let folder = TempDir::new().unwrap();
    let port = free_port();
    let output = Command::new(env!("CARGO_BIN_EXE_puqbackup"))
        .args(["serve", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .current_dir(folder.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = output;
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let mut hash = String::new();
    stdout.read_line(&mut hash).unwrap();
    let hash = hash.trim().to_string();
    assert!(first.contains("`initial`"), "{first}");
    assert_eq!(hash.len(), 80);
    assert!(
        hash.bytes()
            .all(|byte| byte.is_ascii_hexdigit() && !byte.is_ascii_uppercase())
    );
    assert!(
        folder
            .path()
            .join("data/config/wireguard/wg0.conf")
            .is_file()
    );
    let store = std::fs::read_to_string(folder.path().join("data/access-hashes.json")).unwrap();
    assert!(!store.contains(&hash), "the store holds the hash itself");

    wait_until_up(&mut child, port, "http", &[]);
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(0));

    // A second start: the store has a hash, so nothing is printed.
    let server = ServerProcess::start(folder.path(), "", "http", &[]);
    let (code, printed) = server.stop();
    assert_eq!(code, Some(0));
    assert_eq!(printed, "", "a second start printed a hash");
}

/// A self-signed certificate for 127.0.0.1 and its key, written into a
/// test's folder.
struct SelfSigned {
    /// The certificate's file, which clients also trust.
    certificate: PathBuf,
    /// The certificate itself, for a rustls client's root store.
    der: rustls::pki_types::CertificateDer<'static>,
    /// The server's settings that name the two files.
    settings: String,
}

impl SelfSigned {
    fn write(folder: &Path) -> SelfSigned {
        let generated = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
        let certificate = folder.join("certificate.pem");
        let key = folder.join("key.pem");
        std::fs::write(&certificate, generated.cert.pem()).unwrap();
        std::fs::write(&key, generated.signing_key.serialize_pem()).unwrap();
        let settings = format!(
            "tls_certificate = \"{}\"\ntls_key = \"{}\"\n",
            certificate.display(),
            key.display()
        );
        SelfSigned {
            certificate,
            der: generated.cert.der().clone(),
            settings,
        }
    }

    /// The certificate's file as curl's `--cacert` takes it.
    fn cacert(&self) -> String {
        self.certificate.to_str().unwrap().to_string()
    }
}

/// With a certificate and key the server speaks HTTPS, and a client that
/// trusts the certificate is served; plain HTTP on that port is not.
#[test]
fn https_with_a_configured_certificate() {
    let folder = TempDir::new().unwrap();
    let tls = SelfSigned::write(folder.path());
    let cacert = tls.cacert();
    let server = ServerProcess::start(
        folder.path(),
        &tls.settings,
        "https",
        &["--cacert", &cacert],
    );
    let hash = add_hash(folder.path(), "tls", "127.0.0.1");
    let cookie = format!("access_hash={hash}");
    let url = format!("https://127.0.0.1:{}/api/v1/system/status", server.port);

    let answer = curl(&["--cacert", &cacert, "-b", &cookie, &url]);
    assert_eq!(answer["status"], "success", "{answer}");
    assert_eq!(answer["msg"]["status"], "OK");

    let plain = Command::new("curl")
        .args(["-s", "-b", &cookie])
        .arg(format!(
            "http://127.0.0.1:{}/api/v1/system/status",
            server.port
        ))
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&plain.stdout).contains("\"success\""));
    assert_eq!(server.stop().0, Some(0));
}

/// The header read timeout of the stall tests, in seconds: short, so that
/// the tests are quick, and long enough that a close before it is told
/// apart from one after it.
const STALL_TIMEOUT_SECONDS: u64 = 2;

/// How much sooner than the timeout a close may come: the server's clock
/// starts when it accepts, a little before the test's.
const EARLY_SLACK: Duration = Duration::from_millis(500);

/// How much later than the timeout a close may come on a loaded machine.
const LATE_MARGIN: Duration = Duration::from_secs(3);

/// How long a read of a stalled connection waits before the test calls it
/// open: well past the timeout and its margin.
const OPEN_LIMIT: Duration = Duration::from_secs(10);

/// Starts an HTTPS server with a header read timeout of
/// [`STALL_TIMEOUT_SECONDS`]; answers it with its certificate.
fn start_https_with_short_timeout(folder: &Path) -> (ServerProcess, SelfSigned) {
    let tls = SelfSigned::write(folder);
    let settings = format!(
        "{}header_read_timeout_seconds = {STALL_TIMEOUT_SECONDS}\n",
        tls.settings
    );
    let cacert = tls.cacert();
    let server = ServerProcess::start(folder, &settings, "https", &["--cacert", &cacert]);
    (server, tls)
}

/// Reads from `stream` until the server closes it; answers how long that
/// took from now, or `None` when it was still open when a read gave up
/// (after the read timeout set on the socket). What the server sends
/// before it closes is dropped.
fn time_until_closed(stream: &mut impl Read) -> Option<Duration> {
    let started = Instant::now();
    let mut buffer = [0u8; 1024];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return Some(started.elapsed()),
            Ok(_) => continue,
            Err(error) => match error.kind() {
                // A TLS stream closed without a close_notify alert, or a
                // TCP reset: either way the server hung up.
                ErrorKind::UnexpectedEof
                | ErrorKind::ConnectionReset
                | ErrorKind::ConnectionAborted => return Some(started.elapsed()),
                ErrorKind::WouldBlock | ErrorKind::TimedOut => return None,
                _ => panic!("reading the stalled connection failed: {error}"),
            },
        }
    }
}

/// Fails unless `closed` is within the stall timeout, give or take the
/// slack and margin; `what` names the client in the message.
fn assert_closed_at_the_timeout(closed: Option<Duration>, what: &str) {
    let timeout = Duration::from_secs(STALL_TIMEOUT_SECONDS);
    let closed = closed.unwrap_or_else(|| {
        panic!("{what}: the server kept the connection open past {OPEN_LIMIT:?}")
    });
    assert!(
        closed >= timeout - EARLY_SLACK,
        "{what}: closed after {closed:?}, before the {timeout:?} timeout"
    );
    assert!(
        closed < timeout + LATE_MARGIN,
        "{what}: closed after {closed:?}, well past the {timeout:?} timeout"
    );
}

/// A TLS connection to `port` whose handshake is complete, from a client
/// that trusts only the test's certificate (as curl does with `--cacert`)
/// and offers HTTP/1.1. Its reads give up after [`OPEN_LIMIT`].
fn tls_client(
    port: u16,
    tls: &SelfSigned,
) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(tls.der.clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let connection = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let socket = TcpStream::connect(("127.0.0.1", port)).expect("the server accepts");
    socket.set_read_timeout(Some(OPEN_LIMIT)).unwrap();
    let mut stream = rustls::StreamOwned::new(connection, socket);

    // The handshake first, whole, so that a test's stall comes after it.
    while stream.conn.is_handshaking() {
        stream
            .conn
            .complete_io(&mut stream.sock)
            .expect("the TLS handshake completes");
    }
    stream
}

/// A client that connects to the HTTPS port and never starts its TLS
/// handshake is disconnected after `header_read_timeout_seconds`.
#[test]
fn https_client_that_never_starts_its_handshake_is_disconnected() {
    let folder = TempDir::new().unwrap();
    let (server, _tls) = start_https_with_short_timeout(folder.path());

    let mut silent = TcpStream::connect(("127.0.0.1", server.port)).expect("the server accepts");
    silent.set_read_timeout(Some(OPEN_LIMIT)).unwrap();
    let closed = time_until_closed(&mut silent);

    assert_closed_at_the_timeout(closed, "a client that sends nothing");
    assert_eq!(server.stop().0, Some(0));
}

/// A client that completes its TLS handshake, then sends half a request
/// head and stalls, is disconnected after `header_read_timeout_seconds`.
#[test]
fn https_client_that_stalls_in_its_headers_is_disconnected() {
    let folder = TempDir::new().unwrap();
    let (server, tls) = start_https_with_short_timeout(folder.path());

    let mut stream = tls_client(server.port, &tls);
    stream
        .write_all(b"GET /api/v1/system/status HTTP/1.1\r\nHost: 127.0.0.1\r\nCook")
        .unwrap();
    stream.flush().unwrap();
    let closed = time_until_closed(&mut stream);

    assert_closed_at_the_timeout(closed, "a client that stalls in its headers");
    assert_eq!(server.stop().0, Some(0));
}

/// A client that completes its TLS handshake and then sends nothing is
/// disconnected after `header_read_timeout_seconds`: no bytes arrive from
/// which the HTTP version could be told, so only the timeout on the first
/// request bounds it.
#[test]
fn https_client_that_sends_nothing_after_its_handshake_is_disconnected() {
    let folder = TempDir::new().unwrap();
    let (server, tls) = start_https_with_short_timeout(folder.path());

    let mut quiet = tls_client(server.port, &tls);
    let closed = time_until_closed(&mut quiet);

    assert_closed_at_the_timeout(closed, "a client quiet after its handshake");
    assert_eq!(server.stop().0, Some(0));
}

/// Behind a trusted proxy the client is the address in `X-Forwarded-For`:
/// a hash bound to that address passes, the same request without the header
/// is refused, and a hash bound to the proxy's own address is refused for a
/// forwarded client. From an untrusted peer the header is ignored.
#[test]
fn trusted_proxy_names_the_client() {
    let folder = TempDir::new().unwrap();
    let server = ServerProcess::start(
        folder.path(),
        "trusted_proxies = [\"127.0.0.1\"]\n",
        "http",
        &[],
    );
    let remote = add_hash(folder.path(), "remote", "10.1.2.3");
    let local = add_hash(folder.path(), "local", "127.0.0.1");
    let url = format!("http://127.0.0.1:{}/api/v1/backups", server.port);
    let with = |hash: &str, forwarded: Option<&str>| {
        let cookie = format!("access_hash={hash}");
        let mut arguments = vec!["-b".to_string(), cookie];
        if let Some(address) = forwarded {
            arguments.push("-H".to_string());
            arguments.push(format!("X-Forwarded-For: {address}"));
        }
        arguments.push(url.clone());
        let arguments: Vec<&str> = arguments.iter().map(String::as_str).collect();
        curl(&arguments)
    };

    assert_eq!(with(&remote, Some("10.1.2.3"))["status"], "success");
    assert_eq!(with(&remote, None)["error"], "Not authorized");
    assert_eq!(with(&local, Some("10.1.2.3"))["error"], "Not authorized");
    assert_eq!(with(&local, None)["status"], "success");
    assert_eq!(server.stop().0, Some(0));

    // Without the proxy trusted, the header changes nothing.
    let folder = TempDir::new().unwrap();
    let server = ServerProcess::start(folder.path(), "", "http", &[]);
    let remote = add_hash(folder.path(), "remote", "10.1.2.3");
    let url = format!("http://127.0.0.1:{}/api/v1/backups", server.port);
    let cookie = format!("access_hash={remote}");
    let answer = curl(&["-b", &cookie, "-H", "X-Forwarded-For: 10.1.2.3", &url]);
    assert_eq!(answer["error"], "Not authorized");
    assert_eq!(server.stop().0, Some(0));
}

/// A tmpfs mounted for a test, unmounted when dropped.
struct Mount(PathBuf);

impl Mount {
    fn tmpfs(target: &Path, options: &str) -> Mount {
        std::fs::create_dir_all(target).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(target)
            .status()
            .unwrap();
        assert!(status.success(), "mounting a tmpfs needs root, as CI has");
        Mount(target.to_path_buf())
    }

    fn remount(&self, options: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,{options}")])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// A tree as `(relative path, content)` pairs, for comparing before and
/// after.
fn tree(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut found: Vec<(String, Vec<u8>)> = walkdir::WalkDir::new(root)
        .into_iter()
        .map(|entry| entry.unwrap())
        .map(|entry| {
            let relative = entry
                .path()
                .strip_prefix(root)
                .unwrap()
                .display()
                .to_string();
            let content = if entry.file_type().is_file() {
                std::fs::read(entry.path()).unwrap()
            } else {
                Vec::new()
            };
            (relative, content)
        })
        .collect();
    found.sort();
    found
}

/// Backs up the live tree through the API, then asks to restore it; answers
/// the restore's envelope.
fn backup_then_restore(server: &ServerProcess, hash: &str) -> serde_json::Value {
    let cookie = format!("access_hash={hash}");
    let base = format!("http://127.0.0.1:{}/api/v1/backups", server.port);
    let created = curl(&["-b", &cookie, "-X", "POST", &base]);
    assert_eq!(created["status"], "success", "{created}");
    let name = created["msg"]["backup_name"].as_str().unwrap().to_string();
    let form = format!("backup_name={name}");
    curl(&[
        "-b",
        &cookie,
        "-d",
        &form,
        "-X",
        "PUT",
        &format!("{base}/restore"),
    ])
}

/// Restoring into a configuration tree whose folder is on a read-only file
/// system answers `Failed to create folder:` (the staging folder cannot be
/// made beside it) and changes nothing.
#[test]
fn restore_on_a_read_only_file_system_cannot_create_its_folder() {
    let folder = TempDir::new().unwrap();
    let mount = Mount::tmpfs(&folder.path().join("live"), "size=1m");
    let config = folder.path().join("live/config");
    std::fs::create_dir_all(config.join("wireguard")).unwrap();
    std::fs::write(config.join("wireguard/wg0.conf"), "[Interface]\n").unwrap();
    mount.remount("ro");
    let before = tree(&config);

    let settings = format!("config_dir = \"{}\"\n", config.display());
    let server = ServerProcess::start(folder.path(), &settings, "http", &[]);
    let hash = add_hash(folder.path(), "test", "127.0.0.1");
    let answer = backup_then_restore(&server, &hash);

    let error = answer["error"].as_str().unwrap();
    assert!(error.starts_with("Failed to create folder:"), "{answer}");
    assert!(error.contains("Read-only file system"), "{answer}");
    assert_eq!(tree(&config), before);
    assert_eq!(server.stop().0, Some(0));
}

/// Restoring onto a file system with inodes for the staging folder but not
/// for a file in it answers `Failed to create file:` and changes nothing.
#[test]
fn restore_without_free_inodes_cannot_create_its_files() {
    let folder = TempDir::new().unwrap();
    let live = folder.path().join("live");
    let mount = Mount::tmpfs(&live, "size=1m,nr_inodes=64");
    let config = live.join("config");
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(config.join("wg0.conf"), "[Interface]\n").unwrap();
    let before = tree(&config);

    // Room for exactly one more inode: the staging folder.
    let stats = rustix::fs::statvfs(&live).unwrap();
    let used = stats.f_files - stats.f_ffree;
    mount.remount(&format!("nr_inodes={}", used + 1));

    let settings = format!("config_dir = \"{}\"\n", config.display());
    let server = ServerProcess::start(folder.path(), &settings, "http", &[]);
    let hash = add_hash(folder.path(), "test", "127.0.0.1");
    let answer = backup_then_restore(&server, &hash);

    let error = answer["error"].as_str().unwrap();
    assert!(error.starts_with("Failed to create file:"), "{answer}");
    assert_eq!(tree(&config), before);
    let leftovers: Vec<String> = std::fs::read_dir(&live)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("puqbackup"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert_eq!(server.stop().0, Some(0));
}

/// SIGTERM while a backup is being written lets it finish: the server exits
/// 0, the request gets its answer, the archive verifies, and no hidden
/// partial file stays.
#[test]
fn sigterm_during_a_backup_lets_it_finish() {
    let folder = TempDir::new().unwrap();
    let statistics = folder.path().join("data/statistics");
    std::fs::create_dir_all(&statistics).unwrap();
    // Enough data that the backup is still running when SIGTERM comes.
    let block: Vec<u8> = (0..1_048_576u32)
        .map(|index| (index.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let mut file = std::fs::File::create(statistics.join("traffic.db")).unwrap();
    for _ in 0..96 {
        std::io::Write::write_all(&mut file, &block).unwrap();
    }
    drop(file);

    let server = ServerProcess::start(folder.path(), "", "http", &[]);
    let hash = add_hash(folder.path(), "test", "127.0.0.1");
    let cookie = format!("access_hash={hash}");
    let url = format!("http://127.0.0.1:{}/api/v1/backups", server.port);
    let request = std::thread::spawn(move || {
        curl(&["-b", &cookie, "-d", "statistics=1", "-X", "POST", &url])
    });

    // SIGTERM once the archive is being written.
    let backups = folder.path().join("data/backups");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_dir(&backups).unwrap().any(|entry| {
        entry
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".partial")
    }) {
        assert!(Instant::now() < deadline, "no backup started");
        std::thread::sleep(Duration::from_millis(5));
    }
    let (code, _) = server.stop();

    assert_eq!(code, Some(0));
    let answer = request.join().unwrap();
    assert_eq!(answer["status"], "success", "{answer}");
    let names: Vec<String> = std::fs::read_dir(&backups)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(!names[0].starts_with('.'), "{names:?}");
    let report = puqbackup::verify::verify_path(
        &backups.join(&names[0]),
        &puqbackup::verify::VerifyOptions::default(),
        &mut |_, _| {},
    );
    assert!(report.valid, "{:?}", report.problems);
}
