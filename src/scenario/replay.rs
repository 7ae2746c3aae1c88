//! Replaying one scenario in a temporary folder.

use std::fs;
use std::path::{Path, PathBuf};

use chrono::DateTime;
use serde::Serialize;

use super::tree::{
    Picture, TemporaryFolder, differences, materialize, picture, picture_of_archive,
    picture_of_spec, tempfile_folder,
};
use super::{Damage, ExpectedResult, Scenario};
use crate::create::{CreateOptions, Destination, create_backup};
use crate::format::Place;
use crate::restore::{RestoreOptions, find_backup, restore_archive};
use crate::units::parse_size;

/// The outcome of one scenario.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// The scenario file.
    pub scenario: String,
    /// What it describes.
    pub description: String,
    /// What was expected: `success`, or `refused: <text>`.
    pub expected: String,
    /// What happened: `success`, or the message.
    pub got: String,
    /// Whether the two agree and the trees are as expected.
    pub passed: bool,
    /// Why it did not pass.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    /// How long it took, in milliseconds.
    pub milliseconds: u128,
}

/// Replays the scenario in `path`.
pub fn replay_file(path: &Path) -> Verdict {
    let started = std::time::Instant::now();
    let mut verdict = Verdict {
        scenario: path.display().to_string(),
        description: String::new(),
        expected: String::new(),
        got: String::new(),
        passed: false,
        reasons: Vec::new(),
        milliseconds: 0,
    };
    match Scenario::load(path) {
        Ok(scenario) => {
            verdict.description = scenario.description.clone();
            verdict.expected = match scenario.expect.result {
                ExpectedResult::Success => "success".to_string(),
                ExpectedResult::Refused => {
                    format!(
                        "refused: {}",
                        scenario.expect.error.clone().unwrap_or_default()
                    )
                }
            };
            let base = path.parent().unwrap_or(Path::new("."));
            if let Err(reason) = run(&scenario, base, &mut verdict) {
                verdict.reasons.push(reason);
            }
        }
        Err(reason) => verdict.reasons.push(reason),
    }
    verdict.passed = verdict.reasons.is_empty();
    verdict.milliseconds = started.elapsed().as_millis();
    verdict
}

/// A tmpfs mounted for a scenario, unmounted on drop.
struct Mount {
    target: PathBuf,
}

impl Mount {
    fn tmpfs(target: &Path, size: u64) -> Result<Mount, String> {
        fs::create_dir_all(target)
            .map_err(|error| format!("cannot create `{}`: {error}", target.display()))?;
        let data = std::ffi::CString::new(format!("size={size},mode=0755"))
            .map_err(|error| error.to_string())?;
        rustix::mount::mount(
            "tmpfs",
            target,
            "tmpfs",
            rustix::mount::MountFlags::empty(),
            Some(data.as_c_str()),
        )
        .map_err(|errno| {
            format!(
                "cannot mount a tmpfs at `{}` (this condition needs root): {errno}",
                target.display()
            )
        })?;
        Ok(Mount {
            target: target.to_path_buf(),
        })
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = rustix::mount::unmount(&self.target, rustix::mount::UnmountFlags::DETACH);
    }
}

