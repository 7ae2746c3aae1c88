//! A forensic description of an archive: every record of the zip container
//! as it is on disk, and how the backup's own files (file list, metadata)
//! read, without extracting anything.
//!
//! Inspection describes and does not judge: it works on archives that
//! [`verify`](crate::verify) refuses, reports what it finds in each record,
//! and fails only when the file cannot be read. Entry data is never read,
//! except the file list and the metadata, each up to a bound.

pub mod backup;
pub mod human;
pub mod text;

use std::collections::HashMap;
use std::io;

use serde::Serialize;

use crate::zipfile::dostime::DosTime;
use crate::zipfile::extra::{EXTENDED_TIMESTAMP_ID, ExtraField, ExtraFields};
use crate::zipfile::layout::{
    DataDescriptor, EndRecord, FLAG_DATA_DESCRIPTOR, FLAG_ENCRYPTED, FLAG_UTF8, Gap, LocalHeader,
    Zip64EndRecord, Zip64Locator, method_name,
};
use crate::zipfile::{Entry, EntryKind, Layout, LayoutError, ReadAt, hex};
pub use backup::BackupView;
use text::{RawText, host_system_name, mode_text, spec_version};

/// How many bytes from the start of the file are shown for any file.
const FIRST_BYTES_SHOWN: usize = 16;

/// Why an archive could not be inspected: only reading can fail.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    /// Reading the file failed.
    #[error("cannot read `{label}`")]
    Io {
        /// The archive as the caller named it.
        label: String,
        /// What went wrong.
        #[source]
        source: io::Error,
    },
}

/// Everything inspection found in one file.
#[derive(Debug, Clone, Serialize)]
pub struct Inspection {
    /// The archive as the caller named it.
    pub archive: String,
    /// Length of the file in bytes.
    pub file_size: u64,
    /// The first bytes of the file, in hex: what the file is when it is not
    /// a zip.
    pub first_bytes: String,
    /// Whether a zip structure was found.
    pub is_zip: bool,
    /// Why the file is not a zip this reader can follow, when it is not.
    pub not_zip_reason: Option<String>,
    /// The container as a whole, when it is a zip.
    pub container: Option<Container>,
    /// Every central directory entry, in order, duplicates included.
    pub entries: Vec<EntryView>,
    /// The backup's own files, when it is a zip.
    pub backup: Option<BackupView>,
}

/// The records of the container that belong to no single entry.
#[derive(Debug, Clone, Serialize)]
pub struct Container {
    /// The archive comment, when there is one.
    pub comment: Option<RawText>,
    /// Bytes before the first entry.
    pub leading_bytes: u64,
    /// How far every declared offset is off: bytes put before the archive
    /// without its offsets being adjusted.
    pub offset_shift: u64,
    /// Bytes after the end record and its comment.
    pub trailing_bytes: u64,
    /// Where the central directory actually starts.
    pub central_directory_offset: u64,
    /// Length of the central directory.
    pub central_directory_size: u64,
    /// Number of central directory entries found.
    pub entry_count: usize,
    /// The end of central directory record as declared.
    pub end_record: EndRecord,
    /// The ZIP64 end of central directory locator, when present.
    pub zip64_locator: Option<Zip64Locator>,
    /// The ZIP64 end of central directory record, when present.
    pub zip64_end_record: Option<Zip64EndRecord>,
    /// Stretches of the file that no record accounts for, leading and
    /// trailing bytes included.
    pub gaps: Vec<Gap>,
    /// Pairs of entries whose bytes overlap.
    pub overlapping_entries: Vec<Overlap>,
    /// Entries whose bytes reach into the central directory.
    pub entries_overlapping_directory: Vec<usize>,
    /// Names that more than one entry carries.
    pub duplicate_names: Vec<DuplicateName>,
    /// Structural problems of the archive as a whole.
    pub notes: Vec<String>,
}

/// Two entries (by index) that share bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Overlap {
    /// The entry that comes first in the central directory.
    pub first: usize,
    /// The other one.
    pub second: usize,
}

