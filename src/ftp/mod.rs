//! Upload of a finished backup to an FTP server, synchronously (an async
//! caller runs it on a blocking thread).
//!
//! The file is stored under a temporary name in the target folder
//! (`.<name>.partial`) and renamed to its final name only once the server has
//! confirmed every byte, so the final name never shows a partial file. When an
//! upload fails after the temporary file was created, the temporary file is
//! deleted on a best-effort basis. The folder of `ftp_path` is created level by
//! level when it is missing. Transfers are binary, in passive mode (extended
//! passive when the server offers it), and optionally over explicit FTPS.
//!
//! Errors ([`FtpError`]) read as the cause after the documented
//! `FTP upload error: ` and never contain the password. Nothing is logged.

mod error;
mod session;
mod tls;

use std::fmt;
use std::fs::File;
use std::path::Path;
use std::time::{Duration, Instant};

pub use error::{Cause, FolderAction, FtpError, ServerReply};
pub use tls::TlsTrust;

use session::Session;

/// Where and how to upload: the panel's `ftp_*` settings and the limits.
#[derive(Clone, PartialEq, Eq)]
pub struct FtpSettings {
    /// Host name or IP address (`ftp_server`).
    pub server: String,
    /// Control port (`ftp_server_port`), usually 21.
    pub port: u16,
    /// User name (`ftp_user`).
    pub user: String,
    /// Password (`ftp_password`); never shown by `Debug` nor in errors.
    pub password: String,
    /// Target folder (`ftp_path`): relative to the login folder, absolute
    /// when it starts with `/`, the login folder itself when empty.
    pub path: String,
    /// Whether to secure the session with explicit FTPS (`AUTH TLS`).
    pub tls: bool,
    /// How long to wait for the TCP connection (control and data).
    pub connect_timeout: Duration,
    /// How long any single read or write on the control or data connection
    /// may wait.
    pub transfer_timeout: Duration,
}

impl fmt::Debug for FtpSettings {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("FtpSettings")
            .field("server", &self.server)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &"<hidden>")
            .field("path", &self.path)
            .field("tls", &self.tls)
            .field("connect_timeout", &self.connect_timeout)
            .field("transfer_timeout", &self.transfer_timeout)
            .finish()
    }
}

/// What a successful upload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadReport {
    /// The file's path on the server: `ftp_path` and the name, joined by `/`
    /// (relative to the login folder unless `ftp_path` is absolute).
    pub remote_path: String,
    /// Bytes sent, which the server confirmed.
    pub bytes: u64,
    /// Time from the start of the call to the final rename.
    pub elapsed: Duration,
}

/// Uploads `local` as `remote_name` into the folder `settings.path`, trusting
/// the system's root certificates when `settings.tls` is on.
///
/// # Errors
/// See [`upload_with_trust`].
pub fn upload(
    settings: &FtpSettings,
    local: &Path,
    remote_name: &str,
) -> Result<UploadReport, FtpError> {
    upload_with_trust(settings, &TlsTrust::SystemRoots, local, remote_name)
}

/// Uploads `local` as `remote_name` into the folder `settings.path`; with
/// `settings.tls` on, the server's certificate must chain to `trust`.
///
/// A file of the same name is replaced. The file is streamed, never read
/// whole into memory.
///
/// # Errors
/// [`FtpError`] says which step failed: the settings, the local file, the
/// connection, the login, a folder, the transfer, the rename, a timeout or
/// TLS. On failure the final name keeps what it held before (a rename that
/// had to delete the old file first may leave it absent), and the temporary
/// file is deleted when the server still allows it.
pub fn upload_with_trust(
    settings: &FtpSettings,
    trust: &TlsTrust,
    local: &Path,
    remote_name: &str,
) -> Result<UploadReport, FtpError> {
    let started = Instant::now();
    check_settings(settings)?;
    check_remote_name(remote_name)?;

    // The local file is opened first: a missing backup costs no connection.
    let file = File::open(local).map_err(|error| FtpError::LocalFile {
        path: local.to_path_buf(),
        cause: error::io_phrase(&error),
    })?;

    let mut session = Session::open(settings, trust)?;
    session.enter_folder(&settings.path)?;
    let bytes = session.store_and_rename(file, local, remote_name)?;
    session.quit();

    Ok(UploadReport {
        remote_path: remote_path(&settings.path, remote_name),
        bytes,
        elapsed: started.elapsed(),
    })
}

