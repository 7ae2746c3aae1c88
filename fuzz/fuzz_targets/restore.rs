//! The restore engine on arbitrary bytes as an archive, into a sandbox:
//! it never panics, writes nothing outside the site it restores into,
//! makes nothing but files and folders, and a refused restore leaves the
//! live trees exactly as they were (see `sandbox.rs`).

#![no_main]

mod sandbox;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let sandbox = sandbox::Sandbox::new();
    let _ = sandbox.restore(data);
});
