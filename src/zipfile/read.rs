//! Reading an entry's data to its end, with its CRC-32, size and SHA-256.
//!
//! Output is cut off a few hundred bytes past the declared uncompressed size,
//! so an entry that inflates beyond what its header admits costs no more
//! than its header says.
//!
//! An [`EntryReader`] keeps its buffers and its inflater from one entry to
//! the next, so that reading thousands of tiny entries costs no allocation
//! each. A large entry is hashed on a thread of its own while it is inflated:
//! one deflate stream inflates on one core, and SHA-256 would otherwise add a
//! third to its time.

use std::io;
use std::sync::mpsc;

use flate2::{Decompress, FlushDecompress, Status};
use sha2::{Digest, Sha256};

use super::inflate::{INPUT_PADDING, OUTPUT_PADDING, SmallInflater};
use super::layout::{Entry, method_name};
use super::source::ReadAt;

const BUFFER_SIZE: usize = 256 * 1024;

/// Room given to the inflater past the declared size: zlib-rs takes its
/// fast path only with 260 bytes of room, which an entry of a few hundred
/// bytes would otherwise never have. An entry that inflates past its size
/// is still stopped within this many bytes of it.
const FAST_ROOM: u64 = 320;
/// Deflate streams up to this many bytes are inflated whole in one call by
/// the small inflater, which builds its tables for less; above it zlib-rs's
/// decoding loop is the quicker.
const SMALL_STREAM: u64 = 4096;

/// Entries that inflate to at least this many bytes are hashed on a thread
/// of their own.
pub const HASH_THREAD_THRESHOLD: u64 = 16 << 20;

/// Buffers in flight between the inflating thread and the hashing one.
const HASH_PIPELINE_DEPTH: usize = 4;

/// What reading an entry to its end measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryDigest {
    /// Bytes produced.
    pub size: u64,
    /// CRC-32 of those bytes.
    pub crc32: u32,
    /// SHA-256 of those bytes.
    pub sha256: [u8; 32],
}

/// Why an entry's data could not be read to its end.
#[derive(Debug, thiserror::Error)]
pub enum EntryReadError {
    /// Reading the archive failed.
    #[error("reading the archive failed: {0}")]
    Io(io::Error),
    /// The sink refused the data.
    #[error("{0}")]
    Sink(io::Error),
    /// The compressed data is damaged or cut short.
    #[error("{0}")]
    Corrupt(String),
    /// The entry produced more bytes than its declared size.
    #[error("data is larger than its declared {declared} bytes")]
    Oversized {
        /// The declared uncompressed size.
        declared: u64,
    },
    /// The entry cannot be read by this tool.
    #[error("{0}")]
    Unsupported(String),
}

/// Reads `entry`'s data from `source`, passes every byte to `sink`, and
/// measures it. The caller compares the result with the headers.
///
/// # Errors
/// See [`EntryReadError`]. On error `sink` may have received part of the data.
pub fn read_entry<S, F>(source: &S, entry: &Entry, sink: F) -> Result<EntryDigest, EntryReadError>
where
    S: ReadAt + ?Sized,
    F: FnMut(&[u8]) -> io::Result<()>,
{
    EntryReader::new().read(source, entry, sink)
}

/// What reading needs of an entry's headers, taken out of them, so that an
/// entry can be handed to another thread while the rest of the structure
/// is still being read. Two entries with equal `EntryData` read alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryData {
    /// The compression method of the central header.
    pub method: u16,
    /// Where the data starts, after the local header.
    pub data_offset: u64,
    /// The compressed size of the central header.
    pub compressed_size: u64,
    /// The uncompressed size of the central header.
    pub uncompressed_size: u64,
}

