//! FTP upload against a real FTP server (libunftp) running in this process
//! on 127.0.0.1, with a temporary folder as its root.

// A test fails by panicking; `expect` says what was expected.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use libunftp::ServerBuilder;
use puqbackup::ftp::{FolderAction, FtpError, FtpSettings, TlsTrust, upload, upload_with_trust};
use tempfile::TempDir;
use unftp_core::auth::{AuthenticationError, Authenticator, Credentials, Principal};
use unftp_sbe_fs::Filesystem;

const USER: &str = "puqvpncp";
const PASSWORD: &str = "QWEqwe123-secret";

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
        if username == USER && credentials.password.as_deref() == Some(PASSWORD) {
            Ok(Principal {
                username: username.to_string(),
            })
        } else {
            Err(AuthenticationError::BadPassword)
        }
    }
}

/// A certificate and key for FTPS, as files the server reads.
struct Certificate {
    der: Vec<u8>,
    certificate_file: PathBuf,
    key_file: PathBuf,
    _folder: TempDir,
}

impl Certificate {
    /// A self-signed certificate for 127.0.0.1.
    fn for_loopback() -> Self {
        let generated =
            rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).expect("certificate");
        let folder = TempDir::new().unwrap();
        let certificate_file = folder.path().join("certificate.pem");
        let key_file = folder.path().join("key.pem");
        std::fs::write(&certificate_file, generated.cert.pem()).unwrap();
        std::fs::write(&key_file, generated.signing_key.serialize_pem()).unwrap();
        Certificate {
            der: generated.cert.der().to_vec(),
            certificate_file,
            key_file,
            _folder: folder,
        }
    }
}

/// An FTP server on an ephemeral port of 127.0.0.1, serving a temporary
/// folder, until dropped.
struct Server {
    root: TempDir,
    port: u16,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Server {
    fn start() -> Self {
        Self::start_with(None)
    }

    /// Starts the server; with a certificate it offers explicit FTPS.
    fn start_with(certificate: Option<&Certificate>) -> Self {
        let root = TempDir::new().unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();

        let home = root.path().to_path_buf();
        let tls_files = certificate.map(|c| (c.certificate_file.clone(), c.key_file.clone()));
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            // One server per connection, so the test knows the port before
            // anything listens on it.
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let home = home.clone();
                let mut builder = ServerBuilder::with_authenticator(
                    Box::new(move || Filesystem::new(home.clone()).unwrap()),
                    Arc::new(OneUser),
                )
                .passive_ports(49152..=65535);
                if let Some((certificate_file, key_file)) = &tls_files {
                    builder = builder.ftps(certificate_file.clone(), key_file.clone());
                }
                let server = builder.build().unwrap();
                tokio::spawn(server.service(stream));
            }
        });
        Server {
            root,
            port,
            runtime: Some(runtime),
        }
    }

    fn settings(&self, path: &str) -> FtpSettings {
        FtpSettings {
            server: "127.0.0.1".to_string(),
            port: self.port,
            user: USER.to_string(),
            password: PASSWORD.to_string(),
            path: path.to_string(),
            tls: false,
            connect_timeout: Duration::from_secs(5),
            transfer_timeout: Duration::from_secs(10),
        }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.root.path().join(relative)
    }

    /// Every file below the root, as relative paths, sorted.
    fn files(&self) -> Vec<String> {
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

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// A TCP relay in front of the server's control port that keeps what the
/// client sends, so a test can judge the commands. Data connections bypass
/// it: they go to the passive port the server announces.
struct CommandRecorder {
    port: u16,
    sent: Arc<Mutex<Vec<u8>>>,
}

impl CommandRecorder {
    /// Relays connections to `server_port`, one at a time.
    fn in_front_of(server_port: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let sent = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&sent);
        thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(mut client) = client else { return };
                let mut server = TcpStream::connect(("127.0.0.1", server_port)).unwrap();
                let mut client_reader = client.try_clone().unwrap();
                let mut server_writer = server.try_clone().unwrap();
                let record = Arc::clone(&record);
                thread::spawn(move || {
                    let mut buffer = [0; 4096];
                    while let Ok(count) = client_reader.read(&mut buffer) {
                        if count == 0 || server_writer.write_all(&buffer[..count]).is_err() {
                            break;
                        }
                        record.lock().unwrap().extend_from_slice(&buffer[..count]);
                    }
                    let _ = server_writer.shutdown(std::net::Shutdown::Write);
                });
                thread::spawn(move || {
                    let _ = std::io::copy(&mut server, &mut client);
                    let _ = client.shutdown(std::net::Shutdown::Write);
                });
            }
        });
        CommandRecorder { port, sent }
    }

    /// The command lines the client sent, in order.
    fn commands(&self) -> Vec<String> {
        let sent = self.sent.lock().unwrap();
        String::from_utf8_lossy(&sent)
            .split("\r\n")
            .filter(|line| !line.is_empty())
            .map(str::to_string)
            .collect()
    }
}

