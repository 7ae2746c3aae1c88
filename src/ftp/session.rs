//! One FTP session of an upload: connect, secure, log in, walk to the folder,
//! store under the temporary name, rename.
//!
//! Every suppaftp error is turned into an [`FtpError`] here, with the step it
//! happened in, so the message says what was being done.

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::Path;
use std::time::{Duration, Instant};

use suppaftp::types::FileType;
use suppaftp::{Mode, RustlsConnector, RustlsFtpStream};

use super::error::{Cause, FolderAction, FtpError, Redactor, io_phrase, is_timeout};
use super::tls::{TlsTrust, client_config};
use super::{FtpSettings, folder_components, partial_name};

/// How much of the local file is read and sent at a time.
const CHUNK_BYTES: usize = 64 * 1024;

/// A logged-in FTP session.
pub(super) struct Session<'a> {
    ftp: RustlsFtpStream,
    settings: &'a FtpSettings,
}

impl<'a> Session<'a> {
    /// Connects, reads the greeting, secures the session when `tls` is on,
    /// and logs in.
    pub(super) fn open(settings: &'a FtpSettings, trust: &TlsTrust) -> Result<Self, FtpError> {
        let address = display_address(settings);
        let stream = connect(settings, &address)?;

        // A server that accepts the connection but never speaks must not hold
        // the upload forever: every read and write has the transfer timeout.
        let timeouts = stream
            .set_read_timeout(Some(settings.transfer_timeout))
            .and_then(|()| stream.set_write_timeout(Some(settings.transfer_timeout)));
        timeouts.map_err(|error| FtpError::Connect {
            address: address.clone(),
            cause: Cause::Other(io_phrase(&error)),
        })?;

        let mut ftp = RustlsFtpStream::connect_with_stream(stream).map_err(|error| {
            fail(
                settings,
                error,
                || format!("waiting for the greeting of `{address}`"),
                |cause| FtpError::Connect {
                    address: address.clone(),
                    cause,
                },
            )
        })?;

        // Data connections get the same limits as the control connection.
        // The address a server announces for passive mode can be private
        // behind NAT, so data connections go to the control connection's peer.
        let connect_timeout = settings.connect_timeout;
        let transfer_timeout = settings.transfer_timeout;
        ftp = ftp.passive_stream_builder(move |address| {
            data_connection(address, connect_timeout, transfer_timeout)
        });
        ftp.set_passive_nat_workaround(true);

        if settings.tls {
            ftp = secure(ftp, settings, trust, &address)?;
        }

        let mut session = Session { ftp, settings };
        session.login(&address)?;
        Ok(session)
    }

    /// Sends the user name and the password.
    fn login(&mut self, address: &str) -> Result<(), FtpError> {
        let result = self
            .ftp
            .login(self.settings.user.as_str(), self.settings.password.as_str());
        result.map_err(|error| {
            self.fail(
                error,
                || format!("logging in to `{address}`"),
                |cause| FtpError::Login {
                    user: self.settings.user.clone(),
                    cause,
                },
            )
        })
    }

    /// Enters `ftp_path` level by level, creating each missing folder.
    pub(super) fn enter_folder(&mut self, path: &str) -> Result<(), FtpError> {
        let (absolute, components) = folder_components(path);
        let mut shown = String::new();
        if absolute {
            shown.push('/');
            let result = self.ftp.cwd("/");
            result.map_err(|error| self.folder_error(error, "/", FolderAction::Enter))?;
        }

        for component in components {
            if !shown.is_empty() && !shown.ends_with('/') {
                shown.push('/');
            }
            shown.push_str(component);
            self.enter_or_create(component, &shown)?;
        }
        Ok(())
    }

    /// Enters one folder, making it first when it cannot be entered.
    ///
    /// Some servers (vsftpd) answer `MKD` with the same 550 for an existing
    /// folder as for a failure, so the `MKD` reply alone decides nothing: the
    /// second `CWD` does, and the `MKD` reply explains a failure.
    fn enter_or_create(&mut self, component: &str, shown: &str) -> Result<(), FtpError> {
        match self.ftp.cwd(component) {
            Ok(()) => return Ok(()),
            Err(suppaftp::FtpError::UnexpectedResponse(_)) => {}
            Err(error) => return Err(self.folder_error(error, shown, FolderAction::Enter)),
        }

        let made = match self.ftp.mkdir(component) {
            Ok(()) => None,
            Err(suppaftp::FtpError::UnexpectedResponse(response)) => Some(response),
            Err(error) => return Err(self.folder_error(error, shown, FolderAction::Create)),
        };

        match (self.ftp.cwd(component), made) {
            (Ok(()), _) => Ok(()),
            (Err(suppaftp::FtpError::UnexpectedResponse(_)), Some(refusal)) => Err(self
                .folder_error(
                    suppaftp::FtpError::UnexpectedResponse(refusal),
                    shown,
                    FolderAction::Create,
                )),
            (Err(error), _) => Err(self.folder_error(error, shown, FolderAction::Enter)),
        }
    }

