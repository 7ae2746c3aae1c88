//! Inflating a small deflate stream held whole in memory, in one call.
//!
//! The general inflater keeps state between calls, a window, and a slow
//! path for the last bytes of its input and room; for a stream of a few
//! hundred bytes that overhead, and the building of its large Huffman
//! tables, cost more than the decoding. [`SmallInflater`] decodes a
//! stream whose whole input and whole output fit in memory, with tables
//! no larger than its codes need. It answers only for streams it decodes
//! to their end exactly as declared: anything else (damage, a stored
//! block, a size other than declared, a stream that stops early) makes it
//! answer `false`, and the caller inflates the stream the general way,
//! which gives the reason.

/// Bytes the input must have readable after the stream: the bit reader
/// loads eight bytes at a time and may run past the end before it notices.
pub const INPUT_PADDING: usize = 16;
/// Bytes the output must have writable after the declared size: copies
/// move up to sixteen bytes at a time.
pub const OUTPUT_PADDING: usize = 16;

/// Root bits of the literal/length table; longer codes go to subtables.
const LITLEN_ROOT: u32 = 10;
/// Root bits of the distance table.
const DIST_ROOT: u32 = 8;
/// Room for the literal/length table and its subtables (1,332 entries at
/// most for ten root bits and 286 codes of up to 15 bits), rounded up to a
/// power of two so that an index masked to it is always in bounds.
const LITLEN_ROOM: usize = 2048;
/// Room for the distance table: 402 entries at most for eight root bits
/// and 30 codes.
const DIST_ROOM: usize = 512;
/// Room for the code-length table: seven bits at most.
const CODE_LENGTH_ROOM: usize = 128;

// A table entry is a u32:
// bits 0..4   bits to drop at this level,
// bits 4..8   extra bits that follow (lengths and distances), or the index
//             bits of a subtable,
// bits 8..11  what the entry is,
// bits 16..32 its value: a literal, a base, a symbol, or where a subtable
//             starts.
const KIND_INVALID: u32 = 0;
const KIND_LITERAL: u32 = 1;
const KIND_LENGTH: u32 = 2;
const KIND_END: u32 = 3;
const KIND_SUBTABLE: u32 = 4;
const KIND_DISTANCE: u32 = 5;
const KIND_SYMBOL: u32 = 6;

const fn entry(kind: u32, value: u32, extra: u32) -> u32 {
    (value << 16) | (kind << 8) | (extra << 4)
}

const fn kind(entry: u32) -> u32 {
    (entry >> 8) & 7
}

const fn drop_bits(entry: u32) -> u32 {
    entry & 15
}

const fn extra_bits(entry: u32) -> u32 {
    (entry >> 4) & 15
}

const fn value(entry: u32) -> u32 {
    entry >> 16
}

