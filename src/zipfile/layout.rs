//! The structure of a zip archive as it is written on disk: the end records,
//! every central directory header and the local header each one points to.
//!
//! The parser trusts nothing it reads. Offsets and lengths are checked before
//! use, and a record that cannot be decoded becomes a note on the entry or a
//! [`LayoutError`], never a panic. Duplicate names are kept, each as its own
//! entry, in central directory order.

use std::io;
use std::sync::Arc;

use super::bytes::Cursor;
use super::extra::{ExtraField, ExtraFields, ZIP64_ID};
use super::field::HeaderBytes;
use super::source::{ReadAhead, ReadAt};

/// How much is read at once while following local headers.
const LOCAL_HEADER_WINDOW: usize = 64 * 1024;

const LOCAL_HEADER_SIGNATURE: u32 = 0x0403_4b50;
const CENTRAL_HEADER_SIGNATURE: u32 = 0x0201_4b50;
const END_SIGNATURE: u32 = 0x0605_4b50;
const ZIP64_END_SIGNATURE: u32 = 0x0606_4b50;
const ZIP64_LOCATOR_SIGNATURE: u32 = 0x0706_4b50;
const DATA_DESCRIPTOR_SIGNATURE: u32 = 0x0807_4b50;

const END_RECORD_LENGTH: u64 = 22;
const ZIP64_LOCATOR_LENGTH: u64 = 20;
const ZIP64_END_FIXED_LENGTH: u64 = 56;
const LOCAL_HEADER_LENGTH: u64 = 30;
const CENTRAL_HEADER_LENGTH: usize = 46;

/// How far from the end the end record is searched for. An end record with a
/// full comment sits within 64 KiB of the end; the rest allows for junk that
/// other tools appended.
const END_SEARCH_WINDOW: u64 = 4 << 20;
/// The end of the file searched first: an end record with its longest
/// comment, and some more. Only when no end record there decodes is the
/// whole window read, which would cost a small archive a read of all of it.
const END_SEARCH_FIRST: u64 = 128 << 10;

/// The largest central directory read into memory.
const MAX_CENTRAL_DIRECTORY: u64 = 512 << 20;

/// Flag bit: the entry is encrypted.
pub const FLAG_ENCRYPTED: u16 = 0x0001;
/// Flag bit: sizes and CRC follow the data in a data descriptor.
pub const FLAG_DATA_DESCRIPTOR: u16 = 0x0008;
/// Flag bit: name and comment are UTF-8.
pub const FLAG_UTF8: u16 = 0x0800;

/// Why an archive's structure could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    /// Reading the file failed.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The bytes are not a zip archive this parser can follow.
    #[error("{0}")]
    NotZip(String),
}

/// The end of central directory record.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EndRecord {
    /// Where the record starts in the file.
    pub offset: u64,
    /// Number of this disk.
    pub disk: u16,
    /// Disk where the central directory starts.
    pub central_directory_disk: u16,
    /// Entries on this disk.
    pub entries_on_disk: u16,
    /// Entries in total.
    pub entries_total: u16,
    /// Size of the central directory.
    pub central_directory_size: u32,
    /// Offset of the central directory, as declared.
    pub central_directory_offset: u32,
    /// The archive comment, raw.
    #[serde(skip)]
    pub comment: Vec<u8>,
}

/// The ZIP64 end of central directory locator.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Zip64Locator {
    /// Where the locator starts in the file.
    pub offset: u64,
    /// Disk holding the ZIP64 end record.
    pub end_record_disk: u32,
    /// Declared offset of the ZIP64 end record.
    pub end_record_offset: u64,
    /// Total number of disks.
    pub total_disks: u32,
}

/// The ZIP64 end of central directory record.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Zip64EndRecord {
    /// Where the record starts in the file.
    pub offset: u64,
    /// Size of the record after its first 12 bytes.
    pub record_size: u64,
    /// Version made by.
    pub version_made_by: u16,
    /// Version needed to extract.
    pub version_needed: u16,
    /// Number of this disk.
    pub disk: u32,
    /// Disk where the central directory starts.
    pub central_directory_disk: u32,
    /// Entries on this disk.
    pub entries_on_disk: u64,
    /// Entries in total.
    pub entries_total: u64,
    /// Size of the central directory.
    pub central_directory_size: u64,
    /// Offset of the central directory, as declared.
    pub central_directory_offset: u64,
    /// Length of the extensible data sector.
    pub extensible_data_length: u64,
}

/// A central directory header, with ZIP64 values already applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CentralHeader {
    /// Where the header starts in the file.
    pub offset: u64,
    /// Version made by; the high byte names the host system.
    pub version_made_by: u16,
    /// Version needed to extract.
    pub version_needed: u16,
    /// General purpose flags.
    pub flags: u16,
    /// Compression method.
    pub method: u16,
    /// DOS time of last modification.
    pub dos_time: u16,
    /// DOS date of last modification.
    pub dos_date: u16,
    /// CRC-32 of the uncompressed data.
    pub crc32: u32,
    /// Compressed size.
    pub compressed_size: u64,
    /// Uncompressed size.
    pub uncompressed_size: u64,
    /// Disk where the entry starts.
    pub disk_start: u32,
    /// Internal file attributes.
    pub internal_attributes: u16,
    /// External file attributes; the high 16 bits hold a unix mode.
    pub external_attributes: u32,
    /// Offset of the local header, as declared (before any shift).
    pub local_header_offset: u64,
    /// The name, raw.
    pub name: HeaderBytes,
    /// The extra field, raw.
    pub extra: HeaderBytes,
    /// The entry comment, raw.
    pub comment: HeaderBytes,
}

