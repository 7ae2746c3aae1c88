//! `puqbackup restore` and `puqbackup recover`: what a restore puts in place,
//! what it keeps, what it refuses, and that a refusal or a failure leaves the
//! live trees exactly as they were.

// A test fails by panicking; `expect` says what was expected.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;

use puqbackup::catalogue::{ApiError, Endpoint};
use support::{
    ModelTree, Site, TreeImage, assert_tree, backup_of, effective_uid, exit_code, folder_listing,
    json_lines, modification_times, puqbackup, stderr, stdout, tree_image,
};
use tempfile::TempDir;

/// The configuration tree the live site holds before a restore.
fn old_config() -> ModelTree {
    ModelTree::new()
        .folder("clients", 0o750)
        .file("wg0.conf", "[Interface]\nListenPort = 51820\n", 0o600)
        .file(
            "clients/alice.conf",
            "[Peer]\nPublicKey = old-alice\n",
            0o644,
        )
        .file("clients/bob.conf", "[Peer]\nPublicKey = bob\n", 0o644)
        .folder("stale", 0o755)
        .file("stale/leftover.txt", "only in the live tree\n", 0o644)
}

/// The configuration tree in the backups: one file the same, one changed,
/// one added, one gone; an empty folder, a private and a read-only folder.
fn new_config() -> ModelTree {
    let mut tree = ModelTree::new()
        .folder("clients", 0o750)
        .file("wg0.conf", "[Interface]\nListenPort = 51821\n", 0o600)
        .file(
            "clients/alice.conf",
            "[Peer]\nPublicKey = new-alice\n",
            0o640,
        )
        .file("clients/bob.conf", "[Peer]\nPublicKey = bob\n", 0o644)
        .file("clients/carol.conf", "[Peer]\nPublicKey = carol\n", 0o644)
        .folder("keys", 0o700)
        .file("keys/private.key", "c2VjcmV0\n", 0o400)
        .folder("empty", 0o755)
        .folder("locked", 0o555)
        .file("locked/readme.txt", "read only\n", 0o444)
        .file("panel/zero-length", "", 0o644)
        .folder("panel", 0o755);
    tree.root_mode = 0o750;
    tree
}

/// The statistics tree the live site holds before a restore.
fn old_statistics() -> ModelTree {
    ModelTree::new()
        .folder("traffic", 0o755)
        .file("traffic/2024-01.db", vec![1u8; 500], 0o644)
}

/// The statistics tree in the backups.
fn new_statistics() -> ModelTree {
    ModelTree::new()
        .folder("traffic", 0o755)
        .file("traffic/2024-02.db", vec![2u8; 4000], 0o644)
        .file("traffic/2024-03.db", b"\x00\x01\x02", 0o600)
}

/// A site holding the old configuration and statistics trees.
fn old_site() -> Site {
    let site = Site::new();
    old_config().write_to(&site.config());
    old_statistics().write_to(&site.statistics());
    site
}

/// Backups of the new trees, in a folder of their own.
struct Backups {
    folder: TempDir,
    config_only: PathBuf,
    with_statistics: PathBuf,
}

impl Backups {
    fn new() -> Backups {
        let folder = TempDir::new().unwrap();
        let config_only = backup_of(
            &new_config(),
            None,
            &subfolder(folder.path(), "config-only"),
        );
        let with_statistics = backup_of(
            &new_config(),
            Some(&new_statistics()),
            &subfolder(folder.path(), "with-statistics"),
        );
        Backups {
            folder,
            config_only,
            with_statistics,
        }
    }

    /// A folder for more archives, beside these.
    fn path(&self) -> &Path {
        self.folder.path()
    }
}

/// Creates the folder `name` in `parent` and answers its path.
fn subfolder(parent: &Path, name: &str) -> PathBuf {
    let path = parent.join(name);
    std::fs::create_dir_all(&path).unwrap();
    path
}

