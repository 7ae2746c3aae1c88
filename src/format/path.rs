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
}
