//! HPACK header blocks with their Huffman-coded strings rewritten as plain strings.
//!
//! loona-hpack's decoder builds its Huffman decoding table (257 map insertions) anew for
//! every Huffman-coded string, about 270k instructions each: several hundred
//! microseconds for each header block of a grpc-core client (Python, C++, Ruby), whose
//! blocks [`AuthorityRewrite`](super::h2_authority::AuthorityRewrite) decodes on every
//! request. [`plain_strings`] decodes those strings with one decoder built once and
//! writes them back as plain literals, so the block means exactly the same and
//! loona-hpack never meets a Huffman string.

use std::sync::{LazyLock, Mutex};

use loona_hpack::huffman::HuffmanDecoder;

/// The one Huffman decoder (its table is built once).
static HUFFMAN: LazyLock<Mutex<HuffmanDecoder>> =
    LazyLock::new(|| Mutex::new(HuffmanDecoder::new()));

/// `block` with every Huffman-coded string literal replaced by the plain string it
/// encodes; every other byte is kept. `None` when the block cannot be walked (a
/// truncated integer or string, a bad Huffman code): decode the original block then,
/// so the decoder reports its own error.
pub(crate) fn plain_strings(block: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(block.len() + block.len() / 2);
    let mut at = 0;
    while at < block.len() {
        let first = block[at];
        let strings = if first & 0x80 != 0 {
            // Indexed header field: a 7-bit prefix index.
            at = copy_integer(block, at, 7, &mut out)?;
            0
        } else if first & 0x40 != 0 {
            // Literal with incremental indexing: a 6-bit prefix name index.
            let (index, end) = integer(block, at, 6)?;
            out.extend_from_slice(&block[at..end]);
            at = end;
            if index == 0 { 2 } else { 1 }
        } else if first & 0x20 != 0 {
            // Dynamic table size update: a 5-bit prefix size.
            at = copy_integer(block, at, 5, &mut out)?;
            0
        } else {
            // Literal without indexing or never indexed: a 4-bit prefix name index.
            let (index, end) = integer(block, at, 4)?;
            out.extend_from_slice(&block[at..end]);
            at = end;
            if index == 0 { 2 } else { 1 }
        };
        for _ in 0..strings {
            at = plain_string(block, at, &mut out)?;
        }
    }
    Some(out)
}

/// Copies the string literal at `at` to `out`, decoded if Huffman-coded; the offset
/// after it.
fn plain_string(block: &[u8], at: usize, out: &mut Vec<u8>) -> Option<usize> {
    let huffman = *block.get(at)? & 0x80 != 0;
    let (len, start) = integer(block, at, 7)?;
    let end = start.checked_add(usize::try_from(len).ok()?)?;
    let bytes = block.get(start..end)?;
    if huffman {
        let decoded = HUFFMAN
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .decode(bytes)
            .ok()?;
        encode_string(&decoded, out);
    } else {
        out.extend_from_slice(&block[at..end]);
    }
    Some(end)
}

/// Copies the integer with an `prefix`-bit prefix at `at` to `out`; the offset after it.
fn copy_integer(block: &[u8], at: usize, prefix: u8, out: &mut Vec<u8>) -> Option<usize> {
    let (_, end) = integer(block, at, prefix)?;
    out.extend_from_slice(&block[at..end]);
    Some(end)
}

/// The HPACK integer with an `prefix`-bit prefix at `at` (RFC 7541 section 5.1), and
/// the offset after it.
fn integer(block: &[u8], at: usize, prefix: u8) -> Option<(u64, usize)> {
    let mask = (1u16 << prefix) as u8 - 1;
    let mut value = u64::from(*block.get(at)? & mask);
    let mut at = at + 1;
    if value < u64::from(mask) {
        return Some((value, at));
    }
    let mut shift = 0u32;
    loop {
        let byte = *block.get(at)?;
        at += 1;
        value = value.checked_add(u64::from(byte & 0x7f).checked_shl(shift)?)?;
        if byte & 0x80 == 0 {
            return Some((value, at));
        }
        shift += 7;
        if shift > 56 {
            return None;
        }
    }
}

/// An HPACK string literal without Huffman coding (RFC 7541 5.2).
pub(crate) fn encode_string(bytes: &[u8], out: &mut Vec<u8>) {
    encode_integer(bytes.len(), 7, out);
    out.extend_from_slice(bytes);
}

