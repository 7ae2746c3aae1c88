//! A restore interrupted at any step, by a crash or by a failing operation,
//! leaves the live trees whole, and `recover` brings them back to the complete
//! old pair or the complete new pair with nothing left beside them.
//!
//! The crashes are real: the binary aborts itself at the chosen step
//! (`PUQBACKUP_FAULT={"crash_at_step": N}`), with no unwinding and no
//! cleanup, as a power cut or `kill -9` would stop it.

// A test fails by panicking; `expect` says what was expected.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::Output;

use support::{ModelTree, Site, TreeImage, backup_of, exit_code, puqbackup, stderr, stdout};
use tempfile::TempDir;

/// The signal `std::process::abort` raises.
const SIGABRT: i32 = 6;

/// Whichever version a tree is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    Old,
    New,
}

/// The configuration tree before the restore.
fn old_config() -> ModelTree {
    ModelTree::new()
        .folder("wireguard", 0o750)
        .file("wireguard/wg0.conf", "[Interface]\nListenPort = 1\n", 0o600)
        .file("wireguard/peers/alice.conf", "old alice\n", 0o644)
        .file("panel.json", "{\"version\":1}\n", 0o644)
}

/// The configuration tree in the backup: enough files and folders for many
/// steps.
fn new_config() -> ModelTree {
    ModelTree::new()
        .folder("wireguard", 0o750)
        .folder("wireguard/peers", 0o755)
        .file("wireguard/wg0.conf", "[Interface]\nListenPort = 2\n", 0o600)
        .file("wireguard/wg1.conf", "[Interface]\nListenPort = 3\n", 0o600)
        .file("wireguard/peers/alice.conf", "new alice\n", 0o644)
        .file("wireguard/peers/bob.conf", "bob\n", 0o644)
        .file("wireguard/peers/carol.conf", "carol\n", 0o644)
        .folder("panel", 0o755)
        .file("panel/settings.json", "{\"version\":2}\n", 0o644)
        .file("panel/users.json", "[]\n", 0o640)
        .folder("panel/empty", 0o755)
        .folder("keys", 0o700)
        .file("keys/server.key", "c2VjcmV0\n", 0o400)
}

/// The statistics tree before the restore.
fn old_statistics() -> ModelTree {
    ModelTree::new().file("traffic/2024-01.db", vec![1u8; 700], 0o644)
}

/// The statistics tree in the backup.
fn new_statistics() -> ModelTree {
    ModelTree::new()
        .folder("traffic", 0o755)
        .file("traffic/2024-02.db", vec![2u8; 5000], 0o644)
        .file("traffic/2024-03.db", vec![3u8; 80], 0o644)
        .folder("sessions", 0o755)
        .file("sessions/alice.log", "connected\n", 0o644)
}

/// The restore under test and what its trees are before and after.
struct Scenario {
    _archives: TempDir,
    archive: PathBuf,
    with_statistics: bool,
    old: [TreeImage; 2],
    new: [TreeImage; 2],
}

impl Scenario {
    fn new(with_statistics: bool) -> Scenario {
        let archives = TempDir::new().unwrap();
        let statistics = new_statistics();
        let archive = backup_of(
            &new_config(),
            with_statistics.then_some(&statistics),
            archives.path(),
        );
        let (old_statistics, new_statistics) = if with_statistics {
            (old_statistics().image(), new_statistics().image())
        } else {
            (TreeImage::new(), TreeImage::new())
        };
        Scenario {
            _archives: archives,
            archive,
            with_statistics,
            old: [old_config().image(), old_statistics],
            new: [new_config().image(), new_statistics],
        }
    }

    /// A site with the old trees.
    fn site(&self) -> Site {
        let site = Site::new();
        old_config().write_to(&site.config());
        if self.with_statistics {
            old_statistics().write_to(&site.statistics());
        }
        site
    }

    /// The live trees the restore touches.
    fn trees(&self, site: &Site) -> Vec<PathBuf> {
        let mut trees = vec![site.config()];
        if self.with_statistics {
            trees.push(site.statistics());
        }
        trees
    }

