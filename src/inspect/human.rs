//! The text form of an [`Inspection`] for a person at a terminal: the
//! archive summary, the end records, one block per entry, then the backup's
//! own files.
//!
//! Names and comments come from the archive and may hold terminal escapes;
//! they are shown escaped, never written raw.

use super::backup::{FileListView, MetadataView};
use super::text::{RawText, escape_for_terminal};
use super::{Container, EntryView, ExtraBlock, Inspection, Modified};
use crate::zipfile::EntryKind;

/// Renders `inspection` as text, ending with a newline.
pub fn render(inspection: &Inspection) -> String {
    let mut out = Text::default();

    out.line(0, format!("archive `{}`", shown(&inspection.archive)));
    out.line(1, format!("file size: {} bytes", inspection.file_size));
    if let Some(reason) = &inspection.not_zip_reason {
        out.line(1, format!("not a zip: {reason}"));
        out.line(1, format!("first bytes: {}", inspection.first_bytes));
    }
    if let Some(container) = &inspection.container {
        container_summary(&mut out, container);
        end_records(&mut out, container);
        structure(&mut out, container, &inspection.entries);
    }
    for entry in &inspection.entries {
        entry_block(&mut out, entry);
    }
    if let Some(backup) = &inspection.backup {
        out.blank();
        out.line(0, "backup");
        file_list(&mut out, &backup.file_list);
        metadata(&mut out, &backup.metadata);
    }
    out.0
}

/// A text being built line by line, indented by two spaces a level.
#[derive(Default)]
struct Text(String);

impl Text {
    fn line(&mut self, level: usize, text: impl AsRef<str>) {
        for _ in 0..level {
            self.0.push_str("  ");
        }
        self.0.push_str(text.as_ref());
        self.0.push('\n');
    }

    fn blank(&mut self) {
        self.0.push('\n');
    }

    /// A heading and its lines, or nothing when there are none.
    fn list(&mut self, level: usize, heading: &str, items: &[String]) {
        if items.is_empty() {
            return;
        }
        self.line(level, format!("{heading}:"));
        for item in items {
            self.line(level + 1, format!("- {}", shown(item)));
        }
    }
}

/// Text from the archive, made safe for a terminal.
fn shown(text: &str) -> String {
    escape_for_terminal(text)
}

/// A name in backticks, with its raw bytes when they are not UTF-8.
fn name(text: &str, raw_hex: Option<&String>) -> String {
    match raw_hex {
        Some(raw) => format!("`{}` (not UTF-8, bytes {raw})", shown(text)),
        None => format!("`{}`", shown(text)),
    }
}

fn comment(text: &RawText) -> String {
    match &text.hex {
        Some(raw) => format!(
            "{} bytes, hex {raw} (as text `{}`)",
            text.length,
            shown(&text.text)
        ),
        None => format!("`{}` ({} bytes)", shown(&text.text), text.length),
    }
}

fn container_summary(out: &mut Text, container: &Container) {
    out.line(1, format!("entries: {}", container.entry_count));
    match &container.comment {
        Some(text) => out.line(1, format!("comment: {}", comment(text))),
        None => out.line(1, "comment: none"),
    }
    out.line(
        1,
        format!("bytes before the first entry: {}", container.leading_bytes),
    );
    out.line(1, format!("offset shift: {}", container.offset_shift));
    out.line(
        1,
        format!("bytes after the end record: {}", container.trailing_bytes),
    );
    out.line(
        1,
        format!(
            "central directory: offset {}, {} bytes",
            container.central_directory_offset, container.central_directory_size
        ),
    );
}

fn end_records(out: &mut Text, container: &Container) {
    let end = &container.end_record;
    out.blank();
    out.line(
        0,
        format!("end of central directory record at offset {}", end.offset),
    );
    out.line(
        1,
        format!(
            "disk: {}, central directory disk: {}",
            end.disk, end.central_directory_disk
        ),
    );
    out.line(
        1,
        format!(
            "entries on this disk: {}, in all: {}",
            end.entries_on_disk, end.entries_total
        ),
    );
    out.line(
        1,
        format!(
            "central directory: declared offset {}, size {}",
            end.central_directory_offset, end.central_directory_size
        ),
    );

    if let Some(locator) = &container.zip64_locator {
        out.line(
            0,
            format!(
                "ZIP64 end of central directory locator at offset {}",
                locator.offset
            ),
        );
        out.line(
            1,
            format!(
                "end record: disk {}, declared offset {}; disks in all: {}",
                locator.end_record_disk, locator.end_record_offset, locator.total_disks
            ),
        );
    }
    if let Some(record) = &container.zip64_end_record {
        out.line(
            0,
            format!(
                "ZIP64 end of central directory record at offset {}",
                record.offset
            ),
        );
        out.line(
            1,
            format!(
                "record size: {}, extensible data: {} bytes",
                record.record_size, record.extensible_data_length
            ),
        );
        out.line(
            1,
            format!(
                "version made by: {:#06x}, needed: {}",
                record.version_made_by, record.version_needed
            ),
        );
        out.line(
            1,
            format!(
                "disk: {}, central directory disk: {}",
                record.disk, record.central_directory_disk
            ),
        );
        out.line(
            1,
            format!(
                "entries on this disk: {}, in all: {}",
                record.entries_on_disk, record.entries_total
            ),
        );
        out.line(
            1,
            format!(
                "central directory: declared offset {}, size {}",
                record.central_directory_offset, record.central_directory_size
            ),
        );
    }
}