/// An HPACK integer with an `prefix_bits`-bit prefix and the flag bits zero (RFC 7541 5.1).
pub(crate) fn encode_integer(mut value: usize, prefix_bits: u8, out: &mut Vec<u8>) {
    let max_prefix = (1usize << prefix_bits) - 1;
    if value < max_prefix {
        out.push(value as u8);
        return;
    }
    out.push(max_prefix as u8);
    value -= max_prefix;
    while value >= 0x80 {
        out.push((value % 0x80) as u8 | 0x80);
        value /= 0x80;
    }
    out.push(value as u8);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn decode(
        decoder: &mut loona_hpack::Decoder<'_>,
        block: &[u8],
    ) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut fields = Vec::new();
        decoder
            .decode_with_cb(block, |name, value| {
                fields.push((name.to_vec(), value.to_vec()))
            })
            .ok()?;
        Some(fields)
    }

    /// Whether any string literal of `block` is Huffman-coded.
    fn has_huffman(block: &[u8]) -> bool {
        let mut at = 0;
        while at < block.len() {
            let first = block[at];
            let (prefix, has_strings) = match first {
                f if f & 0x80 != 0 => (7, false),
                f if f & 0x40 != 0 => (6, true),
                f if f & 0x20 != 0 => (5, false),
                _ => (4, true),
            };
            let (index, end) = integer(block, at, prefix).unwrap();
            at = end;
            if has_strings {
                for _ in 0..(if index == 0 { 2 } else { 1 }) {
                    if block[at] & 0x80 != 0 {
                        return true;
                    }
                    let (len, start) = integer(block, at, 7).unwrap();
                    at = start + len as usize;
                }
            }
        }
        false
    }

    #[test]
    fn the_rfc_7541_huffman_requests_decode_the_same_with_plain_strings() {
        // RFC 7541 C.4.1 to C.4.3: three requests on one connection (dynamic table).
        let requests = [
            "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
            "8286 84be 5886 a8eb 1064 9cbf",
            "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
        ];
        let mut original = loona_hpack::Decoder::new();
        let mut plain = loona_hpack::Decoder::new();
        for request in requests {
            let block = hex(request);
            let rewritten = plain_strings(&block).unwrap();
            assert!(has_huffman(&block));
            assert!(!has_huffman(&rewritten));
            assert_eq!(
                decode(&mut plain, &rewritten),
                decode(&mut original, &block)
            );
        }
        let last = decode(
            &mut loona_hpack::Decoder::new(),
            &plain_strings(&hex(requests[0])).unwrap(),
        );
        assert_eq!(
            last.unwrap()[3],
            (b":authority".to_vec(), b"www.example.com".to_vec())
        );
    }

    #[test]
    fn a_truncated_or_badly_coded_block_is_left_to_the_decoder() {
        assert_eq!(plain_strings(&hex("8286 8441 8cf1 e3c2")), None);
        // A Huffman string of one 0xff byte past the EOS padding rules.
        assert_eq!(plain_strings(&hex("4001 61 81 00")), None);
        assert_eq!(
            plain_strings(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            None
        );
    }

    #[test]
    fn integers_use_the_rfc_7541_prefix_encoding() {
        let mut out = Vec::new();
        encode_integer(10, 5, &mut out);
        assert_eq!(out, [10]);
        out.clear();
        encode_integer(1337, 5, &mut out);
        assert_eq!(out, [31, 154, 10]);
        out.clear();
        encode_integer(127, 7, &mut out);
        assert_eq!(out, [127, 0]);
    }

    #[test]
    fn integers_round_trip_through_every_prefix() {
        for prefix in 4..=7u8 {
            for value in [
                0usize,
                1,
                14,
                15,
                30,
                31,
                62,
                63,
                126,
                127,
                128,
                1337,
                1 << 20,
            ] {
                let mut out = Vec::new();
                encode_integer(value, prefix, &mut out);
                assert_eq!(integer(&out, 0, prefix), Some((value as u64, out.len())));
            }
        }
    }

    /// Huffman codings of RFC 7541 C.4 (what the strings decode to is what counts).
    const HUFFMAN_STRINGS: [&str; 4] = [
        "f1e3 c2e5 f23a 6ba0 ab90 f4ff", // www.example.com
        "a8eb 1064 9cbf",                // no-cache
        "25a8 49e9 5ba9 7d7f",           // custom-key
        "25a8 49e9 5bb8 e8b4 bf",        // custom-value
    ];

    /// A string literal: one of the Huffman codings, or `raw` as it is.
    fn string_literal(huffman: Option<usize>, raw: &[u8], out: &mut Vec<u8>) {
        match huffman {
            Some(k) => {
                let coded = hex(HUFFMAN_STRINGS[k % HUFFMAN_STRINGS.len()]);
                let mut len = Vec::new();
                encode_integer(coded.len(), 7, &mut len);
                len[0] |= 0x80;
                out.extend_from_slice(&len);
                out.extend_from_slice(&coded);
            }
            None => encode_string(raw, out),
        }
    }

    /// A header field representation: its kind (indexed, with incremental indexing,
    /// without indexing, never indexed), a static table index (0: a new name), and
    /// each string Huffman-coded or not.
    fn representation() -> impl Strategy<Value = (u8, usize, Option<usize>, Option<usize>, Vec<u8>)>
    {
        (
            0u8..4,
            0usize..62,
            prop::option::of(0usize..4),
            prop::option::of(0usize..4),
            prop::collection::vec(b'a'..=b'z', 0..200),
        )
    }

    proptest! {
        #[test]
        fn blocks_of_huffman_and_plain_strings_decode_the_same_with_plain_strings(
            fields in prop::collection::vec(representation(), 0..12),
        ) {
            let mut block = Vec::new();
            for (kind, index, name, value, raw) in fields {
                let (flags, prefix) = match kind {
                    0 => (0x80, 7),
                    1 => (0x40, 6),
                    2 => (0x00, 4),
                    _ => (0x10, 4),
                };
                let index = if kind == 0 { index.max(1) } else { index };
                let start = block.len();
                encode_integer(index, prefix, &mut block);
                block[start] |= flags;
                if kind != 0 {
                    if index == 0 {
                        string_literal(name, &raw, &mut block);
                    }
                    string_literal(value, &raw, &mut block);
                }
            }
            let original = decode(&mut loona_hpack::Decoder::new(), &block);
            prop_assert!(original.is_some());
            let rewritten = plain_strings(&block);
            prop_assert!(rewritten.is_some());
            let rewritten = rewritten.unwrap_or_default();
            prop_assert!(!has_huffman(&rewritten));
            prop_assert_eq!(decode(&mut loona_hpack::Decoder::new(), &rewritten), original);
        }

        #[test]
        fn random_bytes_either_decode_the_same_or_are_left_to_the_decoder(
            block in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            if let Some(rewritten) = plain_strings(&block) {
                let original = decode(&mut loona_hpack::Decoder::new(), &block);
                if original.is_some() {
                    prop_assert_eq!(decode(&mut loona_hpack::Decoder::new(), &rewritten), original);
                }
            }
        }
    }
}