/// Bytes of every value, with many CR and LF bytes and lone LFs, which an
/// ASCII-mode transfer would rewrite.
fn mixed_bytes(length: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005) | 1;
    (0..length)
        .map(|index| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            match index % 7 {
                0 => b'\n',
                3 => b'\r',
                _ => (state >> 56) as u8,
            }
        })
        .collect()
}

/// A local file with `contents`, in a folder that lives as long as the
/// returned guard.
fn local_file(contents: &[u8]) -> (TempDir, PathBuf) {
    let folder = TempDir::new().unwrap();
    let path = folder.path().join("backup.zip");
    std::fs::write(&path, contents).unwrap();
    (folder, path)
}

/// Fails when the error's text or debug form holds the password.
fn assert_no_password(error: &FtpError) {
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains(PASSWORD), "the password leaked: {shown}");
}

/// A file with every byte value, CR and LF included, arrives byte for byte;
/// the report counts its bytes and no temporary file stays.
#[test]
fn upload_stores_the_exact_bytes() {
    let server = Server::start();
    let contents = mixed_bytes(3 * 1024 * 1024 + 17, 1);
    let (_local, local) = local_file(&contents);

    let report = upload(&server.settings(""), &local, "host_2023-01-28_12-50-42.zip").unwrap();

    let stored = std::fs::read(server.path("host_2023-01-28_12-50-42.zip")).unwrap();
    assert!(
        stored == contents,
        "the stored file differs from the local one"
    );
    assert_eq!(report.bytes, contents.len() as u64);
    assert_eq!(report.remote_path, "host_2023-01-28_12-50-42.zip");
    assert_eq!(server.files(), ["host_2023-01-28_12-50-42.zip"]);
}

/// The client switches to binary before storing, uses extended passive mode
/// where the server lists it, stores under the temporary name, and renames.
#[test]
fn the_upload_sends_binary_epsv_store_and_rename() {
    let server = Server::start();
    let recorder = CommandRecorder::in_front_of(server.port);
    let (_local, local) = local_file(b"backup");
    let mut settings = server.settings("");
    settings.port = recorder.port;

    upload(&settings, &local, "a.zip").unwrap();

    let commands = recorder.commands();
    let verbs: Vec<&str> = commands
        .iter()
        .map(|line| line.split(' ').next().unwrap_or_default())
        .filter(|verb| ["TYPE", "EPSV", "PASV", "STOR", "RNFR", "RNTO"].contains(verb))
        .collect();
    assert_eq!(
        verbs,
        ["TYPE", "EPSV", "STOR", "RNFR", "RNTO"],
        "{commands:?}"
    );
    assert!(commands.contains(&"TYPE I".to_string()), "{commands:?}");
    assert!(
        commands.contains(&"STOR .a.zip.partial".to_string()),
        "{commands:?}"
    );
    assert!(commands.contains(&"RNTO a.zip".to_string()), "{commands:?}");
}

/// Missing levels of `ftp_path` are created one by one.
#[test]
fn missing_folders_are_created() {
    let server = Server::start();
    let (_local, local) = local_file(b"backup\r\n");

    let report = upload(
        &server.settings("home/dev.softkeel.com/daily"),
        &local,
        "a.zip",
    )
    .unwrap();

    assert_eq!(report.remote_path, "home/dev.softkeel.com/daily/a.zip");
    assert_eq!(
        std::fs::read(server.path("home/dev.softkeel.com/daily/a.zip")).unwrap(),
        b"backup\r\n"
    );
}

/// An existing folder is reused with what it holds; a leading `/` starts at
/// the server's root.
#[test]
fn existing_folders_are_reused() {
    let server = Server::start();
    std::fs::create_dir_all(server.path("home/dev")).unwrap();
    std::fs::write(server.path("home/dev/older.zip"), b"older").unwrap();
    let (_local, local) = local_file(b"newer");

    upload(&server.settings("home/dev"), &local, "newer.zip").unwrap();
    let report = upload(&server.settings("/home/dev/"), &local, "third.zip").unwrap();

    assert_eq!(report.remote_path, "/home/dev/third.zip");
    assert_eq!(
        server.files(),
        [
            "home/dev/newer.zip",
            "home/dev/older.zip",
            "home/dev/third.zip"
        ]
    );
    assert_eq!(
        std::fs::read(server.path("home/dev/older.zip")).unwrap(),
        b"older"
    );
}

