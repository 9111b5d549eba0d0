//! What each component says, evaluated in its variant: properties and
//! metadata, repositories, steps (with the shell-bound values validated),
//! `requires` constraints, `after`, and the variant's `signing`.

use std::cell::RefCell;
use std::sync::Arc;

use crate::maps::IndexMap;

use super::eval::{Env, Eval, Evaluator, Reported};
use super::facts::Facts;
use super::memo::Part;
use super::rules::{BodyKind, PropType};
use super::site::Site;
use super::validate;
use super::value::Value;
use super::variant::{Assembly, Meta, default_changes, own_stmts, prop_type};
use crate::diag::{Code, Diagnostic};
use crate::model::{self, Changes, License, RepoSource};
use crate::source::Span;
use crate::syntax::ast::{self, DefKind, StmtKind};

/// A value as a model property, if it has a plain form.
pub fn to_property(v: &Value) -> Option<model::Property> {
    Some(match v {
        Value::Str(s, _) => model::Property::Str(s.clone()),
        Value::Int(n) => model::Property::Int(*n),
        Value::Bool(b) => model::Property::Bool(*b),
        Value::Duration(d) => model::Property::Int(*d as i64),
        Value::Symbol(s) => model::Property::Str(s.to_string()),
        Value::List(items, _) => model::Property::List(items.iter().filter_map(to_property).collect()),
        Value::Map(m) => {
            model::Property::Map(m.iter().filter_map(|(k, v)| Some((k.clone(), to_property(v)?))).collect())
        }
        Value::NonFree(r) => model::Property::Str(format!("nonfree({r})")),
        Value::File(p) | Value::Script(p) => model::Property::Str(p.clone()),
        _ => return None,
    })
}

/// A model property back as a value (facts inherited from another image),
/// written at `at` (the image reference it came through).
pub fn from_property(p: &model::Property, at: Span) -> Value {
    match p {
        model::Property::Str(s) => Value::Str(s.clone(), at),
        model::Property::Int(n) => Value::Int(*n),
        model::Property::Bool(b) => Value::Bool(*b),
        model::Property::List(items) => Value::List(items.iter().map(|i| from_property(i, at)).collect(), at),
        model::Property::Map(m) => Value::Map(m.iter().map(|(k, v)| (k.clone(), from_property(v, at))).collect()),
    }
}

fn secret_misplaced(ev: &mut Evaluator<'_>, span: Span, place: impl std::fmt::Display) -> Reported {
    ev.error(
        Diagnostic::error(Code::SecretMisplaced, format!("a secret cannot be used as {place}"))
            .label(span, "`secret(...)` here")
            .help("secrets exist only while a kmod is built and signed: use them as `signing { key = secret(\"ID\") }`, nowhere else"),
    )
}

/// Requires a string, and gives it with its [`Site`] (the value used at
/// `used`); a secret gets its own message.
pub(super) fn want_str(ev: &mut Evaluator<'_>, v: Value, used: Span, place: &str) -> Eval<(String, Site)> {
    let site = Site::of(&v, used);
    want_str_at(ev, v, site, place)
}

/// [`want_str`] of a value whose [`Site`] is known. `place` is formatted
/// only into an error (a list's items name it as `format_args!`, which
/// formatted for every item was 10,800 strings at 200 × 3).
fn want_str_at(ev: &mut Evaluator<'_>, v: Value, site: Site, place: impl std::fmt::Display) -> Eval<(String, Site)> {
    match v {
        Value::Str(s, _) => Ok((s, site)),
        Value::Secret(_) => Err(secret_misplaced(ev, site.written, place)),
        other => {
            let d =
                Diagnostic::error(Code::TypeMismatch, format!("{place} must be a string, found {}", other.describe()));
            let d = ev.label_site(d, site, format!("this is {}", other.describe())).help(string_help(&other));
            Err(ev.error(d))
        }
    }
}

/// How to write a string where `found` was given.
fn string_help(found: &Value) -> String {
    match found {
        Value::Int(_) | Value::Bool(_) | Value::Duration(_) | Value::Symbol(_) => {
            format!("write it in quotes: \"{found}\"")
        }
        Value::List(..) => "write one string here, not a list".to_string(),
        Value::Instance(i) => format!(
            "a {} is not text: bring it in with `{}` on its own line",
            i.kind.keyword(),
            match i.kind {
                DefKind::Layer => "use",
                other => other.keyword(),
            }
        ),
        Value::File(_) | Value::Script(_) => {
            "`file(...)` is for `copy` and `signing`, `script(...)` for `run`; write the text in quotes here"
                .to_string()
        }
        _ => "write a string in quotes, like \"text\"".to_string(),
    }
}

