//! Arbitrary bytes through `decode` and `parse`: never a panic, every
//! diagnostic's span a range of the text; and wherever the parser's fast
//! path accepts the text, exactly the module pest and lowering build (the
//! fuzz build has no debug assertions, so `parse`'s own check is off).
#![no_main]

use aidc::source::SourceId;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let source = SourceId(0);
    let Ok(text) = aidc::syntax::decode(source, data) else { return };
    let (module, diagnostics) = aidc::syntax::parse(source, text);
    if let Some(fast) = aidc::syntax::parse_fast(source, text) {
        let (slow, slow_diagnostics) = aidc::syntax::parse_slow(source, text);
        assert!(slow_diagnostics.is_empty(), "the fast path accepted what pest refuses: {slow_diagnostics:?}");
        assert_eq!(fast, slow, "the fast path disagrees with pest");
        assert_eq!(module, fast);
    }
    for d in &diagnostics {
        for l in &d.labels {
            assert!(
                text.get(l.span.start as usize..l.span.end as usize).is_some(),
                "{}: bad span {:?}",
                d.code.as_str(),
                l.span
            );
        }
    }
});
