//! Access hashes: the API's authentication.
//!
//! An administrator creates an access hash with a name and the address or
//! network it may be used from ([`AllowedNetwork`]). The hash is 80 lowercase
//! hex characters (40 random bytes), shown once at creation and sent by
//! clients as the cookie `access_hash`. The [`AccessStore`] keeps only its
//! SHA-256, and [`AccessStore::check`] decides whether a request passes,
//! giving the reason of a refusal ([`Denied`]) for the log; the client is
//! answered `Not authorized` whatever the reason.
//!
//! No message of this module holds a hash: the one moment a hash is in the
//! open is the return of [`AccessStore::add`] (or [`ensure_initial`]).

mod network;
mod secret;
mod store;

use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use crate::catalogue::ApiError;

pub use network::{AllowedNetwork, NetworkError};
pub use secret::{HASH_LENGTH, RANDOM_BYTES, is_well_formed};
pub use store::{AccessStore, Entry, MAX_NAME_LENGTH};

/// The name of the hash [`ensure_initial`] creates.
pub const INITIAL_NAME: &str = "initial";

/// Why the store could not be read or changed.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// The store file exists but cannot be read.
    #[error("cannot read the access-hash store `{path}`: {source}")]
    Read {
        /// The store file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The store file is not a store.
    #[error("`{path}` is not a valid access-hash store: {reason}")]
    Corrupt {
        /// The store file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The store file cannot be written.
    #[error("cannot write the access-hash store `{path}`: {source}")]
    Write {
        /// The store file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The operating system's random source failed.
    #[error("cannot read random bytes for a new access hash: {0}")]
    Random(io::Error),
    /// The name is empty, too long or holds characters that are not allowed.
    #[error("`{}` is not a valid access-hash name: {reason}", .name.escape_debug())]
    InvalidName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An entry, revoked or not, has the name already.
    #[error("an access hash named `{0}` exists already")]
    DuplicateName(String),
    /// No entry has the name.
    #[error("no access hash is named `{0}`")]
    UnknownName(String),
    /// The entry was revoked before.
    #[error("the access hash `{0}` is revoked already")]
    AlreadyRevoked(String),
}

/// Why [`AccessStore::check`] refused a request. For the server's log only:
/// the client gets [`Denied::api_error`] whatever the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// The request has no `access_hash` cookie, or an empty one.
    #[error("no `access_hash` cookie")]
    Missing,
    /// The cookie is not 80 lowercase hex characters.
    #[error("the `access_hash` cookie is not {HASH_LENGTH} lowercase hex characters")]
    Malformed,
    /// No entry has the hash.
    #[error("the access hash is not in the store")]
    Unknown,
    /// The hash was revoked.
    #[error("the access hash `{name}` is revoked")]
    Revoked {
        /// The entry's name.
        name: String,
    },
    /// The hash is used from an address outside its network.
    #[error("the access hash `{name}` is bound to `{allowed}`, not `{client}`")]
    WrongAddress {
        /// The entry's name.
        name: String,
        /// Its network.
        allowed: AllowedNetwork,
        /// The request's address.
        client: IpAddr,
    },
}

impl Denied {
    /// The documented error every refusal answers: `Not authorized`.
    pub fn api_error(&self) -> ApiError {
        ApiError::NotAuthorized
    }
}

/// Makes sure a fresh server can be reached: when the store at `path` has no
/// entry at all, adds one named [`INITIAL_NAME`] bound to `127.0.0.1` and
/// answers its hash, for the caller to show once. A store with entries, even
/// only revoked ones, is left alone and `None` answered: an administrator who
/// revoked every hash meant it.
///
/// # Errors
/// Those of [`AccessStore::load`] and [`AccessStore::add`].
pub fn ensure_initial(path: &Path) -> Result<Option<String>, AccessError> {
    let mut store = AccessStore::load(path)?;
    if !store.is_empty() {
        return Ok(None);
    }
    let loopback = AllowedNetwork::single(IpAddr::V4(Ipv4Addr::LOCALHOST));
    store.add(INITIAL_NAME, loopback).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tempfile::TempDir;

    /// A fresh start creates `initial` for 127.0.0.1 once; later starts
    /// create nothing, also when every hash was revoked.
    #[test]
    fn ensure_initial_creates_one_hash_on_an_empty_store() {
        let folder = TempDir::new().unwrap();
        let path = folder.path().join("data").join("access-hashes.json");

        let hash = ensure_initial(&path)
            .unwrap()
            .expect("a hash on a fresh start");
        let store = AccessStore::load(&path).unwrap();
        let entry = store.check(&hash, "127.0.0.1".parse().unwrap()).unwrap();
        assert_eq!(entry.name(), INITIAL_NAME);
        assert!(store.check(&hash, "10.0.0.1".parse().unwrap()).is_err());

        assert_eq!(ensure_initial(&path).unwrap(), None);
        let mut store = AccessStore::load(&path).unwrap();
        store.revoke(INITIAL_NAME).unwrap();
        assert_eq!(ensure_initial(&path).unwrap(), None);
        assert_eq!(AccessStore::load(&path).unwrap().list().len(), 1);
    }

    /// A corrupt store is reported, not replaced by a fresh one.
    #[test]
    fn ensure_initial_refuses_a_corrupt_store() {
        let folder = TempDir::new().unwrap();
        let path = folder.path().join("access-hashes.json");
        std::fs::write(&path, "{").unwrap();
        assert!(matches!(
            ensure_initial(&path),
            Err(AccessError::Corrupt { .. })
        ));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{");
    }

    /// Refusal messages name the entry and addresses but never hold the
    /// hash, and all map to `Not authorized`.
    #[test]
    fn refusals_never_show_the_hash() {
        let folder = TempDir::new().unwrap();
        let mut store = AccessStore::load(folder.path().join("store.json")).unwrap();
        let hash = store.add("admin", "127.0.0.1".parse().unwrap()).unwrap();
        let refusal = store.check(&hash, "10.0.0.1".parse().unwrap()).unwrap_err();
        let text = refusal.to_string();
        assert_eq!(
            text,
            "the access hash `admin` is bound to `127.0.0.1`, not `10.0.0.1`"
        );
        assert!(!text.contains(&hash));
        assert_eq!(refusal.api_error().text(), "Not authorized");
    }
}
