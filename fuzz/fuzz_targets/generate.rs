//! Structure-aware: fuzzer bytes -> an `arbitrary` recipe that uses the real
//! stdlib and every statement kind with hostile strings -> compile + emit.
//! Oracles: no panic; the same input compiles to the same bytes twice; every
//! Containerfile line is an instruction aidc emits and no recipe value
//! reaches a `RUN` line's shell text unquoted.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((recipe, files)) = aidc_fuzz::generate(data, aidc_fuzz::safe_paths()) else { return };
    let first = aidc_fuzz::compile(recipe.as_bytes(), &files);
    if first.outputs.is_some() {
        let second = aidc_fuzz::compile(recipe.as_bytes(), &files);
        assert!(first.outputs == second.outputs, "nondeterministic outputs for:\n{recipe}");
    }
    if let Some(outputs) = first.outputs {
        for (path, text) in &outputs {
            if path.ends_with("Containerfile") {
                let problems = aidc_fuzz::containerfile_problems(text);
                assert!(
                    problems.is_empty() || !aidc_fuzz::strict(),
                    "{path}: {problems:#?}\n--- recipe\n{recipe}\n--- {path}\n{text}"
                );
            }
        }
    }
});
