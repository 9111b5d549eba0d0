//! Every example recipe checks cleanly, from the repository root.

use crate::support::{aidc, files, root};

#[test]
fn every_example_checks_without_diagnostics() {
    let recipes: Vec<_> = files(&root().join("examples"), "aid")
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n == "image.aid"))
        .collect();
    assert!(recipes.len() >= 2, "examples missing: {recipes:?}");
    for recipe in recipes {
        let rel = recipe.strip_prefix(root()).expect("inside the repo").to_string_lossy().into_owned();
        let out = aidc(&root(), &["check", "--deny-warnings", &rel]);
        assert_eq!(out.status.code(), Some(0), "{rel}:\n{}", String::from_utf8_lossy(&out.stderr));
    }
}
