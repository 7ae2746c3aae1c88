//! The file with the file list: one line per file entry, in the form GNU
//! `sha256sum` writes and `sha256sum -c` checks.
//!
//! A line is `<64 lowercase hex digits><two spaces><path>\n`. A path that
//! holds a backslash, a newline or a carriage return is written escaped, as
//! `\\`, `\n` and `\r`, and its line then starts with one `\`. Reading also
//! accepts uppercase hex and the binary marker (`<hash> *<path>`), both of
//! which `sha256sum -c` accepts.

use super::super::zipfile::hex;

/// One line of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedFile {
    /// The entry's path inside the archive.
    pub path: String,
    /// SHA-256 of its content.
    pub sha256: [u8; 32],
}

/// A parsed file list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileList {
    /// The lines, in order.
    pub files: Vec<ListedFile>,
}

/// Why a line of the list cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line} of the file list is malformed: {reason}")]
pub struct FileListError {
    /// The line number, from 1.
    pub line: usize,
    /// What is wrong with it.
    pub reason: String,
}

impl FileList {
    /// The encoded list, ready to be stored.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_length());
        for file in &self.files {
            encode_line(&file.path, &file.sha256, &mut out);
        }
        out
    }

    /// The length of [`FileList::encode`]'s output, known before any hash is:
    /// every line has the same length whatever its hash.
    pub fn encoded_length(&self) -> usize {
        self.files.iter().map(|file| line_length(&file.path)).sum()
    }

    /// Parses a list. Every malformed line is reported, not only the first;
    /// the lines that could be read are returned beside them.
    pub fn parse(bytes: &[u8]) -> (FileList, Vec<FileListError>) {
        let mut list = FileList::default();
        let mut errors = Vec::new();
        let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
        if body.is_empty() {
            return (list, errors);
        }
        // A line that parses is at least 67 bytes long with its newline.
        list.files.reserve(body.len() / 67 + 1);
        for (index, line) in body.split(|byte| *byte == b'\n').enumerate() {
            match parse_line(line) {
                Ok(file) => list.files.push(file),
                Err(reason) => errors.push(FileListError {
                    line: index + 1,
                    reason,
                }),
            }
        }
        (list, errors)
    }

    /// Whether the list names no file.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// The length of one encoded line for `path`.
pub fn line_length(path: &str) -> usize {
    let escaped_extra = path
        .bytes()
        .filter(|byte| matches!(byte, b'\\' | b'\n' | b'\r'))
        .count();
    let marker = usize::from(escaped_extra > 0);
    marker + 64 + 2 + path.len() + escaped_extra + 1
}

/// Appends the line for `path` with `sha256` to `out`.
pub fn encode_line(path: &str, sha256: &[u8; 32], out: &mut Vec<u8>) {
    let needs_escape = path
        .bytes()
        .any(|byte| matches!(byte, b'\\' | b'\n' | b'\r'));
    if needs_escape {
        out.push(b'\\');
    }
    out.extend_from_slice(hex(sha256).as_bytes());
    out.extend_from_slice(b"  ");
    for byte in path.bytes() {
        match byte {
            b'\\' if needs_escape => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            other => out.push(other),
        }
    }
    out.push(b'\n');
}

fn parse_line(line: &[u8]) -> Result<ListedFile, String> {
    let (escaped, line) = match line.strip_prefix(b"\\") {
        Some(rest) => (true, rest),
        None => (false, line),
    };
    if line.len() < 66 {
        return Err("too short for a hash, two separators and a path".to_string());
    }
    let (digits, rest) = line.split_at(64);
    let sha256 = parse_hash(digits).ok_or("the first 64 characters are not a SHA-256 in hex")?;
    let path_bytes = match rest {
        [b' ', b' ' | b'*', path @ ..] => path,
        _ => return Err("the hash is not followed by two spaces or ` *`".to_string()),
    };
    if path_bytes.is_empty() {
        return Err("the path is empty".to_string());
    }
    let path_bytes = if escaped {
        unescape(path_bytes)?
    } else {
        path_bytes.to_vec()
    };
    let path = String::from_utf8(path_bytes).map_err(|_| "the path is not valid UTF-8")?;
    Ok(ListedFile { path, sha256 })
}

/// The value of each byte as a hex digit, or [`NOT_HEX`]. Decoding through
/// a table has no branch per digit: with branches, the mix of digits and
/// letters in a hash was mispredicted so often that parsing a list of
/// 50,000 lines took 23 ms.
const HEX_VALUES: [u8; 256] = {
    let mut values = [NOT_HEX; 256];
    let mut byte = 0;
    while byte < 256 {
        values[byte] = match byte as u8 {
            digit @ b'0'..=b'9' => digit - b'0',
            letter @ b'a'..=b'f' => letter - b'a' + 10,
            letter @ b'A'..=b'F' => letter - b'A' + 10,
            _ => NOT_HEX,
        };
        byte += 1;
    }
    values
};

