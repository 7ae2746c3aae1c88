//! Checking a backup archive against the file list inside it.
//!
//! Checks run in this order, and every problem found is reported, not only
//! the first:
//! 1. the file can be read and is a zip archive;
//! 2. it holds at least one file;
//! 3. the file list exists, can be read, and names at least one file;
//! 4. the number of files matches the list, then their names;
//! 5. every entry is read to its end: CRC-32, declared size, and SHA-256
//!    against the list;
//! 6. hazards of names, entry types and the container's structure;
//! 7. the metadata file.
//!
//! "The files in the archive" are its entries that are not folders, other
//! than the file list itself: symlinks and special entries count, so that
//! they can never hide beside a matching list.

pub mod problem;

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::Scope;

use serde::Serialize;

use crate::format::file_list::{FileListError, ListedFile};
use crate::format::path::{PathHazard, path_hazards};
use crate::format::{
    CONFIG_DIR, FILE_LIST_NAME, FORMAT_VERSION, FileList, METADATA_NAME, Metadata, Place,
    STATISTICS_DIR,
};
use crate::zipfile::layout::method_name;
use crate::zipfile::parallel::{EarlyRead, EarlyReader, Joined, for_each_entry, worker_count};
use crate::zipfile::{
    Entry, EntryData, EntryDigest, EntryKind, EntryReadError, Layout, LayoutError, ReadAt,
    read_entry,
};
pub use problem::{Problem, ProblemCode, Severity};

/// The default size cap: the declared uncompressed sizes of all entries
/// together may not exceed it.
pub const DEFAULT_MAX_SIZE: u64 = 32 << 30;

/// The largest file list or metadata file that is read.
const MAX_LIST_SIZE: u64 = 256 << 20;
const MAX_METADATA_SIZE: u64 = 1 << 20;
/// A file list at least this long (some ten thousand files) is read while
/// the rest of the structure is: for fewer files the structure is read in
/// about the time a thread takes to start.
const EARLY_LIST_SIZE: u64 = 1 << 20;

/// How many names a mismatch message spells out.
const NAMES_SHOWN: usize = 10;

/// How verification runs.
#[derive(Debug, Clone, Copy)]
pub struct VerifyOptions {
    /// The cap on the declared uncompressed size of the whole archive.
    pub max_size: u64,
    /// Whether entries are read to their end (step 5). Restore turns it off
    /// for its pre-check, because it checks every entry as it extracts it.
    pub read_data: bool,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            max_size: DEFAULT_MAX_SIZE,
            read_data: true,
        }
    }
}

/// The verdict on one archive.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The archive as named by the caller.
    pub archive: String,
    /// Whether no problem of severity error was found.
    pub valid: bool,
    /// False when the file could not be read at all (an I/O failure, not bad
    /// content).
    pub readable: bool,
    /// Number of files in the archive (entries that are not folders, the list
    /// excluded).
    pub files: usize,
    /// Number of lines in the file list, when it could be read.
    pub listed: Option<usize>,
    /// Uncompressed bytes read and checked.
    pub bytes_checked: u64,
    /// The metadata, when it could be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    /// Every problem, in the order the checks ran.
    pub problems: Vec<Problem>,
}

impl Report {
    fn new(archive: &str) -> Report {
        Report {
            archive: archive.to_string(),
            valid: true,
            readable: true,
            files: 0,
            listed: None,
            bytes_checked: 0,
            metadata: None,
            problems: Vec::new(),
        }
    }

    fn finish(mut self) -> Report {
        self.valid = !self
            .problems
            .iter()
            .any(|problem| problem.severity == Severity::Error);
        self
    }

    /// The codes of the problems, in order.
    pub fn codes(&self) -> Vec<ProblemCode> {
        self.problems.iter().map(|problem| problem.code).collect()
    }
}

/// Progress of a verification: uncompressed bytes checked so far, of a total.
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64);

/// Verifies the archive at `path`.
pub fn verify_path(path: &Path, options: &VerifyOptions, progress: Progress<'_>) -> Report {
    let label = path.display().to_string();
    match File::open(path) {
        Ok(file) => {
            if file.metadata().is_ok_and(|metadata| metadata.is_dir()) {
                let mut report = Report::new(&label);
                report.readable = false;
                report.problems.push(Problem::new(
                    ProblemCode::Unreadable,
                    format!("`{label}` is a folder"),
                ));
                return report.finish();
            }
            verify_source(&file, &label, options, progress)
        }
        Err(error) => {
            let mut report = Report::new(&label);
            report.readable = false;
            report.problems.push(Problem::new(
                ProblemCode::Unreadable,
                format!("cannot open `{label}`: {error}"),
            ));
            report.finish()
        }
    }
}

/// Verifies the archive in `source`, named `label` in the report.
pub fn verify_source<S: ReadAt + Sync + ?Sized>(
    source: &S,
    label: &str,
    options: &VerifyOptions,
    progress: Progress<'_>,
) -> Report {
    let Verified {
        report,
        layout,
        list,
    } = verify_and_keep(source, label, options, progress);
    // Freeing the structure of a large archive takes milliseconds that the
    // answer need not wait for; a thread that cannot start frees it here.
    if layout
        .as_ref()
        .is_some_and(|layout| layout.entries.len() >= FREE_ASIDE)
    {
        let _ = std::thread::Builder::new().spawn(move || drop((layout, list)));
    }
    report
}

/// The names that more than one entry has, with how many have each, in name
/// order. Archives mostly hold their names in order: the longest stretch of
/// names in strictly increasing order holds no name twice, so only the
/// others are counted, in a hash map, each also looked up in that stretch.
/// Names in no order at all are all counted, which for tens of thousands
/// is still several times quicker than sorting them.
fn duplicate_names(layout: &Layout) -> Vec<(&[u8], usize)> {
    let names: Vec<&[u8]> = layout
        .entries
        .iter()
        .map(|entry| entry.central.name.as_slice())
        .collect();
    repeated(&names)
}

