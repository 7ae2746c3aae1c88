//! The server's edge: what a request may bring and how long it may take
//! before any handler reads it.
//!
//! - a request line and headers larger than [`MAX_URI_BYTES`] and
//!   [`MAX_HEADER_BYTES`] are answered `414` and `431` in the envelope;
//! - every request body is a [`TimedBody`]: a body that pauses longer than
//!   the body timeout fails, and the request is answered `408`;
//! - every request runs as a task of its own ([`run_detached`]);
//! - the answer to a request whose body was not read whole says that the
//!   connection closes ([`close_unread`]).
//!
//! The header read timeout itself is the HTTP layer's (see
//! [`super::run`]): a client that does not finish its headers in time has
//! its connection closed, since no request exists yet to answer.

use std::error::Error;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::{Frame, SizeHint};
use http_body_util::LengthLimitError;
use tokio::time::Sleep;

use super::AppState;
use super::envelope::Failure;

/// The longest path and query string read, in bytes.
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// The most header bytes (names and values) read.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// The body timeout of a request, for extractors that bound a whole body.
#[derive(Debug, Clone, Copy)]
pub struct BodyTimeout(pub Duration);

impl BodyTimeout {
    /// The answer to a body that did not arrive in time: `408`.
    pub fn failure(self) -> Failure {
        Failure::new(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "the request body did not arrive within {} s",
                self.0.as_secs()
            ),
        )
    }
}

/// The error of a [`TimedBody`] that paused too long.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the request body paused for more than {} s", .0.as_secs())]
pub struct BodyTimedOut(pub Duration);

/// A request body that fails when no piece of it arrives for `pause`. The
/// clock starts when the body is first read, so a handler that waits before
/// reading does not use up the client's time.
pub struct TimedBody {
    inner: Body,
    pause: Duration,
    sleep: Option<Pin<Box<Sleep>>>,
    timed_out: bool,
}

impl TimedBody {
    /// `inner`, failing after `pause` without data.
    pub fn new(inner: Body, pause: Duration) -> TimedBody {
        TimedBody {
            inner,
            pause,
            sleep: None,
            timed_out: false,
        }
    }
}

impl http_body::Body for TimedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        if this.timed_out {
            return Poll::Ready(Some(Err(axum::Error::new(BodyTimedOut(this.pause)))));
        }
        let pause = this.pause;
        let sleep = this
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(pause)));
        match Pin::new(&mut this.inner).poll_frame(context) {
            Poll::Ready(frame) => {
                // Each piece restarts the clock.
                sleep
                    .as_mut()
                    .reset(tokio::time::Instant::now() + this.pause);
                Poll::Ready(frame)
            }
            Poll::Pending => match sleep.as_mut().poll(context) {
                Poll::Ready(()) => {
                    this.timed_out = true;
                    Poll::Ready(Some(Err(axum::Error::new(BodyTimedOut(this.pause)))))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The answer to a body that could not be read whole: `408` when it paused
/// too long, `413` when it passed `limit` bytes, `400` otherwise (the
/// client closed the connection, or sent a malformed chunk).
pub fn body_failure(error: &(dyn Error + 'static), limit: u64) -> Failure {
    let mut cause: Option<&(dyn Error + 'static)> = Some(error);
    while let Some(current) = cause {
        if let Some(timed_out) = current.downcast_ref::<BodyTimedOut>() {
            return BodyTimeout(timed_out.0).failure();
        }
        if current.is::<LengthLimitError>() {
            return too_large(limit);
        }
        cause = current.source();
    }
    Failure::new(
        StatusCode::BAD_REQUEST,
        "the request body ended before it was complete",
    )
}

/// `413` for a body over `limit` bytes.
pub fn too_large(limit: u64) -> Failure {
    Failure::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("the request body is larger than {limit} bytes"),
    )
}

/// The body length a request declares in `Content-Length`, if it does.
pub fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Refuses a request whose path and query or whose headers are over the
/// limits, before anything else looks at it.
pub async fn limit_heads(request: Request, next: Next) -> Response {
    let uri_bytes = request
        .uri()
        .path_and_query()
        .map_or(0, |path| path.as_str().len());
    if uri_bytes > MAX_URI_BYTES {
        return Failure::new(
            StatusCode::URI_TOO_LONG,
            format!("the path and query string are longer than {MAX_URI_BYTES} bytes"),
        )
        .into_response();
    }
    let header_bytes: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if header_bytes > MAX_HEADER_BYTES {
        return Failure::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            format!("the headers are larger than {MAX_HEADER_BYTES} bytes"),
        )
        .into_response();
    }
    next.run(request).await
}

/// Says `Connection: close` on the answer to a request whose body was not
/// read to its end. The HTTP layer keeps a connection for the next request
/// only when this one was read whole, and drops it without saying so
/// otherwise: a client that kept it would send its next request on a
/// connection the server has dropped. Refusals answered before the body
/// (access, limits, unknown paths) are such answers.
pub async fn close_unread(request: Request, next: Next) -> Response {
    if !super::request::may_have_body(request.headers()) {
        return next.run(request).await;
    }
    let finished = Arc::new(AtomicBool::new(false));
    let request = request.map(|body| {
        Body::new(WatchedBody {
            inner: body,
            finished: Arc::clone(&finished),
        })
    });
    let mut response = next.run(request).await;
    if !finished.load(Ordering::Acquire) {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// A request body that records when it has been read to its end.
struct WatchedBody {
    inner: Body,
    finished: Arc<AtomicBool>,
}

impl http_body::Body for WatchedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(context);
        if matches!(polled, Poll::Ready(None)) || self.inner.is_end_stream() {
            self.finished.store(true, Ordering::Release);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Puts the body timeout on the request's body, and tells extractors what
/// it is.
pub async fn time_bodies(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let pause = state.settings.body_timeout();
    let (mut parts, body) = request.into_parts();
    parts.extensions.insert(BodyTimeout(pause));
    let body = Body::new(TimedBody::new(body, pause));
    next.run(Request::from_parts(parts, body)).await
}

/// Runs the rest of the request as a task of its own. A client that goes
/// away mid-request then does not cut a create or a restore off between
/// its steps (which would also free the operation lock while the work
/// still runs), and a handler that panics is answered `500` in the
/// envelope, with nothing of the panic in it.
pub async fn run_detached(request: Request, next: Next) -> Response {
    match tokio::spawn(next.run(request)).await {
        Ok(response) => response,
        Err(error) => {
            tracing::error!("a request handler failed: {error}");
            Failure::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the server failed while answering this request",
            )
            .into_response()
        }
    }
}

/// The text a failed background task gives a client: nothing of the
/// failure itself, which is logged.
pub fn task_failure(error: tokio::task::JoinError) -> &'static str {
    tracing::error!("a background task failed: {error}");
    "the operation stopped unexpectedly"
}