/// A name carried by several entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DuplicateName {
    /// The name as text (invalid UTF-8 replaced).
    pub name: String,
    /// The raw name in hex, when it is not valid UTF-8.
    pub name_hex: Option<String>,
    /// The entries carrying it, by index.
    pub entries: Vec<usize>,
}

/// One central directory entry and the records it points to.
#[derive(Debug, Clone, Serialize)]
pub struct EntryView {
    /// Position in the central directory, from 0.
    pub index: usize,
    /// The name as text (invalid UTF-8 replaced).
    pub name: String,
    /// The raw name in hex, when it is not valid UTF-8.
    pub name_hex: Option<String>,
    /// What the entry says it is.
    pub kind: EntryKind,
    /// The compression method.
    pub method: Method,
    /// Compressed size, as the central directory declares it.
    pub compressed_size: u64,
    /// Uncompressed size, as the central directory declares it.
    pub uncompressed_size: u64,
    /// CRC-32, as the central directory declares it.
    pub crc32: u32,
    /// Time of last modification.
    pub modified: Modified,
    /// The unix mode, when the entry carries one.
    pub unix_mode: Option<UnixMode>,
    /// External file attributes, raw.
    pub external_attributes: u32,
    /// Internal file attributes, raw.
    pub internal_attributes: u16,
    /// General purpose flags.
    pub flags: Flags,
    /// Version made by, with the host system.
    pub version_made_by: VersionMadeBy,
    /// Version needed to extract.
    pub version_needed: Version,
    /// Where the entry's records are.
    pub offsets: Offsets,
    /// Disk the entry starts on.
    pub disk_start: u32,
    /// The central header's extra fields.
    pub central_extra: ExtraBlock,
    /// The local header, when it could be read.
    pub local_header: Option<LocalView>,
    /// Why the local header could not be read.
    pub local_header_error: Option<String>,
    /// The entry comment, when there is one.
    pub comment: Option<RawText>,
    /// The data descriptor, when one is announced and found.
    pub data_descriptor: Option<DataDescriptor>,
    /// Every field in which the local header or data descriptor and the
    /// central header disagree.
    pub header_disagreements: Vec<String>,
    /// Structural problems of this entry's records.
    pub notes: Vec<String>,
}

/// A compression method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Method {
    /// The number in the header.
    pub number: u16,
    /// Its name.
    pub name: &'static str,
}

impl Method {
    fn of(number: u16) -> Method {
        Method {
            number,
            name: method_name(number),
        }
    }
}

/// A modification time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Modified {
    /// The DOS date field, raw.
    pub dos_date: u16,
    /// The DOS time field, raw.
    pub dos_time: u16,
    /// The DOS fields decoded, `YYYY-MM-DD HH:MM:SS`, local time of the
    /// writer.
    pub dos: String,
    /// Whether every decoded part is in its calendar range.
    pub dos_valid: bool,
    /// The extended timestamp field's mtime, seconds since 1970 (UTC).
    pub extended_mtime: Option<i64>,
    /// The same as RFC 3339 text in UTC.
    pub extended_mtime_utc: Option<String>,
}

