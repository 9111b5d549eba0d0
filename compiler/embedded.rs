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
        assert!(EMBEDDED.len() >= 11, "the stdlib modules, the template and the scripts");
        for (text, digest) in EMBEDDED {
            assert_eq!(blake3::hash(text.as_bytes()).as_bytes(), digest);
        }
        for (_, text) in crate::stdlib::MODULES.iter().chain(crate::emit::TEMPLATES).chain(crate::plan::SCRIPTS) {
            assert!(digest_of(text).is_some());
        }
        assert_eq!(digest_of("image a {}\n"), None);
    }
}
