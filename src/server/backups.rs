//! The backups themselves: list, create (then retention, then FTP upload),
//! download, delete and upload.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Local, SecondsFormat, Utc};
use chrono_tz::Tz;
use http_body_util::BodyExt;
use serde::Serialize;
use tokio::io::AsyncWriteExt;

use super::AppState;
use super::edge::{body_failure, declared_length, task_failure, too_large};
use super::envelope::{Failure, success};
use super::file_body::FileBody;
use super::request::Parameters;
use crate::catalogue::ApiError;
use crate::create::{CreateError, CreateOptions, Destination, create_backup};
use crate::format::BackupName;
use crate::ftp::{FtpSettings, TlsTrust, upload_with_trust};
use crate::verify::{Severity, VerifyOptions, verify_path};

/// The pieces a download is read and sent in, one read ahead of the piece
/// being sent. 64 KiB pieces gave 40% of nginx's throughput on a 1 GiB
/// download; 256 KiB pieces 0.67x to 0.72x, and 1 MiB pieces no more and
/// less steadily. With the allocator's arenas capped (see `puqbackup
/// serve`), memory under load stays flat with these.
const DOWNLOAD_CHUNK: usize = 256 * 1024;

/// One backup as the list shows it.
#[derive(Debug, Clone, Serialize)]
pub struct BackupInfo {
    /// The file name.
    pub backup_name: String,
    /// When the archive was complete: RFC 3339, nanoseconds, local offset.
    pub creation_date: String,
    /// Size in megabytes (1,000,000 bytes), four decimals at most.
    pub size: f64,
    /// Size in bytes.
    pub size_bytes: u64,
}

/// The list's view of the backup `name` with `metadata` (not followed
/// through a symbolic link): `None` for anything but a regular file, so a
/// link never lists.
fn info(metadata: &std::fs::Metadata, name: &str, zone: Tz) -> Option<BackupInfo> {
    if !metadata.is_file() {
        return None;
    }
    let modified: DateTime<Utc> = metadata.modified().ok()?.into();
    let modified = modified.with_timezone(&zone);
    let bytes = metadata.len();
    Some(BackupInfo {
        backup_name: name.to_string(),
        creation_date: modified.to_rfc3339_opts(SecondsFormat::Nanos, false),
        size: (bytes as f64 / 1_000_000.0 * 10_000.0).round() / 10_000.0,
        size_bytes: bytes,
    })
}

/// [`info`] of the file at `path`, not followed through a symbolic link.
fn info_at(path: &Path, name: &str, zone: Tz) -> Option<BackupInfo> {
    info(&std::fs::symlink_metadata(path).ok()?, name, zone)
}

/// Every backup in the folder, newest first (by the time in the name, then
/// by name), with dates in `zone`.
pub fn list_backups(folder: &Path, zone: Tz) -> Vec<BackupInfo> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    let mut found: Vec<(BackupName, BackupInfo)> = entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let parsed = BackupName::parse(&name).ok()?;
            // The entry's own metadata is read relative to the folder and
            // does not follow a symbolic link.
            let metadata = entry.metadata().ok()?;
            Some((parsed, info(&metadata, &name, zone)?))
        })
        .collect();
    found.sort_by(|(left, left_info), (right, right_info)| {
        right
            .time
            .cmp(&left.time)
            .then_with(|| right_info.backup_name.cmp(&left_info.backup_name))
    });
    found.into_iter().map(|(_, info)| info).collect()
}

/// `GET /api/v1/backups` and `/api/v1/system/backups`.
pub async fn list(State(state): State<Arc<AppState>>) -> Response {
    let folder = state.settings.backups_dir();
    let zone = state.zone;
    let backups = tokio::task::spawn_blocking(move || list_backups(&folder, zone))
        .await
        .unwrap_or_default();
    success(Listing { backups })
}

/// The `msg` of a listing, serialized straight from the list.
#[derive(Serialize)]
struct Listing {
    backups: Vec<BackupInfo>,
}

/// Removes the hidden temporary files of creates and uploads that were cut
/// off (by a crash or `kill -9`).
pub fn remove_partial_files(folder: &Path) {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') && name.ends_with(".partial") {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => tracing::warn!("removed `{name}`, left by a backup that was cut off"),
                Err(error) => tracing::warn!("cannot remove `{name}`: {error}"),
            }
        }
    }
}

/// Keeps the newest `keep` backups and removes the rest; answers the names
/// removed.
pub fn apply_retention(folder: &Path, keep: usize) -> Vec<String> {
    let mut removed = Vec::new();
    for old in list_backups(folder, Tz::UTC).into_iter().skip(keep) {
        match std::fs::remove_file(folder.join(&old.backup_name)) {
            Ok(()) => removed.push(old.backup_name),
            Err(error) => tracing::warn!("retention cannot remove `{}`: {error}", old.backup_name),
        }
    }
    removed
}

