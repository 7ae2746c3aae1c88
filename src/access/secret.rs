//! The access hash itself: how one is made, what a well-formed one looks
//! like, and how its SHA-256 is compared without leaking timing.
//!
//! An access hash is 40 bytes from the operating system's random source,
//! written as 80 lowercase hex characters. The store keeps only the SHA-256 of
//! that text, so a copy of the store grants nothing.

use std::io;

use sha2::{Digest, Sha256};

/// How many random bytes an access hash carries.
pub const RANDOM_BYTES: usize = 40;

/// How many characters an access hash has: two hex digits per byte.
pub const HASH_LENGTH: usize = RANDOM_BYTES * 2;

/// The SHA-256 of an access hash's text, as the store keeps it.
pub(crate) type HashDigest = [u8; 32];

/// Makes a new access hash from the operating system's random source.
///
/// # Errors
/// The error of the `getrandom` system call; it is retried when a signal
/// interrupts it.
pub(crate) fn generate() -> io::Result<String> {
    let mut bytes = [0u8; RANDOM_BYTES];
    let mut filled = 0;
    while filled < bytes.len() {
        match rustix::rand::getrandom(&mut bytes[filled..], rustix::rand::GetRandomFlags::empty()) {
            Ok(count) => filled += count,
            Err(rustix::io::Errno::INTR) => continue,
            Err(errno) => return Err(io::Error::from(errno)),
        }
    }
    Ok(to_hex(&bytes))
}

/// Lowercase hex of `bytes`.
pub(crate) use crate::zipfile::hex as to_hex;

/// The 32 bytes that 64 lowercase hex characters spell, if they do.
pub(crate) fn digest_from_hex(text: &str) -> Option<HashDigest> {
    if text.len() != 64 || !text.bytes().all(is_lower_hex) {
        return None;
    }
    let mut digest = [0u8; 32];
    for (byte, pair) in digest.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
        let pair = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(digest)
}

fn is_lower_hex(byte: u8) -> bool {
    byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte)
}

/// Whether `value` has the form of an access hash: exactly 80 lowercase hex
/// characters.
///
/// Every character is examined, whatever the first ones are: the answer
/// does not tell by its timing where a bad character sits.
pub fn is_well_formed(value: &str) -> bool {
    if value.len() != HASH_LENGTH {
        return false;
    }
    let mut bad = 0u8;
    for &byte in value.as_bytes() {
        let digit = byte.wrapping_sub(b'0') < 10;
        let letter = byte.wrapping_sub(b'a') < 6;
        bad |= u8::from(!(digit | letter));
    }
    bad == 0
}

/// The SHA-256 of an access hash's text.
pub(crate) fn digest_of(access_hash: &str) -> HashDigest {
    Sha256::digest(access_hash.as_bytes()).into()
}

/// Zero when the digests are equal, something else otherwise; never stops
/// at the first differing byte.
pub(crate) fn difference(first: &HashDigest, second: &HashDigest) -> u8 {
    let mut folded = 0u8;
    for (left, right) in first.iter().zip(second) {
        folded |= left ^ right;
    }
    // Keep the optimiser from turning the fold into an early exit.
    std::hint::black_box(folded)
}

/// 1 when `value` is zero, 0 otherwise, computed without a branch.
pub(crate) fn is_zero(value: u8) -> usize {
    let widened = u16::from(value);
    usize::from(widened.wrapping_sub(1) >> 15)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A new hash is 80 lowercase hex characters, and two are never alike.
    #[test]
    fn generated_hashes_are_80_lowercase_hex_and_distinct() {
        let first = generate().unwrap();
        let second = generate().unwrap();
        assert!(is_well_formed(&first), "{first}");
        assert!(is_well_formed(&second), "{second}");
        assert_ne!(first, second);
    }

    /// Only exactly 80 characters from `0-9a-f` pass the format check.
    #[test]
    fn format_check_takes_only_80_lowercase_hex() {
        let good = "0123456789abcdef".repeat(5);
        assert!(is_well_formed(&good));

        assert!(!is_well_formed(""));
        assert!(!is_well_formed(&good[..79]));
        assert!(!is_well_formed(&format!("{good}0")));
        assert!(!is_well_formed(&good.to_uppercase()));
        for bad in ['g', 'G', 'A', ' ', '/', ':', '`', '\0'] {
            let mut text = good.clone();
            text.replace_range(40..41, &bad.to_string());
            assert!(!is_well_formed(&text), "{bad:?}");
            let mut text = good.clone();
            text.replace_range(79..80, &bad.to_string());
            assert!(!is_well_formed(&text), "last {bad:?}");
        }
        // 80 bytes, but not 80 hex characters.
        let multibyte = format!("{}é", &good[..78]);
        assert_eq!(multibyte.len(), 80);
        assert!(!is_well_formed(&multibyte));
    }

    /// Hex spelling and parsing of a digest agree, and parsing refuses
    /// anything but 64 lowercase hex characters.
    #[test]
    fn digest_hex_round_trips() {
        let digest = digest_of("abc");
        let text = to_hex(&digest);
        assert_eq!(
            text,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(digest_from_hex(&text), Some(digest));
        assert_eq!(digest_from_hex(&text.to_uppercase()), None);
        assert_eq!(digest_from_hex(&text[..62]), None);
        assert_eq!(digest_from_hex(&format!("+{}", &text[1..])), None);
    }

    fn digests_equal(first: &HashDigest, second: &HashDigest) -> bool {
        is_zero(difference(first, second)) == 1
    }

    /// The comparison says equal for equal digests and unequal whichever
    /// byte differs, by whatever bit.
    #[test]
    fn constant_time_compare_is_correct() {
        let digest = digest_of("some access hash");
        assert!(digests_equal(&digest, &digest.clone()));
        for index in 0..32 {
            for bit in 0..8 {
                let mut other = digest;
                other[index] ^= 1 << bit;
                assert!(!digests_equal(&digest, &other), "byte {index} bit {bit}");
            }
        }
        assert!(!digests_equal(&[0; 32], &[0xff; 32]));
    }

    /// The branch-free zero test answers 1 for zero and 0 for every other
    /// byte.
    #[test]
    fn is_zero_is_exact() {
        assert_eq!(is_zero(0), 1);
        for value in 1..=u8::MAX {
            assert_eq!(is_zero(value), 0, "{value}");
        }
    }
}
