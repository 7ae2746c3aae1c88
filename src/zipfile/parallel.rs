//! Reading many entries at once, spread over the cores.
//!
//! Entries are independent, so each worker takes the next job and reads it
//! with its own [`EntryReader`] through positional reads: the source's file
//! offset is never used, so the workers cannot disturb each other's reads.
//! Small entries that lie close together form one job, read from the archive
//! with one read; large entries are jobs of their own. The largest jobs go
//! first, so that one large entry does not start last and run alone.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use super::layout::{Entry, Layout};
use super::read::EntryReader;
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

/// How many workers to run: one per core.
pub fn worker_count() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Runs `work` on every entry of `layout` whose index is in `selected`, on
/// up to `workers` threads; answers each entry's result by position in
/// `selected`. `tick` is called on the calling thread about every 100 ms
/// while the workers run, and once at the end.
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
) -> Result<Vec<Option<T>>, (usize, E)>
where
    S: ReadAt + Sync + ?Sized,
    T: Send,
    E: Send,
    F: Fn(&mut EntryReader, &WorkerSource<'_, S>, &Entry) -> Result<T, E> + Sync,
{
    let length = layout.file_length;
    let jobs = plan_jobs(layout, selected);
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);

    // One worker's loop: jobs until none is left or a failure stops all.
    let run = || -> Vec<(usize, Result<T, E>)> {
        let mut reader = EntryReader::new();
        let ahead = ReadAhead::new(source, length, READ_AHEAD);
        let mut done = Vec::new();
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
    let finished: Vec<(usize, Result<T, E>)> = if workers == 1 {
        let finished = run();
        tick();
        finished
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
            let mut running = workers;
            while running > 0 {
                match receiver.recv_timeout(TICK) {
                    Ok(()) => running -= 1,
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
                tick();
            }
            handles
                .into_iter()
                .flat_map(|handle| match handle.join() {
                    Ok(finished) => finished,
                    Err(panic) => std::panic::resume_unwind(panic),
                })
                .collect()
        })
    };

    let mut results: Vec<Option<T>> = std::iter::repeat_with(|| None)
        .take(selected.len())
        .collect();
    let mut first_failure: Option<(usize, E)> = None;
    for (position, result) in finished {
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
fn plan_jobs(layout: &Layout, selected: &[usize]) -> Vec<Job> {
    let mut by_offset: Vec<(u64, u64, usize)> = selected
        .iter()
        .enumerate()
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
    let batch_span = (small_bytes / MIN_BATCHES).clamp(SMALL_ENTRY, BATCH_SPAN);

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
