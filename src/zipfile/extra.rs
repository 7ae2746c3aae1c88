//! Extra fields: the tagged records after an entry's name.

use super::bytes::{Cursor, hex};

/// Id of the ZIP64 extended information field.
pub const ZIP64_ID: u16 = 0x0001;
/// Id of the extended timestamp field.
pub const EXTENDED_TIMESTAMP_ID: u16 = 0x5455;
/// Id of the Info-ZIP Unicode path field.
pub const UNICODE_PATH_ID: u16 = 0x7075;

/// One extra field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraField {
    /// The header id.
    pub id: u16,
    /// The field's data, without id and length.
    pub data: Vec<u8>,
}

impl ExtraField {
    /// The name of the field's kind, when the id is a known one.
    pub fn kind(&self) -> &'static str {
        match self.id {
            ZIP64_ID => "ZIP64 extended information",
            0x0007 => "AV info",
            0x000a => "NTFS times",
            0x000d => "Unix",
            0x0017 => "strong encryption",
            0x5855 => "Info-ZIP Unix (old)",
            EXTENDED_TIMESTAMP_ID => "extended timestamp",
            0x6375 => "Info-ZIP Unicode comment",
            UNICODE_PATH_ID => "Info-ZIP Unicode path",
            0x7855 => "Info-ZIP Unix (new)",
            0x7875 => "Info-ZIP Unix UID/GID",
            0x9901 => "AES encryption",
            0xa11e => "data stream alignment",
            0xcafe => "JAR marker",
            0xd935 => "Android alignment",
            _ => "unknown",
        }
    }

    /// A short reading of the field's content for known kinds.
    pub fn summary(&self) -> String {
        let mut cursor = Cursor::new(&self.data);
        match self.id {
            EXTENDED_TIMESTAMP_ID => {
                let Some(flags) = cursor.u8() else {
                    return "empty".to_string();
                };
                let mut parts = Vec::new();
                for (bit, label) in [(1u8, "mtime"), (2, "atime"), (4, "ctime")] {
                    if flags & bit != 0 {
                        match cursor.u32() {
                            Some(value) => parts.push(format!("{label} {}", value as i32)),
                            None => break,
                        }
                    }
                }
                parts.join(", ")
            }
            0x7875 => {
                let version = cursor.u8();
                let uid = cursor.u8().and_then(|size| read_id(&mut cursor, size));
                let gid = cursor.u8().and_then(|size| read_id(&mut cursor, size));
                match (version, uid, gid) {
                    (Some(version), Some(uid), Some(gid)) => {
                        format!("version {version}, uid {uid}, gid {gid}")
                    }
                    _ => format!("malformed: {}", hex(&self.data)),
                }
            }
            UNICODE_PATH_ID => {
                let version = cursor.u8();
                let crc = cursor.u32();
                let name = cursor.take(cursor.remaining()).unwrap_or(&[]);
                match (version, crc) {
                    (Some(version), Some(crc)) => format!(
                        "version {version}, name CRC {crc:#010x}, name `{}`",
                        String::from_utf8_lossy(name)
                    ),
                    _ => format!("malformed: {}", hex(&self.data)),
                }
            }
            _ => {
                let shown = &self.data[..self.data.len().min(32)];
                let more = if self.data.len() > 32 { "…" } else { "" };
                format!("{}{more}", hex(shown))
            }
        }
    }
}

fn read_id(cursor: &mut Cursor<'_>, size: u8) -> Option<u64> {
    let bytes = cursor.take(usize::from(size))?;
    if bytes.len() > 8 {
        return None;
    }
    Some(
        bytes
            .iter()
            .rev()
            .fold(0u64, |value, byte| (value << 8) | u64::from(*byte)),
    )
}

/// The fields of one extra block.
#[derive(Debug, Clone, Default)]
pub struct ExtraFields {
    /// The fields that could be decoded, in order.
    pub fields: Vec<ExtraField>,
    /// Why decoding stopped early, if it did.
    pub malformed: Option<String>,
}

impl ExtraFields {
    /// Splits an extra block into its fields. A field whose length runs past
    /// the block ends the parse and is reported in `malformed`.
    pub fn parse(block: &[u8]) -> ExtraFields {
        let mut result = ExtraFields::default();
        result.malformed = walk(block, |id, data| {
            result.fields.push(ExtraField {
                id,
                data: data.to_vec(),
            });
            true
        });
        result
    }

    /// Why `block` cannot be split into fields, if it cannot; allocates
    /// nothing when it can.
    pub fn malformation(block: &[u8]) -> Option<String> {
        walk(block, |_, _| true)
    }

    /// The data of the first field with `id` in `block`, as [`parse`] and
    /// [`find`] would find it, without copying anything.
    ///
    /// [`parse`]: ExtraFields::parse
    /// [`find`]: ExtraFields::find
    pub fn find_in(block: &[u8], id: u16) -> Option<&[u8]> {
        let mut found = None;
        walk(block, |field_id, data| {
            if field_id == id {
                found = Some(data);
            }
            found.is_none()
        });
        found
    }

    /// The first field with `id`.
    pub fn find(&self, id: u16) -> Option<&ExtraField> {
        self.fields.iter().find(|field| field.id == id)
    }
}

/// Calls `visit` with each field of `block` until it answers false; answers
/// why the block ends early, if it does.
fn walk<'a>(block: &'a [u8], mut visit: impl FnMut(u16, &'a [u8]) -> bool) -> Option<String> {
    let mut cursor = Cursor::new(block);
    while cursor.remaining() > 0 {
        let (Some(id), Some(length)) = (cursor.u16(), cursor.u16()) else {
            return Some(format!(
                "{} stray bytes after the last field",
                block.len() % 4
            ));
        };
        match cursor.take(usize::from(length)) {
            Some(data) => {
                if !visit(id, data) {
                    return None;
                }
            }
            None => {
                return Some(format!(
                    "field {id:#06x} declares {length} bytes, only {} remain",
                    cursor.remaining()
                ));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A field whose length overruns the block is reported, not read.
    #[test]
    fn overrunning_field_is_malformed() {
        let block = [0x55, 0x54, 0x09, 0x00, 0x01];
        let fields = ExtraFields::parse(&block);
        assert!(fields.fields.is_empty());
        assert!(fields.malformed.is_some());
    }

    #[test]
    fn extended_timestamp_reads_mtime() {
        let mut data = vec![1u8];
        data.extend_from_slice(&1_000_000i32.to_le_bytes());
        let field = ExtraField {
            id: EXTENDED_TIMESTAMP_ID,
            data,
        };
        assert_eq!(field.summary(), "mtime 1000000");
    }
}
