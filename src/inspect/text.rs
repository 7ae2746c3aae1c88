//! Turning raw header fields into text a person can read: byte strings that
//! may be anything, unix modes, host systems and version numbers.
//!
//! Everything here takes hostile bytes; nothing here can fail.

use serde::Serialize;

use crate::zipfile::hex;

/// A byte string from the archive (a comment), as text and, when the text
/// alone would hide something, as hex too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RawText {
    /// The bytes as text; invalid UTF-8 is replaced.
    pub text: String,
    /// The bytes in hex, when they are not UTF-8 or hold control characters.
    pub hex: Option<String>,
    /// Length in bytes.
    pub length: usize,
}

impl RawText {
    /// Describes `bytes`; an empty string answers `None`.
    pub fn of(bytes: &[u8]) -> Option<RawText> {
        if bytes.is_empty() {
            return None;
        }
        let printable = std::str::from_utf8(bytes).is_ok_and(is_printable);
        Some(RawText {
            text: String::from_utf8_lossy(bytes).into_owned(),
            hex: (!printable).then(|| hex(bytes)),
            length: bytes.len(),
        })
    }
}

/// Whether `text` holds nothing but printable characters and line breaks.
fn is_printable(text: &str) -> bool {
    text.chars()
        .all(|character| matches!(character, '\t' | '\n' | '\r') || !hides(character))
}

/// Characters that must not reach a terminal as they are: controls (which
/// include the escape that starts terminal commands) and the bidirectional
/// overrides that make text read differently from its bytes.
fn hides(character: char) -> bool {
    character.is_control()
        || matches!(character, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every character that `hides` written as an escape, so that a
/// name or comment printed for a person shows what it holds.
pub fn escape_for_terminal(text: &str) -> String {
    let mut shown = String::with_capacity(text.len());
    for character in text.chars() {
        if hides(character) {
            shown.extend(character.escape_default());
        } else {
            shown.push(character);
        }
    }
    shown
}

/// A unix mode as `ls -l` shows it, e.g. `-rw-r--r--`; `?` stands for a
/// missing or unknown file type.
pub fn mode_text(mode: u32) -> String {
    let kind = match mode & 0o170_000 {
        0o140_000 => 's',
        0o120_000 => 'l',
        0o100_000 => '-',
        0o060_000 => 'b',
        0o040_000 => 'd',
        0o020_000 => 'c',
        0o010_000 => 'p',
        _ => '?',
    };
    let bit = |mask: u32, letter: char| if mode & mask != 0 { letter } else { '-' };

    // The execute column also carries setuid, setgid and sticky: lowercase
    // when execute is set too, uppercase when not.
    let special =
        |execute: u32, flag: u32, letter: char| match (mode & execute != 0, mode & flag != 0) {
            (true, true) => letter,
            (false, true) => letter.to_ascii_uppercase(),
            (true, false) => 'x',
            (false, false) => '-',
        };
    [
        kind,
        bit(0o400, 'r'),
        bit(0o200, 'w'),
        special(0o100, 0o4000, 's'),
        bit(0o040, 'r'),
        bit(0o020, 'w'),
        special(0o010, 0o2000, 's'),
        bit(0o004, 'r'),
        bit(0o002, 'w'),
        special(0o001, 0o1000, 't'),
    ]
    .into_iter()
    .collect()
}

/// The name of the host system in the high byte of "version made by".
pub fn host_system_name(host: u8) -> &'static str {
    match host {
        0 => "MS-DOS",
        1 => "Amiga",
        2 => "OpenVMS",
        3 => "Unix",
        4 => "VM/CMS",
        5 => "Atari ST",
        6 => "OS/2 HPFS",
        7 => "Macintosh",
        8 => "Z-System",
        9 => "CP/M",
        10 => "Windows NTFS",
        11 => "MVS",
        12 => "VSE",
        13 => "Acorn RISC",
        14 => "VFAT",
        15 => "alternate MVS",
        16 => "BeOS",
        17 => "Tandem",
        18 => "OS/400",
        19 => "OS X",
        _ => "unknown",
    }
}

/// A version byte of the specification as `major.minor`: 20 is `2.0`.
pub fn spec_version(version: u8) -> String {
    format!("{}.{}", version / 10, version % 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Comments that are plain text carry no hex; anything else does.
    #[test]
    fn hex_only_when_text_hides_something() {
        let plain = RawText::of(b"This is a zipfile comment.\n");
        assert_eq!(plain.and_then(|text| text.hex), None);

        let png = RawText::of(b"\x89PNG\r\n\x1a\n");
        assert_eq!(
            png.and_then(|text| text.hex).as_deref(),
            Some("89504e470d0a1a0a")
        );

        let escape = RawText::of(b"\x1b[2Jcleared");
        assert!(escape.is_some_and(|text| text.hex.is_some()));

        assert_eq!(RawText::of(b""), None);
    }

    /// Terminal escapes and bidirectional overrides are shown, not obeyed.
    #[test]
    fn terminal_sees_escapes_not_commands() {
        assert_eq!(escape_for_terminal("a\u{1b}[31mb"), "a\\u{1b}[31mb");
        assert_eq!(escape_for_terminal("x\u{202e}gpj.exe"), "x\\u{202e}gpj.exe");
        assert_eq!(escape_for_terminal("new\nline"), "new\\nline");
        assert_eq!(escape_for_terminal("config/wg0.conf"), "config/wg0.conf");
    }

    /// Modes read as `ls -l` prints them, special bits included.
    #[test]
    fn modes_read_like_ls() {
        assert_eq!(mode_text(0o100_644), "-rw-r--r--");
        assert_eq!(mode_text(0o040_755), "drwxr-xr-x");
        assert_eq!(mode_text(0o120_777), "lrwxrwxrwx");
        assert_eq!(mode_text(0o104_755), "-rwsr-xr-x");
        assert_eq!(mode_text(0o102_644), "-rw-r-Sr--");
        assert_eq!(mode_text(0o041_777), "drwxrwxrwt");
        assert_eq!(mode_text(0o000_600), "?rw-------");
    }

    #[test]
    fn versions_and_hosts_have_names() {
        assert_eq!(spec_version(20), "2.0");
        assert_eq!(spec_version(63), "6.3");
        assert_eq!(host_system_name(3), "Unix");
        assert_eq!(host_system_name(200), "unknown");
    }
}
