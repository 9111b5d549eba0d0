//! Names, checked without evaluating: every name and `module.member` in every
//! user module resolves, in `let`s and definitions no image uses too (those
//! are never evaluated). The messages are the evaluator's, built here.

use crate::maps::HashSet;

use super::eval::{FUNCTIONS, quote_list};
use super::scope::{Binding, Program, module_short_name};
use super::value::{ModuleId, SYMBOLS};
use crate::diag::{Code, Diagnostic, Diagnostics, suggest};
use crate::source::Span;
use crate::syntax::ast::{self, DefKind, Expr, ExprKind, StmtKind, StrPart};

/// A stdlib module that has a definition named `name`, for help text.
fn module_offering(name: &str) -> Option<&'static str> {
    crate::stdlib::MODULES.iter().find(|(_, text)| text.contains(&format!(" {name}("))).map(|(n, _)| *n)
}

/// "unknown layer `x`", with a did-you-mean among what is visible.
pub fn unknown_name(
    program: &Program<'_>,
    module: ModuleId,
    params: &[&str],
    name: &str,
    span: Span,
    expect: Option<DefKind>,
) -> Diagnostic {
    let mut candidates: Vec<&str> = program.scopes[module.0].keys().map(String::as_str).collect();
    candidates.extend(params.iter().copied());
    candidates.extend(SYMBOLS.iter().copied());
    candidates.extend(FUNCTIONS.iter().copied());
    candidates.push("target");
    let what = expect.map_or("name", |k| k.keyword());
    let mut d = Diagnostic::error(Code::UnknownName, format!("unknown {what} `{name}`")).label(span, "not defined");
    if crate::stdlib::module(name).is_some() {
        // `cuda.runtime` without the import: the module is the unknown name.
        d = d
            .help(format!("`{name}` is a standard library module: add `import \"std/{name}\"` at the top of the file"));
    } else if let Some(s) = suggest(name, candidates) {
        d = d.help(format!("did you mean `{s}`?"));
    } else if let Some(m) = module_offering(name) {
        d = d.help(format!("`{name}` is defined in `std/{m}`: add `import \"std/{m}\"` and write `{m}.{name}`"));
    }
    d
}

/// "unknown layer `cuda.runtim`", preferring suggestions of the expected kind.
pub fn unknown_member(
    program: &Program<'_>,
    module: ModuleId,
    field: &ast::Ident,
    expect: Option<DefKind>,
) -> Diagnostic {
    let scope = &program.scopes[module.0];
    let short = module_short_name(program.loaded, module);
    let what = expect.map_or("name", |k| k.keyword());
    let of_kind: Vec<&str> = scope
        .iter()
        .filter(|(_, (b, _))| match (b, expect) {
            (Binding::Def(d), Some(k)) => program.defs[d.0].def.kind == k,
            (Binding::Module(_), _) => false,
            (_, Some(_)) => false,
            _ => true,
        })
        .map(|(n, _)| n.as_str())
        .collect();
    let all: Vec<&str> =
        scope.iter().filter(|(_, (b, _))| !matches!(b, Binding::Module(_))).map(|(n, _)| n.as_str()).collect();
    let mut d = Diagnostic::error(Code::UnknownName, format!("unknown {what} `{short}.{}`", field.name))
        .label(field.span, format!("`{short}` has no {what} by this name"));
    if let Some(s) = suggest(&field.name, of_kind.iter().copied()).or_else(|| suggest(&field.name, all.iter().copied()))
    {
        d = d.help(format!("did you mean `{short}.{s}`?"));
    } else if !of_kind.is_empty() {
        let list: Vec<String> = of_kind.iter().map(|n| format!("{short}.{n}")).collect();
        d = d.help(format!("`{short}` has: {}", quote_list(&list.iter().map(String::as_str).collect::<Vec<_>>())));
    }
    d
}

struct Walk<'a, 'p> {
    program: &'a Program<'p>,
    module: ModuleId,
    params: Vec<&'a str>,
    out: &'a mut Diagnostics,
}

impl Walk<'_, '_> {
    fn expr(&mut self, e: &Expr, expect: Option<DefKind>) {
        match &e.kind {
            ExprKind::Str(parts) => {
                for p in parts {
                    if let StrPart::Interp(i) = p {
                        self.expr(i, None);
                    }
                }
            }
            ExprKind::Int(_) | ExprKind::Bool(_) | ExprKind::Duration(_) => {}
            ExprKind::List(items) => items.iter().for_each(|i| self.expr(i, None)),
            ExprKind::Map(entries) => entries.iter().for_each(|m| self.expr(&m.value, None)),
            ExprKind::Name(n) => self.name(n, e.span, expect, false),
            ExprKind::Field(inner, field) => {
                if let ExprKind::Name(n) = &inner.kind {
                    if self.params.contains(&n.as_str())
                        || n == "target" && !self.program.scopes[self.module.0].contains_key(n)
                    {
                        return;
                    }
                    match self.program.scopes[self.module.0].get(n) {
                        Some((Binding::Module(m), _)) => {
                            let known = self.program.scopes[m.0]
                                .get(&field.name)
                                .is_some_and(|(b, _)| !matches!(b, Binding::Module(_)));
                            if !known && self.out.is_full() {
                                self.out.count_dropped_error();
                            } else if !known {
                                self.out.push(unknown_member(self.program, *m, field, expect));
                            }
                        }
                        Some(_) => {}
                        None => self.name(n, inner.span, None, false),
                    }
                } else {
                    self.expr(inner, None);
                }
            }
            ExprKind::Index(a, b) => {
                self.expr(a, None);
                self.expr(b, None);
            }
            ExprKind::Call(callee, args) => {
                match &callee.kind {
                    ExprKind::Name(n) => self.name(n, callee.span, expect, true),
                    _ => self.expr(callee, expect),
                }
                for a in args {
                    self.expr(&a.value, None);
                }
            }
            ExprKind::Compare(a, _, b) | ExprKind::And(a, b) | ExprKind::Or(a, b) => {
                self.expr(a, None);
                self.expr(b, None);
            }
            ExprKind::Not(a) => self.expr(a, None),
        }
    }