/// Requires a list of strings (a single string is accepted as a list of one),
/// each with its [`Site`]; `e` is the expression that reads the list: its
/// items when it writes them out, for the values that keep no span.
/// a wrong item is reported where it was written.
pub(super) fn want_strings(ev: &mut Evaluator<'_>, v: Value, e: &ast::Expr, place: &str) -> Eval<Vec<(String, Site)>> {
    let site = Site::of(&v, e.span);
    match v {
        Value::List(items, _) => {
            let written: Option<&[ast::Expr]> = match &e.kind {
                ast::ExprKind::List(exprs) if exprs.len() == items.len() => Some(exprs),
                _ => None,
            };
            let mut out = Vec::new();
            for (i, item) in items.into_iter().enumerate() {
                // A value without a span of its own is at its item, when
                // written out here, or else at the list.
                let at = Site {
                    written: item.origin().unwrap_or_else(|| written.map_or(site.written, |w| w[i].span)),
                    used: e.span,
                };
                out.push(want_str_at(ev, item, at, format_args!("each of {place}"))?);
            }
            Ok(out)
        }
        Value::Str(s, _) => Ok(vec![(s, site)]),
        Value::Secret(_) => Err(secret_misplaced(ev, e.span, place)),
        other => {
            let d = Diagnostic::error(
                Code::TypeMismatch,
                format!("{place} must be a list of strings, found {}", other.describe()),
            );
            let d =
                ev.label_site(d, site, format!("this is {}", other.describe())).help("write a list: [\"a\", \"b\"]");
            Err(ev.error(d))
        }
    }
}

/// Reports `result`'s reason at the value's site: `value` is not a valid `what`.
pub(super) fn check(
    ev: &mut Evaluator<'_>,
    result: Result<(), String>,
    code: Code,
    what: &str,
    value: &str,
    site: Site,
) -> Eval<()> {
    match result {
        Ok(()) => Ok(()),
        Err(reason) => {
            let d = Diagnostic::error(code, format!("\"{}\" is not a valid {what}", value.escape_debug()))
                .help(match code {
                    Code::PackageName => "package names are RPM names like `python3-torch`; every value lands in a dnf command line, so only RPM characters are accepted",
                    Code::UnitName if value.starts_with('-') => "the one option is `--global`, for a user unit of every user: `enable \"--global podman.socket\"`",
                    Code::UnitName => "unit names look like `podman.socket` or `getty@tty1.service`",
                    Code::FlatpakId => "application ids look like `io.podman_desktop.PodmanDesktop`",
                    Code::KernelArgument => "kernel arguments look like `quiet` or `mitigations=auto`",
                    Code::LabelKey => "label keys look like `org.opencontainers.image.title`",
                    Code::DestinationPath => "destinations are absolute, normalised paths outside `/var`, `/tmp`, `/run` and `/boot`, such as `/usr/...` or `/etc/...`",
                    Code::Url => "use an `https://` URL without spaces or quotes",
                    Code::FileMode => "modes are octal, like \"0644\" or \"0755\"",
                    Code::TextContent => "this value is one line; put text over several lines in a file with `write`",
                    Code::InvalidValue if what == "RPM package name" => "package names are RPM names like `kernel-devel`; the value lands in a dnf command line, so only RPM characters are accepted",
                    Code::InvalidValue if what == "version" => "versions look like \"580.95.05\", \"6.17.1-300.fc44\" or \"6.18.*\"",
                    Code::InvalidValue if what == "kernel module name" => "module names look like `nvidia` or `v4l2loopback`: letters, digits, `_` and `-`",
                    _ => "see docs/diagnostics.md",
                });
            Err(ev.error_at(d, site, reason))
        }
    }
}

/// Evaluates a component's properties and metadata, through the memo.
pub fn metadata<'p>(ev: &mut Evaluator<'p>, asm: &Assembly<'p>, index: usize, facts: &Facts<'p>) -> Meta {
    let evaluate = |ev: &mut Evaluator<'p>, reads: &RefCell<Vec<String>>, clean: &mut bool| {
        evaluate_metadata(ev, asm, index, facts, reads, clean)
    };
    let c = &asm.components[index];
    let own = |ev: &Evaluator<'p>, meta: &Meta| {
        let def = c.instance.as_ref().map(|i| &ev.program.defs[i.def.0].def);
        def.is_none_or(|d| super::memo::license_is_own(&meta.license, d.name.span, d.body.span))
    };
    let reads = RefCell::new(Vec::new());
    super::memoized::memoized(ev, c.instance.as_ref(), Part::Metadata(c.kind), facts, &reads, evaluate, own)
}