    /// Stores the file under its temporary name, checks that the server
    /// holds every byte, and renames it to `name`. On failure the temporary
    /// file is deleted, best effort. Returns the bytes sent.
    pub(super) fn store_and_rename(
        &mut self,
        file: File,
        local: &Path,
        name: &str,
    ) -> Result<u64, FtpError> {
        // ASCII, the default, would rewrite line ends inside the archive.
        let binary = self.ftp.transfer_type(FileType::Binary);
        binary.map_err(|error| self.transfer_error(error, name))?;
        self.choose_passive_mode(name)?;

        let partial = partial_name(name);
        let result = self
            .send(file, local, &partial)
            .and_then(|bytes| self.check_size(&partial, bytes))
            .and_then(|bytes| self.rename(&partial, name).map(|()| bytes));
        match &result {
            Ok(_) => {}
            // A server that stopped answering is not asked for anything
            // more: each request would wait out the limit again.
            Err(FtpError::Timeout { .. }) => self.abandon(),
            Err(_) => {
                // Best effort: the session may be too broken to delete
                // anything, and the error that matters is the one at hand.
                let _ = self.ftp.rm(&partial);
            }
        }
        result
    }

    /// Uses extended passive mode when the server lists it in `FEAT`, plain
    /// passive mode otherwise.
    fn choose_passive_mode(&mut self, name: &str) -> Result<(), FtpError> {
        let extended = match self.ftp.feat() {
            Ok(features) => features
                .keys()
                .any(|feature| feature.eq_ignore_ascii_case("EPSV")),
            // A server without FEAT, or with a FEAT reply that cannot be
            // parsed, is taken to offer plain passive mode only.
            Err(suppaftp::FtpError::UnexpectedResponse(_) | suppaftp::FtpError::BadResponse) => {
                false
            }
            Err(error) => return Err(self.transfer_error(error, name)),
        };

        // PASV cannot carry an IPv6 address: over IPv6 only EPSV can work.
        let ipv6 = self
            .ftp
            .get_ref()
            .peer_addr()
            .is_ok_and(|peer| peer.is_ipv6());
        let mode = if extended || ipv6 {
            Mode::ExtendedPassive
        } else {
            Mode::Passive
        };
        self.ftp.set_mode(mode);
        Ok(())
    }

    /// Streams the file to `partial` and waits for the server's confirmation.
    fn send(&mut self, mut file: File, local: &Path, partial: &str) -> Result<u64, FtpError> {
        let opened = self.ftp.put_with_stream(partial);
        let mut transfer = opened.map_err(|error| self.transfer_error(error, partial))?;

        let mut buffer = vec![0; CHUNK_BYTES];
        let mut bytes: u64 = 0;
        loop {
            let count = match file.read(&mut buffer) {
                Ok(0) => break,
                Ok(count) => count,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => {
                    return Err(FtpError::LocalFile {
                        path: local.to_path_buf(),
                        cause: io_phrase(&error),
                    });
                }
            };
            if let Err(error) = transfer.write_all(&buffer[..count]) {
                if is_timeout(&error) {
                    // A stalled server answers nothing either: reading its
                    // reply would only wait out the limit once more.
                    self.abandon();
                    return Err(self.data_error(&error, partial));
                }
                // A server that gives up on a transfer (a full disk, a quota)
                // closes the data connection and says why on the control
                // connection: that reply explains more than the broken pipe.
                return Err(match transfer.finish() {
                    Err(reply @ suppaftp::FtpError::UnexpectedResponse(_)) => {
                        self.transfer_error(reply, partial)
                    }
                    _ => self.data_error(&error, partial),
                });
            }
            bytes += count as u64;
        }

        let finished = transfer.finish();
        finished.map_err(|error| self.transfer_error(error, partial))?;
        Ok(bytes)
    }