/// `puqbackup restore ARCHIVE --config-dir <site's config>`, without faults.
fn restore(site: &Site, archive: &Path) -> assert_cmd::Command {
    let mut command = puqbackup();
    command
        .env_remove("PUQBACKUP_FAULT")
        .arg("restore")
        .arg(archive)
        .arg("--config-dir")
        .arg(site.config());
    command
}

/// The same, with `--statistics-dir <site's statistics>`.
fn restore_both(site: &Site, archive: &Path) -> assert_cmd::Command {
    let mut command = restore(site, archive);
    command.arg("--statistics-dir").arg(site.statistics());
    command
}

/// Runs a command that must succeed.
fn succeeds(command: &mut assert_cmd::Command) -> Output {
    let output = command.output().unwrap();
    assert_eq!(exit_code(&output), 0, "failed: {}", stderr(&output));
    output
}

/// The documented restore text that `message` starts with, failing the test
/// when there is none.
fn leading_text(message: &str) -> ApiError {
    Endpoint::Restore
        .errors()
        .iter()
        .copied()
        .find(|error| message.starts_with(error.text()))
        .unwrap_or_else(|| panic!("`{message}` starts with no documented restore text"))
}

/// The message of a failed restore without `--json`: its one stderr line,
/// without the program's name.
fn failure_message(output: &Output) -> String {
    let text = stderr(output);
    let line = text.lines().last().unwrap_or_default();
    line.strip_prefix("puqbackup: ")
        .unwrap_or_else(|| panic!("`{text}` is not a puqbackup message"))
        .to_string()
}

/// The site's trees, to compare after a refusal.
struct Before {
    config: TreeImage,
    statistics: TreeImage,
    listing: Vec<String>,
}

impl Before {
    fn of(site: &Site) -> Before {
        Before {
            config: tree_image(&site.config()),
            statistics: tree_image(&site.statistics()),
            listing: folder_listing(site.data_folder()),
        }
    }

    /// Fails unless both trees and the data folder are as they were.
    fn assert_unchanged(&self, site: &Site, what: &str) {
        assert_tree(&site.config(), &self.config, what);
        assert_tree(&site.statistics(), &self.statistics, what);
        assert_eq!(
            folder_listing(site.data_folder()),
            self.listing,
            "{what}: the data folder gained or lost entries"
        );
    }
}

/// A backup without statistics replaces the configuration tree with exactly
/// the archive's (files, empty folders, modes), leaves a given statistics
/// tree alone and keeps the old configuration as one snapshot.
#[test]
fn restore_without_statistics_reproduces_the_archive_tree() {
    let backups = Backups::new();
    let site = old_site();

    let output = succeeds(restore_both(&site, &backups.config_only).arg("--json"));

    assert_tree(&site.config(), &new_config().image(), "the restored config");
    assert_tree(&site.statistics(), &old_statistics().image(), "statistics");
    let snapshots = site.snapshots("config");
    assert_eq!(
        snapshots.len(),
        1,
        "{:?}",
        folder_listing(site.data_folder())
    );
    assert_tree(&snapshots[0], &old_config().image(), "the snapshot");
    assert!(site.snapshots("statistics").is_empty());
    assert!(site.leftovers().is_empty(), "{:?}", site.leftovers());

    let report = &json_lines(&output)[0];
    assert_eq!(report["restored"], true);
    assert_eq!(report["outcome"]["statistics_restored"], false);
    assert_eq!(report["outcome"]["files"], 7);
    assert_eq!(
        report["outcome"]["snapshots"][0].as_str(),
        snapshots[0].to_str()
    );
}

/// `--keep-snapshots 0` keeps no copy of the old tree.
#[test]
fn keep_snapshots_zero_keeps_no_snapshot() {
    let backups = Backups::new();
    let site = old_site();

    succeeds(restore(&site, &backups.config_only).args(["--keep-snapshots", "0"]));

    assert_tree(&site.config(), &new_config().image(), "the restored config");
    assert_eq!(folder_listing(site.data_folder()), ["config", "statistics"]);
}

