//! Checks that need no values: which statements each body holds, property
//! names, duplicates, variants and `extends`. Run once over every body of
//! every module, so mistakes in unused definitions are reported too.

use crate::maps::HashMap;

use super::rules::{self, BodyKind};
use super::scope::{Program, check_name};
use crate::diag::{Code, Diagnostic, Diagnostics, suggest};
use crate::source::Span;
use crate::syntax::ast::{self, Block, StmtKind};

/// Checks every definition, image and pipeline of the program.
pub fn check(program: &Program<'_>, diags: &mut Diagnostics) {
    for info in &program.defs {
        if let Some(params) = &info.def.params {
            let mut seen: HashMap<&str, Span> = HashMap::default();
            for p in params {
                check_name(&p.name, "parameter", false, diags);
                if let Some(first) = seen.insert(&p.name.name, p.name.span) {
                    diags.push(
                        Diagnostic::error(
                            Code::DuplicateDefinition,
                            format!("the parameter `{}` is declared twice", p.name.name),
                        )
                        .label(p.name.span, "declared again here")
                        .label(first, "first declared here"),
                    );
                }
                if let Some(ty) = &p.ty
                    && super::value::Type::parse(&ty.name).is_none()
                {
                    let mut d = Diagnostic::error(Code::UnknownType, format!("unknown type `{}`", ty.name))
                        .label(ty.span, "not a type");
                    d = match suggest(&ty.name, super::value::Type::NAMES.iter().copied()) {
                        Some(s) => d.help(format!("did you mean `{s}`?")),
                        None => d.help("the types are `string`, `int`, `bool`, `list`, `map` and `duration`"),
                    };
                    diags.push(d);
                }
            }
        }
        body(BodyKind::Def(info.def.kind), &info.def.body, diags);
    }
    for info in &program.images {
        body(BodyKind::Image, &info.image.body, diags);
        variants(info.image, diags);
    }
    for (module, pipelines) in program.pipelines.iter().enumerate() {
        for (i, p) in pipelines.iter().enumerate() {
            if p.kind.name != "konflux" {
                diags.push(
                    Diagnostic::error(Code::InvalidValue, format!("unknown pipeline kind `{}`", p.kind.name))
                        .label(p.kind.span, "not a pipeline kind aidc knows")
                        .help("write `pipeline konflux { ... }`"),
                );
            }
            if i > 0 {
                diags.push(
                    Diagnostic::error(Code::DuplicateStatement, "a file has at most one `pipeline` block")
                        .label(p.kind.span, "second pipeline block")
                        .label(pipelines[0].kind.span, "first one here"),
                );
            }
            let _ = module;
            body(BodyKind::Pipeline, &p.body, diags);
        }
    }
}

