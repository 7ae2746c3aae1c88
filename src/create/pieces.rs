//! Deflating one large file on every core, into one ordinary deflate stream.
//!
//! The file is read in pieces of [`PIECE`] bytes. Each piece is deflated on
//! its own by one of the workers, primed with the 32 KiB that come before it
//! as its dictionary (so that matches reach back across the cut as they
//! would in a single stream), and ended with a sync flush, which closes it on
//! a byte boundary with an empty stored block; the last piece ends the
//! stream. Joined in order, the pieces are one valid deflate stream, which
//! any reader inflates like any other. The reading thread hashes the file
//! (SHA-256) as it reads; the pieces' CRC-32s are combined.
//!
//! At most two pieces per worker are in flight, so memory does not grow with
//! the file.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::sync::mpsc;

use flate2::{Compress, Compression, FlushCompress, Status};
use sha2::{Digest, Sha256};

/// The bytes deflated as one piece.
pub const PIECE: usize = 512 * 1024;

/// How far back deflate can refer: the dictionary each piece gets.
const WINDOW: usize = 32 * 1024;

/// What deflating a file gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deflated {
    /// CRC-32 of the file's bytes.
    pub crc32: u32,
    /// SHA-256 of the file's bytes.
    pub sha256: [u8; 32],
    /// How many bytes were read.
    pub length: u64,
    /// How many deflated bytes were written.
    pub compressed: u64,
}

/// Why deflating a file failed.
#[derive(Debug)]
pub enum PiecesError {
    /// Reading the file failed.
    Read(io::Error),
    /// Writing the deflated bytes failed.
    Write(io::Error),
}

/// One piece for a worker: its place, its dictionary, its bytes, and
/// whether it ends the stream.
struct Job {
    index: usize,
    dictionary: Vec<u8>,
    input: Vec<u8>,
    last: bool,
}

/// A worker's answer: the piece's place, its deflated bytes and its CRC.
type Done = (usize, io::Result<(Vec<u8>, crc32fast::Hasher)>);

/// Deflates all of `source` from where it stands, at `level`, on `workers`
/// threads, writing the stream to `sink` in order.
///
/// # Errors
/// [`PiecesError::Read`] when reading `source` fails,
/// [`PiecesError::Write`] when writing to `sink` fails.
pub fn deflate_pieces<W: Write>(
    source: &mut File,
    level: u32,
    workers: usize,
    sink: &mut W,
) -> Result<Deflated, PiecesError> {
    let workers = workers.max(1);
    std::thread::scope(|scope| {
        let (done_sender, done) = mpsc::channel::<Done>();
        let mut jobs = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (job_sender, job_receiver) = mpsc::channel::<Job>();
            let done_sender = done_sender.clone();
            scope.spawn(move || work(level, &job_receiver, &done_sender));
            jobs.push(job_sender);
        }
        drop(done_sender);
        // Dropping `jobs` on the way out, error or not, ends the workers.
        feed(source, &jobs, &done, workers * 2, sink)
    })
}