/// Makes a backup, applies retention, and uploads it when FTP is on. Holds
/// the operation lock throughout (waiting for it when `wait`, refusing when
/// busy otherwise).
///
/// # Errors
/// `Error backup creation:` when the archive cannot be made or another
/// operation runs; `FTP upload error:` when it was made (and kept) but not
/// uploaded.
pub async fn make_backup(
    state: &Arc<AppState>,
    statistics: bool,
    wait: bool,
) -> Result<BackupInfo, Failure> {
    let _operation = if wait {
        state.operation.lock().await
    } else {
        state.operation.try_lock().map_err(|_| {
            Failure::api(
                StatusCode::CONFLICT,
                ApiError::BackupCreation,
                "another backup or a restore is running",
            )
        })?
    };
    let settings = state.backup_settings();
    let folder = state.settings.backups_dir();

    // Create; a name taken in the same second waits for the next one, so
    // that every backup keeps a true name.
    let mut options = CreateOptions::new(
        state.settings.config_dir(),
        &state.host,
        Destination::Directory(folder.clone()),
    );
    if statistics {
        options.statistics_dir = Some(state.settings.statistics_dir());
    }
    options.time_zone = Some(state.zone);
    let created = {
        let mut attempt = 0;
        loop {
            let options = options.clone();
            let result = tokio::task::spawn_blocking(move || create_backup(&options))
                .await
                .map_err(|error| {
                    Failure::api(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        ApiError::BackupCreation,
                        task_failure(error),
                    )
                })?;
            match result {
                Err(CreateError::Exists(_)) if attempt < 3 => {
                    attempt += 1;
                    let millis = 1000 - u64::from(Local::now().timestamp_subsec_millis().min(999));
                    tokio::time::sleep(Duration::from_millis(millis + 5)).await;
                }
                Err(error) => {
                    tracing::error!("backup not created: {error}");
                    return Err(Failure::api(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        ApiError::BackupCreation,
                        error,
                    ));
                }
                Ok(created) => break created,
            }
        }
    };
    tracing::info!(
        name = created.name,
        bytes = created.size,
        statistics = created.statistics,
        "backup created"
    );

    let keep = usize::try_from(settings.number_backups).unwrap_or(usize::MAX);
    let retention_folder = folder.clone();
    let removed = tokio::task::spawn_blocking(move || apply_retention(&retention_folder, keep))
        .await
        .unwrap_or_default();
    for name in removed {
        tracing::info!(name, "removed by retention");
    }

    if settings.backup_to_ftp {
        let ftp = FtpSettings {
            server: settings.ftp_server.clone(),
            port: settings.ftp_server_port,
            user: settings.ftp_user.clone(),
            password: settings.ftp_password.clone(),
            path: settings.ftp_path.clone(),
            tls: settings.ftp_tls,
            connect_timeout: Duration::from_secs(state.settings.ftp_connect_timeout_seconds.max(1)),
            transfer_timeout: Duration::from_secs(
                state.settings.ftp_transfer_timeout_seconds.max(1),
            ),
        };
        let local = created.path.clone();
        let name = created.name.clone();
        let trusted = state.settings.ftp_trusted_certificates.clone();
        let result = tokio::task::spawn_blocking(move || {
            // Read at each upload, so that a renewed certificate is used
            // without a restart.
            let trust = match &trusted {
                Some(path) => TlsTrust::from_pem_file(path)
                    .map_err(crate::ftp::FtpError::TrustedCertificates)?,
                None => TlsTrust::SystemRoots,
            };
            upload_with_trust(&ftp, &trust, &local, &name)
        })
        .await;
        match result {
            Ok(Ok(report)) => tracing::info!(
                remote = report.remote_path,
                bytes = report.bytes,
                milliseconds = report.elapsed.as_millis() as u64,
                "uploaded to FTP"
            ),
            Ok(Err(error)) => {
                tracing::error!(name = created.name, "FTP upload failed: {error}");
                return Err(Failure::api(
                    StatusCode::BAD_GATEWAY,
                    ApiError::FtpUpload,
                    error,
                ));
            }
            Err(error) => {
                return Err(Failure::api(
                    StatusCode::BAD_GATEWAY,
                    ApiError::FtpUpload,
                    task_failure(error),
                ));
            }
        }
    }

    info_at(&created.path, &created.name, state.zone).ok_or_else(|| {
        Failure::api(
            StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::BackupCreation,
            "the new backup vanished",
        )
    })
}

