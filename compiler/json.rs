//! JSON strings written by hand, byte for byte as serde_json writes them:
//! for the texts aidc digests or writes in bulk (layer keys,
//! `plan/key.rs`; the manifest's image entries, `emit/mod.rs`), where
//! serde's writer spent three instructions a byte looking for characters
//! to escape. Strings are passed over eight bytes at a time.

/// A JSON string as serde_json escapes it: `"` and `\` with a backslash,
/// the control characters below 0x20 as `\b`, `\t`, `\n`, `\f`, `\r` or
/// `\u00xx` (lowercase hex), everything else (DEL, non-ASCII) as it is.
pub fn string(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.push(b'"');
    let (mut copied, mut i) = (0, 0);
    while i < bytes.len() {
        // Eight bytes at a time while none of them needs escaping.
        while let Some(word) = bytes.get(i..i + 8) {
            if needs_escape(u64::from_le_bytes(word.try_into().unwrap_or_default())) {
                break;
            }
            i += 8;
        }
        let Some(&b) = bytes.get(i) else { break };
        i += 1;
        let escaped: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            0x0c => b"\\f",
            b'\r' => b"\\r",
            0x00..=0x1f => &[b'\\', b'u', b'0', b'0', HEX[(b >> 4) as usize], HEX[(b & 0xf) as usize]],
            _ => continue,
        };
        out.extend_from_slice(&bytes[copied..i - 1]);
        out.extend_from_slice(escaped);
        copied = i;
    }
    out.extend_from_slice(&bytes[copied..]);
    out.push(b'"');
}

const HEX: [u8; 16] = *b"0123456789abcdef";

/// Whether any byte of `word` is below 0x20, `"` or `\` (exact: the
/// zero-byte and less-than tests of "Bit Twiddling Hacks" say whether
/// some byte is one, never that none is when one is).
fn needs_escape(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    below_space | has_zero(word ^ (ONES * b'"' as u64)) | has_zero(word ^ (ONES * b'\\' as u64)) != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every byte value where escaping decides (each control character,
    /// `"`, `\`, DEL), at every offset within the eight-byte words and
    /// beside non-ASCII text: serde_json's bytes.
    #[test]
    fn strings_are_serde_jsons() {
        let mut texts: Vec<String> = vec![String::new(), "plain text, longer than a word".into(), "é€😀 ok".into()];
        for c in (0u8..0x20).chain([b'"', b'\\', 0x7f, b'a']) {
            for at in 0..17 {
                texts.push(format!("{}{}tail é", "x".repeat(at), c as char));
            }
        }
        texts.push("\u{2028}\u{2029}".into());
        for text in &texts {
            let mut out = Vec::new();
            string(&mut out, text);
            assert_eq!(out, serde_json::to_vec(text).expect("json"), "{text:?}");
        }
    }

    #[test]
    fn a_word_needs_escaping_exactly_when_one_of_its_bytes_does() {
        let needs = |b: u8| b < 0x20 || b == b'"' || b == b'\\';
        for b in 0..=255u8 {
            for at in 0..8 {
                let mut word = [b'a'; 8];
                word[at] = b;
                assert_eq!(needs_escape(u64::from_le_bytes(word)), needs(b), "byte {b:#x} at {at}");
                let mut high = [0xc3u8; 8];
                high[at] = b;
                assert_eq!(needs_escape(u64::from_le_bytes(high)), needs(b), "byte {b:#x} at {at} among 0xc3");
            }
        }
    }
}
