//! Shared helpers: running the real `aidc` binary, and blessing expected files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `aidc ARGS` in `dir` with a clean, colourless environment.
pub fn aidc(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aidc"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("NO_COLOR", "1")
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .expect("aidc runs")
}

/// Whether expected files should be rewritten (`UPDATE_EXPECT=1 cargo test`).
pub fn blessing() -> bool {
    std::env::var_os("UPDATE_EXPECT").is_some_and(|v| v == "1")
}

/// Compares `actual` with the file at `expected`, or rewrites it when blessing.
/// Returns a failure message (a unified diff) on mismatch.
pub fn expect_file(expected: &Path, actual: &str) -> Option<String> {
    if blessing() {
        if let Some(dir) = expected.parent() {
            std::fs::create_dir_all(dir).expect("mkdir");
        }
        std::fs::write(expected, actual).expect("write expected file");
        return None;
    }
    let want = std::fs::read_to_string(expected).unwrap_or_default();
    if want == actual {
        return None;
    }
    Some(format!(
        "{}(run `UPDATE_EXPECT=1 cargo test` to accept)",
        diff(&expected.display().to_string(), &want, actual)
    ))
}

/// A unified diff from `expected` to `actual`, three lines of context.
pub fn diff(name: &str, expected: &str, actual: &str) -> String {
    similar::TextDiff::from_lines(expected, actual)
        .unified_diff()
        .context_radius(3)
        .header(&format!("{name} (expected)"), &format!("{name} (actual)"))
        .to_string()
}

/// Compares every file of `actual` (relative path -> bytes) with the tree
/// under `dir` whose paths `owned` accepts (the files a case gives; others,
/// like its recipe, stay), or rewrites them when blessing: changed files
/// are shown as unified diffs, and files new or no longer produced are named.
pub fn expect_tree(
    dir: &Path,
    actual: &std::collections::BTreeMap<String, Vec<u8>>,
    owned: impl Fn(&str) -> bool,
) -> Result<(), String> {
    let expected: std::collections::BTreeMap<String, Vec<u8>> = all_files(dir)
        .into_iter()
        .filter_map(|p| {
            let rel = p.strip_prefix(dir).expect("inside").to_string_lossy().replace('\\', "/");
            owned(&rel).then(|| (rel, std::fs::read(&p).expect("read")))
        })
        .collect();
    if blessing() {
        for stale in expected.keys().filter(|p| !actual.contains_key(*p)) {
            std::fs::remove_file(dir.join(stale)).expect("remove a file no longer produced");
        }
        for (path, bytes) in actual {
            let file = dir.join(path);
            std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
            std::fs::write(file, bytes).expect("write");
        }
        return Ok(());
    }
    let mut failures = Vec::new();
    for path in actual.keys().chain(expected.keys()).collect::<std::collections::BTreeSet<_>>() {
        match (expected.get(path), actual.get(path)) {
            (Some(e), Some(a)) if e == a => {}
            (Some(e), Some(a)) => failures.push(diff(
                &dir.join(path).display().to_string(),
                &String::from_utf8_lossy(e),
                &String::from_utf8_lossy(a),
            )),
            (None, Some(_)) => failures.push(format!("{} is new (not committed)\n", dir.join(path).display())),
            (Some(_), None) => failures.push(format!("{} is no longer produced\n", dir.join(path).display())),
            (None, None) => {}
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!("{}(run `UPDATE_EXPECT=1 cargo test` to accept)", failures.concat()))
    }
}

/// Every file under `dir`, sorted.
pub fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Every file under `dir` with extension `ext`, sorted.
pub fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    all_files(dir).into_iter().filter(|p| p.extension().is_some_and(|x| x == ext)).collect()
}

/// Compiles `recipe` (with `files` beside it, paths relative to `dir`) in
/// memory and returns the plan; panics with the diagnostics on errors.
pub fn plan_in_memory(dir: &str, recipe: &str, files: &[(&str, &[u8])]) -> aidc::plan::Plan {
    let mut map = std::collections::BTreeMap::new();
    map.insert(Path::new(dir).join("image.aid"), recipe.as_bytes().to_vec());
    for (p, bytes) in files {
        map.insert(Path::new(dir).join(p), bytes.to_vec());
    }
    let loader = aidc::resolve::MemLoader(map);
    let hash = aidc::driver::hash_with_loader(&loader, PathBuf::from(dir));
    let compiled = aidc::driver::compile(
        &Path::new(dir).join("image.aid"),
        &loader,
        &aidc::resolve::SearchPath::default(),
        "out",
        &hash,
    )
    .expect("entry readable");
    assert!(!compiled.diagnostics.has_errors(), "{:#?}", compiled.diagnostics.into_sorted());
    compiled.plan.expect("planned")
}

/// Copies `from` to `to`, skipping `out/` directories.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir").flatten() {
        let p = e.path();
        let name = e.file_name();
        if p.is_dir() {
            if name != "out" {
                copy_tree(&p, &to.join(&name));
            }
        } else {
            std::fs::copy(&p, to.join(&name)).expect("copy");
        }
    }
}