/// A local file header, with ZIP64 sizes applied where present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalHeader {
    /// Where the header starts in the file.
    pub offset: u64,
    /// Version needed to extract.
    pub version_needed: u16,
    /// General purpose flags.
    pub flags: u16,
    /// Compression method.
    pub method: u16,
    /// DOS time of last modification.
    pub dos_time: u16,
    /// DOS date of last modification.
    pub dos_date: u16,
    /// CRC-32 (zero when a data descriptor carries it).
    pub crc32: u32,
    /// Compressed size (zero when a data descriptor carries it).
    pub compressed_size: u64,
    /// Uncompressed size (zero when a data descriptor carries it).
    pub uncompressed_size: u64,
    /// The name, raw.
    pub name: HeaderBytes,
    /// The extra field, raw.
    pub extra: HeaderBytes,
    /// Where the entry's data starts.
    pub data_offset: u64,
}

/// The record after an entry's data that carries its CRC and sizes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DataDescriptor {
    /// Where the descriptor starts.
    pub offset: u64,
    /// Whether it opens with the optional signature.
    pub has_signature: bool,
    /// CRC-32.
    pub crc32: u32,
    /// Compressed size.
    pub compressed_size: u64,
    /// Uncompressed size.
    pub uncompressed_size: u64,
    /// Its length in bytes.
    pub length: u64,
}

/// One entry of the archive: its central header and what it points to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Position in the central directory, from 0.
    pub index: usize,
    /// The central directory header.
    pub central: CentralHeader,
    /// The local header, or why it could not be read.
    pub local: Result<LocalHeader, String>,
    /// The data descriptor, when the flags announce one and it could be read.
    /// Boxed: few entries have one, and every entry of a large archive is
    /// held in memory.
    pub data_descriptor: Option<Box<DataDescriptor>>,
    /// Structural problems found in this entry's records.
    pub notes: Vec<String>,
}

/// Unix file type bits.
const MODE_TYPE_MASK: u32 = 0o170_000;
const MODE_DIRECTORY: u32 = 0o040_000;
const MODE_REGULAR: u32 = 0o100_000;
const MODE_SYMLINK: u32 = 0o120_000;

/// What kind of file an entry says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Directory,
    /// A symbolic link.
    Symlink,
    /// A device, FIFO or socket.
    Special,
}

impl Entry {
    /// The name as text, when it is valid UTF-8.
    pub fn name(&self) -> Option<&str> {
        std::str::from_utf8(&self.central.name).ok()
    }

    /// The name for messages: the text, or its lossy form when not UTF-8.
    pub fn display_name(&self) -> String {
        String::from_utf8_lossy(&self.central.name).into_owned()
    }

    /// The unix mode, when the entry was made on a unix-like system and has one.
    pub fn unix_mode(&self) -> Option<u32> {
        let host = self.central.version_made_by >> 8;
        let mode = self.central.external_attributes >> 16;
        // 3 is Unix and 19 is OS X; both store a unix mode in the high bits.
        ((host == 3 || host == 19) && mode != 0).then_some(mode)
    }

    /// What the entry is, judged by its mode and its name.
    pub fn kind(&self) -> EntryKind {
        if let Some(mode) = self.unix_mode() {
            match mode & MODE_TYPE_MASK {
                MODE_DIRECTORY => return EntryKind::Directory,
                MODE_SYMLINK => return EntryKind::Symlink,
                MODE_REGULAR | 0 => {}
                _ => return EntryKind::Special,
            }
        }
        let dos_directory = self.central.external_attributes & 0x10 != 0;
        if self.central.name.ends_with(b"/")
            || (dos_directory && self.central.uncompressed_size == 0)
        {
            EntryKind::Directory
        } else {
            EntryKind::File
        }
    }

    /// Whether the entry is encrypted.
    pub fn is_encrypted(&self) -> bool {
        self.central.flags & FLAG_ENCRYPTED != 0
    }

    /// Where the entry's data starts, when its local header could be read.
    pub fn data_offset(&self) -> Option<u64> {
        self.local.as_ref().ok().map(|local| local.data_offset)
    }

    /// The byte range `[start, end)` the entry occupies: local header, data
    /// and data descriptor.
    pub fn span(&self) -> Option<(u64, u64)> {
        let local = self.local.as_ref().ok()?;
        let descriptor = self
            .data_descriptor
            .as_ref()
            .map_or(0, |found| found.length);
        let end = local
            .data_offset
            .checked_add(self.central.compressed_size)?
            .checked_add(descriptor)?;
        Some((local.offset, end))
    }

    /// Every way in which the local header (or data descriptor) and the
    /// central header disagree.
    pub fn header_disagreements(&self) -> Vec<String> {
        let Ok(local) = &self.local else {
            return Vec::new();
        };
        let central = &self.central;
        let mut found = Vec::new();
        // Values are compared as they are shown; equal raw values show the
        // same, so only values that differ are formatted.
        let mut differ = |field: &str,
                          same: bool,
                          local_value: &dyn Fn() -> String,
                          central_value: &dyn Fn() -> String| {
            if same {
                return;
            }
            let (local_value, central_value) = (local_value(), central_value());
            if local_value != central_value {
                found.push(format!(
                    "{field}: local header {local_value}, central directory {central_value}"
                ));
            }
        };
        let quoted = |name: &[u8]| format!("`{}`", String::from_utf8_lossy(name));
        let flags = |value: u16| format!("{value:#06x}");
        let crc = |value: u32| format!("{value:#010x}");

        differ(
            "name",
            local.name == central.name,
            &|| quoted(&local.name),
            &|| quoted(&central.name),
        );
        differ(
            "flags",
            local.flags == central.flags,
            &|| flags(local.flags),
            &|| flags(central.flags),
        );
        differ(
            "compression method",
            local.method == central.method,
            &|| local.method.to_string(),
            &|| central.method.to_string(),
        );
        differ(
            "version needed",
            local.version_needed == central.version_needed,
            &|| local.version_needed.to_string(),
            &|| central.version_needed.to_string(),
        );
        differ(
            "modification time",
            (local.dos_date, local.dos_time) == (central.dos_date, central.dos_time),
            &|| format!("{:#06x} {:#06x}", local.dos_date, local.dos_time),
            &|| format!("{:#06x} {:#06x}", central.dos_date, central.dos_time),
        );

        // With a data descriptor the local header may leave any of CRC and
        // sizes at zero (writers differ in which); the descriptor must then
        // carry the central values. A value that is given must agree.
        let streamed = local.flags & FLAG_DATA_DESCRIPTOR != 0;
        let fields = [
            (
                "CRC-32",
                u64::from(local.crc32),
                u64::from(central.crc32),
                true,
            ),
            (
                "compressed size",
                local.compressed_size,
                central.compressed_size,
                false,
            ),
            (
                "uncompressed size",
                local.uncompressed_size,
                central.uncompressed_size,
                false,
            ),
        ];
        for (field, local_value, central_value, as_hex) in fields {
            if streamed && local_value == 0 {
                continue;
            }
            let show = |value: u64| {
                if as_hex {
                    format!("{value:#010x}")
                } else {
                    value.to_string()
                }
            };
            differ(
                field,
                local_value == central_value,
                &|| show(local_value),
                &|| show(central_value),
            );
        }
        if let Some(descriptor) = &self.data_descriptor {
            differ(
                "data descriptor CRC-32",
                descriptor.crc32 == central.crc32,
                &|| crc(descriptor.crc32),
                &|| crc(central.crc32),
            );
            differ(
                "data descriptor compressed size",
                descriptor.compressed_size == central.compressed_size,
                &|| descriptor.compressed_size.to_string(),
                &|| central.compressed_size.to_string(),
            );
            differ(
                "data descriptor uncompressed size",
                descriptor.uncompressed_size == central.uncompressed_size,
                &|| descriptor.uncompressed_size.to_string(),
                &|| central.uncompressed_size.to_string(),
            );
        }
        found
    }
}