    /// Asks the server how large the stored file is, so a transfer the
    /// server cut short is caught before the file gets its final name. A
    /// server without `SIZE` is trusted on its transfer reply alone.
    fn check_size(&mut self, partial: &str, bytes: u64) -> Result<u64, FtpError> {
        match self.ftp.size(partial) {
            Ok(size) if u64::try_from(size).is_ok_and(|size| size == bytes) => Ok(bytes),
            Ok(size) => Err(FtpError::Transfer {
                name: partial.to_string(),
                cause: Cause::Other(format!("the server holds {size} of {bytes} bytes")),
            }),
            Err(suppaftp::FtpError::UnexpectedResponse(_) | suppaftp::FtpError::BadResponse) => {
                Ok(bytes)
            }
            Err(error) => Err(self.transfer_error(error, partial)),
        }
    }

    /// Renames the complete file to its final name. Servers differ on a final
    /// name that exists: some replace it, others refuse; those get the old
    /// file deleted and the rename tried once more.
    fn rename(&mut self, partial: &str, name: &str) -> Result<(), FtpError> {
        let refusal = match self.ftp.rename(partial, name) {
            Ok(()) => return Ok(()),
            Err(suppaftp::FtpError::UnexpectedResponse(response)) => response,
            Err(error) => return Err(self.rename_error(error, partial, name)),
        };

        match self.ftp.rm(name) {
            Ok(()) => {}
            // Nothing to delete, or not allowed to: the first refusal is the
            // one that explains the failure.
            Err(suppaftp::FtpError::UnexpectedResponse(_)) => {
                let error = suppaftp::FtpError::UnexpectedResponse(refusal);
                return Err(self.rename_error(error, partial, name));
            }
            Err(error) => return Err(self.rename_error(error, partial, name)),
        }

        let retried = self.ftp.rename(partial, name);
        retried.map_err(|error| self.rename_error(error, partial, name))
    }

    /// Shuts the control connection down, so that whatever still reads from
    /// it (the transfer's completion reply) fails at once instead of waiting
    /// for a server that has stopped answering.
    fn abandon(&self) {
        let _ = self.ftp.get_ref().shutdown(std::net::Shutdown::Both);
    }

    /// Ends the session politely; the upload is complete whatever the server
    /// answers.
    pub(super) fn quit(mut self) {
        let _ = self.ftp.quit();
    }

    fn fail(
        &self,
        error: suppaftp::FtpError,
        during: impl FnOnce() -> String,
        make: impl FnOnce(Cause) -> FtpError,
    ) -> FtpError {
        fail(self.settings, error, during, make)
    }

    fn folder_error(
        &self,
        error: suppaftp::FtpError,
        folder: &str,
        action: FolderAction,
    ) -> FtpError {
        let during = || match action {
            FolderAction::Enter => format!("entering folder `{folder}`"),
            FolderAction::Create => format!("creating folder `{folder}`"),
        };
        self.fail(error, during, |cause| FtpError::Folder {
            folder: folder.to_string(),
            action,
            cause,
        })
    }

    fn transfer_error(&self, error: suppaftp::FtpError, name: &str) -> FtpError {
        self.fail(
            error,
            || format!("storing `{name}`"),
            |cause| FtpError::Transfer {
                name: name.to_string(),
                cause,
            },
        )
    }

    /// A failed write on the data connection.
    fn data_error(&self, error: &io::Error, name: &str) -> FtpError {
        if is_timeout(error) {
            FtpError::Timeout {
                after: self.settings.transfer_timeout,
                during: format!("sending `{name}`"),
            }
        } else {
            let redactor = Redactor::new(&self.settings.password);
            FtpError::Transfer {
                name: name.to_string(),
                cause: Cause::Other(redactor.clean(&io_phrase(error))),
            }
        }
    }

    fn rename_error(&self, error: suppaftp::FtpError, from: &str, to: &str) -> FtpError {
        self.fail(
            error,
            || format!("renaming `{from}` to `{to}`"),
            |cause| FtpError::Rename {
                from: from.to_string(),
                to: to.to_string(),
                cause,
            },
        )
    }
}

/// Turns a suppaftp error into the upload's error: a timeout becomes
/// [`FtpError::Timeout`] saying what was being waited for, anything else goes
/// through `make`. The password is removed from every text.
fn fail(
    settings: &FtpSettings,
    error: suppaftp::FtpError,
    during: impl FnOnce() -> String,
    make: impl FnOnce(Cause) -> FtpError,
) -> FtpError {
    match Redactor::new(&settings.password)
        .classify(error)
        .into_cause()
    {
        Some(cause) => make(cause),
        None => FtpError::Timeout {
            after: settings.transfer_timeout,
            during: during(),
        },
    }
}

