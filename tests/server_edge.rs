//! The backups API server at its edge, over raw TCP where a real client
//! could not misbehave enough: bodies, parameters, paths and headers over
//! the limits, malformed cookies, repeated parameters, unknown methods and
//! paths, request heads the HTTP layer cannot parse, path tricks in backup
//! names, clients that stall in their headers or bodies, and error answers
//! that must not show where the server keeps its data.

// A test fails by panicking; `expect` says what was expected.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod server_support;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use puqbackup::catalogue::ApiError;
use server_support::{Cookie, HOST, TestServer, fixture, tree_contents};

const FORM: &str = "application/x-www-form-urlencoded";

/// A name in the backup format.
fn name_at(time: &str) -> String {
    format!("{HOST}_{time}.zip")
}

/// One answer read off a raw connection.
#[derive(Debug)]
struct Raw {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Raw {
    /// The body as JSON; fails when it is not.
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "not JSON ({error}): {}\n{}",
                self.head,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// Fails unless this is the error envelope with `status` and an error
    /// text starting with `text`; answers the text.
    fn refused(&self, status: u16, text: &str) -> String {
        let json = self.json();
        assert_eq!(self.status, status, "{json}");
        assert_eq!(json["status"], "error", "{json}");
        assert_eq!(json["msg"], "", "{json}");
        let error = json["error"].as_str().expect("an error text").to_string();
        assert!(
            error.starts_with(text),
            "`{error}` does not start with `{text}`"
        );
        error
    }
}

/// A connection to the test server, with reads that give up after `limit`.
fn connect(server: &TestServer, limit: Duration) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", server.port)).expect("the server accepts");
    stream.set_read_timeout(Some(limit)).unwrap();
    stream
}

/// Reads one answer: the head up to the blank line, then `Content-Length`
/// bytes of body.
fn read_answer(stream: &mut TcpStream) -> Raw {
    let mut received = Vec::new();
    let mut byte = [0u8; 1];
    while !received.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(0) => panic!(
                "the connection closed before an answer: {}",
                String::from_utf8_lossy(&received)
            ),
            Ok(_) => received.push(byte[0]),
            Err(error) => panic!("no answer: {error}"),
        }
    }
    let head = String::from_utf8_lossy(&received).into_owned();
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head}"));
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).expect("the whole body");
    Raw { status, head, body }
}

/// Sends `request` as written on a new connection and reads the answer.
fn exchange(server: &TestServer, request: &[u8]) -> Raw {
    let mut stream = connect(server, Duration::from_secs(20));
    stream.write_all(request).unwrap();
    read_answer(&mut stream)
}

/// A request head with the valid hash (unless `cookie` is given) and
/// `extra` header lines, each ending in CRLF.
fn head(server: &TestServer, method: &str, path: &str, extra: &str) -> String {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: access_hash={}\r\n{extra}\r\n",
        server.hashes.valid
    )
}

/// Waits up to `limit` for the server to close `stream`; answers how long
/// that took, or `None` when it stayed open. Anything the server sends
/// before closing is read and dropped.
fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut buffer = [0u8; 1024];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return Some(started.elapsed()),
            Ok(_) => continue,
            Err(error) if error.kind() == ErrorKind::ConnectionReset => {
                return Some(started.elapsed());
            }
            Err(_) => return None,
        }
    }
}

/// Fails if `body` shows the server's data folder or the temporary folder
/// around it, in any spelling.
fn assert_private(server: &TestServer, body: &[u8]) {
    let text = String::from_utf8_lossy(body);
    let mut secrets = vec![
        server.data_dir().to_string_lossy().into_owned(),
        server.root().to_string_lossy().into_owned(),
    ];
    if let Ok(resolved) = server.root().canonicalize() {
        secrets.push(resolved.to_string_lossy().into_owned());
    }
    for secret in secrets {
        assert!(
            !text.contains(&secret),
            "the answer shows `{secret}`: {text}"
        );
    }
    assert!(!text.contains("panicked"), "{text}");
    assert!(!text.contains("src/"), "{text}");
}

/// A form body declared larger than 64 KiB is answered 413 before a byte of
/// it is sent; one sent in chunks stops at the limit; the settings stay.
#[test]
fn an_oversized_form_is_refused_before_it_is_read() {
    let server = TestServer::start();
    let before = server.get("/api/v1/backups/config").success();

    let request = head(
        &server,
        "PUT",
        "/api/v1/backups/config",
        "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000000\r\n",
    );
    let started = Instant::now();
    let answer = exchange(&server, request.as_bytes());
    answer.refused(413, "the request body is larger than 65536 bytes");
    assert!(started.elapsed() < Duration::from_secs(5));

    // Chunked, so that no length is declared: 70 chunks of 1 KiB.
    let mut stream = connect(&server, Duration::from_secs(20));
    let request = head(
        &server,
        "PUT",
        "/api/v1/backups/config",
        "Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n",
    );
    stream.write_all(request.as_bytes()).unwrap();
    let chunk = format!("400\r\n{}\r\n", "a".repeat(1024));
    for _ in 0..70 {
        if stream.write_all(chunk.as_bytes()).is_err() {
            break;
        }
    }
    let answer = read_answer(&mut stream);
    answer.refused(413, "the request body is larger than 65536 bytes");

    assert_eq!(server.get("/api/v1/backups/config").success(), before);
}