/// What lies between and across the records: gaps, overlaps, duplicates and
/// the layout's notes.
fn structure(out: &mut Text, container: &Container, entries: &[EntryView]) {
    let entry_name = |index: usize| {
        entries
            .get(index)
            .map(|entry| format!("#{index} `{}`", shown(&entry.name)))
            .unwrap_or_else(|| format!("#{index}"))
    };

    let gaps: Vec<String> = container
        .gaps
        .iter()
        .map(|gap| {
            let header = if gap.holds_local_header {
                ", starts with a local header signature"
            } else {
                ""
            };
            format!("{} bytes at offset {}{header}", gap.length, gap.offset)
        })
        .collect();
    let overlaps: Vec<String> = container
        .overlapping_entries
        .iter()
        .map(|pair| format!("{} and {}", entry_name(pair.first), entry_name(pair.second)))
        .collect();
    let into_directory: Vec<String> = container
        .entries_overlapping_directory
        .iter()
        .map(|index| entry_name(*index))
        .collect();
    let duplicates: Vec<String> = container
        .duplicate_names
        .iter()
        .map(|duplicate| {
            let indices: Vec<String> = duplicate
                .entries
                .iter()
                .map(|index| format!("#{index}"))
                .collect();
            format!(
                "{} in entries {}",
                name(&duplicate.name, duplicate.name_hex.as_ref()),
                indices.join(", ")
            )
        })
        .collect();

    out.blank();
    out.line(0, "structure");
    if gaps.is_empty()
        && overlaps.is_empty()
        && into_directory.is_empty()
        && duplicates.is_empty()
        && container.notes.is_empty()
    {
        out.line(
            1,
            "every byte belongs to a record; no overlaps, no duplicate names",
        );
    }
    out.list(1, "bytes no record accounts for", &gaps);
    out.list(1, "overlapping entries", &overlaps);
    out.list(
        1,
        "entries reaching into the central directory",
        &into_directory,
    );
    out.list(1, "duplicate names", &duplicates);
    out.list(1, "notes", &container.notes);
}

fn modified(time: &Modified) -> String {
    let validity = if time.dos_valid {
        ""
    } else {
        ", not a valid date"
    };
    let mut text = format!("{} (DOS{validity})", time.dos);
    if let Some(utc) = &time.extended_mtime_utc {
        text.push_str(&format!("; {utc} (extended timestamp)"));
    } else if let Some(seconds) = time.extended_mtime {
        text.push_str(&format!("; {seconds} s since 1970 (extended timestamp)"));
    }
    text
}

fn extra_block(out: &mut Text, heading: &str, block: &ExtraBlock) {
    if block.length == 0 {
        return;
    }
    out.line(1, format!("{heading} ({} bytes):", block.length));
    for field in &block.fields {
        out.line(
            2,
            format!(
                "- {} {}, {} bytes: {}",
                field.id_hex,
                field.kind,
                field.length,
                shown(&field.summary)
            ),
        );
    }
    if let Some(problem) = &block.malformed {
        out.line(2, format!("- malformed: {problem}"));
    }
}

fn entry_block(out: &mut Text, entry: &EntryView) {
    let kind = match entry.kind {
        EntryKind::File => "file",
        EntryKind::Directory => "directory",
        EntryKind::Symlink => "symlink",
        EntryKind::Special => "special file",
    };
    out.blank();
    out.line(
        0,
        format!(
            "entry #{} {}",
            entry.index,
            name(&entry.name, entry.name_hex.as_ref())
        ),
    );
    out.line(1, format!("kind: {kind}"));
    out.line(
        1,
        format!("method: {} ({})", entry.method.number, entry.method.name),
    );
    out.line(
        1,
        format!(
            "size: {} compressed, {} uncompressed",
            entry.compressed_size, entry.uncompressed_size
        ),
    );
    out.line(1, format!("CRC-32: {:#010x}", entry.crc32));
    out.line(1, format!("modified: {}", modified(&entry.modified)));
    if let Some(mode) = &entry.unix_mode {
        out.line(1, format!("unix mode: {} {}", mode.octal, mode.text));
    }
    out.line(
        1,
        format!(
            "attributes: external {:#010x}, internal {:#06x}",
            entry.external_attributes, entry.internal_attributes
        ),
    );
    let flag_names = if entry.flags.names.is_empty() {
        String::new()
    } else {
        format!(" ({})", entry.flags.names.join(", "))
    };
    out.line(1, format!("flags: {:#06x}{flag_names}", entry.flags.value));
    out.line(
        1,
        format!(
            "version made by: {:#06x} ({} {}), needed: {} ({})",
            entry.version_made_by.value,
            entry.version_made_by.host_name,
            entry.version_made_by.version,
            entry.version_needed.value,
            entry.version_needed.version
        ),
    );
    offsets(out, entry);
    if entry.disk_start != 0 {
        out.line(1, format!("starts on disk: {}", entry.disk_start));
    }

    extra_block(out, "central extra fields", &entry.central_extra);
    match (&entry.local_header, &entry.local_header_error) {
        (Some(local), _) => {
            if local.name != entry.name || local.name_hex != entry.name_hex {
                out.line(
                    1,
                    format!(
                        "local header name: {}",
                        name(&local.name, local.name_hex.as_ref())
                    ),
                );
            }
            extra_block(out, "local extra fields", &local.extra);
        }
        (None, Some(problem)) => out.line(1, format!("local header: {}", shown(problem))),
        (None, None) => {}
    }
    if let Some(text) = &entry.comment {
        out.line(1, format!("comment: {}", comment(text)));
    }
    if let Some(descriptor) = &entry.data_descriptor {
        let signature = if descriptor.has_signature {
            "with"
        } else {
            "without"
        };
        out.line(
            1,
            format!(
                "data descriptor at offset {} ({signature} signature): CRC-32 {:#010x}, \
                 {} compressed, {} uncompressed",
                descriptor.offset,
                descriptor.crc32,
                descriptor.compressed_size,
                descriptor.uncompressed_size
            ),
        );
    }
    out.list(
        1,
        "local and central headers disagree",
        &entry.header_disagreements,
    );
    out.list(1, "notes", &entry.notes);
}

