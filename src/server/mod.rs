//! The backups API server: every endpoint of the reference, the scheduler,
//! retention and FTP upload (described for people in docs/API.md and
//! docs/SERVER.md).
//!
//! [`prepare`] readies the data folder (sample configuration on a first
//! start, recovery of an interrupted restore, the first access hash) and
//! builds the shared [`AppState`]; [`router`] is the HTTP application, which
//! tests drive on a listener of their own; [`run`] serves it over HTTP or
//! HTTPS until SIGTERM or Ctrl-C, then lets running requests finish.

pub mod backup_settings;
mod backups;
pub mod edge;
pub mod envelope;
mod file_body;
pub mod limit;
mod operations;
pub mod redact;
pub mod request;
pub mod scheduler;
pub mod settings;
mod status;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use chrono_tz::Tz;

use crate::access::{AccessStore, AllowedNetwork, ensure_initial};
use crate::schedule::{Clock, SystemClock, parse_zone, system_zone};
pub use backup_settings::BackupSettings;
use envelope::Failure;
use limit::ConnectionLimit;
use redact::Redactor;
use request::AccessCookie;
pub use settings::ServerSettings;

/// Why the server cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A setting is wrong.
    #[error("{0}")]
    Settings(String),
    /// The data folder cannot be prepared, or the address cannot be served.
    /// The cause is part of the message and not a separate source, so that
    /// an error chain shows it once.
    #[error("{action}: {cause}")]
    Io {
        /// What was being done.
        action: String,
        /// The cause.
        cause: std::io::Error,
    },
}

fn io_error(action: String) -> impl FnOnce(std::io::Error) -> ServerError {
    move |cause| ServerError::Io { action, cause }
}

/// The access store, reloaded when its file changes (the `hash` commands
/// write it while the server runs).
struct AccessCache {
    store: AccessStore,
    modified: Option<SystemTime>,
}

/// Everything the handlers share.
pub struct AppState {
    /// The server's settings.
    pub settings: ServerSettings,
    /// Host name for backup names.
    pub host: String,
    /// Time zone of the schedules.
    pub zone: Tz,
    /// The clock the scheduler reads.
    pub clock: Arc<dyn Clock>,
    access: Mutex<AccessCache>,
    backup_settings: Mutex<BackupSettings>,
    /// One create, restore or upload check at a time.
    operation: tokio::sync::Mutex<()>,
    /// A `Loading (...)` text while a restore or reload runs.
    activity: Mutex<Option<String>>,
    trusted_proxies: Vec<AllowedNetwork>,
    /// Takes the server's folders out of error answers.
    redactor: Redactor,
}

impl AppState {
    /// The backup settings now.
    pub fn backup_settings(&self) -> BackupSettings {
        self.backup_settings
            .lock()
            .map(|settings| settings.clone())
            .unwrap_or_default()
    }

    fn set_activity(&self, text: Option<String>) {
        if let Ok(mut activity) = self.activity.lock() {
            *activity = text;
        }
    }

    fn activity(&self) -> Option<String> {
        self.activity
            .lock()
            .ok()
            .and_then(|activity| activity.clone())
    }

    /// Checks a request's access hash from `client`; answers the hash's name.
    fn authorize(&self, cookie: &AccessCookie, client: std::net::IpAddr) -> Result<String, String> {
        let cookie = match cookie {
            AccessCookie::Missing => "",
            AccessCookie::Repeated => {
                return Err("the `access_hash` cookie is given more than once".to_string());
            }
            AccessCookie::Given(value) => value.as_str(),
        };
        let Ok(mut cache) = self.access.lock() else {
            return Err("the access store is unavailable".to_string());
        };
        let modified = std::fs::metadata(cache.store.path())
            .and_then(|metadata| metadata.modified())
            .ok();
        if modified != cache.modified {
            match AccessStore::load(cache.store.path().to_path_buf()) {
                Ok(store) => {
                    cache.store = store;
                    cache.modified = modified;
                }
                Err(error) => tracing::warn!("keeping the access hashes loaded before: {error}"),
            }
        }
        cache
            .store
            .check(cookie, client)
            .map(|entry| entry.name().to_string())
            .map_err(|denied| denied.to_string())
    }
}