/// An upload declared larger than `max_upload_bytes` is answered 413 at
/// once, and one that grows past it midway too; neither leaves a file.
#[test]
fn an_oversized_upload_is_refused_before_a_file_is_made() {
    let server = TestServer::start_with(|settings| settings.max_upload_bytes = 2000);
    let path = format!(
        "/api/v1/backups/upload?backup_name={}",
        name_at("2026-02-01_00-00-00")
    );

    let request = head(&server, "POST", &path, "Content-Length: 1000000\r\n");
    exchange(&server, request.as_bytes())
        .refused(413, "the request body is larger than 2000 bytes");
    assert!(server.backups_folder_names().is_empty());

    let mut stream = connect(&server, Duration::from_secs(20));
    let request = head(&server, "POST", &path, "Transfer-Encoding: chunked\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let chunk = format!("400\r\n{}\r\n", "z".repeat(1024));
    for _ in 0..3 {
        stream.write_all(chunk.as_bytes()).unwrap();
    }
    read_answer(&mut stream).refused(413, "the request body is larger than 2000 bytes");
    assert!(
        server.wait_for(Duration::from_secs(5), || server
            .backups_folder_names()
            .is_empty()),
        "left behind: {:?}",
        server.backups_folder_names()
    );
}

/// A parameter value or name over its limit, too many parameters, a path
/// and query over 8 KiB, and headers over 16 KiB are each refused in the
/// envelope with their own status, and nothing changes.
#[test]
fn oversized_parameters_paths_and_headers_are_refused() {
    let server = TestServer::start();
    let before = server.get("/api/v1/backups/config").success();

    let long_password = format!("ftp_password={}", "p".repeat(4097));
    let error = server
        .form("PUT", "/api/v1/backups/config", &long_password)
        .refused(
            400,
            "the parameter `ftp_password` is longer than 4096 bytes",
        );
    assert!(!error.contains("pppp"), "{error}");

    let long_name = format!("{}=1", "n".repeat(65));
    server
        .form("PUT", "/api/v1/backups/config", &long_name)
        .refused(400, "a parameter name is longer than 64 bytes");

    let many: Vec<String> = (0..40).map(|index| format!("unused{index}=1")).collect();
    server
        .form("PUT", "/api/v1/backups/config", &many.join("&"))
        .refused(400, "the request has 40 parameters; at most 32 are read");

    let long_query = format!("/api/v1/backups?padding={}", "q".repeat(9000));
    let request = head(&server, "GET", &long_query, "");
    exchange(&server, request.as_bytes())
        .refused(414, "the path and query string are longer than 8192 bytes");

    let big_header = format!("X-Padding: {}\r\n", "h".repeat(17 * 1024));
    let request = head(&server, "GET", "/api/v1/backups", &big_header);
    exchange(&server, request.as_bytes()).refused(431, "the headers are larger than 16384 bytes");

    // Also without a valid hash: the limits come before the access check.
    let request = format!("GET {long_query} HTTP/1.1\r\nHost: x\r\n\r\n");
    exchange(&server, request.as_bytes()).refused(414, "the path and query string");

    assert_eq!(server.get("/api/v1/backups/config").success(), before);
    assert!(server.backups_folder_names().is_empty());
}

/// Malformed cookies are `Not authorized`: `access_hash` twice (even with
/// the valid hash both times, or beside a bad one), bytes that are not
/// UTF-8, a NUL, no `=`, junk around the hash, and a header of junk. The
/// valid hash in quotes or among other cookies passes.
#[test]
fn malformed_cookies_are_not_authorized() {
    let server = TestServer::start();
    let valid = server.hashes.valid.clone();

    let refused_cookies = [
        format!("access_hash={valid}; access_hash={valid}"),
        format!("access_hash={valid}; access_hash=bad"),
        format!("access_hash=bad; access_hash={valid}"),
        format!("access_hash {valid}"),
        format!("access_hash={valid}x"),
        format!("access_hash=x{valid}"),
        format!("access_hash={}", &valid[..79]),
        format!("access_hash=\"{valid}"),
        format!("access_hash=={valid}"),
        format!("{}; access_hash", "junk;".repeat(1000)),
        ";;;===;;;".to_string(),
    ];
    for cookie in &refused_cookies {
        let answer = server.send("GET", "/api/v1/backups", Cookie::Raw(cookie), None, &[]);
        assert_eq!(
            answer.status,
            401,
            "{cookie}: {}",
            String::from_utf8_lossy(&answer.body)
        );
        answer.refused(401, ApiError::NotAuthorized.text());
    }

    // Two Cookie headers, each with the hash.
    let request = format!(
        "GET /api/v1/backups HTTP/1.1\r\nHost: x\r\nCookie: access_hash={valid}\r\nCookie: access_hash={valid}\r\n\r\n"
    );
    exchange(&server, request.as_bytes()).refused(401, ApiError::NotAuthorized.text());

    // Bytes a client library would not send: Latin-1 and a NUL.
    let mut request = b"GET /api/v1/backups HTTP/1.1\r\nHost: x\r\nCookie: access_hash=".to_vec();
    request.extend_from_slice(valid.as_bytes());
    request.extend_from_slice(b"\xe9\r\n\r\n");
    exchange(&server, &request).refused(401, ApiError::NotAuthorized.text());
    let mut request =
        b"GET /api/v1/backups HTTP/1.1\r\nHost: x\r\nCookie: \xff\xfe; access_hash=".to_vec();
    request.extend_from_slice(valid.as_bytes());
    request.extend_from_slice(b"\r\n\r\n");
    exchange(&server, &request).refused(401, ApiError::NotAuthorized.text());
    let mut request = b"GET /api/v1/backups HTTP/1.1\r\nHost: x\r\nCookie: access_hash=".to_vec();
    request.extend_from_slice(valid.as_bytes());
    request.extend_from_slice(b"\0\r\n\r\n");
    let answer = exchange(&server, &request);
    assert!(
        answer.status == 400 || answer.status == 401,
        "a NUL in a header is refused: {answer:?}"
    );
    assert_private(&server, &answer.body);

    for cookie in [
        format!("access_hash=\"{valid}\""),
        format!("theme=dark;access_hash={valid};  lang=en"),
    ] {
        server
            .send("GET", "/api/v1/backups", Cookie::Raw(&cookie), None, &[])
            .success();
    }
}

/// A parameter given twice, in the body, or once in the query and once in
/// the body, is refused with 400 on every endpoint that takes parameters,
/// and nothing is done.
#[test]
fn repeated_parameters_are_refused_everywhere() {
    let server = TestServer::start();
    let placed = name_at("2026-01-05_10-00-00");
    server.place_fixture("valid-config-only.zip", &placed);
    let settings_before = server.get("/api/v1/backups/config").success();
    let config_before = tree_contents(&server.config_dir());

    server
        .form("POST", "/api/v1/backups", "statistics=0&statistics=1")
        .refused(400, "the parameter `statistics` is given more than once");
    server
        .form("POST", "/api/v1/backups?statistics=1", "statistics=1")
        .refused(400, "the parameter `statistics` is given more than once");
    server
        .form(
            "PUT",
            "/api/v1/backups/restore",
            &format!("backup_name={placed}&backup_name={placed}"),
        )
        .refused(400, "the parameter `backup_name` is given more than once");
    server
        .form(
            "PUT",
            "/api/v1/backups/config?number_backups=2",
            "number_backups=3",
        )
        .refused(
            400,
            "the parameter `number_backups` is given more than once",
        );
    let upload = std::fs::read(fixture("valid-config-only.zip")).unwrap();
    let path = format!(
        "/api/v1/backups/upload?backup_name={}&backup_name={}",
        name_at("2026-02-01_00-00-00"),
        name_at("2026-02-02_00-00-00")
    );
    server
        .send(
            "POST",
            &path,
            Cookie::Hash(&server.hashes.valid),
            Some(("application/zip", upload)),
            &[],
        )
        .refused(400, "the parameter `backup_name` is given more than once");

    assert_eq!(server.backups_folder_names(), [placed]);
    assert_eq!(
        server.get("/api/v1/backups/config").success(),
        settings_before
    );
    assert_eq!(tree_contents(&server.config_dir()), config_before);
}

/// Methods no endpoint takes, standard or invented, answer 405 on known
/// paths and 404 on unknown ones, in the envelope, and 401 first without a
/// hash; a request line the HTTP layer cannot read gets a bare 400; HEAD
/// of the list answers its headers only.
#[test]
fn unknown_methods_and_paths_answer_in_the_envelope() {
    let server = TestServer::start();

    for method in ["PATCH", "OPTIONS", "TRACE", "BREW", "PROPFIND"] {
        for path in [
            "/api/v1/backups",
            "/api/v1/backups/config",
            "/api/v1/system/status",
        ] {
            let request = head(&server, method, path, "");
            exchange(&server, request.as_bytes())
                .refused(405, "this endpoint does not take that method");
            let request = format!("{method} {path} HTTP/1.1\r\nHost: x\r\n\r\n");
            exchange(&server, request.as_bytes()).refused(401, ApiError::NotAuthorized.text());
        }
        for path in [
            "/",
            "/api",
            "/api/v2/backups",
            "/api/v1/backups/a/b",
            "/.git/config",
        ] {
            let request = head(&server, method, path, "");
            exchange(&server, request.as_bytes()).refused(404, "no such endpoint");
        }
    }

    for garbage in [
        &b"GARBAGE\r\n\r\n"[..],
        b"GET /api/v1/backups HTTP/9.9\r\n\r\n",
        b"GET\x01 / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
    ] {
        let mut stream = connect(&server, Duration::from_secs(10));
        stream.write_all(garbage).unwrap();
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        let text = String::from_utf8_lossy(&answer);
        assert!(
            text.is_empty() || text.starts_with("HTTP/1.1 4"),
            "{:?}: {text}",
            String::from_utf8_lossy(garbage)
        );
        assert_private(&server, &answer);
    }

    let request = head(&server, "HEAD", "/api/v1/backups", "");
    let mut stream = connect(&server, Duration::from_secs(10));
    stream.write_all(request.as_bytes()).unwrap();
    let mut received = Vec::new();
    let mut byte = [0u8; 1];
    while !received.ends_with(b"\r\n\r\n") {
        assert_eq!(stream.read(&mut byte).unwrap(), 1);
        received.push(byte[0]);
    }
    assert!(String::from_utf8_lossy(&received).starts_with("HTTP/1.1 200"));

    // The server still answers after all of that.
    server.get("/api/v1/backups").success();
}

/// Sends `request` on a new connection, from a thread of its own so that a
/// server which answers before reading it all is not kept waiting, and
/// reads until the server closes. Answers what came before the close, or
/// `None` when nothing did.
fn answer_before_close(server: &TestServer, request: Vec<u8>) -> Option<Raw> {
    let mut stream = connect(server, Duration::from_secs(20));
    let mut writer = stream.try_clone().unwrap();
    // A write error only means the server stopped reading; the answer
    // tells why.
    let sender = std::thread::spawn(move || {
        let _ = writer.write_all(&request);
    });
    let mut received = Vec::new();
    match stream.read_to_end(&mut received) {
        Ok(_) => {}
        // A reset may follow an answer sent before the request was read
        // whole; what arrived before it is kept.
        Err(error) if error.kind() == ErrorKind::ConnectionReset => {}
        Err(error) => panic!("the server neither answered nor closed: {error}"),
    }
    sender.join().unwrap();
    if received.is_empty() {
        return None;
    }

    let text = String::from_utf8_lossy(&received).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("an answer without the end of its head: {text}"));
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head}"));
    Some(Raw {
        status,
        head: head.to_string(),
        body: body.as_bytes().to_vec(),
    })
}

