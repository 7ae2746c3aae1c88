//! Properties of create and verify over random trees and random damage,
//! through the library for speed.

// A test fails by panicking; `expect` says what was expected.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::sample::Index;
use puqbackup::verify::{Report, Severity, VerifyOptions, verify_source};
use puqbackup::zipfile::Layout;
use support::{Tree, create_in, members, tree_files};
use tempfile::TempDir;

/// A tree as the tests see it: files by path (components joined with `/`)
/// and every folder, empty or not.
#[derive(Debug, Clone, Default)]
struct TreeModel {
    files: BTreeMap<String, Vec<u8>>,
    folders: BTreeSet<String>,
}

impl TreeModel {
    /// Builds the model from candidate items, dropping those that clash with
    /// an earlier one (a file where a folder is, or the reverse).
    fn from_items(items: Vec<(Vec<String>, Option<Vec<u8>>)>) -> TreeModel {
        let mut model = TreeModel::default();
        for (components, content) in items {
            let prefixes: Vec<String> = (1..components.len())
                .map(|count| components[..count].join("/"))
                .collect();
            let path = components.join("/");
            let clashes = prefixes
                .iter()
                .any(|prefix| model.files.contains_key(prefix))
                || model.files.contains_key(&path)
                || (content.is_some() && model.folders.contains(&path));
            if clashes {
                continue;
            }
            model.folders.extend(prefixes);
            match content {
                Some(data) => {
                    model.files.insert(path, data);
                }
                None => {
                    model.folders.insert(path);
                }
            }
        }
        model
    }

    /// Writes the tree to disk.
    fn materialize(&self) -> Tree {
        let tree = Tree::new();
        for folder in &self.folders {
            tree.folder(folder);
        }
        for (path, data) in &self.files {
            tree.file(path, data);
        }
        tree
    }

    /// The files as the archive names them.
    fn archived_files(&self) -> BTreeMap<String, Vec<u8>> {
        self.files
            .iter()
            .map(|(path, data)| (format!("config/{path}"), data.clone()))
            .collect()
    }

    /// The folder entries the archive must hold.
    fn archived_folders(&self) -> BTreeSet<String> {
        std::iter::once("config/".to_string())
            .chain(
                self.folders
                    .iter()
                    .map(|folder| format!("config/{folder}/")),
            )
            .collect()
    }
}

/// One name component: letters, digits, spaces, non-ASCII letters, and now
/// and then a backslash or a newline; never `.` or `..`, and no `..` between
/// backslashes either (create stores such names but verify takes them for a
/// climb out of the target; `tests/create.rs` pins that disagreement).
fn component() -> impl Strategy<Value = String> {
    "[a-z0-9 ._é中кß\\\\\n-]{1,12}".prop_filter("not a relative folder", |name| {
        name != "." && !name.split('\\').any(|part| part == "..")
    })
}

/// File content: mostly short, sometimes up to 1 MiB, and often empty when
/// `allow_empty`.
fn content(allow_empty: bool) -> impl Strategy<Value = Vec<u8>> {
    let empty_weight = if allow_empty { 4 } else { 0 };
    prop_oneof![
        empty_weight => Just(Vec::new()),
        12 => prop::collection::vec(any::<u8>(), 1..600),
        1 => (1usize..=(1 << 20), any::<u64>()).prop_map(|(length, seed)| large_content(length, seed)),
    ]
}

/// `length` bytes, half text that compresses, half noise that does not.
fn large_content(length: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..length)
        .map(|index| {
            if (index / 4096) % 2 == 0 {
                b"allowed-ips 10.0.0.0/24\n"[index % 24]
            } else {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            }
        })
        .collect()
}

/// A random tree of up to 16 items, up to 7 folders deep.
fn tree(allow_empty: bool) -> impl Strategy<Value = TreeModel> {
    let item = (
        prop::collection::vec(component(), 1..8),
        prop::option::weighted(0.8, content(allow_empty)),
    );
    prop::collection::vec(item, 1..16).prop_map(TreeModel::from_items)
}

fn verify_bytes(bytes: &[u8]) -> Report {
    verify_source(bytes, "archive", &VerifyOptions::default(), &mut |_, _| {})
}