impl EntryData {
    /// What reading `entry` needs.
    ///
    /// # Errors
    /// When the entry is encrypted or its local header could not be read.
    pub fn of(entry: &Entry) -> Result<EntryData, EntryReadError> {
        if entry.is_encrypted() {
            return Err(EntryReadError::Unsupported(
                "entry is encrypted".to_string(),
            ));
        }
        let data_offset = match &entry.local {
            Ok(local) => local.data_offset,
            Err(problem) => {
                return Err(EntryReadError::Corrupt(format!("local header: {problem}")));
            }
        };
        Ok(EntryData {
            method: entry.central.method,
            data_offset,
            compressed_size: entry.central.compressed_size,
            uncompressed_size: entry.central.uncompressed_size,
        })
    }
}

/// Reads entries one after another with the same buffers and inflater.
pub struct EntryReader {
    input: Vec<u8>,
    output: Vec<u8>,
    inflater: Decompress,
    small: SmallInflater,
}

impl Default for EntryReader {
    fn default() -> Self {
        EntryReader::new()
    }
}

impl EntryReader {
    /// A reader with its buffers allocated.
    pub fn new() -> EntryReader {
        EntryReader {
            input: vec![0u8; BUFFER_SIZE],
            output: vec![0u8; BUFFER_SIZE],
            inflater: Decompress::new(false),
            small: SmallInflater::new(),
        }
    }

    /// Reads `entry` as [`read_entry`] does.
    ///
    /// # Errors
    /// See [`EntryReadError`]. On error `sink` may have received part of the
    /// data.
    pub fn read<S, F>(
        &mut self,
        source: &S,
        entry: &Entry,
        sink: F,
    ) -> Result<EntryDigest, EntryReadError>
    where
        S: ReadAt + ?Sized,
        F: FnMut(&[u8]) -> io::Result<()>,
    {
        self.read_data(source, EntryData::of(entry)?, sink)
    }

    /// Reads an entry's data as [`EntryReader::read`] does, from what was
    /// taken of its headers.
    ///
    /// # Errors
    /// See [`EntryReadError`]. On error `sink` may have received part of the
    /// data.
    pub fn read_data<S, F>(
        &mut self,
        source: &S,
        entry: EntryData,
        mut sink: F,
    ) -> Result<EntryDigest, EntryReadError>
    where
        S: ReadAt + ?Sized,
        F: FnMut(&[u8]) -> io::Result<()>,
    {
        let EntryData {
            method,
            data_offset,
            compressed_size,
            uncompressed_size: declared,
        } = entry;
        let length = source.length().map_err(EntryReadError::Io)?;
        if data_offset
            .checked_add(compressed_size)
            .is_none_or(|end| end > length)
        {
            return Err(EntryReadError::Corrupt(
                "entry data runs past the end of the archive".to_string(),
            ));
        }
        match method {
            0 if compressed_size != declared => {
                return Err(EntryReadError::Corrupt(format!(
                    "stored entry has {compressed_size} bytes of data but declares {declared}"
                )));
            }
            0 | 8 => {}
            other => {
                return Err(EntryReadError::Unsupported(format!(
                    "compression method {other} ({}) is not supported",
                    method_name(other)
                )));
            }
        }

        let data = Data {
            method,
            position: data_offset,
            end: data_offset + compressed_size,
            length: compressed_size,
            declared,
        };
        if declared < HASH_THREAD_THRESHOLD {
            let mut hasher = InlineHasher(Sha256::new());
            let (size, crc32) = self.pump(source, data, &mut sink, &mut hasher)?;
            return Ok(EntryDigest {
                size,
                crc32,
                sha256: hasher.0.finalize().into(),
            });
        }

        // The hashing thread gets each filled buffer and hands it back once
        // hashed; the inflater meanwhile fills another.
        std::thread::scope(|scope| {
            let (full_sender, full_receiver) =
                mpsc::sync_channel::<(Vec<u8>, usize)>(HASH_PIPELINE_DEPTH);
            let (empty_sender, empty_receiver) = mpsc::channel::<Vec<u8>>();
            for _ in 1..HASH_PIPELINE_DEPTH {
                let _ = empty_sender.send(vec![0u8; BUFFER_SIZE]);
            }
            let hashing = scope.spawn(move || {
                let mut sha = Sha256::new();
                for (buffer, length) in full_receiver {
                    sha.update(&buffer[..length]);
                    if empty_sender.send(buffer).is_err() {
                        break;
                    }
                }
                sha.finalize()
            });
            let mut hasher = ThreadHasher {
                full: Some(full_sender),
                empty: empty_receiver,
            };
            let pumped = self.pump(source, data, &mut sink, &mut hasher);
            hasher.full = None;
            let sha256 = hashing
                .join()
                .map_err(|_| EntryReadError::Io(io::Error::other("the hashing thread failed")))?;
            let (size, crc32) = pumped?;
            Ok(EntryDigest {
                size,
                crc32,
                sha256: sha256.into(),
            })
        })
    }

