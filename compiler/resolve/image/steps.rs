//! The steps of a component (`packages`, `fetch`, `copy`, `write`, `run`,
//! `enable`, `kargs`, `flatpak`, `env`, `label`, ...): each statement
//! evaluated and validated into a `model::Step`, one function per kind.

use std::cell::RefCell;
use std::sync::Arc;

use super::content::{check, want_str, want_strings};
use super::eval::{Env, Eval, Evaluator, Reported};
use super::facts::Facts;
use super::memo::Part;
use super::site::Site;
use super::validate;
use super::value::Value;
use super::variant::{Assembly, own_stmts};
use crate::diag::{Code, Diagnostic};
use crate::model::{RunSource, Step, StepKind};
use crate::syntax::ast::{self, StmtKind};

/// The steps of a component, evaluated and validated, through the memo: the
/// steps of `tools.ramalama()` are the same in every variant, those of a
/// download by architecture in every variant for that architecture. A step's span is its statement's (in the definition), and
/// its values are plain strings, so a result names nothing of its caller.
/// A kept result is shared, not copied, by the variants that reuse it.
pub fn steps<'p>(
    ev: &mut Evaluator<'p>,
    asm: &Assembly<'p>,
    index: usize,
    facts: &Facts<'p>,
    reads: &RefCell<Vec<String>>,
) -> Arc<[Step]> {
    let evaluate = |ev: &mut Evaluator<'p>, reads: &RefCell<Vec<String>>, clean: &mut bool| {
        evaluate_steps(ev, asm, index, facts, reads, clean)
    };
    let c = &asm.components[index];
    super::memoized::memoized(ev, c.instance.as_ref(), Part::Steps(c.kind), facts, reads, evaluate, |_, _| true)
}

/// The steps of a component, evaluated and validated; `clean` turns false
/// when a statement fails.
fn evaluate_steps<'p>(
    ev: &mut Evaluator<'p>,
    asm: &Assembly<'p>,
    index: usize,
    facts: &Facts<'p>,
    reads: &RefCell<Vec<String>>,
    clean: &mut bool,
) -> Arc<[Step]> {
    let c = &asm.components[index];
    let env = Env { module: c.module, params: c.params.clone(), facts: Some(facts), reads: Some(reads) };
    let mut out = Vec::new();
    for stmt in own_stmts(c) {
        // A statement out of place was reported by the structure check.
        if let Some(allowed) = super::rules::allowed_in(&stmt.kind)
            && !allowed.contains(&c.body_kind)
        {
            continue;
        }
        match step(ev, &stmt.kind, &env) {
            Ok(Some(kind)) => out.push(Step { kind, span: stmt.span }),
            Ok(None) => {}
            Err(Reported) => *clean = false,
        }
    }
    out.into()
}

/// One statement's step; `None` for statements that are not steps.
fn step<'p>(ev: &mut Evaluator<'p>, kind: &'p StmtKind, env: &Env<'_, 'p>) -> Eval<Option<StepKind>> {
    Ok(Some(match kind {
        StmtKind::Packages(e) => StepKind::Packages { names: packages(ev, e, env)? },
        StmtKind::Remove(e) => StepKind::Remove { names: packages(ev, e, env)? },
        StmtKind::Fetch { url, sha256, extract, to, mode } => {
            fetch(ev, url, sha256.as_deref(), extract.as_deref(), to, mode.as_deref(), env)?
        }
        StmtKind::Copy { src, to, mode } => copy(ev, src, to, mode.as_deref(), env)?,
        StmtKind::Write { dest, content, mode } => write(ev, dest, content, mode.as_deref(), env)?,
        StmtKind::Run(e) => StepKind::Run { shell: run(ev, e, env)? },
        StmtKind::Enable(e) => {
            let (unit, global) = unit(ev, e, env, "enable")?;
            StepKind::Enable { unit, global }
        }
        StmtKind::Disable(e) => {
            let (unit, global) = unit(ev, e, env, "disable")?;
            StepKind::Disable { unit, global }
        }
        StmtKind::Kargs(e) => StepKind::Kargs {
            args: checked_list(
                ev,
                e,
                env,
                "kernel arguments",
                validate::kernel_argument,
                Code::KernelArgument,
                "kernel argument",
            )?,
        },
        StmtKind::Flatpak(e) => {
            let v = ev.eval(e, env)?;
            let (app, at) = want_str(ev, v, e.span, "a Flatpak application id")?;
            check(ev, validate::flatpak_id(&app), Code::FlatpakId, "Flatpak application id", &app, at)?;
            StepKind::Flatpak { app }
        }
        StmtKind::Env { name, value } => StepKind::Env {
            name: name.name.clone(),
            value: one_line(ev, value, env, &format!("the value of `{}`", name.name), "environment value")?,
        },
        StmtKind::Label { key, value } => {
            let k = ev.eval(key, env)?;
            let (k, at) = want_str(ev, k, key.span, "a label key")?;
            check(ev, validate::label_key(&k), Code::LabelKey, "label key", &k, at)?;
            StepKind::Label { key: k, value: one_line(ev, value, env, "a label value", "label value")? }
        }
        _ => return Ok(None),
    }))
}