/// A whole archive's structure.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Length of the file.
    pub file_length: u64,
    /// The end of central directory record.
    pub end_record: EndRecord,
    /// The ZIP64 locator, when present.
    pub zip64_locator: Option<Zip64Locator>,
    /// The ZIP64 end record, when present.
    pub zip64_end_record: Option<Zip64EndRecord>,
    /// Where the central directory actually starts.
    pub central_directory_offset: u64,
    /// Length of the central directory.
    pub central_directory_size: u64,
    /// How far every declared offset is shifted: bytes were put before the
    /// archive without its offsets being adjusted.
    pub offset_shift: u64,
    /// Bytes after the end record and its comment.
    pub trailing_bytes: u64,
    /// The entries, in central directory order.
    pub entries: Vec<Entry>,
    /// Structural problems of the archive as a whole.
    pub notes: Vec<String>,
}

/// A stretch of the file that no record accounts for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Gap {
    /// First byte of the stretch.
    pub offset: u64,
    /// Its length.
    pub length: u64,
    /// Whether it starts with a local header signature: an entry that the
    /// central directory does not list.
    pub holds_local_header: bool,
}

impl Layout {
    /// Reads the structure of the archive in `source`.
    ///
    /// # Errors
    /// [`LayoutError::Io`] when reading fails, [`LayoutError::NotZip`] when no
    /// end record or central directory can be found or decoded. Problems in
    /// single entries do not fail the call: they become notes.
    pub fn read<S: ReadAt + ?Sized>(source: &S) -> Result<Layout, LayoutError> {
        Self::read_watching(source, &mut |_| {})
    }

    /// Reads the structure as [`Layout::read`] does, showing `watch` each
    /// entry as soon as it is read, in central directory order. An end
    /// record that turns out not to decode is left for the next candidate,
    /// whose entries `watch` then sees from the first: what it saw is
    /// confirmed only by the answer.
    ///
    /// # Errors
    /// As [`Layout::read`].
    pub fn read_watching<S: ReadAt + ?Sized>(
        source: &S,
        watch: &mut dyn FnMut(&Entry),
    ) -> Result<Layout, LayoutError> {
        let file_length = source.length()?;
        if file_length < END_RECORD_LENGTH {
            return Err(LayoutError::NotZip(format!(
                "file of {file_length} bytes is too short to be a zip archive"
            )));
        }

        // The end record is searched from the end. A candidate whose central
        // directory cannot be decoded may be a signature inside junk, so the
        // next one is tried before giving up. The search looks at the last
        // bytes first; as it goes from the end backwards, what it finds there
        // is what a search of the whole window would find.
        let first = Self::search_end(source, file_length, END_SEARCH_FIRST, watch)?;
        if first.is_ok() || file_length <= END_SEARCH_FIRST {
            return first;
        }
        Self::search_end(source, file_length, END_SEARCH_WINDOW, watch)?
    }

    /// Searches the last `window` bytes of the file for an end record whose
    /// central directory decodes. The outer error is an I/O failure.
    fn search_end<S: ReadAt + ?Sized>(
        source: &S,
        file_length: u64,
        window: u64,
        watch: &mut dyn FnMut(&Entry),
    ) -> Result<Result<Layout, LayoutError>, LayoutError> {
        let window = file_length.min(window);
        let tail_start = file_length - window;
        let mut tail = vec![0u8; usize::try_from(window).unwrap_or(0)];
        source.read_exact_at(&mut tail, tail_start)?;
        let mut first_error = None;
        let mut position = tail.len().saturating_sub(END_RECORD_LENGTH as usize);
        loop {
            if tail.get(position..position + 4) == Some(&END_SIGNATURE.to_le_bytes()[..]) {
                let offset = tail_start + position as u64;
                let found = Self::read_from_end_record(
                    source,
                    file_length,
                    (&tail, tail_start),
                    offset,
                    watch,
                );
                match found {
                    Ok(layout) => return Ok(Ok(layout)),
                    Err(LayoutError::Io(error)) => return Err(LayoutError::Io(error)),
                    Err(error) => {
                        first_error.get_or_insert(error);
                    }
                }
            }
            if position == 0 {
                break;
            }
            position -= 1;
        }
        Ok(Err(first_error.unwrap_or_else(|| {
            LayoutError::NotZip("no end of central directory record found".to_string())
        })))
    }