/// Request heads the HTTP layer cannot parse are answered by it, before
/// any of the server's own code: a bad request line (junk, a NUL in the
/// method or the target, an unknown HTTP version, a byte that is no
/// token) or header line gets `400`, and a head of 600 KiB, past the
/// layer's read buffer of about 408 KiB, gets `431`. Each answer is bare
/// (an empty body, `connection: close`), never a `5xx`, never shows the
/// data folder, and the server serves the next request.
#[test]
fn malformed_request_heads_are_refused_by_the_http_layer() {
    let server = TestServer::start();
    let padding = "h".repeat(600 * 1024);
    let one_huge_header =
        format!("GET /api/v1/backups HTTP/1.1\r\nHost: x\r\nX-Padding: {padding}\r\n\r\n");
    let many_headers: String = (0..6000)
        .map(|index| format!("X-Padding-{index}: {}\r\n", "v".repeat(90)))
        .collect();
    let many_headers = format!("GET /api/v1/backups HTTP/1.1\r\nHost: x\r\n{many_headers}\r\n");

    // The answer each one gets, as the HTTP layer gives it today.
    let cases: [(&str, Vec<u8>, u16); 9] = [
        ("junk", b"GARBAGE\r\n\r\n".to_vec(), 400),
        (
            "a NUL in the target",
            b"GET /\0 HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            400,
        ),
        (
            "a NUL in the method",
            b"GE\0T / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            400,
        ),
        (
            "a control byte in the method",
            b"GET\x01 / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            400,
        ),
        (
            "HTTP/9.9",
            b"GET / HTTP/9.9\r\nHost: x\r\n\r\n".to_vec(),
            400,
        ),
        (
            "HTTP/9.9 without a host",
            b"GET /api/v1/backups HTTP/9.9\r\n\r\n".to_vec(),
            400,
        ),
        (
            "a header without a colon",
            b"GET / HTTP/1.1\r\nBad Header\r\n\r\n".to_vec(),
            400,
        ),
        ("one header of 600 KiB", one_huge_header.into_bytes(), 431),
        ("6000 headers of 100 bytes", many_headers.into_bytes(), 431),
    ];
    for (what, request, expected) in cases {
        let answer = answer_before_close(&server, request);

        // A close without an answer is allowed for a head that is too large:
        // the server's close of a connection it did not read whole may be
        // a reset, which can overtake the answer.
        let Some(answer) = answer else {
            assert_eq!(expected, 431, "{what}: closed without an answer");
            server.get("/api/v1/backups").success();
            continue;
        };
        assert!(
            (400..500).contains(&answer.status),
            "{what}: not a 4xx: {answer:?}"
        );
        assert_eq!(answer.status, expected, "{what}: {answer:?}");
        let head = answer.head.to_ascii_lowercase();
        assert!(head.contains("connection: close"), "{what}: {answer:?}");
        // Bare today; the envelope with the same status would do as well.
        if !answer.body.is_empty() {
            answer.refused(expected, "");
        }
        assert_private(&server, answer.head.as_bytes());
        assert_private(&server, &answer.body);

        server.get("/api/v1/backups").success();
    }
}

