//! `aidc fmt`: idempotent on every recipe that parses, the examples and the
//! stdlib are in the canonical layout, and formatting never changes what a
//! recipe compiles to (the examples, with a scrambled layout of the recipe
//! and of every stdlib module, give byte-identical outputs).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use aidc::format::{Error, format};
use aidc::source::SourceId;

use crate::support::{all_files, files, root};
use aidc::resolve::MemLoader;

/// Formats on a thread with the CLI's large stack (recursion is bounded
/// by the nesting limit, but deep cases need more than a test thread has).
fn fmt(text: &str) -> Result<String, Error> {
    let text = text.to_string();
    std::thread::Builder::new()
        .stack_size(256 * 1024 * 1024)
        .spawn(move || format(SourceId(0), &text))
        .expect("spawn")
        .join()
        .expect("the formatter does not panic")
}

/// Every `.aid` file the repository holds, but the hostile inputs.
fn all_recipes() -> Vec<PathBuf> {
    ["examples", "stdlib", "tests/ui", "tests/golden", "tests/golden-konflux", "tests/cli", "tests/fixtures"]
        .iter()
        .flat_map(|d| files(&root().join(d), "aid"))
        .collect()
}

#[test]
fn formatting_is_idempotent_on_every_recipe_that_parses() {
    let mut formatted = 0;
    for path in all_recipes() {
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        match fmt(&text) {
            Ok(once) => {
                let twice = fmt(&once).unwrap_or_else(|e| panic!("{}: formatted text fails: {e:?}", path.display()));
                assert_eq!(once, twice, "{}: formatting twice differs", path.display());
                formatted += 1;
            }
            Err(Error::Invalid(_)) => {}
            Err(Error::Internal(why)) => panic!("{}: {why}", path.display()),
        }
    }
    assert!(formatted >= 100, "only {formatted} recipes parsed");
}

#[test]
fn examples_and_stdlib_are_formatted() {
    let mut paths = files(&root().join("stdlib"), "aid");
    paths.extend(files(&root().join("examples"), "aid"));
    for path in paths {
        let text = std::fs::read_to_string(&path).expect("read");
        let formatted = fmt(&text).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
        assert!(formatted == text, "{} is not formatted; run `aidc fmt {}`", path.display(), path.display());
    }
}

/// Moves white space around without touching strings or comments: lines
/// get another indentation, empty lines come and go, and lines that end in
/// `,` `[` `(` or `{` are joined with the next. Lines inside triple-quoted
/// strings stay as they are (their indentation is content).
fn scramble(text: &str, seed: usize) -> String {
    let mut out = String::new();
    let mut in_triple = false;
    for (i, line) in text.lines().enumerate() {
        let starts_inside = in_triple;
        in_triple ^= line.matches("\"\"\"").count() % 2 == 1;
        if starts_inside {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let pick = (i * 7 + seed * 13) % 5;
        out.push_str(&" ".repeat(pick));
        out.push_str(line.trim_start());
        let joinable = !line.contains("//") && !line.contains("/*") && !in_triple;
        if joinable && line.trim_end().ends_with([',', '[', '(', '{']) && pick % 2 == 0 {
            out.push(' ');
        } else {
            out.push('\n');
            if pick == 3 && !in_triple {
                out.push('\n');
            }
        }
    }
    out
}

/// Compiles `dir/image.aid` as `recipe` in memory, with the other
/// examples beside it (one imports another) and `stdlib` as the stdlib.
fn compile(dir: &Path, recipe: &str, stdlib: &BTreeMap<String, String>) -> String {
    let examples = root().join("examples");
    let mut map = BTreeMap::new();
    for file in all_files(&examples) {
        let rel = file.strip_prefix(&examples).expect("inside");
        if !rel.components().any(|c| c.as_os_str() == "out") {
            map.insert(Path::new("ex").join(rel), std::fs::read(&file).expect("read"));
        }
    }
    let name = dir.file_name().expect("name");
    let context = Path::new("ex").join(name);
    let entry = context.join("image.aid");
    map.insert(entry.clone(), recipe.as_bytes().to_vec());
    for (name, text) in stdlib {
        map.insert(Path::new("std").join(format!("{name}.aid")), text.as_bytes().to_vec());
    }
    let loader = MemLoader(map);
    let hash = aidc::driver::hash_with_loader(&loader, context);
    let search = aidc::resolve::SearchPath { stdlib_dir: Some(PathBuf::from("std")), lib_dirs: vec![] };
    let compiled = aidc::driver::compile(&entry, &loader, &search, "out", &hash).expect("readable");
    assert!(!compiled.diagnostics.has_errors(), "{:#?}", compiled.diagnostics.into_sorted());
    let mut outputs = compiled.outputs.expect("outputs");
    // The manifest records each module's digest, which a new layout changes
    // by design; everything else must stay byte for byte.
    let manifest = outputs.get_mut("aid-manifest.json").expect("a manifest");
    let mut json: serde_json::Value = serde_json::from_str(manifest).expect("json");
    json.as_object_mut().expect("object").remove("modules").expect("module digests");
    *manifest = json.to_string();
    format!("{outputs:#?}")
}

#[test]
fn formatting_never_changes_what_a_recipe_compiles_to() {
    let stdlib: BTreeMap<String, String> =
        aidc::stdlib::MODULES.iter().map(|(name, text)| (name.to_string(), text.to_string())).collect();
    for seed in 0..2 {
        let scrambled_stdlib: BTreeMap<String, String> = stdlib
            .iter()
            .map(|(name, text)| {
                let messy = scramble(text, seed);
                assert_ne!(&messy, text, "the scrambler changes std/{name}");
                (name.clone(), fmt(&messy).unwrap_or_else(|e| panic!("std/{name}: {e:?}")))
            })
            .collect();
        for example in std::fs::read_dir(root().join("examples")).expect("examples").flatten() {
            let dir = example.path();
            let Ok(text) = std::fs::read_to_string(dir.join("image.aid")) else { continue };
            let messy = scramble(&text, seed);
            let formatted = fmt(&messy).unwrap_or_else(|e| panic!("{}: {e:?}", dir.display()));
            assert_eq!(
                compile(&dir, &text, &stdlib),
                compile(&dir, &formatted, &scrambled_stdlib),
                "{}: formatting changed the outputs",
                dir.display()
            );
        }
    }
}

#[test]
fn comments_stay_where_they_were() {
    let dir = root().join("tests/fmt");
    for input in files(&dir, "aid") {
        let text = std::fs::read_to_string(&input).expect("read");
        let formatted = fmt(&text).unwrap_or_else(|e| panic!("{}: {e:?}", input.display()));
        if let Some(f) = crate::support::expect_file(&input.with_extension("formatted"), &formatted) {
            panic!("{f}");
        }
    }
}
