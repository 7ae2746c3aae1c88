//! The variable fields of a header (name, extra field, comment), kept as
//! a stretch of the block they were read in.
//!
//! An archive of 50,000 files has 50,000 central headers and as many local
//! ones, each with a name and an extra field. Copied out one by one, they
//! were four small allocations an entry, as much memory again as the
//! directory itself, all of it fresh pages to fault in. A field here shares
//! the block of the directory it was read from, and a local header's name
//! and extra field, when they equal the central header's, share those.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::{Deref, Range};
use std::sync::Arc;

/// A header field's bytes: a stretch of a shared block, or none.
#[derive(Clone, Default)]
pub struct HeaderBytes {
    block: Option<Arc<Vec<u8>>>,
    start: u32,
    end: u32,
}

impl HeaderBytes {
    /// The bytes of `range` in `block`, shared with it; an empty field when
    /// the range is empty or not inside the block.
    pub fn shared(block: &Arc<Vec<u8>>, range: Range<usize>) -> HeaderBytes {
        let inside = range.start < range.end && range.end <= block.len();
        match (u32::try_from(range.start), u32::try_from(range.end)) {
            (Ok(start), Ok(end)) if inside => HeaderBytes {
                block: Some(Arc::clone(block)),
                start,
                end,
            },
            _ => HeaderBytes::default(),
        }
    }

    /// A field of its own holding a copy of `bytes`.
    pub fn copied(bytes: &[u8]) -> HeaderBytes {
        HeaderBytes::from(bytes.to_vec())
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        match &self.block {
            Some(block) => block
                .get(self.start as usize..self.end as usize)
                .unwrap_or(&[]),
            None => &[],
        }
    }
}

impl From<Vec<u8>> for HeaderBytes {
    fn from(bytes: Vec<u8>) -> HeaderBytes {
        let length = bytes.len();
        HeaderBytes::shared(&Arc::new(bytes), 0..length)
    }
}

impl Deref for HeaderBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl fmt::Debug for HeaderBytes {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_slice().fmt(formatter)
    }
}

impl PartialEq for HeaderBytes {
    fn eq(&self, other: &HeaderBytes) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for HeaderBytes {}

impl PartialEq<[u8]> for HeaderBytes {
    fn eq(&self, other: &[u8]) -> bool {
        self.as_slice() == other
    }
}

impl PartialEq<&[u8]> for HeaderBytes {
    fn eq(&self, other: &&[u8]) -> bool {
        self.as_slice() == *other
    }
}

impl<const N: usize> PartialEq<&[u8; N]> for HeaderBytes {
    fn eq(&self, other: &&[u8; N]) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl PartialEq<Vec<u8>> for HeaderBytes {
    fn eq(&self, other: &Vec<u8>) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Hash for HeaderBytes {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_field_is_its_stretch_of_the_block() {
        let block = Arc::new(b"config/a.confUT".to_vec());
        let name = HeaderBytes::shared(&block, 0..13);
        let extra = HeaderBytes::shared(&block, 13..15);
        assert_eq!(name, b"config/a.conf".as_slice());
        assert_eq!(extra.as_slice(), b"UT");
        assert_eq!(name, HeaderBytes::copied(b"config/a.conf"));
        assert_ne!(name, extra);
        assert_eq!(format!("{extra:?}"), format!("{:?}", b"UT".to_vec()));
    }

    #[test]
    fn a_range_outside_the_block_is_an_empty_field() {
        let block = Arc::new(vec![1, 2, 3]);
        assert!(HeaderBytes::shared(&block, 2..4).is_empty());
        assert!(HeaderBytes::shared(&block, 3..3).is_empty());
        assert!(HeaderBytes::default().is_empty());
        assert_eq!(HeaderBytes::shared(&block, 1..3), vec![2u8, 3]);
    }
}