const LENGTH_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LENGTH_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];
/// The order in which a dynamic block gives the code-length code's lengths.
const CODE_LENGTH_ORDER: [usize; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

fn litlen_entry(symbol: usize) -> u32 {
    match symbol {
        0..=255 => entry(KIND_LITERAL, symbol as u32, 0),
        256 => entry(KIND_END, 0, 0),
        257..=285 => {
            let code = symbol - 257;
            entry(
                KIND_LENGTH,
                u32::from(LENGTH_BASE[code]),
                u32::from(LENGTH_EXTRA[code]),
            )
        }
        _ => entry(KIND_INVALID, 0, 0),
    }
}

fn dist_entry(symbol: usize) -> u32 {
    match (DIST_BASE.get(symbol), DIST_EXTRA.get(symbol)) {
        (Some(&base), Some(&extra)) => entry(KIND_DISTANCE, u32::from(base), u32::from(extra)),
        _ => entry(KIND_INVALID, 0, 0),
    }
}

fn symbol_entry(symbol: usize) -> u32 {
    entry(KIND_SYMBOL, symbol as u32, 0)
}

/// A canonical code as deflate defines it: for each length, the symbols
/// of that length in increasing order. Gathered while the lengths are
/// read, it saves counting and sorting them again.
struct Code {
    counts: [u16; 16],
    symbols: [[u16; 288]; 16],
}

impl Code {
    fn new() -> Code {
        Code {
            counts: [0; 16],
            symbols: [[0; 288]; 16],
        }
    }

    fn clear(&mut self) {
        self.counts = [0; 16];
    }

    /// Adds `symbol` with `length`; symbols must come in increasing order.
    #[inline(always)]
    fn push(&mut self, symbol: usize, length: u8) -> Option<()> {
        let length = usize::from(length);
        if length != 0 {
            let count = self.counts.get_mut(length)?;
            *self.symbols[length].get_mut(usize::from(*count))? = symbol as u16;
            *count += 1;
        }
        Some(())
    }

    fn of_lengths(lengths: &[u8]) -> Option<Code> {
        let mut code = Code::new();
        for (symbol, &length) in lengths.iter().enumerate() {
            code.push(symbol, length)?;
        }
        Some(code)
    }

    /// The symbols of `length`.
    fn of_length(&self, length: u32) -> &[u16] {
        let length = length as usize;
        &self.symbols[length][..usize::from(self.counts[length])]
    }
}

/// Fills `table` with the decoding table of `code`, `root` bits at most at
/// its first level; answers the root bits used, or none when the code is
/// over-subscribed, incomplete (but for a lone code of one bit where
/// `lone_allowed`, as zlib allows for literals and distances), or too large
/// for the table.
fn build_table(
    code: &Code,
    max_root: u32,
    table: &mut [u32],
    entry_of: fn(usize) -> u32,
    lone_allowed: bool,
) -> Option<u32> {
    let counts = &code.counts;
    let max_length = (1..16)
        .rev()
        .find(|&length| counts[length] != 0)
        .unwrap_or(0) as u32;
    if max_length == 0 {
        // No code at all: every lookup is invalid.
        let invalid = entry(KIND_INVALID, 0, 0) | 1;
        table.get_mut(..2)?.fill(invalid);
        return Some(1);
    }
    let min_length = (1..16).find(|&length| counts[length] != 0).unwrap_or(1) as u32;

    // Kraft's sum: no length may be over-subscribed, and the code must be
    // complete unless it is a single code of one bit.
    let mut left: i32 = 1;
    for &count in &counts[1..] {
        left = (left << 1) - i32::from(count);
        if left < 0 {
            return None;
        }
    }
    if left > 0 && !(lone_allowed && max_length == 1) {
        return None;
    }

    let root = max_root.min(max_length);
    let root_size = 1usize << root;
    if table.len() < root_size || min_length > root {
        return None;
    }
    if left > 0 {
        // The lone one-bit code: the other half of the table is invalid.
        table[..root_size].fill(entry(KIND_INVALID, 0, 0) | 1);
    }

    // The first level is built by doubling: once the codes of one length
    // are written, the filled prefix is copied after itself, which makes
    // every shorter code ignore one more bit.
    let mut next: u32 = 0;
    let mut filled = 1usize << min_length;
    let mut length = min_length;
    while length <= root {
        for &symbol in code.of_length(length) {
            let reversed = next.reverse_bits() >> (32 - length);
            *table.get_mut(reversed as usize)? = entry_of(usize::from(symbol)) | length;
            next += 1;
        }
        next <<= 1;
        length += 1;
        if length <= root {
            table.copy_within(..filled, filled);
            filled <<= 1;
        }
    }

    // Codes longer than the root: each group that shares its first `root`
    // bits gets a subtable of its own, just large enough for them.
    let mut remaining = *counts;
    let mut next_free = root_size;
    let mut current_prefix = usize::MAX;
    let (mut sub_start, mut sub_bits) = (0usize, 0u32);
    while length <= max_length {
        for &symbol in code.of_length(length) {
            let reversed = (next.reverse_bits() >> (32 - length)) as usize;
            let prefix = reversed & (root_size - 1);
            if prefix != current_prefix {
                // How many bits this subtable needs: enough for the codes
                // left that start with this prefix.
                sub_bits = length - root;
                let mut room: i32 = 1 << sub_bits;
                while sub_bits + root < max_length {
                    room -= i32::from(remaining[(sub_bits + root) as usize]);
                    if room <= 0 {
                        break;
                    }
                    sub_bits += 1;
                    room <<= 1;
                }
                sub_start = next_free;
                next_free += 1 << sub_bits;
                if next_free > table.len() || sub_start > usize::from(u16::MAX) {
                    return None;
                }
                table[prefix] = entry(KIND_SUBTABLE, sub_start as u32, sub_bits) | root;
                current_prefix = prefix;
            }
            let sub_entry = entry_of(usize::from(symbol)) | (length - root);
            let step = 1usize << (length - root);
            let mut index = reversed >> root;
            while index < 1 << sub_bits {
                table[sub_start + index] = sub_entry;
                index += step;
            }
            remaining[length as usize] -= 1;
            next += 1;
        }
        next <<= 1;
        length += 1;
    }
    Some(root)
}

/// Bits of the input, read from a slice padded past the stream's end.
struct Bits<'a> {
    input: &'a [u8],
    /// Length of the stream itself, without the padding.
    length: usize,
    /// The next byte to load.
    position: usize,
    buffer: u64,
    count: u32,
}

