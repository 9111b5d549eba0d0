//! Renders the reference of the standard library (docs/stdlib.md) from the
//! `//!` and `///` comments of the embedded modules, with each definition's
//! signature and its license, telemetry, remote-AI and change metadata as
//! written. A test keeps docs/stdlib.md equal to this. (`aidc explain` is
//! `crate::explain`.)

use crate::source::SourceId;
use crate::syntax::{self, ast};

/// The Markdown reference of every stdlib module.
pub fn render() -> String {
    let mut out = String::from(
        "# The standard library\n\n\
         Generated from the doc comments of `stdlib/*.aid` by `aidc::stdlib_docs::render`\n\
         (`UPDATE_EXPECT=1 cargo test stdlib_docs` rewrites it). Import a module with\n\
         `import \"std/NAME\"` and call its definitions as `NAME.definition(...)`.\n",
    );
    for (name, text) in crate::stdlib::MODULES {
        let (module, _) = syntax::parse(SourceId(0), text);
        out.push_str(&format!("\n## `std/{name}`\n\n"));
        for line in &module.docs {
            out.push_str(line);
            out.push('\n');
        }
        for item in &module.items {
            let slice = |s: crate::source::Span| text.get(s.start as usize..s.end as usize).unwrap_or("");
            let (heading, body): (String, Option<&ast::Block>) = match &item.kind {
                ast::ItemKind::Definition(d) => {
                    let head = text.get(item.span.start as usize..d.body.span.start as usize).unwrap_or("").trim();
                    let head =
                        head.lines().filter(|l| !l.trim_start().starts_with("///")).collect::<Vec<_>>().join(" ");
                    (format!("{}.{}", name, head.trim().trim_start_matches(d.kind.keyword()).trim()), Some(&d.body))
                }
                ast::ItemKind::Let(l) if !item.docs.is_empty() => (format!("{}.{} (table)", name, l.name.name), None),
                _ => continue,
            };
            let kind = match &item.kind {
                ast::ItemKind::Definition(d) => d.kind.keyword(),
                _ => "let",
            };
            out.push_str(&format!("\n### `{heading}`\n\n*{kind}*"));
            if let Some(block) = body {
                let meta: Vec<String> = block
                    .stmts
                    .iter()
                    .filter_map(|s| match &s.kind {
                        ast::StmtKind::Property { name, value }
                            if matches!(name.name.as_str(), "license" | "telemetry" | "remote-ai" | "changes") =>
                        {
                            Some(format!("{} = `{}`", name.name, slice(value.span)))
                        }
                        ast::StmtKind::Provides { name, value } => {
                            Some(format!("provides {} = `{}`", name.name, slice(value.span)))
                        }
                        _ => None,
                    })
                    .collect();
                if !meta.is_empty() {
                    out.push_str(&format!(" · {}", meta.join(" · ")));
                }
            }
            out.push_str("\n\n");
            for line in &item.docs {
                out.push_str(line);
                out.push('\n');
            }
            if item.docs.is_empty() {
                out.push_str("(undocumented)\n");
            }
        }
    }
    out
}
