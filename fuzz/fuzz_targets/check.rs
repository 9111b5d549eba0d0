//! Arbitrary bytes as a recipe (with the embedded stdlib for `std/` imports
//! and a few context files) through every stage and the renderers.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut files = BTreeMap::new();
    for p in ["files/a", "files/motd", "scripts/x.sh", "keys/x.der", "lib.aid"] {
        files.insert(p.to_string(), b"let x = \"y\"\nlayer l() { packages [\"a\"] }\n".to_vec());
    }
    let r = aidc_fuzz::compile(data, &files);
    if let Some(outputs) = r.outputs {
        for (path, text) in &outputs {
            if path.ends_with("Containerfile") {
                let problems = aidc_fuzz::containerfile_problems(text);
                assert!(problems.is_empty() || !aidc_fuzz::strict(), "{path}: {problems:#?}\n{text}");
            }
        }
    }
});