    fn read_from_end_record<S: ReadAt + ?Sized>(
        source: &S,
        file_length: u64,
        (tail, tail_start): (&[u8], u64),
        end_offset: u64,
        watch: &mut dyn FnMut(&Entry),
    ) -> Result<Layout, LayoutError> {
        let not_zip = |text: &str| LayoutError::NotZip(text.to_string());

        // The end record itself, with its comment.
        let start = usize::try_from(end_offset - tail_start).unwrap_or(usize::MAX);
        let mut cursor = Cursor::new(tail.get(start..).unwrap_or(&[]));
        let truncated = || not_zip("end of central directory record is truncated");
        cursor.u32().ok_or_else(truncated)?;
        let disk = cursor.u16().ok_or_else(truncated)?;
        let central_directory_disk = cursor.u16().ok_or_else(truncated)?;
        let entries_on_disk = cursor.u16().ok_or_else(truncated)?;
        let entries_total = cursor.u16().ok_or_else(truncated)?;
        let central_directory_size = cursor.u32().ok_or_else(truncated)?;
        let central_directory_offset = cursor.u32().ok_or_else(truncated)?;
        let comment_length = cursor.u16().ok_or_else(truncated)?;
        let comment = cursor
            .take(usize::from(comment_length))
            .ok_or_else(|| not_zip("archive comment runs past the end of the file"))?
            .to_vec();
        let end_record = EndRecord {
            offset: end_offset,
            disk,
            central_directory_disk,
            entries_on_disk,
            entries_total,
            central_directory_size,
            central_directory_offset,
            comment,
        };
        let record_end = end_offset + END_RECORD_LENGTH + u64::from(comment_length);
        let trailing_bytes = file_length.saturating_sub(record_end);

        // A ZIP64 locator sits right before the end record.
        let (zip64_locator, zip64_end_record) = Self::read_zip64(source, end_offset)?;
        let mut notes = Vec::new();

        let (total_entries, directory_size, declared_offset, directory_end) =
            match &zip64_end_record {
                Some(record) => (
                    record.entries_total,
                    record.central_directory_size,
                    record.central_directory_offset,
                    record.offset,
                ),
                None => (
                    u64::from(entries_total),
                    u64::from(central_directory_size),
                    u64::from(central_directory_offset),
                    end_offset,
                ),
            };
        let multi_disk = match &zip64_end_record {
            Some(record) => record.disk != 0 || record.central_directory_disk != 0,
            None => disk != 0 || central_directory_disk != 0,
        };
        if multi_disk {
            return Err(not_zip(
                "archives split over several disks are not supported",
            ));
        }
        if directory_size > MAX_CENTRAL_DIRECTORY {
            return Err(LayoutError::NotZip(format!(
                "central directory of {directory_size} bytes is larger than supported"
            )));
        }

        // The central directory is where it is declared, or, when bytes were
        // put before the archive, right before the end records.
        let signature_at = |offset: u64| -> Result<bool, LayoutError> {
            let mut word = [0u8; 4];
            if offset.checked_add(4).is_none_or(|end| end > file_length) {
                return Ok(false);
            }
            source.read_exact_at(&mut word, offset)?;
            Ok(u32::from_le_bytes(word) == CENTRAL_HEADER_SIGNATURE)
        };
        let computed_offset = directory_end.checked_sub(directory_size).ok_or_else(|| {
            not_zip("central directory is larger than the space before its end record")
        })?;
        let fits = declared_offset
            .checked_add(directory_size)
            .is_some_and(|end| end <= directory_end);
        let (directory_offset, offset_shift) = if total_entries == 0 && directory_size == 0 {
            (
                computed_offset,
                computed_offset.saturating_sub(declared_offset),
            )
        } else if fits && signature_at(declared_offset)? {
            (declared_offset, 0)
        } else if computed_offset > declared_offset && signature_at(computed_offset)? {
            (computed_offset, computed_offset - declared_offset)
        } else {
            return Err(not_zip(
                "central directory not found where the end record points",
            ));
        };

        // Every central header, then what each points to. The directory is
        // read in windows of a few megabytes, which the headers' names,
        // extra fields and comments share rather than copy.
        let mut window = DirectoryWindow::new(source, directory_offset, directory_size);
        let most = usize::try_from(directory_size).unwrap_or(0) / CENTRAL_HEADER_LENGTH;
        let mut entries = Vec::with_capacity(most.min(usize::try_from(total_entries).unwrap_or(0)));
        // Local headers usually follow each other closely: read them in
        // windows rather than two small reads each.
        let ahead = ReadAhead::new(source, file_length, LOCAL_HEADER_WINDOW);
        let mut scratch = Vec::new();
        loop {
            let (block, at, header_offset) = window.next_header()?;
            if block.len() - at < 4 {
                break;
            }
            let Some((central, parsed)) = parse_central_header(block, at, header_offset)? else {
                notes.push(format!(
                    "{} bytes at the end of the central directory are not a central header",
                    window.left()
                ));
                break;
            };
            window.consume(parsed);
            let index = entries.len();
            let entry = Self::read_entry(
                &ahead,
                file_length,
                index,
                central,
                offset_shift,
                &mut scratch,
            )?;
            watch(&entry);
            entries.push(entry);
        }
        if entries.len() as u64 != total_entries {
            notes.push(format!(
                "the end record announces {total_entries} entries, the central directory holds {}",
                entries.len()
            ));
        }
        if u64::from(entries_on_disk) != u64::from(entries_total) {
            notes.push(format!(
                "the end record announces {entries_on_disk} entries on this disk and {entries_total} in all"
            ));
        }

        Ok(Layout {
            file_length,
            end_record,
            zip64_locator,
            zip64_end_record,
            central_directory_offset: directory_offset,
            central_directory_size: directory_size,
            offset_shift,
            trailing_bytes,
            entries,
            notes,
        })
    }

