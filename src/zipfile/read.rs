//! Reading an entry's data to its end, with its CRC-32, size and SHA-256.
//!
//! Output is cut off one byte past the declared uncompressed size, so an entry
//! that inflates beyond what its header admits costs no more than its header
//! says.

use std::io::{self, BufReader, Read};

use sha2::{Digest, Sha256};

use super::layout::{Entry, method_name};
use super::source::{ReadAt, Section};

const BUFFER_SIZE: usize = 256 * 1024;

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
pub fn read_entry<S, F>(
    source: &S,
    entry: &Entry,
    mut sink: F,
) -> Result<EntryDigest, EntryReadError>
where
    S: ReadAt + ?Sized,
    F: FnMut(&[u8]) -> io::Result<()>,
{
    if entry.is_encrypted() {
        return Err(EntryReadError::Unsupported(
            "entry is encrypted".to_string(),
        ));
    }
    let central = &entry.central;
    let data_offset = match &entry.local {
        Ok(local) => local.data_offset,
        Err(problem) => return Err(EntryReadError::Corrupt(format!("local header: {problem}"))),
    };
    let length = source.length().map_err(EntryReadError::Io)?;
    if data_offset
        .checked_add(central.compressed_size)
        .is_none_or(|end| end > length)
    {
        return Err(EntryReadError::Corrupt(
            "entry data runs past the end of the archive".to_string(),
        ));
    }

    let section = Section::new(source, data_offset, central.compressed_size);
    let buffered = BufReader::with_capacity(BUFFER_SIZE, section);
    let declared = central.uncompressed_size;
    match central.method {
        0 => {
            if central.compressed_size != declared {
                return Err(EntryReadError::Corrupt(format!(
                    "stored entry has {} bytes of data but declares {declared}",
                    central.compressed_size
                )));
            }
            digest(buffered, declared, &mut sink)
        }
        8 => {
            let mut decoder = flate2::bufread::DeflateDecoder::new(buffered);
            let result = digest(&mut decoder, declared, &mut sink)?;
            // A deflate stream that stops without its final block was cut
            // short even when the decoder reports a clean end.
            if decoder.total_in() < central.compressed_size {
                let unused = central.compressed_size - decoder.total_in();
                return Err(EntryReadError::Corrupt(format!(
                    "deflate stream ends {unused} bytes before the entry's data does"
                )));
            }
            Ok(result)
        }
        other => Err(EntryReadError::Unsupported(format!(
            "compression method {other} ({}) is not supported",
            method_name(other)
        ))),
    }
}

fn digest<R, F>(mut reader: R, declared: u64, sink: &mut F) -> Result<EntryDigest, EntryReadError>
where
    R: Read,
    F: FnMut(&[u8]) -> io::Result<()>,
{
    let mut crc = crc32fast::Hasher::new();
    let mut sha = Sha256::new();
    let mut size = 0u64;
    let mut buffer = vec![0u8; BUFFER_SIZE];
    let limit = declared.saturating_add(1);
    loop {
        let room = usize::try_from(limit - size)
            .unwrap_or(usize::MAX)
            .min(buffer.len());
        let count = match reader.read(&mut buffer[..room]) {
            Ok(0) => break,
            Ok(count) => count,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(classify(error)),
        };
        size += count as u64;
        if size > declared {
            return Err(EntryReadError::Oversized { declared });
        }
        let chunk = &buffer[..count];
        crc.update(chunk);
        sha.update(chunk);
        sink(chunk).map_err(EntryReadError::Sink)?;
    }
    let mut sha256 = [0u8; 32];
    sha256.copy_from_slice(&sha.finalize());
    Ok(EntryDigest {
        size,
        crc32: crc.finalize(),
        sha256,
    })
}

/// Decoder errors are damage; anything else from below is the file system.
fn classify(error: io::Error) -> EntryReadError {
    match error.kind() {
        io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof => {
            EntryReadError::Corrupt(format!("compressed data is damaged: {error}"))
        }
        _ => EntryReadError::Io(error),
    }
}