impl Bits<'_> {
    /// Makes at least 56 bits available; false when the reader has run
    /// more than eight bytes past the stream, which no valid stream does.
    #[inline(always)]
    fn refill(&mut self) -> bool {
        if self.position > self.length + 8 {
            return false;
        }
        let Some(bytes) = self.input.get(self.position..self.position + 8) else {
            return false;
        };
        let mut word = [0u8; 8];
        word.copy_from_slice(bytes);
        self.buffer |= u64::from_le_bytes(word) << self.count;
        let taken = (63 - self.count) >> 3;
        self.position += taken as usize;
        self.count += taken * 8;
        true
    }

    #[inline(always)]
    fn peek(&self, bits: u32) -> u32 {
        (self.buffer & ((1u64 << bits) - 1)) as u32
    }

    #[inline(always)]
    fn consume(&mut self, bits: u32) {
        self.buffer >>= bits;
        self.count -= bits;
    }

    /// Bytes of the stream used so far, counting a partly used last byte.
    fn bytes_used(&self) -> usize {
        let bits = self.position * 8 - self.count as usize;
        bits.div_ceil(8)
    }

    fn overran(&self) -> bool {
        self.position * 8 - (self.count as usize) > self.length * 8
    }
}

/// Decodes one entry through a two-level table.
#[inline(always)]
fn decode(table: &[u32], root: u32, bits: &mut Bits<'_>) -> u32 {
    let mut found = table[(bits.peek(root) as usize) & (table.len() - 1)];
    if kind(found) == KIND_SUBTABLE {
        bits.consume(root);
        let index = value(found) as usize + bits.peek(extra_bits(found)) as usize;
        found = table.get(index).copied().unwrap_or(0);
    }
    bits.consume(drop_bits(found));
    found
}

/// An inflater for small streams, with its tables kept between streams.
pub struct SmallInflater {
    litlen: Box<[u32; LITLEN_ROOM]>,
    dist: Box<[u32; DIST_ROOM]>,
    code_lengths: [u32; CODE_LENGTH_ROOM],
    litlen_code: Box<Code>,
    dist_code: Box<Code>,
    fixed: Option<FixedTables>,
}

impl Default for SmallInflater {
    fn default() -> Self {
        SmallInflater::new()
    }
}

impl SmallInflater {
    /// An inflater with empty tables.
    pub fn new() -> SmallInflater {
        SmallInflater {
            litlen: Box::new([0; LITLEN_ROOM]),
            dist: Box::new([0; DIST_ROOM]),
            code_lengths: [0; CODE_LENGTH_ROOM],
            litlen_code: Box::new(Code::new()),
            dist_code: Box::new(Code::new()),
            fixed: None,
        }
    }

