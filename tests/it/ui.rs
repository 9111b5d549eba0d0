//! Data-driven diagnostics tests. Each case is a recipe under `tests/ui/`
//! with the expected result beside it:
//!
//! * `AREA/NAME.aid` with `AREA/NAME.out`, or
//! * `AREA/NAME/main.aid` (plus any files it needs) with `AREA/NAME/main.out`.
//!
//! `aidc check` runs in the case's directory; the `.out` file holds the exit
//! code and the rendered diagnostics. A first line `// args: ...` adds flags.
//! Adding a case needs no Rust: write the recipe, run
//! `UPDATE_EXPECT=1 cargo test ui`, and read the `.out` it wrote.

use std::collections::BTreeSet;
use std::path::Path;

use crate::support::{aidc, expect_file, files, root};

fn run_case(recipe: &Path) -> String {
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

fn cases() -> Vec<std::path::PathBuf> {
    files(&root().join("tests/ui"), "aid")
        .into_iter()
        .filter(|p| {
            // Inside a case directory only `main.aid` is a case; the rest are its modules.
            let dir = p.parent().expect("parent");
            p.file_name().is_some_and(|n| n == "main.aid") || !dir.join("main.aid").exists()
        })
        .collect()
}

#[test]
fn ui_cases_match_their_expected_output() {
    let mut failures = Vec::new();
    let all = cases();
    assert!(!all.is_empty(), "no cases under tests/ui");
    for recipe in &all {
        let actual = run_case(recipe);
        if let Some(f) = expect_file(&recipe.with_extension("out"), &actual) {
            failures.push(f);
        }
        assert!(
            !actual.starts_with("exit: 101") && !actual.starts_with("exit: 70"),
            "{} crashed:\n{actual}",
            recipe.display()
        );
    }
    assert!(failures.is_empty(), "{} of {} ui cases differ:\n\n{}", failures.len(), all.len(), failures.join("\n\n"));
}

/// Every diagnostic code is exercised by at least one case (the ones that
/// need a generated input are covered by the hostile-input tests).
#[test]
fn every_code_has_a_ui_case() {
    // The output codes come from `compile --check --format json`: hostile case `check-json-lists-stale`.
    let covered_elsewhere =
        ["aid::internal::unexpected_rule", "aid::parse::file_too_large", "aid::output::stale", "aid::output::conflict"];
    let mut seen = BTreeSet::new();
    for out in files(&root().join("tests/ui"), "out") {
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        for code in aidc::diag::Code::ALL {
            if text.contains(code.as_str()) {
                seen.insert(code.as_str());
            }
        }
    }
    let missing: Vec<&str> = aidc::diag::Code::ALL
        .iter()
        .map(|c| c.as_str())
        .filter(|c| !seen.contains(c) && !covered_elsewhere.contains(c))
        .collect();
    assert!(missing.is_empty(), "codes without a ui case: {missing:?}");
}

/// docs/diagnostics.md has a section for every code, and no stale ones.
#[test]
fn every_code_is_documented() {
    let doc = std::fs::read_to_string(root().join("docs/diagnostics.md")).expect("docs/diagnostics.md");
    let missing: Vec<&str> =
        aidc::diag::Code::ALL.iter().map(|c| c.as_str()).filter(|c| !doc.contains(&format!("## `{c}`"))).collect();
    assert!(missing.is_empty(), "codes missing from docs/diagnostics.md: {missing:?}");
    for line in doc.lines().filter(|l| l.starts_with("## `aid::")) {
        let code = line.trim_start_matches("## `").trim_end_matches('`');
        assert!(
            aidc::diag::Code::ALL.iter().any(|c| c.as_str() == code),
            "docs/diagnostics.md documents unknown code {code}"
        );
    }
}