/// The names given more than once in `names`, with how many times, in
/// name order.
fn repeated<'a>(names: &[&'a [u8]]) -> Vec<(&'a [u8], usize)> {
    let (start, end) = longest_increasing_stretch(names);
    let ordered = &names[start..end];
    let others = names[..start].iter().chain(&names[end..]);

    let mut counts: HashMap<&'a [u8], usize> = HashMap::with_capacity(names.len() - ordered.len());
    for &name in others {
        *counts.entry(name).or_default() += 1;
    }
    let mut duplicates: Vec<(&'a [u8], usize)> = counts
        .into_iter()
        .map(|(name, count)| {
            (
                name,
                count + usize::from(ordered.binary_search(&name).is_ok()),
            )
        })
        .filter(|(_, count)| *count > 1)
        .collect();
    duplicates.sort_unstable();
    duplicates
}

/// The longest run of `names` in strictly increasing byte order, as the
/// range of its positions.
fn longest_increasing_stretch(names: &[&[u8]]) -> (usize, usize) {
    let (mut best, mut start) = ((0, names.len().min(1)), 0);
    for (position, pair) in names.windows(2).enumerate() {
        if pair[0] >= pair[1] {
            start = position + 1;
        }
        let end = position + 2;
        if end - start > best.1 - best.0 {
            best = (start, end);
        }
    }
    best
}

/// From this many entries, [`verify_source`] frees what it read on a thread
/// of its own.
const FREE_ASIDE: usize = 10_000;

/// The entries before this index are never read while the structure is: a
/// structure of no more entries is read in a few milliseconds, and reading
/// beside it made panel's verify (2,000 entries) 5% slower.
pub const EARLY_DATA_FROM: usize = 4_096;

/// A verdict, with the structure and the file list the checks read, so
/// that a caller that goes on with the archive need not read them again.
pub(crate) struct Verified {
    pub(crate) report: Report,
    pub(crate) layout: Option<Layout>,
    pub(crate) list: Option<FileList>,
}

/// Verifies as [`verify_source`] does, keeping what was read.
pub(crate) fn verify_and_keep<S: ReadAt + Sync + ?Sized>(
    source: &S,
    label: &str,
    options: &VerifyOptions,
    progress: Progress<'_>,
) -> Verified {
    let done = AtomicU64::new(0);
    std::thread::scope(|scope| verify_in(scope, source, &done, label, options, progress))
}

/// Verifies as [`verify_and_keep`] does, with threads of its own in `scope`.
fn verify_in<'scope, S: ReadAt + Sync + ?Sized>(
    scope: &'scope Scope<'scope, '_>,
    source: &'scope S,
    done: &'scope AtomicU64,
    label: &str,
    options: &VerifyOptions,
    progress: Progress<'_>,
) -> Verified {
    let mut report = Report::new(label);
    let unfinished = |report: Report| Verified {
        report: report.finish(),
        layout: None,
        list: None,
    };

    // 1. Readable, and a zip. While the rest of the structure is read, a
    // long file list is read and parsed on a thread of its own as soon as
    // its entry is read, and small entries are read on another core as
    // they come, in the order and under the cap the data plan would give.
    let mut list_seen = false;
    let mut early_list: Option<Joined<'_, EarlyList>> = None;
    let mut early_data = EarlyReader::start(scope, source, |reader, source, data| {
        reader.read_data(source, data, |chunk| {
            done.fetch_add(chunk.len() as u64, Ordering::Relaxed);
            Ok(())
        })
    });
    let mut gathered = Gathered::new(options);
    let layout = Layout::read_watching(source, &mut |entry| {
        let spent = gathered.see(entry);
        let is_list = entry.central.name == FILE_LIST_NAME.as_bytes();
        if gathered.list == Some(entry.index) {
            // Read by the checks, not by the data workers.
        } else if spent == Spent::Read
            && options.read_data
            && entry.index >= EARLY_DATA_FROM
            // The list's thread has the other core first.
            && early_list.as_ref().is_none_or(Joined::is_finished)
            && let Ok(data) = EntryData::of(entry)
        {
            early_data.offer(entry.index, data);
        }

        if list_seen || !is_list {
            return;
        }
        list_seen = true;
        if entry.kind() == EntryKind::File
            && !entry.is_encrypted()
            && (EARLY_LIST_SIZE..=MAX_LIST_SIZE).contains(&entry.central.uncompressed_size)
        {
            let entry = entry.clone();
            early_list = Some(Joined::new(scope.spawn(move || {
                let read = read_whole(source, &entry);
                let parsed = read.as_ref().ok().map(|(bytes, _)| FileList::parse(bytes));
                EarlyList {
                    entry,
                    read,
                    parsed,
                }
            })));
        }
    });
    let early_data = early_data.finish();
    let layout = match layout {
        Ok(layout) => layout,
        Err(LayoutError::Io(error)) => {
            report.readable = false;
            report.problems.push(Problem::new(
                ProblemCode::Unreadable,
                format!("cannot read `{label}`: {error}"),
            ));
            return unfinished(report);
        }
        Err(LayoutError::NotZip(reason)) => {
            report
                .problems
                .push(Problem::new(ProblemCode::NotAZip, reason));
            return unfinished(report);
        }
    };

    let Gathered {
        plan,
        files,
        list: list_index,
        total,
        ..
    } = gathered.of(&layout);

    // 2. Not empty: at least one entry that is not a folder.
    let files: Vec<&Entry> = files.iter().map(|&index| &layout.entries[index]).collect();
    if files.is_empty() {
        let detail = if layout.entries.is_empty() {
            "the archive holds no entry".to_string()
        } else {
            format!(
                "the archive holds {} folders and no file",
                layout.entries.len()
            )
        };
        report
            .problems
            .push(Problem::new(ProblemCode::EmptyArchive, detail));
        return unfinished(report);
    }

    // The data is read on every core while another thread checks the list,
    // the names and the structure; the problems are then put in the
    // documented order: list, data, hazards, metadata.
    let structure = || {
        let mut checker = Checker {
            source,
            layout: &layout,
            options,
            report,
            list_digest: None,
            list_paths_unique: false,
            list_aligned: None,
            early_list: early_list.and_then(Joined::join),
        };
        let duplicates = duplicate_names(&layout);
        let list = checker.check_list(&files, duplicates.is_empty());
        let hazards = checker.hazards(&duplicates);
        let before = checker.report.problems.len();
        checker.check_metadata();
        let metadata = checker.report.problems.split_off(before);
        (checker, list, hazards, metadata)
    };
    // The checks start first; what the data workers read is planned beside
    // them.
    let (checked, plan, list_at, mut results) = std::thread::scope(|inner| {
        let structure = inner.spawn(structure);
        // The checks read the file list whole, with its CRC-32 and SHA-256:
        // the data workers leave it to them rather than inflate it twice.
        let list_at = list_index.and_then(|index| {
            let position = plan.selected.binary_search(&index).ok()?;
            Some((&layout.entries[index], position))
        });
        let results = if plan.selected.is_empty() {
            Vec::new()
        } else {
            let counted = list_at.map_or(0, |(list, _)| list.central.uncompressed_size);
            done.fetch_add(counted, Ordering::Relaxed);
            let list_position = list_at.map(|(_, position)| position);
            let selection = Selection {
                selected: &plan.selected,
                skipped: list_position,
            };
            read_data(
                source, &layout, selection, early_data, progress, done, total,
            )
        };
        match structure.join() {
            Ok(checked) => (checked, plan, list_at, results),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    });
    let (mut checker, list, hazards, metadata) = checked;
    if let Some((entry, position)) = list_at {
        // Read again only when the checks could not read it to its end,
        // for the data's own verdict.
        let result = match checker.list_digest.take() {
            Some(digest) => Ok(digest),
            None => read_entry(source, entry, |_| Ok(())),
        };
        results[position] = Some(result);
    }

    let mut listed_hashes = ListedHashes::new(
        list.as_ref().map_or(&[], |list| &list.files),
        checker.list_paths_unique,
    );
    listed_hashes.aligned = checker.list_aligned.take();
    checker.judge_data(&plan, results, &mut listed_hashes);
    checker.report.problems.extend(hazards);
    checker.report.problems.extend(metadata);
    let report = checker.report.finish();
    Verified {
        report,
        layout: Some(layout),
        list,
    }
}

/// The list's hashes by path; a path listed more than once has the hash of
/// its last line. Looked up in archive order. When the list names the
/// archive's files one for one in their order, as every backup's does, a
/// file's line is known by its place and any other entry has none. When
/// not, but no path is listed twice and the archive holds its files in the
/// list's order, a lookup costs one comparison; the first lookup that
/// misses that order is answered by a scan of the list, and only a second
/// one builds the sorted index.
struct ListedHashes<'a> {
    in_order: &'a [ListedFile],
    /// The entries the list names, line by line, when it names the files
    /// one for one in the archive's order and no two entries share a name.
    aligned: Option<Vec<usize>>,
    next: usize,
    sorted: Option<Vec<(&'a str, [u8; 32])>>,
    scanned: bool,
    unique: bool,
}

impl<'a> ListedHashes<'a> {
    /// `unique` says that no path is listed twice.
    fn new(files: &'a [ListedFile], unique: bool) -> ListedHashes<'a> {
        ListedHashes {
            in_order: files,
            aligned: None,
            next: 0,
            sorted: None,
            scanned: false,
            unique,
        }
    }

    /// The hash listed for the entry at `index`, named `name`; entries are
    /// looked up in archive order. A name that is not UTF-8 equals no
    /// listed path.
    fn get(&mut self, index: usize, name: &[u8]) -> Option<[u8; 32]> {
        if let Some(aligned) = &self.aligned {
            while aligned.get(self.next).is_some_and(|&named| named < index) {
                self.next += 1;
            }
            if aligned.get(self.next) != Some(&index) {
                return None;
            }
            return self.in_order.get(self.next).map(|file| file.sha256);
        }
        if self.unique
            && let Some(file) = self.in_order.get(self.next)
            && file.path.as_bytes() == name
        {
            self.next += 1;
            return Some(file.sha256);
        }
        if self.sorted.is_none() && !self.scanned {
            self.scanned = true;
            return self
                .in_order
                .iter()
                .rev()
                .find(|file| file.path.as_bytes() == name)
                .map(|file| file.sha256);
        }
        // Text orders as its bytes do.
        let sorted = self
            .sorted
            .get_or_insert_with(|| last_of_each_path(self.in_order));
        let found = sorted
            .binary_search_by(|(listed, _)| listed.as_bytes().cmp(name))
            .ok()?;
        Some(sorted[found].1)
    }
}

/// Each listed path with the hash of its last line, sorted by path.
fn last_of_each_path(files: &[ListedFile]) -> Vec<(&str, [u8; 32])> {
    let mut sorted: Vec<(&str, [u8; 32])> = files
        .iter()
        .map(|file| (file.path.as_str(), file.sha256))
        .collect();
    // Stable, so that of equal paths the last line stays last.
    sorted.sort_by(|first, second| first.0.cmp(second.0));
    let mut kept: Vec<(&str, [u8; 32])> = Vec::with_capacity(sorted.len());
    for item in sorted {
        match kept.last_mut() {
            Some(last) if last.0 == item.0 => *last = item,
            _ => kept.push(item),
        }
    }
    kept
}

/// Which entries have their data read, and which pass the size cap.
struct DataPlan {
    /// Entries to read, by index, in order.
    selected: Vec<usize>,
    /// Entries whose declared size no longer fits under the cap.
    over_cap: Vec<usize>,
}

/// What the data plan and the checks need of each entry, taken as the
/// structure's reader shows it, while it is still in the cache: no pass
/// over the whole structure then stands between reading it and reading
/// the data.
struct Gathered {
    options: VerifyOptions,
    cap: SizeCap,
    /// Entries seen since the last first entry.
    seen: usize,
    plan: DataPlan,
    /// The entries that are not folders.
    files: Vec<usize>,
    /// The first entry named as the file list.
    list: Option<usize>,
    /// Declared sizes of all entries, for the progress.
    total: u64,
}

impl Gathered {
    fn new(options: &VerifyOptions) -> Gathered {
        Gathered {
            options: *options,
            cap: SizeCap::new(options.max_size),
            seen: 0,
            plan: DataPlan {
                selected: Vec::new(),
                over_cap: Vec::new(),
            },
            files: Vec::new(),
            list: None,
            total: 0,
        }
    }

    /// Takes `entry`'s part, and tells what it took of the size cap. A first
    /// entry starts again: the structure is then read anew from another end
    /// record.
    fn see(&mut self, entry: &Entry) -> Spent {
        if entry.index == 0 && self.seen > 0 {
            *self = Gathered::new(&self.options);
        }
        self.seen += 1;
        if entry.kind() != EntryKind::Directory {
            self.files.push(entry.index);
        }
        if self.list.is_none() && entry.central.name == FILE_LIST_NAME.as_bytes() {
            self.list = Some(entry.index);
        }
        self.total = self.total.saturating_add(entry.central.uncompressed_size);
        let spent = self.cap.spend(entry);
        match spent {
            Spent::Nothing => {}
            Spent::OverCap => self.plan.over_cap.push(entry.index),
            Spent::Read => {
                if self.options.read_data {
                    self.plan.selected.push(entry.index);
                }
            }
        }
        spent
    }

    /// What was gathered, when it was gathered from `layout`'s entries;
    /// gathered from them anew otherwise (an end record given up after
    /// some entries, and a structure of none).
    fn of(self, layout: &Layout) -> Gathered {
        if self.seen == layout.entries.len() {
            return self;
        }
        let mut gathered = Gathered::new(&self.options);
        for entry in &layout.entries {
            gathered.see(entry);
        }
        gathered
    }
}

/// What is left of the size cap, spent in entry order on each entry whose
/// data can be read.
struct SizeCap {
    left: u64,
}

/// What an entry took of the size cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spent {
    /// Its data cannot be read (reported among the hazards).
    Nothing,
    /// Its declared size no longer fits under the cap.
    OverCap,
    /// Its declared size; its data is read.
    Read,
}

impl SizeCap {
    fn new(cap: u64) -> SizeCap {
        SizeCap { left: cap }
    }

    fn spend(&mut self, entry: &Entry) -> Spent {
        if entry.is_encrypted() || !matches!(entry.central.method, 0 | 8) || entry.local.is_err() {
            return Spent::Nothing;
        }
        let declared = entry.central.uncompressed_size;
        if declared > self.left {
            return Spent::OverCap;
        }
        self.left -= declared;
        Spent::Read
    }
}

/// The entry the checks read as the file list: the first of its name.
fn file_list_entry(layout: &Layout) -> Option<&Entry> {
    layout
        .entries
        .iter()
        .find(|entry| entry.central.name == FILE_LIST_NAME.as_bytes())
}

/// What reading one entry to its end gave.
type DataResult = Option<Result<EntryDigest, EntryReadError>>;

/// The entries to read, by index in entry order, and the position among
/// them of one that is read elsewhere.
struct Selection<'a> {
    selected: &'a [usize],
    skipped: Option<usize>,
}

