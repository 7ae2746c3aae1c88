//! Archives the fuzz targets (fuzz/) found to be handled wrongly, each
//! pinned by a test named after what went wrong.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod support;

use puqbackup::catalogue::ApiError;
use puqbackup::verify::{VerifyOptions, verify_source};
use support::{
    Member, archive_bytes, exit_code, list_line, members, puqbackup, sample_config, stderr,
    tree_image, write_file, write_zip,
};
use tempfile::TempDir;

/// A sample backup with a file entry `name` (holding `x`) before its
/// metadata, and a file list that names it, so that only the name is
/// wrong.
fn with_file_named(name: &str) -> Vec<u8> {
    with_files_named(&[name])
}

/// The sample backup with files of these names added before the metadata,
/// listed with their true hashes.
fn with_files_named(names: &[&str]) -> Vec<u8> {
    let mut all = members(&archive_bytes(sample_config().path()));
    let metadata = all
        .iter()
        .position(|member| member.name == "metadata.json")
        .unwrap();
    for name in names.iter().rev() {
        all.insert(
            metadata,
            Member {
                name: (*name).to_string(),
                data: b"x".to_vec(),
            },
        );
    }
    let list: String = all
        .iter()
        .filter(|member| !member.name.ends_with('/') && member.name != "filelist.sha256")
        .map(|member| list_line(&member.name, &member.data))
        .collect();
    all.iter_mut()
        .find(|member| member.name == "filelist.sha256")
        .unwrap()
        .data = list.into_bytes();
    write_zip(&all)
}

/// A file entry named `config` or `statistics`, where a tree's own folder
/// belongs, was called valid by verify while a restore of it failed with
/// `Failed to create file:` (not the archive's fault, so a 500 from the
/// server): it is a foreign entry, refused before anything is written.
#[test]
fn a_file_in_the_place_of_a_tree_folder_is_refused_before_extraction() {
    for name in ["config", "statistics"] {
        let archive = with_file_named(name);
        let report = verify_source(
            archive.as_slice(),
            "probe.zip",
            &VerifyOptions::default(),
            &mut |_, _| {},
        );
        assert!(!report.valid, "{name}: called valid");
        let codes: Vec<String> = report.codes().iter().map(|code| code.as_str()).collect();
        assert!(
            codes.contains(&"foreign-entry".to_string()),
            "{name}: {codes:?}"
        );

        let site = TempDir::new().unwrap();
        let config = site.path().join("config");
        std::fs::create_dir(&config).unwrap();
        write_file(&config, "keep.conf", b"old");
        let before = tree_image(&config);
        let path = write_file(site.path(), "backup.zip", &archive);
        let output = puqbackup()
            .env_remove("PUQBACKUP_FAULT")
            .arg("restore")
            .arg(&path)
            .arg("--config-dir")
            .arg(&config)
            .output()
            .unwrap();
        assert_eq!(exit_code(&output), 1, "{name}: {}", stderr(&output));
        assert!(
            stderr(&output).contains(ApiError::BackupReader.text()),
            "{name}: {}",
            stderr(&output)
        );
        assert_eq!(tree_image(&config), before, "{name}: the live tree changed");
    }
}

/// Files several folders deep with no folder entries, beside files named
/// like two of the folders above them: both are duplicates, whichever file
/// names their folders first.
#[test]
fn files_named_like_folders_far_above_are_duplicates() {
    let archive = with_files_named(&[
        "config/deep/a/b/one.conf",
        "config/deep/a/b/two.conf",
        "config/deep/a/c/three.conf",
        "config/deep/a",
        "config/deep",
        "config/deep/a/c/four.conf",
    ]);
    let report = verify_source(
        archive.as_slice(),
        "probe.zip",
        &VerifyOptions::default(),
        &mut |_, _| {},
    );
    let duplicates: Vec<&str> = report
        .problems
        .iter()
        .filter(|problem| problem.code.as_str() == "duplicate-name")
        .map(|problem| problem.message.as_str())
        .collect();
    assert_eq!(duplicates.len(), 2, "{duplicates:?}");
    for folder in ["config/deep", "config/deep/a"] {
        assert!(
            duplicates
                .iter()
                .any(|message| message.contains(&format!("`{folder}` is a file and also a folder"))),
            "{folder}: {duplicates:?}"
        );
    }
}

/// A file entry at a path that the archive also has as a folder
/// (`config/wireguard` beside `config/wireguard/` and its files, or only
/// beside its files) was called valid by verify while its restore failed
/// with `Failed to create file:` on `File exists`: it is a duplicate name,
/// refused before anything is written.
#[test]
fn a_file_that_is_also_a_folder_is_refused_before_extraction() {
    let sample = members(&archive_bytes(sample_config().path()));
    let folder = sample
        .iter()
        .find(|member| member.name.ends_with('/') && member.name.matches('/').count() == 2)
        .map(|member| member.name.trim_end_matches('/').to_string())
        .expect("a folder inside the configuration tree");
    let inner_file = sample
        .iter()
        .find(|member| {
            member.name.starts_with(&format!("{folder}/")) && !member.name.ends_with('/')
        })
        .map(|member| member.name.clone())
        .expect("a file in that folder");

    let with_folder_entry = with_file_named(&folder);
    let without_folder_entry = {
        let mut all = members(&with_folder_entry);
        all.retain(|member| member.name != format!("{folder}/"));
        write_zip(&all)
    };
    for (what, archive) in [
        ("beside the folder entry", with_folder_entry),
        ("beside the folder's files only", without_folder_entry),
    ] {
        assert!(
            members(&archive)
                .iter()
                .any(|member| member.name == inner_file),
            "{what}: the folder's file is in the archive"
        );
        let report = verify_source(
            archive.as_slice(),
            "probe.zip",
            &VerifyOptions::default(),
            &mut |_, _| {},
        );
        assert!(!report.valid, "{what}: called valid");
        let duplicate = report
            .problems
            .iter()
            .find(|problem| problem.code.as_str() == "duplicate-name")
            .unwrap_or_else(|| panic!("{what}: {:?}", report.codes()));
        assert!(
            duplicate.message.contains(&format!("`{folder}`")),
            "{}",
            duplicate.message
        );

        let site = TempDir::new().unwrap();
        let config = site.path().join("config");
        std::fs::create_dir(&config).unwrap();
        write_file(&config, "keep.conf", b"old");
        let before = tree_image(&config);
        let path = write_file(site.path(), "backup.zip", &archive);
        let output = puqbackup()
            .env_remove("PUQBACKUP_FAULT")
            .arg("restore")
            .arg(&path)
            .arg("--config-dir")
            .arg(&config)
            .output()
            .unwrap();
        assert_eq!(exit_code(&output), 1, "{what}: {}", stderr(&output));
        assert!(
            stderr(&output).contains(ApiError::OpenArchive.text()),
            "{what}: {}",
            stderr(&output)
        );
        assert_eq!(tree_image(&config), before, "{what}: the live tree changed");
    }
}