/// Backup names that try to leave the backups folder (`..`, encoded
/// slashes and backslashes, absolute paths, NUL, bytes that are not UTF-8)
/// or that are symbolic links to files outside it answer `There is no
/// backup with this name` for download, delete and restore, and `400` for
/// an upload; nothing outside the backups folder is read, changed or made.
#[test]
fn path_tricks_never_reach_outside_the_backups_folder() {
    let server = TestServer::start();
    let placed = name_at("2026-01-05_10-00-00");
    server.place_fixture("valid-config-only.zip", &placed);

    // A backup-shaped file beside the backups folder, and a link to it.
    let outside_name = name_at("2026-01-01_00-00-00");
    let outside = server.data_dir().join(&outside_name);
    std::fs::copy(fixture("valid-with-statistics.zip"), &outside).unwrap();
    let linked = name_at("2026-01-02_00-00-00");
    std::os::unix::fs::symlink(&outside, server.backups_dir().join(&linked)).unwrap();
    let data_before = tree_contents(&server.data_dir());

    let absolute = outside.to_string_lossy().replace('/', "%2F");
    let tricks = [
        format!("..%2F{outside_name}"),
        format!("%2E%2E%2F{outside_name}"),
        format!("..%5C{outside_name}"),
        format!("%2E%2E%5C{outside_name}"),
        absolute.clone(),
        format!("{HOST}_2026-01-05_10-00-00.zip%00"),
        format!("%00{placed}"),
        format!("{HOST}_2026-01-05_10-00-00%00.zip"),
        "..".to_string(),
        ".".to_string(),
        "%2E%2E".to_string(),
        format!("%FF{placed}"),
        format!(".{placed}"),
        linked.clone(),
    ];
    for trick in &tricks {
        let path = format!("/api/v1/backups/{trick}");
        for method in ["GET", "DELETE"] {
            let answer = exchange(&server, head(&server, method, &path, "").as_bytes());
            let error = answer.refused(404, "");
            assert!(
                error == ApiError::NoSuchBackup.text() || error == "no such endpoint",
                "{method} {path}: {error}"
            );
            assert_private(&server, &answer.body);
        }
        let answer = server.form(
            "PUT",
            "/api/v1/backups/restore",
            &format!("backup_name={trick}"),
        );
        answer.refused(404, ApiError::NoSuchBackup.text());
        assert_private(&server, &answer.body);
    }

    // Tricks the URL parser sees as segments: they never match a backup.
    for path in [
        format!("/api/v1/backups/../{outside_name}"),
        format!("/api/v1/backups/../../{outside_name}"),
        format!("/api/v1/backups//{}", outside.display()),
        format!("/api/v1/backups/./{placed}/.."),
    ] {
        let answer = exchange(&server, head(&server, "GET", &path, "").as_bytes());
        assert_eq!(answer.status, 404, "{path}: {answer:?}");
        assert_private(&server, &answer.body);
    }

    // Restore and upload take names in the form, where a slash can be
    // written as it is.
    for name in [
        format!("../{outside_name}"),
        outside.to_string_lossy().into_owned(),
        format!("..\\{outside_name}"),
        format!("{placed}\u{0}"),
    ] {
        let encoded = name
            .replace('%', "%25")
            .replace('/', "%2F")
            .replace('\0', "%00");
        let answer = server.form(
            "PUT",
            "/api/v1/backups/restore",
            &format!("backup_name={encoded}"),
        );
        answer.refused(404, ApiError::NoSuchBackup.text());
        let upload = std::fs::read(fixture("valid-config-only.zip")).unwrap();
        let answer = server.send(
            "POST",
            &format!(
                "/api/v1/backups/upload?backup_name={}",
                encoded.replace('\\', "%5C")
            ),
            Cookie::Hash(&server.hashes.valid),
            Some(("application/zip", upload)),
            &[],
        );
        answer.refused(400, "`");
        assert_private(&server, &answer.body);
    }

    // The link is not listed, the outside file and everything else in the
    // data folder is as it was, and the real backup is still served.
    assert_eq!(server.listed(), std::slice::from_ref(&placed));
    assert_eq!(tree_contents(&server.data_dir()), data_before);
    let served = server.get(&format!("/api/v1/backups/{placed}"));
    assert_eq!(served.status, 200);
    assert_eq!(
        served.body,
        std::fs::read(fixture("valid-config-only.zip")).unwrap()
    );
}