    fn read_zip64<S: ReadAt + ?Sized>(
        source: &S,
        end_offset: u64,
    ) -> Result<(Option<Zip64Locator>, Option<Zip64EndRecord>), LayoutError> {
        let Some(locator_offset) = end_offset.checked_sub(ZIP64_LOCATOR_LENGTH) else {
            return Ok((None, None));
        };
        let mut bytes = [0u8; ZIP64_LOCATOR_LENGTH as usize];
        source.read_exact_at(&mut bytes, locator_offset)?;
        let mut cursor = Cursor::new(&bytes);
        if cursor.u32() != Some(ZIP64_LOCATOR_SIGNATURE) {
            return Ok((None, None));
        }
        let locator = Zip64Locator {
            offset: locator_offset,
            end_record_disk: cursor.u32().unwrap_or(0),
            end_record_offset: cursor.u64().unwrap_or(0),
            total_disks: cursor.u32().unwrap_or(0),
        };

        // The record is where the locator says, or right before the locator
        // when bytes were put before the archive.
        let read_record = |offset: u64| -> Result<Option<Zip64EndRecord>, LayoutError> {
            if offset
                .checked_add(ZIP64_END_FIXED_LENGTH)
                .is_none_or(|end| end > locator_offset)
            {
                return Ok(None);
            }
            let mut bytes = [0u8; ZIP64_END_FIXED_LENGTH as usize];
            source.read_exact_at(&mut bytes, offset)?;
            let mut cursor = Cursor::new(&bytes);
            if cursor.u32() != Some(ZIP64_END_SIGNATURE) {
                return Ok(None);
            }
            let record_size = cursor.u64().unwrap_or(0);
            Ok(Some(Zip64EndRecord {
                offset,
                record_size,
                version_made_by: cursor.u16().unwrap_or(0),
                version_needed: cursor.u16().unwrap_or(0),
                disk: cursor.u32().unwrap_or(0),
                central_directory_disk: cursor.u32().unwrap_or(0),
                entries_on_disk: cursor.u64().unwrap_or(0),
                entries_total: cursor.u64().unwrap_or(0),
                central_directory_size: cursor.u64().unwrap_or(0),
                central_directory_offset: cursor.u64().unwrap_or(0),
                extensible_data_length: record_size.saturating_sub(44),
            }))
        };
        let record = match read_record(locator.end_record_offset)? {
            Some(record) => record,
            None => match locator_offset
                .checked_sub(ZIP64_END_FIXED_LENGTH)
                .map(read_record)
                .transpose()?
                .flatten()
            {
                Some(record) => record,
                None => {
                    return Err(LayoutError::NotZip(
                        "ZIP64 end record not found where its locator points".to_string(),
                    ));
                }
            },
        };
        Ok((Some(locator), Some(record)))
    }

    fn read_entry<S: ReadAt + ?Sized>(
        source: &S,
        file_length: u64,
        index: usize,
        mut central: CentralHeader,
        offset_shift: u64,
        scratch: &mut Vec<u8>,
    ) -> Result<Entry, LayoutError> {
        let mut notes = Vec::new();

        // ZIP64 values replace the 32-bit fields that are saturated.
        if let Some(problem) = ExtraFields::malformation(&central.extra) {
            notes.push(format!("central extra field: {problem}"));
        }
        let wants_uncompressed = central.uncompressed_size == u64::from(u32::MAX);
        let wants_compressed = central.compressed_size == u64::from(u32::MAX);
        let wants_offset = central.local_header_offset == u64::from(u32::MAX);
        let wants_disk = central.disk_start == u32::from(u16::MAX);
        if wants_uncompressed || wants_compressed || wants_offset || wants_disk {
            match ExtraFields::find_in(&central.extra, ZIP64_ID) {
                Some(data) => {
                    let mut cursor = Cursor::new(data);
                    let mut missing = Vec::new();
                    if wants_uncompressed {
                        match cursor.u64() {
                            Some(value) => central.uncompressed_size = value,
                            None => missing.push("uncompressed size"),
                        }
                    }
                    if wants_compressed {
                        match cursor.u64() {
                            Some(value) => central.compressed_size = value,
                            None => missing.push("compressed size"),
                        }
                    }
                    if wants_offset {
                        match cursor.u64() {
                            Some(value) => central.local_header_offset = value,
                            None => missing.push("local header offset"),
                        }
                    }
                    if wants_disk {
                        match cursor.u32() {
                            Some(value) => central.disk_start = value,
                            None => missing.push("disk number"),
                        }
                    }
                    if !missing.is_empty() {
                        notes.push(format!(
                            "ZIP64 extra field lacks the {}",
                            missing.join(", ")
                        ));
                    }
                }
                None => {
                    if wants_offset || wants_compressed || wants_uncompressed {
                        notes.push(
                            "saturated 32-bit sizes or offset without a ZIP64 extra field"
                                .to_string(),
                        );
                    }
                }
            }
        }
        if central.disk_start != 0 {
            notes.push(format!("entry starts on disk {}", central.disk_start));
        }

        let local = match central.local_header_offset.checked_add(offset_shift) {
            Some(offset) => read_local_header(source, file_length, offset, &central, scratch)?,
            None => Err("local header offset overflows".to_string()),
        };
        if let Err(problem) = &local {
            notes.push(format!("local header: {problem}"));
        }

        let data_descriptor = match &local {
            Ok(local) if local.flags & FLAG_DATA_DESCRIPTOR != 0 => {
                let zip64 = ExtraFields::find_in(&local.extra, ZIP64_ID).is_some()
                    || central.compressed_size >= u64::from(u32::MAX)
                    || central.uncompressed_size >= u64::from(u32::MAX);
                match local.data_offset.checked_add(central.compressed_size) {
                    Some(offset) => {
                        let found = read_data_descriptor(source, file_length, offset, zip64)?;
                        if found.is_none() {
                            notes.push(format!(
                                "data descriptor announced but missing at offset {offset}"
                            ));
                        }
                        found.map(Box::new)
                    }
                    None => None,
                }
            }
            _ => None,
        };

        Ok(Entry {
            index,
            central,
            local,
            data_descriptor,
            notes,
        })
    }