/// What the early reader's reads give.
type EarlyResult = Result<EntryDigest, EntryReadError>;

/// Reads every selected entry but the skipped one to its end; answers each
/// result by position in the selection. What `early` read stands for the
/// entries that still read alike; the rest are read spread over the cores,
/// reporting progress from this thread: `done` of `total` bytes, counting
/// what is read elsewhere.
fn read_data<S: ReadAt + Sync + ?Sized>(
    source: &S,
    layout: &Layout,
    Selection { selected, skipped }: Selection<'_>,
    early: EarlyRead<'_, EarlyResult>,
    progress: Progress<'_>,
    done: &AtomicU64,
    total: u64,
) -> Vec<DataResult> {
    let reads_alike = |index: usize, data: EntryData| {
        layout
            .entries
            .get(index)
            .is_some_and(|entry| EntryData::of(entry).ok() == Some(data))
    };

    // What the early reader took is not read again: its verdicts fill the
    // places the workers leave.
    let taken = early.taken_alike(layout.entries.len(), reads_alike);
    let mut results: Vec<DataResult> = for_each_entry(
        source,
        layout,
        selected,
        worker_count(),
        |reader, source, entry| {
            Ok::<_, Infallible>(reader.read(source, entry, |chunk| {
                done.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                Ok(())
            }))
        },
        // An entry read early from an end record that was given up is
        // counted twice.
        &mut || progress(done.load(Ordering::Relaxed).min(total), total),
        &|position| Some(position) == skipped || taken[selected[position]],
    )
    .unwrap_or_else(|(_, never)| match never {});
    for (index, data, result) in early.join() {
        if let Ok(position) = selected.binary_search(&index)
            && Some(position) != skipped
            && results[position].is_none()
            && reads_alike(index, data)
        {
            results[position] = Some(result);
        }
    }
    // Every entry taken was read; should one not have been, it is read
    // here rather than go without a verdict.
    for (position, result) in results.iter_mut().enumerate() {
        if result.is_none() && Some(position) != skipped {
            let entry = layout.entries.get(selected[position]);
            *result = entry.map(|entry| read_entry(source, entry, |_| Ok(())));
        }
    }
    results
}