/// Creates an archive of `model`, verifies it, and reads it back.
fn round_trip(model: &TreeModel) -> Result<(), TestCaseError> {
    let tree = model.materialize();
    let out = TempDir::new().unwrap();
    let created = create_in(tree.path(), None, out.path());
    prop_assert_eq!(created.file_count, model.files.len() as u64);
    let bytes = std::fs::read(&created.path).unwrap();

    let report = verify_bytes(&bytes);
    let errors: Vec<_> = report
        .problems
        .iter()
        .filter(|problem| problem.severity == Severity::Error)
        .collect();
    prop_assert!(report.valid && errors.is_empty(), "{:#?}", report.problems);
    prop_assert_eq!(
        report.files,
        model.files.len() + 1,
        "tree files and metadata"
    );

    let read_back = members(&bytes);
    prop_assert_eq!(tree_files(&read_back), model.archived_files());
    let folders: BTreeSet<String> = read_back
        .iter()
        .filter(|member| member.name.ends_with('/'))
        .map(|member| member.name.clone())
        .collect();
    prop_assert_eq!(folders, model.archived_folders());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 32,
        max_shrink_iters: 200,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Any tree of regular files and folders survives create then verify:
    /// valid, no error, the right file count, and every byte and folder read
    /// back as it was on disk.
    #[test]
    fn trees_survive_create_and_verify(model in tree(false)) {
        round_trip(&model)?;
    }

    /// The same holds for trees with empty files.
    #[test]
    fn trees_with_empty_files_survive_create_and_verify(model in tree(true)) {
        round_trip(&model)?;
    }
}

/// An undamaged archive and the tree files it holds.
type Pristine = (Vec<u8>, BTreeMap<String, Vec<u8>>);

/// The archive the damage tests start from, and its tree files.
fn pristine() -> &'static Pristine {
    static PRISTINE: OnceLock<Pristine> = OnceLock::new();
    PRISTINE.get_or_init(|| {
        let tree = Tree::new();
        tree.file("wg0.conf", "[Interface]\nListenPort = 51820\n")
            .file("peers/alice.conf", large_content(9000, 7))
            .file("peers/bob.conf", "[Peer]\n")
            .folder("empty");
        let bytes = support::archive_bytes(tree.path());
        let files = tree_files(&members(&bytes));
        assert!(verify_bytes(&bytes).valid, "the pristine archive is valid");
        (bytes, files)
    })
}

/// A way to damage an archive.
#[derive(Debug, Clone)]
enum Damage {
    /// Overwrite bytes, anywhere or within the central directory and end.
    Overwrite {
        in_directory: bool,
        bytes: Vec<(Index, u8)>,
    },
    /// Flip bits of bytes.
    Flip {
        in_directory: bool,
        bytes: Vec<(Index, u8)>,
    },
    /// Cut the file short.
    Truncate(Index),
    /// Add junk after the end.
    Append(Vec<u8>),
}

fn damage() -> impl Strategy<Value = Damage> {
    let positions = || prop::collection::vec((any::<Index>(), any::<u8>()), 1..=8);
    prop_oneof![
        3 => (any::<bool>(), positions())
            .prop_map(|(in_directory, bytes)| Damage::Overwrite { in_directory, bytes }),
        3 => (any::<bool>(), positions())
            .prop_map(|(in_directory, bytes)| Damage::Flip { in_directory, bytes }),
        1 => any::<Index>().prop_map(Damage::Truncate),
        1 => prop::collection::vec(any::<u8>(), 1..64).prop_map(Damage::Append),
    ]
}

fn apply(damage: &Damage, pristine: &[u8]) -> Vec<u8> {
    let mut bytes = pristine.to_vec();
    let directory = Layout::read(pristine).unwrap().central_directory_offset as usize;
    let length = bytes.len();
    let position = |in_directory: bool, index: &Index| {
        if in_directory {
            directory + index.index(length - directory)
        } else {
            index.index(length)
        }
    };
    match damage {
        Damage::Overwrite {
            in_directory,
            bytes: edits,
        } => {
            for (index, value) in edits {
                let at = position(*in_directory, index);
                bytes[at] = *value;
            }
        }
        Damage::Flip {
            in_directory,
            bytes: edits,
        } => {
            for (index, mask) in edits {
                let at = position(*in_directory, index);
                bytes[at] ^= (*mask).max(1);
            }
        }
        Damage::Truncate(index) => bytes.truncate(index.index(pristine.len())),
        Damage::Append(junk) => bytes.extend_from_slice(junk),
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Damage never makes the reader or verify panic, and verify never calls
    /// an archive valid whose files no longer read back as the tree's.
    #[test]
    fn damage_never_passes_as_the_original(damage in damage()) {
        let (original, files) = pristine();
        let damaged = apply(&damage, original);

        let _ = Layout::read(damaged.as_slice());
        let report = verify_bytes(&damaged);
        if report.valid {
            prop_assert_eq!(&tree_files(&members(&damaged)), files, "{:#?}", report);
        }
    }
}
