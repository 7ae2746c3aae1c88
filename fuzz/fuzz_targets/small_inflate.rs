//! The small inflater on arbitrary bytes as a raw deflate stream, with an
//! arbitrary declared size: it never panics, and it vouches for a stream
//! only when zlib-rs reads that stream whole, to exactly the declared size,
//! giving the same bytes.

#![no_main]

use flate2::{Decompress, FlushDecompress, Status};
use libfuzzer_sys::fuzz_target;
use puqbackup::zipfile::inflate::{INPUT_PADDING, OUTPUT_PADDING, SmallInflater};

fuzz_target!(|data: &[u8]| {
    let Some((size, stream)) = data.split_first_chunk::<2>() else {
        return;
    };
    let declared = usize::from(u16::from_le_bytes(*size));

    let mut input = stream.to_vec();
    // Padding that is not zero, so that reading into it shows.
    input.extend_from_slice(&[0xa5; INPUT_PADDING]);
    let mut output = vec![0u8; declared + OUTPUT_PADDING];
    if !SmallInflater::new().inflate(&input, stream.len(), &mut output, declared) {
        return;
    }

    let mut decompress = Decompress::new(false);
    let mut general = vec![0u8; declared + 1];
    let status = decompress
        .decompress(stream, &mut general, FlushDecompress::Finish)
        .expect("zlib-rs refuses a stream the small inflater vouched for");
    assert_eq!(status, Status::StreamEnd, "zlib-rs does not reach the end");
    assert_eq!(decompress.total_in() as usize, stream.len(), "zlib-rs ends elsewhere");
    assert_eq!(decompress.total_out() as usize, declared, "zlib-rs gives another size");
    assert_eq!(&output[..declared], &general[..declared], "the bytes differ");
});