/// Uploading a name that exists replaces the file.
#[test]
fn uploading_again_replaces_the_file() {
    let server = Server::start();
    let (_first, first) = local_file(&mixed_bytes(100_000, 2));
    let second_contents = mixed_bytes(50_000, 3);
    let (_second, second) = local_file(&second_contents);

    upload(&server.settings("x"), &first, "same.zip").unwrap();
    upload(&server.settings("x"), &second, "same.zip").unwrap();

    assert!(std::fs::read(server.path("x/same.zip")).unwrap() == second_contents);
    assert_eq!(server.files(), ["x/same.zip"]);
}

/// A wrong password fails with the server's 530 reply first in the text,
/// without the password, and uploads nothing.
#[test]
fn a_wrong_password_is_a_login_error() {
    let server = Server::start();
    let (_local, local) = local_file(b"backup");
    let mut settings = server.settings("home");
    settings.password = format!("{PASSWORD}-wrong");

    let error = upload(&settings, &local, "a.zip").unwrap_err();

    assert!(matches!(error, FtpError::Login { .. }), "{error:?}");
    assert_eq!(error.reply().map(|reply| reply.code), Some(530));
    assert!(error.to_string().starts_with("530 "), "{error}");
    assert_no_password(&error);
    assert!(!error.to_string().contains("-wrong"), "{error}");
    assert!(server.files().is_empty() && !server.path("home").exists());
}

/// A regular file where a folder is needed fails with a folder error that
/// names the folder, and uploads nothing.
#[test]
fn a_folder_that_cannot_be_created_is_named() {
    let server = Server::start();
    std::fs::create_dir(server.path("home")).unwrap();
    std::fs::write(server.path("home/taken"), b"a file").unwrap();
    let (_local, local) = local_file(b"backup");

    let error = upload(&server.settings("home/taken/deeper"), &local, "a.zip").unwrap_err();

    match &error {
        FtpError::Folder { folder, action, .. } => {
            assert_eq!(folder, "home/taken");
            assert_eq!(*action, FolderAction::Create);
        }
        other => panic!("expected a folder error, got {other:?}"),
    }
    let text = error.to_string();
    assert!(
        text.starts_with("cannot create folder `home/taken`: 5"),
        "{text}"
    );
    assert_no_password(&error);
    assert_eq!(server.files(), ["home/taken"]);
}

/// A port where nothing listens fails with a connect error, quickly.
#[test]
fn a_server_that_is_down_is_a_connect_error() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let (_local, local) = local_file(b"backup");
    let settings = FtpSettings {
        server: "127.0.0.1".to_string(),
        port,
        user: USER.to_string(),
        password: PASSWORD.to_string(),
        path: String::new(),
        tls: false,
        connect_timeout: Duration::from_secs(2),
        transfer_timeout: Duration::from_secs(2),
    };

    let started = Instant::now();
    let error = upload(&settings, &local, "a.zip").unwrap_err();

    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(matches!(error, FtpError::Connect { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        format!("cannot connect to `127.0.0.1:{port}`: connection refused")
    );
    assert_no_password(&error);
}

/// A server that accepts the connection but never greets fails with a
/// timeout after about the configured time.
#[test]
fn a_silent_server_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let holder = thread::spawn(move || {
        // Hold the connection open, silently, until the client gives up.
        let (mut stream, _) = listener.accept().unwrap();
        let mut sink = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stream, &mut sink);
    });
    let (_local, local) = local_file(b"backup");
    let settings = FtpSettings {
        server: "localhost".to_string(),
        port,
        user: USER.to_string(),
        password: PASSWORD.to_string(),
        path: String::new(),
        tls: false,
        connect_timeout: Duration::from_secs(1),
        transfer_timeout: Duration::from_secs(1),
    };

    let started = Instant::now();
    let error = upload(&settings, &local, "a.zip").unwrap_err();
    let elapsed = started.elapsed();

    assert!(elapsed >= Duration::from_millis(900), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    match &error {
        FtpError::Timeout { after, .. } => assert_eq!(*after, Duration::from_secs(1)),
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert_eq!(
        error.to_string(),
        format!("timed out after 1 s waiting for the greeting of `localhost:{port}`")
    );
    assert_no_password(&error);
    holder.join().unwrap();
}

/// While a large file is being sent, the final name either does not exist or
/// holds the complete file: the partial file lives under the temporary name.
#[test]
fn the_final_name_never_shows_a_partial_file() {
    let server = Server::start();
    let contents = mixed_bytes(24 * 1024 * 1024, 4);
    let full = contents.len() as u64;
    let (_local, local) = local_file(&contents);
    std::fs::create_dir(server.path("up")).unwrap();

    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let done = Arc::clone(&done);
        let final_path = server.path("up/big.zip");
        let partial_path = server.path("up/.big.zip.partial");
        thread::spawn(move || {
            let mut partial_seen = false;
            let mut short_finals = Vec::new();
            while !done.load(Ordering::SeqCst) {
                if let Ok(metadata) = std::fs::metadata(&final_path)
                    && metadata.len() != full
                {
                    short_finals.push(metadata.len());
                }
                partial_seen |= partial_path.exists();
                thread::sleep(Duration::from_micros(200));
            }
            (partial_seen, short_finals)
        })
    };

    let report = upload(&server.settings("up"), &local, "big.zip").unwrap();
    done.store(true, Ordering::SeqCst);
    let (partial_seen, short_finals) = watcher.join().unwrap();

    assert!(
        short_finals.is_empty(),
        "the final name showed sizes {short_finals:?}"
    );
    assert!(partial_seen, "the upload never showed its temporary name");
    assert_eq!(report.bytes, full);
    assert!(std::fs::read(server.path("up/big.zip")).unwrap() == contents);
    assert_eq!(server.files(), ["up/big.zip"]);
}

