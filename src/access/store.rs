//! The store of access hashes: a JSON file of named entries, each with the
//! SHA-256 of its hash, the network it is bound to and its times.
//!
//! The file looks like this (one object per entry, in creation order):
//!
//! ```json
//! {
//!   "version": 1,
//!   "entries": [
//!     {
//!       "name": "initial",
//!       "sha256": "<64 lowercase hex characters>",
//!       "allowed": "127.0.0.1",
//!       "created": "2024-03-09T07:05:03+01:00",
//!       "revoked": null
//!     }
//!   ]
//! }
//! ```
//!
//! Revoked entries stay in the file with the time of their revocation: a
//! revoked hash is then refused as revoked rather than unknown, and its name
//! stays taken, so that a name in the log always means one hash.
//!
//! Every change is saved before it is reported: a temporary file in the same
//! folder, written with mode 0600 and synced, renamed over the store, then the
//! folder synced. A crash leaves the old store or the new one, never a mix.
//! The store does not lock the file: two processes that change it at the same
//! moment can lose one of the changes.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::net::IpAddr;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset, Local, SecondsFormat, SubsecRound};

use super::network::AllowedNetwork;
use super::secret::{self, HashDigest};
use super::{AccessError, Denied};

/// The version of the file format written here, the only one read.
const FORMAT_VERSION: u32 = 1;

/// The longest name, in characters.
pub const MAX_NAME_LENGTH: usize = 64;

/// One access hash, as the store knows it: everything but the hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    name: String,
    digest: HashDigest,
    allowed: AllowedNetwork,
    created: DateTime<FixedOffset>,
    revoked: Option<DateTime<FixedOffset>>,
}

impl Entry {
    /// The name an administrator gave the hash.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The address or network requests with this hash must come from.
    pub fn allowed(&self) -> AllowedNetwork {
        self.allowed
    }

    /// When the hash was created, in the local time of the machine that
    /// created it.
    pub fn created(&self) -> DateTime<FixedOffset> {
        self.created
    }

    /// When the hash was revoked, if it was.
    pub fn revoked(&self) -> Option<DateTime<FixedOffset>> {
        self.revoked
    }

    /// Whether the hash was revoked.
    pub fn is_revoked(&self) -> bool {
        self.revoked.is_some()
    }
}

/// The access hashes of one server, loaded from and saved to one file.
#[derive(Debug, Clone)]
pub struct AccessStore {
    path: PathBuf,
    entries: Vec<Entry>,
}

