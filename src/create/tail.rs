//! A writer that keeps the end of the archive in memory.
//!
//! The zip writer goes back to every entry's local header once the entry is
//! complete, to write its CRC and sizes. Through a plain buffered writer each
//! of those trips flushes the buffer and costs two seeks and two writes,
//! which for a tree of tiny files is most of the system calls a backup makes.
//! [`TailWriter`] holds the last bytes written, up to a few MiB, so that going
//! back into them, and filling in a header there, costs nothing; only bytes
//! that left memory long ago are written in place with a positional write.

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;

/// Once this much is held, the older part is written out.
const HELD: usize = 4 << 20;

/// What stays in memory after writing out: enough for any small entry and
/// its header.
const KEPT: usize = 2 << 20;

/// A seekable writer over `file` that holds the bytes from `start` on.
pub struct TailWriter<'f> {
    file: &'f File,
    tail: RefCell<Tail>,
}

struct Tail {
    /// The file offset of `bytes[0]`.
    start: u64,
    bytes: Vec<u8>,
    /// Where the next write goes.
    position: u64,
    /// The end of what was written, on disk or held.
    end: u64,
}

impl<'f> TailWriter<'f> {
    /// A writer at the start of `file`, which is taken to be empty.
    pub fn new(file: &'f File) -> Self {
        TailWriter {
            file,
            tail: RefCell::new(Tail {
                start: 0,
                bytes: Vec::with_capacity(HELD + HELD / 4),
                position: 0,
                end: 0,
            }),
        }
    }

    /// Where the next write goes.
    pub fn position(&self) -> u64 {
        self.tail.borrow().position
    }

    /// Reads `length` bytes at `offset` from memory or, when they left it,
    /// from the file.
    pub fn read_at(&self, offset: u64, length: usize) -> io::Result<Vec<u8>> {
        let tail = self.tail.borrow();
        let mut bytes = vec![0u8; length];
        let end = offset + length as u64;
        if end > tail.end {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "read past the end of the archive",
            ));
        }
        if offset < tail.start {
            let on_disk = (tail.start.min(end) - offset) as usize;
            self.file.read_exact_at(&mut bytes[..on_disk], offset)?;
        }
        if end > tail.start {
            let from = offset.max(tail.start);
            let held = &tail.bytes[(from - tail.start) as usize..(end - tail.start) as usize];
            bytes[(from - offset) as usize..].copy_from_slice(held);
        }
        Ok(bytes)
    }

    /// Writes `bytes` at `offset` without moving the write position; the
    /// range must already have been written.
    pub fn patch(&self, offset: u64, bytes: &[u8]) -> io::Result<()> {
        let mut tail = self.tail.borrow_mut();
        if offset + bytes.len() as u64 > tail.end {
            return Err(io::Error::other("patch past the end of the archive"));
        }
        tail.write_at(self.file, offset, bytes)
    }

    /// Writes out what is held; the file then holds every byte written.
    pub fn finish(self) -> io::Result<()> {
        let mut tail = self.tail.into_inner();
        let length = tail.bytes.len();
        tail.write_out(self.file, length)
    }
}

impl Tail {
    fn write_at(&mut self, file: &File, offset: u64, bytes: &[u8]) -> io::Result<()> {
        let mut offset = offset;
        let mut bytes = bytes;
        if offset < self.start {
            // The front left memory already: write it in place.
            let before = ((self.start - offset) as usize).min(bytes.len());
            file.write_all_at(&bytes[..before], offset)?;
            offset += before as u64;
            bytes = &bytes[before..];
            if bytes.is_empty() {
                return Ok(());
            }
        }
        let from = (offset - self.start) as usize;
        let to = from + bytes.len();
        if to > self.bytes.len() {
            // A write past the end; a seek beyond it leaves a hole of zeros,
            // as a file would.
            self.bytes.resize(to, 0);
        }
        self.bytes[from..to].copy_from_slice(bytes);
        self.end = self.end.max(self.start + to as u64);
        Ok(())
    }

    /// Writes the first `length` held bytes to the file and lets them go.
    fn write_out(&mut self, file: &File, length: usize) -> io::Result<()> {
        if length == 0 {
            return Ok(());
        }
        file.write_all_at(&self.bytes[..length], self.start)?;
        self.bytes.drain(..length);
        self.start += length as u64;
        Ok(())
    }
}