    /// Moves the entry's data from `source` through the sink and the
    /// hasher; answers its size and CRC-32.
    fn pump<S, F, H>(
        &mut self,
        source: &S,
        mut data: Data,
        sink: &mut F,
        hasher: &mut H,
    ) -> Result<(u64, u32), EntryReadError>
    where
        S: ReadAt + ?Sized,
        F: FnMut(&[u8]) -> io::Result<()>,
        H: Hasher,
    {
        let mut crc = crc32fast::Hasher::new();
        let mut size = 0u64;
        let declared = data.declared;
        let limit = declared.saturating_add(1);
        let mut emit = |output: &mut Vec<u8>, count: usize, size: &mut u64| {
            *size += count as u64;
            if *size > declared {
                return Err(EntryReadError::Oversized { declared });
            }
            let produced = &output[..count];
            crc.update(produced);
            sink(produced).map_err(EntryReadError::Sink)?;
            hasher.take(output, count)
        };

        if data.method == 0 {
            // Stored: read straight into the output buffer.
            while data.position < data.end {
                let wanted = remaining(data.end - data.position, self.output.len());
                let count = read_some(source, &mut self.output[..wanted], data.position)?;
                data.position += count as u64;
                emit(&mut self.output, count, &mut size)?;
            }
            return Ok((size, crc.finalize()));
        }

        if self.inflate_small(source, data) {
            if declared > 0 {
                emit(&mut self.output, declared as usize, &mut size)?;
            }
            return Ok((size, crc.finalize()));
        }

        self.inflater.reset(false);
        let (mut start, mut filled) = (0usize, 0usize);
        loop {
            if start == filled && data.position < data.end {
                let wanted = remaining(data.end - data.position, self.input.len());
                filled = read_some(source, &mut self.input[..wanted], data.position)?;
                data.position += filled as u64;
                start = 0;
            }
            let exhausted = start == filled && data.position == data.end;
            let room = remaining((limit - size).saturating_add(FAST_ROOM), self.output.len());
            let (before_in, before_out) = (self.inflater.total_in(), self.inflater.total_out());
            let status = self.inflater.decompress(
                &self.input[start..filled],
                &mut self.output[..room],
                FlushDecompress::None,
            );
            let consumed = (self.inflater.total_in() - before_in) as usize;
            let produced = (self.inflater.total_out() - before_out) as usize;
            let Ok(status) = status else {
                // Damage past the declared size is met only because of the
                // room given beyond it: the entry is too long first.
                if size.saturating_add(produced as u64) > declared {
                    return Err(EntryReadError::Oversized { declared });
                }
                return Err(damaged("corrupt deflate stream"));
            };
            start += consumed;
            if produced > 0 {
                emit(&mut self.output, produced, &mut size)?;
            }
            match status {
                Status::StreamEnd => break,
                Status::Ok | Status::BufError if consumed == 0 && produced == 0 && exhausted => {
                    return Err(damaged("incomplete deflate stream"));
                }
                Status::Ok | Status::BufError => {}
            }
        }

        // A deflate stream that stops before the entry's data does leaves
        // bytes that no reader would look at.
        let used = self.inflater.total_in();
        if used < data.length {
            return Err(EntryReadError::Corrupt(format!(
                "deflate stream ends {} bytes before the entry's data does",
                data.length - used
            )));
        }
        Ok((size, crc.finalize()))
    }
}