impl Modified {
    /// Decodes the DOS fields, and the extended timestamp from the first of
    /// `blocks` that has one.
    fn of(dos_date: u16, dos_time: u16, blocks: &[&[ExtraField]]) -> Modified {
        let decoded = DosTime::decode(dos_date, dos_time);
        let extended_mtime = blocks
            .iter()
            .flat_map(|fields| fields.iter())
            .filter(|field| field.id == EXTENDED_TIMESTAMP_ID)
            .find_map(|field| extended_mtime(&field.data));
        Modified {
            dos_date,
            dos_time,
            dos: decoded.to_string(),
            dos_valid: decoded.is_valid(),
            extended_mtime,
            extended_mtime_utc: extended_mtime
                .and_then(|seconds| chrono::DateTime::from_timestamp(seconds, 0))
                .map(|time| time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        }
    }
}

/// The mtime of an extended timestamp field (0x5455): a flags byte, then the
/// mtime as signed 32-bit seconds when bit 0 is set. The central directory's
/// copy holds only the mtime whatever its flags say, so only it is read.
fn extended_mtime(data: &[u8]) -> Option<i64> {
    let flags = *data.first()?;
    if flags & 1 == 0 {
        return None;
    }
    let bytes: [u8; 4] = data.get(1..5)?.try_into().ok()?;
    Some(i64::from(i32::from_le_bytes(bytes)))
}

/// A unix mode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnixMode {
    /// The mode as a number.
    pub value: u32,
    /// The mode in octal, e.g. `100644`.
    pub octal: String,
    /// The mode as `ls -l` shows it, e.g. `-rw-r--r--`.
    pub text: String,
}

/// General purpose flags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Flags {
    /// The field, raw.
    pub value: u16,
    /// The names of the bits that are set.
    pub names: Vec<String>,
}

impl Flags {
    fn of(value: u16) -> Flags {
        let named: [(u16, &str); 6] = [
            (FLAG_ENCRYPTED, "encrypted"),
            (FLAG_DATA_DESCRIPTOR, "data descriptor"),
            (0x0020, "patched data"),
            (0x0040, "strong encryption"),
            (FLAG_UTF8, "utf-8"),
            (0x2000, "masked local header"),
        ];
        let names = (0..16)
            .map(|bit| 1u16 << bit)
            .filter(|mask| value & mask != 0)
            .map(|mask| match named.iter().find(|(flag, _)| *flag == mask) {
                Some((_, name)) => (*name).to_string(),
                // Bits 1 and 2 are method options; the rest are unnamed.
                None => format!("bit {}", mask.trailing_zeros()),
            })
            .collect();
        Flags { value, names }
    }
}

/// A "version needed to extract" field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Version {
    /// The field, raw.
    pub value: u16,
    /// The specification version of its low byte, e.g. `2.0`.
    pub version: String,
}

impl Version {
    fn of(value: u16) -> Version {
        Version {
            value,
            version: spec_version(value.to_le_bytes()[0]),
        }
    }
}

/// The "version made by" field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionMadeBy {
    /// The field, raw.
    pub value: u16,
    /// The host system number (high byte).
    pub host: u8,
    /// Its name.
    pub host_name: &'static str,
    /// The specification version the writer follows (low byte), e.g. `3.0`.
    pub version: String,
}

impl VersionMadeBy {
    fn of(value: u16) -> VersionMadeBy {
        let [version, host] = value.to_le_bytes();
        VersionMadeBy {
            value,
            host,
            host_name: host_system_name(host),
            version: spec_version(version),
        }
    }
}

/// Where an entry's records are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Offsets {
    /// The central directory header.
    pub central_header: u64,
    /// The local header offset as the central header declares it.
    pub local_header_declared: u64,
    /// Where the local header is looked for: the declared offset plus the
    /// archive's offset shift.
    pub local_header: Option<u64>,
    /// Where the data starts, when the local header could be read.
    pub data: Option<u64>,
    /// Where the data ends, when the local header could be read.
    pub data_end: Option<u64>,
}

/// An extra field block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExtraBlock {
    /// Length of the block in bytes.
    pub length: usize,
    /// The fields that could be decoded, in order.
    pub fields: Vec<ExtraFieldView>,
    /// Why decoding stopped early, if it did.
    pub malformed: Option<String>,
}

impl ExtraBlock {
    fn of(block: &[u8], parsed: &ExtraFields) -> ExtraBlock {
        ExtraBlock {
            length: block.len(),
            fields: parsed
                .fields
                .iter()
                .map(|field| ExtraFieldView {
                    id: field.id,
                    id_hex: format!("{:#06x}", field.id),
                    kind: field.kind(),
                    length: field.data.len(),
                    summary: field.summary(),
                })
                .collect(),
            malformed: parsed.malformed.clone(),
        }
    }
}

