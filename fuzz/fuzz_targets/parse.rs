//! Arbitrary bytes through `decode` and `parse`: never a panic, every
//! diagnostic's span a range of the text.
#![no_main]

use aidc::source::SourceId;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let source = SourceId(0);
    let Ok(text) = aidc::syntax::decode(source, data) else { return };
    let (_module, diagnostics) = aidc::syntax::parse(source, text);
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
