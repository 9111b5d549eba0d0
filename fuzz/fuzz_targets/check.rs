//! Arbitrary bytes as a recipe (with the embedded stdlib for `std/` imports
//! and a few context files) through every stage and the renderers; inputs
//! starting with `#` also choose the recipe's file name.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut files = BTreeMap::new();
    for p in ["files/a", "files/motd", "scripts/x.sh", "keys/x.der", "lib.aid"] {
        files.insert(p.to_string(), b"let x = \"y\"\nlayer l() { packages [\"a\"] }\n".to_vec());
    }
    // An input starting with `#` names the recipe file by the rest of its
    // first line (any bytes but `/` and NUL, which no file name holds): a
    // file name reaches the header comment and the manifest.
    let (name, recipe) = match data.split_first() {
        Some((b'#', rest)) => {
            let end = rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
            let name = String::from_utf8_lossy(&rest[..end]).replace(['/', '\0'], "_");
            (format!("{name}.aid"), &rest[(end + 1).min(rest.len())..])
        }
        _ => ("image.aid".to_string(), data),
    };
    let Some(r) = aidc_fuzz::compile_named(&name, recipe, &files) else { return };
    if let Some(outputs) = r.outputs {
        for (path, text) in &outputs {
            if path.ends_with("Containerfile") {
                let problems = aidc_fuzz::containerfile_problems(text);
                assert!(problems.is_empty() || !aidc_fuzz::strict(), "{path}: {problems:#?}\n{text}");
            }
        }
    }
});
