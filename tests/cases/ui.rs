//! UI cases: each recipe under `tests/ui/` with the expected result beside
//! it, `AREA/NAME.aid` with `AREA/NAME.out`, or `AREA/NAME/main.aid` (plus
//! any files it needs) with `AREA/NAME/main.out`. `aidc check` runs in the
//! case's directory; the `.out` file holds the exit code and the rendered
//! diagnostics. A first line `// args: ...` adds flags.

use std::path::{Path, PathBuf};

use libtest_mimic::Trial;

use crate::support::{aidc, expect_file, files, root};

/// Every case: `main.aid` inside a case directory, any other `.aid` outside one.
pub fn cases() -> Vec<PathBuf> {
    files(&root().join("tests/ui"), "aid")
        .into_iter()
        .filter(|p| {
            let dir = p.parent().expect("parent");
            p.file_name().is_some_and(|n| n == "main.aid") || !dir.join("main.aid").exists()
        })
        .collect()
}

pub fn trials() -> Vec<Trial> {
    let base = root().join("tests/ui");
    cases()
        .into_iter()
        .map(|recipe| {
            let rel = recipe.strip_prefix(&base).expect("inside tests/ui");
            let rel = if rel.file_name().is_some_and(|n| n == "main.aid") { rel.parent().expect("dir") } else { rel };
            let parts: Vec<String> =
                rel.with_extension("").components().map(|c| crate::ident(&c.as_os_str().to_string_lossy())).collect();
            Trial::test(format!("ui::{}", parts.join("::")), move || run(&recipe))
        })
        .collect()
}

fn run(recipe: &Path) -> Result<(), libtest_mimic::Failed> {
    let actual = output(recipe);
    if actual.starts_with("exit: 101") || actual.starts_with("exit: 70") {
        return Err(format!("{} crashed:\n{actual}", recipe.display()).into());
    }
    match expect_file(&recipe.with_extension("out"), &actual) {
        None => Ok(()),
        Some(diff) => Err(diff.into()),
    }
}

/// The exit code and output of `aidc check` on the case.
fn output(recipe: &Path) -> String {
    let dir = recipe.parent().expect("case dir");
    let name = recipe.file_name().and_then(|n| n.to_str()).expect("utf-8 name");
    let text = std::fs::read_to_string(recipe).unwrap_or_default();
    let mut args: Vec<String> = vec!["check".into()];
    if let Some(extra) = text.lines().next().and_then(|l| l.strip_prefix("// args:")) {
        args.extend(extra.split_whitespace().map(str::to_string));
    }
    args.push(name.to_string());
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = aidc(dir, &argv);
    let code = out.status.code().map_or("signal".to_string(), |c| c.to_string());
    let mut result = format!("exit: {code}\n");
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !stdout.is_empty() {
        result.push_str("--- stdout\n");
        result.push_str(&stdout);
    }
    result.push_str("--- stderr\n");
    result.push_str(&String::from_utf8_lossy(&out.stderr));
    result
}
