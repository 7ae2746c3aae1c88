//! What can go wrong during an upload, as texts that follow the documented
//! `FTP upload error:` and never hold the password.
//!
//! A server's reply is kept with its code, so callers and tests can judge the
//! code while people read the text. Every text that came from the network or
//! the system passes through [`Redactor`] first: a server that echoes the
//! password back cannot make it show up in an error.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// The longest reply text kept, in characters: a hostile server must not be
/// able to fill an API response.
const MAX_REPLY_CHARS: usize = 300;

/// Why an upload failed.
///
/// `Display` is the cause that goes after `FTP upload error: `. A login that
/// the server refuses shows the server's reply alone (`530 Login incorrect.`);
/// the other kinds open with a short phrase that names the host, folder or
/// file, followed by the reply or the system's error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FtpError {
    /// The settings or the remote name cannot be used; nothing was sent.
    #[error("{0}")]
    Settings(String),

    /// The local file could not be opened or read.
    #[error("cannot read `{}`: {cause}", path.display())]
    LocalFile {
        /// The local file.
        path: PathBuf,
        /// What the system said.
        cause: String,
    },

    /// No FTP session could be opened: the name does not resolve, nothing
    /// listens, or the server refused the connection in its greeting.
    #[error("cannot connect to `{address}`: {cause}")]
    Connect {
        /// `host:port` as configured.
        address: String,
        /// The system's error or the server's greeting reply.
        cause: Cause,
    },

    /// The server refused the user name or the password.
    #[error("{}", login_text(user, cause))]
    Login {
        /// The user name (never the password).
        user: String,
        /// The server's reply, or what broke the session.
        cause: Cause,
    },

    /// A folder of `ftp_path` could neither be entered nor created.
    #[error("cannot {action} folder `{folder}`: {cause}")]
    Folder {
        /// The path up to and including the folder that failed.
        folder: String,
        /// Whether entering or creating it failed.
        action: FolderAction,
        /// The server's reply.
        cause: Cause,
    },

    /// Sending the file failed (refused, broken, or stored short).
    #[error("cannot store `{name}`: {cause}")]
    Transfer {
        /// The name the file was being stored under.
        name: String,
        /// The server's reply, or what broke the data connection.
        cause: Cause,
    },

    /// The complete temporary file could not be given its final name.
    #[error("cannot rename `{from}` to `{to}`: {cause}")]
    Rename {
        /// The temporary name.
        from: String,
        /// The final name.
        to: String,
        /// The server's reply.
        cause: Cause,
    },

    /// The server stopped answering, or a connection could not be made, in
    /// the configured time.
    #[error("timed out after {} {during}", seconds(*after))]
    Timeout {
        /// The configured time that ran out.
        after: Duration,
        /// What was being waited for, as a phrase (`waiting for the greeting
        /// of `host:21``).
        during: String,
    },

    /// The configured trusted certificates cannot be used.
    #[error("{0}")]
    TrustedCertificates(String),

    /// Explicit FTPS could not be set up: the server refused `AUTH TLS`, the
    /// handshake failed, or its certificate is not trusted.
    #[error("cannot secure the session with `{address}`: {cause}")]
    Tls {
        /// `host:port` as configured.
        address: String,
        /// The server's reply, or the TLS error.
        cause: Cause,
    },
}

impl FtpError {
    /// The server's reply behind this error, when the server gave one.
    pub fn reply(&self) -> Option<&ServerReply> {
        let cause = match self {
            FtpError::Connect { cause, .. }
            | FtpError::Login { cause, .. }
            | FtpError::Folder { cause, .. }
            | FtpError::Transfer { cause, .. }
            | FtpError::Rename { cause, .. }
            | FtpError::Tls { cause, .. } => cause,
            FtpError::Settings(_)
            | FtpError::TrustedCertificates(_)
            | FtpError::LocalFile { .. }
            | FtpError::Timeout { .. } => {
                return None;
            }
        };
        match cause {
            Cause::Reply(reply) => Some(reply),
            Cause::Other(_) => None,
        }
    }
}

/// Which step on a folder failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FolderAction {
    /// The folder exists (or was just made) but cannot be entered.
    Enter,
    /// The folder is missing and the server refused to make it.
    Create,
}

impl fmt::Display for FolderAction {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            FolderAction::Enter => "enter",
            FolderAction::Create => "create",
        })
    }
}