    /// Inflates the raw deflate stream `input[..length]` into
    /// `output[..declared]`. `input` must extend [`INPUT_PADDING`] bytes past
    /// `length` (what they hold does not matter) and `output`
    /// [`OUTPUT_PADDING`] bytes past `declared`. Answers true only when the
    /// stream is valid, ends exactly at `length` bytes and gives exactly
    /// `declared` bytes; on false, `output` holds nothing of use.
    pub fn inflate(
        &mut self,
        input: &[u8],
        length: usize,
        output: &mut [u8],
        declared: usize,
    ) -> bool {
        if input.len() < length + INPUT_PADDING || output.len() < declared + OUTPUT_PADDING {
            return false;
        }
        let mut bits = Bits {
            input,
            length,
            position: 0,
            buffer: 0,
            count: 0,
        };
        let mut written = 0usize;
        loop {
            if !bits.refill() {
                return false;
            }
            let last = bits.peek(1) == 1;
            let block_type = (bits.buffer >> 1) & 3;
            bits.consume(3);
            let decoded = match block_type {
                1 => {
                    let fixed = self.fixed.get_or_insert_with(FixedTables::new);
                    inflate_block(
                        &mut bits,
                        &fixed.litlen[..],
                        fixed.litlen_root,
                        &fixed.dist[..],
                        fixed.dist_root,
                        output,
                        declared,
                        written,
                    )
                }
                2 => {
                    let Some((litlen_root, dist_root)) = self.read_dynamic_header(&mut bits) else {
                        return false;
                    };
                    inflate_block(
                        &mut bits,
                        &self.litlen[..],
                        litlen_root,
                        &self.dist[..],
                        dist_root,
                        output,
                        declared,
                        written,
                    )
                }
                // Stored blocks, and the reserved type, go the general way.
                _ => None,
            };
            let Some(end) = decoded else {
                return false;
            };
            written = end;
            if last {
                break;
            }
        }
        !bits.overran() && bits.bytes_used() == length && written == declared
    }

    /// Reads a dynamic block's code definitions and builds its tables;
    /// answers their root bits.
    fn read_dynamic_header(&mut self, bits: &mut Bits<'_>) -> Option<(u32, u32)> {
        if !bits.refill() {
            return None;
        }
        let litlen_count = bits.peek(5) as usize + 257;
        bits.consume(5);
        let dist_count = bits.peek(5) as usize + 1;
        bits.consume(5);
        let code_length_count = bits.peek(4) as usize + 4;
        bits.consume(4);
        if litlen_count > 286 || dist_count > 30 {
            return None;
        }

        // The code-length code's lengths: 57 bits at most, in two refills.
        let mut code_length_lengths = [0u8; 19];
        for &symbol in &CODE_LENGTH_ORDER[..code_length_count] {
            if bits.count < 3 && !bits.refill() {
                return None;
            }
            code_length_lengths[symbol] = bits.peek(3) as u8;
            bits.consume(3);
        }
        // The literal code's lists hold the code-length code until the
        // literal code itself is read.
        self.litlen_code.clear();
        for (symbol, &length) in code_length_lengths.iter().enumerate() {
            self.litlen_code.push(symbol, length)?;
        }
        let code_root = build_table(
            &self.litlen_code,
            7,
            &mut self.code_lengths,
            symbol_entry,
            false,
        )?;

        // Both codes' lengths, run-length coded with the code-length code;
        // a run may cross from one code into the other.
        self.litlen_code.clear();
        self.dist_code.clear();
        let total = litlen_count + dist_count;
        let mut filled = 0usize;
        let mut previous: Option<u8> = None;
        let mut has_end = false;
        while filled < total {
            if bits.count < 16 && !bits.refill() {
                return None;
            }
            let found = decode(&self.code_lengths, code_root, bits);
            if kind(found) != KIND_SYMBOL {
                return None;
            }
            let (length, times) = match value(found) {
                symbol @ 0..=15 => (symbol as u8, 1),
                16 => {
                    let times = 3 + bits.peek(2) as usize;
                    bits.consume(2);
                    (previous?, times)
                }
                17 => {
                    let times = 3 + bits.peek(3) as usize;
                    bits.consume(3);
                    (0, times)
                }
                _ => {
                    let times = 11 + bits.peek(7) as usize;
                    bits.consume(7);
                    (0, times)
                }
            };
            if filled + times > total {
                return None;
            }
            if length != 0 {
                for symbol in filled..filled + times {
                    if symbol < litlen_count {
                        has_end |= symbol == 256;
                        self.litlen_code.push(symbol, length)?;
                    } else {
                        self.dist_code.push(symbol - litlen_count, length)?;
                    }
                }
            }
            previous = Some(length);
            filled += times;
        }
        // A block without an end-of-block code could never end.
        if !has_end {
            return None;
        }
        let litlen_root = build_table(
            &self.litlen_code,
            LITLEN_ROOT,
            &mut self.litlen[..],
            litlen_entry,
            true,
        )?;
        let dist_root = build_table(
            &self.dist_code,
            DIST_ROOT,
            &mut self.dist[..],
            dist_entry,
            true,
        )?;
        Some((litlen_root, dist_root))
    }
}

