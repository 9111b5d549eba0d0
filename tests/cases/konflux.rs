//! Konflux golden cases: one directory each under `tests/golden-konflux/`
//! (see `konflux_case.rs`), its YAML files against what the case gives.

use libtest_mimic::Trial;

use crate::konflux_case::{cases, generate};
use crate::support::expect_tree;

pub fn trials() -> Vec<Trial> {
    cases()
        .into_iter()
        .map(|case| {
            Trial::test(format!("konflux::{}", crate::ident(&case.name)), move || {
                let actual = generate(&case).into_iter().map(|(p, text)| (p, text.into_bytes())).collect();
                expect_tree(&case.dir, &actual, |p| p.ends_with(".yaml") || p.ends_with(".repo")).map_err(Into::into)
            })
        })
        .collect()
}