/// What lies behind an error: the server's reply or another failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// The server answered with a reply that means failure.
    Reply(ServerReply),
    /// The connection broke, the system refused, or the reply made no sense.
    Other(String),
}

impl fmt::Display for Cause {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Reply(reply) => reply.fmt(formatter),
            Cause::Other(text) => formatter.write_str(text),
        }
    }
}

/// A reply of the FTP server: its code and its text, on one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerReply {
    /// The three-digit reply code.
    pub code: u32,
    /// The reply as the server sent it, code first, its lines joined by
    /// spaces, control characters removed, cut to a few hundred characters.
    pub text: String,
}

impl fmt::Display for ServerReply {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.text)
    }
}

/// Removes the password from every text that goes into an error.
pub(crate) struct Redactor<'a> {
    secret: &'a str,
}

impl<'a> Redactor<'a> {
    /// Redacts `secret`; an empty secret redacts nothing.
    pub(crate) fn new(secret: &'a str) -> Self {
        Redactor { secret }
    }

    /// The text with every occurrence of the secret replaced by `***`.
    pub(crate) fn clean(&self, text: &str) -> String {
        if self.secret.is_empty() {
            text.to_string()
        } else {
            text.replace(self.secret, "***")
        }
    }

    /// The server's reply as one clean line that starts with its code.
    pub(crate) fn reply(&self, code: u32, body: &[u8]) -> ServerReply {
        let raw = String::from_utf8_lossy(body);
        let mut text = raw
            .lines()
            .map(|line| {
                line.chars()
                    .map(|character| {
                        if character.is_control() {
                            ' '
                        } else {
                            character
                        }
                    })
                    .collect::<String>()
            })
            .map(|line| line.trim().to_string())
            .filter(|line| !line.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        if !text.starts_with(&code.to_string()) {
            text = format!("{code} {text}").trim_end().to_string();
        }
        if text.chars().count() > MAX_REPLY_CHARS {
            text = text.chars().take(MAX_REPLY_CHARS).collect::<String>() + "...";
        }
        ServerReply {
            code,
            text: self.clean(&text),
        }
    }

    /// What a suppaftp error means, with the password removed.
    pub(crate) fn classify(&self, error: suppaftp::FtpError) -> Failure {
        match error {
            suppaftp::FtpError::UnexpectedResponse(response) => {
                Failure::Reply(self.reply(response.status.code(), &response.body))
            }
            suppaftp::FtpError::ConnectionError(error) if is_timeout(&error) => Failure::Timeout,
            suppaftp::FtpError::ConnectionError(error) => {
                Failure::Other(self.clean(&io_phrase(&error)))
            }
            suppaftp::FtpError::SecureError(text) => {
                Failure::Other(self.clean(&lowercase_first(&text)))
            }
            suppaftp::FtpError::BadResponse => {
                Failure::Other("the server's reply cannot be understood".to_string())
            }
            suppaftp::FtpError::InvalidAddress(_) => {
                Failure::Other("the server announced an invalid address".to_string())
            }
            suppaftp::FtpError::DataConnectionAlreadyOpen => {
                Failure::Other("a data connection is already open".to_string())
            }
        }
    }
}

/// A suppaftp error sorted into what the upload reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The server answered, and the answer means failure.
    Reply(ServerReply),
    /// A read, write or connect ran out of time.
    Timeout,
    /// Anything else, already redacted.
    Other(String),
}

impl Failure {
    /// The cause to report, or `None` for a timeout, which the caller turns
    /// into [`FtpError::Timeout`].
    pub(crate) fn into_cause(self) -> Option<Cause> {
        match self {
            Failure::Reply(reply) => Some(Cause::Reply(reply)),
            Failure::Other(text) => Some(Cause::Other(text)),
            Failure::Timeout => None,
        }
    }
}

/// Whether an I/O error means a timeout ran out. A socket read timeout shows
/// as `WouldBlock` on Unix and as `TimedOut` elsewhere.
pub(crate) fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
    )
}

/// An I/O error as a lowercase phrase without the OS error number:
/// `connection refused` rather than `Connection refused (os error 111)`.
pub(crate) fn io_phrase(error: &io::Error) -> String {
    let text = error.to_string();
    let text = match text.rfind(" (os error ") {
        Some(start) if text.ends_with(')') => text[..start].to_string(),
        _ => text,
    };
    lowercase_first(&text)
}

