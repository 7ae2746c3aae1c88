//! Which entry names are safe to extract.
//!
//! Archive paths are hostile: a name may climb out of the target with `..`,
//! start at the root, name a drive, or use backslashes that a Windows reader
//! takes for separators. This module judges a raw name without changing it.

/// Something wrong with an entry name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathHazard {
    /// The name is not valid UTF-8.
    NotUtf8,
    /// The name is empty, holds a NUL byte, or has empty or `.` components.
    Invalid,
    /// The name starts at the root (`/` or `\`).
    Absolute,
    /// The name starts with a drive letter (`C:`).
    DriveLetter,
    /// A component is `..`, with `/` or with `\` as separator.
    Traversal,
    /// The name holds a backslash; harmless where `/` is the only separator.
    Backslash,
}

/// Every hazard of `name`, most serious first.
pub fn path_hazards(name: &[u8]) -> Vec<PathHazard> {
    if is_plain(name) {
        return Vec::new();
    }
    every_hazard(name)
}

fn every_hazard(name: &[u8]) -> Vec<PathHazard> {
    let mut hazards = Vec::new();
    let Ok(text) = std::str::from_utf8(name) else {
        hazards.push(PathHazard::NotUtf8);
        // The bytes can still climb out: judge their ASCII skeleton too.
        let skeleton = String::from_utf8_lossy(name).into_owned();
        hazards.extend(
            path_hazards(skeleton.as_bytes())
                .into_iter()
                .filter(|hazard| *hazard != PathHazard::NotUtf8),
        );
        return hazards;
    };

    if text.starts_with('/') || text.starts_with('\\') {
        hazards.push(PathHazard::Absolute);
    }
    let bytes = text.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        hazards.push(PathHazard::DriveLetter);
    }
    if text.split(['/', '\\']).any(|component| component == "..") {
        hazards.push(PathHazard::Traversal);
    }
    let body = text.strip_suffix('/').unwrap_or(text);
    let body = body.trim_start_matches('/');
    if text.is_empty()
        || text.contains('\0')
        || body
            .split('/')
            .any(|component| component.is_empty() || component == ".")
    {
        hazards.push(PathHazard::Invalid);
    }
    if text.contains('\\') {
        hazards.push(PathHazard::Backslash);
    }
    hazards
}

/// Whether `name` has no hazard, judged in one pass over its bytes: most
/// names are plain, and archives hold tens of thousands of them. A plain
/// name is UTF-8 without NUL or backslash, does not start with `/` or a
/// drive letter, and its components are neither empty nor `.` nor `..`,
/// save the empty one after a final `/`.
fn is_plain(name: &[u8]) -> bool {
    if name.len() >= 2 && name[0].is_ascii_alphabetic() && name[1] == b':' {
        return false;
    }
    let body = name.strip_suffix(b"/").unwrap_or(name);
    let mut component_start = 0;
    for (position, &byte) in body.iter().enumerate() {
        match byte {
            0 | b'\\' => return false,
            b'/' => {
                if !is_plain_component(&body[component_start..position]) {
                    return false;
                }
                component_start = position + 1;
            }
            _ => {}
        }
    }
    is_plain_component(&body[component_start..]) && std::str::from_utf8(name).is_ok()
}

fn is_plain_component(component: &[u8]) -> bool {
    !matches!(component, b"" | b"." | b"..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_are_safe() {
        for name in [
            "config/",
            "config/wg0.conf",
            "statistics/a b/ü.db",
            "metadata.json",
        ] {
            assert!(path_hazards(name.as_bytes()).is_empty(), "{name}");
        }
    }

    #[test]
    fn hostile_names_are_caught() {
        let cases: [(&[u8], PathHazard); 8] = [
            (b"../etc/passwd", PathHazard::Traversal),
            (b"config/../../x", PathHazard::Traversal),
            (b"config\\..\\..\\x", PathHazard::Traversal),
            (b"/etc/passwd", PathHazard::Absolute),
            (b"C:/Windows", PathHazard::DriveLetter),
            (b"config//x", PathHazard::Invalid),
            (b"config/\xff", PathHazard::NotUtf8),
            (b"config/a\\b", PathHazard::Backslash),
        ];
        for (name, hazard) in cases {
            assert!(
                path_hazards(name).contains(&hazard),
                "{} lacks {hazard:?}",
                String::from_utf8_lossy(name)
            );
        }
    }

    proptest::proptest! {
        /// The one-pass judgement of plain names agrees with the full one,
        /// on names built from the bytes that matter.
        #[test]
        fn plain_is_hazard_free(
            name in proptest::collection::vec(
                proptest::sample::select(vec![b'a', b'C', b'/', b'\\', b'.', b':', 0, 0xc3, 0xa9, 0xff]),
                0..12,
            )
        ) {
            proptest::prop_assert_eq!(is_plain(&name), every_hazard(&name).is_empty());
        }
    }
}