impl EntryReader {
    /// Inflates a deflated entry that fits the buffers whole in one call,
    /// into the output buffer; answers false, having produced nothing,
    /// when it does not fit or the small inflater cannot vouch for it: the
    /// general way then reads it again and judges it.
    fn inflate_small<S: ReadAt + ?Sized>(&mut self, source: &S, data: Data) -> bool {
        if data.length > SMALL_STREAM {
            return false;
        }
        let (Ok(length), Ok(declared)) =
            (usize::try_from(data.length), usize::try_from(data.declared))
        else {
            return false;
        };
        if length + INPUT_PADDING > self.input.len()
            || declared + OUTPUT_PADDING > self.output.len()
        {
            return false;
        }
        let mut read = 0;
        while read < length {
            match read_some(
                source,
                &mut self.input[read..length],
                data.position + read as u64,
            ) {
                Ok(count) => read += count,
                Err(_) => return false,
            }
        }
        self.small.inflate(
            &self.input[..length + INPUT_PADDING],
            length,
            &mut self.output[..declared + OUTPUT_PADDING],
            declared,
        )
    }
}

/// Where an entry's data is and how it is stored.
#[derive(Debug, Clone, Copy)]
struct Data {
    method: u16,
    position: u64,
    end: u64,
    length: u64,
    declared: u64,
}

/// Takes each filled output buffer: hashes it, or hands it to another thread
/// and puts an empty buffer in its place.
trait Hasher {
    fn take(&mut self, buffer: &mut Vec<u8>, length: usize) -> Result<(), EntryReadError>;
}

struct InlineHasher(Sha256);

impl Hasher for InlineHasher {
    fn take(&mut self, buffer: &mut Vec<u8>, length: usize) -> Result<(), EntryReadError> {
        self.0.update(&buffer[..length]);
        Ok(())
    }
}

struct ThreadHasher {
    full: Option<mpsc::SyncSender<(Vec<u8>, usize)>>,
    empty: mpsc::Receiver<Vec<u8>>,
}

impl Hasher for ThreadHasher {
    fn take(&mut self, buffer: &mut Vec<u8>, length: usize) -> Result<(), EntryReadError> {
        let stopped = || EntryReadError::Io(io::Error::other("the hashing thread stopped"));
        let empty = self.empty.recv().map_err(|_| stopped())?;
        let full = std::mem::replace(buffer, empty);
        self.full
            .as_ref()
            .ok_or_else(stopped)?
            .send((full, length))
            .map_err(|_| stopped())
    }
}

/// `left` bytes still to read, at most `capacity` at once.
fn remaining(left: u64, capacity: usize) -> usize {
    usize::try_from(left).unwrap_or(usize::MAX).min(capacity)
}

/// One positional read of at least one byte.
fn read_some<S: ReadAt + ?Sized>(
    source: &S,
    buffer: &mut [u8],
    offset: u64,
) -> Result<usize, EntryReadError> {
    loop {
        match source.read_at(buffer, offset) {
            Ok(0) => return Err(damaged("entry data runs past the end of the archive")),
            Ok(count) => return Ok(count),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(classify(error)),
        }
    }
}

fn damaged(reason: &str) -> EntryReadError {
    EntryReadError::Corrupt(format!("compressed data is damaged: {reason}"))
}

