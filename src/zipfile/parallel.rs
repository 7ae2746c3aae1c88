//! Reading many entries at once, spread over the cores.
//!
//! Entries are independent, so each worker takes the next job and reads it
//! with its own [`EntryReader`] through positional reads: the source's file
//! offset is never used, so the workers cannot disturb each other's reads.
//! Small entries that lie close together form one job, read from the archive
//! with one read; large entries are jobs of their own. The largest jobs go
//! first, so that one large entry does not start last and run alone.
//!
//! An [`EarlyReader`] reads small entries on another core while the
//! structure is still being read, as it hands them over.
//!
//! A thread that is not joined is waited for by its scope only until its
//! closure returns; it may still be dropping its thread-local values when
//! the scope has returned. A [`Joined`] thread is waited for to its end
//! wherever it is dropped, so nothing runs on after the call that started it.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread::{Scope, ScopedJoinHandle};
use std::time::Duration;

use super::layout::{Entry, Layout};
use super::read::{EntryData, EntryReader};
use super::source::{ReadAhead, ReadAt};

/// Entries whose data is at most this long are read together with their
/// neighbours.
const SMALL_ENTRY: u64 = 64 * 1024;
/// The most a batch of small entries spans in the archive.
const BATCH_SPAN: u64 = 1024 * 1024;
/// Small entries are cut into at least this many batches where they are
/// large enough in all, so that the workers share them evenly: a 3 MiB
/// archive of small files in 1 MiB batches kept one of two cores idle for
/// a third of the time.
const MIN_BATCHES: u64 = 32;
/// The window of each worker's read-ahead outside batches.
const READ_AHEAD: usize = 64 * 1024;
/// How often the calling thread reports progress while the workers run.
const TICK: Duration = Duration::from_millis(100);

/// One worker's view of the archive: positional reads through a read-ahead.
pub type WorkerSource<'a, S> = ReadAhead<'a, S>;

/// One worker's answers: each entry's result by position in the selection.
type Answers<T, E> = Vec<(usize, Result<T, E>)>;

/// A scoped thread joined when it is dropped, so that it has ended, not
/// only returned, before its owner goes: a panic of the thread is passed on
/// unless the owner is already unwinding.
pub struct Joined<'scope, T>(Option<ScopedJoinHandle<'scope, T>>);

impl<'scope, T> Joined<'scope, T> {
    /// Takes charge of `handle`.
    pub fn new(handle: ScopedJoinHandle<'scope, T>) -> Self {
        Joined(Some(handle))
    }

    /// Whether the thread's closure has returned.
    pub fn is_finished(&self) -> bool {
        self.0.as_ref().is_none_or(ScopedJoinHandle::is_finished)
    }

