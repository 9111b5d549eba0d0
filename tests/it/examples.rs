//! Every example recipe checks cleanly, from the repository root.

use crate::support::{aidc, files, root};

/// The one warning an example may carry: a downstream's base is pinned by
/// digest only after the upstream's first push build (docs/konflux.md), and
/// no build has run for the examples.
const EXPECTED_WARNING: &str = "aid::plan::unpinned_base";

#[test]
fn every_example_checks_without_diagnostics() {
    let recipes: Vec<_> = files(&root().join("examples"), "aid")
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n == "image.aid"))
        .collect();
    assert!(recipes.len() >= 2, "examples missing: {recipes:?}");
    for recipe in recipes {
        let rel = recipe.strip_prefix(root()).expect("inside the repo").to_string_lossy().into_owned();
        let out = aidc(&root(), &["check", "--format", "json", &rel]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{rel}:\n{stdout}{}", String::from_utf8_lossy(&out.stderr));
        let diagnostics: Vec<serde_json::Value> = serde_json::from_str(&stdout).expect("a JSON array");
        for d in &diagnostics {
            assert_eq!(d["code"], EXPECTED_WARNING, "{rel}: unexpected diagnostic {d}");
            assert_eq!(d["severity"], "warning", "{rel}: {d}");
        }
    }
}