/// Evaluates the metadata of a component; `clean` turns false when an
/// evaluation fails (some fail without a new report: a repeat).
fn evaluate_metadata<'p>(
    ev: &mut Evaluator<'p>,
    asm: &Assembly<'p>,
    index: usize,
    facts: &Facts<'p>,
    reads: &RefCell<Vec<String>>,
    clean: &mut bool,
) -> Meta {
    let c = &asm.components[index];
    let env = Env { module: c.module, params: c.params.clone(), facts: Some(facts), reads: Some(reads) };
    let mut meta = Meta {
        license: None,
        telemetry: false,
        remote_ai: false,
        changes: default_changes(c.kind),
        properties: Arc::default(),
    };
    for stmt in own_stmts(c) {
        let StmtKind::Property { name, value } = &stmt.kind else {
            continue;
        };
        let Some(ty) = prop_type(c.body_kind, &name.name) else {
            continue;
        };
        let Ok(v) = ev.eval(value, &env) else {
            *clean = false;
            continue;
        };
        let ok = match (ty, &v) {
            (PropType::Str, Value::Str(..))
            | (PropType::Bool, Value::Bool(_))
            | (PropType::Duration, Value::Duration(_)) => true,
            (PropType::StrList, Value::List(items, _)) => items.iter().all(|i| matches!(i, Value::Str(..))),
            (PropType::Changes, Value::Symbol(s)) => Changes::parse(s).is_some(),
            (PropType::License, Value::Str(..) | Value::NonFree(_)) => true,
            (PropType::License, Value::Symbol("mixed")) => c.body_kind == BodyKind::Def(DefKind::Repo),
            (PropType::Map, Value::Map(_)) => true,
            _ => false,
        };
        if !ok {
            *clean = false;
            let want = match ty {
                PropType::Str => "a string",
                PropType::Bool => "`true` or `false`",
                PropType::StrList => "a list of strings",
                PropType::Duration => "a duration like `4h`",
                PropType::Changes => "one of `rarely`, `monthly`, `weekly`, `often`",
                PropType::License if c.body_kind == BodyKind::Def(DefKind::Repo) => {
                    "an SPDX string, `nonfree(\"...\")` or `mixed`"
                }
                PropType::License => "an SPDX string like \"MIT\" or `nonfree(\"...\")`",
                PropType::Map => "a map",
            };
            if matches!(v, Value::Secret(_)) {
                secret_misplaced(ev, value.span, format_args!("`{}`", name.name));
            } else {
                let d = Diagnostic::error(
                    Code::InvalidValue,
                    format!("`{}` takes {want}, found {}", name.name, v.describe()),
                );
                let mut d = ev.label_site(d, Site::of(&v, value.span), format!("this is {}", v.describe()));
                d = match ty {
                    PropType::Changes => d.help("write a bare word, without quotes: `changes = weekly`"),
                    PropType::Str => d.help(string_help(&v)),
                    PropType::StrList => d.help(format!("write a list of strings: `{} = [\"a\", \"b\"]`", name.name)),
                    PropType::Duration => {
                        d.help(format!("write a duration without quotes, like `{} = 4h` or `90m`", name.name))
                    }
                    PropType::Map => d.help(format!("write a map: `{} = {{ key = \"value\" }}`", name.name)),
                    PropType::Bool => {
                        d.help(format!("write `{} = true` or `{} = false`, without quotes", name.name, name.name))
                    }
                    PropType::License => {
                        d.help("write an SPDX string like `license = \"MIT\"`, or `license = nonfree(\"NAME\")`")
                    }
                };
                ev.error(d);
            }
            continue;
        }
        // Names the kernel and kmod procedures pass to dnf, akmods and the
        // shell: RPM names, module names, versions; never a line break.
        let shell_bound = match (c.body_kind, name.name.as_str()) {
            (BodyKind::Def(DefKind::Kernel), "package")
            | (BodyKind::Def(DefKind::Kmod), "akmod" | "build-packages") => {
                Some(("RPM package name", validate::package as fn(&str) -> Result<(), String>))
            }
            (BodyKind::Def(DefKind::Kmod), "module") => {
                Some(("kernel module name", module_name as fn(&str) -> Result<(), String>))
            }
            // `module-variant` goes into /etc/nvidia/kernel.conf's
            // MODULE_VARIANT (negativo17's values: `kernel`, `kernel-open`).
            (BodyKind::Def(DefKind::Kmod), "module-variant") => {
                Some(("module variant", module_name as fn(&str) -> Result<(), String>))
            }
            (BodyKind::Def(DefKind::Kmod | DefKind::Kernel), "version") => {
                Some(("version", version_text as fn(&str) -> Result<(), String>))
            }
            _ => None,
        };
        if let Some((what, rule)) = shell_bound {
            // Each text where it was written (its item, its argument).
            let texts: Vec<(&str, Site)> = match &v {
                Value::Str(t, _) => vec![(t.as_str(), Site::of(&v, value.span))],
                Value::List(items, _) => items
                    .iter()
                    .filter_map(|item| match item {
                        Value::Str(t, _) => Some((t.as_str(), Site::of(item, value.span))),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            let mut bad = false;
            for (t, site) in texts {
                bad |= check(ev, rule(t), Code::InvalidValue, what, t, site).is_err();
            }
            if bad {
                *clean = false;
                // Kept, so that the property is not also reported missing.
                if let Some(p) = to_property(&v) {
                    Arc::make_mut(&mut meta.properties).insert(name.name.clone(), p);
                }
                continue;
            }
        }
        match name.name.as_str() {
            "license" => {
                if let Value::Str(s, _) = &v
                    && let Err(reason) = spdx(s)
                {
                    let d = Diagnostic::error(
                        Code::InvalidValue,
                        format!("\"{}\" is not an SPDX license expression", s.escape_debug()),
                    );
                    ev.error(
                        ev.label_site(d, Site::of(&v, value.span), reason)
                            .help("write an SPDX expression like \"MIT\" or \"GPL-2.0-only OR MIT\", or `nonfree(\"NAME\")` for a license that is not free"),
                    );
                    continue;
                }
                meta.license = Some((v.clone(), value.span));
            }
            // `builder`: the image kmod builders and the kernel signer start from.
            "image" | "builder" if c.kind == model::ComponentKind::Base => {
                if let Value::Str(image, _) = &v
                    && let Err(reason) = validate::image_reference(image)
                {
                    let d = Diagnostic::error(
                        Code::ImageReference,
                        format!("\"{}\" is not a valid image reference", image.escape_debug()),
                    );
                    ev.error(
                        ev.label_site(d, Site::of(&v, value.span), reason)
                            .help("write `registry/name:tag` or `registry/name@sha256:...`"),
                    );
                }
            }
            // `repofiles`: the base's own `.repo` files (name -> text), which a
            // hermetic build's prefetch resolves from (docs/konflux.md, "Hermetic builds").
            "repofiles" if c.kind == model::ComponentKind::Base => {
                if let Value::Map(files) = &v {
                    for (file, text) in files {
                        let problem = match text {
                            Value::Str(t, _) => {
                                validate::repo_file_name(file).and_then(|()| validate::repo_file(t).map(|_| ()))
                            }
                            _ => Err("the text of a repository file is a string".to_string()),
                        };
                        if let Err(reason) = problem {
                            let d = Diagnostic::error(
                                Code::InvalidValue,
                                format!("`{}` is not a repository file aidc can write", file.escape_debug()),
                            );
                            ev.error(
                                ev.label_site(d, Site::of(text, value.span), reason)
                                    .help("map each file name (`fedora.repo`) to the file's text: `[id]` sections of `key=value` lines"),
                            );
                        }
                    }
                }
            }
            "telemetry" => meta.telemetry = matches!(v, Value::Bool(true)),
            "remote-ai" => meta.remote_ai = matches!(v, Value::Bool(true)),
            "changes" => {
                if let Value::Symbol(s) = &v {
                    meta.changes = Changes::parse(s).unwrap_or(meta.changes);
                }
            }
            _ => {}
        }
        if let Some(p) = to_property(&v) {
            Arc::make_mut(&mut meta.properties).insert(name.name.clone(), p);
        }
    }
    if c.kind == model::ComponentKind::Base && !meta.properties.contains_key("image") {
        ev.error(
            Diagnostic::error(Code::MissingProperty, format!("the base `{}` has no `image`", c.name))
                .label(c.def_span.unwrap_or(c.span), "no `image = \"...\"` in this base")
                .help("a base names the image it stands for: `image = \"quay.io/fedora/fedora-bootc:${release}\"`"),
        );
    }
    if c.kind == model::ComponentKind::Kmod {
        for needed in ["module", "version"] {
            if !meta.properties.contains_key(needed) {
                ev.error(
                    Diagnostic::error(Code::MissingProperty, format!("the kmod `{}` has no `{needed}`", c.name))
                        .label(c.def_span.unwrap_or(c.span), format!("no `{needed} = \"...\"` here"))
                        .help("a kmod names its module (`module = \"nvidia\"`) and version (`version = driver`)"),
                );
            }
        }
    }
    meta
}

/// A kernel module name: letters, digits, `_` and `-`.
fn module_name(name: &str) -> Result<(), String> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-')) {
        return Err("a module name uses letters, digits, `_` and `-`".into());
    }
    Ok(())
}

/// A version as RPM writes it: letters, digits, `.`, `_`, `+`, `~`, `^`, `-`.
fn version_text(v: &str) -> Result<(), String> {
    if v.is_empty()
        || !v.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '~' | '^' | '-' | '*'))
    {
        return Err("a version uses letters, digits and `.`, `_`, `+`, `~`, `^`, `-`".into());
    }
    Ok(())
}