struct Checker<'a, S: ReadAt + Sync + ?Sized> {
    source: &'a S,
    layout: &'a Layout,
    options: &'a VerifyOptions,
    report: Report,
    /// What reading the file list to its end gave, when the checks read it.
    list_digest: Option<EntryDigest>,
    /// Whether the list, compared with the files, names no path twice.
    list_paths_unique: bool,
    /// The entries the list names, line by line, when it names the files
    /// one for one in the archive's order and no two entries share a name.
    list_aligned: Option<Vec<usize>>,
    /// The file list as read while the structure was, if it was.
    early_list: Option<EarlyList>,
}

/// The first entry named as the file list, read whole and parsed while the
/// rest of the structure was being read.
struct EarlyList {
    /// The entry as it was when read; used only if the structure finally
    /// read holds the same as its file list.
    entry: Entry,
    read: WholeRead,
    parsed: Option<(FileList, Vec<FileListError>)>,
}

/// What reading a small entry whole gave: its bytes and what reading them
/// measured.
type WholeRead = Result<(Vec<u8>, EntryDigest), EntryReadError>;

fn read_whole<S: ReadAt + ?Sized>(source: &S, entry: &Entry) -> WholeRead {
    let mut content =
        Vec::with_capacity(usize::try_from(entry.central.uncompressed_size).unwrap_or(0));
    let digest = read_entry(source, entry, |chunk| {
        content.extend_from_slice(chunk);
        Ok(())
    })?;
    Ok((content, digest))
}