    /// Waits for the thread and answers what it returned (always some: the
    /// handle is given up only here and when dropped); its panic is passed
    /// on.
    pub fn join(mut self) -> Option<T> {
        match self.0.take()?.join() {
            Ok(value) => Some(value),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

impl<T> Drop for Joined<'_, T> {
    fn drop(&mut self) {
        let Some(handle) = self.0.take() else {
            return;
        };
        if let Err(panic) = handle.join()
            && !std::thread::panicking()
        {
            std::panic::resume_unwind(panic);
        }
    }
}

/// How many workers to run: one per core.
pub fn worker_count() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Runs `work` on every entry of `layout` whose index is in `selected`, on
/// up to `workers` threads, but those at the positions for which `skip`
/// answers true; answers each entry's result by position in `selected`
/// (none for a skipped one). `tick` is called on the calling thread about
/// every 100 ms while the workers run, and once at the end.
///
/// # Errors
/// When `work` fails for an entry, the workers stop taking new entries, and
/// the failure of the entry that comes first in the central directory among
/// those that failed is returned with its index.
pub fn for_each_entry<S, T, E, F>(
    source: &S,
    layout: &Layout,
    selected: &[usize],
    workers: usize,
    work: F,
    tick: &mut dyn FnMut(),
    skip: &dyn Fn(usize) -> bool,
) -> Result<Vec<Option<T>>, (usize, E)>
where
    S: ReadAt + Sync + ?Sized,
    T: Send,
    E: Send,
    F: Fn(&mut EntryReader, &WorkerSource<'_, S>, &Entry) -> Result<T, E> + Sync,
{
    let length = layout.file_length;
    let jobs = plan_jobs(layout, selected, skip);
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);

    // One worker's loop: jobs until none is left or a failure stops all.
    let run = || -> Answers<T, E> {
        let mut reader = EntryReader::new();
        let ahead = ReadAhead::new(source, length, READ_AHEAD);
        // Room for every entry: what no worker fills is never touched, and
        // growing would copy what is there.
        let mut done = Vec::with_capacity(selected.len());
        while !stop.load(Ordering::Relaxed) {
            let Some(job) = jobs.get(next.fetch_add(1, Ordering::Relaxed)) else {
                break;
            };
            // A batch is loaded with one read; when that fails, each entry
            // reads for itself and meets the failure on its own.
            if let Some((start, span)) = job.span {
                let _ = ahead.load(start, span);
            }
            for &position in &job.positions {
                let Some(entry) = layout.entries.get(selected[position]) else {
                    continue;
                };
                let result = work(&mut reader, &ahead, entry);
                let failed = result.is_err();
                done.push((position, result));
                if failed {
                    stop.store(true, Ordering::Relaxed);
                    return done;
                }
            }
        }
        done
    };

    let workers = workers.clamp(1, jobs.len().max(1));
    let room = || -> Vec<Option<T>> {
        std::iter::repeat_with(|| None)
            .take(selected.len())
            .collect()
    };
    let (finished, mut results): (Vec<Answers<T, E>>, _) = if workers == 1 {
        let finished = run();
        tick();
        (vec![finished], room())
    } else {
        std::thread::scope(|scope| {
            let (sender, receiver) = mpsc::channel::<()>();
            let handles: Vec<_> = (0..workers)
                .map(|_| {
                    let sender = sender.clone();
                    let run = &run;
                    scope.spawn(move || {
                        let finished = run();
                        let _ = sender.send(());
                        finished
                    })
                })
                .collect();
            drop(sender);
            // The room for the answers is made while the workers run: its
            // pages are fresh, and a fresh page's first touch is not free.
            let results = room();
            let mut running = workers;
            while running > 0 {
                match receiver.recv_timeout(TICK) {
                    Ok(()) => running -= 1,
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
                tick();
            }
            let finished = handles
                .into_iter()
                .map(|handle| match handle.join() {
                    Ok(finished) => finished,
                    Err(panic) => std::panic::resume_unwind(panic),
                })
                .collect();
            (finished, results)
        })
    };

    let mut first_failure: Option<(usize, E)> = None;
    for (position, result) in finished.into_iter().flatten() {
        match result {
            Ok(value) => results[position] = Some(value),
            Err(error) => {
                let index = selected[position];
                if first_failure
                    .as_ref()
                    .is_none_or(|(first, _)| index < *first)
                {
                    first_failure = Some((index, error));
                }
            }
        }
    }
    match first_failure {
        Some(failure) => Err(failure),
        None => Ok(results),
    }
}

/// How much of the archive a batch of small entries spans, for small
/// entries of `small_bytes` in all.
fn batch_span(small_bytes: u64) -> u64 {
    (small_bytes / MIN_BATCHES).clamp(SMALL_ENTRY, BATCH_SPAN)
}

/// A unit of work: entries by position in the selection, and the stretch
/// of the archive to load first when they are a batch.
struct Job {
    positions: Vec<usize>,
    span: Option<(u64, u64)>,
    weight: u64,
}

fn data_offset(entry: &Entry) -> u64 {
    entry
        .local
        .as_ref()
        .map_or(u64::MAX, |local| local.data_offset)
}

/// Groups the selected entries into jobs, largest first.
fn plan_jobs(layout: &Layout, selected: &[usize], skip: &dyn Fn(usize) -> bool) -> Vec<Job> {
    let mut by_offset: Vec<(u64, u64, usize)> = selected
        .iter()
        .enumerate()
        .filter(|(position, _)| !skip(*position))
        .filter_map(|(position, &index)| {
            let entry = layout.entries.get(index)?;
            let start = data_offset(entry);
            let end = start.saturating_add(entry.central.compressed_size);
            Some((start, end, position))
        })
        .collect();
    by_offset.sort_unstable();

    let weight_of = |position: usize| {
        layout.entries.get(selected[position]).map_or(0, |entry| {
            entry
                .central
                .uncompressed_size
                .max(entry.central.compressed_size)
        })
    };
    let is_small = |start: u64, end: u64| end - start <= SMALL_ENTRY && start != u64::MAX;
    let small_bytes: u64 = by_offset
        .iter()
        .filter(|(start, end, _)| is_small(*start, *end))
        .map(|(start, end, _)| end - start)
        .sum();
    let batch_span = batch_span(small_bytes);

    let mut jobs: Vec<Job> = Vec::new();
    let mut batch: Option<Job> = None;
    for (start, end, position) in by_offset {
        let small = is_small(start, end);
        if let Some(open) = &mut batch {
            let (batch_start, span) = open.span.unwrap_or((start, 0));
            let fits = small && start >= batch_start && end - batch_start <= batch_span;
            if fits {
                open.positions.push(position);
                open.span = Some((batch_start, span.max(end - batch_start)));
                open.weight += weight_of(position);
                continue;
            }
            jobs.extend(batch.take());
        }
        let job = Job {
            positions: vec![position],
            span: small.then_some((start, end - start)),
            weight: weight_of(position),
        };
        if small {
            batch = Some(job);
        } else {
            jobs.push(job);
        }
    }
    jobs.extend(batch);
    jobs.sort_by_key(|job| std::cmp::Reverse(job.weight));
    jobs
}

/// Small entries read together by an [`EarlyReader`]: the stretch of the
/// archive they lie in, and each entry by index.
struct EarlyBatch {
    start: u64,
    end: u64,
    entries: Vec<(usize, EntryData)>,
}

/// Reads small entries on a thread of its own as they are handed over,
/// while the rest of the structure is still being read. It takes a batch
/// only when its thread is free for it; what it does not take is left to
/// be read with the rest, once the structure is whole.
pub struct EarlyReader<'scope, T> {
    // Declared before the thread, so dropped first: the thread ends when
    // the channel closes, and a dropped reader then waits for it.
    sender: Option<mpsc::SyncSender<EarlyBatch>>,
    open: Option<EarlyBatch>,
    batch_span: u64,
    taken: Vec<(usize, EntryData)>,
    thread: Option<Joined<'scope, Vec<(usize, EntryData, T)>>>,
}

impl<'scope, T: Send + 'scope> EarlyReader<'scope, T> {
    /// Starts the reading thread in `scope`, which runs `work` on each
    /// entry taken. With one core there is no thread, and nothing is taken.
    pub fn start<S, F>(scope: &'scope Scope<'scope, '_>, source: &'scope S, work: F) -> Self
    where
        S: ReadAt + Sync + ?Sized,
        F: Fn(&mut EntryReader, &WorkerSource<'_, S>, EntryData) -> T + Send + 'scope,
    {
        let mut early = EarlyReader {
            sender: None,
            open: None,
            batch_span: SMALL_ENTRY,
            taken: Vec::new(),
            thread: None,
        };
        let Ok(length) = source.length() else {
            return early;
        };
        if worker_count() < 2 {
            return early;
        }
        // The small entries' bytes are not known yet; the archive's length
        // bounds them.
        early.batch_span = batch_span(length);
        // Room for one batch waiting while another is read: the thread is
        // never idle while batches come, and never far behind.
        let (sender, receiver) = mpsc::sync_channel::<EarlyBatch>(1);
        early.sender = Some(sender);
        early.thread = Some(Joined::new(scope.spawn(move || {
            let mut reader = EntryReader::new();
            let ahead = ReadAhead::new(source, length, READ_AHEAD);
            let mut done = Vec::new();
            for batch in receiver {
                let _ = ahead.load(batch.start, batch.end - batch.start);
                for (index, data) in batch.entries {
                    done.push((index, data, work(&mut reader, &ahead, data)));
                }
            }
            done
        })));
        early
    }

    /// Offers entry `index` for reading. Large entries are never taken:
    /// they are read after, largest first.
    pub fn offer(&mut self, index: usize, data: EntryData) {
        if self.sender.is_none() || data.compressed_size > SMALL_ENTRY {
            return;
        }
        let start = data.data_offset;
        let Some(end) = start.checked_add(data.compressed_size) else {
            return;
        };
        if let Some(open) = &mut self.open {
            if start >= open.start && end - open.start <= self.batch_span {
                open.end = open.end.max(end);
                open.entries.push((index, data));
                return;
            }
            self.hand_over();
        }
        self.open = Some(EarlyBatch {
            start,
            end,
            entries: vec![(index, data)],
        });
    }

    /// Hands the open batch to the thread if it is free to take it; a
    /// batch it does not take is dropped, and its entries read later.
    fn hand_over(&mut self) {
        let (Some(batch), Some(sender)) = (self.open.take(), &self.sender) else {
            return;
        };
        let before = self.taken.len();
        self.taken.extend_from_slice(&batch.entries);
        if sender.try_send(batch).is_err() {
            self.taken.truncate(before);
        }
    }

    /// Hands over the last batch and lets the thread finish what it took.
    pub fn finish(mut self) -> EarlyRead<'scope, T> {
        self.hand_over();
        self.sender = None;
        EarlyRead {
            taken: self.taken,
            thread: self.thread,
        }
    }
}

/// What an [`EarlyReader`] took, and its thread finishing it.
pub struct EarlyRead<'scope, T> {
    taken: Vec<(usize, EntryData)>,
    thread: Option<Joined<'scope, Vec<(usize, EntryData, T)>>>,
}