/// The tables of the fixed code, built once.
struct FixedTables {
    litlen: Box<[u32; LITLEN_ROOM]>,
    litlen_root: u32,
    dist: Box<[u32; DIST_ROOM]>,
    dist_root: u32,
}

impl FixedTables {
    fn new() -> FixedTables {
        let mut lengths = [0u8; 288];
        lengths[..144].fill(8);
        lengths[144..256].fill(9);
        lengths[256..280].fill(7);
        lengths[280..].fill(8);
        let mut litlen = Box::new([0u32; LITLEN_ROOM]);
        let mut dist = Box::new([0u32; DIST_ROOM]);
        // Both codes are complete and fit their tables; were building to
        // fail, every lookup would meet an invalid entry and every fixed
        // block would go the general way.
        let build = |lengths: &[u8], root, table: &mut [u32], entry_of| {
            let code = Code::of_lengths(lengths)?;
            build_table(&code, root, table, entry_of, false)
        };
        let litlen_root = build(&lengths, LITLEN_ROOT, &mut litlen[..], litlen_entry).unwrap_or(1);
        let dist_root = build(&[5u8; 32], DIST_ROOT, &mut dist[..], dist_entry).unwrap_or(1);
        FixedTables {
            litlen,
            litlen_root,
            dist,
            dist_root,
        }
    }
}

/// Decodes one Huffman-coded block into `output` from `written` on;
/// answers where the output ends, or none on anything the general way
/// should judge.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn inflate_block(
    bits: &mut Bits<'_>,
    litlen: &[u32],
    litlen_root: u32,
    dist: &[u32],
    dist_root: u32,
    output: &mut [u8],
    declared: usize,
    mut written: usize,
) -> Option<usize> {
    // A refill gives 56 bits: three codes of 15 bits at most, or a length
    // with its extra bits followed by a distance code with its own.
    loop {
        if !bits.refill() {
            return None;
        }
        let mut found = decode(litlen, litlen_root, bits);
        let mut literals = 0;
        while kind(found) == KIND_LITERAL {
            if written >= declared {
                return None;
            }
            output[written] = value(found) as u8;
            written += 1;
            literals += 1;
            if literals == 3 {
                break;
            }
            found = decode(litlen, litlen_root, bits);
        }
        match kind(found) {
            KIND_LITERAL => {}
            KIND_LENGTH => {
                let extra = extra_bits(found);
                let length = value(found) as usize + bits.peek(extra) as usize;
                bits.consume(extra);
                if bits.count < 28 && !bits.refill() {
                    return None;
                }
                let found = decode(dist, dist_root, bits);
                if kind(found) != KIND_DISTANCE {
                    return None;
                }
                let extra = extra_bits(found);
                let distance = value(found) as usize + bits.peek(extra) as usize;
                bits.consume(extra);
                if distance > written || length > declared - written {
                    return None;
                }
                copy_match(output, written, distance, length);
                written += length;
            }
            KIND_END => return Some(written),
            _ => return None,
        }
    }
}

/// Copies `length` bytes from `distance` back to `at`, overlapping as
/// deflate means it; may write up to fifteen bytes past the match.
#[inline(always)]
fn copy_match(output: &mut [u8], at: usize, distance: usize, length: usize) {
    let from = at - distance;
    if distance >= 16 {
        let mut done = 0;
        while done < length {
            output.copy_within(from + done..from + done + 16, at + done);
            done += 16;
        }
    } else if distance >= 8 {
        let mut done = 0;
        while done < length {
            output.copy_within(from + done..from + done + 8, at + done);
            done += 8;
        }
    } else {
        for offset in 0..length {
            output[at + offset] = output[from + offset];
        }
    }
}

#[cfg(test)]
mod tests {
    use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
    use proptest::prelude::*;

    use super::*;

