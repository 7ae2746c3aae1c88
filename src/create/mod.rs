//! Making a backup archive from the configuration tree and, optionally, the
//! statistics tree.
//!
//! The archive is written under a hidden temporary name in the target folder,
//! synced, and only then renamed to its final name, which must not exist yet.
//! On any failure the temporary file is removed, so no reader ever sees a
//! half-written archive under a final name.
//!
//! The file list must be the first entry, but its hashes are known only once
//! every file has been read. Every line of the list has a length that does not
//! depend on its hash, so the list is first written as a stored entry of the
//! right length, and its bytes and CRC are filled in once the archive is
//! complete. Each file is therefore read exactly once, and the hash in the list
//! is the hash of the bytes that went into the archive.

mod ahead;
mod pieces;
mod tail;
mod tree;

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset, Local, SecondsFormat, TimeZone};
use sha2::{Digest, Sha256};
use zip::write::{FullFileOptions, ZipWriter};
use zip::{CompressionMethod, DateTime as ZipTime};

use crate::format::file_list::{FileList, ListedFile};
use crate::format::metadata::{FORMAT_MARKER, Metadata};
use crate::format::{
    BackupName, CONFIG_DIR, FILE_LIST_NAME, FORMAT_VERSION, METADATA_NAME, NameError,
    STATISTICS_DIR,
};
use crate::lock::{DataLock, LockError};
use crate::zipfile::Layout;
use ahead::ReadAhead;
use tail::TailWriter;
pub use tree::{TreeItem, TreeItemKind, walk_tree};

/// Files at least this large are written with ZIP64 sizes, leaving room for
/// a file that grows while it is read.
const LARGE_FILE_THRESHOLD: u64 = 0xF000_0000;

const COPY_BUFFER: usize = 256 * 1024;

/// Files at least this large are deflated in pieces on every core
/// ([`pieces`]); smaller ones are deflated whole, one after another.
const PIECES_THRESHOLD: u64 = 2 * pieces::PIECE as u64;

/// An entry written as stored bytes that are in fact a deflate stream, made
/// in pieces or ahead of the writer: its headers are given the method, CRC
/// and size of the file it holds, the local one as soon as the zip writer is
/// done with it, the central one once the archive is complete.
struct Relabel {
    /// Its place in the archive, the file list being 0.
    entry: usize,
    crc32: u32,
    length: u32,
}

/// The options of an entry whose deflate stream is made here: the zip writer
/// takes it as stored bytes, and its headers say deflate once it is written.
fn as_stored<'k, 'n>(options: FullFileOptions<'k, 'n>) -> FullFileOptions<'k, 'n> {
    options
        .compression_method(CompressionMethod::Stored)
        .large_file(false)
}

/// An entry whose local header is still to be relabelled: where the header
/// is, the name it must carry, and its place in the relabels.
struct Unsettled<'a> {
    header: u64,
    name: &'a str,
    relabel: usize,
}

/// Whether `item` is read and deflated ahead of the writer.
fn reads_ahead(item: &TreeItem, level: u8) -> bool {
    item.kind == TreeItemKind::File && level > 0 && item.size > 0 && item.size < PIECES_THRESHOLD
}

/// Where the archive goes.
#[derive(Debug, Clone)]
pub enum Destination {
    /// Into this folder, under the backup's own name.
    Directory(PathBuf),
    /// To exactly this path.
    File(PathBuf),
}

/// What to back up and how.
#[derive(Debug, Clone)]
pub struct CreateOptions {
    /// The configuration tree.
    pub config_dir: PathBuf,
    /// The statistics tree, when statistics are to be included.
    pub statistics_dir: Option<PathBuf>,
    /// The host name for the archive name and metadata.
    pub host: String,
    /// Where to write.
    pub destination: Destination,
    /// A fixed time to use instead of the clock, for both the start and the
    /// end of the backup and for converting file times; with it, the same
    /// trees give the same bytes.
    pub fixed_time: Option<DateTime<FixedOffset>>,
    /// Deflate level, 0 to 9.
    pub compression_level: u8,
    /// The time zone of the name and the metadata's times; by default the
    /// system's local time.
    pub time_zone: Option<chrono_tz::Tz>,
}