    /// The stretches of the file that no entry, central directory or end
    /// record accounts for, in file order. Bytes before the first entry and
    /// after the end record are included.
    pub fn gaps(&self) -> Vec<Gap> {
        let mut spans: Vec<(u64, u64)> = self.entries.iter().filter_map(Entry::span).collect();
        spans.push((
            self.central_directory_offset,
            self.central_directory_offset + self.central_directory_size,
        ));
        if let Some(record) = &self.zip64_end_record {
            let length = record.record_size.saturating_add(12);
            spans.push((record.offset, record.offset.saturating_add(length)));
        }
        if let Some(locator) = &self.zip64_locator {
            spans.push((locator.offset, locator.offset + ZIP64_LOCATOR_LENGTH));
        }
        let end_length = END_RECORD_LENGTH + self.end_record.comment.len() as u64;
        spans.push((self.end_record.offset, self.end_record.offset + end_length));
        spans.sort_unstable();

        let mut gaps = Vec::new();
        let mut covered = 0u64;
        for (start, end) in spans {
            if start > covered {
                gaps.push(Gap {
                    offset: covered,
                    length: start - covered,
                    holds_local_header: false,
                });
            }
            covered = covered.max(end);
        }
        if self.file_length > covered {
            gaps.push(Gap {
                offset: covered,
                length: self.file_length - covered,
                holds_local_header: false,
            });
        }
        gaps
    }

    /// Like [`Layout::gaps`], with each gap checked for a local header
    /// signature at its start.
    ///
    /// # Errors
    /// When reading `source` fails.
    pub fn gaps_in<S: ReadAt + ?Sized>(&self, source: &S) -> io::Result<Vec<Gap>> {
        let mut gaps = self.gaps();
        for gap in &mut gaps {
            if gap.length >= 4 {
                let mut word = [0u8; 4];
                source.read_exact_at(&mut word, gap.offset)?;
                gap.holds_local_header = u32::from_le_bytes(word) == LOCAL_HEADER_SIGNATURE;
            }
        }
        Ok(gaps)
    }

    /// Pairs of entries (by index) whose byte ranges overlap.
    pub fn overlaps(&self) -> Vec<(usize, usize)> {
        let mut spans: Vec<(u64, u64, usize)> = self
            .entries
            .iter()
            .filter_map(|entry| entry.span().map(|(start, end)| (start, end, entry.index)))
            .collect();
        spans.sort_unstable();
        let mut pairs = Vec::new();
        for (position, (_, end, index)) in spans.iter().enumerate() {
            for (other_start, _, other_index) in &spans[position + 1..] {
                if other_start >= end {
                    break;
                }
                pairs.push(((*index).min(*other_index), (*index).max(*other_index)));
            }
        }
        pairs.sort_unstable();
        pairs
    }

    /// Entries whose byte range reaches into the central directory.
    pub fn entries_overlapping_directory(&self) -> Vec<usize> {
        let directory_start = self.central_directory_offset;
        let directory_end = directory_start + self.central_directory_size;
        self.entries
            .iter()
            .filter(|entry| {
                entry
                    .span()
                    .is_some_and(|(start, end)| start < directory_end && end > directory_start)
            })
            .map(|entry| entry.index)
            .collect()
    }

    /// Bytes before the first entry (or before the central directory when
    /// there is no entry).
    pub fn leading_bytes(&self) -> u64 {
        self.entries
            .iter()
            .filter_map(|entry| entry.local.as_ref().ok().map(|local| local.offset))
            .min()
            .unwrap_or(self.central_directory_offset)
            .min(self.central_directory_offset)
    }
}

/// The central directory, read a window at a time. Each window is a block
/// of its own, which the fields of the headers read from it share.
struct DirectoryWindow<'a, S: ?Sized> {
    source: &'a S,
    /// Where the directory starts in the file, and its length.
    offset: u64,
    length: u64,
    /// Directory bytes from `start` on; those before `used` are parsed.
    block: Arc<Vec<u8>>,
    start: u64,
    used: usize,
}

impl<'a, S: ReadAt + ?Sized> DirectoryWindow<'a, S> {
    /// Bytes read at once.
    const SPAN: u64 = 8 << 20;
    /// The longest central header: its fixed part, then a name, an extra
    /// field and a comment of 65,535 bytes each.
    const LONGEST_HEADER: usize = CENTRAL_HEADER_LENGTH + 3 * 0xffff;

    fn new(source: &'a S, offset: u64, length: u64) -> Self {
        DirectoryWindow {
            source,
            offset,
            length,
            block: Arc::default(),
            start: 0,
            used: 0,
        }
    }

    /// The block whose bytes from the position answered on are the next
    /// header whole or the rest of the directory, and the offset in the
    /// file where that position is.
    fn next_header(&mut self) -> Result<(&Arc<Vec<u8>>, usize, u64), LayoutError> {
        let read_to = self.start + self.block.len() as u64;
        if self.block.len() - self.used < Self::LONGEST_HEADER && read_to < self.length {
            // The next block starts with what is left of this one.
            let kept = &self.block[self.used..];
            let more = usize::try_from((self.length - read_to).min(Self::SPAN)).unwrap_or(0);
            let mut bytes = Vec::with_capacity(kept.len() + more);
            bytes.extend_from_slice(kept);
            bytes.resize(kept.len() + more, 0);
            self.source
                .read_exact_at(&mut bytes[kept.len()..], self.offset + read_to)?;
            self.start += self.used as u64;
            self.used = 0;
            self.block = Arc::new(bytes);
        }
        let at = self.offset + self.start + self.used as u64;
        Ok((&self.block, self.used, at))
    }

    /// Marks `count` more bytes as parsed.
    fn consume(&mut self, count: usize) {
        self.used += count;
    }

    /// The directory's bytes not parsed yet.
    fn left(&self) -> u64 {
        self.length - self.start - self.used as u64
    }
}

