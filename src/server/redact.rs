//! Error texts without the server's own paths.
//!
//! The engines behind the API (create, restore, FTP) name the files they
//! fail on, which a person at the command line needs; a client of the API
//! is not told where the server keeps its data. Every error answer passes
//! through [`Redactor::redact`], which writes each of the server's folders
//! as a placeholder: `<config>`, `<statistics>`, `<backups>` and `<data>`,
//! and the folder a tree's staging and snapshots sit in as `<config>/..`
//! (or `<statistics>/..`). What follows a folder, a file's path inside it,
//! stays.

use std::path::{Path, PathBuf};

use super::ServerSettings;

/// Rewrites the server's folders in a text.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// A folder as it may appear, and its placeholder; longest first, so
    /// that a folder inside another is matched before its parent.
    replacements: Vec<(String, String)>,
}

impl Redactor {
    /// A redactor for the folders of `settings`, as configured and as the
    /// file system resolves them (through symbolic links).
    pub fn new(settings: &ServerSettings) -> Redactor {
        let config = settings.config_dir();
        let statistics = settings.statistics_dir();
        let mut folders: Vec<(PathBuf, String)> = vec![
            (config.clone(), "<config>".to_string()),
            (statistics.clone(), "<statistics>".to_string()),
            (settings.backups_dir(), "<backups>".to_string()),
            (settings.data_dir.clone(), "<data>".to_string()),
        ];
        if let Some(parent) = config.parent() {
            folders.push((parent.to_path_buf(), "<config>/..".to_string()));
        }
        if let Some(parent) = statistics.parent() {
            folders.push((parent.to_path_buf(), "<statistics>/..".to_string()));
        }

        let mut replacements = Vec::new();
        for (folder, placeholder) in folders {
            for form in forms(&folder) {
                // The root, or an empty path, is no folder of the server's:
                // rewriting it would mangle every path in the text.
                if form.trim_end_matches('/').is_empty() {
                    continue;
                }
                if !replacements.iter().any(|(known, _)| *known == form) {
                    replacements.push((form, placeholder.clone()));
                }
            }
        }
        replacements.sort_by_key(|(folder, _)| std::cmp::Reverse(folder.len()));
        Redactor { replacements }
    }

    /// `text` with every one of the server's folders as its placeholder.
    /// A folder counts only as a whole path: `/data/config` is rewritten in
    /// `/data/config/a` but not in `/data/config.old`.
    pub fn redact(&self, text: &str) -> String {
        let mut redacted = text.to_string();
        for (folder, placeholder) in &self.replacements {
            redacted = replace_whole(&redacted, folder, placeholder);
        }
        redacted
    }
}

/// `text` with each occurrence of `folder` that is not followed by more of
/// a file name replaced by `placeholder`.
fn replace_whole(text: &str, folder: &str, placeholder: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(folder) {
        let after = &rest[at + folder.len()..];
        let continues_name = after
            .chars()
            .next()
            .is_some_and(|next| next.is_alphanumeric() || "._-~+@".contains(next));
        out.push_str(&rest[..at]);
        out.push_str(if continues_name { folder } else { placeholder });
        rest = after;
    }
    out.push_str(rest);
    out
}

/// The spellings of `folder` a message may hold: as given, made absolute,
/// and resolved through symbolic links.
fn forms(folder: &Path) -> Vec<String> {
    let mut forms = vec![folder.to_string_lossy().into_owned()];
    if let Ok(absolute) = std::path::absolute(folder) {
        forms.push(absolute.to_string_lossy().into_owned());
    }
    if let Ok(resolved) = folder.canonicalize() {
        forms.push(resolved.to_string_lossy().into_owned());
    }
    forms
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(data: &str) -> ServerSettings {
        ServerSettings {
            data_dir: PathBuf::from(data),
            ..ServerSettings::default()
        }
    }

    /// Each folder becomes its placeholder, the innermost one winning, and
    /// the path inside it stays.
    #[test]
    fn folders_become_placeholders() {
        let redactor = Redactor::new(&settings("/srv/puq/data"));
        assert_eq!(
            redactor.redact("cannot write `/srv/puq/data/config/wireguard/wg0.conf`: full"),
            "cannot write `<config>/wireguard/wg0.conf`: full"
        );
        assert_eq!(
            redactor.redact("`/srv/puq/data/.config.staging`, `/srv/puq/data/backups/x.zip`"),
            "`<data>/.config.staging`, `<backups>/x.zip`"
        );
        assert_eq!(redactor.redact("no path here"), "no path here");
        assert_eq!(
            redactor.redact("`/srv/puq/data/config.old` `/srv/puq/data/config`"),
            "`<data>/config.old` `<config>`"
        );
    }

    /// Trees outside the data folder get their own placeholders, and their
    /// staging folders the parent's; the root folder is never rewritten.
    #[test]
    fn trees_elsewhere_and_the_root() {
        let mut outside = settings("/var/lib/puq");
        outside.config_dir = Some(PathBuf::from("/etc/wg/live"));
        outside.statistics_dir = Some(PathBuf::from("/stats"));
        let redactor = Redactor::new(&outside);
        assert_eq!(
            redactor.redact("`/etc/wg/.live.staging` and `/etc/wg/live/a` and `/stats/b`"),
            "`<config>/../.live.staging` and `<config>/a` and `<statistics>/b`"
        );
        assert_eq!(redactor.redact("`/etc/passwd`"), "`/etc/passwd`");
    }
}