/// A client that stops in the middle of its headers, or that connects and
/// sends nothing, is disconnected after `header_read_timeout_seconds`, and
/// the server keeps answering others meanwhile.
#[test]
fn a_client_that_stalls_in_its_headers_is_disconnected() {
    let server = TestServer::start_with(|settings| settings.header_read_timeout_seconds = 1);

    let mut half = connect(&server, Duration::from_secs(10));
    half.write_all(b"GET /api/v1/backups HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: acc")
        .unwrap();
    let mut silent = connect(&server, Duration::from_secs(10));

    // Others are served while the two wait.
    server.get("/api/v1/backups").success();

    let closed =
        closed_within(&mut half, Duration::from_secs(8)).expect("the half head is cut off");
    assert!(closed >= Duration::from_millis(500), "{closed:?}");
    assert!(closed < Duration::from_secs(5), "{closed:?}");
    let closed =
        closed_within(&mut silent, Duration::from_secs(8)).expect("the silent client is cut off");
    assert!(closed < Duration::from_secs(5), "{closed:?}");

    // A kept-alive connection that goes quiet after an answer is closed too.
    let mut kept = connect(&server, Duration::from_secs(10));
    kept.write_all(head(&server, "GET", "/api/v1/backups", "").as_bytes())
        .unwrap();
    assert_eq!(read_answer(&mut kept).status, 200);
    assert!(closed_within(&mut kept, Duration::from_secs(8)).is_some());

    server.get("/api/v1/backups").success();
}