/// Statement placement and property names of one body (variants included).
fn body(kind: BodyKind, block: &Block, diags: &mut Diagnostics) {
    let known = rules::properties(kind);
    let mut props: HashMap<&str, Span> = HashMap::default();
    let mut once: HashMap<&str, Span> = HashMap::default();
    for stmt in &block.stmts {
        match &stmt.kind {
            StmtKind::Property { name, .. } => {
                if !known.iter().any(|(n, _)| *n == name.name) {
                    let mut d = Diagnostic::error(
                        Code::UnknownProperty,
                        format!("{} has no property `{}`", kind.describe(), name.name),
                    )
                    .label(name.span, "unknown property");
                    let names: Vec<&str> = known.iter().map(|(n, _)| *n).collect();
                    d = match suggest(&name.name, names.iter().copied()) {
                        _ if STATEMENTS.contains(&name.name.as_str()) => d.help(format!(
                            "`{}` is a statement, not a property: write it without the first `=`, like `{}`",
                            name.name,
                            match name.name.as_str() {
                                "env" => "env NAME = \"value\"",
                                "label" => "label \"key\" = \"value\"",
                                "provides" => "provides NAME = value",
                                other => other,
                            }
                        )),
                        Some(s) => d.help(format!("did you mean `{s}`?")),
                        None if names.is_empty() => d.help(format!("{} takes no properties", kind.describe())),
                        None => d.help(format!(
                            "its properties are: {}",
                            names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                        )),
                    };
                    diags.push(d);
                } else if let Some(first) = props.insert(&name.name, name.span) {
                    diags.push(
                        Diagnostic::error(Code::DuplicateProperty, format!("`{}` is set twice", name.name))
                            .label(name.span, "set again here")
                            .label(first, "first set here")
                            .help("set each property once"),
                    );
                }
            }
            other => {
                if let Some(allowed) = rules::allowed_in(other)
                    && !allowed.contains(&kind)
                {
                    let word = other.keyword();
                    diags.push(
                        Diagnostic::error(
                            Code::NotAllowedHere,
                            format!("`{word}` cannot be used in {}", kind.describe()),
                        )
                        .label(stmt.keyword, format!("not allowed in {}", kind.describe()))
                        .help(format!("`{word}` goes {}", rules::where_allowed(allowed))),
                    );
                    continue;
                }
                // Statements that say one thing per body.
                let single = match other {
                    StmtKind::From(_) | StmtKind::Kernel(_) | StmtKind::Signing(_) | StmtKind::Policy(_) => {
                        Some(other.keyword())
                    }
                    _ => None,
                };
                if let Some(word) = single
                    && let Some(first) = once.insert(word, stmt.keyword)
                {
                    diags.push(
                        Diagnostic::error(
                            Code::DuplicateStatement,
                            format!("`{word}` appears twice in {}", kind.describe()),
                        )
                        .label(stmt.keyword, "again here")
                        .label(first, "first here")
                        .help(if word == "from" {
                            "an image is built from one base; build another base as another image".to_string()
                        } else {
                            format!("say `{word}` once per body; a variant's `{word}` replaces the image's")
                        }),
                    );
                }
                if let StmtKind::Variant { name, body: inner, .. } = other {
                    check_name(name, "variant", true, diags);
                    body(BodyKind::Variant, inner, diags);
                }
                if let StmtKind::Policy(entries) = other {
                    policy_entries(entries, diags);
                }
                if let StmtKind::Signing(entries) = other {
                    signing_entries(entries, stmt.keyword, diags);
                }
            }
        }
    }
}

/// Statement keywords, for a hint when one is written as a property.
const STATEMENTS: &[&str] = &[
    "from", "kernel", "kmod", "use", "repo", "packages", "remove", "fetch", "copy", "write", "run", "enable",
    "disable", "kargs", "flatpak", "env", "label", "provides", "requires", "after", "signing", "policy", "variant",
];

const POLICY_KEYS: &[&str] = &["proprietary", "telemetry", "remote-ai"];

fn policy_entries(entries: &[ast::Entry], diags: &mut Diagnostics) {
    let mut seen: HashMap<&str, Span> = HashMap::default();
    for e in entries {
        if !POLICY_KEYS.contains(&e.name.name.as_str()) {
            let mut d = Diagnostic::error(Code::UnknownProperty, format!("a policy has no key `{}`", e.name.name))
                .label(e.name.span, "unknown policy key");
            d = match suggest(&e.name.name, POLICY_KEYS.iter().copied()) {
                Some(s) => d.help(format!("did you mean `{s}`?")),
                None => d.help("the policy keys are `proprietary`, `telemetry` and `remote-ai`"),
            };
            diags.push(d);
        } else if let Some(first) = seen.insert(&e.name.name, e.name.span) {
            diags.push(
                Diagnostic::error(Code::DuplicateProperty, format!("`{}` is set twice in this policy", e.name.name))
                    .label(e.name.span, "set again here")
                    .label(first, "first set here"),
            );
        }
        let ok = matches!(&e.value.kind, ast::ExprKind::Name(n) if n == "allow" || n == "deny");
        if !ok {
            diags.push(
                Diagnostic::error(Code::InvalidValue, format!("a policy says `allow` or `deny` for `{}`", e.name.name))
                    .label(e.value.span, "not `allow` or `deny`")
                    .help(format!("write `{} = deny` or `{} = allow`", e.name.name, e.name.name)),
            );
        }
    }
}

