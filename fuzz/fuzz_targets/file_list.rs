//! The file-list parser on arbitrary bytes: it never panics, and every list
//! it reads writes out to bytes that read back as the same list, without a
//! malformed line.

#![no_main]

use libfuzzer_sys::fuzz_target;
use puqbackup::format::FileList;

fuzz_target!(|data: &[u8]| {
    let (list, errors) = FileList::parse(data);
    for error in &errors {
        assert!(error.line >= 1);
        let _ = error.to_string();
    }

    let encoded = list.encode();
    assert_eq!(encoded.len(), list.encoded_length());
    let (again, errors) = FileList::parse(&encoded);
    assert!(errors.is_empty(), "a written list reads back with errors: {errors:?}");
    assert_eq!(again, list, "a written list reads back differently");
});