/// With the default, repeated restores keep only the newest snapshot: the
/// tree the last restore replaced.
#[test]
fn repeated_restores_keep_one_snapshot() {
    let backups = Backups::new();
    let site = old_site();
    let other = backup_of(&old_config(), None, &subfolder(backups.path(), "old"));

    for archive in [&backups.config_only, &other, &backups.config_only] {
        succeeds(&mut restore(&site, archive));
    }

    assert_tree(&site.config(), &new_config().image(), "the restored config");
    let snapshots = site.snapshots("config");
    assert_eq!(
        snapshots.len(),
        1,
        "{:?}",
        folder_listing(site.data_folder())
    );
    assert_tree(&snapshots[0], &old_config().image(), "the newest snapshot");
    assert!(site.leftovers().is_empty(), "{:?}", site.leftovers());
}

/// A file whose mode in the archive carries the setuid bit is restored
/// without it.
#[test]
fn setuid_bits_are_never_restored() {
    let site = old_site();
    let fixture = fixtures_dir().join("setuid-file.zip");

    succeeds(&mut restore(&site, &fixture));

    let image = tree_image(&site.config());
    assert_eq!(image["hooks/up.sh"].mode, 0o755, "{image:?}");
    for (path, node) in &image {
        assert_eq!(node.mode & 0o7000, 0, "`{path}` has mode {:o}", node.mode);
    }
}

/// Files and folders that others could write in the archive are restored
/// without that permission; group and owner bits are kept.
#[test]
fn others_never_get_write_permission() {
    let archives = TempDir::new().unwrap();
    let open_tree = ModelTree::new()
        .folder("shared", 0o777)
        .file("shared/peers.conf", "[Peer]\nPublicKey = open\n", 0o666)
        .file("wg0.conf", "[Interface]\n", 0o662)
        .file("hooks.sh", "#!/bin/sh\n", 0o777);
    let archive = backup_of(&open_tree, None, archives.path());
    let site = old_site();

    succeeds(&mut restore(&site, &archive));

    let image = tree_image(&site.config());
    let modes: Vec<(String, u32)> = ["shared", "shared/peers.conf", "wg0.conf", "hooks.sh"]
        .iter()
        .map(|path| (path.to_string(), image[*path].mode & 0o7777))
        .collect();
    assert_eq!(
        modes,
        [
            ("shared".to_string(), 0o775),
            ("shared/peers.conf".to_string(), 0o664),
            ("wg0.conf".to_string(), 0o660),
            ("hooks.sh".to_string(), 0o775),
        ],
        "{image:?}"
    );
}

/// Files are created with their archived mode and set again only where
/// the umask took bits from it: whatever the umask, each file and folder
/// gets exactly the mode in the archive.
#[test]
fn archived_modes_are_kept_whatever_the_umask() {
    let archives = TempDir::new().unwrap();
    let tree = ModelTree::new()
        .folder("keys", 0o750)
        .file("keys/private.key", "secret\n", 0o600)
        .file("wg0.conf", "[Interface]\n", 0o644)
        .file("peers.conf", "[Peer]\n", 0o640)
        .file("up.sh", "#!/bin/sh\n", 0o755)
        .file("read-only.conf", "[Peer]\n", 0o444);
    let archive = backup_of(&tree, None, archives.path());
    let binary = assert_cmd::cargo::cargo_bin("puqbackup");
    for umask in ["000", "022", "077", "277"] {
        let site = old_site();
        let output = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("umask {umask} && exec \"$0\" \"$@\""))
            .arg(&binary)
            .arg("restore")
            .arg(&archive)
            .arg("--config-dir")
            .arg(site.config())
            .env_remove("PUQBACKUP_FAULT")
            .output()
            .unwrap();
        assert_eq!(exit_code(&output), 0, "umask {umask}: {}", stderr(&output));
        let image = tree_image(&site.config());
        for (path, mode) in [
            ("keys", 0o750),
            ("keys/private.key", 0o600),
            ("wg0.conf", 0o644),
            ("peers.conf", 0o640),
            ("up.sh", 0o755),
            ("read-only.conf", 0o444),
        ] {
            assert_eq!(
                image[path].mode & 0o7777,
                mode,
                "umask {umask}: `{path}` {image:?}"
            );
        }
    }
}