impl<T> EarlyRead<'_, T> {
    /// For each of `count` entries by index, whether it was taken and
    /// `alike` holds for it: given the index and what was taken of it, says
    /// that the entry still reads as it did (the structure may have been
    /// read again from another end record since).
    pub fn taken_alike(&self, count: usize, alike: impl Fn(usize, EntryData) -> bool) -> Vec<bool> {
        let mut by_index = vec![false; count];
        for (index, data) in &self.taken {
            if let Some(slot) = by_index.get_mut(*index) {
                *slot |= alike(*index, *data);
            }
        }
        by_index
    }

    /// Waits for the thread; answers each entry read, by index, with what
    /// was taken of it: a caller uses a result only for an entry that still
    /// reads alike.
    pub fn join(self) -> Vec<(usize, EntryData, T)> {
        self.thread.and_then(Joined::join).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Write};

    use super::*;
    use crate::zipfile::EntryDigest;

    /// Sets its flag when dropped, after a pause that leaves an unjoined
    /// thread's scope time to return first.
    struct SetsOnDrop(&'static std::sync::atomic::AtomicBool);

    impl Drop for SetsOnDrop {
        fn drop(&mut self) {
            std::thread::sleep(Duration::from_millis(50));
            self.0.store(true, Ordering::SeqCst);
        }
    }

    thread_local! {
        static LAST_WORDS: std::cell::RefCell<Option<SetsOnDrop>> =
            const { std::cell::RefCell::new(None) };
    }

    #[test]
    fn a_dropped_thread_has_ended_with_its_thread_locals_dropped() {
        static DROPPED: AtomicBool = AtomicBool::new(false);
        std::thread::scope(|scope| {
            let thread = Joined::new(scope.spawn(|| {
                LAST_WORDS.with(|last| *last.borrow_mut() = Some(SetsOnDrop(&DROPPED)));
            }));
            drop(thread);
            assert!(DROPPED.load(Ordering::SeqCst));
        });
    }

    #[test]
    fn a_joined_threads_panic_is_passed_on_by_join_and_by_drop() {
        let by_join = std::panic::catch_unwind(|| {
            std::thread::scope(|scope| Joined::new(scope.spawn(|| panic!("worker"))).join())
        });
        assert!(by_join.is_err());
        let by_drop = std::panic::catch_unwind(|| {
            std::thread::scope(|scope| drop(Joined::new(scope.spawn(|| panic!("worker")))))
        });
        assert!(by_drop.is_err());
        let answered = std::thread::scope(|scope| Joined::new(scope.spawn(|| 7)).join());
        assert_eq!(answered, Some(7));
    }

    /// An archive of `count` small deflated entries and, in the middle, one
    /// stored entry larger than a small entry may be.
    fn archive(count: usize) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let deflated = zip::write::SimpleFileOptions::default();
        let stored = deflated.compression_method(zip::CompressionMethod::Stored);
        for index in 0..count {
            if index == count / 2 {
                writer.start_file("large", stored).unwrap();
                writer
                    .write_all(&vec![7u8; SMALL_ENTRY as usize + 1])
                    .unwrap();
            }
            writer
                .start_file(format!("{index}.conf"), deflated)
                .unwrap();
            writer
                .write_all(format!("entry {index} {}", "x".repeat(index % 90)).as_bytes())
                .unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    /// Skipped positions answer nothing and are never handed to the work;
    /// every other selected entry answers its own result, in place.
    #[test]
    fn skipped_positions_are_left_out_and_the_rest_answer_in_place() {
        let bytes = archive(500);
        let layout = Layout::read(&bytes).unwrap();
        let selected: Vec<usize> = (0..layout.entries.len()).rev().step_by(2).collect();
        let worked = AtomicUsize::new(0);
        let results = for_each_entry(
            bytes.as_slice(),
            &layout,
            &selected,
            2,
            |_, _, entry| {
                worked.fetch_add(1, Ordering::Relaxed);
                Ok::<_, ()>(entry.index)
            },
            &mut || {},
            &|position| position % 3 == 0,
        )
        .unwrap();
        assert_eq!(results.len(), selected.len());
        for (position, result) in results.iter().enumerate() {
            let expected = (position % 3 != 0).then_some(selected[position]);
            assert_eq!(*result, expected, "{position}");
        }
        assert_eq!(
            worked.load(Ordering::Relaxed),
            results.iter().flatten().count()
        );
    }

    /// Every entry the early reader takes is read as a reader of its own
    /// reads it, the large one is never taken, and what it took is what
    /// it says it took.
    #[test]
    fn what_the_early_reader_takes_reads_as_it_would_alone() {
        let bytes = archive(3_000);
        let layout = Layout::read(&bytes).unwrap();
        let (taken, read) = std::thread::scope(|scope| {
            let mut early = EarlyReader::start(scope, &bytes, |reader, source, data| {
                reader.read_data(source, data, |_| Ok(())).ok()
            });
            for entry in &layout.entries {
                early.offer(entry.index, EntryData::of(entry).unwrap());
            }
            let early = early.finish();
            let taken = early.taken_alike(layout.entries.len(), |_, _| true);
            (taken, early.join())
        });

        let read_indices: Vec<usize> = read.iter().map(|(index, _, _)| *index).collect();
        let taken_indices: Vec<usize> = (0..taken.len()).filter(|index| taken[*index]).collect();
        let mut sorted = read_indices.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, taken_indices);
        if worker_count() > 1 {
            assert!(!read.is_empty(), "the first batch is always taken");
        }
        for (index, data, digest) in read {
            let entry = &layout.entries[index];
            assert_ne!(entry.central.name, b"large");
            assert_eq!(Some(data), EntryData::of(entry).ok());
            let alone: Option<EntryDigest> = EntryReader::new()
                .read(bytes.as_slice(), entry, |_| Ok(()))
                .ok();
            assert!(alone.is_some());
            assert_eq!(digest, alone, "{}", entry.display_name());
        }
    }

    /// `taken_alike` keeps only the entries its test says still read alike.
    #[test]
    fn taken_entries_that_no_longer_read_alike_are_not_counted() {
        let bytes = archive(200);
        let layout = Layout::read(&bytes).unwrap();
        let taken = std::thread::scope(|scope| {
            let mut early = EarlyReader::start(scope, &bytes, |_, _, _| ());
            for entry in &layout.entries {
                early.offer(entry.index, EntryData::of(entry).unwrap());
            }
            let early = early.finish();
            early.taken_alike(layout.entries.len(), |index, _| index % 2 == 0)
        });
        assert!(
            taken
                .iter()
                .enumerate()
                .all(|(index, taken)| !taken || index % 2 == 0)
        );
        if worker_count() > 1 {
            assert!(
                taken.iter().any(|taken| *taken),
                "the first batch is always taken"
            );
        }
    }
}