fn parse_central_header(
    block: &Arc<Vec<u8>>,
    at: usize,
    offset: u64,
) -> Result<Option<(CentralHeader, usize)>, LayoutError> {
    let truncated =
        || LayoutError::NotZip(format!("central header at offset {offset} is truncated"));
    let mut cursor = Cursor::new(block.get(at..).unwrap_or(&[]));
    if cursor.remaining() < CENTRAL_HEADER_LENGTH {
        return Ok(None);
    }
    let signature = cursor.u32().ok_or_else(truncated)?;
    if signature != CENTRAL_HEADER_SIGNATURE {
        return Ok(None);
    }
    let version_made_by = cursor.u16().ok_or_else(truncated)?;
    let version_needed = cursor.u16().ok_or_else(truncated)?;
    let flags = cursor.u16().ok_or_else(truncated)?;
    let method = cursor.u16().ok_or_else(truncated)?;
    let dos_time = cursor.u16().ok_or_else(truncated)?;
    let dos_date = cursor.u16().ok_or_else(truncated)?;
    let crc32 = cursor.u32().ok_or_else(truncated)?;
    let compressed_size = cursor.u32().ok_or_else(truncated)?;
    let uncompressed_size = cursor.u32().ok_or_else(truncated)?;
    let name_length = cursor.u16().ok_or_else(truncated)?;
    let extra_length = cursor.u16().ok_or_else(truncated)?;
    let comment_length = cursor.u16().ok_or_else(truncated)?;
    let disk_start = cursor.u16().ok_or_else(truncated)?;
    let internal_attributes = cursor.u16().ok_or_else(truncated)?;
    let external_attributes = cursor.u32().ok_or_else(truncated)?;
    let local_header_offset = cursor.u32().ok_or_else(truncated)?;
    // The fields, shared with the block they lie in.
    let mut field = |length: u16| {
        let start = at + cursor.position();
        cursor.take(usize::from(length)).ok_or_else(truncated)?;
        Ok::<_, LayoutError>(HeaderBytes::shared(
            block,
            start..start + usize::from(length),
        ))
    };
    let name = field(name_length)?;
    let extra = field(extra_length)?;
    let comment = field(comment_length)?;
    let parsed = cursor.position();
    let header = CentralHeader {
        offset,
        version_made_by,
        version_needed,
        flags,
        method,
        dos_time,
        dos_date,
        crc32,
        compressed_size: u64::from(compressed_size),
        uncompressed_size: u64::from(uncompressed_size),
        disk_start: u32::from(disk_start),
        internal_attributes,
        external_attributes,
        local_header_offset: u64::from(local_header_offset),
        name,
        extra,
        comment,
    };
    Ok(Some((header, parsed)))
}

/// Reads the local header at `offset`. The outer error is an I/O failure; the
/// inner one says why the bytes there are not a usable local header.
fn read_local_header<S: ReadAt + ?Sized>(
    source: &S,
    file_length: u64,
    offset: u64,
    central: &CentralHeader,
    scratch: &mut Vec<u8>,
) -> Result<Result<LocalHeader, String>, LayoutError> {
    if offset
        .checked_add(LOCAL_HEADER_LENGTH)
        .is_none_or(|end| end > file_length)
    {
        return Ok(Err(format!(
            "offset {offset} is past the end of the archive"
        )));
    }
    let mut fixed = [0u8; LOCAL_HEADER_LENGTH as usize];
    source.read_exact_at(&mut fixed, offset)?;
    let mut cursor = Cursor::new(&fixed);
    if cursor.u32() != Some(LOCAL_HEADER_SIGNATURE) {
        return Ok(Err(format!("no local header signature at offset {offset}")));
    }
    let version_needed = cursor.u16().unwrap_or(0);
    let flags = cursor.u16().unwrap_or(0);
    let method = cursor.u16().unwrap_or(0);
    let dos_time = cursor.u16().unwrap_or(0);
    let dos_date = cursor.u16().unwrap_or(0);
    let crc32 = cursor.u32().unwrap_or(0);
    let compressed_size = cursor.u32().unwrap_or(0);
    let uncompressed_size = cursor.u32().unwrap_or(0);
    let name_length = cursor.u16().unwrap_or(0);
    let extra_length = cursor.u16().unwrap_or(0);

    let variable_length = u64::from(name_length) + u64::from(extra_length);
    let data_offset = offset + LOCAL_HEADER_LENGTH + variable_length;
    if data_offset > file_length {
        return Ok(Err(format!(
            "name and extra field at offset {offset} run past the end of the archive"
        )));
    }
    // The name and extra field, shared with the central header's when they
    // are the same, as they usually are.
    scratch.clear();
    scratch.resize(usize::from(name_length) + usize::from(extra_length), 0);
    source.read_exact_at(scratch, offset + LOCAL_HEADER_LENGTH)?;
    let (name, extra) = scratch.split_at(usize::from(name_length));
    let name = if central.name == name {
        central.name.clone()
    } else {
        HeaderBytes::copied(name)
    };
    let extra = if central.extra == extra {
        central.extra.clone()
    } else {
        HeaderBytes::copied(extra)
    };

    // ZIP64 sizes: both follow in the extra field when either is saturated.
    let mut compressed_size = u64::from(compressed_size);
    let mut uncompressed_size = u64::from(uncompressed_size);
    let saturated =
        compressed_size == u64::from(u32::MAX) || uncompressed_size == u64::from(u32::MAX);
    if saturated && let Some(data) = ExtraFields::find_in(&extra, ZIP64_ID) {
        let mut cursor = Cursor::new(data);
        if let Some(value) = cursor.u64() {
            uncompressed_size = value;
        }
        if let Some(value) = cursor.u64() {
            compressed_size = value;
        }
    }

    Ok(Ok(LocalHeader {
        offset,
        version_needed,
        flags,
        method,
        dos_time,
        dos_date,
        crc32,
        compressed_size,
        uncompressed_size,
        name,
        extra,
        data_offset,
    }))
}

