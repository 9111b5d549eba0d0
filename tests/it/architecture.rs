//! The stages depend one way (ARCHITECTURE.md, "Layers"): every `crate::`
//! reference and every `include_str!` path in `compiler/` points to a module
//! of a lower layer, never to its own layer's other modules or a higher
//! one; and inside resolve, `lang/` never reaches `image/`.

use std::collections::BTreeSet;
use std::path::Path;

use crate::support::{files, root};

/// The layers, lowest first. A module may use the modules of the layers
/// below its own, nothing else.
const LAYERS: &[&[&str]] = &[
    &["embedded", "maps"],
    &["source", "hash", "json", "paths", "par"],
    &["diag", "validate"],
    &["syntax"],
    &["model", "format", "stdlib"],
    &["resolve"],
    &["plan"],
    &["emit", "konflux", "graph"],
    &["driver", "stdlib_docs", "explain"],
    &["cli"],
];

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// `text` without comments (doc links are not dependencies) and without the
/// contents of string literals other than `include_str!`'s.
fn code(text: &str) -> String {
    text.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

/// The top-level modules `text` names through `crate::` (`crate::a::b`,
/// `crate::{a, b::c}`).
fn crate_references(text: &str) -> BTreeSet<String> {
    let text = code(text);
    let mut out = BTreeSet::new();
    let mut rest = text.as_str();
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // The top-level names of the group, up to its closing brace.
            let mut depth = 0;
            let mut name = String::new();
            let mut at_start = true;
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => at_start = true,
                    c if depth == 0 && at_start && (c.is_alphanumeric() || c == '_') => name.push(c),
                    _ if depth == 0 && at_start && !name.is_empty() => {
                        out.insert(std::mem::take(&mut name));
                        at_start = false;
                    }
                    _ => {}
                }
            }
            if !name.is_empty() {
                out.insert(name);
            }
        } else {
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

/// The top-level modules whose directories `include_str!`/`include_bytes!`
/// paths of a file in `dir` (relative to `compiler/`) reach.
fn include_references(text: &str, dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for macro_name in ["include_str!(\"", "include_bytes!(\""] {
        for (i, _) in text.match_indices(macro_name) {
            let path = text[i + macro_name.len()..].split('"').next().unwrap_or("");
            let mut parts: Vec<String> =
                dir.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
            for p in path.split('/') {
                match p {
                    ".." => {
                        parts.pop();
                    }
                    "." | "" => {}
                    p => parts.push(p.to_string()),
                }
            }
            if let Some(first) = parts.first().filter(|_| parts.len() > 1) {
                out.insert(first.clone());
            }
        }
    }
    out
}

#[test]
fn the_scanner_sees_every_form_of_reference() {
    let text = "use crate::{plan::{self, Plan}, diag::Code};\n// crate::cli in a comment\nlet x = crate::konflux::f();";
    let found: Vec<String> = crate_references(text).into_iter().collect();
    assert_eq!(found, ["diag", "konflux", "plan"]);
    let inc = include_references("include_str!(\"../emit/x.sh\") include_str!(\"t/y\")", Path::new("plan"));
    assert_eq!(inc.into_iter().collect::<Vec<_>>(), ["emit", "plan"]);
}

#[test]
fn stages_depend_one_way() {
    let compiler = root().join("compiler");
    let mut violations = Vec::new();
    let mut references = 0;
    for file in files(&compiler, "rs") {
        let rel = file.strip_prefix(&compiler).expect("inside");
        let first = rel.components().next().expect("a component").as_os_str().to_string_lossy().into_owned();
        let module = first.trim_end_matches(".rs").to_string();
        // The crate root, the binary and the build script are no stage.
        if module == "lib" || module == "main" || module == "build" {
            continue;
        }
        let own = layer(&module).unwrap_or_else(|| {
            panic!("`compiler/{first}` is in no layer: add it to LAYERS here and to ARCHITECTURE.md")
        });
        let text = std::fs::read_to_string(&file).expect("read");
        let dir = rel.parent().unwrap_or(Path::new(""));
        for target in crate_references(&text).into_iter().chain(include_references(&text, dir)) {
            references += 1;
            if target == module {
                continue;
            }
            match layer(&target) {
                Some(l) if l < own => {}
                Some(_) => violations.push(format!("{} uses `{target}`", rel.display())),
                None => {}
            }
        }
    }
    assert!(references > 100, "the scan found only {references} references; is it reading the sources?");
    assert!(violations.is_empty(), "backward or sideways dependencies:\n{}", violations.join("\n"));
}

#[test]
fn the_language_layer_of_resolve_never_reaches_the_image_layer() {
    let lang = root().join("compiler/resolve/lang");
    let all = files(&lang, "rs");
    assert!(all.len() >= 5, "no files under {}", lang.display());
    let mut violations = Vec::new();
    for file in all {
        let text = code(&std::fs::read_to_string(&file).expect("read"));
        // `resolve/mod.rs` imports the image layer's modules too, so they are
        // reachable as `super::super::variant` as well as `image::variant`.
        for m in ["image", "content", "policy", "project", "variant"] {
            for needle in [format!("resolve::{m}::"), format!("super::{m}::"), format!("super::{m};")] {
                if text.contains(&needle) {
                    violations.push(format!("{} uses `{needle}`", file.display()));
                }
            }
        }
    }
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}