/// Readies the data folder and builds the state. Answers the state and, on a
/// first start without any access hash, the new hash to show once.
///
/// # Errors
/// When a setting is wrong or a folder cannot be created.
pub fn prepare(
    settings: ServerSettings,
    clock: Arc<dyn Clock>,
) -> Result<(Arc<AppState>, Option<String>), ServerError> {
    let settings = settings
        .made_absolute()
        .map_err(io_error("cannot read the current folder".to_string()))?;

    // Folders, private to the server's user; a sample configuration tree on
    // a first start so that a backup can be made at once.
    create_private_folder(&settings.data_dir)?;
    create_private_folder(&settings.backups_dir())?;
    let config_dir = settings.config_dir();
    if !config_dir.exists() {
        write_sample_configuration(&config_dir)?;
        tracing::info!(
            "created a sample configuration in `{}`",
            config_dir.display()
        );
    }
    let statistics_dir = settings.statistics_dir();
    std::fs::create_dir_all(&statistics_dir).map_err(io_error(format!(
        "cannot create `{}`",
        statistics_dir.display()
    )))?;

    // Leftovers of a create or upload that was cut off, and of a restore.
    backups::remove_partial_files(&settings.backups_dir());
    let mut restore_options = crate::restore::RestoreOptions::new(&config_dir);
    restore_options.statistics_dir = Some(statistics_dir);
    restore_options.snapshots_to_keep = settings.keep_snapshots;
    match crate::restore::recover(&restore_options) {
        Ok(notes) => {
            for note in notes {
                tracing::warn!("{note}");
            }
        }
        Err(error) => tracing::error!("recovery of an interrupted restore failed: {error}"),
    }

    let initial = ensure_initial(&settings.access_store())
        .map_err(|error| ServerError::Settings(error.to_string()))?;
    let store = AccessStore::load(settings.access_store())
        .map_err(|error| ServerError::Settings(error.to_string()))?;
    let modified = std::fs::metadata(store.path())
        .and_then(|metadata| metadata.modified())
        .ok();
    let backup_settings =
        BackupSettings::load(&settings.backup_settings_file()).map_err(ServerError::Settings)?;

    let zone = match &settings.time_zone {
        Some(name) => parse_zone(name).map_err(|error| ServerError::Settings(error.to_string()))?,
        None => system_zone(),
    };
    let host = match &settings.host_name {
        Some(host) => host.clone(),
        None => rustix::system::uname()
            .nodename()
            .to_string_lossy()
            .into_owned(),
    };
    crate::format::BackupName::new(&host, chrono::NaiveDateTime::default())
        .map_err(|error| ServerError::Settings(format!("{error}: set `host_name`")))?;
    let trusted_proxies = settings
        .trusted_proxies
        .iter()
        .map(|text| {
            text.parse::<AllowedNetwork>()
                .map_err(|error| ServerError::Settings(format!("`trusted_proxies`: {error}")))
        })
        .collect::<Result<Vec<_>, _>>()?;

    let redactor = Redactor::new(&settings);
    let state = AppState {
        redactor,
        settings,
        host,
        zone,
        clock,
        access: Mutex::new(AccessCache { store, modified }),
        backup_settings: Mutex::new(backup_settings),
        operation: tokio::sync::Mutex::new(()),
        activity: Mutex::new(None),
        trusted_proxies,
    };
    Ok((Arc::new(state), initial))
}

fn create_private_folder(path: &Path) -> Result<(), ServerError> {
    use std::os::unix::fs::DirBuilderExt;
    if path.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(io_error(format!("cannot create `{}`", path.display())))
}