    /// `restore` or `recover` with this scenario's folders.
    fn command(&self, site: &Site, subcommand: &str) -> assert_cmd::Command {
        let mut command = puqbackup();
        command.env_remove("PUQBACKUP_FAULT").arg(subcommand);
        if subcommand == "restore" {
            command.arg(&self.archive);
        }
        command.arg("--config-dir").arg(site.config());
        if self.with_statistics {
            command.arg("--statistics-dir").arg(site.statistics());
        }
        command
    }

    /// Which version each tree is, failing the test for a tree that is
    /// neither complete version.
    fn versions(&self, site: &Site, when: &str) -> Vec<Version> {
        self.trees(site)
            .iter()
            .enumerate()
            .map(|(index, root)| {
                let image = support::tree_image(root);
                if image == self.old[index] {
                    Version::Old
                } else if image == self.new[index] {
                    Version::New
                } else {
                    panic!(
                        "{when}: `{}` is neither the old nor the new tree:\nagainst old:\n{}\nagainst new:\n{}",
                        root.display(),
                        support::image_differences(&image, &self.old[index]).join("\n"),
                        support::image_differences(&image, &self.new[index]).join("\n"),
                    )
                }
            })
            .collect()
    }

    /// Runs `recover` and checks that it leaves one whole pair, nothing
    /// beside it but the old trees as snapshots when the new ones won, and
    /// that it told what it did. Answers the pair's version.
    fn recover_and_check(&self, site: &Site, before: &[Version], when: &str) -> Version {
        let leftovers = site.leftovers();
        let output = self.command(site, "recover").output().unwrap();
        assert_eq!(
            exit_code(&output),
            0,
            "{when}: recover: {}",
            stderr(&output)
        );

        let after = self.versions(site, &format!("{when}, after recover"));
        let version = after[0];
        assert!(
            after.iter().all(|tree| *tree == version),
            "{when}: recover left the trees mixed: {after:?}"
        );
        assert!(
            site.leftovers().is_empty(),
            "{when}: recover left {:?} (before it: {leftovers:?})",
            site.leftovers()
        );
        for (index, name) in ["config", "statistics"].iter().enumerate() {
            if index == 1 && !self.with_statistics {
                continue;
            }
            let snapshots = site.snapshots(name);
            match version {
                Version::Old => assert!(snapshots.is_empty(), "{when}: {snapshots:?}"),
                Version::New => {
                    assert_eq!(snapshots.len(), 1, "{when}: the old {name} tree is gone");
                    support::assert_tree(&snapshots[0], &self.old[index], when);
                }
            }
        }

        let said = stdout(&output);
        if leftovers.is_empty() {
            assert_eq!(said, "nothing to recover\n", "{when}");
        } else {
            assert_ne!(
                said, "nothing to recover\n",
                "{when}: {leftovers:?} were left"
            );
        }
        // A staging folder holds the unfinished new tree, which is removed,
        // or after the commit the old tree, which the tidying makes a
        // snapshot.
        let tidied = said.contains("finished the tidying");
        for name in leftovers
            .iter()
            .filter(|name| name.ends_with(".puqbackup-staging"))
        {
            assert!(
                (said.contains("removed") && said.contains(name.as_str())) || tidied,
                "{when}: `{name}` was left, recover said `{said}`"
            );
        }
        for (tree, (was, is)) in self.trees(site).iter().zip(before.iter().zip(&after)) {
            if was != is {
                assert!(
                    said.contains("undid") && said.contains(&tree.display().to_string()),
                    "{when}: recover put back `{}` and said `{said}`",
                    tree.display()
                );
            }
        }
        version
    }