    fn name(&mut self, n: &str, span: Span, expect: Option<DefKind>, called: bool) {
        let known = self.params.contains(&n)
            || self.program.scopes[self.module.0].contains_key(n)
            || n == "target"
            || SYMBOLS.contains(&n)
            || (called && FUNCTIONS.contains(&n));
        if !known && !FUNCTIONS.contains(&n) && self.out.is_full() {
            self.out.count_dropped_error();
        } else if !known && !FUNCTIONS.contains(&n) {
            self.out.push(unknown_name(self.program, self.module, &self.params, n, span, expect));
        }
    }

    fn block(&mut self, block: &ast::Block) {
        for stmt in &block.stmts {
            let expect = |k: &StmtKind| match k {
                StmtKind::Use(_) => Some(DefKind::Layer),
                StmtKind::Kernel(_) => Some(DefKind::Kernel),
                StmtKind::Kmod(_) => Some(DefKind::Kmod),
                StmtKind::Repo(_) => Some(DefKind::Repo),
                StmtKind::From(_) => Some(DefKind::Base),
                _ => None,
            };
            match &stmt.kind {
                StmtKind::From(e)
                | StmtKind::Kernel(e)
                | StmtKind::Kmod(e)
                | StmtKind::Use(e)
                | StmtKind::Repo(e)
                | StmtKind::Packages(e)
                | StmtKind::Remove(e)
                | StmtKind::Run(e)
                | StmtKind::Enable(e)
                | StmtKind::Disable(e)
                | StmtKind::Kargs(e)
                | StmtKind::Flatpak(e) => self.expr(e, expect(&stmt.kind)),
                StmtKind::Fetch { url, sha256, extract, to, mode } => {
                    for e in [Some(&**url), sha256.as_deref(), extract.as_deref(), Some(&**to), mode.as_deref()]
                        .into_iter()
                        .flatten()
                    {
                        self.expr(e, None);
                    }
                }
                StmtKind::Copy { src, to, mode } => {
                    for e in [Some(&**src), Some(&**to), mode.as_deref()].into_iter().flatten() {
                        self.expr(e, None);
                    }
                }
                StmtKind::Write { dest, content, mode } => {
                    for e in [Some(&**dest), Some(&**content), mode.as_deref()].into_iter().flatten() {
                        self.expr(e, None);
                    }
                }
                StmtKind::Env { value, .. } | StmtKind::Provides { value, .. } | StmtKind::Property { value, .. } => {
                    self.expr(value, None)
                }
                StmtKind::Label { key, value } => {
                    self.expr(key, None);
                    self.expr(value, None);
                }
                StmtKind::Requires { condition, message } => {
                    self.expr(condition, None);
                    self.expr(message, None);
                }
                StmtKind::Signing(entries) => entries.iter().for_each(|e| self.expr(&e.value, None)),
                // Policy words (`allow`, `deny`) are checked by the structure pass.
                StmtKind::Policy(_) | StmtKind::After(_) => {}
                StmtKind::Variant { body, .. } => self.block(body),
            }
        }
    }
}

/// Checks the names of every module that is not the stdlib's.
pub fn check(program: &Program<'_>, out: &mut Diagnostics) {
    for (index, module) in program.loaded.modules.iter().enumerate() {
        if module.is_std {
            continue;
        }
        let id = ModuleId(index);
        for item in &module.ast.items {
            let mut walk = Walk { program, module: id, params: Vec::new(), out };
            match &item.kind {
                ast::ItemKind::Let(l) => walk.expr(&l.value, None),
                ast::ItemKind::Definition(d) => {
                    for p in d.params.iter().flatten() {
                        if let Some(default) = &p.default {
                            walk.expr(default, None);
                        }
                    }
                    walk.params = d.params.iter().flatten().map(|p| p.name.name.as_str()).collect();
                    walk.block(&d.body);
                }
                ast::ItemKind::Image(img) => walk.block(&img.body),
                ast::ItemKind::Pipeline(p) => walk.block(&p.body),
                ast::ItemKind::Import(_) => {}
            }
        }
    }
}

/// Drops from `evaluated` what the static pass already said about the same place.
pub fn without_repeats(evaluated: Diagnostics, static_found: &Diagnostics) -> Diagnostics {
    let seen: HashSet<(Code, Span)> = static_found.iter().filter_map(|d| Some((d.code, d.primary_span()?))).collect();
    let mut out = Diagnostics::default();
    for d in evaluated.into_sorted() {
        if d.labels.iter().any(|l| seen.contains(&(d.code, l.span))) {
            continue;
        }
        out.push(d);
    }
    out
}