fn write_sample_configuration(config_dir: &Path) -> Result<(), ServerError> {
    let files: [(&str, &str); 3] = [
        (
            "wireguard/wg0.conf",
            "[Interface]\nAddress = 10.8.0.1/24\nListenPort = 51820\n",
        ),
        (
            "wireguard/peers/example.conf",
            "[Peer]\nAllowedIPs = 10.8.0.2/32\n",
        ),
        ("panel/settings.json", "{\"language\": \"en\"}\n"),
    ];
    for (relative, content) in files {
        let path: PathBuf = config_dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(io_error(format!("cannot create `{}`", parent.display())))?;
        }
        std::fs::write(&path, content)
            .map_err(io_error(format!("cannot write `{}`", path.display())))?;
    }
    Ok(())
}

/// The HTTP application. Around the endpoints, from the outside in: the
/// log line, the closing of connections whose request was not read whole,
/// the limits on the request's head, the redaction of error
/// answers, the access check, the body timeout, and a task of its own for
/// each request (see [`edge`]).
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/api/v1/backups", get(backups::list).post(backups::create))
        .route("/api/v1/system/backups", get(backups::list))
        .route("/api/v1/backups/restore", put(operations::restore))
        .route(
            "/api/v1/backups/config",
            get(operations::get_config).put(operations::put_config),
        )
        .route("/api/v1/backups/upload", post(backups::upload))
        .route(
            "/api/v1/backups/{name}",
            get(backups::download).delete(backups::delete),
        )
        .route("/api/v1/system/status", get(status::status))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(edge::run_detached))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            edge::time_bodies,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), authorize))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            redact_failures,
        ))
        .layer(middleware::from_fn(edge::limit_heads))
        .layer(middleware::from_fn(edge::close_unread))
        .layer(middleware::from_fn_with_state(state.clone(), log_request))
        .with_state(state)
}

async fn not_found() -> Failure {
    Failure::new(StatusCode::NOT_FOUND, "no such endpoint")
}

async fn method_not_allowed() -> Failure {
    Failure::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "this endpoint does not take that method",
    )
}

/// Every request needs a valid access hash from an address it is bound to.
/// A refusal reads nothing of the request beyond its head
/// ([`edge::close_unread`] then says that the connection closes).
async fn authorize(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let Some(client) = request::client_address(&request, &state.trusted_proxies) else {
        return Failure::not_authorized().into_response();
    };
    let cookie = request::access_hash(request.headers());
    match state.authorize(&cookie, client) {
        Ok(_) => next.run(request).await,
        Err(reason) => {
            tracing::info!(client = %client, "refused: {reason}");
            Failure::not_authorized().into_response()
        }
    }
}

/// Error answers, whoever made them, with the server's folders replaced by
/// placeholders ([`Redactor`]). Other headers of the answer stay.
async fn redact_failures(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    let Some(failure) = response.extensions().get::<Failure>() else {
        return response;
    };
    let message = state.redactor.redact(&failure.message);
    if message == failure.message {
        return response;
    }
    let status = failure.status;
    let (parts, _) = response.into_parts();
    let mut redacted = Failure::new(status, message).into_response();
    for (name, value) in &parts.headers {
        if name != axum::http::header::CONTENT_LENGTH && name != axum::http::header::CONTENT_TYPE {
            redacted.headers_mut().append(name, value.clone());
        }
    }
    redacted
}

/// The longest path the request log shows whole.
const LOGGED_PATH_BYTES: usize = 256;

/// One log line per request: method, path, status, time and client. The
/// query string is left out, since a client may put a password there, and a
/// path longer than [`LOGGED_PATH_BYTES`] is cut, so that no client can
/// flood the log.
async fn log_request(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let mut path = request.uri().path().to_string();
    if path.len() > LOGGED_PATH_BYTES {
        let mut end = LOGGED_PATH_BYTES;
        while !path.is_char_boundary(end) {
            end -= 1;
        }
        path.truncate(end);
        path.push_str("...");
    }
    let client = request::client_address(&request, &state.trusted_proxies)
        .map(|address| address.to_string())
        .unwrap_or_default();
    let response = next.run(request).await;
    tracing::info!(
        %method,
        path,
        status = response.status().as_u16(),
        milliseconds = started.elapsed().as_millis() as u64,
        client,
        "request"
    );
    response
}

