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
/// Returns a failure message on mismatch.
pub fn expect_file(expected: &Path, actual: &str) -> Option<String> {
    if blessing() {
        std::fs::write(expected, actual).expect("write expected file");
        return None;
    }
    let want = std::fs::read_to_string(expected).unwrap_or_default();
    if want == actual {
        return None;
    }
    Some(format!(
        "--- {} (expected)\n{want}\n--- actual\n{actual}\n(run `UPDATE_EXPECT=1 cargo test` to accept)",
        expected.display()
    ))
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

/// An in-memory file system for the library's `Loader`.
pub struct MemLoader(pub std::collections::BTreeMap<PathBuf, Vec<u8>>);

impl aidc::resolve::Loader for MemLoader {
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        self.0.get(path).cloned().ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
    }
}

/// Compiles `recipe` (with `files` beside it, paths relative to `dir`) in
/// memory and returns the plan; panics with the diagnostics on errors.
pub fn plan_in_memory(dir: &str, recipe: &str, files: &[(&str, &[u8])]) -> aidc::plan::Plan {
    let mut map = std::collections::BTreeMap::new();
    map.insert(Path::new(dir).join("image.aid"), recipe.as_bytes().to_vec());
    for (p, bytes) in files {
        map.insert(Path::new(dir).join(p), bytes.to_vec());
    }
    let loader = MemLoader(map);
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