/// Switches the session to explicit FTPS: `AUTH TLS`, the handshake (which
/// rustls runs on the first command after it), `PBSZ 0` and `PROT P`, so data
/// connections are encrypted too.
fn secure(
    ftp: RustlsFtpStream,
    settings: &FtpSettings,
    trust: &TlsTrust,
    address: &str,
) -> Result<RustlsFtpStream, FtpError> {
    let tls_error = |cause| FtpError::Tls {
        address: address.to_string(),
        cause,
    };
    let config = client_config(trust).map_err(|text| tls_error(Cause::Other(text)))?;
    let secured = ftp.into_secure(RustlsConnector::from(config), host(settings));
    secured.map_err(|error| {
        fail(
            settings,
            error,
            || format!("securing the session with `{address}`"),
            tls_error,
        )
    })
}

/// Opens the TCP connection to the first address of the server that answers,
/// all addresses together within the connect timeout.
fn connect(settings: &FtpSettings, address: &str) -> Result<TcpStream, FtpError> {
    let connect_error = |cause: String| FtpError::Connect {
        address: address.to_string(),
        cause: Cause::Other(cause),
    };
    let resolved = (host(settings), settings.port).to_socket_addrs();
    let addresses: Vec<SocketAddr> = resolved
        .map_err(|error| connect_error(io_phrase(&error)))?
        .collect();

    let deadline = Instant::now() + settings.connect_timeout;
    let mut last_error = None;
    for socket_address in addresses {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            last_error = Some(io::Error::from(io::ErrorKind::TimedOut));
            break;
        }
        match TcpStream::connect_timeout(&socket_address, remaining) {
            Ok(stream) => return Ok(stream),
            Err(error) => last_error = Some(error),
        }
    }

    Err(match last_error {
        None => connect_error("the name resolves to no address".to_string()),
        Some(error) if is_timeout(&error) => FtpError::Timeout {
            after: settings.connect_timeout,
            during: format!("connecting to `{address}`"),
        },
        Some(error) => connect_error(io_phrase(&error)),
    })
}

/// Opens a passive data connection with the session's limits.
fn data_connection(
    address: SocketAddr,
    connect_timeout: Duration,
    transfer_timeout: Duration,
) -> suppaftp::FtpResult<TcpStream> {
    let stream = TcpStream::connect_timeout(&address, connect_timeout)
        .map_err(suppaftp::FtpError::ConnectionError)?;
    stream
        .set_read_timeout(Some(transfer_timeout))
        .and_then(|()| stream.set_write_timeout(Some(transfer_timeout)))
        .map_err(suppaftp::FtpError::ConnectionError)?;
    Ok(stream)
}

/// The host as a resolver and TLS take it: an IPv6 literal without brackets.
fn host(settings: &FtpSettings) -> &str {
    let server = settings.server.trim();
    server
        .strip_prefix('[')
        .and_then(|inner| inner.strip_suffix(']'))
        .unwrap_or(server)
}

/// `host:port` for messages, with an IPv6 literal in brackets.
fn display_address(settings: &FtpSettings) -> String {
    let host = host(settings);
    if host.contains(':') {
        format!("[{host}]:{}", settings.port)
    } else {
        format!("{host}:{}", settings.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(server: &str) -> FtpSettings {
        FtpSettings {
            server: server.to_string(),
            port: 21,
            user: "user".to_string(),
            password: "secret".to_string(),
            path: String::new(),
            tls: false,
            connect_timeout: Duration::from_secs(1),
            transfer_timeout: Duration::from_secs(1),
        }
    }

    /// Addresses in messages read as `host:port`, IPv6 literals bracketed.
    #[test]
    fn addresses_are_shown_as_host_and_port() {
        assert_eq!(display_address(&settings("home.uuq.pl")), "home.uuq.pl:21");
        assert_eq!(display_address(&settings(" 10.0.0.1 ")), "10.0.0.1:21");
        assert_eq!(display_address(&settings("::1")), "[::1]:21");
        assert_eq!(display_address(&settings("[::1]")), "[::1]:21");
        assert_eq!(host(&settings("[::1]")), "::1");
    }
}