fn offsets(out: &mut Text, entry: &EntryView) {
    let offsets = &entry.offsets;
    let local = match offsets.local_header {
        Some(offset) if offset == offsets.local_header_declared => format!("{offset}"),
        Some(offset) => format!("{offset} (declared {})", offsets.local_header_declared),
        None => format!("declared {}, out of range", offsets.local_header_declared),
    };
    let data = match (offsets.data, offsets.data_end) {
        (Some(start), Some(end)) => format!(", data {start} to {end}"),
        (Some(start), None) => format!(", data from {start}"),
        _ => String::new(),
    };
    out.line(
        1,
        format!(
            "offsets: local header {local}{data}, central header {}",
            offsets.central_header
        ),
    );
}

fn position(present: bool, position: Option<usize>, expected: &str, is_expected: bool) -> String {
    match (present, position) {
        (true, Some(index)) if is_expected => format!("entry #{index} ({expected})"),
        (true, Some(index)) => format!("entry #{index} (not {expected})"),
        _ => "absent".to_string(),
    }
}

fn file_list(out: &mut Text, list: &FileListView) {
    out.line(
        1,
        format!(
            "file list `{}`: {}",
            list.name,
            position(
                list.present,
                list.position,
                "the first",
                list.is_first_entry
            )
        ),
    );
    if let Some(reason) = &list.unreadable {
        out.line(2, format!("unreadable: {}", shown(reason)));
    }
    if list.crc32_matches == Some(false) {
        out.line(2, "its data does not match its CRC-32");
    }
    if let Some(lines) = list.lines {
        out.line(
            2,
            format!("lines: {lines}, malformed: {}", list.malformed_line_count),
        );
    }
    let malformed: Vec<String> = list
        .malformed_lines
        .iter()
        .map(|line| format!("line {}: {}", line.line, line.reason))
        .collect();
    out.list(2, "malformed lines", &malformed);
    if list.malformed_line_count > list.malformed_lines.len() {
        out.line(
            3,
            format!(
                "and {} more",
                list.malformed_line_count - list.malformed_lines.len()
            ),
        );
    }
    if let Some(comparison) = &list.comparison {
        if comparison.listed_but_missing.is_empty()
            && comparison.present_but_unlisted.is_empty()
            && comparison.listed_more_than_once.is_empty()
        {
            out.line(2, "the list names exactly the files in the archive");
        }
        out.list(2, "listed but missing", &comparison.listed_but_missing);
        out.list(
            2,
            "present but not listed",
            &comparison.present_but_unlisted,
        );
        out.list(
            2,
            "listed more than once",
            &comparison.listed_more_than_once,
        );
    }
}

fn metadata(out: &mut Text, view: &MetadataView) {
    out.line(
        1,
        format!(
            "metadata `{}`: {}",
            view.name,
            position(view.present, view.position, "the last", view.is_last_entry)
        ),
    );
    if let Some(reason) = &view.unreadable {
        out.line(2, format!("unreadable: {}", shown(reason)));
    }
    if view.crc32_matches == Some(false) {
        out.line(2, "its data does not match its CRC-32");
    }
    if let Some(content) = &view.content {
        let fields = [
            (
                "format",
                format!("{} version {}", content.format, content.format_version),
            ),
            ("host", content.host.clone()),
            ("backup name", content.backup_name.clone()),
            ("started", content.started.clone()),
            ("completed", content.completed.clone()),
            ("statistics", content.statistics.to_string()),
            ("tree files", content.tree_files.to_string()),
            ("tree bytes", content.tree_bytes.to_string()),
            ("tool", content.tool.clone()),
        ];
        for (label, value) in fields {
            out.line(2, format!("{label}: {}", shown(&value)));
        }
    }
}
