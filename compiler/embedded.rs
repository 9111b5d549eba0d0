//! The digests of the texts compiled into aidc (stdlib modules, templates,
//! build scripts),
//! made by `compiler/build.rs` from the same files `include_str!` reads.

include!(concat!(env!("OUT_DIR"), "/embedded_digests.rs"));

/// The blake3 digest of `text` when it is one of the embedded texts, byte
/// for byte (equal bytes, equal digest); `None` for any other text.
pub fn digest_of(text: &str) -> Option<&'static [u8; 32]> {
    EMBEDDED.iter().find(|(embedded, _)| embedded.len() == text.len() && *embedded == text).map(|(_, d)| d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_digest_is_the_texts() {
        // The stdlib modules, the template and aidc's scripts (that every
        // one of them is here: `driver::tests`).
        assert!(EMBEDDED.len() >= 11, "{} texts", EMBEDDED.len());
        for (text, digest) in EMBEDDED {
            assert_eq!(blake3::hash(text.as_bytes()).as_bytes(), digest);
            assert_eq!(digest_of(text), Some(digest));
        }
        assert_eq!(digest_of("image a {}\n"), None);
    }
}