/// What [`HEX_VALUES`] holds for a byte that is not a hex digit: the only
/// value with its high bits set.
const NOT_HEX: u8 = 0xff;

fn parse_hash(digits: &[u8]) -> Option<[u8; 32]> {
    let mut hash = [0u8; 32];
    let mut seen = 0u8;
    for (slot, pair) in hash.iter_mut().zip(digits.chunks_exact(2)) {
        let high = HEX_VALUES[usize::from(pair[0])];
        let low = HEX_VALUES[usize::from(pair[1])];
        seen |= high | low;
        *slot = high << 4 | low;
    }
    (seen & 0xf0 == 0).then_some(hash)
}

fn unescape(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut iterator = bytes.iter();
    while let Some(byte) = iterator.next() {
        if *byte != b'\\' {
            out.push(*byte);
            continue;
        }
        match iterator.next() {
            Some(b'\\') => out.push(b'\\'),
            Some(b'n') => out.push(b'\n'),
            Some(b'r') => out.push(b'\r'),
            Some(other) => {
                return Err(format!("unknown escape `\\{}`", char::from(*other)));
            }
            None => return Err("the path ends with a lone `\\`".to_string()),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn file(path: &str, fill: u8) -> ListedFile {
        ListedFile {
            path: path.to_string(),
            sha256: [fill; 32],
        }
    }

    /// The escaped form is the one GNU `sha256sum` writes.
    #[test]
    fn escapes_like_gnu_sha256sum() {
        let list = FileList {
            files: vec![
                file("config/back\\slash", 0xab),
                file("config/new\nline", 0),
            ],
        };
        let text = String::from_utf8(list.encode()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            format!("\\{}  config/back\\\\slash", "ab".repeat(32))
        );
        assert_eq!(
            lines[1],
            format!("\\{}  config/new\\nline", "00".repeat(32))
        );
    }

    #[test]
    fn reports_every_bad_line() {
        let good = format!("{}  config/a\n", "00".repeat(32));
        let text = format!("{good}nonsense\n{good}{} config/b\n", "11".repeat(32));
        let (list, errors) = FileList::parse(text.as_bytes());
        assert_eq!(list.files.len(), 2);
        assert_eq!(
            errors.iter().map(|error| error.line).collect::<Vec<_>>(),
            vec![2, 4]
        );
    }

    #[test]
    fn empty_text_is_an_empty_list() {
        let (list, errors) = FileList::parse(b"");
        assert!(list.is_empty() && errors.is_empty());
        let (list, errors) = FileList::parse(b"\n");
        assert!(list.is_empty() && errors.is_empty());
    }

    #[test]
    fn accepts_uppercase_and_binary_marker() {
        let text = format!("{} *config/a\n", "AB".repeat(32));
        let (list, errors) = FileList::parse(text.as_bytes());
        assert!(errors.is_empty());
        assert_eq!(list.files, vec![file("config/a", 0xab)]);
    }

    proptest! {
        /// Any path survives encode then parse, and the predicted length is
        /// the real one.
        #[test]
        fn round_trips(paths in proptest::collection::vec("[^\u{0}]{1,40}", 0..20), fill: u8) {
            let list = FileList {
                files: paths.iter().map(|path| file(path, fill)).collect(),
            };
            let encoded = list.encode();
            prop_assert_eq!(encoded.len(), list.encoded_length());
            let (parsed, errors) = FileList::parse(&encoded);
            prop_assert!(errors.is_empty(), "{:?}", errors);
            prop_assert_eq!(parsed, list);
        }

        /// The hash decoder agrees with the standard library's, digit
        /// for digit, on hashes with and without a stray character.
        #[test]
        fn decodes_hashes_like_from_str_radix(
            digits in "[0-9a-fA-F]{64}",
            stray: u8,
            at in 0usize..64,
        ) {
            let mut digits = digits.into_bytes();
            if !stray.is_ascii_hexdigit() {
                digits[at] = stray;
            }
            let expected: Option<Vec<u8>> = digits
                .chunks_exact(2)
                .map(|pair| {
                    let text = std::str::from_utf8(pair).ok()?;
                    u8::from_str_radix(text, 16).ok().filter(|_| !text.starts_with('+'))
                })
                .collect();
            prop_assert_eq!(parse_hash(&digits).map(|hash| hash.to_vec()), expected);
        }

        /// Arbitrary bytes never panic the parser.
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = FileList::parse(&bytes);
        }
    }
}