/// A backup with statistics replaces both trees and keeps a snapshot of
/// each old one.
#[test]
fn restore_with_statistics_replaces_both_trees() {
    let backups = Backups::new();
    let site = old_site();

    let output = succeeds(&mut restore_both(&site, &backups.with_statistics));

    assert_tree(&site.config(), &new_config().image(), "the restored config");
    assert_tree(
        &site.statistics(),
        &new_statistics().image(),
        "the restored statistics",
    );
    let config_snapshots = site.snapshots("config");
    let statistics_snapshots = site.snapshots("statistics");
    assert_eq!((config_snapshots.len(), statistics_snapshots.len()), (1, 1));
    assert_tree(
        &config_snapshots[0],
        &old_config().image(),
        "config snapshot",
    );
    assert_tree(
        &statistics_snapshots[0],
        &old_statistics().image(),
        "statistics snapshot",
    );
    assert!(site.leftovers().is_empty(), "{:?}", site.leftovers());
    assert!(stdout(&output).contains("statistics included"));
}

/// Live trees that do not exist yet are created, and no snapshot is made.
#[test]
fn missing_live_trees_are_created() {
    let backups = Backups::new();
    let site = Site::new();

    succeeds(&mut restore_both(&site, &backups.with_statistics));

    assert_tree(&site.config(), &new_config().image(), "the restored config");
    assert_tree(
        &site.statistics(),
        &new_statistics().image(),
        "the restored statistics",
    );
    assert_eq!(folder_listing(site.data_folder()), ["config", "statistics"]);
}

/// Everything about the site that a dry run must not touch: contents,
/// modes, modification times and the data folder's entries.
fn full_state(site: &Site) -> impl PartialEq + std::fmt::Debug {
    (
        tree_image(&site.config()),
        modification_times(&site.config()),
        tree_image(&site.statistics()),
        modification_times(&site.statistics()),
        folder_listing(site.data_folder()),
        modification_times(site.data_folder()).remove(""),
    )
}

/// `--dry-run` changes nothing, not even a modification time, and lists
/// each added (`+`), changed (`~`) and removed (`-`) path.
#[test]
fn dry_run_changes_nothing_and_lists_the_changes() {
    let backups = Backups::new();
    let site = old_site();
    let before = full_state(&site);

    let output = succeeds(restore_both(&site, &backups.with_statistics).arg("--dry-run"));

    assert_eq!(full_state(&site), before);
    let lines: BTreeSet<String> = stdout(&output).lines().map(str::to_string).collect();
    let expected: BTreeSet<String> = [
        "~ config/wg0.conf",
        "~ config/clients/alice.conf",
        "+ config/clients/carol.conf",
        "+ config/keys/",
        "+ config/keys/private.key",
        "+ config/empty/",
        "+ config/locked/",
        "+ config/locked/readme.txt",
        "+ config/panel/",
        "+ config/panel/zero-length",
        "- config/stale/",
        "- config/stale/leftover.txt",
        "+ statistics/traffic/2024-02.db",
        "+ statistics/traffic/2024-03.db",
        "- statistics/traffic/2024-01.db",
        "10 to add, 2 to change, 3 to remove, 1 unchanged; statistics replaced",
    ]
    .into_iter()
    .map(str::to_string)
    .collect();
    assert_eq!(lines, expected);
}