/// A loose SPDX expression check: identifiers, `AND`/`OR`/`WITH`, parentheses.
fn spdx(s: &str) -> Result<(), String> {
    if s.trim().is_empty() {
        return Err("the license is empty".into());
    }
    if let Some(c) =
        s.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+' | ' ' | '(' | ')' | ':')))
    {
        return Err(format!("`{}` does not appear in SPDX expressions", c.escape_default()));
    }
    Ok(())
}

/// Evaluates a repository of the variant, through the memo.
pub fn repo<'p>(ev: &mut Evaluator<'p>, asm: &Assembly<'p>, index: usize, facts: &Facts<'p>) -> Option<model::Repo> {
    let draft = &asm.repos[index];
    let evaluate = |ev: &mut Evaluator<'p>, reads: &RefCell<Vec<String>>, clean: &mut bool| {
        let repo = evaluate_repo(ev, asm, index, facts, reads);
        *clean &= repo.is_some();
        repo
    };
    let reads = RefCell::new(Vec::new());
    let mut repo =
        super::memoized::memoized(ev, Some(&draft.instance), Part::Repo, facts, &reads, evaluate, |_, _| true)?;
    repo.span = draft.span;
    Some(repo)
}

/// Evaluates a repository, with the span of its definition for the span of
/// its use (which [`repo`] sets, so that a kept repository names no use).
fn evaluate_repo<'p>(
    ev: &mut Evaluator<'p>,
    asm: &Assembly<'p>,
    index: usize,
    facts: &Facts<'p>,
    reads: &RefCell<Vec<String>>,
) -> Option<model::Repo> {
    let draft = &asm.repos[index];
    let inst = &draft.instance;
    let info = &ev.program.defs[inst.def.0];
    let env = Env { module: info.module, params: Some(inst.args.clone()), facts: Some(facts), reads: Some(reads) };
    let mut props: IndexMap<&str, (Value, Span)> = IndexMap::default();
    let mut failed = false;
    for stmt in &info.def.body.stmts {
        if let StmtKind::Property { name, value } = &stmt.kind {
            match ev.eval(value, &env) {
                Ok(v) => {
                    props.insert(name.name.as_str(), (v, value.span));
                }
                Err(_) => failed = true,
            }
        }
    }
    let text =
        |ev: &mut Evaluator<'_>, props: &IndexMap<&str, (Value, Span)>, key: &str| -> Eval<Option<(String, Site)>> {
            match props.get(key) {
                None => Ok(None),
                Some((v @ Value::Str(s, _), span)) => Ok(Some((s.clone(), Site::of(v, *span)))),
                Some((other, span)) => {
                    let d = Diagnostic::error(
                        Code::TypeMismatch,
                        format!("`{key}` must be a string, found {}", other.describe()),
                    );
                    Err(ev.error(
                        ev.label_site(d, Site::of(other, *span), format!("this is {}, not a string", other.describe()))
                            .help(format!("write `{key} = \"...\"`")),
                    ))
                }
            }
        };
    let url = text(ev, &props, "url").ok()?;
    let baseurl = text(ev, &props, "baseurl").ok()?;
    let copr = text(ev, &props, "copr").ok()?;
    let flatpak = text(ev, &props, "flatpakrepo").ok()?;
    let gpgkey = text(ev, &props, "gpgkey").ok()?;
    let id = text(ev, &props, "id").ok()?;
    let sha256 = text(ev, &props, "sha256").ok()?;
    let content = text(ev, &props, "file").ok()?;
    let given: Vec<&str> = [("url", &url), ("baseurl", &baseurl), ("copr", &copr), ("flatpakrepo", &flatpak)]
        .iter()
        .filter(|(_, v)| v.is_some())
        .map(|(k, _)| *k)
        .collect();
    if given.len() > 1 {
        ev.error(
            Diagnostic::error(Code::InvalidValue, format!("the repo `{}` sets {}; a repository has one source", inst.name, given.join(" and ")))
                .label(info.def.name.span, "conflicting sources")
                .help("set one of `url` (a .repo file), `baseurl`, `copr` or `flatpakrepo`; with none, `id` enables a repository the base already has"),
        );
        return None;
    }
    for (value, site) in [&url, &baseurl, &flatpak, &gpgkey].into_iter().flatten() {
        if check(ev, validate::url(value), Code::Url, "URL", value, *site).is_err() {
            failed = true;
        }
    }
    // A repository file is either given (`file`, written by aidc) or
    // downloaded and checked (`sha256` in the step that downloads it); an
    // unchecked download would be neither verified nor in the input digests.
    let sha = match &sha256 {
        None => None,
        Some((s, site)) => match validate::sha256(s) {
            Ok(h) => Some(h),
            Err(reason) => {
                let d = Diagnostic::error(Code::Checksum, "this is not a SHA-256 digest");
                ev.error(
                    ev.label_site(d, *site, reason)
                        .help("compute it with `sha256sum FILE` and paste the 64 hex digits"),
                );
                return None;
            }
        },
    };
    let downloaded = url.as_ref().or(flatpak.as_ref());
    if let Some((_, site)) = downloaded
        && sha.is_none()
        && content.is_none()
    {
        ev.error(
            Diagnostic::error(
                Code::MissingProperty,
                format!("the repo `{}` downloads its repository file without a checksum", inst.name),
            )
            .label(site.used, "fetched at build time, unverified")
            .help("give the file's text as `file = \"\"\"...\"\"\"` (aidc writes it and hashes it) or add `sha256 = \"<64 hex digits>\"`"),
        );
        return None;
    }
    if (sha.is_some() || content.is_some()) && downloaded.is_none() {
        let (what, span) = match (&sha256, &content) {
            (Some((_, s)), _) => ("sha256", s.used),
            (_, Some((_, s))) => ("file", s.used),
            _ => ("file", info.def.name.span),
        };
        ev.error(
            Diagnostic::error(
                Code::InvalidValue,
                format!("`{what}` belongs to a repository file (`url` or `flatpakrepo`)"),
            )
            .label(span, "no repository file to check or write")
            .help("`baseurl` and `copr` repositories are written by aidc; remove this property"),
        );
        return None;
    }
    let source = if let Some((u, _)) = url {
        RepoSource::File { url: u, sha256: sha.clone(), content: content.clone().map(|(c, _)| c) }
    } else if let Some((u, _)) = baseurl {
        RepoSource::BaseUrl { url: u, gpgkey: gpgkey.map(|(g, _)| g) }
    } else if let Some((c, site)) = copr {
        match c.split_once('/') {
            Some((owner, project)) if copr_part(owner.trim_start_matches('@')) && copr_part(project) => {
                RepoSource::Copr { owner: owner.to_string(), project: project.to_string() }
            }
            _ => {
                let d =
                    Diagnostic::error(Code::InvalidValue, format!("\"{}\" is not a COPR project", c.escape_debug()));
                ev.error(
                    ev.label_site(d, site, "a COPR project is written `owner/project`")
                        .help("e.g. `copr = \"kwizart/kernel-longterm-6.18\"`; groups start with `@`"),
                );
                return None;
            }
        }
    } else if let Some((u, _)) = flatpak {
        RepoSource::Flatpak { url: u, sha256: sha, content: content.map(|(c, _)| c) }
    } else {
        RepoSource::Existing
    };
    let repo_id = match (&id, &source) {
        (Some((i, _)), _) => i.clone(),
        (None, RepoSource::Copr { owner, project }) => {
            format!("copr:copr.fedorainfracloud.org:{}:{project}", owner.replace('@', "group_"))
        }
        (None, _) => inst.name.rsplit('.').next().unwrap_or(&inst.name).to_string(),
    };
    if repo_id.is_empty() || !repo_id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':')) {
        ev.error(
            Diagnostic::error(
                Code::InvalidValue,
                format!("\"{}\" is not a valid repository id", repo_id.escape_debug()),
            )
            .label(info.def.name.span, "repository ids use letters, digits, `-`, `_`, `.` and `:`"),
        );
        return None;
    }
    let license = match props.get("license") {
        Some((Value::Str(s, _), _)) => License::Free(s.clone()),
        Some((Value::NonFree(r), _)) => License::NonFree(r.clone()),
        Some((Value::Symbol("mixed"), _)) => License::Mixed,
        _ => License::Unknown,
    };
    let keep = match props.get("keep") {
        None | Some((Value::Bool(false), _)) => false,
        Some((Value::Bool(true), _)) => true,
        Some((other, span)) => {
            let d = Diagnostic::error(
                Code::InvalidValue,
                format!("`keep` takes `true` or `false`, found {}", other.describe()),
            );
            ev.error(
                ev.label_site(d, Site::of(other, *span), format!("this is {}", other.describe()))
                    .help("write `keep = true` (without quotes) to leave the repository enabled in the image"),
            );
            return None;
        }
    };
    if let Some((v, span)) = props.get("license")
        && !matches!(v, Value::Str(..) | Value::NonFree(_) | Value::Symbol("mixed"))
    {
        let d = Diagnostic::error(
            Code::InvalidValue,
            format!("`license` takes an SPDX string, `nonfree(\"...\")` or `mixed`, found {}", v.describe()),
        );
        ev.error(
            ev.label_site(d, Site::of(v, *span), format!("this is {}", v.describe()))
                .help("write `license = \"MIT\"` (SPDX), `license = nonfree(\"NAME\")` or `license = mixed`"),
        );
        return None;
    }
    if failed {
        return None;
    }
    Some(model::Repo {
        name: inst.name.clone(),
        id: repo_id,
        source,
        license,
        keep,
        span: info.def.name.span,
        def_span: info.def.name.span,
    })
}