    fn deflate(data: &[u8], level: u32) -> Vec<u8> {
        let mut compress = Compress::new(Compression::new(level), false);
        let mut stream = Vec::with_capacity(data.len() + 64);
        loop {
            let before = compress.total_in() as usize;
            stream.reserve(4096);
            let status = compress
                .compress_vec(&data[before..], &mut stream, FlushCompress::Finish)
                .expect("deflate");
            if status == Status::StreamEnd {
                return stream;
            }
        }
    }

    /// What the small inflater makes of `stream`, with `declared` bytes
    /// expected: the output when it vouches for the stream.
    fn small(stream: &[u8], declared: usize) -> Option<Vec<u8>> {
        let mut input = stream.to_vec();
        // Padding that is not zero: what follows a stream must not count.
        input.extend_from_slice(&[0xa5; INPUT_PADDING]);
        let mut output = vec![0u8; declared + OUTPUT_PADDING];
        SmallInflater::new()
            .inflate(&input, stream.len(), &mut output, declared)
            .then(|| output[..declared].to_vec())
    }

    /// What zlib-rs makes of `stream` when it is a whole valid stream of
    /// exactly `declared` bytes, using every byte of it.
    fn general(stream: &[u8], declared: usize) -> Option<Vec<u8>> {
        let mut decompress = Decompress::new(false);
        let mut output = vec![0u8; declared + 1];
        let status = decompress
            .decompress(stream, &mut output, FlushDecompress::Finish)
            .ok()?;
        let whole = status == Status::StreamEnd
            && decompress.total_in() as usize == stream.len()
            && decompress.total_out() as usize == declared;
        whole.then(|| output[..declared].to_vec())
    }

