//! Checks over the whole set of UI cases (each case is its own named test
//! in `tests/cases`, `ui::AREA::NAME`): every diagnostic code has a case and
//! a section in docs/diagnostics.md. Adding a case needs no Rust: write the
//! recipe under `tests/ui/`, run `UPDATE_EXPECT=1 cargo test ui::`, and read
//! the `.out` it wrote.

use std::collections::BTreeSet;

use crate::support::{files, root};

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
