//! Small files read, hashed and deflated ahead of the archive, on every core.
//!
//! For a tree of tiny files, the work per file (opening it, reading it,
//! SHA-256, CRC-32, a deflate reset and the deflate itself) is what a backup
//! spends its time on. The workers do it ahead of the thread that writes the
//! archive, each for every n-th of the files, and hand each file back as a
//! finished deflate stream; the writer takes their answers in turn, so the
//! files reach the archive in the order of the tree. Files are handed to the
//! workers as the walk finds them, so the work starts before the walk ends.
//!
//! Each worker keeps one compressor and one read buffer for all its files,
//! and stops to wait once the answers it holds for the writer come to
//! [`HELD_PER_WORKER`] bytes, so memory does not grow with the tree. A worker
//! only waits on its own answers: the one the writer waits for has none
//! left, and always goes on.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::{Scope, Thread};

use sha2::{Digest, Sha256};

use super::pieces::WholeFiles;
use super::{CreateError, open_source};

/// How many bytes of answers one worker may hold for the writer.
const HELD_PER_WORKER: usize = 8 << 20;

/// What an answer costs beside its deflate stream.
const ANSWER_COST: usize = 128;

/// A file grown past this while it is read is refused rather than held in
/// memory whole; files that large are not read ahead in the first place.
const MOST_READ_AHEAD: u64 = 64 << 20;

/// One file, ready for the archive.
pub struct Prepared {
    /// The deflate stream of its bytes; or, when that would be no shorter,
    /// the bytes themselves.
    pub data: Vec<u8>,
    /// Whether `data` is a deflate stream rather than the file's bytes.
    pub deflated: bool,
    /// CRC-32 of its bytes.
    pub crc32: u32,
    /// SHA-256 of its bytes.
    pub sha256: [u8; 32],
    /// How many bytes it held when read.
    pub length: u64,
}

type Answer = Result<Prepared, CreateError>;

/// What a worker and the writer share.
struct Lane {
    /// Bytes of answers sent and not yet taken.
    held: AtomicUsize,
    /// Set when the writer stops taking answers.
    stopped: Arc<AtomicBool>,
}

/// One worker, as the writer sees it.
struct Worker {
    sources: Sender<PathBuf>,
    answers: Receiver<Answer>,
    lane: Arc<Lane>,
    thread: Thread,
}

/// The writer's side: files handed out in turn, answers taken in turn.
pub struct ReadAhead {
    workers: Vec<Worker>,
    stopped: Arc<AtomicBool>,
    handed: usize,
    taken: usize,
}

impl ReadAhead {
    /// Starts `workers` threads in `scope` that deflate at `level`.
    pub fn start<'scope>(
        scope: &'scope Scope<'scope, '_>,
        level: u32,
        workers: usize,
    ) -> ReadAhead {
        let stopped = Arc::new(AtomicBool::new(false));
        let workers = (0..workers.max(1))
            .map(|_| {
                let (sources, their_sources) = channel::<PathBuf>();
                let (their_answers, answers) = channel::<Answer>();
                let lane = Arc::new(Lane {
                    held: AtomicUsize::new(0),
                    stopped: Arc::clone(&stopped),
                });
                let their_lane = Arc::clone(&lane);
                let handle = scope
                    .spawn(move || prepare_all(&their_sources, level, &their_answers, &their_lane));
                Worker {
                    sources,
                    answers,
                    lane,
                    thread: handle.thread().clone(),
                }
            })
            .collect();
        ReadAhead {
            workers,
            stopped,
            handed: 0,
            taken: 0,
        }
    }

    /// How many workers there are.
    pub fn workers(&self) -> usize {
        self.workers.len()
    }

    /// Hands out the next file to read ahead.
    pub fn hand_out(&mut self, source: &Path) {
        let worker = &self.workers[self.handed % self.workers.len()];
        self.handed += 1;
        // A worker that stopped after a failure answers no more; the writer
        // meets that failure when it takes the answer.
        let _ = worker.sources.send(source.to_path_buf());
    }

    /// The next file, in the order they were handed out.
    ///
    /// # Errors
    /// Whatever preparing the file met, or [`CreateError::Write`] when its
    /// worker is gone.
    pub fn next(&mut self, archive: &Path) -> Result<Prepared, CreateError> {
        let worker = &self.workers[self.taken % self.workers.len()];
        self.taken += 1;
        let answer = worker.answers.recv().unwrap_or_else(|_| {
            Err(CreateError::Write {
                path: archive.to_path_buf(),
                source: io::Error::other("a worker reading files ahead stopped"),
            })
        });
        let cost = answer.as_ref().map_or(0, cost);
        let before = worker.lane.held.fetch_sub(cost, Ordering::AcqRel);
        if before >= HELD_PER_WORKER && before - cost < HELD_PER_WORKER {
            worker.thread.unpark();
        }
        answer
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        // Wakes workers waiting for room, which then see that the writer is
        // gone; their queues of files close with `workers`.
        self.stopped.store(true, Ordering::Release);
        for worker in &self.workers {
            worker.thread.unpark();
        }
    }
}

