//! The standard library, written in `.aid` and embedded in the binary.
//! `import "std/NAME"` reads `stdlib/NAME.aid`; `--stdlib DIR` reads
//! `DIR/NAME.aid` instead, for work on the stdlib itself.
//!
//! Parsing the stdlib was three quarters of the work of checking the
//! flagship, so its parse is embedded too: `compiler/stdlib.bin` holds, for
//! each module, the blake3 digest of its text and its syntax tree (postcard).
//! A module whose text has that digest is decoded instead of parsed; any
//! other text (an edited stdlib, `--stdlib DIR`) is parsed as usual, so a
//! stale `stdlib.bin` costs time, never correctness. `UPDATE_EXPECT=1 cargo
//! test` rewrites it (a unit test below fails while it is stale).

use crate::source::SourceId;
use crate::syntax::{self, ast};

/// Every embedded module: (name after `std/`, source text).
pub const MODULES: &[(&str, &str)] = &[
    ("cuda", include_str!("../stdlib/cuda.aid")),
    ("fedora", include_str!("../stdlib/fedora.aid")),
    ("kernel", include_str!("../stdlib/kernel.aid")),
    ("nvidia", include_str!("../stdlib/nvidia.aid")),
    ("tools", include_str!("../stdlib/tools.aid")),
];

/// The embedded text of `std/<name>`.
pub fn module(name: &str) -> Option<&'static str> {
    MODULES.iter().find(|(n, _)| *n == name).map(|(_, text)| *text)
}

/// The embedded parses (see the module docs).
static PARSED: &[u8] = include_bytes!("stdlib.bin");

/// The parse of `text` made when aidc was built, placed in `source`, if
/// `text` is a stdlib module as it was then (and parsed without diagnostics).
pub fn parsed(text: &str, source: SourceId) -> Option<ast::Module> {
    let digest = crate::embedded::digest_of(text).copied().unwrap_or_else(|| *blake3::hash(text.as_bytes()).as_bytes());
    let table: Vec<([u8; 32], &[u8])> = postcard::from_bytes(PARSED).ok()?;
    let (_, bytes) = table.into_iter().find(|(d, _)| *d == digest)?;
    let mut module: ast::Module = crate::source::decoding_spans_of(source, || postcard::from_bytes(bytes)).ok()?;
    module.source = Some(source);
    Some(module)
}

/// What `compiler/stdlib.bin` must hold for the stdlib of this source tree:
/// every module that parses without diagnostics, by the digest of its text.
pub fn encode() -> Vec<u8> {
    let table: Vec<([u8; 32], Vec<u8>)> = MODULES
        .iter()
        .filter_map(|(_, text)| {
            let (module, diagnostics) = syntax::parse(SourceId(0), text);
            if !diagnostics.is_empty() {
                return None;
            }
            Some((*blake3::hash(text.as_bytes()).as_bytes(), postcard::to_allocvec(&module).ok()?))
        })
        .collect();
    postcard::to_allocvec(&table).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `compiler/stdlib.bin` is current (`UPDATE_EXPECT=1` rewrites it).
    #[test]
    fn the_embedded_parse_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("compiler/stdlib.bin");
        let encoded = encode();
        if std::env::var_os("UPDATE_EXPECT").is_some_and(|v| v == "1") {
            std::fs::write(&path, &encoded).expect("write compiler/stdlib.bin");
            return;
        }
        assert!(
            PARSED == encoded.as_slice(),
            "compiler/stdlib.bin is stale: run `UPDATE_EXPECT=1 cargo test --lib stdlib`"
        );
    }

    /// A decoded module is exactly the parse, in whichever file it is placed.
    #[test]
    fn the_embedded_parse_is_the_parse() {
        for (name, text) in MODULES {
            let source = SourceId(7);
            let decoded = parsed(text, source).unwrap_or_else(|| panic!("std/{name} is not embedded"));
            let (fresh, _) = syntax::parse(source, text);
            assert_eq!(format!("{decoded:?}"), format!("{fresh:?}"), "std/{name}");
        }
        assert!(parsed("let edited = 1\n", SourceId(0)).is_none());
    }
}