impl<S: ReadAt + Sync + ?Sized> Checker<'_, S> {
    fn push(&mut self, problem: Problem) {
        self.report.problems.push(problem);
    }

    /// Reads a small entry whole: its bytes, or `None` after reporting why
    /// not; and what reading it to its end gave, when it was read.
    fn read_small(&mut self, entry: &Entry, limit: u64) -> (Option<Vec<u8>>, Option<EntryDigest>) {
        let name = entry.display_name();
        if entry.central.uncompressed_size > limit {
            self.push(
                Problem::new(
                    ProblemCode::SizeLimit,
                    format!(
                        "`{name}` declares {} bytes, more than the {limit} allowed for it",
                        entry.central.uncompressed_size
                    ),
                )
                .at(&name),
            );
            return (None, None);
        }
        let read = read_whole(self.source, entry);
        self.judge_whole(entry, read)
    }

    /// Judges what reading a small entry whole gave, as [`Checker::read_small`]
    /// answers it.
    fn judge_whole(
        &mut self,
        entry: &Entry,
        read: WholeRead,
    ) -> (Option<Vec<u8>>, Option<EntryDigest>) {
        let name = entry.display_name();
        match read {
            Ok((content, digest)) if digest.crc32 == entry.central.crc32 => {
                (Some(content), Some(digest))
            }
            Ok((_, digest)) => {
                self.push(
                    Problem::new(
                        ProblemCode::CrcMismatch,
                        format!("`{name}`: data does not match its CRC-32"),
                    )
                    .at(&name),
                );
                (None, Some(digest))
            }
            Err(error) => {
                let problem = self.read_problem(&name, &error);
                self.push(problem);
                (None, None)
            }
        }
    }

    fn read_problem(&mut self, name: &str, error: &EntryReadError) -> Problem {
        let code = match error {
            EntryReadError::Io(_) | EntryReadError::Sink(_) => {
                self.report.readable = false;
                ProblemCode::Unreadable
            }
            EntryReadError::Corrupt(_) => ProblemCode::DataCorrupt,
            EntryReadError::Oversized { .. } => ProblemCode::SizeMismatch,
            EntryReadError::Unsupported(_) => ProblemCode::UnsupportedMethod,
        };
        Problem::new(code, format!("`{name}`: {error}")).at(name)
    }

    fn read_file_list(&mut self) -> Option<FileList> {
        let Some(entry) = file_list_entry(self.layout) else {
            self.push(Problem::new(
                ProblemCode::FileListMissing,
                format!("the archive holds no `{FILE_LIST_NAME}`"),
            ));
            return None;
        };
        if entry.kind() != EntryKind::File || entry.is_encrypted() {
            self.push(Problem::new(
                ProblemCode::FileListMissing,
                format!("`{FILE_LIST_NAME}` is not a readable regular file"),
            ));
            return None;
        }
        let early = self.early_list.take().filter(|early| early.entry == *entry);
        let (bytes, digest, parsed) = match early {
            Some(early) => {
                let (bytes, digest) = self.judge_whole(entry, early.read);
                (bytes, digest, early.parsed)
            }
            None => {
                let (bytes, digest) = self.read_small(entry, MAX_LIST_SIZE);
                (bytes, digest, None)
            }
        };
        self.list_digest = digest;
        let bytes = bytes?;
        let (list, errors) = parsed.unwrap_or_else(|| FileList::parse(&bytes));
        let shown = errors.len().min(NAMES_SHOWN);
        for error in &errors[..shown] {
            self.push(
                Problem::new(ProblemCode::FileListMalformed, error.to_string()).at(FILE_LIST_NAME),
            );
        }
        if errors.len() > shown {
            self.push(
                Problem::new(
                    ProblemCode::FileListMalformed,
                    format!(
                        "{} more malformed lines in the file list",
                        errors.len() - shown
                    ),
                )
                .at(FILE_LIST_NAME),
            );
        }
        if list.is_empty() && errors.is_empty() {
            self.push(Problem::new(
                ProblemCode::FileListEmpty,
                format!("`{FILE_LIST_NAME}` names no file"),
            ));
            return None;
        }
        self.report.listed = Some(list.files.len() + errors.len());
        Some(list)
    }

    /// Compares the list with the files; `names_unique` says that no two
    /// entries of the archive share a name.
    fn compare_with_list(&mut self, list: &FileList, files: &[&Entry], names_unique: bool) {
        let listed_count = self.report.listed.unwrap_or(list.files.len());
        if listed_count != files.len() {
            self.push(Problem::new(
                ProblemCode::FileCountMismatch,
                format!(
                    "the archive holds {} files, the list names {listed_count}",
                    files.len()
                ),
            ));
        }

        // Files of different names in the list's order, as this tool writes
        // them: the list names each file once and nothing else.
        if names_unique
            && list.files.len() == files.len()
            && list
                .files
                .iter()
                .zip(files)
                .all(|(file, entry)| entry.central.name == file.path.as_bytes())
        {
            self.list_paths_unique = true;
            self.list_aligned = Some(files.iter().map(|entry| entry.index).collect());
            return;
        }

        // Both sides sorted, then walked together: the same order as sets
        // would give, without a tree of tens of thousands of strings.
        let mut listed: Vec<&str> = list.files.iter().map(|file| file.path.as_str()).collect();
        listed.sort_unstable();
        let mut counted: Vec<(&str, usize)> = Vec::with_capacity(listed.len());
        for path in listed {
            match counted.last_mut() {
                Some((last, count)) if *last == path => *count += 1,
                _ => counted.push((path, 1)),
            }
        }
        self.list_paths_unique = counted.iter().all(|(_, count)| *count == 1);
        for (path, count) in &counted {
            if *count > 1 {
                self.push(
                    Problem::new(
                        ProblemCode::FileListDuplicate,
                        format!("the list names `{path}` {count} times"),
                    )
                    .at(*path),
                );
            }
        }
        let mut present: Vec<Cow<'_, str>> = files
            .iter()
            .map(|entry| String::from_utf8_lossy(&entry.central.name))
            .collect();
        present.sort_unstable();
        present.dedup();
        let (mut missing, mut extra): (Vec<&str>, Vec<&str>) = (Vec::new(), Vec::new());
        let mut wanted = counted.iter().map(|(path, _)| *path).peekable();
        let mut found = present.iter().map(|name| name.as_ref()).peekable();
        loop {
            match (wanted.peek(), found.peek()) {
                (Some(path), Some(name)) if path == name => {
                    wanted.next();
                    found.next();
                }
                (Some(path), Some(name)) if path < name => missing.extend(wanted.next()),
                (Some(_), Some(_)) | (None, Some(_)) => extra.extend(found.next()),
                (Some(_), None) => missing.extend(wanted.next()),
                (None, None) => break,
            }
        }
        // A name that is not UTF-8 never matches the list, even when its
        // lossy form does.
        let undecodable: Vec<String> = files
            .iter()
            .filter(|entry| entry.name().is_none())
            .map(|entry| entry.display_name())
            .collect();
        if !missing.is_empty() || !extra.is_empty() || !undecodable.is_empty() {
            let mut parts = Vec::new();
            if !missing.is_empty() {
                parts.push(format!("listed but missing {}", name_list(&missing)));
            }
            if !extra.is_empty() {
                parts.push(format!("present but not listed {}", name_list(&extra)));
            }
            if !undecodable.is_empty() {
                let names: Vec<&str> = undecodable.iter().map(String::as_str).collect();
                parts.push(format!("names that are not UTF-8 {}", name_list(&names)));
            }
            self.push(Problem::new(
                ProblemCode::FileNameMismatch,
                parts.join("; "),
            ));
        }
    }

    /// Checks the list (3.) and the files against it (4.); answers the
    /// list when it could be read.
    fn check_list(&mut self, files: &[&Entry], names_unique: bool) -> Option<FileList> {
        let list = self.read_file_list();
        let tree_files: Vec<&Entry> = files
            .iter()
            .copied()
            .filter(|entry| entry.central.name != FILE_LIST_NAME.as_bytes())
            .collect();
        self.report.files = tree_files.len();
        if let Some(list) = &list {
            self.compare_with_list(list, &tree_files, names_unique);
        }
        list
    }

    /// Judges what reading the entries gave (5.), in entry order.
    fn judge_data(
        &mut self,
        plan: &DataPlan,
        results: Vec<DataResult>,
        listed: &mut ListedHashes<'_>,
    ) {
        let layout = self.layout;
        // The verdicts, in entry order.
        let mut results = plan.selected.iter().copied().zip(results).peekable();
        let mut over_cap = plan.over_cap.iter().copied().peekable();
        for entry in &layout.entries {
            // Decoded only for a problem: the list is looked up by the
            // name's bytes.
            let name = || String::from_utf8_lossy(&entry.central.name);
            let declared = entry.central.uncompressed_size;
            if over_cap.next_if_eq(&entry.index).is_some() {
                let name = name();
                self.push(
                    Problem::new(
                        ProblemCode::SizeLimit,
                        format!(
                            "`{name}` declares {declared} bytes, past the cap of {} bytes \
                             for the whole archive (raise it with --max-size)",
                            self.options.max_size
                        ),
                    )
                    .at(name.as_ref()),
                );
                continue;
            }
            let Some((_, result)) = results.next_if(|(index, _)| *index == entry.index) else {
                continue;
            };
            let digest = match result {
                Some(Ok(digest)) => digest,
                Some(Err(error)) => {
                    let problem = self.read_problem(&name(), &error);
                    self.push(problem);
                    continue;
                }
                None => continue,
            };
            self.report.bytes_checked += digest.size;
            if digest.size != declared {
                let name = name();
                self.push(
                    Problem::new(
                        ProblemCode::SizeMismatch,
                        format!(
                            "`{name}`: {} bytes of data, {declared} declared",
                            digest.size
                        ),
                    )
                    .at(name.as_ref()),
                );
            }
            if digest.crc32 != entry.central.crc32 {
                let name = name();
                self.push(
                    Problem::new(
                        ProblemCode::CrcMismatch,
                        format!(
                            "`{name}`: CRC-32 of the data is {:#010x}, {:#010x} declared",
                            digest.crc32, entry.central.crc32
                        ),
                    )
                    .at(name.as_ref()),
                );
            }
            if let Some(expected) = listed.get(entry.index, &entry.central.name)
                && digest.sha256 != expected
            {
                let name = name();
                self.push(
                    Problem::new(
                        ProblemCode::HashMismatch,
                        format!(
                            "`{name}`: SHA-256 is {}, the list says {}",
                            crate::zipfile::hex(&digest.sha256),
                            crate::zipfile::hex(&expected)
                        ),
                    )
                    .at(name.as_ref()),
                );
            }
        }
    }

    fn hazards(&mut self, duplicates: &[(&[u8], usize)]) -> Vec<Problem> {
        let layout = self.layout;
        let mut found = Vec::new();

        for entry in &layout.entries {
            let name = match entry.name() {
                Some(name) => Cow::Borrowed(name),
                None => String::from_utf8_lossy(&entry.central.name),
            };

            for hazard in path_hazards(&entry.central.name) {
                let (code, detail) = match hazard {
                    PathHazard::NotUtf8 => (ProblemCode::NonUtf8Name, "is not valid UTF-8"),
                    PathHazard::Invalid => (
                        ProblemCode::InvalidName,
                        "is empty, holds NUL, or has empty or `.` components",
                    ),
                    PathHazard::Absolute => (ProblemCode::AbsolutePath, "starts at the root"),
                    PathHazard::DriveLetter => {
                        (ProblemCode::DriveLetter, "starts with a drive letter")
                    }
                    PathHazard::Traversal => (
                        ProblemCode::PathTraversal,
                        "climbs out of the target with `..`",
                    ),
                    PathHazard::Backslash => (
                        ProblemCode::Backslash,
                        "holds a backslash, which Windows readers take for a separator",
                    ),
                };
                found.push(Problem::new(code, format!("name `{name}` {detail}")).at(name.as_ref()));
            }
            match entry.kind() {
                EntryKind::Symlink => found.push(
                    Problem::new(ProblemCode::Symlink, format!("`{name}` is a symbolic link"))
                        .at(name.as_ref()),
                ),
                EntryKind::Special => found.push(
                    Problem::new(
                        ProblemCode::SpecialFile,
                        format!(
                            "`{name}` is a device, FIFO or socket (mode {:o})",
                            entry.unix_mode().unwrap_or(0)
                        ),
                    )
                    .at(name.as_ref()),
                ),
                EntryKind::Directory => {
                    if !entry.central.name.ends_with(b"/") {
                        found.push(
                            Problem::new(
                                ProblemCode::DirectoryWithoutSlash,
                                format!("folder entry `{name}` does not end with `/`"),
                            )
                            .at(name.as_ref()),
                        );
                    }
                    if entry.central.uncompressed_size > 0 {
                        found.push(
                            Problem::new(
                                ProblemCode::MalformedEntry,
                                format!(
                                    "folder entry `{name}` holds {} bytes of data",
                                    entry.central.uncompressed_size
                                ),
                            )
                            .at(name.as_ref()),
                        );
                    }
                }
                EntryKind::File => {}
            }
            if entry.unix_mode().is_some_and(|mode| mode & 0o7000 != 0) {
                found.push(
                    Problem::new(
                        ProblemCode::SetuidBit,
                        format!(
                            "`{name}` has mode {:o}; setuid, setgid and sticky bits are never restored",
                            entry.unix_mode().unwrap_or(0) & 0o7777
                        ),
                    )
                    .at(name.as_ref()),
                );
            }
            if entry.is_encrypted() {
                found.push(
                    Problem::new(ProblemCode::Encrypted, format!("`{name}` is encrypted"))
                        .at(name.as_ref()),
                );
            }
            if !matches!(entry.central.method, 0 | 8) {
                found.push(
                    Problem::new(
                        ProblemCode::UnsupportedMethod,
                        format!(
                            "`{name}` uses compression method {} ({})",
                            entry.central.method,
                            method_name(entry.central.method)
                        ),
                    )
                    .at(name.as_ref()),
                );
            }
            if Place::of(&name) == Place::Foreign {
                found.push(
                    Problem::new(
                        ProblemCode::ForeignEntry,
                        format!(
                            "`{name}` is outside `config/`, `statistics/` and the format's own files"
                        ),
                    )
                    .at(name.as_ref()),
                );
            } else if entry.kind() != EntryKind::Directory
                && matches!(name.as_ref(), CONFIG_DIR | STATISTICS_DIR)
            {
                // A file in the place of a tree's own folder is in neither
                // tree, and a restore could not put it anywhere.
                found.push(
                    Problem::new(
                        ProblemCode::ForeignEntry,
                        format!("`{name}` is a file where the tree's own folder belongs"),
                    )
                    .at(name.as_ref()),
                );
            }
            let disagreements = entry.header_disagreements();
            if !disagreements.is_empty() {
                found.push(
                    Problem::new(
                        ProblemCode::HeaderMismatch,
                        format!("`{name}`: {}", disagreements.join("; ")),
                    )
                    .at(name.as_ref()),
                );
            }
            for note in &entry.notes {
                found.push(
                    Problem::new(ProblemCode::MalformedEntry, format!("`{name}`: {note}"))
                        .at(name.as_ref()),
                );
            }
        }

        for &(name, count) in duplicates {
            let name = String::from_utf8_lossy(name);
            found.push(
                Problem::new(
                    ProblemCode::DuplicateName,
                    format!("{count} entries are named `{name}`"),
                )
                .at(name.as_ref()),
            );
        }

        // A file and a folder at one path (`config/a` beside `config/a/` or
        // `config/a/b`) are two entries for one place on disk: a restore
        // could write only one of them.
        let mut folders: HashSet<&str> = HashSet::new();
        // The folder of the entry before: entries of one folder usually
        // follow each other, and their folder is then known already.
        let mut last_folder = None;
        for entry in &layout.entries {
            let Some(name) = entry.name() else { continue };
            let trimmed = name.strip_suffix('/').unwrap_or(name);
            if entry.kind() == EntryKind::Directory {
                folders.insert(trimmed);
            }
            // The folders above, nearest first: once one is known, so are
            // all above it.
            let folder = trimmed.rfind('/').map(|slash| &trimmed[..slash]);
            if folder.is_none() || folder == last_folder {
                continue;
            }
            last_folder = folder;
            for (slash, _) in trimmed.rmatch_indices('/') {
                if !folders.insert(&trimmed[..slash]) {
                    break;
                }
            }
        }
        for entry in &layout.entries {
            if entry.kind() == EntryKind::Directory {
                continue;
            }
            if let Some(name) = entry.name()
                && folders.contains(name)
            {
                found.push(
                    Problem::new(
                        ProblemCode::DuplicateName,
                        format!("`{name}` is a file and also a folder of the archive"),
                    )
                    .at(name),
                );
            }
        }

        let entry_name = |index: usize| {
            layout
                .entries
                .get(index)
                .map(Entry::display_name)
                .unwrap_or_default()
        };
        for (first, second) in layout.overlaps() {
            found.push(Problem::new(
                ProblemCode::OverlappingEntries,
                format!(
                    "entries `{}` and `{}` share bytes",
                    entry_name(first),
                    entry_name(second)
                ),
            ));
        }
        for index in layout.entries_overlapping_directory() {
            found.push(Problem::new(
                ProblemCode::OverlappingEntries,
                format!(
                    "entry `{}` reaches into the central directory",
                    entry_name(index)
                ),
            ));
        }
        for note in &layout.notes {
            found.push(Problem::new(ProblemCode::MalformedArchive, note.clone()));
        }

        let leading = layout.leading_bytes();
        if leading > 0 {
            found.push(Problem::new(
                ProblemCode::LeadingBytes,
                format!("{leading} bytes come before the first entry"),
            ));
        }
        let gaps = match layout.gaps_in(self.source) {
            Ok(gaps) => gaps,
            Err(error) => {
                self.report.readable = false;
                found.push(Problem::new(
                    ProblemCode::Unreadable,
                    format!("cannot read `{}`: {error}", self.report.archive),
                ));
                Vec::new()
            }
        };
        if layout.trailing_bytes > 0 {
            found.push(Problem::new(
                ProblemCode::TrailingBytes,
                format!(
                    "{} bytes come after the end of central directory record",
                    layout.trailing_bytes
                ),
            ));
        }
        // Stretches that no record accounts for: an unlisted local header is
        // hidden data, anything else between the records is only noted. The
        // stretch after the end record is already reported as trailing bytes.
        for gap in gaps
            .iter()
            .filter(|gap| gap.offset + gap.length < layout.file_length)
        {
            if gap.holds_local_header {
                found.push(Problem::new(
                    ProblemCode::HiddenData,
                    format!(
                        "a local header at offset {} belongs to no listed entry",
                        gap.offset
                    ),
                ));
            } else if gap.offset >= leading {
                found.push(Problem::new(
                    ProblemCode::UnaccountedBytes,
                    format!(
                        "{} bytes at offset {} belong to no record",
                        gap.length, gap.offset
                    ),
                ));
            }
        }

        if let Some(first) = layout.entries.first()
            && first.central.name != FILE_LIST_NAME.as_bytes()
            && layout
                .entries
                .iter()
                .any(|entry| entry.central.name == FILE_LIST_NAME.as_bytes())
        {
            found.push(Problem::new(
                ProblemCode::FileListNotFirst,
                format!("`{FILE_LIST_NAME}` is not the first entry"),
            ));
        }
        if !layout.entries.iter().any(|entry| {
            entry
                .name()
                .is_some_and(|name| Place::of(name) == Place::Config)
        }) {
            found.push(Problem::new(
                ProblemCode::ConfigMissing,
                "the archive holds nothing under `config/`",
            ));
        }
        found
    }

    fn check_metadata(&mut self) {
        let layout = self.layout;
        let Some(entry) = layout
            .entries
            .iter()
            .find(|entry| entry.central.name == METADATA_NAME.as_bytes())
        else {
            self.push(Problem::new(
                ProblemCode::MetadataMissing,
                format!("the archive holds no `{METADATA_NAME}`"),
            ));
            return;
        };
        if entry.is_encrypted() || !matches!(entry.central.method, 0 | 8) {
            return;
        }
        let (Some(bytes), _) = self.read_small(entry, MAX_METADATA_SIZE) else {
            return;
        };
        let metadata = match Metadata::from_json(&bytes) {
            Ok(metadata) => metadata,
            Err(reason) => {
                self.push(
                    Problem::new(
                        ProblemCode::MetadataInvalid,
                        format!("`{METADATA_NAME}`: {reason}"),
                    )
                    .at(METADATA_NAME),
                );
                return;
            }
        };
        if metadata.format_version > FORMAT_VERSION {
            self.push(Problem::new(
                ProblemCode::UnsupportedVersion,
                format!(
                    "the archive follows format version {}, this build reads up to {FORMAT_VERSION}",
                    metadata.format_version
                ),
            ));
        }
        let has_statistics = layout.entries.iter().any(|entry| {
            entry
                .name()
                .is_some_and(|name| Place::of(name) == Place::Statistics)
        });
        if metadata.statistics != has_statistics {
            let detail = if metadata.statistics {
                "the metadata says statistics are included, the archive holds none"
            } else {
                "the metadata says statistics are left out, the archive holds some"
            };
            self.push(Problem::new(ProblemCode::StatisticsMismatch, detail));
        }
        self.report.metadata = Some(metadata);
    }
}