fn cost(prepared: &Prepared) -> usize {
    prepared.data.capacity() + ANSWER_COST
}

/// A worker: prepares each file it is given until its queue closes, the
/// writer stops listening or a file fails.
fn prepare_all(sources: &Receiver<PathBuf>, level: u32, answers: &Sender<Answer>, lane: &Lane) {
    let mut compress = WholeFiles::new(level);
    let mut buffer = Vec::new();
    for source in sources {
        let answer = prepare(&source, &mut compress, &mut buffer);
        let failed = answer.is_err();
        lane.held
            .fetch_add(answer.as_ref().map_or(0, cost), Ordering::AcqRel);
        if answers.send(answer).is_err() || failed {
            return;
        }
        while lane.held.load(Ordering::Acquire) >= HELD_PER_WORKER
            && !lane.stopped.load(Ordering::Acquire)
        {
            std::thread::park();
        }
    }
}

fn prepare(
    source: &Path,
    compress: &mut WholeFiles,
    buffer: &mut Vec<u8>,
) -> Result<Prepared, CreateError> {
    let read_error = |error| CreateError::Read {
        path: source.to_path_buf(),
        source: error,
    };
    let mut file = open_source(source)?;
    let length = read_whole(&mut file, buffer).map_err(read_error)?;
    if length as u64 > MOST_READ_AHEAD {
        return Err(read_error(io::Error::other(
            "the file grew past 64 MiB while it was backed up",
        )));
    }
    let bytes = &buffer[..length];
    let mut data = compress.deflate(bytes).map_err(read_error)?;
    // Noise and very short files do not shrink: they are stored as they
    // are, which costs their readers no inflate.
    let deflated = data.len() < length;
    if !deflated {
        data.clear();
        data.extend_from_slice(bytes);
    }
    Ok(Prepared {
        data,
        deflated,
        crc32: crc32fast::hash(bytes),
        sha256: Sha256::digest(bytes).into(),
        length: length as u64,
    })
}