/// One extra field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExtraFieldView {
    /// The header id.
    pub id: u16,
    /// The header id in hex, as specifications list them.
    pub id_hex: String,
    /// The kind of field the id names.
    pub kind: &'static str,
    /// Length of its data.
    pub length: usize,
    /// A short reading of its content.
    pub summary: String,
}

/// A local file header.
#[derive(Debug, Clone, Serialize)]
pub struct LocalView {
    /// Where it starts.
    pub offset: u64,
    /// The name as text (invalid UTF-8 replaced).
    pub name: String,
    /// The raw name in hex, when it is not valid UTF-8.
    pub name_hex: Option<String>,
    /// Version needed to extract.
    pub version_needed: Version,
    /// General purpose flags.
    pub flags: Flags,
    /// Compression method.
    pub method: Method,
    /// Time of last modification.
    pub modified: Modified,
    /// CRC-32 (zero when a data descriptor carries it).
    pub crc32: u32,
    /// Compressed size (zero when a data descriptor carries it).
    pub compressed_size: u64,
    /// Uncompressed size (zero when a data descriptor carries it).
    pub uncompressed_size: u64,
    /// Its extra fields.
    pub extra: ExtraBlock,
}

/// Describes the file in `source`, named `label` in the result. A file that
/// is not a zip is described too, as far as it can be (see
/// [`Inspection::is_zip`]).
///
/// # Errors
/// [`InspectError::Io`] when reading `source` fails.
pub fn inspect_source<S: ReadAt + ?Sized>(
    source: &S,
    label: &str,
) -> Result<Inspection, InspectError> {
    let io_error = |source: io::Error| InspectError::Io {
        label: label.to_string(),
        source,
    };

    // What any file has: a size and first bytes.
    let file_size = source.length().map_err(io_error)?;
    let shown = file_size.min(FIRST_BYTES_SHOWN as u64);
    let mut first = vec![0u8; usize::try_from(shown).unwrap_or(0)];
    source.read_exact_at(&mut first, 0).map_err(io_error)?;
    let mut inspection = Inspection {
        archive: label.to_string(),
        file_size,
        first_bytes: hex(&first),
        is_zip: false,
        not_zip_reason: None,
        container: None,
        entries: Vec::new(),
        backup: None,
    };

    // The zip structure, or why there is none.
    let layout = match Layout::read(source) {
        Ok(layout) => layout,
        Err(LayoutError::Io(error)) => return Err(io_error(error)),
        Err(LayoutError::NotZip(reason)) => {
            inspection.not_zip_reason = Some(reason);
            return Ok(inspection);
        }
    };
    inspection.is_zip = true;

    // The container, each entry, then the backup's own files.
    let gaps = layout.gaps_in(source).map_err(io_error)?;
    inspection.container = Some(describe_container(&layout, gaps));
    inspection.entries = layout
        .entries
        .iter()
        .map(|entry| describe_entry(entry, layout.offset_shift))
        .collect();
    inspection.backup = Some(backup::describe(source, &layout).map_err(io_error)?);
    Ok(inspection)
}

fn describe_container(layout: &Layout, gaps: Vec<Gap>) -> Container {
    Container {
        comment: RawText::of(&layout.end_record.comment),
        leading_bytes: layout.leading_bytes(),
        offset_shift: layout.offset_shift,
        trailing_bytes: layout.trailing_bytes,
        central_directory_offset: layout.central_directory_offset,
        central_directory_size: layout.central_directory_size,
        entry_count: layout.entries.len(),
        end_record: layout.end_record.clone(),
        zip64_locator: layout.zip64_locator.clone(),
        zip64_end_record: layout.zip64_end_record.clone(),
        gaps,
        overlapping_entries: layout
            .overlaps()
            .into_iter()
            .map(|(first, second)| Overlap { first, second })
            .collect(),
        entries_overlapping_directory: layout.entries_overlapping_directory(),
        duplicate_names: duplicate_names(&layout.entries),
        notes: layout.notes.clone(),
    }
}