impl AccessStore {
    /// Loads the store at `path`; a missing file is an empty store.
    ///
    /// # Errors
    /// [`AccessError::Read`] when the file exists but cannot be read,
    /// [`AccessError::Corrupt`] when it is not a store this version writes:
    /// bad JSON, another format version, a bad name, digest, network or
    /// time, or two entries with one name. A corrupt store is never taken
    /// for an empty one.
    pub fn load(path: impl Into<PathBuf>) -> Result<AccessStore, AccessError> {
        let path = path.into();
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return Ok(AccessStore {
                    path,
                    entries: Vec::new(),
                });
            }
            Err(source) => return Err(AccessError::Read { path, source }),
        };
        match parse(&bytes) {
            Ok(entries) => Ok(AccessStore { path, entries }),
            Err(reason) => Err(AccessError::Corrupt { path, reason }),
        }
    }

    /// The file the store is saved to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every entry, revoked ones included, in creation order. Entries carry
    /// no hash.
    pub fn list(&self) -> &[Entry] {
        &self.entries
    }

    /// The entry named `name`.
    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|entry| entry.name == name)
    }

    /// Whether the store has no entry at all, not even a revoked one.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Creates an access hash named `name`, bound to `allowed`, saves the
    /// store and answers the hash. This is the only time the hash exists
    /// outside the caller: the store keeps its SHA-256 alone.
    ///
    /// # Errors
    /// [`AccessError::InvalidName`] for an empty name, one longer than
    /// [`MAX_NAME_LENGTH`] characters, or with characters other than
    /// letters, digits, ASCII punctuation and inner spaces;
    /// [`AccessError::DuplicateName`] when an entry, revoked or not, has the
    /// name; [`AccessError::Random`] when the random source fails;
    /// [`AccessError::Write`] when saving fails. On any error the store is
    /// unchanged, in memory and on disk.
    pub fn add(&mut self, name: &str, allowed: AllowedNetwork) -> Result<String, AccessError> {
        check_name(name)?;
        if self.get(name).is_some() {
            return Err(AccessError::DuplicateName(name.to_string()));
        }

        let access_hash = secret::generate().map_err(AccessError::Random)?;
        self.entries.push(Entry {
            name: name.to_string(),
            digest: secret::digest_of(&access_hash),
            allowed,
            created: now(),
            revoked: None,
        });

        if let Err(error) = self.save() {
            self.entries.pop();
            return Err(error);
        }
        Ok(access_hash)
    }

    /// Revokes the hash named `name` and saves the store; from then on it is
    /// refused with [`Denied::Revoked`].
    ///
    /// # Errors
    /// [`AccessError::UnknownName`] when no entry has the name,
    /// [`AccessError::AlreadyRevoked`] when it was revoked before,
    /// [`AccessError::Write`] when saving fails. On any error the store is
    /// unchanged, in memory and on disk.
    pub fn revoke(&mut self, name: &str) -> Result<(), AccessError> {
        let Some(index) = self.entries.iter().position(|entry| entry.name == name) else {
            return Err(AccessError::UnknownName(name.to_string()));
        };
        if self.entries[index].revoked.is_some() {
            return Err(AccessError::AlreadyRevoked(name.to_string()));
        }

        self.entries[index].revoked = Some(now());
        if let Err(error) = self.save() {
            self.entries[index].revoked = None;
            return Err(error);
        }
        Ok(())
    }

    /// Decides whether a request may pass: `cookie_value` is the value of
    /// its `access_hash` cookie (empty when it has none), `client` the
    /// address it comes from.
    ///
    /// The value must be 80 lowercase hex characters. Its SHA-256 is compared
    /// with the digest of every entry, all of them and every byte of each,
    /// so the time taken does not depend on which entry or byte differs.
    /// The matching entry must not be revoked, and `client` must be inside
    /// its network.
    ///
    /// # Errors
    /// The [`Denied`] reason, for the log; the client gets the same
    /// `Not authorized` whatever it is.
    pub fn check(&self, cookie_value: &str, client: IpAddr) -> Result<&Entry, Denied> {
        if cookie_value.is_empty() {
            return Err(Denied::Missing);
        }
        if !secret::is_well_formed(cookie_value) {
            return Err(Denied::Malformed);
        }

        // Digests are unique in a store, so at most one entry matches; its
        // position plus one is folded in under a mask, never branched on.
        let digest = secret::digest_of(cookie_value);
        let mut found = 0usize;
        for (index, entry) in self.entries.iter().enumerate() {
            let equal = secret::is_zero(secret::difference(&entry.digest, &digest));
            found |= (index + 1) & 0usize.wrapping_sub(equal);
        }

        let Some(entry) = found
            .checked_sub(1)
            .and_then(|index| self.entries.get(index))
        else {
            return Err(Denied::Unknown);
        };
        if entry.is_revoked() {
            return Err(Denied::Revoked {
                name: entry.name.clone(),
            });
        }
        if !entry.allowed.contains(client) {
            return Err(Denied::WrongAddress {
                name: entry.name.clone(),
                allowed: entry.allowed,
                client,
            });
        }
        Ok(entry)
    }

    /// Saves the store to its file atomically, with mode 0600. Missing
    /// folders on the way are created with mode 0700.
    ///
    /// # Errors
    /// [`AccessError::Write`]; the file then still holds what it held.
    pub fn save(&self) -> Result<(), AccessError> {
        let file = StoredFile {
            version: FORMAT_VERSION,
            entries: self.entries.iter().map(StoredEntry::from).collect(),
        };
        let write = |source| AccessError::Write {
            path: self.path.clone(),
            source,
        };
        let mut bytes = serde_json::to_vec_pretty(&file)
            .map_err(io::Error::other)
            .map_err(write)?;
        bytes.push(b'\n');
        write_private_atomically(&self.path, &bytes).map_err(write)
    }
}