fn copr_part(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+'))
}

/// Checks the `requires` of a component for this variant.
pub fn constraints<'p>(
    ev: &mut Evaluator<'p>,
    asm: &Assembly<'p>,
    index: usize,
    facts: &Facts<'p>,
    reads: &RefCell<Vec<String>>,
    label: &str,
) {
    let c = &asm.components[index];
    for stmt in own_stmts(c) {
        let StmtKind::Requires { condition, message } = &stmt.kind else {
            continue;
        };
        let local = RefCell::new(Vec::new());
        let env = Env { module: c.module, params: c.params.clone(), facts: Some(facts), reads: Some(&local) };
        let holds = ev.eval_bool(condition, &env);
        for r in local.borrow().iter() {
            if !reads.borrow().contains(r) {
                reads.borrow_mut().push(r.clone());
            }
        }
        let Ok(false) = holds else { continue };
        let msg = match ev.eval(message, &env) {
            Ok(Value::Str(s, _)) => s,
            Ok(other) => {
                ev.error(
                    Diagnostic::error(
                        Code::TypeMismatch,
                        format!("the message after `else` must be a string, found {}", other.describe()),
                    )
                    .label(message.span, "not a string")
                    .help("write the message in quotes: `requires CONDITION else \"what is wrong and how to fix it\"`"),
                );
                continue;
            }
            Err(_) => continue,
        };
        // A requirement on the architecture that fails: the component has
        // nothing for this platform.
        let by_arch = local.borrow().iter().any(|r| r == "arch");
        if by_arch && !ev.as_component(&c.name, |ev| ev.first_no_platform()) {
            continue;
        }
        let mut d = if by_arch {
            ev.as_component(&c.name, |ev| ev.no_platform(&format!("{msg} (in {label})")))
        } else {
            Diagnostic::error(Code::ConstraintFailed, format!("{msg} (in {label})"))
        };
        // The culprit is where the user brought the component in.
        let requirer = if c.kind == model::ComponentKind::Body { stmt.span } else { c.span };
        d = d.label(requirer, format!("`{}` requires this", c.name));
        d = d.label(condition.span, "this requirement does not hold");
        let way_out = super::way_out::way_out(ev, &c.name, condition, &env, facts);
        for fact in local.borrow().iter() {
            if let Some(defs) = facts.defs.get(fact) {
                let def = &defs[0];
                let value = facts.get(ev, fact, def.span).map(|v| v.to_string()).unwrap_or_default();
                let mut text = format!("`target.{fact}` is {value}, provided by `{}`", def.component_name);
                if let Some(note) = way_out.as_ref().filter(|w| &w.fact == fact).and_then(|w| w.pattern.as_ref()) {
                    text = format!("{text}; {note}");
                }
                d = d.label(def.call, text);
            }
        }
        ev.error(d.help(match way_out {
            _ if by_arch => format!(
                "take `{}` out of the pipeline's `platforms`, or build that platform without `{}`",
                ev.platform.1, c.name
            ),
            Some(w) => w.help,
            None => "change the version or component so that the requirement holds; the labels show where each value comes from".to_string(),
        }));
    }
}