/// `` `a`, `b` and 3 more `` for messages.
fn name_list(names: &[&str]) -> String {
    let shown: Vec<String> = names
        .iter()
        .take(NAMES_SHOWN)
        .map(|name| format!("`{name}`"))
        .collect();
    let mut text = shown.join(", ");
    if names.len() > NAMES_SHOWN {
        text.push_str(&format!(" and {} more", names.len() - NAMES_SHOWN));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(lines: &[(&str, u8)]) -> Vec<ListedFile> {
        lines
            .iter()
            .map(|(path, byte)| ListedFile {
                path: path.to_string(),
                sha256: [*byte; 32],
            })
            .collect()
    }

    /// Lookups in the list's order, the scan of a first miss and the index
    /// of later ones answer alike: the hash of a path's last line, or none.
    #[test]
    fn listed_hashes_answer_alike_in_order_scanned_and_indexed() {
        let files = listed(&[("a", 1), ("b", 2), ("c", 3), ("d", 4)]);
        let mut hashes = ListedHashes::new(&files, true);
        assert_eq!(hashes.get(0, b"filelist.sha256"), None);
        assert!(hashes.sorted.is_none());
        assert_eq!(hashes.get(1, b"a"), Some([1; 32]));
        assert_eq!(hashes.get(2, b"c"), Some([3; 32]));
        assert!(hashes.sorted.is_some());
        assert_eq!(hashes.get(3, b"b"), Some([2; 32]));
        assert_eq!(hashes.get(4, b"e"), None);

        // A path listed twice: the last line, whichever way it is found.
        let files = listed(&[("a", 1), ("b", 2), ("a", 5)]);
        let mut scanned = ListedHashes::new(&files, false);
        assert_eq!(scanned.get(0, b"a"), Some([5; 32]));
        assert!(scanned.sorted.is_none());
        assert_eq!(scanned.get(1, b"a"), Some([5; 32]));
        assert!(scanned.sorted.is_some());
    }

    /// A list that names the files one for one answers by place: folders
    /// and the list's own entry have no line, entries skipped by the
    /// judgement (unread, over the cap) do not shift the others, and no
    /// name is compared.
    #[test]
    fn an_aligned_list_answers_each_file_by_its_place() {
        let files = listed(&[("a", 1), ("b", 2), ("c", 3)]);
        let mut hashes = ListedHashes::new(&files, true);
        // Entries: 0 the list, 1 a folder, 2 "a", 3 "b", 4 a folder, 5 "c".
        hashes.aligned = Some(vec![2, 3, 5]);
        assert_eq!(hashes.get(0, b"filelist.sha256"), None);
        assert_eq!(hashes.get(1, b"folder/"), None);
        // "a" at 2 is not looked up; "b" still gets its own line.
        assert_eq!(hashes.get(3, b"b"), Some([2; 32]));
        assert_eq!(hashes.get(4, b"folder/sub/"), None);
        assert_eq!(hashes.get(5, b"c"), Some([3; 32]));
        assert!(hashes.sorted.is_none());
    }
}

#[cfg(test)]
mod repeated_names {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::{longest_increasing_stretch, repeated};

    #[test]
    fn the_longest_increasing_stretch_is_found_wherever_it_lies() {
        let names = |list: &[&'static str]| -> Vec<&'static [u8]> {
            list.iter().map(|name| name.as_bytes()).collect()
        };
        assert_eq!(longest_increasing_stretch(&names(&[])), (0, 0));
        assert_eq!(longest_increasing_stretch(&names(&["a"])), (0, 1));
        assert_eq!(
            longest_increasing_stretch(&names(&["list", "a", "b", "c", "b"])),
            (1, 4)
        );
        // Equal neighbours end a stretch: it is strictly increasing.
        assert_eq!(
            longest_increasing_stretch(&names(&["a", "b", "b", "c", "d"])),
            (2, 5)
        );
    }

    proptest! {
        /// Whatever the order, the repeated names and their counts are
        /// those a plain count of every name gives.
        #[test]
        fn repeated_names_are_counted_as_a_plain_count_would(
            mut names in proptest::collection::vec("[abc]{0,3}", 0..60),
            sorted_first in any::<bool>(),
            moved in any::<prop::sample::Index>(),
        ) {
            if sorted_first && !names.is_empty() {
                // Mostly in order, as archives are, but one name moved.
                names.sort();
                let name = names.remove(moved.index(names.len()));
                names.insert(0, name);
            }
            let bytes: Vec<&[u8]> = names.iter().map(|name| name.as_bytes()).collect();
            let mut plain: BTreeMap<&[u8], usize> = BTreeMap::new();
            for name in &bytes {
                *plain.entry(name).or_default() += 1;
            }
            let expected: Vec<(&[u8], usize)> =
                plain.into_iter().filter(|(_, count)| *count > 1).collect();
            prop_assert_eq!(repeated(&bytes), expected);
        }
    }
}