/// `--dry-run --json` prints one object with the archive, `dry_run: true`
/// and the plan's lists and counts.
#[test]
fn dry_run_json_has_the_plan() {
    let backups = Backups::new();
    let site = old_site();
    let before = full_state(&site);

    let output = succeeds(restore(&site, &backups.config_only).args(["--dry-run", "--json"]));

    assert_eq!(full_state(&site), before);
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 1);
    let report = &lines[0];
    assert_eq!(report["archive"].as_str(), backups.config_only.to_str());
    assert_eq!(report["dry_run"], true);
    let plan = &report["plan"];
    let list = |key: &str| -> Vec<String> {
        let mut items: Vec<String> = plan[key]
            .as_array()
            .unwrap_or_else(|| panic!("no `{key}` list in {plan}"))
            .iter()
            .map(|item| item.as_str().unwrap().to_string())
            .collect();
        items.sort();
        items
    };
    assert_eq!(
        list("changed"),
        ["config/clients/alice.conf", "config/wg0.conf"]
    );
    assert_eq!(
        list("removed"),
        ["config/stale/", "config/stale/leftover.txt"]
    );
    assert_eq!(list("added").len(), 8, "{plan}");
    assert_eq!(plan["unchanged"], 1);
    assert_eq!(plan["statistics_replaced"], false);
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// The fixtures `fixtures/README.md` calls invalid, with the exit status it
/// gives.
fn refused_fixtures() -> Vec<(String, i32)> {
    let readme = std::fs::read_to_string(fixtures_dir().join("README.md")).unwrap();
    let fixtures: Vec<(String, i32)> = readme
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let name = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            let status = cells.get(3)?.strip_prefix("invalid (exit ")?;
            let status = status.strip_suffix(')')?.parse().ok()?;
            Some((name.to_string(), status))
        })
        .collect();
    assert!(fixtures.len() > 30, "the README lists {fixtures:?}");
    fixtures
}

/// Every fixture the README calls invalid is refused with its exit status
/// and a message (on stderr, or `error` in `--json`) that leads with a
/// documented restore text, and both live trees stay exactly as they were,
/// with no staging folder or journal left beside them.
#[test]
fn every_refused_fixture_leaves_the_trees_untouched() {
    let site = old_site();
    let before = Before::of(&site);

    for (name, status) in refused_fixtures() {
        let fixture = fixtures_dir().join(&name);

        let output = restore_both(&site, &fixture).output().unwrap();
        assert_eq!(exit_code(&output), status, "{name}: {}", stderr(&output));
        leading_text(&failure_message(&output));
        before.assert_unchanged(&site, &name);

        let output = restore_both(&site, &fixture)
            .arg("--json")
            .output()
            .unwrap();
        assert_eq!(exit_code(&output), status, "{name} --json");
        let report = &json_lines(&output)[0];
        assert_eq!(report["restored"], false, "{name}");
        let message = report["error"].as_str().unwrap();
        let text = leading_text(message);
        assert_eq!(report["documented_text"].as_str(), Some(text.text()));
        before.assert_unchanged(&site, &name);
    }
}

/// Particular refusals lead with the particular documented text.
#[test]
fn refusals_lead_with_their_documented_text() {
    let site = old_site();
    let cases = [
        ("crc-mismatch.zip", ApiError::Unzip),
        ("count-mismatch.zip", ApiError::FileCountMismatch),
        ("empty.zip", ApiError::EmptyArchive),
        ("no-file-list.zip", ApiError::EmptyFileList),
        ("not-a-zip.zip", ApiError::OpenArchive),
        ("path-traversal.zip", ApiError::BackupReader),
        ("name-mismatch.zip", ApiError::FileNameMismatch),
    ];
    for (name, expected) in cases {
        let output = restore(&site, &fixtures_dir().join(name)).output().unwrap();
        assert_eq!(exit_code(&output), 1, "{name}");
        let message = failure_message(&output);
        assert!(
            message.starts_with(expected.text()),
            "{name}: `{message}` does not start with `{expected}`"
        );
    }
}