/// The components of a variant by name, for `after NAME` (a map, so that
/// many `after`s cost in proportion to their number): the first component
/// with a qualified name, and with a last name segment, made on the first
/// `after` (most variants have none); the definitions' names, made on the
/// first `after` that names no component.
pub struct AfterNames<'a, 'p> {
    asm: &'a Assembly<'p>,
    by_name: std::cell::OnceCell<ByName<'a>>,
    defs: std::cell::OnceCell<crate::maps::HashSet<&'p str>>,
}

/// The first component with each qualified name, and with each last segment.
struct ByName<'a> {
    full: crate::maps::HashMap<&'a str, usize>,
    last: crate::maps::HashMap<&'a str, usize>,
}

impl<'a, 'p> AfterNames<'a, 'p> {
    pub fn new(asm: &'a Assembly<'p>) -> Self {
        AfterNames { asm, by_name: std::cell::OnceCell::new(), defs: std::cell::OnceCell::new() }
    }

    /// The first component called `wanted` (a one-segment name also matches a
    /// qualified name's last segment).
    fn find(&self, wanted: &[&str], wanted_name: &str) -> Option<usize> {
        let by_name = self.by_name.get_or_init(|| {
            let (mut full, mut last) = (crate::maps::HashMap::default(), crate::maps::HashMap::default());
            for (i, c) in self.asm.components.iter().enumerate() {
                full.entry(c.name.as_str()).or_insert(i);
                last.entry(c.name.rsplit('.').next().unwrap_or(&c.name)).or_insert(i);
            }
            ByName { full, last }
        });
        match wanted {
            [one] => by_name.last.get(one).copied(),
            _ => by_name.full.get(wanted_name).copied(),
        }
    }
}