/// The text with its first letter in lower case, as messages are written.
fn lowercase_first(text: &str) -> String {
    let mut characters = text.chars();
    match characters.next() {
        Some(first) => first.to_lowercase().chain(characters).collect(),
        None => String::new(),
    }
}

/// A duration as people read it in a message: `10 s`, `1.5 s`.
pub(crate) fn seconds(duration: Duration) -> String {
    format!("{} s", duration.as_secs_f64())
}

/// A refused login shows the server's reply alone, which reads well after
/// `FTP upload error: `; anything else says what was being done.
fn login_text(user: &str, cause: &Cause) -> String {
    match cause {
        Cause::Reply(reply) => reply.text.clone(),
        Cause::Other(text) => format!("cannot log in as `{user}`: {text}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reply keeps its code first, joins its lines and drops control bytes.
    #[test]
    fn replies_become_one_clean_line() {
        let redactor = Redactor::new("");
        let reply = redactor.reply(530, b"530 Login incorrect.\r\n");
        assert_eq!(reply.text, "530 Login incorrect.");
        assert_eq!(reply.code, 530);

        let reply = redactor.reply(550, b"550-First line\r\n550 Second\x1b[31m line\r\n");
        assert_eq!(reply.text, "550-First line 550 Second [31m line");

        let reply = redactor.reply(421, b"");
        assert_eq!(reply.text, "421");
    }

    /// A very long reply is cut, so a server cannot fill a response.
    #[test]
    fn long_replies_are_cut() {
        let body = format!("550 {}", "x".repeat(10_000));
        let reply = Redactor::new("").reply(550, body.as_bytes());
        assert!(reply.text.chars().count() <= MAX_REPLY_CHARS + 3);
        assert!(reply.text.starts_with("550 xxx"));
    }

    /// A server that echoes the password does not get it into an error.
    #[test]
    fn the_password_is_redacted_from_replies() {
        let redactor = Redactor::new("QWEqwe123");
        let reply = redactor.reply(530, b"530 Bad password QWEqwe123 for user\r\n");
        assert_eq!(reply.text, "530 Bad password *** for user");
        let failure = redactor.classify(suppaftp::FtpError::SecureError(
            "handshake with QWEqwe123 failed".to_string(),
        ));
        assert_eq!(
            failure,
            Failure::Other("handshake with *** failed".to_string())
        );
    }

    /// I/O errors read as lowercase phrases without OS error numbers.
    #[test]
    fn io_errors_read_as_phrases() {
        let refused = io::Error::from_raw_os_error(111);
        assert_eq!(io_phrase(&refused), "connection refused");
        let custom = io::Error::other("Something odd");
        assert_eq!(io_phrase(&custom), "something odd");
    }

    /// Socket read timeouts are recognised in both of their forms.
    #[test]
    fn timeouts_are_recognised() {
        assert!(is_timeout(&io::ErrorKind::WouldBlock.into()));
        assert!(is_timeout(&io::ErrorKind::TimedOut.into()));
        assert!(!is_timeout(&io::ErrorKind::ConnectionReset.into()));
        let failure = Redactor::new("").classify(suppaftp::FtpError::ConnectionError(
            io::ErrorKind::WouldBlock.into(),
        ));
        assert_eq!(failure, Failure::Timeout);
    }

    /// The error texts follow the documented shapes.
    #[test]
    fn error_texts_have_the_documented_shapes() {
        let reply = Redactor::new("").reply(530, b"530 Login incorrect.\r\n");
        let login = FtpError::Login {
            user: "puqvpncp".to_string(),
            cause: Cause::Reply(reply.clone()),
        };
        assert_eq!(login.to_string(), "530 Login incorrect.");
        assert_eq!(login.reply(), Some(&reply));

        let timeout = FtpError::Timeout {
            after: Duration::from_secs(10),
            during: "waiting for the greeting of `host:21`".to_string(),
        };
        assert_eq!(
            timeout.to_string(),
            "timed out after 10 s waiting for the greeting of `host:21`"
        );
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5 s");

        let connect = FtpError::Connect {
            address: "host:21".to_string(),
            cause: Cause::Other("connection refused".to_string()),
        };
        assert_eq!(
            connect.to_string(),
            "cannot connect to `host:21`: connection refused"
        );
        assert_eq!(connect.reply(), None);
    }
}