/// A form body that stops arriving is answered 408 after
/// `body_timeout_seconds`, as is one that trickles in for longer than that
/// in all; an upload that stops is answered 408 and leaves no file, while
/// one whose pieces keep coming is taken however long it takes in all.
#[test]
fn a_client_that_stalls_in_its_body_is_answered_408() {
    let server = TestServer::start_with(|settings| settings.body_timeout_seconds = 1);
    let before = server.get("/api/v1/backups/config").success();

    // A form that stops after 10 of its 100 bytes.
    let mut stream = connect(&server, Duration::from_secs(10));
    let request = head(
        &server,
        "PUT",
        "/api/v1/backups/config",
        "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n",
    );
    stream.write_all(request.as_bytes()).unwrap();
    stream.write_all(b"number_bac").unwrap();
    let started = Instant::now();
    read_answer(&mut stream).refused(408, "the request body did not arrive within 1 s");
    assert!(started.elapsed() < Duration::from_secs(5));

    // A form that trickles a byte every 300 ms: each piece is in time, the
    // whole is not.
    let mut stream = connect(&server, Duration::from_secs(10));
    let body = "number_backups=3";
    let request = head(
        &server,
        "PUT",
        "/api/v1/backups/config",
        &format!("Content-Type: {FORM}\r\nContent-Length: {}\r\n", body.len()),
    );
    stream.write_all(request.as_bytes()).unwrap();
    let trickle = {
        let mut writer = stream.try_clone().unwrap();
        std::thread::spawn(move || {
            for byte in body.bytes() {
                if writer.write_all(&[byte]).is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(300));
            }
        })
    };
    read_answer(&mut stream).refused(408, "the request body did not arrive within 1 s");
    trickle.join().unwrap();
    assert_eq!(server.get("/api/v1/backups/config").success(), before);

    // An upload that stops halfway.
    let archive = std::fs::read(fixture("valid-config-only.zip")).unwrap();
    let path = format!(
        "/api/v1/backups/upload?backup_name={}",
        name_at("2026-02-01_00-00-00")
    );
    let mut stream = connect(&server, Duration::from_secs(10));
    let request = head(
        &server,
        "POST",
        &path,
        &format!("Content-Length: {}\r\n", archive.len()),
    );
    stream.write_all(request.as_bytes()).unwrap();
    stream.write_all(&archive[..archive.len() / 2]).unwrap();
    read_answer(&mut stream).refused(408, "the request body did not arrive within 1 s");
    assert!(
        server.wait_for(Duration::from_secs(5), || server
            .backups_folder_names()
            .is_empty()),
        "left behind: {:?}",
        server.backups_folder_names()
    );

    // An upload in eight pieces 400 ms apart: 3 s in all, no pause over 1 s.
    let mut stream = connect(&server, Duration::from_secs(20));
    stream.write_all(request.as_bytes()).unwrap();
    for piece in archive.chunks(archive.len().div_ceil(8)) {
        stream.write_all(piece).unwrap();
        std::thread::sleep(Duration::from_millis(400));
    }
    let answer = read_answer(&mut stream);
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    assert_eq!(server.listed(), [name_at("2026-02-01_00-00-00")]);
}

