//! blake3 digests, written `b3:<64 hex>`. Pure: the CLI reads the bytes.

/// The digest of some bytes.
pub fn digest(bytes: &[u8]) -> String {
    written(&blake3::hash(bytes))
}

/// A digest as written: `b3:` and its hex (not `format!`, which costs
/// more than hashing a short text).
fn written(hash: &blake3::Hash) -> String {
    ["b3:", hash.to_hex().as_str()].concat()
}

/// The digest of a text: looked up for one compiled into aidc
/// ([`crate::embedded`]), hashed otherwise.
pub fn digest_text(text: &str) -> String {
    match crate::embedded::digest_of(text) {
        Some(d) => written(&blake3::Hash::from_bytes(*d)),
        None => digest(text.as_bytes()),
    }
}

/// A digest over named parts, each length-prefixed so that parts cannot run
/// into each other (`["ab", "c"]` and `["a", "bc"]` differ).
pub fn digest_parts<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> String {
    let mut hasher = blake3::Hasher::new();
    for part in parts {
        hasher.update(&(part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    written(&hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_framed() {
        assert_ne!(digest_parts([&b"ab"[..], b"c"]), digest_parts([&b"a"[..], b"bc"]));
        assert_eq!(digest(b""), "b3:af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262");
    }
}