/// A missing local file fails before any connection, naming the file.
#[test]
fn a_missing_local_file_is_named() {
    let server = Server::start();
    let missing = Path::new("/nonexistent/backup.zip");

    let error = upload(&server.settings(""), missing, "a.zip").unwrap_err();

    assert!(matches!(error, FtpError::LocalFile { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .starts_with("cannot read `/nonexistent/backup.zip`: "),
        "{error}"
    );
}

/// With `tls` on, the upload goes over explicit FTPS to a server whose
/// certificate is trusted, and arrives byte for byte.
#[test]
fn tls_uploads_to_a_trusted_server() {
    let certificate = Certificate::for_loopback();
    let server = Server::start_with(Some(&certificate));
    let contents = mixed_bytes(512 * 1024, 5);
    let (_local, local) = local_file(&contents);
    let mut settings = server.settings("secure");
    settings.tls = true;
    let trust = TlsTrust::Certificates(vec![certificate.der.clone()]);

    let report = upload_with_trust(&settings, &trust, &local, "a.zip").unwrap();

    assert_eq!(report.bytes, contents.len() as u64);
    assert!(std::fs::read(server.path("secure/a.zip")).unwrap() == contents);
    assert_eq!(server.files(), ["secure/a.zip"]);
}

/// With `tls` on, a certificate that chains to nothing trusted is a TLS
/// error that names the certificate, and nothing is uploaded.
#[test]
fn tls_refuses_an_untrusted_certificate() {
    let certificate = Certificate::for_loopback();
    let other = Certificate::for_loopback();
    let server = Server::start_with(Some(&certificate));
    let (_local, local) = local_file(b"backup");
    let mut settings = server.settings("");
    settings.tls = true;
    let trust = TlsTrust::Certificates(vec![other.der.clone()]);

    // In about one refused handshake of five, libunftp answers with a record
    // that is no TLS (`received corrupt message`) before the client judges
    // the certificate; a few attempts make the certificate error show.
    let mut texts = Vec::new();
    for _ in 0..5 {
        let error = upload_with_trust(&settings, &trust, &local, "a.zip").unwrap_err();
        assert!(matches!(error, FtpError::Tls { .. }), "{error:?}");
        assert_no_password(&error);
        texts.push(error.to_string());
        if texts
            .last()
            .is_some_and(|text| text.contains("invalid peer certificate"))
        {
            break;
        }
    }

    assert!(
        texts
            .iter()
            .any(|text| text.contains("invalid peer certificate")),
        "no attempt named the certificate: {texts:?}"
    );
    assert!(server.files().is_empty());
}

/// With `tls` on, a server without FTPS refuses `AUTH TLS`: a TLS error with
/// the server's reply, and the password is never sent in the clear.
#[test]
fn tls_to_a_plain_server_is_refused() {
    let server = Server::start();
    let (_local, local) = local_file(b"backup");
    let mut settings = server.settings("");
    settings.tls = true;
    let trust = TlsTrust::Certificates(vec![Certificate::for_loopback().der]);

    let error = upload_with_trust(&settings, &trust, &local, "a.zip").unwrap_err();

    assert!(matches!(error, FtpError::Tls { .. }), "{error:?}");
    let code = error.reply().map(|reply| reply.code).unwrap_or_default();
    assert!((500..600).contains(&code), "{error}");
    assert_no_password(&error);
    assert!(server.files().is_empty());
}