/// `after NAME`: the components this one must come after, and the `after`
/// clauses that name them (for diagnostics on an ordering cycle).
pub fn after<'p>(
    ev: &mut Evaluator<'p>,
    asm: &Assembly<'_>,
    names: &AfterNames<'_, 'p>,
    index: usize,
) -> (Vec<usize>, Vec<(usize, Span)>) {
    let c = &asm.components[index];
    let mut out = c.after.clone();
    let mut clauses = Vec::new();
    for stmt in own_stmts(c) {
        let StmtKind::After(path) = &stmt.kind else {
            continue;
        };
        let wanted: Vec<&str> = path.iter().map(|i| i.name.as_str()).collect();
        let wanted_name = wanted.join(".");
        match names.find(&wanted, &wanted_name) {
            Some(i) if i != index => {
                out.insert(i);
                clauses.push((i, stmt.span));
            }
            Some(_) => {
                ev.error(
                    Diagnostic::error(Code::UnknownName, format!("`{}` cannot come after itself", c.name))
                        .label(stmt.span, "this `after` names the component it is in")
                        .help("remove this `after`, or name the component this one must follow"),
                );
            }
            None => {
                // Not in this variant: ordering against an absent component is
                // vacuous, but a name no definition has is a mistake.
                let last = wanted.last().copied().unwrap_or("");
                let program = ev.program;
                let defs = names.defs.get_or_init(|| {
                    program.defs.iter().flat_map(|d| [d.qualified.as_str(), d.def.name.name.as_str()]).collect()
                });
                let known = defs.contains(wanted_name.as_str()) || defs.contains(last);
                if !known {
                    let names: Vec<&str> = ev.program.defs.iter().map(|d| d.qualified.as_str()).collect();
                    let mut d = Diagnostic::error(
                        Code::UnknownName,
                        format!("`after` names `{wanted_name}`, which is not a definition"),
                    )
                    .label(
                        match (path.first(), path.last()) {
                            (Some(first), Some(last)) => first.span.to(last.span),
                            _ => stmt.span,
                        },
                        "no definition by this name",
                    );
                    d = match crate::diag::suggest(&wanted_name, names) {
                        Some(s) => d.help(format!("did you mean `{s}`?")),
                        None => d.help("`after` names a definition of the program, like `after nvidia.container-toolkit` or `after container-toolkit`"),
                    };
                    ev.error(d);
                }
            }
        }
    }
    (out.into_iter().collect(), clauses)
}