/// `POST /api/v1/backups` with `statistics=0|1`.
pub async fn create(State(state): State<Arc<AppState>>, parameters: Parameters) -> Response {
    let statistics = match parameters.get("statistics").map(str::trim) {
        None | Some("0") | Some("") | Some("false") => false,
        Some("1") | Some("true") => true,
        Some(other) => {
            return Failure::new(
                StatusCode::BAD_REQUEST,
                format!("`statistics` must be 0 or 1, not `{other}`"),
            )
            .into_response();
        }
    };
    match make_backup(&state, statistics, false).await {
        Ok(info) => success(info),
        Err(failure) => failure.into_response(),
    }
}

/// The path of the listed backup `name`, or `There is no backup with this
/// name` for anything else: path tricks, a name that did not decode (a
/// percent escape that is not UTF-8), and anything in the backups folder
/// that is not a regular file, a symbolic link included, since the list
/// shows only those.
fn backup_path(
    state: &AppState,
    name: Result<UrlPath<String>, PathRejection>,
) -> Result<PathBuf, Failure> {
    let missing = || Failure::new(StatusCode::NOT_FOUND, ApiError::NoSuchBackup.text());
    let Ok(UrlPath(name)) = name else {
        return Err(missing());
    };
    if name.contains(['/', '\\', '\0']) || BackupName::parse(&name).is_err() {
        return Err(missing());
    }
    let path = state.settings.backups_dir().join(&name);
    match std::fs::symlink_metadata(&path) {
        Ok(metadata) if metadata.is_file() => Ok(path),
        _ => Err(missing()),
    }
}

/// A byte range `start..=end` of a file of `length` bytes, from a `Range`
/// header: `None` without one, `Err` for one that cannot be served.
fn requested_range(headers: &HeaderMap, length: u64) -> Option<Result<(u64, u64), ()>> {
    let text = headers.get(header::RANGE)?.to_str().ok()?;
    let spec = text.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        // Several ranges: serve the whole file, as the standard allows.
        return None;
    }
    let (first, last) = spec.split_once('-')?;
    let range = match (first.trim(), last.trim()) {
        ("", "") => return Some(Err(())),
        ("", suffix) => match suffix.parse::<u64>() {
            Ok(0) | Err(_) => return Some(Err(())),
            Ok(count) => (length.saturating_sub(count), length.checked_sub(1)?),
        },
        (start, "") => match start.parse::<u64>() {
            Ok(start) if start < length => (start, length - 1),
            _ => return Some(Err(())),
        },
        (start, end) => match (start.parse::<u64>(), end.parse::<u64>()) {
            (Ok(start), Ok(end)) if start <= end && start < length => (start, end.min(length - 1)),
            _ => return Some(Err(())),
        },
    };
    Some(Ok(range))
}

/// `GET /api/v1/backups/<name>`: streams the file, whole or a byte range.
pub async fn download(
    State(state): State<Arc<AppState>>,
    name: Result<UrlPath<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    let path = match backup_path(&state, name) {
        Ok(path) => path,
        Err(failure) => return failure.into_response(),
    };
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let file = match tokio::fs::File::open(&path).await {
        Ok(file) => file,
        Err(_) => {
            return Failure::new(StatusCode::NOT_FOUND, ApiError::NoSuchBackup.text())
                .into_response();
        }
    };
    let length = file
        .metadata()
        .await
        .map(|metadata| metadata.len())
        .unwrap_or(0);

    let (status, start, end) = match requested_range(&headers, length) {
        None => (StatusCode::OK, 0, length.saturating_sub(1)),
        Some(Ok((start, end))) => (StatusCode::PARTIAL_CONTENT, start, end),
        Some(Err(())) => {
            let mut response = Failure::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                format!("the range cannot be served from a file of {length} bytes"),
            )
            .into_response();
            if let Ok(value) = HeaderValue::from_str(&format!("bytes */{length}")) {
                response.headers_mut().insert(header::CONTENT_RANGE, value);
            }
            return response;
        }
    };
    let count = if length == 0 { 0 } else { end - start + 1 };
    let body = Body::new(FileBody::new(
        file.into_std().await,
        start,
        count,
        DOWNLOAD_CHUNK,
    ));

    let mut response = (status, body).into_response();
    let response_headers = response.headers_mut();
    response_headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    response_headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Ok(value) = HeaderValue::from_str(&count.to_string()) {
        response_headers.insert(header::CONTENT_LENGTH, value);
    }
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        response_headers.insert(header::CONTENT_DISPOSITION, value);
    }
    if status == StatusCode::PARTIAL_CONTENT
        && let Ok(value) = HeaderValue::from_str(&format!("bytes {start}-{end}/{length}"))
    {
        response_headers.insert(header::CONTENT_RANGE, value);
    }
    response
}