impl Write for TailWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let file = self.file;
        let tail = self.tail.get_mut();
        let position = tail.position;
        if position == tail.start + tail.bytes.len() as u64 && bytes.len() >= KEPT {
            // A large piece at the end: write out what is held, then the
            // piece itself, without copying it.
            let length = tail.bytes.len();
            tail.write_out(file, length)?;
            file.write_all_at(bytes, position)?;
            tail.start = position + bytes.len() as u64;
            tail.position = tail.start;
            tail.end = tail.end.max(tail.start);
            return Ok(bytes.len());
        }
        tail.write_at(file, position, bytes)?;
        tail.position += bytes.len() as u64;
        if tail.bytes.len() > HELD {
            let length = tail.bytes.len() - KEPT;
            tail.write_out(file, length)?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        // Held bytes are written out as they age and on `finish`; a flush
        // of the zip writer between entries need not reach the file.
        Ok(())
    }
}

impl Seek for TailWriter<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let tail = self.tail.get_mut();
        let target = match to {
            SeekFrom::Start(offset) => Some(offset),
            SeekFrom::End(delta) => tail.end.checked_add_signed(delta),
            SeekFrom::Current(delta) => tail.position.checked_add_signed(delta),
        };
        let Some(target) = target else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start of the archive",
            ));
        };
        tail.position = target;
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    /// Writes, seeks and patches through a `TailWriter` and through a plain
    /// file side by side; both files must end up the same.
    fn same_as_a_file(steps: &[(u64, usize)]) {
        let ours = tempfile::tempfile().unwrap();
        let mut plain = tempfile::tempfile().unwrap();
        let mut writer = TailWriter::new(&ours);
        let mut seed = 7u8;
        for &(offset, length) in steps {
            let bytes: Vec<u8> = (0..length)
                .map(|_| {
                    seed = seed.wrapping_mul(31).wrapping_add(11);
                    seed
                })
                .collect();
            writer.seek(SeekFrom::Start(offset)).unwrap();
            writer.write_all(&bytes).unwrap();
            plain.seek(SeekFrom::Start(offset)).unwrap();
            plain.write_all(&bytes).unwrap();
        }
        let end = writer.seek(SeekFrom::End(0)).unwrap();
        assert_eq!(end, plain.seek(SeekFrom::End(0)).unwrap());
        if end >= 8 {
            writer.patch(end - 8, b"patched!").unwrap();
            plain.write_all_at(b"patched!", end - 8).unwrap();
            assert_eq!(writer.read_at(end - 8, 8).unwrap(), b"patched!");
        }
        writer.finish().unwrap();
        let mut read_back = Vec::new();
        let mut read_plain = Vec::new();
        io::Read::read_to_end(&mut &ours, &mut read_back).unwrap();
        plain.seek(SeekFrom::Start(0)).unwrap();
        io::Read::read_to_end(&mut plain, &mut read_plain).unwrap();
        assert_eq!(read_back.len(), read_plain.len());
        assert!(read_back == read_plain, "contents differ");
    }

    #[test]
    fn small_writes_and_trips_back_into_memory() {
        let mut steps = Vec::new();
        let mut offset = 0u64;
        for index in 0..2_000u64 {
            let length = 30 + (index as usize * 37) % 700;
            steps.push((offset, length));
            steps.push((offset + 14, 12));
            offset += length as u64;
        }
        same_as_a_file(&steps);
    }

    #[test]
    fn trips_back_past_what_is_held() {
        // A header, 9 MiB of data in middling writes, then the header again.
        let mut steps = vec![(0, 30)];
        let mut offset = 30u64;
        while offset < 9 << 20 {
            steps.push((offset, 100_000));
            offset += 100_000;
        }
        steps.push((4, 20));
        steps.push((offset, 5));
        same_as_a_file(&steps);
    }

    #[test]
    fn large_writes_go_straight_to_the_file() {
        same_as_a_file(&[(0, 100), (100, 3 << 20), (50, 10), ((3 << 20) + 100, 7)]);
    }

    #[test]
    fn a_write_across_the_edge_of_memory_lands_on_both_sides() {
        let mut steps = vec![(0, 5 << 20)];
        steps.push(((5 << 20) - 10, 1_000));
        steps.push(((5 << 20) + 990, 4 << 20));
        steps.push((1_000, (8 << 20) + 5));
        same_as_a_file(&steps);
    }

    #[test]
    fn reads_span_disk_and_memory() {
        let file = tempfile::tempfile().unwrap();
        let mut writer = TailWriter::new(&file);
        let bytes: Vec<u8> = (0..(6u32 << 20)).map(|index| index as u8).collect();
        for chunk in bytes.chunks(1_000) {
            writer.write_all(chunk).unwrap();
        }
        let offset = (6u64 << 20) - (KEPT as u64) - 500;
        assert_eq!(
            writer.read_at(offset, 1_000).unwrap(),
            &bytes[offset as usize..offset as usize + 1_000]
        );
        assert!(writer.read_at((6 << 20) - 1, 2).is_err());
        assert!(writer.patch((6 << 20) - 1, b"xy").is_err());
    }
}
