//! The standard library: its reference is up to date, every definition is
//! documented and carries its metadata, and every module checks cleanly.

use crate::support::{expect_file, root};

#[test]
fn stdlib_docs_are_up_to_date() {
    let rendered = aidc::stdlib_docs::render();
    if let Some(diff) = expect_file(&root().join("docs/stdlib.md"), &rendered) {
        panic!("docs/stdlib.md is out of date:\n{diff}");
    }
}

#[test]
fn every_stdlib_definition_is_documented_and_licensed() {
    for (name, text) in aidc::stdlib::MODULES {
        let (module, diagnostics) = aidc::syntax::parse(aidc::source::SourceId(0), text);
        assert!(diagnostics.is_empty(), "std/{name} does not parse: {diagnostics:?}");
        assert!(!module.docs.is_empty(), "std/{name} has no `//!` module doc");
        for item in &module.items {
            if let aidc::syntax::ast::ItemKind::Definition(d) = &item.kind {
                assert!(!item.docs.is_empty(), "std/{name}: `{}` has no `///` doc", d.name.name);
                let has = |p: &str| {
                    d.body.stmts.iter().any(
                        |s| matches!(&s.kind, aidc::syntax::ast::StmtKind::Property { name, .. } if name.name == p),
                    )
                };
                // Layers and kmods say what they are; a wrapper that only `use`s another inherits it.
                let only_uses = d.body.stmts.iter().all(|s| matches!(s.kind, aidc::syntax::ast::StmtKind::Use(_)));
                if matches!(
                    d.kind,
                    aidc::syntax::ast::DefKind::Layer
                        | aidc::syntax::ast::DefKind::Kmod
                        | aidc::syntax::ast::DefKind::Kernel
                ) && !only_uses
                {
                    assert!(has("license"), "std/{name}: `{}` declares no license", d.name.name);
                }
            }
        }
    }
}
