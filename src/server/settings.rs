//! The server's own settings: where it listens, where its data is, and how
//! it runs. Read from a TOML file (every key is documented in
//! docs/SERVER.md); every key has a default, so the server also runs with no
//! file at all.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// The settings file, as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    /// Address and port to listen on.
    pub listen: SocketAddr,
    /// The data folder; the other paths default to folders inside it.
    pub data_dir: PathBuf,
    /// The panel's live configuration tree.
    pub config_dir: Option<PathBuf>,
    /// The panel's live statistics tree.
    pub statistics_dir: Option<PathBuf>,
    /// Where backups are kept.
    pub backups_dir: Option<PathBuf>,
    /// The host name in backup names; by default this machine's.
    pub host_name: Option<String>,
    /// The IANA time zone of the schedules and names; by default the
    /// system's.
    pub time_zone: Option<String>,
    /// A command run after a successful restore (program and arguments).
    pub reload_command: Vec<String>,
    /// A command whose failure makes the status a failure text.
    pub health_command: Vec<String>,
    /// PEM certificate chain for HTTPS.
    pub tls_certificate: Option<PathBuf>,
    /// PEM private key for HTTPS.
    pub tls_key: Option<PathBuf>,
    /// Proxies whose `X-Forwarded-For` is believed (addresses or networks).
    pub trusted_proxies: Vec<String>,
    /// A PEM file of the certificates an FTPS server's certificate must
    /// chain to (a private CA, or the server's own self-signed
    /// certificate); by default the system's root certificates.
    pub ftp_trusted_certificates: Option<PathBuf>,
    /// Seconds to wait for an FTP server to answer a connection.
    pub ftp_connect_timeout_seconds: u64,
    /// Seconds an FTP transfer may stall before it fails.
    pub ftp_transfer_timeout_seconds: u64,
    /// Pre-restore snapshots kept beside each live tree.
    pub keep_snapshots: usize,
    /// The largest upload accepted, in bytes.
    pub max_upload_bytes: u64,
    /// Seconds a reload or health command may run.
    pub command_timeout_seconds: u64,
    /// Seconds a client has to send a request's line and headers, counted
    /// from the moment the server waits for them (an idle kept-alive
    /// connection included); then the connection is closed.
    pub header_read_timeout_seconds: u64,
    /// Seconds a request body may pause between two pieces; a form body
    /// must also arrive whole within it. Then the request is answered 408.
    pub body_timeout_seconds: u64,
    /// Connections served at once; one more is answered 503 and closed.
    pub max_connections: usize,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("data"),
            config_dir: None,
            statistics_dir: None,
            backups_dir: None,
            host_name: None,
            time_zone: None,
            reload_command: Vec::new(),
            health_command: Vec::new(),
            tls_certificate: None,
            tls_key: None,
            trusted_proxies: Vec::new(),
            ftp_trusted_certificates: None,
            ftp_connect_timeout_seconds: 10,
            ftp_transfer_timeout_seconds: 60,
            keep_snapshots: 1,
            max_upload_bytes: 8 << 30,
            command_timeout_seconds: 120,
            header_read_timeout_seconds: 30,
            body_timeout_seconds: 60,
            max_connections: 512,
        }
    }
}

impl ServerSettings {
    /// Reads the settings file.
    ///
    /// # Errors
    /// When the file cannot be read or holds an unknown key or a bad value.
    pub fn load(path: &Path) -> Result<ServerSettings, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| format!("cannot read `{}`: {error}", path.display()))?;
        toml::from_str(&text).map_err(|error| format!("`{}`: {error}", path.display()))
    }

    /// The same settings with every folder made absolute (against the
    /// current folder), so that no later change of the current folder
    /// moves them and every message names them in one way.
    ///
    /// # Errors
    /// When the current folder cannot be read.
    pub fn made_absolute(mut self) -> std::io::Result<ServerSettings> {
        self.data_dir = std::path::absolute(&self.data_dir)?;
        for folder in [
            &mut self.config_dir,
            &mut self.statistics_dir,
            &mut self.backups_dir,
        ]
        .into_iter()
        .flatten()
        {
            *folder = std::path::absolute(&*folder)?;
        }
        Ok(self)
    }

    /// The configuration tree's path.
    pub fn config_dir(&self) -> PathBuf {
        self.config_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("config"))
    }

    /// The statistics tree's path.
    pub fn statistics_dir(&self) -> PathBuf {
        self.statistics_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("statistics"))
    }

    /// The backups folder's path.
    pub fn backups_dir(&self) -> PathBuf {
        self.backups_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("backups"))
    }

    /// The access-hash store.
    pub fn access_store(&self) -> PathBuf {
        self.data_dir.join("access-hashes.json")
    }

    /// The backup settings of the API (schedules, retention, FTP).
    pub fn backup_settings_file(&self) -> PathBuf {
        self.data_dir.join("backup-settings.json")
    }

    /// How long a client may take to send a request's head; never zero.
    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_secs(self.header_read_timeout_seconds.max(1))
    }

    /// How long a request body may pause; never zero.
    pub fn body_timeout(&self) -> Duration {
        Duration::from_secs(self.body_timeout_seconds.max(1))
    }
}