fn run(scenario: &Scenario, base: &Path, verdict: &mut Verdict) -> Result<(), String> {
    let work = tempfile_folder()?;
    let backups = work.path().join("backups");
    fs::create_dir_all(&backups).map_err(|error| error.to_string())?;

    // The archive: a fixture or a freshly built backup, then its damage.
    let (mut bytes, own_name) = build_archive(scenario, base, &work)?;
    for damage in &scenario.archive.damage {
        apply_damage(&mut bytes, damage)?;
    }
    let name = scenario.archive.name.clone().unwrap_or(own_name);
    if !scenario.archive.missing {
        let target = backups.join(&name);
        fs::write(&target, &bytes)
            .map_err(|error| format!("cannot write `{}`: {error}", target.display()))?;
    }

    // The live trees, on a small real file system when asked. Mounts are
    // dropped (unmounted) before the work folder is removed.
    let mut mounts = Vec::new();
    let root = work.path().join("data");
    if let Some(size) = &scenario.conditions.tmpfs_size {
        mounts.push(Mount::tmpfs(&root, parse_size(size)?)?);
    }
    fs::create_dir_all(&root).map_err(|error| error.to_string())?;
    let config_dir = root.join("config");
    let statistics_dir = root.join("statistics");
    if scenario.conditions.config_is_mount_point {
        mounts.push(Mount::tmpfs(&config_dir, 1 << 20)?);
    }
    if let Some(spec) = &scenario.live.config {
        materialize(&config_dir, spec)?;
    }
    if let Some(spec) = &scenario.live.statistics {
        materialize(&statistics_dir, spec)?;
    }
    let config_before = picture(&config_dir)?;
    let statistics_before = picture(&statistics_dir)?;

    // The restore itself.
    let mut options = RestoreOptions::new(&config_dir);
    let with_statistics = scenario
        .live
        .statistics_dir
        .unwrap_or(scenario.live.statistics.is_some());
    if with_statistics {
        options.statistics_dir = Some(statistics_dir.clone());
    }
    options.faults = scenario.conditions.faults.clone();
    options.panel_status = Some(
        scenario
            .conditions
            .panel_status
            .clone()
            .unwrap_or_else(|| "OK".to_string()),
    );
    if let Some(keep) = scenario.conditions.keep_snapshots {
        options.snapshots_to_keep = keep;
    }
    if let Some(size) = &scenario.conditions.max_size {
        options.max_size = parse_size(size)?;
    }
    let result = find_backup(&backups, &name).and_then(|path| restore_archive(&path, &options));
    verdict.got = match &result {
        Ok(_) => "success".to_string(),
        Err(error) => error.to_string(),
    };

    // The judgement: the result, then the trees.
    let config_after = picture(&config_dir)?;
    let statistics_after = picture(&statistics_dir)?;
    match (scenario.expect.result, &result) {
        (ExpectedResult::Success, Ok(_)) => {
            let expected_config = match &scenario.expect.config {
                Some(spec) => Some(picture_of_spec(spec)?),
                None => picture_of_archive(&bytes, Place::Config)?,
            };
            compare(
                "configuration",
                expected_config.as_ref(),
                config_after.as_ref(),
                verdict,
            );
            let archive_statistics = picture_of_archive(&bytes, Place::Statistics)?;
            let expected_statistics = match &scenario.expect.statistics {
                Some(spec) => Some(picture_of_spec(spec)?),
                None if with_statistics && archive_statistics.is_some() => archive_statistics,
                None => statistics_before,
            };
            compare(
                "statistics",
                expected_statistics.as_ref(),
                statistics_after.as_ref(),
                verdict,
            );
        }
        (ExpectedResult::Refused, Err(error)) => {
            let text = scenario.expect.error.clone().unwrap_or_default();
            if !error.to_string().starts_with(&text) {
                verdict
                    .reasons
                    .push(format!("the message does not start with `{text}`"));
            }
            compare(
                "configuration",
                config_before.as_ref(),
                config_after.as_ref(),
                verdict,
            );
            compare(
                "statistics",
                statistics_before.as_ref(),
                statistics_after.as_ref(),
                verdict,
            );
        }
        (ExpectedResult::Success, Err(_)) => {
            verdict.reasons.push("the restore failed".to_string());
        }
        (ExpectedResult::Refused, Ok(_)) => {
            verdict.reasons.push("the restore succeeded".to_string());
        }
    }

    // Nothing of the restore's own may stay behind but snapshots.
    let leftovers: Vec<String> = fs::read_dir(&root)
        .map_err(|error| error.to_string())?
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".puqbackup-staging") || name.contains(".puqbackup-journal"))
        .collect();
    if !leftovers.is_empty() {
        verdict
            .reasons
            .push(format!("left behind: {}", leftovers.join(", ")));
    }
    drop(mounts);
    Ok(())
}

