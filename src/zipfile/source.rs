//! Positional reads from an archive, so that parsers never depend on a shared
//! file offset.

use std::cell::RefCell;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// Something an archive can be read from at arbitrary offsets.
pub trait ReadAt {
    /// The total length in bytes.
    fn length(&self) -> io::Result<u64>;

    /// Reads into `buffer` from `offset`; answers how many bytes were read,
    /// 0 at the end.
    fn read_at(&self, buffer: &mut [u8], offset: u64) -> io::Result<usize>;

    /// Fills `buffer` from `offset`, or fails with `UnexpectedEof`.
    fn read_exact_at(&self, mut buffer: &mut [u8], mut offset: u64) -> io::Result<()> {
        while !buffer.is_empty() {
            match self.read_at(buffer, offset) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("archive ends before offset {offset}"),
                    ));
                }
                Ok(count) => {
                    buffer = &mut buffer[count..];
                    offset += count as u64;
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }
}

impl ReadAt for File {
    fn length(&self) -> io::Result<u64> {
        Ok(self.metadata()?.len())
    }

    fn read_at(&self, buffer: &mut [u8], offset: u64) -> io::Result<usize> {
        FileExt::read_at(self, buffer, offset)
    }
}

impl ReadAt for [u8] {
    fn length(&self) -> io::Result<u64> {
        Ok(self.len() as u64)
    }

    fn read_at(&self, buffer: &mut [u8], offset: u64) -> io::Result<usize> {
        let Ok(start) = usize::try_from(offset) else {
            return Ok(0);
        };
        let available = self.get(start..).unwrap_or(&[]);
        let count = available.len().min(buffer.len());
        buffer[..count].copy_from_slice(&available[..count]);
        Ok(count)
    }
}

impl ReadAt for Vec<u8> {
    fn length(&self) -> io::Result<u64> {
        self.as_slice().length()
    }

    fn read_at(&self, buffer: &mut [u8], offset: u64) -> io::Result<usize> {
        self.as_slice().read_at(buffer, offset)
    }
}

/// A source read ahead: a read that misses the window held in memory loads
/// the stretch that starts where it does, so many small reads close together
/// cost one read of the source. Reads larger than the window go straight
/// through.
pub struct ReadAhead<'a, S: ReadAt + ?Sized> {
    source: &'a S,
    length: u64,
    capacity: usize,
    window: RefCell<Window>,
}

#[derive(Default)]
struct Window {
    start: u64,
    bytes: Vec<u8>,
}

impl<'a, S: ReadAt + ?Sized> ReadAhead<'a, S> {
    /// A reader of `source`, whose length is `length`, through windows of
    /// `capacity` bytes.
    pub fn new(source: &'a S, length: u64, capacity: usize) -> Self {
        ReadAhead {
            source,
            length,
            capacity,
            window: RefCell::new(Window::default()),
        }
    }

    /// Loads `[start, start + length)`, clipped to the end of the source, as
    /// the window, whatever its size.
    ///
    /// # Errors
    /// When reading the source fails.
    pub fn load(&self, start: u64, length: u64) -> io::Result<()> {
        let end = start.saturating_add(length).min(self.length);
        let length = usize::try_from(end.saturating_sub(start))
            .map_err(|_| io::Error::other("read-ahead window too large"))?;
        let mut window = self.window.borrow_mut();
        window.start = start;
        window.bytes.resize(length, 0);
        if let Err(error) = self.source.read_exact_at(&mut window.bytes, start) {
            window.bytes.clear();
            return Err(error);
        }
        Ok(())
    }
}

impl<S: ReadAt + ?Sized> ReadAt for ReadAhead<'_, S> {
    fn length(&self) -> io::Result<u64> {
        Ok(self.length)
    }

    fn read_at(&self, buffer: &mut [u8], offset: u64) -> io::Result<usize> {
        if !self.window_holds(offset) {
            // Windows only move forward, so that however the reads jump,
            // no byte is loaded twice.
            if buffer.len() >= self.capacity || offset >= self.length || self.behind(offset) {
                return self.source.read_at(buffer, offset);
            }
            self.load(offset, self.capacity as u64)?;
        }
        let window = self.window.borrow();
        let skip = usize::try_from(offset - window.start).unwrap_or(usize::MAX);
        let available = window.bytes.get(skip..).unwrap_or(&[]);
        let count = available.len().min(buffer.len());
        buffer[..count].copy_from_slice(&available[..count]);
        Ok(count)
    }
}

impl<S: ReadAt + ?Sized> ReadAhead<'_, S> {
    fn window_holds(&self, offset: u64) -> bool {
        let window = self.window.borrow();
        offset >= window.start && offset - window.start < window.bytes.len() as u64
    }

    fn behind(&self, offset: u64) -> bool {
        offset < self.window.borrow().start
    }
}