/// An archive path that does not exist is a reader error, exit status 2.
#[test]
fn missing_archive_is_a_reader_error() {
    let site = old_site();
    let before = Before::of(&site);
    let missing = site.data_folder().join("no-such-backup.zip");

    let output = restore(&site, &missing).output().unwrap();

    assert_eq!(exit_code(&output), 2);
    let message = failure_message(&output);
    assert!(
        message.starts_with(ApiError::BackupReader.text()),
        "{message}"
    );
    before.assert_unchanged(&site, "after a missing archive");
}

/// A tmpfs mounted on `point`, unmounted when dropped.
struct Mount {
    point: PathBuf,
}

impl Mount {
    /// Mounts a tmpfs of `size` on `point`; `None`, after saying why, only
    /// when this process is not root and so cannot mount.
    fn tmpfs(point: &Path, size: &str) -> Option<Mount> {
        let output = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(point)
            .output();
        match output {
            Ok(output) if output.status.success() => Some(Mount {
                point: point.to_path_buf(),
            }),
            failure if effective_uid() != 0 => {
                eprintln!("skipped: not root, so no tmpfs can be mounted: {failure:?}");
                None
            }
            failure => panic!(
                "mounting a tmpfs on `{}` failed: {failure:?}",
                point.display()
            ),
        }
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let status = std::process::Command::new("umount")
            .arg(&self.point)
            .status();
        if !matches!(status, Ok(status) if status.success()) {
            eprintln!("cannot unmount `{}`: {status:?}", self.point.display());
        }
    }
}

/// A file system that fills up during extraction fails the restore with a
/// documented text; the live tree is unchanged and staging is removed.
#[test]
fn a_full_file_system_keeps_the_live_tree() {
    let backups = Backups::new();
    let big = new_config().file("big.bin", vec![0x5au8; 256 * 1024], 0o644);
    let archive = backup_of(&big, None, &subfolder(backups.path(), "big"));
    let site = Site::new();
    let Some(_mount) = Mount::tmpfs(site.data_folder(), "64k") else {
        return;
    };
    old_config().write_to(&site.config());
    let before = tree_image(&site.config());

    let output = restore(&site, &archive).output().unwrap();

    assert_eq!(exit_code(&output), 2, "{}", stderr(&output));
    let text = leading_text(&failure_message(&output));
    assert!(
        [
            ApiError::Unzip,
            ApiError::CreateFile,
            ApiError::CreateFolder
        ]
        .contains(&text),
        "{}",
        stderr(&output)
    );
    assert_tree(&site.config(), &before, "the live config");
    assert_eq!(folder_listing(site.data_folder()), ["config"]);
}

/// A live configuration tree that is a mount point cannot be moved aside:
/// `Unable to delete old configuration:`, and it stays as it was.
#[test]
fn a_mount_point_cannot_be_moved_aside() {
    let backups = Backups::new();
    let site = Site::new();
    std::fs::create_dir(site.config()).unwrap();
    let Some(_mount) = Mount::tmpfs(&site.config(), "1m") else {
        return;
    };
    old_config().write_into(&site.config());
    let before = tree_image(&site.config());

    let output = restore(&site, &backups.config_only).output().unwrap();

    assert_eq!(exit_code(&output), 2, "{}", stderr(&output));
    let message = failure_message(&output);
    assert!(
        message.starts_with(ApiError::DeleteOldConfiguration.text()),
        "{message}"
    );
    assert_tree(&site.config(), &before, "the live config");
    assert_eq!(folder_listing(site.data_folder()), ["config"]);
}

/// Runs a restore of both trees with the fault plan `fault`; it must fail
/// with exit status 2 and `expected`, and leave the site as it was.
fn fails_with_fault(archive: &Path, fault: &str, expected: ApiError) {
    let site = old_site();
    let before = Before::of(&site);

    let output = restore_both(&site, archive)
        .env("PUQBACKUP_FAULT", fault)
        .output()
        .unwrap();

    assert_eq!(exit_code(&output), 2, "{fault}: {}", stderr(&output));
    let message = failure_message(&output);
    assert!(
        message.starts_with(expected.text()),
        "{fault}: `{message}` does not start with `{expected}`"
    );
    before.assert_unchanged(&site, fault);
}