/// Reads `source` in pieces, hands them to the workers in turn, and writes
/// their answers in order, with at most `in_flight` pieces out at once.
fn feed<W: Write>(
    source: &mut File,
    jobs: &[mpsc::Sender<Job>],
    done: &mpsc::Receiver<Done>,
    in_flight: usize,
    sink: &mut W,
) -> Result<Deflated, PiecesError> {
    let mut sha256 = Sha256::new();
    let mut crc32 = crc32fast::Hasher::new();
    let mut length = 0u64;
    let mut compressed = 0u64;
    let mut waiting: BTreeMap<usize, (Vec<u8>, crc32fast::Hasher)> = BTreeMap::new();
    let mut sent = 0usize;
    let mut written = 0usize;
    let mut dictionary = Vec::new();
    let mut finished = false;

    while !finished || written < sent {
        if !finished && sent - written < in_flight {
            let input = read_piece(source).map_err(PiecesError::Read)?;
            finished = input.len() < PIECE;
            sha256.update(&input);
            length += input.len() as u64;
            let next_dictionary = window_after(&dictionary, &input);
            let job = Job {
                index: sent,
                dictionary: std::mem::replace(&mut dictionary, next_dictionary),
                input,
                last: finished,
            };
            if jobs[sent % jobs.len()].send(job).is_err() {
                return Err(PiecesError::Write(io::Error::other(
                    "a deflate worker stopped",
                )));
            }
            sent += 1;
            continue;
        }

        let (index, result) = done
            .recv()
            .map_err(|_| PiecesError::Write(io::Error::other("the deflate workers stopped")))?;
        waiting.insert(index, result.map_err(PiecesError::Write)?);
        while let Some((bytes, piece_crc)) = waiting.remove(&written) {
            sink.write_all(&bytes).map_err(PiecesError::Write)?;
            compressed += bytes.len() as u64;
            crc32.combine(&piece_crc);
            written += 1;
        }
    }

    Ok(Deflated {
        crc32: crc32.finalize(),
        sha256: sha256.finalize().into(),
        length,
        compressed,
    })
}