/// Error answers of the endpoints whose engines name files (create,
/// restore, upload, the settings) show none of the server's folders: the
/// folder is written as its placeholder and the rest of the message stays.
#[test]
fn error_answers_never_show_the_data_folder() {
    let server = TestServer::start();

    // Create: a FIFO in the configuration tree.
    let fifo = server.config_dir().join("wireguard").join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let answer = server.form("POST", "/api/v1/backups", "statistics=0");
    let error = answer.refused(500, ApiError::BackupCreation.text());
    assert!(error.contains("pipe"), "{error}");
    assert_private(&server, &answer.body);
    std::fs::remove_file(&fifo).unwrap();

    // Create: the backups folder is a file.
    std::fs::remove_dir(server.backups_dir()).unwrap();
    std::fs::write(server.backups_dir(), b"not a folder").unwrap();
    let answer = server.form("POST", "/api/v1/backups", "statistics=1");
    answer.refused(500, ApiError::BackupCreation.text());
    assert_private(&server, &answer.body);
    std::fs::remove_file(server.backups_dir()).unwrap();
    std::fs::create_dir(server.backups_dir()).unwrap();

    // Restore of archives that fail their check, each in its own way.
    for (index, damaged) in [
        "not-a-zip.zip",
        "truncated.zip",
        "hash-mismatch.zip",
        "corrupt-deflate.zip",
        "path-traversal.zip",
    ]
    .iter()
    .enumerate()
    {
        let name = name_at(&format!("2026-01-0{}_00-00-00", index + 1));
        server.place_fixture(damaged, &name);
        let answer = server.form(
            "PUT",
            "/api/v1/backups/restore",
            &format!("backup_name={name}"),
        );
        assert!(answer.status >= 400, "{damaged}: {}", answer.status);
        assert_private(&server, &answer.body);
    }

    // Upload of archives that fail the verify, named by their hidden
    // temporary file.
    for damaged in ["not-a-zip.zip", "crc-mismatch.zip", "empty.zip"] {
        let answer = server.send(
            "POST",
            &format!(
                "/api/v1/backups/upload?backup_name={}",
                name_at("2026-03-01_00-00-00")
            ),
            Cookie::Hash(&server.hashes.valid),
            Some(("application/zip", std::fs::read(fixture(damaged)).unwrap())),
            &[],
        );
        assert_eq!(answer.status, 422, "{damaged}");
        assert_private(&server, &answer.body);
    }

    // The settings cannot be saved: a folder stands where the file goes.
    let settings_file = server.data_dir().join("backup-settings.json");
    let _ = std::fs::remove_file(&settings_file);
    std::fs::create_dir(&settings_file).unwrap();
    std::fs::write(settings_file.join("keep"), b"").unwrap();
    let answer = server.form("PUT", "/api/v1/backups/config", "number_backups=4");
    answer.refused(500, "cannot save the backup settings");
    assert_private(&server, &answer.body);
}

/// An engine message that names a file in the data folder reaches the
/// client with the folder as a placeholder: the name of the file and the
/// cause stay readable.
#[test]
fn a_named_file_keeps_its_name_under_a_placeholder() {
    let server = TestServer::start();
    let fifo = server.config_dir().join("wireguard").join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());

    let answer = server.form("POST", "/api/v1/backups", "statistics=0");
    let error = answer.refused(500, ApiError::BackupCreation.text());
    assert_eq!(
        error,
        "Error backup creation: `<config>/wireguard/pipe` is a FIFO: \
         only regular files and folders can be backed up"
    );
    std::fs::remove_file(&fifo).unwrap();

    std::fs::remove_dir(server.backups_dir()).unwrap();
    std::fs::write(server.backups_dir(), b"not a folder").unwrap();
    let error = server
        .form("POST", "/api/v1/backups", "statistics=0")
        .refused(500, ApiError::BackupCreation.text());
    assert!(
        error.starts_with("Error backup creation: cannot write `<backups>/.test.host_"),
        "{error}"
    );
}