/// Refuses settings that could not work, before anything is sent.
fn check_settings(settings: &FtpSettings) -> Result<(), FtpError> {
    if settings.server.trim().is_empty() {
        return Err(FtpError::Settings("the ftp server is empty".to_string()));
    }
    if settings.port == 0 {
        return Err(FtpError::Settings("the ftp port is 0".to_string()));
    }
    if settings.connect_timeout.is_zero() || settings.transfer_timeout.is_zero() {
        return Err(FtpError::Settings(
            "a timeout of 0 s cannot be used".to_string(),
        ));
    }

    // A line break in a command would let a setting smuggle in commands of its
    // own; the password is not quoted in the message.
    let fields = [
        ("ftp server", settings.server.as_str()),
        ("ftp user", settings.user.as_str()),
        ("ftp password", settings.password.as_str()),
        ("ftp path", settings.path.as_str()),
    ];
    for (field, value) in fields {
        if value.contains(['\r', '\n', '\0']) {
            return Err(FtpError::Settings(format!(
                "the {field} holds a line break or a NUL character"
            )));
        }
    }
    Ok(())
}

/// Refuses a remote name that is not one plain file name.
fn check_remote_name(name: &str) -> Result<(), FtpError> {
    let plain = !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\', '\r', '\n', '\0']);
    if plain {
        Ok(())
    } else {
        Err(FtpError::Settings(format!(
            "the remote name `{}` is not a plain file name",
            name.escape_debug()
        )))
    }
}

/// The components of `ftp_path` to enter one by one, and whether the path
/// starts at the server's root.
fn folder_components(path: &str) -> (bool, Vec<&str>) {
    let absolute = path.starts_with('/');
    let components = path
        .split('/')
        .filter(|component| !component.is_empty() && *component != ".")
        .collect();
    (absolute, components)
}

/// The remote path shown in the report; an empty `ftp_path` is the login
/// folder, so the name alone.
fn remote_path(folder: &str, name: &str) -> String {
    if folder.is_empty() {
        name.to_string()
    } else {
        format!("{}/{name}", folder.trim_end_matches('/'))
    }
}

/// The temporary name a file is stored under until it is complete.
fn partial_name(name: &str) -> String {
    format!(".{name}.partial")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> FtpSettings {
        FtpSettings {
            server: "home.uuq.pl".to_string(),
            port: 21,
            user: "puqvpncp".to_string(),
            password: "QWEqwe123".to_string(),
            path: "home/dev.softkeel.com".to_string(),
            tls: false,
            connect_timeout: Duration::from_secs(10),
            transfer_timeout: Duration::from_secs(60),
        }
    }

    /// `Debug` shows every setting but the password.
    #[test]
    fn debug_hides_the_password() {
        let text = format!("{:?}", settings());
        assert!(!text.contains("QWEqwe123"), "{text}");
        assert!(
            text.contains("puqvpncp") && text.contains("<hidden>"),
            "{text}"
        );
    }

    /// Settings with a line break are refused, and the message does not
    /// quote the password.
    #[test]
    fn line_breaks_in_settings_are_refused() {
        let mut broken = settings();
        broken.password = "QWE\r\nDELE x".to_string();
        let error = check_settings(&broken).unwrap_err();
        assert!(matches!(error, FtpError::Settings(_)));
        assert!(!error.to_string().contains("QWE"), "{error}");
        assert!(check_settings(&settings()).is_ok());

        let mut zero = settings();
        zero.transfer_timeout = Duration::ZERO;
        assert!(check_settings(&zero).is_err());
    }

    /// Only plain file names are accepted as remote names.
    #[test]
    fn remote_names_are_plain_file_names() {
        assert!(check_remote_name("dev.softkeel.com_2023-01-28_12-50-42.zip").is_ok());
        for bad in ["", ".", "..", "a/b", "a\\b", "a\nb"] {
            assert!(check_remote_name(bad).is_err(), "{bad:?}");
        }
    }

    /// `ftp_path` splits into components; a leading `/` makes it absolute.
    #[test]
    fn paths_split_into_components() {
        assert_eq!(folder_components(""), (false, vec![]));
        assert_eq!(
            folder_components("home/dev.softkeel.com/"),
            (false, vec!["home", "dev.softkeel.com"])
        );
        assert_eq!(folder_components("/srv//./x"), (true, vec!["srv", "x"]));
        assert_eq!(folder_components("/"), (true, vec![]));
    }

    /// The report's path joins the folder and the name.
    #[test]
    fn remote_paths_join_folder_and_name() {
        assert_eq!(remote_path("", "a.zip"), "a.zip");
        assert_eq!(remote_path("home/x/", "a.zip"), "home/x/a.zip");
        assert_eq!(remote_path("/srv", "a.zip"), "/srv/a.zip");
        assert_eq!(remote_path("/", "a.zip"), "/a.zip");
        assert_eq!(partial_name("a.zip"), ".a.zip.partial");
    }
}