/// The variant's `signing` block, evaluated.
pub fn signing<'p>(ev: &mut Evaluator<'p>, asm: &Assembly<'p>) -> Option<model::Signing> {
    let (entries, span, module) = asm.signing?;
    let env = Env::module(module);
    let mut key = None;
    let mut cert = None;
    let mut cert_span = span;
    for e in entries {
        let Ok(v) = ev.eval(&e.value, &env) else {
            continue;
        };
        match (e.name.name.as_str(), v) {
            ("key", Value::Secret(id)) => key = Some(id),
            ("key", other) => {
                ev.error(
                    Diagnostic::error(Code::TypeMismatch, format!("the signing key must be a build secret, found {}", other.describe()))
                        .label(e.value.span, "not `secret(...)`")
                        .help("write `key = secret(\"ID\")` and pass the key file at build time with `--secret id=ID/key,src=FILE` (`aidc build --secret-file FILE` does it)"),
                );
            }
            ("cert", Value::File(path)) => {
                if validate::looks_like_private_key(&path) {
                    ev.error(
                        Diagnostic::error(Code::PrivateKey, format!("\"{path}\" looks like a private key, but `cert` ships in the image"))
                            .label(e.value.span, "the certificate is copied into the image")
                            .help("`cert` is the public certificate (DER) for MOK enrollment; the private key goes in `key = secret(...)`"),
                    );
                } else {
                    cert = Some(path);
                    cert_span = e.value.span;
                }
            }
            ("cert", other) => {
                ev.error(
                    Diagnostic::error(
                        Code::TypeMismatch,
                        format!("the signing certificate must be a file, found {}", other.describe()),
                    )
                    .label(e.value.span, "not `file(...)`")
                    .help("write `cert = file(\"keys/NAME.der\")`"),
                );
            }
            _ => {}
        }
    }
    Some(model::Signing { key: key?, cert: cert?, span, cert_span })
}