    /// Crashes the restore at every step in turn until one run completes,
    /// checking the trees after each crash and after the recovery. Answers
    /// how many crash points ended with the old trees and with the new.
    fn crash_at_every_step(&self) -> (usize, usize) {
        let (mut ended_old, mut ended_new) = (0, 0);
        for step in 1.. {
            assert!(step < 10_000, "the restore never completed");
            let site = self.site();
            let when = format!("crash at step {step}");
            let output = self
                .command(&site, "restore")
                .env("PUQBACKUP_FAULT", format!(r#"{{"crash_at_step": {step}}}"#))
                .output()
                .unwrap();

            if output.status.success() {
                assert_eq!(
                    self.versions(&site, &when),
                    vec![Version::New; self.trees(&site).len()]
                );
                assert!(site.leftovers().is_empty(), "{:?}", site.leftovers());
                break;
            }
            assert_eq!(
                output.status.signal(),
                Some(SIGABRT),
                "{when}: the restore did not crash: {output:?}"
            );

            // Each swap is one rename, so every tree is whole already.
            let before = self.versions(&site, &when);
            match self.recover_and_check(&site, &before, &when) {
                Version::Old => ended_old += 1,
                Version::New => ended_new += 1,
            }
        }
        println!("{ended_old} crash points ended old, {ended_new} new");
        (ended_old, ended_new)
    }
}

/// A restore of configuration and statistics crashed at any of its (at
/// least 50) steps leaves each tree whole, and `recover` makes the pair
/// either all old or all new, telling what it undid or removed; crashes end
/// both ways.
#[test]
fn every_crash_point_of_a_restore_with_statistics_recovers() {
    let (ended_old, ended_new) = Scenario::new(true).crash_at_every_step();

    assert!(
        ended_old + ended_new >= 50,
        "only {} crash points",
        ended_old + ended_new
    );
    assert!(
        ended_old > 0 && ended_new > 0,
        "{ended_old} old, {ended_new} new"
    );
}

/// The same for a restore of the configuration alone.
#[test]
fn every_crash_point_of_a_config_only_restore_recovers() {
    let (ended_old, ended_new) = Scenario::new(false).crash_at_every_step();

    assert!(
        ended_old + ended_new > 10,
        "only {} crash points",
        ended_old + ended_new
    );
    assert!(
        ended_old > 0 && ended_new > 0,
        "{ended_old} old, {ended_new} new"
    );
}

/// A restore after a crash first clears what the crash left, says so, and
/// then restores.
#[test]
fn a_restore_after_a_crash_recovers_first() {
    let scenario = Scenario::new(true);
    let site = scenario.site();
    let crashed = scenario
        .command(&site, "restore")
        .env("PUQBACKUP_FAULT", r#"{"crash_at_step": 6}"#)
        .output()
        .unwrap();
    assert_eq!(crashed.status.signal(), Some(SIGABRT));
    assert!(
        !site.leftovers().is_empty(),
        "the crash left nothing to clear"
    );

    let output = scenario.command(&site, "restore").output().unwrap();

    assert_eq!(exit_code(&output), 0, "{}", stderr(&output));
    assert!(
        stderr(&output).contains("removed the staging leftovers"),
        "{}",
        stderr(&output)
    );
    assert_eq!(scenario.versions(&site, "after"), [Version::New; 2]);
    assert!(site.leftovers().is_empty(), "{:?}", site.leftovers());
}

/// Runs the restore with the `nth` operation of `operation` failing; answers
/// the output.
fn restore_failing(scenario: &Scenario, site: &Site, operation: &str, nth: u64) -> Output {
    let fault = format!(r#"{{"failures":[{{"operation":"{operation}","nth":{nth},"errno":5}}]}}"#);
    scenario
        .command(site, "restore")
        .env("PUQBACKUP_FAULT", fault)
        .output()
        .unwrap()
}

/// Fails each operation of each kind in turn (until a run no longer meets
/// the failure) and checks that a failed restore leaves the old trees, a
/// completed one the new, and that `recover` then leaves one whole pair.
fn fail_every_operation_of(kinds: &[&str]) {
    let scenario = Scenario::new(true);
    for operation in kinds {
        for nth in 1.. {
            assert!(nth < 10_000, "`{operation}` failures never ran out");
            let site = scenario.site();
            let when = format!("`{operation}` number {nth} failing");

            let output = restore_failing(&scenario, &site, operation, nth);

            let code = exit_code(&output);
            let versions = scenario.versions(&site, &when);
            let expected = if code == 0 {
                Version::New
            } else {
                Version::Old
            };
            assert_eq!(
                versions,
                [expected; 2],
                "{when}: exit {code}, {}",
                stderr(&output)
            );
            if code != 0 {
                assert!(
                    site.leftovers().is_empty(),
                    "{when}: the failed restore left {:?}",
                    site.leftovers()
                );
            }
            scenario.recover_and_check(&site, &versions, &when);
            if code == 0 && stderr(&output).is_empty() {
                break;
            }
        }
    }
}

/// A failing folder creation, attribute change, swap or removal at any
/// point leaves the old trees when the restore fails, the new ones when it
/// completes, and a site that `recover` leaves whole and tidy.
#[test]
fn failing_operations_leave_whole_trees() {
    fail_every_operation_of(&["create-folder", "set-attributes", "swap", "remove"]);
}

/// The number of syncs staging makes for `models`: one for each staged
/// tree, after its last file and folder.
fn staging_syncs(models: &[ModelTree]) -> u64 {
    models.len() as u64
}

/// A failure after the trees were exchanged but before the swap was
/// committed (here: syncing the data folder) leaves the old trees live, or
/// at least recoverable.
#[test]
fn a_failure_after_the_exchanges_keeps_the_old_trees() {
    let scenario = Scenario::new(true);
    let site = scenario.site();
    // Staging's syncs, then two for the journal, then the data folder's.
    let nth = staging_syncs(&[new_config(), new_statistics()]) + 3;

    let output = restore_failing(&scenario, &site, "sync", nth);

    assert_eq!(exit_code(&output), 2, "{}", stderr(&output));
    assert_eq!(
        scenario.versions(&site, "after the failure"),
        [Version::Old; 2]
    );
    scenario.recover_and_check(&site, &[Version::Old; 2], "after the failure");
}

/// A restore that fails while writing its journal, before any exchange,
/// leaves nothing beside the live trees: no temporary file, no journal.
#[test]
fn a_failed_journal_write_leaves_nothing_behind() {
    let scenario = Scenario::new(false);
    for extra in [1, 2] {
        let site = scenario.site();
        let nth = staging_syncs(&[new_config()]) + extra;

        let output = restore_failing(&scenario, &site, "sync", nth);

        assert_eq!(exit_code(&output), 2, "{}", stderr(&output));
        assert_eq!(
            scenario.versions(&site, "after the failure"),
            [Version::Old]
        );
        assert!(site.leftovers().is_empty(), "left {:?}", site.leftovers());
    }
}

/// `recover` says so when it discards a journal that an interrupted restore
/// left before swapping anything: the crash comes at the first step after
/// the journal is on disk.
#[test]
fn recover_tells_when_it_discards_a_journal() {
    let scenario = Scenario::new(false);
    let mut found = false;
    for step in 1..500 {
        let site = scenario.site();
        let output = scenario
            .command(&site, "restore")
            .env("PUQBACKUP_FAULT", format!(r#"{{"crash_at_step": {step}}}"#))
            .output()
            .unwrap();
        assert!(
            output.status.code().is_none(),
            "the restore ended before a journal was written: {output:?}"
        );
        if site.leftovers() != [".config.puqbackup-journal", ".config.puqbackup-staging"] {
            continue;
        }
        assert_eq!(scenario.versions(&site, "with a journal"), [Version::Old]);

        let output = scenario.command(&site, "recover").output().unwrap();

        assert_eq!(exit_code(&output), 0, "{}", stderr(&output));
        assert!(
            stdout(&output).contains("puqbackup-journal"),
            "recover removed the journal and said `{}`",
            stdout(&output)
        );
        assert!(site.leftovers().is_empty(), "{:?}", site.leftovers());
        found = true;
        break;
    }
    assert!(found, "no crash point left a journal with nothing swapped");
}

/// Every operation kind, including those that write the journal (creating,
/// writing and syncing files, renames), failing at any point leaves whole
/// trees, nothing beside them, and a site `recover` leaves whole and tidy.
#[test]
fn failing_journal_operations_leave_whole_trees() {
    fail_every_operation_of(&["create-file", "write", "sync", "rename"]);
}