/// Names carried by more than one entry, compared byte for byte, in the
/// order of their first entry.
fn duplicate_names(entries: &[Entry]) -> Vec<DuplicateName> {
    let mut by_name: HashMap<&[u8], Vec<usize>> = HashMap::new();
    for entry in entries {
        by_name
            .entry(entry.central.name.as_slice())
            .or_default()
            .push(entry.index);
    }

    let mut found: Vec<DuplicateName> = by_name
        .into_iter()
        .filter(|(_, indices)| indices.len() > 1)
        .map(|(name, entries)| DuplicateName {
            name: String::from_utf8_lossy(name).into_owned(),
            name_hex: name_hex(name),
            entries,
        })
        .collect();
    found.sort_by_key(|duplicate| duplicate.entries.first().copied());
    found
}

/// The hex of a name that is not valid UTF-8: its text form hides bytes.
fn name_hex(name: &[u8]) -> Option<String> {
    std::str::from_utf8(name).is_err().then(|| hex(name))
}

fn describe_entry(entry: &Entry, offset_shift: u64) -> EntryView {
    let central = &entry.central;
    let central_extra = ExtraFields::parse(&central.extra);
    let local_extra = entry
        .local
        .as_ref()
        .map(|local| ExtraFields::parse(&local.extra))
        .unwrap_or_default();

    // The central directory's extended timestamp is preferred; the local one
    // stands in when only it is there.
    let modified = Modified::of(
        central.dos_date,
        central.dos_time,
        &[&central_extra.fields, &local_extra.fields],
    );
    let offsets = Offsets {
        central_header: central.offset,
        local_header_declared: central.local_header_offset,
        local_header: central.local_header_offset.checked_add(offset_shift),
        data: entry.data_offset(),
        data_end: entry
            .data_offset()
            .and_then(|start| start.checked_add(central.compressed_size)),
    };
    let unix_mode = entry.unix_mode().map(|value| UnixMode {
        value,
        octal: format!("{value:o}"),
        text: mode_text(value),
    });

    EntryView {
        index: entry.index,
        name: entry.display_name(),
        name_hex: name_hex(&central.name),
        kind: entry.kind(),
        method: Method::of(central.method),
        compressed_size: central.compressed_size,
        uncompressed_size: central.uncompressed_size,
        crc32: central.crc32,
        modified,
        unix_mode,
        external_attributes: central.external_attributes,
        internal_attributes: central.internal_attributes,
        flags: Flags::of(central.flags),
        version_made_by: VersionMadeBy::of(central.version_made_by),
        version_needed: Version::of(central.version_needed),
        offsets,
        disk_start: central.disk_start,
        central_extra: ExtraBlock::of(&central.extra, &central_extra),
        local_header: entry
            .local
            .as_ref()
            .ok()
            .map(|local| describe_local(local, &local_extra)),
        local_header_error: entry.local.as_ref().err().cloned(),
        comment: RawText::of(&central.comment),
        data_descriptor: entry.data_descriptor.as_deref().cloned(),
        header_disagreements: entry.header_disagreements(),
        notes: entry.notes.clone(),
    }
}

fn describe_local(local: &LocalHeader, extra: &ExtraFields) -> LocalView {
    LocalView {
        offset: local.offset,
        name: String::from_utf8_lossy(&local.name).into_owned(),
        name_hex: name_hex(&local.name),
        version_needed: Version::of(local.version_needed),
        flags: Flags::of(local.flags),
        method: Method::of(local.method),
        modified: Modified::of(local.dos_date, local.dos_time, &[&extra.fields]),
        crc32: local.crc32,
        compressed_size: local.compressed_size,
        uncompressed_size: local.uncompressed_size,
        extra: ExtraBlock::of(&local.extra, extra),
    }
}

#[cfg(test)]
mod tests;