/// Serves until SIGTERM or Ctrl-C, over HTTPS when a certificate and key are
/// set. Running requests finish before it returns; the scheduler stops.
///
/// # Errors
/// When the address cannot be bound or the TLS files cannot be read.
pub async fn run(state: Arc<AppState>) -> Result<(), ServerError> {
    let address = state.settings.listen;
    let tls = match (&state.settings.tls_certificate, &state.settings.tls_key) {
        (Some(certificate), Some(key)) => {
            // The process's TLS provider is ring (no C toolchain needed); a
            // second install is refused harmlessly.
            let _ = rustls::crypto::ring::default_provider().install_default();
            let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(certificate, key)
                .await
                .map_err(io_error(format!(
                    "cannot read the TLS certificate `{}` or key `{}`",
                    certificate.display(),
                    key.display()
                )))?;
            Some(config)
        }
        (None, None) => None,
        _ => {
            return Err(ServerError::Settings(
                "`tls_certificate` and `tls_key` go together: set both or neither".to_string(),
            ));
        }
    };
    let listener = std::net::TcpListener::bind(address)
        .map_err(io_error(format!("cannot listen on `{address}`")))?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!("listening on {scheme}://{address}");
    serve_listener(state, listener, tls, shutdown_signal()).await
}

/// Serves plain HTTP on `listener`, with the scheduler, until `shutdown`
/// completes; then lets running requests and a running scheduled backup
/// finish. This is [`run`] without signals or TLS, for tests and embedding.
///
/// # Errors
/// When serving fails.
pub async fn serve_on(
    state: Arc<AppState>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let listener = listener
        .into_std()
        .map_err(io_error("cannot take over the listener".to_string()))?;
    serve_listener(state, listener, None, shutdown).await
}

/// Serves on `listener`, over TLS with `tls`, until `shutdown` completes.
///
/// Plain HTTP is HTTP/1 only, so that the header read timeout covers every
/// connection from its first byte. Over TLS, where HTTP/2 may be agreed,
/// the handshake and the first request are bounded by the same timeout.
async fn serve_listener(
    state: Arc<AppState>,
    listener: std::net::TcpListener,
    tls: Option<axum_server::tls_rustls::RustlsConfig>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let (stop_scheduler, stopped) = tokio::sync::watch::channel(false);
    let scheduler = tokio::spawn(scheduler::run(state.clone(), stopped));
    let application = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let header_timeout = state.settings.header_read_timeout();
    let max_connections = state.settings.max_connections;

    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        stopper.graceful_shutdown(None);
    });
    let result = async {
        let server = axum_server::from_tcp(listener)?.handle(handle);
        match tls {
            Some(config) => {
                let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(config)
                    .handshake_timeout(header_timeout);
                let acceptor = ConnectionLimit::new(acceptor, max_connections, false);
                let mut server = server
                    .acceptor(acceptor)
                    .first_request_timeout(header_timeout);
                server
                    .http_builder()
                    .http1()
                    .header_read_timeout(header_timeout);
                server.serve(application).await
            }
            None => {
                let acceptor = ConnectionLimit::new(
                    axum_server::accept::DefaultAcceptor::new(),
                    max_connections,
                    true,
                );
                let mut server = server.acceptor(acceptor).http1_only();
                server
                    .http_builder()
                    .http1()
                    .header_read_timeout(header_timeout);
                server.serve(application).await
            }
        }
    }
    .await
    .map_err(io_error("cannot serve".to_string()));

    // The scheduler stops between runs: a scheduled backup that is running
    // finishes first, so that no half-written archive stays behind.
    let _ = stop_scheduler.send(true);
    let _ = scheduler.await;
    result
}

async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
    tracing::info!("shutting down: finishing running requests");
}

/// The system clock, for the server as it runs outside tests.
pub fn system_clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}