/// The current time, local, to the second.
fn now() -> DateTime<FixedOffset> {
    Local::now().fixed_offset().trunc_subsecs(0)
}

/// Refuses names that are empty, too long, or that hold anything but
/// letters, digits, ASCII punctuation and single inner spaces.
fn check_name(name: &str) -> Result<(), AccessError> {
    let reason = if name.is_empty() {
        Some("it is empty".to_string())
    } else if name.chars().count() > MAX_NAME_LENGTH {
        Some(format!("it is longer than {MAX_NAME_LENGTH} characters"))
    } else if !name.chars().all(|character| {
        character.is_ascii_graphic()
            || character == ' '
            || (!character.is_ascii() && character.is_alphanumeric())
    }) {
        Some("only letters, digits, ASCII punctuation and spaces may be used".to_string())
    } else if name.starts_with(' ') || name.ends_with(' ') {
        Some("it starts or ends with a space".to_string())
    } else {
        None
    };
    match reason {
        Some(reason) => Err(AccessError::InvalidName {
            name: name.to_string(),
            reason,
        }),
        None => Ok(()),
    }
}

/// The store's file, as written.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredFile {
    version: u32,
    entries: Vec<StoredEntry>,
}

/// One entry, as written.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredEntry {
    name: String,
    sha256: String,
    allowed: AllowedNetwork,
    created: String,
    revoked: Option<String>,
}

impl From<&Entry> for StoredEntry {
    fn from(entry: &Entry) -> StoredEntry {
        let time = |time: DateTime<FixedOffset>| time.to_rfc3339_opts(SecondsFormat::AutoSi, false);
        StoredEntry {
            name: entry.name.clone(),
            sha256: secret::to_hex(&entry.digest),
            allowed: entry.allowed,
            created: time(entry.created),
            revoked: entry.revoked.map(time),
        }
    }
}

/// The entries of a store file, or what is wrong with it.
fn parse(bytes: &[u8]) -> Result<Vec<Entry>, String> {
    let file: StoredFile = serde_json::from_slice(bytes).map_err(|error| error.to_string())?;
    if file.version != FORMAT_VERSION {
        return Err(format!(
            "format version `{}` is not the supported `{FORMAT_VERSION}`",
            file.version
        ));
    }

    let mut entries: Vec<Entry> = Vec::with_capacity(file.entries.len());
    for stored in file.entries {
        let name = stored.name;
        check_name(&name).map_err(|error| error.to_string())?;
        if entries.iter().any(|entry| entry.name == name) {
            return Err(format!("the name `{name}` is used twice"));
        }
        let digest = secret::digest_from_hex(&stored.sha256)
            .ok_or_else(|| format!("the SHA-256 of `{name}` is not 64 lowercase hex characters"))?;
        if entries.iter().any(|entry| entry.digest == digest) {
            return Err(format!("`{name}` has the SHA-256 of another entry"));
        }
        let time = |text: &str, what: &str| {
            DateTime::parse_from_rfc3339(text)
                .map_err(|error| format!("the {what} time `{text}` of `{name}`: {error}"))
        };
        let created = time(&stored.created, "creation")?;
        let revoked = match &stored.revoked {
            Some(text) => Some(time(text, "revocation")?),
            None => None,
        };
        entries.push(Entry {
            name,
            digest,
            allowed: stored.allowed,
            created,
            revoked,
        });
    }
    Ok(entries)
}

