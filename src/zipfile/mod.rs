//! The zip container, read byte by byte without trusting it.
//!
//! [`Layout`] follows the records of an archive as they are on disk, keeping
//! every anomaly it meets; [`read_entry`] reads one entry's data to its end
//! with its checksums, and [`parallel`] reads many entries at once over the
//! cores. All of them work on anything that implements [`ReadAt`], a file or
//! a byte buffer. Writing archives is left to the `zip` crate.

mod bytes;
pub mod dostime;
pub mod extra;
mod field;
pub mod inflate;
pub mod layout;
pub mod parallel;
pub mod read;
pub mod source;

pub use bytes::hex;
pub use field::HeaderBytes;
pub use layout::{Entry, EntryKind, Layout, LayoutError};
pub use read::{EntryData, EntryDigest, EntryReadError, EntryReader, read_entry};
pub use source::{ReadAhead, ReadAt};
