//! A request handler that panics, behind [`run_detached`] layered as the
//! server's router layers it: the client gets `500` in the error envelope,
//! with nothing of the panic in it, and the server keeps serving.

// A test fails by panicking; `expect` says what was expected.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::middleware;
use axum::routing::{get, post};
use puqbackup::server::edge::run_detached;

/// The words the first handler panics with; no answer may carry them.
const PANIC_TEXT: &str = "handler-gave-up-3f9c1a";

/// What the second handler is sent, and panics with once it has read it.
const BODY_TEXT: &str = "held-body-secret-b27e40";

/// The error text of the envelope for a handler that failed.
const FAILED_TEXT: &str = "the server failed while answering this request";

async fn panics_at_once() -> &'static str {
    panic!("{PANIC_TEXT}");
}

/// Panics while it holds the body it read, so that the panic unwinds
/// through a handler that owns the request's data.
async fn panics_holding_the_body(body: Bytes) -> &'static str {
    let held = body;
    panic!("{PANIC_TEXT} with {}", String::from_utf8_lossy(&held));
}

async fn answers() -> &'static str {
    "still here"
}

/// The routes above with [`run_detached`] around them, as `router()` puts
/// it: the layer nearest the handlers, over the routes and the fallback.
fn application() -> Router {
    Router::new()
        .route("/panic", get(panics_at_once))
        .route("/panic-with-body", post(panics_holding_the_body))
        .route("/fine", get(answers))
        .layer(middleware::from_fn(run_detached))
}

/// The application served on 127.0.0.1, for as long as it is kept.
struct Served {
    port: u16,
    // Dropping the runtime stops the server.
    _runtime: tokio::runtime::Runtime,
}

impl Served {
    fn start() -> Served {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("a port on 127.0.0.1");
        let port = listener.local_addr().unwrap().port();
        runtime.spawn(async move { axum::serve(listener, application()).await });
        Served {
            port,
            _runtime: runtime,
        }
    }

    /// Sends `request` on a new connection and reads until the server
    /// closes it; answers the status and everything that came, head and
    /// body. Fails when no answer comes.
    fn exchange(&self, request: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("the server accepts");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut received = Vec::new();
        stream
            .read_to_end(&mut received)
            .expect("an answer, then the connection closed");
        let answer = String::from_utf8(received).expect("an answer in UTF-8");
        let status = answer
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("no status in `{answer}`"));
        (status, answer)
    }

    /// Fails unless a request on a new connection is answered as usual.
    fn assert_still_answering(&self) {
        let (status, answer) =
            self.exchange("GET /fine HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        assert_eq!(status, 200, "{answer}");
        assert!(answer.ends_with("still here"), "{answer}");
    }
}

/// Fails unless `answer` (head and body) is `500` with the error envelope
/// and shows nothing of the panic.
fn assert_failed_quietly(answer: &str) {
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no end of the head in `{answer}`"));
    assert!(head.starts_with("HTTP/1.1 500 "), "{answer}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{answer}"
    );
    let json: serde_json::Value =
        serde_json::from_str(body).unwrap_or_else(|error| panic!("not JSON ({error}): {body}"));
    assert_eq!(
        json,
        serde_json::json!({"status": "error", "msg": "", "error": FAILED_TEXT}),
        "{answer}"
    );
    for secret in [PANIC_TEXT, BODY_TEXT, "panicked", "src/", ".rs:"] {
        assert!(
            !answer.contains(secret),
            "the answer shows `{secret}`: {answer}"
        );
    }
}

/// A handler that panics at once is answered `500` in the envelope, and
/// the server answers the next request on a new connection.
#[test]
fn a_handler_that_panics_is_answered_500_in_the_envelope() {
    let served = Served::start();

    let (status, answer) =
        served.exchange("GET /panic HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    assert_eq!(status, 500, "{answer}");
    assert_failed_quietly(&answer);

    served.assert_still_answering();
}

/// A handler that panics after it read the body, while it holds it, is
/// answered the same: `500` in the envelope with neither the panic nor the
/// body in it; then twice more, and the server still answers.
#[test]
fn a_handler_that_panics_holding_the_body_is_answered_500() {
    let served = Served::start();
    let request = format!(
        "POST /panic-with-body HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Content-Type: text/plain\r\nContent-Length: {}\r\n\r\n{BODY_TEXT}",
        BODY_TEXT.len()
    );

    // More than once: a panic must not leave the next one unanswered.
    for _ in 0..3 {
        let (status, answer) = served.exchange(&request);
        assert_eq!(status, 500, "{answer}");
        assert_failed_quietly(&answer);
    }

    served.assert_still_answering();
}

/// The check of this file holds: a `500` envelope that carries the panic's
/// words is caught.
#[test]
#[should_panic(expected = "the answer shows")]
fn the_quiet_check_catches_a_panic_text() {
    let body = format!(r#"{{"status":"error","msg":"","error":"{FAILED_TEXT}"}}"#);
    let leaked = format!(
        "HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/json\r\n\
         x-panic: {PANIC_TEXT}\r\n\r\n{body}"
    );
    assert_failed_quietly(&leaked);
}
