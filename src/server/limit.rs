//! How many connections the server holds at once.
//!
//! Every accepted connection takes a permit for as long as it stays open.
//! A connection accepted when none is left is answered at once and closed:
//! over plain HTTP with `503` in the envelope, over TLS (where nothing can
//! be said before a handshake the server will not spend) by closing it. So
//! a flood of connections costs the server one file descriptor each for a
//! moment, and the ones already being served keep their answers coming.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::http::StatusCode;
use axum_server::accept::Accept;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::envelope::Failure;

/// How long a refused client is given to take its answer.
const REFUSAL_TIME: Duration = Duration::from_secs(1);

/// An acceptor that lets at most a fixed number of connections through to
/// `inner`.
#[derive(Clone)]
pub struct ConnectionLimit<A> {
    inner: A,
    permits: Arc<Semaphore>,
    limit: usize,
    answer_refusals: bool,
}

impl<A> ConnectionLimit<A> {
    /// At most `limit` connections through `inner` at once. With
    /// `answer_refusals`, a connection over the limit is answered `503`
    /// in plain HTTP before it is closed.
    pub fn new(inner: A, limit: usize, answer_refusals: bool) -> ConnectionLimit<A> {
        let limit = limit.max(1);
        ConnectionLimit {
            inner,
            permits: Arc::new(Semaphore::new(limit)),
            limit,
            answer_refusals,
        }
    }
}

impl<A, I, S> Accept<I, S> for ConnectionLimit<A>
where
    A: Accept<I, S>,
    A::Future: Send + 'static,
    A::Stream: Unpin,
    A::Service: Send + 'static,
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = Counted<A::Stream>;
    type Service = A::Service;
    type Future =
        Pin<Box<dyn Future<Output = io::Result<(Counted<A::Stream>, A::Service)>> + Send>>;

    fn accept(&self, stream: I, service: S) -> Self::Future {
        let Ok(permit) = self.permits.clone().try_acquire_owned() else {
            let limit = self.limit;
            let answer = self.answer_refusals;
            return Box::pin(async move {
                tracing::warn!("refused a connection: {limit} connections are open already");
                if answer {
                    refuse(stream, limit).await;
                }
                Err(io::Error::other("too many connections"))
            });
        };
        let accepted = self.inner.accept(stream, service);
        Box::pin(async move {
            let (stream, service) = accepted.await?;
            Ok((
                Counted {
                    inner: stream,
                    _permit: permit,
                },
                service,
            ))
        })
    }
}

/// Answers a connection over the limit `503` in the envelope, then lets
/// the client's request drain for a moment so that closing does not reset
/// the connection before the answer is read.
async fn refuse<I: AsyncRead + AsyncWrite + Unpin>(mut stream: I, limit: usize) {
    let body = Failure::new(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("the server holds {limit} connections already; try again later"),
    )
    .body();
    let head = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = tokio::time::timeout(REFUSAL_TIME, async {
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(&body).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 4096];
        while stream.read(&mut sink).await? > 0 {}
        Ok::<(), io::Error>(())
    })
    .await;
}

/// A connection holding one of the limit's permits until it is dropped.
pub struct Counted<T> {
    inner: T,
    _permit: OwnedSemaphorePermit,
}

impl<T: AsyncRead + Unpin> AsyncRead for Counted<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(context, buffer)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Counted<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(context, buffer)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffers: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(context, buffers)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(context)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(context)
    }
}