/// The package names of `packages` or `remove`, each checked at its item.
fn packages<'p>(ev: &mut Evaluator<'p>, e: &'p ast::Expr, env: &Env<'_, 'p>) -> Eval<Vec<String>> {
    checked_list(ev, e, env, "packages", validate::package, Code::PackageName, "RPM package name")
}

/// A list of strings, each checked by `valid` and reported at its item.
fn checked_list<'p>(
    ev: &mut Evaluator<'p>,
    e: &'p ast::Expr,
    env: &Env<'_, 'p>,
    place: &str,
    valid: fn(&str) -> Result<(), String>,
    code: Code,
    what: &str,
) -> Eval<Vec<String>> {
    let v = ev.eval(e, env)?;
    let items = want_strings(ev, v, e, place)?;
    let mut ok = true;
    for (item, at) in &items {
        ok &= check(ev, valid(item), code, what, item, *at).is_ok();
    }
    if ok { Ok(items.into_iter().map(|(item, _)| item).collect()) } else { Err(Reported) }
}

/// `fetch URL sha256 HEX [extract MEMBER] to DEST [mode M]`: the URL, a
/// required checksum, and a member only out of a tar archive.
fn fetch<'p>(
    ev: &mut Evaluator<'p>,
    url: &'p ast::Expr,
    sha256: Option<&'p ast::Expr>,
    extract: Option<&'p ast::Expr>,
    to: &'p ast::Expr,
    mode: Option<&'p ast::Expr>,
    env: &Env<'_, 'p>,
) -> Eval<StepKind> {
    let u = ev.eval(url, env)?;
    let (u, url_at) = want_str(ev, u, url.span, "a download URL")?;
    check(ev, validate::url(&u), Code::Url, "download URL", &u, url_at)?;
    let Some(sha) = sha256 else {
        return Err(ev.error(
            Diagnostic::error(Code::MissingChecksum, "this download has no checksum")
                .label(url.span, "fetched without `sha256`")
                .help("add `sha256 \"<64 hex digits>\"` after the URL: aidc verifies every download before using it"),
        ));
    };
    let s = ev.eval(sha, env)?;
    let (s, at) = want_str(ev, s, sha.span, "`sha256`")?;
    let sha = match validate::sha256(&s) {
        Ok(h) => h,
        Err(reason) => {
            let d = Diagnostic::error(Code::Checksum, "this is not a SHA-256 digest");
            return Err(ev.error(
                ev.label_site(d, at, reason).help("compute it with `sha256sum FILE` and paste the 64 hex digits"),
            ));
        }
    };
    let member = match extract {
        Some(x) => Some(archive_member(ev, x, url_at, &u, env)?),
        None => None,
    };
    let dest = destination(ev, to, env)?;
    let mode = file_mode(ev, mode, env)?;
    Ok(StepKind::Fetch { url: u, sha256: sha, extract: member, to: dest, mode })
}

