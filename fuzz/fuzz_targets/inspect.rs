//! `inspect` on arbitrary bytes: it never panics or fails on bytes in
//! memory, its description serializes, and the text it shows a person holds
//! no control character or direction override from the archive (which could
//! drive the terminal or disguise a name).

#![no_main]

use libfuzzer_sys::fuzz_target;
use puqbackup::inspect::{human, inspect_source};

/// Characters that must never reach a terminal from an archive.
fn hides(character: char) -> bool {
    (character.is_control() && character != '\n')
        || matches!(
            character,
            '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

fuzz_target!(|data: &[u8]| {
    let inspection = inspect_source(data, "fuzz.zip").expect("bytes in memory are readable");
    serde_json::to_vec(&inspection).expect("an inspection serializes");

    let shown = human::render(&inspection);
    if let Some(bad) = shown.chars().find(|character| hides(*character)) {
        panic!("the text shows {bad:?} as it is:\n{shown}");
    }
});