/// Many clients at once, each sending its own bad value, each get an error
/// that names their value and no other client's.
#[test]
fn no_client_sees_another_clients_input() {
    let server = TestServer::start();
    std::thread::scope(|scope| {
        for client in 0..8 {
            let server = &server;
            scope.spawn(move || {
                for round in 0..15 {
                    let token = format!("token-{client}-{round}-end");
                    let answer = server.form(
                        "PUT",
                        "/api/v1/backups/config",
                        &format!("every_day_hour={token}"),
                    );
                    let error = answer.refused(400, ApiError::DailyHourRange.text());
                    assert!(error.contains(&token), "{error}");
                    let others = error.matches("token-").count();
                    assert_eq!(others, 1, "{error}");
                }
            });
        }
    });
}

/// The helpers of this file hold: an answer with the data folder in it is
/// caught.
#[test]
#[should_panic(expected = "the answer shows")]
fn the_privacy_check_catches_a_path() {
    let server = TestServer::start();
    let leaked = format!("{{\"error\": \"{}\"}}", server.data_dir().display());
    assert_private(&server, leaked.as_bytes());
}

/// A request refused for its missing hash is answered without its body
/// being read, and when it has one the answer says the connection closes:
/// a client that kept it would send its next request on a connection the
/// server drops. A refused request without a body keeps the connection.
#[test]
fn a_refused_request_with_a_body_closes_the_connection() {
    let server = TestServer::start();
    let mut stream = connect(&server, Duration::from_secs(20));
    let refused = "PUT /api/v1/backups/restore HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 16\r\n\r\n";
    stream.write_all(refused.as_bytes()).unwrap();
    let answer = read_answer(&mut stream);
    answer.refused(401, "Not authorized");
    assert!(
        answer
            .head
            .to_ascii_lowercase()
            .contains("connection: close"),
        "{}",
        answer.head
    );
    assert!(closed_within(&mut stream, Duration::from_secs(10)).is_some());

    let mut stream = connect(&server, Duration::from_secs(20));
    let refused = "GET /api/v1/backups HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    stream.write_all(refused.as_bytes()).unwrap();
    let answer = read_answer(&mut stream);
    answer.refused(401, "Not authorized");
    assert!(
        !answer
            .head
            .to_ascii_lowercase()
            .contains("connection: close"),
        "{}",
        answer.head
    );
    stream
        .write_all(head(&server, "GET", "/api/v1/backups", "").as_bytes())
        .unwrap();
    let answer = read_answer(&mut stream);
    assert_eq!(answer.status, 200, "{}", answer.head);
}

/// Any answer given before the request's body was read to its end says
/// that the connection closes: a path over the limit, a form declared over
/// its limit, a body sent to an unknown path or with a method the path does
/// not take. A body that was read whole, even one then refused, keeps the
/// connection.
#[test]
fn answers_before_the_body_is_read_close_the_connection() {
    let server = TestServer::start();
    let form = "Content-Type: application/x-www-form-urlencoded\r\n";
    let long_path = format!("/api/v1/backups/config?{}", "a".repeat(9000));
    for (method, path, extra, status) in [
        ("PUT", long_path.as_str(), "Content-Length: 16\r\n", 414),
        (
            "PUT",
            "/api/v1/backups/config",
            "Content-Length: 100000000\r\n",
            413,
        ),
        ("POST", "/api/v1/nowhere", "Content-Length: 16\r\n", 404),
        (
            "PATCH",
            "/api/v1/backups/config",
            "Content-Length: 16\r\n",
            405,
        ),
    ] {
        let mut stream = connect(&server, Duration::from_secs(20));
        let request = head(&server, method, path, &format!("{form}{extra}"));
        stream.write_all(request.as_bytes()).unwrap();
        let answer = read_answer(&mut stream);
        assert_eq!(answer.status, status, "{method} {status}: {}", answer.head);
        let head = answer.head.to_ascii_lowercase();
        assert!(
            head.contains("connection: close"),
            "{method} {status}: {head}"
        );
        assert!(closed_within(&mut stream, Duration::from_secs(10)).is_some());
    }

    // Read whole, then refused for what it says: the connection stays.
    let mut stream = connect(&server, Duration::from_secs(20));
    let body = "every_hour=maybe";
    let extra = format!("{form}Content-Length: {}\r\n", body.len());
    let request = head(&server, "PUT", "/api/v1/backups/config", &extra) + body;
    stream.write_all(request.as_bytes()).unwrap();
    let answer = read_answer(&mut stream);
    assert_eq!(answer.status, 400, "{}", answer.head);
    let head_text = answer.head.to_ascii_lowercase();
    assert!(!head_text.contains("connection: close"), "{head_text}");
    stream
        .write_all(head(&server, "GET", "/api/v1/backups", "").as_bytes())
        .unwrap();
    let answer = read_answer(&mut stream);
    assert_eq!(answer.status, 200, "{}", answer.head);
}