/// The `extract` member of a download: a path inside the archive, and the
/// URL must name a tar archive.
fn archive_member<'p>(ev: &mut Evaluator<'p>, x: &'p ast::Expr, url: Site, u: &str, env: &Env<'_, 'p>) -> Eval<String> {
    let m = ev.eval(x, env)?;
    let (m, at) = want_str(ev, m, x.span, "`extract`")?;
    if let Err(reason) = validate::context_path(&m) {
        let d = Diagnostic::error(
            Code::ContextEscape,
            format!("\"{}\" is not a member path of an archive", m.escape_debug()),
        );
        let reason = reason.replace("build context (the recipe's directory)", "archive");
        return Err(ev.error(ev.label_site(d, at, reason).help(
            "name a file inside the archive by its relative path, like \"bin/tool\" (no `..`, no leading `/`)",
        )));
    }
    if ![".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar"].iter().any(|ext| u.ends_with(ext)) {
        let d = Diagnostic::error(Code::Url, "`extract` takes a member out of a tar archive, but this URL is not one");
        return Err(ev.error(
            ev.label_site(d, url, "not `.tar`, `.tar.gz`, `.tgz`, `.tar.bz2` or `.tar.xz`")
                .help("drop `extract` to install the downloaded file as it is"),
        ));
    }
    Ok(m)
}

/// `copy SRC to DEST`: a path inside the build context that is neither the
/// repository's metadata, nor an `.env` file without `dotenv(...)`, nor
/// something named like a private key.
fn copy<'p>(
    ev: &mut Evaluator<'p>,
    src: &'p ast::Expr,
    to: &'p ast::Expr,
    mode: Option<&'p ast::Expr>,
    env: &Env<'_, 'p>,
) -> Eval<StepKind> {
    let s = ev.eval(src, env)?;
    // `file(...)` checked its path; `dotenv(...)` is the opt-in for `.env` files.
    let (s, at, env_ok) = match s {
        Value::File(p) => (p, Site::at(src.span), true),
        other => {
            let (s, at) = want_str(ev, other, src.span, "the source of `copy`")?;
            (s, at, false)
        }
    };
    let path = match validate::context_path(&s) {
        Ok(p) => p,
        Err(reason) => {
            let d = Diagnostic::error(
                Code::ContextEscape,
                format!("`copy` source \"{}\" is outside the build context", s.escape_debug()),
            );
            return Err(ev.error(ev.label_site(d, at, reason).help(
                "the build context is the recipe's directory: copy files from inside it, like \"files/x.conf\"",
            )));
        }
    };
    if let Some(reason) = validate::protected_path(&path, env_ok) {
        let d = Diagnostic::error(Code::ProtectedPath, format!("\"{path}\" is not copied into an image"));
        return Err(ev.error(ev.label_site(d, at, reason).help(if path.split('/').any(|s| s == ".git") {
            "copy the files the image needs, not the repository's metadata"
        } else {
            "pass secrets as build secrets; if this file must ship, say so: `copy dotenv(\"PATH\") to ...`"
        })));
    }
    if validate::looks_like_private_key(&path) {
        let d = Diagnostic::error(
            Code::PrivateKey,
            format!("\"{path}\" looks like a private key; it would be copied into the image"),
        );
        return Err(ev
            .error(ev.label_site(d, at, "copied into a layer that anyone who pulls the image can read").help(
                "pass keys as build secrets (`signing { key = secret(\"ID\") }`); ship only public certificates",
            )));
    }
    let dest = destination(ev, to, env)?;
    let mode = file_mode(ev, mode, env)?;
    Ok(StepKind::Copy { src: path, to: dest, mode, src_span: src.span })
}

/// `write DEST CONTENT`: text without NUL bytes.
fn write<'p>(
    ev: &mut Evaluator<'p>,
    dest: &'p ast::Expr,
    content: &'p ast::Expr,
    mode: Option<&'p ast::Expr>,
    env: &Env<'_, 'p>,
) -> Eval<StepKind> {
    let d = destination(ev, dest, env)?;
    let c = ev.eval(content, env)?;
    let (c, at) = want_str(ev, c, content.span, "the content of `write`")?;
    if c.contains('\0') {
        let d = Diagnostic::error(Code::TextContent, "file content cannot contain a NUL byte");
        return Err(
            ev.error(ev.label_site(d, at, "NUL here").help("write text; ship binary files with `copy` or `fetch`"))
        );
    }
    let mode = file_mode(ev, mode, env)?;
    Ok(StepKind::Write { dest: d, content: c, mode })
}