fn compare(
    label: &str,
    expected: Option<&Picture>,
    actual: Option<&Picture>,
    verdict: &mut Verdict,
) {
    match (expected, actual) {
        (None, None) => {}
        (Some(_), None) => verdict.reasons.push(format!("the {label} tree is missing")),
        (None, Some(actual)) if actual.is_empty() => {}
        (None, Some(_)) => verdict.reasons.push(format!("a {label} tree appeared")),
        (Some(expected), Some(actual)) => {
            let lines = differences(expected, actual, 5);
            if !lines.is_empty() {
                verdict
                    .reasons
                    .push(format!("the {label} tree differs: {}", lines.join("; ")));
            }
        }
    }
}

/// The archive's bytes and its own name.
fn build_archive(
    scenario: &Scenario,
    base: &Path,
    work: &TemporaryFolder,
) -> Result<(Vec<u8>, String), String> {
    if let Some(fixture) = &scenario.archive.fixture {
        let path = base.join(fixture);
        let bytes = fs::read(&path)
            .map_err(|error| format!("cannot read `{}`: {error}", path.display()))?;
        let name = fixture
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        return Ok((bytes, name));
    }

    let source = work.path().join("source");
    let config = source.join("config");
    materialize(
        &config,
        scenario
            .archive
            .config
            .as_ref()
            .unwrap_or(&Default::default()),
    )?;
    let out = work.path().join("built");
    fs::create_dir_all(&out).map_err(|error| error.to_string())?;
    let mut options = CreateOptions::new(&config, "vpn.example.net", Destination::Directory(out));
    if let Some(spec) = &scenario.archive.statistics {
        let statistics = source.join("statistics");
        materialize(&statistics, spec)?;
        options.statistics_dir = Some(statistics);
    }
    options.fixed_time = DateTime::parse_from_rfc3339("2023-01-27T19:00:40.5+01:00").ok();
    let created =
        create_backup(&options).map_err(|error| format!("cannot build the backup: {error}"))?;
    let bytes = fs::read(&created.path).map_err(|error| error.to_string())?;
    Ok((bytes, created.name))
}

fn apply_damage(bytes: &mut Vec<u8>, damage: &Damage) -> Result<(), String> {
    let position = |offset: i64, bytes: &[u8]| -> Result<usize, String> {
        let length = bytes.len() as i64;
        let absolute = if offset < 0 { length + offset } else { offset };
        usize::try_from(absolute)
            .ok()
            .filter(|position| *position < bytes.len())
            .ok_or_else(|| format!("offset {offset} is outside the {length}-byte archive"))
    };
    match damage {
        Damage::FlipByte { offset } => {
            let at = position(*offset, bytes)?;
            bytes[at] = !bytes[at];
        }
        Damage::Truncate { length } => {
            bytes.truncate(usize::try_from(*length).unwrap_or(usize::MAX));
        }
        Damage::Append { text } => bytes.extend_from_slice(text.as_bytes()),
        Damage::Overwrite { offset, hex } => {
            let at = position(*offset, bytes)?;
            let data = decode_hex(hex)?;
            if at + data.len() > bytes.len() {
                return Err(format!(
                    "overwriting {} bytes at {offset} runs past the end",
                    data.len()
                ));
            }
            bytes[at..at + data.len()].copy_from_slice(&data);
        }
    }
    Ok(())
}

fn decode_hex(text: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<char> = text
        .chars()
        .filter(|character| !character.is_whitespace())
        .collect();
    if !digits.len().is_multiple_of(2) {
        return Err(format!("`{text}` has an odd number of hex digits"));
    }
    digits
        .chunks(2)
        .map(|pair| {
            let high = pair[0].to_digit(16);
            let low = pair[1].to_digit(16);
            match (high, low) {
                (Some(high), Some(low)) => Ok((high * 16 + low) as u8),
                _ => Err(format!("`{text}` is not hex")),
            }
        })
        .collect()
}
