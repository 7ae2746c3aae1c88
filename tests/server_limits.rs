//! How many connections the server holds at once: one over
//! `max_connections` is answered `503` in the envelope and closed, the ones
//! already open keep being served, and a closed one frees its place.

// A test fails by panicking; `expect` says what was expected.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod server_support;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use server_support::TestServer;

/// A raw connection, with reads that give up after ten seconds.
fn connect(server: &TestServer) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", server.port)).expect("the server accepts");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

/// A status request with the server's valid hash.
fn status_head(server: &TestServer) -> String {
    format!(
        "GET /api/v1/system/status HTTP/1.1\r\nhost: test\r\ncookie: access_hash={}\r\n\r\n",
        server.hashes.valid
    )
}

/// Sends a status request on `stream` (kept alive) and answers the status
/// code and body of its answer.
fn status_request(server: &TestServer, stream: &mut TcpStream) -> (u16, String) {
    stream.write_all(status_head(server).as_bytes()).unwrap();
    read_one(stream)
}

/// Reads one answer with a `content-length` off `stream`.
fn read_one(stream: &mut TcpStream) -> (u16, String) {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        if let Some(end) = received.windows(4).position(|window| window == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&received[..end]).to_lowercase();
            let length: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .map(|value| value.trim().parse().expect("a length"))
                .expect("a content-length header");
            if received.len() >= end + 4 + length {
                let status = head[9..12].parse().expect("a status code");
                let body = String::from_utf8_lossy(&received[end + 4..end + 4 + length]);
                return (status, body.into_owned());
            }
        }
        let count = stream.read(&mut buffer).expect("the answer arrives");
        assert!(count > 0, "closed mid-answer: {received:?}");
        received.extend_from_slice(&buffer[..count]);
    }
}

/// Waits until the server closes `stream`; fails after ten seconds.
fn closed(stream: &mut TcpStream) {
    let mut buffer = [0u8; 256];
    let started = Instant::now();
    while stream.read(&mut buffer).expect("closed, not silent") > 0 {
        assert!(started.elapsed() < Duration::from_secs(10), "still open");
    }
}

#[test]
fn a_connection_over_the_limit_is_answered_503_and_the_others_are_served() {
    let server = TestServer::start_with(|settings| {
        settings.max_connections = 2;
        settings.header_read_timeout_seconds = 60;
    });
    let mut first = connect(&server);
    let mut second = connect(&server);
    assert_eq!(status_request(&server, &mut first).0, 200);
    assert_eq!(status_request(&server, &mut second).0, 200);

    // Both places are taken by kept-alive connections: a third is refused
    // in the envelope and closed.
    let mut third = connect(&server);
    third.write_all(status_head(&server).as_bytes()).unwrap();
    let (status, body) = read_one(&mut third);
    assert_eq!(status, 503, "{body}");
    let envelope: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(envelope["status"], "error", "{envelope}");
    assert_eq!(envelope["msg"], "", "{envelope}");
    assert!(
        envelope["error"]
            .as_str()
            .unwrap()
            .contains("2 connections"),
        "{envelope}"
    );
    closed(&mut third);

    // The open ones are still served, and closing one frees its place.
    assert_eq!(status_request(&server, &mut first).0, 200);
    second.shutdown(Shutdown::Both).unwrap();
    drop(second);
    let started = Instant::now();
    let answered = loop {
        let mut next = connect(&server);
        let answer = status_request(&server, &mut next);
        if answer.0 == 200 || started.elapsed() > Duration::from_secs(10) {
            break answer;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(answered.0, 200, "{}", answered.1);
}