impl CreateOptions {
    /// Options with the defaults: no statistics, deflate level 6, the clock.
    pub fn new(config_dir: impl Into<PathBuf>, host: &str, destination: Destination) -> Self {
        CreateOptions {
            config_dir: config_dir.into(),
            statistics_dir: None,
            host: host.to_string(),
            destination,
            fixed_time: None,
            compression_level: 6,
            time_zone: None,
        }
    }
}

/// A backup that was written.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CreatedBackup {
    /// The backup's name (`<host>_YYYY-MM-DD_HH-MM-SS.zip`).
    pub name: String,
    /// Where the archive is.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// SHA-256 of the whole archive, hex.
    pub sha256: String,
    /// Number of files in the trees.
    pub file_count: u64,
    /// Whether the statistics tree is included.
    pub statistics: bool,
    /// The metadata stored in the archive.
    pub metadata: Metadata,
}

/// Why a backup could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    /// A tree root is not a folder.
    #[error("`{0}` is not a folder")]
    NotAFolder(PathBuf),
    /// The tree holds something that is neither a regular file nor a folder.
    #[error("`{path}` is a {kind}: only regular files and folders can be backed up")]
    UnsupportedFile {
        /// The offending path.
        path: PathBuf,
        /// What it is.
        kind: &'static str,
    },
    /// A name that readers taking `\\` for a separator would see climb out
    /// of the target.
    #[error("`{0}` has a name that climbs out of the tree where `\\` separates folders: rename it")]
    UnsafeName(PathBuf),
    /// A path in the tree is not valid UTF-8.
    #[error("`{0}` has a name that is not valid UTF-8")]
    NonUtf8Name(PathBuf),
    /// Reading the tree failed.
    #[error("cannot read `{path}`: {source}")]
    Read {
        /// What was being read.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// Writing the archive failed.
    #[error("cannot write `{path}`: {source}")]
    Write {
        /// What was being written.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The zip writer refused.
    #[error("cannot write `{path}`: {source}")]
    Zip {
        /// The archive being written.
        path: PathBuf,
        /// The cause.
        source: zip::result::ZipError,
    },
    /// A restore of the tree is running.
    #[error(transparent)]
    Busy(LockError),
    /// The final name is taken.
    #[error("`{0}` already exists")]
    Exists(PathBuf),
    /// The host name cannot form an archive name.
    #[error(transparent)]
    Name(#[from] NameError),
    /// The archive just written does not read back as written.
    #[error("the archive `{path}` did not read back as written: {reason}")]
    Inconsistent {
        /// The archive.
        path: PathBuf,
        /// What differed.
        reason: String,
    },
}

/// Writes a backup of the trees in `options`.
///
/// # Errors
/// See [`CreateError`]. Whatever fails, nothing is left under the final name
/// and the temporary file is removed.
pub fn create_backup(options: &CreateOptions) -> Result<CreatedBackup, CreateError> {
    let started = options.fixed_time.unwrap_or_else(|| now(options.time_zone));
    let name = BackupName::new(&options.host, started.naive_local())?.to_string();
    let (folder, final_path) = match &options.destination {
        Destination::Directory(folder) => (folder.clone(), folder.join(&name)),
        Destination::File(path) => {
            let folder = match path.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
                _ => PathBuf::from("."),
            };
            (folder, path.clone())
        }
    };
    if final_path.exists() {
        return Err(CreateError::Exists(final_path));
    }

    // A restore swapping the tree meanwhile would make a backup of half of
    // each; backups share the lock with each other.
    let _lock = DataLock::take(&options.config_dir, false).map_err(|error| match error {
        LockError::Busy(_) => CreateError::Busy(error),
        LockError::Io { path, source } => CreateError::Read { path, source },
    })?;

    // Walk both trees first: an unsupported file fails the backup before
    // anything is written. The small files are read ahead meanwhile.
    let level = options.compression_level.min(9);
    let workers = std::thread::available_parallelism().map_or(1, |count| count.get());
    let (written, temporary) = std::thread::scope(|scope| {
        let mut ahead = ReadAhead::start(scope, u32::from(level), workers);
        let mut hand_out = |item: &TreeItem| {
            if reads_ahead(item, level) {
                ahead.hand_out(&item.source);
            }
        };
        let mut items = walk_tree(&options.config_dir, CONFIG_DIR, &mut hand_out)?;
        if let Some(statistics_dir) = &options.statistics_dir {
            items.extend(walk_tree(statistics_dir, STATISTICS_DIR, &mut hand_out)?);
        }

        let temporary = TemporaryFile::create(&folder, &name)?;
        let written = write_archive(
            options,
            &items,
            &mut ahead,
            started,
            &name,
            temporary.file(),
            temporary.path(),
        )?;
        Ok::<_, CreateError>((written, temporary))
    })?;
    let size = temporary
        .file()
        .metadata()
        .map_err(|source| CreateError::Write {
            path: temporary.path().to_path_buf(),
            source,
        })?
        .len();
    let sha256 = hash_file(temporary.file()).map_err(|source| CreateError::Read {
        path: temporary.path().to_path_buf(),
        source,
    })?;
    temporary.persist(&final_path)?;

    Ok(CreatedBackup {
        name,
        path: final_path,
        size,
        sha256: crate::zipfile::hex(&sha256),
        file_count: written.tree_files,
        statistics: written.statistics,
        metadata: written,
    })
}

fn write_archive(
    options: &CreateOptions,
    items: &[TreeItem],
    ahead: &mut ReadAhead,
    started: DateTime<FixedOffset>,
    name: &str,
    file: &File,
    path: &Path,
) -> Result<Metadata, CreateError> {
    let zip_error = |source| CreateError::Zip {
        path: path.to_path_buf(),
        source,
    };
    let offset = *started.offset();
    let start_time = zip_time(started.naive_local());

    // The list's length is fixed by its paths: the tree files, then the
    // metadata file.
    let mut list = FileList {
        files: items
            .iter()
            .filter(|item| item.kind == TreeItemKind::File)
            .map(|item| ListedFile {
                path: item.archive_name.clone(),
                sha256: [0; 32],
            })
            .collect(),
    };
    list.files.push(ListedFile {
        path: METADATA_NAME.to_string(),
        sha256: [0; 32],
    });
    let list_length = list.encoded_length();

    let mut zip = ZipWriter::new(TailWriter::new(file));
    let list_options = FullFileOptions::default()
        .compression_method(CompressionMethod::Stored)
        .last_modified_time(start_time)
        .unix_permissions(0o644);
    zip.start_file(FILE_LIST_NAME, list_options)
        .map_err(zip_error)?;
    io::copy(&mut io::repeat(b' ').take(list_length as u64), &mut zip).map_err(|source| {
        CreateError::Write {
            path: path.to_path_buf(),
            source,
        }
    })?;

    // The trees, each file read once and hashed as it is compressed.
    let level = options.compression_level.min(9);
    let workers = ahead.workers();
    let mut hashes = Vec::with_capacity(list.files.len());
    let mut relabels = Vec::new();
    let mut tree_bytes = 0u64;
    let mut statistics = false;
    // The entry whose local header is relabelled once the zip writer has
    // gone on to the next one.
    let mut unsettled: Option<Unsettled<'_>> = None;
    // One copy buffer for every file: a fresh one per file would be
    // cleared each time, which is most of the work for a tiny file.
    let mut buffer = vec![0u8; COPY_BUFFER];
    for (index, item) in items.iter().enumerate() {
        if item.archive_name.trim_end_matches('/') == STATISTICS_DIR {
            statistics = true;
        }
        let mtime = file_time(item.modified, offset);
        let mut entry_options = FullFileOptions::default()
            .last_modified_time(mtime.0)
            .unix_permissions(item.mode);
        if let Some(seconds) = mtime.1 {
            entry_options = entry_options
                .with_extended_timestamp(Some(seconds), None, None)
                .map_err(zip_error)?;
        }
        let header =
            zip.get_ref()
                .map(TailWriter::position)
                .ok_or_else(|| CreateError::Inconsistent {
                    path: path.to_path_buf(),
                    reason: "the zip writer closed early".to_string(),
                })?;
        if item.kind == TreeItemKind::Directory {
            zip.add_directory(item.archive_name.as_str(), entry_options)
                .map_err(zip_error)?;
            settle(&zip, &mut unsettled, &relabels, path)?;
            continue;
        }

        // A file read ahead or deflated in pieces goes to the zip writer as
        // a deflate stream made here, or, read ahead and not shrunk by
        // deflate, as its own bytes. Any other is the zip writer's own:
        // stored when empty or at level 0 (it takes a level only for
        // deflate), deflated otherwise.
        let ahead_of_writer = reads_ahead(item, level);
        let in_pieces = level > 0
            && workers > 1
            && (PIECES_THRESHOLD..LARGE_FILE_THRESHOLD).contains(&item.size);
        let entry_options = if ahead_of_writer || in_pieces {
            as_stored(entry_options)
        } else if item.size == 0 || level == 0 {
            entry_options
                .compression_method(CompressionMethod::Stored)
                .large_file(item.size >= LARGE_FILE_THRESHOLD)
        } else {
            entry_options
                .compression_method(CompressionMethod::Deflated)
                .compression_level(Some(i64::from(level)))
                .large_file(item.size >= LARGE_FILE_THRESHOLD)
        };
        zip.start_file(item.archive_name.as_str(), entry_options)
            .map_err(zip_error)?;
        settle(&zip, &mut unsettled, &relabels, path)?;
        // What the entry holds, and the CRC-32 to relabel its headers with
        // when the zip writer took a deflate stream made here as stored
        // bytes.
        let (sha256, length, relabel_crc) = if ahead_of_writer {
            let prepared = ahead.next(path)?;
            zip.write_all(&prepared.data)
                .map_err(|source| CreateError::Write {
                    path: path.to_path_buf(),
                    source,
                })?;
            // Not deflated, it is a stored entry as the zip writer made it.
            let relabel_crc = prepared.deflated.then_some(prepared.crc32);
            (prepared.sha256, prepared.length, relabel_crc)
        } else if in_pieces {
            let mut source = open_source(&item.source)?;
            let deflated = pieces::deflate_pieces(&mut source, u32::from(level), workers, &mut zip)
                .map_err(|error| match error {
                    pieces::PiecesError::Read(source) => CreateError::Read {
                        path: item.source.clone(),
                        source,
                    },
                    pieces::PiecesError::Write(source) => CreateError::Write {
                        path: path.to_path_buf(),
                        source,
                    },
                })?;
            (deflated.sha256, deflated.length, Some(deflated.crc32))
        } else {
            let (hash, length) = copy_hashed(&item.source, &mut zip, &mut buffer, path)?;
            (hash, length, None)
        };
        if let Some(crc32) = relabel_crc {
            // Relabelled headers hold 32-bit sizes.
            let relabelled_length =
                u32::try_from(length).map_err(|_| CreateError::Inconsistent {
                    path: path.to_path_buf(),
                    reason: format!("`{}` grew past 4 GiB while it was read", item.archive_name),
                })?;
            unsettled = Some(Unsettled {
                header,
                name: &item.archive_name,
                relabel: relabels.len(),
            });
            relabels.push(Relabel {
                entry: index + 1,
                crc32,
                length: relabelled_length,
            });
        }
        hashes.push(sha256);
        tree_bytes += length;
    }

    // The metadata, with the time the trees were complete.
    let completed = match options.fixed_time {
        Some(fixed) => fixed,
        None => now(options.time_zone),
    };
    let metadata = Metadata {
        format: FORMAT_MARKER.to_string(),
        format_version: FORMAT_VERSION,
        host: options.host.clone(),
        backup_name: name.to_string(),
        started: started.to_rfc3339_opts(SecondsFormat::Nanos, false),
        completed: completed.to_rfc3339_opts(SecondsFormat::Nanos, false),
        statistics,
        tree_files: hashes.len() as u64,
        tree_bytes,
        tool: format!("puqbackup {}", env!("CARGO_PKG_VERSION")),
    };
    let metadata_json = metadata.to_json();
    let metadata_options = FullFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(zip_time(completed.naive_local()))
        .unix_permissions(0o644);
    zip.start_file(METADATA_NAME, metadata_options)
        .map_err(zip_error)?;
    settle(&zip, &mut unsettled, &relabels, path)?;
    zip.write_all(&metadata_json)
        .map_err(|source| CreateError::Write {
            path: path.to_path_buf(),
            source,
        })?;
    hashes.push(Sha256::digest(&metadata_json).into());

    let writer = zip.finish().map_err(zip_error)?;
    writer.finish().map_err(|source| CreateError::Write {
        path: path.to_path_buf(),
        source,
    })?;

    // Fill in the list now that every hash is known.
    for (listed, hash) in list.files.iter_mut().zip(hashes) {
        listed.sha256 = hash;
    }
    fill_in_file_list(file, path, &list.encode(), &relabels)?;
    file.sync_all().map_err(|source| CreateError::Write {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(metadata)
}

/// The current time in `zone`, or in the system's local time.
fn now(zone: Option<chrono_tz::Tz>) -> DateTime<FixedOffset> {
    match zone {
        Some(zone) => chrono::Utc::now().with_timezone(&zone).fixed_offset(),
        None => Local::now().fixed_offset(),
    }
}

/// Relabels the local header of the entry in `unsettled`, if any: the zip
/// writer wrote its CRC and sizes when it went on to the next entry, and the
/// header now gets deflate's method and version, and the CRC and size of the
/// file itself.
fn settle(
    zip: &ZipWriter<TailWriter<'_>>,
    unsettled: &mut Option<Unsettled<'_>>,
    relabels: &[Relabel],
    path: &Path,
) -> Result<(), CreateError> {
    let Some(Unsettled {
        header,
        name,
        relabel,
    }) = unsettled.take()
    else {
        return Ok(());
    };
    let relabel = &relabels[relabel];
    let write_error = |source| CreateError::Write {
        path: path.to_path_buf(),
        source,
    };
    let inconsistent = |reason: &str| CreateError::Inconsistent {
        path: path.to_path_buf(),
        reason: format!("`{name}`: {reason}"),
    };
    let tail = zip
        .get_ref()
        .ok_or_else(|| inconsistent("the zip writer is closed"))?;
    let mut fixed = tail.read_at(header, 30 + name.len()).map_err(write_error)?;
    if fixed[..4] != [0x50, 0x4b, 0x03, 0x04]
        || fixed[8..10] != [0, 0]
        || fixed[26..28] != (name.len() as u16).to_le_bytes()
        || &fixed[30..] != name.as_bytes()
    {
        return Err(inconsistent("no stored local header where it was written"));
    }
    // From the version needed to the uncompressed size: version 2.0, the
    // flags as they are, method 8, the time as it is, then the CRC, the
    // compressed size as it is and the file's size.
    fixed[4..6].copy_from_slice(&[20, 0]);
    fixed[8..10].copy_from_slice(&8u16.to_le_bytes());
    fixed[14..18].copy_from_slice(&relabel.crc32.to_le_bytes());
    fixed[22..26].copy_from_slice(&relabel.length.to_le_bytes());
    tail.patch(header + 4, &fixed[4..26]).map_err(write_error)
}

/// Writes the list's bytes over the placeholder of the first entry and puts
/// their CRC into its local and central headers; gives the central headers
/// of the relabelled entries their method, CRC and size (their local
/// headers were given theirs by [`settle`]).
fn fill_in_file_list(
    file: &File,
    path: &Path,
    list: &[u8],
    relabels: &[Relabel],
) -> Result<(), CreateError> {
    let inconsistent = |reason: String| CreateError::Inconsistent {
        path: path.to_path_buf(),
        reason,
    };
    let layout = Layout::read(file).map_err(|error| inconsistent(error.to_string()))?;
    let Some(first) = layout.entries.first() else {
        return Err(inconsistent("no entry".to_string()));
    };
    let local = first
        .local
        .as_ref()
        .map_err(|problem| inconsistent(problem.clone()))?;
    if first.central.name != FILE_LIST_NAME.as_bytes()
        || first.central.method != 0
        || first.central.compressed_size != list.len() as u64
    {
        return Err(inconsistent(
            "the first entry is not the list placeholder".to_string(),
        ));
    }

    let crc = crc32fast::hash(list).to_le_bytes();
    let write_at = |offset: u64, bytes: &[u8]| -> Result<(), CreateError> {
        file.write_all_at(bytes, offset)
            .map_err(|source| CreateError::Write {
                path: path.to_path_buf(),
                source,
            })
    };
    write_at(local.data_offset, list)?;
    write_at(local.offset + 14, &crc)?;
    write_at(first.central.offset + 16, &crc)?;

    if relabels.is_empty() {
        return Ok(());
    }
    // The central headers of relabelled entries, patched in memory and
    // written back at once: one write for the whole directory.
    let mut centrals = Vec::with_capacity(relabels.len());
    for relabel in relabels {
        let Some(entry) = layout.entries.get(relabel.entry) else {
            return Err(inconsistent(format!("no entry {}", relabel.entry)));
        };
        let local = entry
            .local
            .as_ref()
            .map_err(|problem| inconsistent(problem.clone()))?;
        if entry.central.method != 0 || local.method != 8 || local.crc32 != relabel.crc32 {
            return Err(inconsistent(format!(
                "entry {} is not the one relabelled",
                relabel.entry
            )));
        }
        centrals.push((entry.central.offset, relabel.crc32, relabel.length));
    }
    let first = centrals.iter().map(|central| central.0).min().unwrap_or(0);
    let last = centrals.iter().map(|central| central.0).max().unwrap_or(0);
    let mut directory = vec![0u8; (last - first) as usize + 28];
    file.read_exact_at(&mut directory, first)
        .map_err(|source| CreateError::Read {
            path: path.to_path_buf(),
            source,
        })?;
    for (offset, crc, length) in centrals {
        // Version 2.0 as made by (keeping the system) and as needed,
        // method 8 (deflate), then the CRC, then the uncompressed size, at
        // their places in the central header.
        let at = (offset - first) as usize;
        directory[at + 4] = 20;
        directory[at + 6..at + 8].copy_from_slice(&[20, 0]);
        directory[at + 10..at + 12].copy_from_slice(&8u16.to_le_bytes());
        directory[at + 16..at + 20].copy_from_slice(&crc.to_le_bytes());
        directory[at + 24..at + 28].copy_from_slice(&length.to_le_bytes());
    }
    write_at(first, &directory)
}

/// Copies the file at `source` into the open zip entry, hashing it; answers
/// the hash and the number of bytes.
fn copy_hashed<W: Write>(
    source: &Path,
    sink: &mut W,
    buffer: &mut [u8],
    archive: &Path,
) -> Result<([u8; 32], u64), CreateError> {
    let read_error = |error| CreateError::Read {
        path: source.to_path_buf(),
        source: error,
    };

    let mut file = open_source(source)?;

    let mut hasher = Sha256::new();
    let mut total = 0u64;
    loop {
        let count = match file.read(buffer) {
            Ok(0) => break,
            Ok(count) => count,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(read_error(error)),
        };
        hasher.update(&buffer[..count]);
        sink.write_all(&buffer[..count])
            .map_err(|error| CreateError::Write {
                path: archive.to_path_buf(),
                source: error,
            })?;
        total += count as u64;
    }
    Ok((hasher.finalize().into(), total))
}

/// Opens a file of a tree for reading: no symlink is followed, and a FIFO
/// put in place of a file does not block the open.
fn open_source(source: &Path) -> Result<File, CreateError> {
    let read_error = |error| CreateError::Read {
        path: source.to_path_buf(),
        source: error,
    };
    let flags = rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK;
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(flags.bits() as i32)
        .open(source)
        .map_err(read_error)?;
    if !file.metadata().map_err(read_error)?.is_file() {
        return Err(CreateError::UnsupportedFile {
            path: source.to_path_buf(),
            kind: "file that stopped being a regular file while it was backed up",
        });
    }
    Ok(file)
}

/// SHA-256 of a whole file, read from its start.
pub fn hash_file(file: &File) -> io::Result<[u8; 32]> {
    let mut handle = file;
    handle.seek(SeekFrom::Start(0))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let count = match handle.read(&mut buffer) {
            Ok(0) => break,
            Ok(count) => count,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        hasher.update(&buffer[..count]);
    }
    Ok(hasher.finalize().into())
}

/// A DOS time for the zip headers; times outside 1980..2107 are clamped to
/// the nearest end.
fn zip_time(local: chrono::NaiveDateTime) -> ZipTime {
    use chrono::{Datelike, Timelike};
    let year = local.year().clamp(1980, 2107);
    if year != local.year() {
        return if year == 1980 {
            ZipTime::default()
        } else {
            ZipTime::from_date_and_time(2107, 12, 31, 23, 59, 58).unwrap_or_default()
        };
    }
    ZipTime::from_date_and_time(
        year as u16,
        local.month() as u8,
        local.day() as u8,
        local.hour() as u8,
        local.minute() as u8,
        local.second() as u8,
    )
    .unwrap_or_default()
}

/// The DOS time (in `offset`'s local time) and, when it fits, the unix time
/// of a file's modification.
fn file_time(modified: std::time::SystemTime, offset: FixedOffset) -> (ZipTime, Option<u32>) {
    let utc: DateTime<chrono::Utc> = modified.into();
    let local = offset.from_utc_datetime(&utc.naive_utc());
    let seconds = u32::try_from(utc.timestamp())
        .ok()
        .filter(|value| *value <= i32::MAX as u32);
    (zip_time(local.naive_local()), seconds)
}

/// The archive being written, removed on drop unless persisted.
struct TemporaryFile {
    path: PathBuf,
    file: File,
    folder: PathBuf,
    persisted: bool,
}

impl TemporaryFile {
    fn create(folder: &Path, name: &str) -> Result<TemporaryFile, CreateError> {
        let mut attempt = 0u32;
        loop {
            let path = folder.join(format!(".{name}.{}.{attempt}.partial", std::process::id()));
            match OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
            {
                Ok(file) => {
                    return Ok(TemporaryFile {
                        path,
                        file,
                        folder: folder.to_path_buf(),
                        persisted: false,
                    });
                }
                Err(error) if error.kind() == io::ErrorKind::AlreadyExists && attempt < 100 => {
                    attempt += 1;
                }
                Err(source) => return Err(CreateError::Write { path, source }),
            }
        }
    }

    fn file(&self) -> &File {
        &self.file
    }

    fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the file to `target`, which must not exist, and syncs the
    /// folder so that the name survives a crash.
    fn persist(mut self, target: &Path) -> Result<(), CreateError> {
        let write_error = |source: io::Error| CreateError::Write {
            path: target.to_path_buf(),
            source,
        };
        fs::set_permissions(
            &self.path,
            std::os::unix::fs::PermissionsExt::from_mode(0o644),
        )
        .map_err(write_error)?;
        match rustix::fs::renameat_with(
            rustix::fs::CWD,
            &self.path,
            rustix::fs::CWD,
            target,
            rustix::fs::RenameFlags::NOREPLACE,
        ) {
            Ok(()) => {}
            Err(rustix::io::Errno::EXIST) => return Err(CreateError::Exists(target.to_path_buf())),
            Err(errno) => return Err(write_error(errno.into())),
        }
        self.persisted = true;
        File::open(&self.folder)
            .and_then(|folder| folder.sync_all())
            .map_err(write_error)
    }
}

impl Drop for TemporaryFile {
    fn drop(&mut self) {
        if !self.persisted {
            let _ = fs::remove_file(&self.path);
        }
    }
}