    /// Bytes drawn mostly from a few values, with runs: what deflate codes
    /// with Huffman blocks at every level but 0.
    fn compressible() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec((0u8..12, 1usize..6), 1..400).prop_map(|runs| {
            runs.into_iter()
                .flat_map(|(value, run)| std::iter::repeat_n(b'a' + value, run))
                .collect()
        })
    }

    #[test]
    fn an_empty_fixed_block_is_an_empty_stream() {
        assert_eq!(small(&[0x03, 0x00], 0), Some(Vec::new()));
        assert_eq!(general(&[0x03, 0x00], 0), Some(Vec::new()));
    }

    #[test]
    fn stored_blocks_are_left_to_the_general_way() {
        let data = b"stored, not compressed".to_vec();
        let stream = deflate(&data, 0);
        assert_eq!(general(&stream, data.len()), Some(data.clone()));
        assert_eq!(small(&stream, data.len()), None);
    }

    #[test]
    fn long_codes_use_subtables_and_inflate_alike() {
        // Byte values of very different frequencies: the rarest get codes
        // longer than the first level's ten bits.
        let mut data = Vec::new();
        let mut state = 1u32;
        for _ in 0..60_000 {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let draw = state >> 16;
            data.push((draw.trailing_zeros() * 16 + (draw & 15)) as u8);
        }
        let stream = deflate(&data, 6);
        let mut tables = SmallInflater::new();
        let mut input = stream.clone();
        input.extend_from_slice(&[0; INPUT_PADDING]);
        let mut output = vec![0u8; data.len() + OUTPUT_PADDING];
        assert!(tables.inflate(&input, stream.len(), &mut output, data.len()));
        assert_eq!(&output[..data.len()], &data[..]);
        // The literal code did need a second level.
        assert!(
            tables.litlen_code.counts[11..]
                .iter()
                .any(|&count| count > 0)
        );
    }

    #[test]
    fn a_size_other_than_declared_is_left_to_the_general_way() {
        let data = b"abcabcabcabcabc, and then some more text".to_vec();
        let stream = deflate(&data, 9);
        assert_eq!(small(&stream, data.len()), Some(data.clone()));
        assert_eq!(small(&stream, data.len() - 1), None);
        assert_eq!(small(&stream, data.len() + 1), None);
        // Bytes after the stream's end.
        let mut longer = stream.clone();
        longer.push(0);
        assert_eq!(small(&longer, data.len()), None);
        // A stream cut short.
        assert_eq!(small(&stream[..stream.len() - 1], data.len()), None);
    }

    /// Writes bits as deflate packs them: from the lowest bit of each byte.
    #[derive(Default)]
    struct BitWriter {
        bytes: Vec<u8>,
        used: u32,
    }

    impl BitWriter {
        fn bits(&mut self, value: u32, count: u32) {
            for bit in 0..count {
                if self.used == 0 {
                    self.bytes.push(0);
                }
                let last = self.bytes.len() - 1;
                self.bytes[last] |= (((value >> bit) & 1) as u8) << self.used;
                self.used = (self.used + 1) % 8;
            }
        }

        /// A Huffman code goes out from its first bit, the highest.
        fn code(&mut self, code: u32, length: u8) {
            for bit in (0..u32::from(length)).rev() {
                self.bits(code >> bit, 1);
            }
        }
    }

    /// The codes deflate assigns to `lengths`, over-subscribed or not.
    fn canonical(lengths: &[u8]) -> Vec<u32> {
        let mut counts = [0u32; 16];
        for &length in lengths {
            counts[usize::from(length)] += 1;
        }
        counts[0] = 0;
        let mut next = [0u32; 16];
        let mut code = 0u32;
        for length in 1..16 {
            code = (code + counts[length - 1]) << 1;
            next[length] = code;
        }
        lengths
            .iter()
            .map(|&length| {
                let assigned = next[usize::from(length)];
                next[usize::from(length)] += 1;
                assigned & ((1 << length) - 1)
            })
            .collect()
    }

    /// Huffman code lengths for `weights` (a weight of 0 gets no code),
    /// limited to 15 bits by flattening the deepest.
    fn huffman_lengths(weights: &[u32]) -> Vec<u8> {
        let mut nodes: Vec<(u64, Vec<usize>)> = weights
            .iter()
            .enumerate()
            .filter(|(_, weight)| **weight > 0)
            .map(|(symbol, &weight)| (u64::from(weight), vec![symbol]))
            .collect();
        let mut lengths = vec![0u8; weights.len()];
        if nodes.len() == 1 {
            lengths[nodes[0].1[0]] = 1;
            return lengths;
        }
        while nodes.len() > 1 {
            nodes.sort_by_key(|node| std::cmp::Reverse(node.0));
            let (first_weight, first) = nodes.pop().unwrap_or_default();
            let (second_weight, second) = nodes.pop().unwrap_or_default();
            for &symbol in first.iter().chain(&second) {
                lengths[symbol] = (lengths[symbol] + 1).min(15);
            }
            nodes.push((first_weight + second_weight, [first, second].concat()));
        }
        lengths
    }

    /// A dynamic block, final, with the given codes, carrying `message`:
    /// literals, matches (length, distance) and the end of the block when
    /// its code has a length. The code-length code gives every length
    /// 0 to 15 four bits.
    fn dynamic_block(litlen: &[u8], dist: &[u8], message: &[(u16, u16)]) -> Vec<u8> {
        let mut writer = BitWriter::default();
        writer.bits(1, 1);
        writer.bits(2, 2);
        writer.bits((litlen.len() - 257) as u32, 5);
        writer.bits((dist.len() - 1) as u32, 5);
        writer.bits(15, 4);
        for symbol in CODE_LENGTH_ORDER {
            writer.bits(if symbol < 16 { 4 } else { 0 }, 3);
        }
        for &length in litlen.iter().chain(dist) {
            writer.code(u32::from(length), 4);
        }
        let litlen_codes = canonical(litlen);
        let dist_codes = canonical(dist);
        let put = |symbol: usize, codes: &[u32], lengths: &[u8], writer: &mut BitWriter| {
            if let (Some(&code), Some(&length)) = (codes.get(symbol), lengths.get(symbol)) {
                writer.code(code, length);
            }
        };
        for &(symbol, distance) in message {
            let symbol = usize::from(symbol);
            put(symbol, &litlen_codes, litlen, &mut writer);
            if (257..286).contains(&symbol) {
                let extra = LENGTH_EXTRA[symbol - 257];
                writer.bits(u32::from(distance) & 31, u32::from(extra));
                let dist_symbol = usize::from(distance >> 8) % 30;
                put(dist_symbol, &dist_codes, dist, &mut writer);
                writer.bits(u32::from(distance), u32::from(DIST_EXTRA[dist_symbol]));
            }
        }
        put(256, &litlen_codes, litlen, &mut writer);
        writer.bytes
    }

    /// The length zlib-rs inflates `stream` to, when it reads it whole.
    fn general_length(stream: &[u8]) -> Option<usize> {
        let mut decompress = Decompress::new(false);
        let mut output = vec![0u8; 1 << 20];
        let status = decompress
            .decompress(stream, &mut output, FlushDecompress::Finish)
            .ok()?;
        (status == Status::StreamEnd && decompress.total_in() as usize == stream.len())
            .then_some(decompress.total_out() as usize)
    }

    /// Code lengths from weights, then sometimes spoilt: one length made
    /// longer or shorter (an incomplete or over-subscribed code), or one
    /// code taken away.
    fn lengths(count: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = Vec<u8>> {
        (
            proptest::collection::vec(
                prop_oneof![3 => Just(0u32), 5 => 1u32..50, 1 => 1u32..100_000],
                count,
            ),
            0u8..6,
            any::<prop::sample::Index>(),
        )
            .prop_map(|(weights, spoil, at)| {
                let mut lengths = huffman_lengths(&weights);
                let at = at.index(lengths.len());
                match spoil {
                    0 => lengths[at] = (lengths[at] + 1).min(15),
                    1 => lengths[at] = lengths[at].saturating_sub(1),
                    2 => lengths[at] = 0,
                    _ => {}
                }
                lengths
            })
    }

    proptest! {
        /// Every stream deflate writes with Huffman blocks inflates, to the
        /// bytes it was made of.
        #[test]
        fn deflated_streams_inflate_to_what_was_deflated(
            data in compressible(),
            level in 1u32..=9,
        ) {
            let stream = deflate(&data, level);
            prop_assert_eq!(small(&stream, data.len()), Some(data));
        }

        /// A damaged stream is vouched for only when zlib-rs reads it
        /// whole too, and then to the same bytes.
        #[test]
        fn damaged_streams_pass_only_as_zlib_reads_them(
            data in compressible(),
            level in 1u32..=9,
            flips in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..8), 1..4),
            cut in 0usize..3,
            declared_shift in -2i64..=2,
        ) {
            let mut stream = deflate(&data, level);
            for (at, bit) in flips {
                let at = at.index(stream.len());
                stream[at] ^= 1 << bit;
            }
            stream.truncate(stream.len().saturating_sub(cut));
            let declared = usize::try_from(data.len() as i64 + declared_shift).unwrap_or(0);
            if let Some(inflated) = small(&stream, declared) {
                prop_assert_eq!(general(&stream, declared), Some(inflated));
            }
        }

        /// Blocks written by hand with codes of every shape (complete,
        /// incomplete, over-subscribed, lone, empty) and any symbols: the
        /// small inflater reads whole exactly the streams zlib-rs reads
        /// whole, to the same bytes.
        #[test]
        fn hand_made_blocks_inflate_exactly_as_zlib_inflates_them(
            mut litlen in lengths(257..=286),
            dist in lengths(1..=30),
            message in proptest::collection::vec((0u16..286, any::<u16>()), 0..200),
            with_end in proptest::bool::weighted(0.9),
        ) {
            if with_end && litlen[256] == 0 {
                litlen[256] = 15;
            }
            let stream = dynamic_block(&litlen, &dist, &message);
            match general_length(&stream) {
                Some(length) => {
                    prop_assert_eq!(small(&stream, length), general(&stream, length));
                    prop_assert!(small(&stream, length).is_some());
                }
                None => {
                    for declared in [0, message.len(), message.len() * 3] {
                        prop_assert_eq!(small(&stream, declared), None);
                    }
                }
            }
        }

        /// Bytes that were never a stream: the same rule.
        #[test]
        fn arbitrary_bytes_pass_only_as_zlib_reads_them(
            stream in proptest::collection::vec(any::<u8>(), 0..64),
            declared in 0usize..300,
        ) {
            if let Some(inflated) = small(&stream, declared) {
                prop_assert_eq!(general(&stream, declared), Some(inflated));
            }
        }
    }
}