/// A staging folder that cannot be created, as in a read-only data folder
/// (which root would not notice), fails with `Failed to create folder:`.
#[test]
fn unwritable_data_folder_fails_to_create_folder() {
    let backups = Backups::new();
    fails_with_fault(
        &backups.with_statistics,
        r#"{"failures":[{"operation":"create-folder","nth":1,"errno":30}]}"#,
        ApiError::CreateFolder,
    );
}

/// A folder inside the staged tree that cannot be created fails with
/// `Failed to create folder:` and the partly staged tree is removed.
#[test]
fn failing_folder_fails_to_create_folder() {
    let backups = Backups::new();
    fails_with_fault(
        &backups.with_statistics,
        r#"{"failures":[{"operation":"create-folder","nth":4,"errno":13}]}"#,
        ApiError::CreateFolder,
    );
}

/// A file that cannot be created fails with `Failed to create file:`.
#[test]
fn failing_file_fails_to_create_file() {
    let backups = Backups::new();
    fails_with_fault(
        &backups.with_statistics,
        r#"{"failures":[{"operation":"create-file","nth":3,"errno":13}]}"#,
        ApiError::CreateFile,
    );
}

/// Running out of space while writing fails with `Failed to unzip file:`.
#[test]
fn running_out_of_space_fails_to_unzip() {
    let backups = Backups::new();
    fails_with_fault(
        &backups.with_statistics,
        r#"{"space_bytes": 100}"#,
        ApiError::Unzip,
    );
}

/// When the second tree cannot be swapped in, the first swap is undone:
/// `Unable to delete old configuration:` and both trees as they were.
#[test]
fn failing_second_swap_undoes_the_first() {
    let backups = Backups::new();
    fails_with_fault(
        &backups.with_statistics,
        r#"{"failures":[{"operation":"swap","nth":2,"errno":16}]}"#,
        ApiError::DeleteOldConfiguration,
    );
}

/// While another process holds the data folder's lock, restore and recover
/// exit 2 saying another restore or backup is running, create refuses too,
/// and nothing changes.
#[test]
fn a_held_lock_refuses_restore_and_create() {
    let backups = Backups::new();
    let site = old_site();
    let before = Before::of(&site);
    let _held = puqbackup::lock::DataLock::take(&site.config(), true).unwrap();
    let busy = "another restore or backup is running";

    let output = restore_both(&site, &backups.with_statistics)
        .output()
        .unwrap();
    assert_eq!(exit_code(&output), 2);
    assert!(stderr(&output).contains(busy), "{}", stderr(&output));

    let output = puqbackup()
        .arg("recover")
        .arg("--config-dir")
        .arg(site.config())
        .output()
        .unwrap();
    assert_eq!(exit_code(&output), 2);
    assert!(stderr(&output).contains(busy), "{}", stderr(&output));

    let out = TempDir::new().unwrap();
    let output = puqbackup()
        .arg("create")
        .arg("--config-dir")
        .arg(site.config())
        .arg("--out-dir")
        .arg(out.path())
        .args(["--host", support::HOST])
        .output()
        .unwrap();
    assert_eq!(exit_code(&output), 2);
    assert!(stderr(&output).contains(busy), "{}", stderr(&output));
    assert!(folder_listing(out.path()).is_empty());

    before.assert_unchanged(&site, "under a held lock");
}

/// `recover` on a site with nothing left over says so and changes nothing.
#[test]
fn recover_with_nothing_to_do_says_so() {
    let site = old_site();
    let before = Before::of(&site);

    let output = succeeds(
        puqbackup()
            .arg("recover")
            .arg("--config-dir")
            .arg(site.config())
            .arg("--statistics-dir")
            .arg(site.statistics()),
    );

    assert_eq!(stdout(&output), "nothing to recover\n");
    before.assert_unchanged(&site, "after recover");
}