/// Reads up to one whole piece; shorter only at the end of the file.
fn read_piece(source: &mut File) -> io::Result<Vec<u8>> {
    let mut piece = vec![0u8; PIECE];
    let mut filled = 0;
    while filled < PIECE {
        match source.read(&mut piece[filled..]) {
            Ok(0) => break,
            Ok(count) => filled += count,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    piece.truncate(filled);
    Ok(piece)
}

/// The last [`WINDOW`] bytes of `before` followed by `piece`.
fn window_after(before: &[u8], piece: &[u8]) -> Vec<u8> {
    if piece.len() >= WINDOW {
        return piece[piece.len() - WINDOW..].to_vec();
    }
    let keep = (WINDOW - piece.len()).min(before.len());
    let mut window = before[before.len() - keep..].to_vec();
    window.extend_from_slice(piece);
    window
}

/// A worker: deflates the pieces it is given until its queue closes.
fn work(level: u32, jobs: &mpsc::Receiver<Job>, done: &mpsc::Sender<Done>) {
    let mut compress = Compress::new(Compression::new(level.min(9)), false);
    for job in jobs {
        let crc = {
            let mut hasher = crc32fast::Hasher::new();
            hasher.update(&job.input);
            hasher
        };
        let result = deflate_piece(&mut compress, &job.dictionary, &job.input, job.last)
            .map(|bytes| (bytes, crc));
        if done.send((job.index, result)).is_err() {
            return;
        }
    }
}

/// The memory level of the compressor for small files: its symbol buffer
/// holds `2^(level + 6)` symbols, where the usual level 8 holds 16,384.
const SMALL_MEM_LEVEL: i32 = 4;

/// The largest file the small compressor takes. The buffer counts as full,
/// and its block is ended, one symbol before its end; a file two symbols
/// short of it never fills it, so its stream is one block, as with the
/// usual compressor. Deflate's matching does not depend on the memory
/// level, so the two give the same bytes for such a file.
const SMALL_FILE: usize = (1 << (SMALL_MEM_LEVEL + 6)) - 2;

/// Compressors for whole files, kept from one file to the next.
///
/// A reset clears the symbol buffer, and ending a block clears it again:
/// 96 KiB of memory written for every file with the usual buffer, which for
/// a tree of 50,000 tiny files was a twelfth of a backup's CPU time. Files
/// of at most [`SMALL_FILE`] bytes go through a compressor with a buffer
/// their size.
pub struct WholeFiles {
    small: zlib_rs::Deflate,
    usual: Compress,
}

impl WholeFiles {
    /// Compressors at deflate `level`, 0 to 9.
    pub fn new(level: u32) -> WholeFiles {
        let level = level.min(9);
        let small = zlib_rs::Deflate::new_with_config(zlib_rs::DeflateConfig {
            level: level as i32,
            // Negative: raw deflate, without a zlib header.
            window_bits: -15,
            mem_level: SMALL_MEM_LEVEL,
            ..zlib_rs::DeflateConfig::default()
        });
        WholeFiles {
            small,
            usual: Compress::new(Compression::new(level), false),
        }
    }

    /// Deflates all of `input` as one whole stream.
    pub fn deflate(&mut self, input: &[u8]) -> io::Result<Vec<u8>> {
        if input.len() > SMALL_FILE {
            return deflate_piece(&mut self.usual, &[], input, true);
        }
        self.small.reset();
        // Room for the worst case: one call ends the stream.
        let mut output = vec![0; zlib_rs::compress_bound(input.len())];
        match self
            .small
            .compress(input, &mut output, zlib_rs::DeflateFlush::Finish)
        {
            Ok(zlib_rs::Status::StreamEnd) => {
                output.truncate(self.small.total_out() as usize);
                Ok(output)
            }
            Ok(status) => Err(io::Error::other(format!(
                "deflate stopped short of the end of a small file ({status:?})"
            ))),
            Err(error) => Err(io::Error::other(format!("deflate failed: {error:?}"))),
        }
    }
}

/// Deflates one piece with a reset compressor: primed with its
/// dictionary, ended by a sync flush or, for the last piece, by the end of
/// the stream.
fn deflate_piece(
    compress: &mut Compress,
    dictionary: &[u8],
    input: &[u8],
    last: bool,
) -> io::Result<Vec<u8>> {
    let failed =
        |error: flate2::CompressError| io::Error::other(format!("deflate failed: {error}"));
    compress.reset();
    if !dictionary.is_empty() {
        compress.set_dictionary(dictionary).map_err(failed)?;
    }
    let flush = if last {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    let mut output = Vec::with_capacity(input.len() + input.len() / 64 + 64);
    loop {
        if output.len() == output.capacity() {
            output.reserve(64 * 1024);
        }
        let consumed = compress.total_in() as usize;
        let status = compress
            .compress_vec(&input[consumed..], &mut output, flush)
            .map_err(failed)?;
        let all_in = compress.total_in() as usize == input.len();
        let room_left = output.len() < output.capacity();
        let complete = match status {
            Status::StreamEnd => true,
            // A sync flush is complete once all input is in and the
            // compressor stopped with room to spare.
            Status::Ok | Status::BufError => !last && all_in && room_left,
        };
        if complete {
            return Ok(output);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use std::io::{Seek, SeekFrom};

    /// Half text that compresses, half bytes that do not, from a fixed seed.
    fn mixed(length: usize) -> Vec<u8> {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let text = b"[Peer]\nPublicKey = peer-key\nAllowedIPs = 10.8.0.2/32\n";
        (0..length)
            .map(|index| {
                if (index / 70_000) % 2 == 0 {
                    text[index % text.len()]
                } else {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state >> 24) as u8
                }
            })
            .collect()
    }

    fn deflated(bytes: &[u8], workers: usize) -> (Deflated, Vec<u8>) {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(bytes).unwrap();
        file.seek(SeekFrom::Start(0)).unwrap();
        let mut stream = Vec::new();
        let result = deflate_pieces(&mut file, 6, workers, &mut stream)
            .unwrap_or_else(|error| panic!("{error:?}"));
        (result, stream)
    }

    fn inflated(stream: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::DeflateDecoder::new(stream)
            .read_to_end(&mut out)
            .expect("one valid deflate stream");
        out
    }

    #[test]
    fn the_pieces_join_into_one_stream_of_the_file() {
        for length in [
            0,
            1,
            WINDOW - 1,
            PIECE,
            PIECE + 1,
            3 * PIECE,
            5 * PIECE + 12_345,
        ] {
            let bytes = mixed(length);
            for workers in [1, 2, 3] {
                let (result, stream) = deflated(&bytes, workers);
                assert_eq!(
                    inflated(&stream),
                    bytes,
                    "{length} bytes, {workers} workers"
                );
                assert_eq!(result.length, length as u64);
                assert_eq!(result.compressed, stream.len() as u64);
                assert_eq!(result.crc32, crc32fast::hash(&bytes), "{length} bytes");
                let sha256: [u8; 32] = Sha256::digest(&bytes).into();
                assert_eq!(result.sha256, sha256);
            }
        }
    }

    #[test]
    fn the_stream_is_the_same_on_any_number_of_workers() {
        let bytes = mixed(4 * PIECE + 999);
        let (_, one) = deflated(&bytes, 1);
        let (_, two) = deflated(&bytes, 2);
        assert_eq!(one, two);
    }

    #[test]
    fn priming_keeps_the_stream_as_small_as_one_deflate_of_it() {
        // Text that repeats across every cut: without the dictionary each
        // piece would start cold.
        let bytes = mixed(6 * PIECE);
        let (result, _) = deflated(&bytes, 2);
        let mut whole = flate2::write::DeflateEncoder::new(Vec::new(), Compression::new(6));
        whole.write_all(&bytes).unwrap();
        let whole = whole.finish().unwrap();
        let growth = result.compressed as f64 / whole.len() as f64;
        assert!(
            growth < 1.005,
            "{} bytes against {}",
            result.compressed,
            whole.len()
        );
    }

    proptest::proptest! {
        /// A small file gives the same stream from the small compressor as
        /// from the usual one, whatever came through it before.
        #[test]
        fn small_files_deflate_as_with_the_usual_compressor(
            files in proptest::collection::vec(
                (proptest::collection::vec(0u8..8, 0..=SMALL_FILE), proptest::bool::ANY),
                1..6,
            ),
            level in 0u32..=9,
        ) {
            let mut whole = WholeFiles::new(level);
            let mut usual = Compress::new(Compression::new(level), false);
            for (symbols, text) in files {
                // Bytes from a few symbols compress; spread out, they do not.
                let bytes: Vec<u8> = symbols
                    .iter()
                    .enumerate()
                    .map(|(at, symbol)| match text {
                        true => b"[Peer] =\n"[usize::from(*symbol)],
                        false => symbol ^ (at as u8).wrapping_mul(97),
                    })
                    .collect();
                let small = whole.deflate(&bytes).unwrap();
                let expected = deflate_piece(&mut usual, &[], &bytes, true).unwrap();
                proptest::prop_assert_eq!(&small, &expected);
                let mut back = Vec::new();
                flate2::read::DeflateDecoder::new(small.as_slice())
                    .read_to_end(&mut back)
                    .unwrap();
                proptest::prop_assert_eq!(back, bytes);
            }
        }
    }

    /// The largest small file, in literals only (the most symbols a file
    /// can give), is one block at every level, as with the usual
    /// compressor.
    #[test]
    fn the_largest_small_file_of_noise_deflates_as_with_the_usual_compressor() {
        let mut state = 0x2545_F491u32;
        let noise: Vec<u8> = (0..SMALL_FILE)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                (state >> 24) as u8
            })
            .collect();
        for level in 1..=9 {
            let mut usual = Compress::new(Compression::new(level), false);
            let expected = deflate_piece(&mut usual, &[], &noise, true).unwrap();
            assert_eq!(
                WholeFiles::new(level).deflate(&noise).unwrap(),
                expected,
                "level {level}"
            );
        }
    }

    #[test]
    fn a_file_past_the_small_size_goes_through_the_usual_compressor() {
        let bytes = mixed(SMALL_FILE + 1);
        let mut usual = Compress::new(Compression::new(6), false);
        let expected = deflate_piece(&mut usual, &[], &bytes, true).unwrap();
        assert_eq!(WholeFiles::new(6).deflate(&bytes).unwrap(), expected);
    }

    #[test]
    fn a_failing_sink_fails_without_hanging() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::other("no space left"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let bytes = mixed(4 * PIECE);
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(&bytes).unwrap();
        file.seek(SeekFrom::Start(0)).unwrap();
        let result = deflate_pieces(&mut file, 6, 2, &mut Full);
        assert!(matches!(result, Err(PiecesError::Write(_))), "{result:?}");
    }
}