/// `run`: a script from the build context, or inline shell without NUL bytes.
fn run<'p>(ev: &mut Evaluator<'p>, e: &'p ast::Expr, env: &Env<'_, 'p>) -> Eval<RunSource> {
    match ev.eval(e, env)? {
        Value::Script(p) => Ok(RunSource::Script(p)),
        other => {
            let (s, at) = want_str(ev, other, e.span, "`run`")?;
            if s.contains('\0') {
                let d = Diagnostic::error(Code::TextContent, "a shell step cannot contain a NUL byte");
                return Err(
                    ev.error(ev.label_site(d, at, "NUL here").help("remove the NUL byte; shell lines are text"))
                );
            }
            Ok(RunSource::Inline(s))
        }
    }
}

/// The unit of `enable` or `disable`, and whether it is `--global` (a user
/// unit for every user: `systemctl --global`).
fn unit<'p>(ev: &mut Evaluator<'p>, e: &'p ast::Expr, env: &Env<'_, 'p>, verb: &str) -> Eval<(String, bool)> {
    let v = ev.eval(e, env)?;
    if let Value::List(items, _) = &v {
        let d = Diagnostic::error(Code::TypeMismatch, format!("`{verb}` takes one unit, found a list"));
        let example = match items.first() {
            Some(Value::Str(u, _)) => format!("\"{}\"", u.escape_debug()),
            _ => "\"podman.socket\"".to_string(),
        };
        return Err(ev.error(
            ev.label_site(d, Site::of(&v, e.span), format!("a list of {}", items.len()))
                .help(format!("write one statement per unit: `{verb} {example}`, then the next on its own line")),
        ));
    }
    let (written, at) = want_str(ev, v, e.span, "a unit name")?;
    let (global, unit) = match written.strip_prefix("--global ") {
        Some(rest) => (true, rest.trim_start().to_string()),
        None => (false, written),
    };
    check(ev, validate::unit(&unit), Code::UnitName, "systemd unit name", &unit, at)?;
    Ok((unit, global))
}

/// The value of `env` or `label`: a string, number or boolean, on one line.
fn one_line<'p>(
    ev: &mut Evaluator<'p>,
    value: &'p ast::Expr,
    env: &Env<'_, 'p>,
    place: &str,
    what: &str,
) -> Eval<String> {
    let (text, at) = match ev.eval(value, env)? {
        Value::Int(n) => (n.to_string(), Site::at(value.span)),
        Value::Bool(b) => (b.to_string(), Site::at(value.span)),
        other => want_str(ev, other, value.span, place)?,
    };
    check(ev, validate::one_line(&text), Code::TextContent, what, &text, at)?;
    Ok(text)
}

fn destination<'p>(ev: &mut Evaluator<'p>, e: &'p ast::Expr, env: &Env<'_, 'p>) -> Eval<String> {
    let v = ev.eval(e, env)?;
    let (d, at) = want_str(ev, v, e.span, "a destination path")?;
    check(ev, validate::destination(&d), Code::DestinationPath, "destination path", &d, at)?;
    Ok(d)
}

fn file_mode<'p>(ev: &mut Evaluator<'p>, e: Option<&'p ast::Expr>, env: &Env<'_, 'p>) -> Eval<Option<String>> {
    let Some(e) = e else { return Ok(None) };
    let v = ev.eval(e, env)?;
    let (m, at) = want_str(ev, v, e.span, "a file mode")?;
    check(ev, validate::mode(&m), Code::FileMode, "file mode", &m, at)?;
    let digits = m.trim_start_matches('0');
    Ok(Some(format!("{:0>4}", if digits.is_empty() { "0" } else { digits })))
}