/// Writes `bytes` to `path` through a temporary file beside it with mode
/// 0600: synced, renamed over `path`, and the folder synced. The temporary
/// file is removed when a step fails.
fn write_private_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let Some(file_name) = path.file_name() else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the path names no file",
        ));
    };
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(folder)?;

    // The process id keeps two writers off each other's temporary file; a
    // leftover of a crashed process with the same id is replaced.
    let mut temporary_name = std::ffi::OsString::from(".");
    temporary_name.push(file_name);
    temporary_name.push(format!(".{}.tmp", std::process::id()));
    let temporary = folder.join(temporary_name);
    match fs::remove_file(&temporary) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error),
        _ => {}
    }

    let written = write_synced(&temporary, bytes).and_then(|()| fs::rename(&temporary, path));
    if let Err(error) = written {
        let _ = fs::remove_file(&temporary);
        return Err(error);
    }
    File::open(folder)?.sync_all()
}

/// Creates `path` with mode 0600, whatever the umask, and writes and syncs
/// `bytes`.
fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.set_permissions(fs::Permissions::from_mode(0o600))?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tempfile::TempDir;

    fn store_in(folder: &TempDir) -> AccessStore {
        AccessStore::load(folder.path().join("access-hashes.json")).unwrap()
    }

    fn network(text: &str) -> AllowedNetwork {
        text.parse().unwrap()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    /// A missing file loads as an empty store, and nothing is written until
    /// something changes.
    #[test]
    fn missing_file_is_empty_store() {
        let folder = TempDir::new().unwrap();
        let store = store_in(&folder);
        assert!(store.is_empty());
        assert!(!store.path().exists());
    }

    /// What is saved loads back the same: names, networks, digests, times
    /// and revocations.
    #[test]
    fn store_round_trips() {
        let folder = TempDir::new().unwrap();
        let mut store = store_in(&folder);
        store.add("admin", network("10.0.0.0/8")).unwrap();
        store.add("laptop", network("2001:db8::7")).unwrap();
        store.revoke("laptop").unwrap();

        let loaded = AccessStore::load(store.path()).unwrap();
        assert_eq!(loaded.list(), store.list());
        assert_eq!(loaded.list().len(), 2);
        assert_eq!(loaded.list()[0].name(), "admin");
        assert_eq!(loaded.list()[0].allowed(), network("10.0.0.0/8"));
        assert!(!loaded.list()[0].is_revoked());
        assert!(loaded.list()[1].is_revoked());
    }

    /// The file holds the SHA-256 of the hash and never the hash.
    #[test]
    fn file_holds_digest_not_hash() {
        let folder = TempDir::new().unwrap();
        let mut store = store_in(&folder);
        let hash = store.add("admin", network("127.0.0.1")).unwrap();

        let text = fs::read_to_string(store.path()).unwrap();
        assert!(!text.contains(&hash));
        assert!(text.contains(&secret::to_hex(&secret::digest_of(&hash))));
    }

    /// A second entry with a taken name is refused, also when the first was
    /// revoked, and the store stays as it was.
    #[test]
    fn duplicate_names_are_refused() {
        let folder = TempDir::new().unwrap();
        let mut store = store_in(&folder);
        store.add("admin", network("127.0.0.1")).unwrap();
        let before = fs::read(store.path()).unwrap();

        let error = store.add("admin", network("10.0.0.1")).unwrap_err();
        assert!(matches!(error, AccessError::DuplicateName(ref name) if name == "admin"));
        assert_eq!(
            error.to_string(),
            "an access hash named `admin` exists already"
        );

        store.revoke("admin").unwrap();
        assert!(matches!(
            store.add("admin", network("127.0.0.1")),
            Err(AccessError::DuplicateName(_))
        ));
        assert_eq!(store.list().len(), 1);
        assert_ne!(fs::read(store.path()).unwrap(), before, "revoke was saved");
    }

    /// Empty, overlong and unprintable names are refused; letters of any
    /// script, punctuation and inner spaces are taken.
    #[test]
    fn names_are_checked() {
        let folder = TempDir::new().unwrap();
        let mut store = store_in(&folder);
        let long = "x".repeat(MAX_NAME_LENGTH + 1);
        for bad in [
            "",
            " admin",
            "admin ",
            "ad\nmin",
            "tab\there",
            "nul\0",
            "rtl\u{202e}",
            &long,
        ] {
            assert!(
                matches!(
                    store.add(bad, network("127.0.0.1")),
                    Err(AccessError::InvalidName { .. })
                ),
                "{bad:?}"
            );
        }
        assert!(store.is_empty());

        let longest = "é".repeat(MAX_NAME_LENGTH);
        for good in ["admin", "backup robot #2", "Jürgen's-laptop_1", &longest] {
            store.add(good, network("127.0.0.1")).unwrap();
        }
    }

    /// A file that is not a store is an error naming the file, never an
    /// empty store, and it is left as it was.
    #[test]
    fn corrupt_file_is_an_error() {
        let folder = TempDir::new().unwrap();
        let path = folder.path().join("access-hashes.json");
        let digest = "ab".repeat(32);
        let entry = |name: &str, sha: &str, allowed: &str, created: &str| {
            format!(
                r#"{{"name":"{name}","sha256":"{sha}","allowed":"{allowed}","created":"{created}","revoked":null}}"#
            )
        };
        let good = entry("admin", &digest, "127.0.0.1", "2024-03-09T07:05:03+01:00");
        let cases = [
            String::new(),
            "not json".to_string(),
            "[]".to_string(),
            r#"{"version":1}"#.to_string(),
            format!(r#"{{"version":2,"entries":[{good}]}}"#),
            format!(r#"{{"version":1,"entries":[{good}],"extra":0}}"#),
            format!(r#"{{"version":1,"entries":[{good},{good}]}}"#),
            format!(
                r#"{{"version":1,"entries":[{}]}}"#,
                entry("admin", "ab", "127.0.0.1", "2024-03-09T07:05:03+01:00")
            ),
            format!(
                r#"{{"version":1,"entries":[{}]}}"#,
                entry("admin", &digest, "10.0.0.1/8", "2024-03-09T07:05:03+01:00")
            ),
            format!(
                r#"{{"version":1,"entries":[{}]}}"#,
                entry("admin", &digest, "127.0.0.1", "yesterday")
            ),
            format!(
                r#"{{"version":1,"entries":[{}]}}"#,
                entry("", &digest, "127.0.0.1", "2024-03-09T07:05:03+01:00")
            ),
        ];
        for case in &cases {
            fs::write(&path, case).unwrap();
            let error = AccessStore::load(&path).unwrap_err();
            assert!(
                matches!(error, AccessError::Corrupt { .. }),
                "{case}: {error}"
            );
            assert!(
                error.to_string().contains(&format!("`{}`", path.display())),
                "{error}"
            );
            assert_eq!(fs::read_to_string(&path).unwrap(), *case);
        }

        fs::write(&path, format!(r#"{{"version":1,"entries":[{good}]}}"#)).unwrap();
        assert_eq!(AccessStore::load(&path).unwrap().list().len(), 1);
    }

    /// A hash passes from an address inside its network, and is refused
    /// from one outside, with the reason naming the entry.
    #[test]
    fn check_takes_the_right_hash_from_the_right_address() {
        let folder = TempDir::new().unwrap();
        let mut store = store_in(&folder);
        let first = store.add("first", network("10.0.0.0/8")).unwrap();
        let second = store.add("second", network("::1")).unwrap();

        assert_eq!(store.check(&first, ip("10.2.3.4")).unwrap().name(), "first");
        assert_eq!(
            store.check(&first, ip("::ffff:10.2.3.4")).unwrap().name(),
            "first"
        );
        assert_eq!(store.check(&second, ip("::1")).unwrap().name(), "second");
        assert_eq!(
            store.check(&second, ip("127.0.0.1")),
            Err(Denied::WrongAddress {
                name: "second".to_string(),
                allowed: network("::1"),
                client: ip("127.0.0.1"),
            })
        );
    }

    /// Missing, malformed and unknown values are told apart.
    #[test]
    fn check_tells_why_it_refuses() {
        let folder = TempDir::new().unwrap();
        let mut store = store_in(&folder);
        let hash = store.add("admin", network("127.0.0.1")).unwrap();
        let client = ip("127.0.0.1");

        assert_eq!(store.check("", client), Err(Denied::Missing));
        assert_eq!(
            store.check(&hash.to_uppercase(), client),
            Err(Denied::Malformed)
        );
        assert_eq!(store.check(&hash[..79], client), Err(Denied::Malformed));
        assert_eq!(
            store.check(&format!(" {hash}"), client),
            Err(Denied::Malformed)
        );

        // Well formed, one character off.
        let last = if hash.ends_with('0') { "1" } else { "0" };
        let other = format!("{}{last}", &hash[..79]);
        assert_eq!(store.check(&other, client), Err(Denied::Unknown));
    }

    /// After revoke, the hash is refused as revoked, in this store and in
    /// the store loaded from the file; others still pass.
    #[test]
    fn revoke_then_check_is_refused() {
        let folder = TempDir::new().unwrap();
        let mut store = store_in(&folder);
        let kept = store.add("kept", network("127.0.0.1")).unwrap();
        let gone = store.add("gone", network("127.0.0.1")).unwrap();
        let client = ip("127.0.0.1");
        assert!(store.check(&gone, client).is_ok());

        store.revoke("gone").unwrap();
        let revoked = Err(Denied::Revoked {
            name: "gone".to_string(),
        });
        assert_eq!(store.check(&gone, client), revoked);
        let loaded = AccessStore::load(store.path()).unwrap();
        assert_eq!(loaded.check(&gone, client), revoked);
        assert_eq!(loaded.check(&kept, client).unwrap().name(), "kept");
    }

    /// Revoking an unknown or already revoked name is an error that changes
    /// nothing.
    #[test]
    fn revoke_refuses_unknown_and_revoked_names() {
        let folder = TempDir::new().unwrap();
        let mut store = store_in(&folder);
        store.add("admin", network("127.0.0.1")).unwrap();

        assert!(matches!(
            store.revoke("nobody"),
            Err(AccessError::UnknownName(_))
        ));
        store.revoke("admin").unwrap();
        let when = store.get("admin").unwrap().revoked();
        assert!(matches!(
            store.revoke("admin"),
            Err(AccessError::AlreadyRevoked(_))
        ));
        assert_eq!(store.get("admin").unwrap().revoked(), when);
    }

    /// A failed save leaves the store in memory as it was, and no hash is
    /// handed out.
    #[test]
    fn failed_save_changes_nothing() {
        let folder = TempDir::new().unwrap();
        // A folder where the file should be: the rename over it fails.
        let path = folder.path().join("access-hashes.json");
        fs::create_dir(&path).unwrap();
        fs::write(path.join("keep"), "").unwrap();
        let mut store = AccessStore {
            path: path.clone(),
            entries: Vec::new(),
        };

        assert!(matches!(
            store.add("admin", network("127.0.0.1")),
            Err(AccessError::Write { .. })
        ));
        assert!(store.is_empty());
        let leftovers: Vec<_> = fs::read_dir(folder.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "the temporary file is removed");
    }

    /// The store file has mode 0600, however permissive the old file was.
    #[test]
    fn file_mode_is_0600() {
        let folder = TempDir::new().unwrap();
        let mut store = store_in(&folder);
        store.add("admin", network("127.0.0.1")).unwrap();
        let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode(store.path()), 0o600);

        fs::set_permissions(store.path(), fs::Permissions::from_mode(0o644)).unwrap();
        store.revoke("admin").unwrap();
        assert_eq!(mode(store.path()), 0o600);
    }
}