fn read_data_descriptor<S: ReadAt + ?Sized>(
    source: &S,
    file_length: u64,
    offset: u64,
    zip64: bool,
) -> Result<Option<DataDescriptor>, LayoutError> {
    let size_length: u64 = if zip64 { 8 } else { 4 };
    let available = file_length.saturating_sub(offset).min(24);
    let mut bytes = vec![0u8; usize::try_from(available).unwrap_or(0)];
    source.read_exact_at(&mut bytes, offset)?;
    let mut cursor = Cursor::new(&bytes);
    let has_signature = bytes.get(..4) == Some(&DATA_DESCRIPTOR_SIGNATURE.to_le_bytes()[..]);
    if has_signature {
        cursor.u32();
    }
    let Some(crc32) = cursor.u32() else {
        return Ok(None);
    };
    let read_size = |cursor: &mut Cursor<'_>| {
        if zip64 {
            cursor.u64()
        } else {
            cursor.u32().map(u64::from)
        }
    };
    let (Some(compressed_size), Some(uncompressed_size)) =
        (read_size(&mut cursor), read_size(&mut cursor))
    else {
        return Ok(None);
    };
    let length = if has_signature { 4 } else { 0 } + 4 + 2 * size_length;
    Ok(Some(DataDescriptor {
        offset,
        has_signature,
        crc32,
        compressed_size,
        uncompressed_size,
        length,
    }))
}

/// Human name of a compression method.
pub fn method_name(method: u16) -> &'static str {
    match method {
        0 => "stored",
        1 => "shrunk",
        2..=5 => "reduced",
        6 => "imploded",
        8 => "deflate",
        9 => "deflate64",
        12 => "bzip2",
        14 => "lzma",
        93 => "zstd",
        95 => "xz",
        96 => "jpeg",
        97 => "wavpack",
        98 => "ppmd",
        99 => "aes",
        _ => "unknown",
    }
}

/// The extra fields of an entry, by id, for display.
pub fn describe_extra(extra: &[u8]) -> (Vec<ExtraField>, Option<String>) {
    let fields = ExtraFields::parse(extra);
    (fields.fields, fields.malformed)
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor as IoCursor, Write};

    use super::*;

    fn small_archive() -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(IoCursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default();
        for name in ["config/a.conf", "config/b.conf"] {
            writer.start_file(name, options).unwrap();
            writer.write_all(name.as_bytes()).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    fn names(layout: &Layout) -> Vec<String> {
        layout.entries.iter().map(Entry::display_name).collect()
    }

    #[test]
    fn end_record_is_found_behind_junk_longer_than_the_first_search() {
        let archive = small_archive();
        for junk in [
            0,
            1000,
            END_SEARCH_FIRST as usize,
            3 * END_SEARCH_FIRST as usize,
        ] {
            let mut bytes = archive.clone();
            bytes.extend(std::iter::repeat_n(0x5a, junk));
            let layout = Layout::read(&bytes).unwrap();
            assert_eq!(names(&layout), ["config/a.conf", "config/b.conf"], "{junk}");
            assert_eq!(layout.trailing_bytes, junk as u64);
        }
    }

    #[test]
    fn a_false_end_record_near_the_end_gives_way_to_the_real_one() {
        // A signature in the junk whose directory cannot be decoded, in the
        // stretch searched first; the real record lies before that stretch.
        let archive = small_archive();
        let mut bytes = archive.clone();
        bytes.extend(std::iter::repeat_n(0u8, 2 * END_SEARCH_FIRST as usize));
        let mut fake = END_SIGNATURE.to_le_bytes().to_vec();
        fake.extend([0, 0, 0, 0, 1, 0, 1, 0]);
        fake.extend(1000u32.to_le_bytes());
        fake.extend(5u32.to_le_bytes());
        fake.extend([0, 0]);
        bytes.extend(&fake);
        bytes.extend(std::iter::repeat_n(0u8, 100));
        let layout = Layout::read(&bytes).unwrap();
        assert_eq!(names(&layout), ["config/a.conf", "config/b.conf"]);
        assert_eq!(layout.trailing_bytes, (bytes.len() - archive.len()) as u64);
    }

    #[test]
    fn the_watcher_sees_every_entry_in_order_as_it_is_read() {
        let archive = small_archive();
        let mut seen = Vec::new();
        let layout = Layout::read_watching(archive.as_slice(), &mut |entry| {
            seen.push(entry.clone());
        })
        .unwrap();
        assert_eq!(seen, layout.entries);
        assert_eq!(seen.len(), 2);
    }

    #[test]
    fn a_directory_longer_than_its_window_reads_whole_across_the_windows() {
        // Names from a few bytes to near the longest a header holds, so
        // that headers straddle every window's end in different places.
        let mut writer = zip::ZipWriter::new(IoCursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        let mut expected = Vec::new();
        for index in 0..400usize {
            let length = 8 + (index * 7919) % 60_000;
            let mut name = format!("config/{index}/");
            name.extend(std::iter::repeat_n('n', length));
            writer.start_file(name.as_str(), options).unwrap();
            writer.write_all(&index.to_le_bytes()).unwrap();
            expected.push(name);
        }
        let archive = writer.finish().unwrap().into_inner();
        let layout = Layout::read(archive.as_slice()).unwrap();
        assert!(layout.central_directory_size > 4 * (1 << 20));
        assert_eq!(names(&layout), expected);
        assert!(layout.notes.is_empty(), "{:?}", layout.notes);

        // Junk at the directory's end, counted in its declared size, is
        // told by its length, whichever window it was read in.
        let end = archive.len() - END_RECORD_LENGTH as usize;
        let mut damaged = archive[..end].to_vec();
        damaged.extend(std::iter::repeat_n(0x5a, 1000));
        let mut record = archive[end..].to_vec();
        let size = u32::from_le_bytes(record[12..16].try_into().unwrap()) + 1000;
        record[12..16].copy_from_slice(&size.to_le_bytes());
        damaged.extend(record);
        let layout = Layout::read(damaged.as_slice()).unwrap();
        assert_eq!(layout.entries.len(), 400);
        assert_eq!(
            layout.notes,
            ["1000 bytes at the end of the central directory are not a central header"]
        );
    }

    #[test]
    fn junk_longer_than_the_whole_search_is_not_a_zip() {
        let mut bytes = small_archive();
        bytes.extend(std::iter::repeat_n(0u8, END_SEARCH_WINDOW as usize));
        assert!(matches!(Layout::read(&bytes), Err(LayoutError::NotZip(_))));
    }
}
