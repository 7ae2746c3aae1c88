//! Positional reads from an archive, so that parsers never depend on a shared
//! file offset.

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

/// A `Read` over the byte range `[offset, end)` of a source.
pub(crate) struct Section<'a, S: ReadAt + ?Sized> {
    source: &'a S,
    position: u64,
    end: u64,
}

impl<'a, S: ReadAt + ?Sized> Section<'a, S> {
    pub(crate) fn new(source: &'a S, offset: u64, length: u64) -> Self {
        Section {
            source,
            position: offset,
            end: offset.saturating_add(length),
        }
    }
}

impl<S: ReadAt + ?Sized> io::Read for Section<'_, S> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let left = self.end.saturating_sub(self.position);
        if left == 0 || buffer.is_empty() {
            return Ok(0);
        }
        let wanted = usize::try_from(left)
            .unwrap_or(usize::MAX)
            .min(buffer.len());
        let count = self.source.read_at(&mut buffer[..wanted], self.position)?;
        if count == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "entry data runs past the end of the archive",
            ));
        }
        self.position += count as u64;
        Ok(count)
    }
}
