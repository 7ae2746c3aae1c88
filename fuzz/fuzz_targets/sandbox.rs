//! A folder to restore into, and the checks that a restore stayed inside
//! it: shared by the restore targets.
//!
//! One more check joins them: an archive that `verify` calls valid must
//! restore, since a backup that checks out but cannot be restored is lost.
//!
//! The sandbox holds the archive, a `site` folder with the two live trees
//! (each with one known file), and an `outside` folder with a known file
//! that no restore may touch. Archives that aim outside the site aim at
//! `outside` (by `..` or by its absolute path), so that a write there is
//! seen.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use puqbackup::restore::{RestoreError, RestoreOptions, RestoreOutcome, restore_archive};
use puqbackup::verify::{VerifyOptions, verify_source};
use tempfile::TempDir;

/// The known content of the files a sandbox starts with.
const KNOWN: &[u8] = b"present before the restore\n";

/// A sandbox, removed when dropped.
pub struct Sandbox {
    folder: TempDir,
}

impl Sandbox {
    /// A new sandbox, in memory when `/dev/shm` exists.
    pub fn new() -> Sandbox {
        let folder = TempDir::new_in("/dev/shm")
            .or_else(|_| TempDir::new())
            .expect("a temporary folder");
        let sandbox = Sandbox { folder };
        for tree in ["site/config", "site/statistics", "outside"] {
            let path = sandbox.root().join(tree);
            std::fs::create_dir_all(&path).expect("a tree folder");
            std::fs::write(path.join("known.txt"), KNOWN).expect("a known file");
        }
        sandbox
    }

    /// The sandbox itself.
    pub fn root(&self) -> &Path {
        self.folder.path()
    }

    /// The folder a hostile name aims at.
    pub fn outside(&self) -> PathBuf {
        self.root().join("outside")
    }

    /// Writes `archive` into the sandbox and restores it into the site;
    /// then checks that nothing left the site, and that a refused restore
    /// left the live trees as they were.
    pub fn restore(&self, archive: &[u8]) -> Result<RestoreOutcome, RestoreError> {
        let path = self.root().join("archive.zip");
        std::fs::write(&path, archive).expect("the archive written");
        let site = self.root().join("site");
        let mut options = RestoreOptions::new(site.join("config"));
        options.statistics_dir = Some(site.join("statistics"));
        options.max_size = 4 << 20;

        let result = restore_archive(&path, &options);

        let verified = verify_source(
            archive,
            "archive.zip",
            &VerifyOptions {
                max_size: options.max_size,
                read_data: true,
            },
            &mut |_, _| {},
        );
        if verified.valid
            && let Err(error) = &result
        {
            panic!("verify calls the archive valid, but its restore failed: {error}");
        }

        assert_eq!(
            std::fs::read(&path).expect("the archive is still there"),
            archive,
            "the restore changed its archive"
        );
        assert_eq!(
            names(self.root()),
            ["archive.zip", "outside", "site"],
            "something was written beside the site"
        );
        assert_eq!(
            contents(&self.outside()),
            BTreeMap::from([("known.txt".to_string(), KNOWN.to_vec())]),
            "something was written outside the site"
        );
        for entry in walkdir::WalkDir::new(&site).follow_links(false) {
            let entry = entry.expect("the site can be walked");
            let kind = entry.file_type();
            assert!(
                kind.is_dir() || kind.is_file(),
                "the restore made `{}`, neither file nor folder",
                entry.path().display()
            );
            let mode = entry.metadata().expect("metadata").permissions().mode();
            assert_eq!(
                mode & 0o7000,
                0,
                "the restore made `{}` with mode {mode:o}",
                entry.path().display()
            );
        }

        if tally() {
            match &result {
                Ok(outcome) => eprintln!("tally: restored {} files", outcome.files),
                Err(error) => eprintln!("tally: refused: {}", first_words(&error.to_string())),
            }
        }
        match &result {
            Err(_) => {
                // Nothing changed: the trees as they were, no staging,
                // journal or snapshot left beside them.
                assert_eq!(names(&site), ["config", "statistics"], "leftovers beside the trees");
                for tree in ["config", "statistics"] {
                    assert_eq!(
                        contents(&site.join(tree)),
                        BTreeMap::from([("known.txt".to_string(), KNOWN.to_vec())]),
                        "a refused restore changed `{tree}`"
                    );
                }
            }
            Ok(_) => {
                for name in names(&site) {
                    assert!(
                        name == "config"
                            || name == "statistics"
                            || name.starts_with(".config.puqbackup-snapshot-")
                            || name.starts_with(".statistics.puqbackup-snapshot-"),
                        "`{name}` left beside the trees"
                    );
                }
            }
        }
        result
    }
}

/// Whether to say on standard error how each restore ended
/// (`PUQ_FUZZ_TALLY` set), to see how deep a corpus reaches when it is run
/// with `-runs=0`.
fn tally() -> bool {
    static TALLY: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *TALLY.get_or_init(|| std::env::var_os("PUQ_FUZZ_TALLY").is_some())
}

/// The documented text an error starts with: its words up to the first
/// colon.
fn first_words(text: &str) -> &str {
    text.split(':').next().unwrap_or(text)
}

/// The names in `folder`, sorted.
fn names(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .expect("a readable folder")
        .map(|entry| {
            entry
                .expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

/// Every file below `folder` by relative path, with its bytes.
fn contents(folder: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(folder)
        .min_depth(1)
        .follow_links(false)
        .into_iter()
        .map(|entry| entry.expect("an entry"))
        .map(|entry| {
            let relative = entry
                .path()
                .strip_prefix(folder)
                .expect("below the folder")
                .to_string_lossy()
                .into_owned();
            let bytes = if entry.file_type().is_file() {
                std::fs::read(entry.path()).expect("a readable file")
            } else {
                Vec::new()
            };
            (relative, bytes)
        })
        .collect()
}