/// Reads `file` to its end into the front of `buffer`, growing it when
/// full, and answers how many bytes it read. The buffer is kept between
/// files as it is, so that no file pays for clearing it; and it is a plain
/// loop of reads, since `read_to_end` would ask for the file's size and
/// position first, two system calls more per file.
fn read_whole(file: &mut File, buffer: &mut Vec<u8>) -> io::Result<usize> {
    const FIRST: usize = 64 * 1024;
    if buffer.is_empty() {
        buffer.resize(FIRST, 0);
    }
    let mut filled = 0;
    loop {
        if filled == buffer.len() {
            if filled as u64 > MOST_READ_AHEAD {
                return Ok(filled);
            }
            buffer.resize(filled * 2, 0);
        }
        match file.read(&mut buffer[filled..]) {
            Ok(0) => return Ok(filled),
            Ok(count) => filled += count,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use std::io::Write;

    fn inflated(stream: &[u8]) -> Vec<u8> {
        let mut bytes = Vec::new();
        flate2::read::DeflateDecoder::new(stream)
            .read_to_end(&mut bytes)
            .unwrap();
        bytes
    }

    /// Bytes from a fixed seed: text-like where `index` is even, noise
    /// where it is odd.
    fn content(index: usize, length: usize) -> Vec<u8> {
        let mut state = (index as u32).wrapping_mul(2_654_435_761) | 1;
        (0..length)
            .map(|position| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                if index.is_multiple_of(2) {
                    b"peer allowed-ips endpoint "[position % 26]
                } else {
                    state as u8
                }
            })
            .collect()
    }

    fn write_files(folder: &Path, lengths: &[usize]) -> Vec<(PathBuf, Vec<u8>)> {
        lengths
            .iter()
            .enumerate()
            .map(|(index, &length)| {
                let path = folder.join(format!("{index:04}.conf"));
                let bytes = content(index, length);
                File::create(&path).unwrap().write_all(&bytes).unwrap();
                (path, bytes)
            })
            .collect()
    }

    #[test]
    fn answers_come_in_the_order_files_were_handed_out() {
        let folder = tempfile::tempdir().unwrap();
        let lengths: Vec<usize> = (0..200).map(|index| (index * 7_919) % 70_000).collect();
        let files = write_files(folder.path(), &lengths);
        for workers in 1..=3 {
            std::thread::scope(|scope| {
                let mut ahead = ReadAhead::start(scope, 6, workers);
                for (path, _) in &files {
                    ahead.hand_out(path);
                }
                for (path, bytes) in &files {
                    let prepared = ahead.next(Path::new("archive.zip")).unwrap();
                    assert_eq!(prepared.length, bytes.len() as u64, "{}", path.display());
                    assert_eq!(prepared.crc32, crc32fast::hash(bytes));
                    assert_eq!(prepared.sha256, <[u8; 32]>::from(Sha256::digest(bytes)));
                    let data = if prepared.deflated {
                        inflated(&prepared.data)
                    } else {
                        prepared.data.clone()
                    };
                    assert!(data == *bytes, "{}", path.display());
                }
            });
        }
    }

    #[test]
    fn workers_far_ahead_wait_for_the_writer_and_go_on() {
        // Noise does not compress: 48 files of 512 KiB are three times what
        // the two workers may hold.
        let folder = tempfile::tempdir().unwrap();
        let lengths: Vec<usize> = (0..48).map(|_| 512 * 1024).collect();
        let files = write_files(folder.path(), &lengths);
        std::thread::scope(|scope| {
            let mut ahead = ReadAhead::start(scope, 1, 2);
            for (path, _) in &files {
                ahead.hand_out(path);
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
            let held: usize = ahead
                .workers
                .iter()
                .map(|worker| worker.lane.held.load(Ordering::Acquire))
                .sum();
            assert!(
                held <= 2 * (HELD_PER_WORKER + 600 * 1024),
                "{held} bytes held"
            );
            for (_, bytes) in &files {
                let prepared = ahead.next(Path::new("archive.zip")).unwrap();
                assert_eq!(prepared.length, bytes.len() as u64);
            }
        });
    }

    #[test]
    fn a_file_that_cannot_be_read_is_its_answer_and_the_writer_stops_cleanly() {
        let folder = tempfile::tempdir().unwrap();
        let files = write_files(folder.path(), &[10, 20, 30]);
        std::thread::scope(|scope| {
            let mut ahead = ReadAhead::start(scope, 6, 2);
            ahead.hand_out(&files[0].0);
            ahead.hand_out(&folder.path().join("gone.conf"));
            ahead.hand_out(&files[1].0);
            ahead.hand_out(&files[2].0);
            assert!(ahead.next(Path::new("archive.zip")).is_ok());
            match ahead.next(Path::new("archive.zip")) {
                Err(CreateError::Read { path, .. }) => assert!(path.ends_with("gone.conf")),
                Err(other) => panic!("{other}"),
                Ok(_) => panic!("a missing file was read"),
            }
            // Dropping the writer's side here ends the workers; the scope
            // would hang otherwise.
        });
    }
}