/// Decoder errors are damage; anything else from below is the file system.
fn classify(error: io::Error) -> EntryReadError {
    match error.kind() {
        io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof => {
            damaged(&error.to_string())
        }
        _ => EntryReadError::Io(error),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::zipfile::HeaderBytes;
    use crate::zipfile::layout::{CentralHeader, LocalHeader};

    /// A deflated entry whose data, `stream`, starts the source, declaring
    /// `declared` bytes.
    fn deflated_entry(stream: &[u8], declared: u64) -> Entry {
        let central = CentralHeader {
            offset: stream.len() as u64,
            version_made_by: 20,
            version_needed: 20,
            flags: 0,
            method: 8,
            dos_time: 0,
            dos_date: 0,
            crc32: 0,
            compressed_size: stream.len() as u64,
            uncompressed_size: declared,
            disk_start: 0,
            internal_attributes: 0,
            external_attributes: 0,
            local_header_offset: 0,
            name: HeaderBytes::copied(b"config/a"),
            extra: HeaderBytes::default(),
            comment: HeaderBytes::default(),
        };
        let local = LocalHeader {
            offset: 0,
            version_needed: 20,
            flags: 0,
            method: 8,
            dos_time: 0,
            dos_date: 0,
            crc32: 0,
            compressed_size: central.compressed_size,
            uncompressed_size: declared,
            name: central.name.clone(),
            extra: HeaderBytes::default(),
            data_offset: 0,
        };
        Entry {
            index: 0,
            central,
            local: Ok(local),
            data_descriptor: None,
            notes: Vec::new(),
        }
    }

    /// A deflate stream that gives `good` bytes in a stored block, then
    /// breaks with a block of the invalid type 3.
    fn broken_after(good: u16) -> Vec<u8> {
        let mut stream = vec![0x00];
        stream.extend(good.to_le_bytes());
        stream.extend((!good).to_le_bytes());
        stream.extend(std::iter::repeat_n(b'a', usize::from(good)));
        stream.push(0x07);
        stream
    }

    /// The room the inflater gets past the declared size changes no
    /// verdict: damage after the declared size is still an entry too long,
    /// damage within it still damage.
    #[test]
    fn damage_past_the_declared_size_is_an_entry_too_long() {
        let stream = broken_after(300);
        for (declared, too_long) in [
            (10, true),
            (200, true),
            (299, true),
            (300, false),
            (400, false),
        ] {
            let entry = deflated_entry(&stream, declared);
            let mut sunk = 0usize;
            let result = read_entry(stream.as_slice(), &entry, |chunk| {
                sunk += chunk.len();
                Ok(())
            });
            match result {
                Err(EntryReadError::Oversized { declared: said }) => {
                    assert!(too_long, "{declared}: too long");
                    assert_eq!(said, declared);
                    assert_eq!(
                        sunk, 0,
                        "{declared}: nothing past the size reaches the sink"
                    );
                }
                Err(EntryReadError::Corrupt(reason)) => {
                    assert!(!too_long, "{declared}: {reason}");
                    assert!(reason.contains("corrupt deflate stream"), "{reason}");
                }
                other => panic!("{declared}: {other:?}"),
            }
        }
    }

    /// A whole stream of a few hundred bytes reads to its end through the
    /// fast path as through the slow one.
    #[test]
    fn small_entries_read_whole_with_their_digest() {
        for length in [1usize, 100, 259, 260, 261, 700, 5_000] {
            let data: Vec<u8> = (0..length).map(|index| (index * 7 % 13) as u8).collect();
            let mut encoder =
                flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(6));
            std::io::Write::write_all(&mut encoder, &data).unwrap();
            let stream = encoder.finish().unwrap();
            let entry = deflated_entry(&stream, length as u64);
            let mut read = Vec::new();
            let digest = read_entry(stream.as_slice(), &entry, |chunk| {
                read.extend_from_slice(chunk);
                Ok(())
            })
            .unwrap();
            assert!(read == data, "{length}");
            assert_eq!(digest.size, length as u64);
            assert_eq!(digest.crc32, crc32fast::hash(&data));
            assert_eq!(digest.sha256, <[u8; 32]>::from(Sha256::digest(&data)));
        }
    }
}
