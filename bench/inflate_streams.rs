//! Times inflating the deflated entries of an archive one after another on
//! one core, with the small inflater and with zlib-rs, by compressed size.
//!
//! `cargo run --release --example inflate-streams -- ARCHIVE [ROUNDS]`

use std::time::{Duration, Instant};

use flate2::{Decompress, FlushDecompress};
use puqbackup::zipfile::Layout;
use puqbackup::zipfile::inflate::{INPUT_PADDING, OUTPUT_PADDING, SmallInflater};

/// Upper bounds of the size classes, in compressed bytes.
const CLASSES: [usize; 6] = [256, 1024, 4096, 16 * 1024, 64 * 1024, 256 * 1024];

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: inflate-streams ARCHIVE [ROUNDS]"))?;
    let rounds: usize = args.next().map_or(Ok(5), |rounds| rounds.parse())?;
    let bytes = std::fs::read(&path)?;
    let layout = Layout::read(&bytes[..])?;

    // Each deflated entry's stream, padded as the small inflater wants it.
    let mut classes: Vec<Vec<(Vec<u8>, usize)>> = vec![Vec::new(); CLASSES.len()];
    for entry in &layout.entries {
        let (Ok(local), 8) = (&entry.local, entry.central.method) else {
            continue;
        };
        let start = usize::try_from(local.data_offset)?;
        let length = usize::try_from(entry.central.compressed_size)?;
        let declared = usize::try_from(entry.central.uncompressed_size)?;
        let Some(class) = CLASSES.iter().position(|&bound| length <= bound) else {
            continue;
        };
        if declared + OUTPUT_PADDING > 256 * 1024 {
            continue;
        }
        let Some(stream) = bytes.get(start..start + length) else {
            continue;
        };
        let mut padded = stream.to_vec();
        padded.extend_from_slice(&[0; INPUT_PADDING]);
        classes[class].push((padded, declared));
    }

    let mut output = vec![0u8; 256 * 1024];
    let mut small = SmallInflater::new();
    let mut zlib = Decompress::new(false);
    println!("{path}: best of {rounds} rounds, one core");
    println!(
        "{:>12} {:>8} {:>12} {:>12} {:>8} {:>9}",
        "compressed", "streams", "small ms", "zlib-rs ms", "ratio", "declined"
    );
    for (class, streams) in classes.iter().enumerate() {
        if streams.is_empty() {
            continue;
        }
        let (mut ours, mut theirs) = (Duration::MAX, Duration::MAX);
        let mut declined = 0;
        for _ in 0..rounds {
            let started = Instant::now();
            declined = 0;
            for (input, declared) in streams {
                let length = input.len() - INPUT_PADDING;
                let window = &mut output[..declared + OUTPUT_PADDING];
                if !small.inflate(input, length, window, *declared) {
                    declined += 1;
                }
            }
            ours = ours.min(started.elapsed());
            let started = Instant::now();
            for (input, declared) in streams {
                zlib.reset(false);
                let length = input.len() - INPUT_PADDING;
                let window = &mut output[..declared + OUTPUT_PADDING];
                zlib.decompress(&input[..length], window, FlushDecompress::Finish)?;
            }
            theirs = theirs.min(started.elapsed());
        }
        println!(
            "{:>12} {:>8} {:>12.2} {:>12.2} {:>8.2} {:>9}",
            format!("<= {}", CLASSES[class]),
            streams.len(),
            ours.as_secs_f64() * 1000.0,
            theirs.as_secs_f64() * 1000.0,
            theirs.as_secs_f64() / ours.as_secs_f64(),
            declined
        );
    }
    Ok(())
}
