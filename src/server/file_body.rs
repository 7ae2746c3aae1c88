//! A response body that sends a stretch of a file, reading the next piece
//! while the one before is being written to the socket.
//!
//! Reading a piece and sending it take about as long on loopback, and
//! each on a core of its own: with one read always ahead, the two overlap
//! instead of taking turns. Reads are positional, so no file offset is
//! shared, and each piece is read straight into the buffer that is sent.

use std::fs::File;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use axum::body::Bytes;
use http_body::{Body, Frame, SizeHint};
use rustix::buffer::spare_capacity;
use tokio::task::JoinHandle;

/// One piece being read: its bytes, or why it could not be read.
type PieceRead = JoinHandle<io::Result<Vec<u8>>>;

/// `length` bytes of a file from `offset`, in pieces of `piece` bytes.
pub struct FileBody {
    file: Arc<File>,
    /// Where the next piece not yet asked for begins.
    next: u64,
    /// Bytes not yet asked for.
    unread: u64,
    /// Bytes not yet handed to the connection.
    unsent: u64,
    piece: usize,
    reading: Option<PieceRead>,
}

impl FileBody {
    /// The body of `length` bytes of `file` from `offset`. The first piece
    /// is asked for at once.
    pub fn new(file: File, offset: u64, length: u64, piece: usize) -> FileBody {
        let mut body = FileBody {
            file: Arc::new(file),
            next: offset,
            unread: length,
            unsent: length,
            piece: piece.max(1),
            reading: None,
        };
        body.reading = body.read_ahead();
        body
    }

    /// Starts reading the next piece, if any bytes are left to ask for.
    fn read_ahead(&mut self) -> Option<PieceRead> {
        if self.unread == 0 {
            return None;
        }
        let size = self.unread.min(self.piece as u64);
        let offset = self.next;
        self.next += size;
        self.unread -= size;
        let file = Arc::clone(&self.file);
        Some(tokio::task::spawn_blocking(move || {
            read_piece(&file, offset, size as usize)
        }))
    }
}

/// Exactly `size` bytes of `file` from `offset`; a file that ends sooner
/// (cut while it is being sent) is an error, since the length was promised.
/// The bytes are read into the buffer's spare room, which is never zeroed
/// first: clearing each piece took a seventh of a download's time.
fn read_piece(file: &File, offset: u64, size: usize) -> io::Result<Vec<u8>> {
    let mut buffer = Vec::with_capacity(size);
    while buffer.len() < size {
        let at = offset + buffer.len() as u64;
        match rustix::io::pread(file, spare_capacity(&mut buffer), at) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the file ended before its announced length",
                ));
            }
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(buffer)
}

impl Body for FileBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let Some(reading) = self.reading.as_mut() else {
            return Poll::Ready(None);
        };
        let finished = ready!(Pin::new(reading).poll(context));
        self.reading = None;
        let piece = match finished {
            Ok(Ok(piece)) => piece,
            Ok(Err(error)) => return Poll::Ready(Some(Err(error))),
            Err(join) => return Poll::Ready(Some(Err(io::Error::other(join)))),
        };
        self.unsent -= piece.len() as u64;
        self.reading = self.read_ahead();
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(piece)))))
    }

    fn is_end_stream(&self) -> bool {
        self.unsent == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.unsent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use std::io::Write;

    fn file_of(bytes: &[u8]) -> File {
        let mut file = tempfile::tempfile().expect("a temporary file");
        file.write_all(bytes).expect("written");
        file
    }

    async fn collected(body: FileBody) -> io::Result<Vec<u8>> {
        Ok(body.collect().await?.to_bytes().to_vec())
    }

    #[tokio::test]
    async fn a_stretch_arrives_whole_and_in_order() {
        let bytes: Vec<u8> = (0..100_000u32).map(|n| (n % 251) as u8).collect();
        for (offset, length, piece) in [(0, 100_000, 4096), (7, 99_990, 1000), (50_000, 1, 7)] {
            let body = FileBody::new(file_of(&bytes), offset, length, piece);
            assert_eq!(body.size_hint().exact(), Some(length));
            let sent = collected(body).await.expect("read");
            let start = offset as usize;
            assert_eq!(sent, &bytes[start..start + length as usize]);
        }
    }

    #[tokio::test]
    async fn an_empty_stretch_ends_at_once() {
        let body = FileBody::new(file_of(b"abc"), 0, 0, 16);
        assert!(body.is_end_stream());
        assert!(collected(body).await.expect("read").is_empty());
    }

    #[tokio::test]
    async fn a_file_shorter_than_promised_is_an_error() {
        let body = FileBody::new(file_of(&[1; 10]), 0, 20, 8);
        let error = collected(body).await.expect_err("the file is too short");
        assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
    }
}