/// `DELETE /api/v1/backups/<name>`: removes the local copy only.
pub async fn delete(
    State(state): State<Arc<AppState>>,
    name: Result<UrlPath<String>, PathRejection>,
) -> Response {
    let path = match backup_path(&state, name) {
        Ok(path) => path,
        Err(failure) => return failure.into_response(),
    };
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    match tokio::fs::remove_file(&path).await {
        Ok(()) => {
            tracing::info!(name, "backup deleted");
            success("success")
        }
        Err(error) => Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot delete `{name}`: {error}"),
        )
        .into_response(),
    }
}

/// `POST /api/v1/backups/upload[?backup_name=NAME]` with the archive as the
/// body: written under a hidden name, verified completely, and only then
/// listed. A refused upload leaves nothing behind.
pub async fn upload(
    State(state): State<Arc<AppState>>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match receive_upload(&state, &uri, &headers, body).await {
        Ok(info) => success(info),
        Err(failure) => failure.into_response(),
    }
}

async fn receive_upload(
    state: &Arc<AppState>,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body,
) -> Result<BackupInfo, Failure> {
    let query = Parameters::parse(uri.query().unwrap_or(""), b"")?;
    let wanted = query.get("backup_name").map(str::to_string);

    // A body declared larger than the limit is refused before a byte of it
    // is read or a file is made for it.
    let limit = state.settings.max_upload_bytes;
    if declared_length(headers).is_some_and(|length| length > limit) {
        return Err(too_large(limit));
    }

    let folder = state.settings.backups_dir();
    let random: u64 = rand_suffix();
    let temporary = folder.join(format!(".upload-{random:016x}.partial"));

    // The body, streamed to disk, cut off past the upload limit.
    let written = async {
        let mut file = tokio::fs::File::create(&temporary).await.map_err(|error| {
            Failure::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the upload cannot be stored: {error}"),
            )
        })?;
        let mut body =
            http_body_util::Limited::new(body, usize::try_from(limit).unwrap_or(usize::MAX));
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|error| body_failure(&*error, limit))?;
            if let Ok(data) = frame.into_data() {
                file.write_all(&data).await.map_err(|error| {
                    Failure::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        format!("the upload cannot be stored: {error}"),
                    )
                })?;
            }
        }
        file.sync_all().await.map_err(|error| {
            Failure::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the upload cannot be stored: {error}"),
            )
        })
    }
    .await;
    let cleanup = |failure: Failure| {
        let _ = std::fs::remove_file(&temporary);
        failure
    };
    written.map_err(cleanup)?;

    // The whole check, then the name.
    let checked = temporary.clone();
    let report = tokio::task::spawn_blocking(move || {
        verify_path(&checked, &VerifyOptions::default(), &mut |_, _| {})
    })
    .await
    .map_err(|error| {
        cleanup(Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            task_failure(error),
        ))
    })?;
    if let Some(problem) = report
        .problems
        .iter()
        .find(|problem| problem.severity == Severity::Error)
    {
        return Err(cleanup(Failure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            problem.message.clone(),
        )));
    }
    let name = wanted
        .or_else(|| {
            report
                .metadata
                .as_ref()
                .map(|metadata| metadata.backup_name.clone())
        })
        .unwrap_or_default();
    if BackupName::parse(&name).is_err() || name.contains(['/', '\\', '\0']) {
        return Err(cleanup(Failure::new(
            StatusCode::BAD_REQUEST,
            format!("`{name}` is not a backup name (`<host>_YYYY-MM-DD_HH-MM-SS.zip`)"),
        )));
    }
    let target = folder.join(&name);
    match rustix::fs::renameat_with(
        rustix::fs::CWD,
        &temporary,
        rustix::fs::CWD,
        &target,
        rustix::fs::RenameFlags::NOREPLACE,
    ) {
        Ok(()) => {}
        Err(rustix::io::Errno::EXIST) => {
            return Err(cleanup(Failure::new(
                StatusCode::CONFLICT,
                format!("a backup named `{name}` already exists"),
            )));
        }
        Err(errno) => {
            return Err(cleanup(Failure::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("cannot store `{name}`: {errno}"),
            )));
        }
    }
    tracing::info!(name, "backup uploaded");
    info_at(&target, &name, state.zone)
        .ok_or_else(|| Failure::new(StatusCode::INTERNAL_SERVER_ERROR, "the upload vanished"))
}

fn rand_suffix() -> u64 {
    let mut bytes = [0u8; 8];
    let _ = rustix::rand::getrandom(&mut bytes, rustix::rand::GetRandomFlags::empty());
    u64::from_le_bytes(bytes)
}