fn signing_entries(entries: &[ast::Entry], at: Span, diags: &mut Diagnostics) {
    for e in entries {
        if !matches!(e.name.name.as_str(), "key" | "cert") {
            let mut d = Diagnostic::error(Code::UnknownProperty, format!("`signing` has no key `{}`", e.name.name))
                .label(e.name.span, "unknown key");
            d = match suggest(&e.name.name, ["key", "cert"]) {
                Some(s) => d.help(format!("did you mean `{s}`?")),
                None => d.help("`signing` takes `key = secret(\"ID\")` and `cert = file(\"PATH\")`"),
            };
            diags.push(d);
        }
    }
    for needed in ["key", "cert"] {
        if !entries.iter().any(|e| e.name.name == needed) {
            diags.push(
                Diagnostic::error(Code::MissingProperty, format!("`signing` needs `{needed}`"))
                    .label(at, format!("no `{needed}` here"))
                    .help("write `signing { key = secret(\"ID\"), cert = file(\"keys/NAME.der\") }`"),
            );
        }
    }
}

/// Variant names, `extends` targets and cycles of one image.
fn variants(image: &ast::Image, diags: &mut Diagnostics) {
    let mut by_name: HashMap<&str, (Span, Option<&ast::Ident>)> = HashMap::default();
    let mut order: Vec<&str> = Vec::new();
    for stmt in &image.body.stmts {
        if let StmtKind::Variant { name, extends, .. } = &stmt.kind {
            if let Some((first, _)) = by_name.get(name.name.as_str()) {
                diags.push(
                    Diagnostic::error(
                        Code::DuplicateVariant,
                        format!("image `{}` has two variants named `{}`", image.name.name, name.name),
                    )
                    .label(name.span, "declared again here")
                    .label(*first, "first declared here"),
                );
                continue;
            }
            if name.name == image.name.name {
                // Allowed, but the build target would repeat the image name: fine.
            }
            by_name.insert(&name.name, (name.span, extends.as_ref()));
            order.push(&name.name);
        }
    }
    for name in &order {
        let (_, extends) = by_name[name];
        if let Some(parent) = extends
            && !by_name.contains_key(parent.name.as_str())
        {
            let mut d = Diagnostic::error(
                Code::UnknownVariant,
                format!("`{name}` extends `{}`, which is not a variant of `{}`", parent.name, image.name.name),
            )
            .label(parent.span, "no such variant");
            d = match suggest(&parent.name, order.iter().copied().filter(|n| n != name)) {
                Some(s) => d.help(format!("did you mean `{s}`?")),
                None => d.help(format!(
                    "the variants are: {}",
                    order.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                )),
            };
            diags.push(d);
        }
    }
    // Cycles: follow each chain; report each cycle once, from its first member
    // in order. Chains longer than the limit are reported once per image, and
    // no walk goes further, so this stays linear in the number of variants.
    let mut reported: Vec<Vec<&str>> = Vec::new();
    let mut too_long = false;
    for start in &order {
        let mut chain = vec![*start];
        let mut current = *start;
        while let Some((_, Some(parent))) = by_name.get(current) {
            let p = parent.name.as_str();
            if !by_name.contains_key(p) {
                break;
            }
            if chain.len() > super::budget::MAX_CHAIN {
                if !too_long {
                    too_long = true;
                    let (span, _) = by_name[start];
                    diags.push(
                        Diagnostic::error(
                            Code::EvalTooDeep,
                            format!("`{start}` extends a chain of more than {} variants", super::budget::MAX_CHAIN),
                        )
                        .label(span, format!("`{start}` extends `{}`, which extends `{}`, ...", chain[1], chain[2]))
                        .help(
                            "variants extend at most 64 deep; let several variants extend one common variant instead",
                        ),
                    );
                }
                break;
            }
            if let Some(pos) = chain.iter().position(|c| *c == p) {
                let mut cycle: Vec<&str> = chain[pos..].to_vec();
                let mut key = cycle.clone();
                key.sort();
                if !reported.contains(&key) {
                    reported.push(key);
                    cycle.push(p);
                    let closing = by_name[current].1.map_or(by_name[current].0, |e| e.span);
                    diags.push(
                        Diagnostic::error(
                            Code::ExtendsCycle,
                            format!("variants extend each other in a cycle: {}", cycle.join(" -> ")),
                        )
                        .label(closing, "this `extends` closes the cycle")
                        .help("a variant cannot extend itself, directly or through others; remove one `extends`"),
                    );
                }
                break;
            }
            chain.push(p);
            current = p;
        }
    }
}
