//! Lowering of body statements.

use pest::iterators::Pair;

use super::{Lowered, Lowerer};
use crate::syntax::ast::*;
use crate::syntax::grammar::Rule;

impl Lowerer<'_> {
    pub fn stmt(&mut self, pair: Pair<'_, Rule>) -> Lowered<Stmt> {
        if pair.as_rule() != Rule::stmt {
            return self.unexpected(&pair, "a statement");
        }
        let span = self.span(&pair);
        let mut docs = Vec::new();
        let mut body = None;
        for inner in pair.into_inner() {
            if inner.as_rule() == Rule::doc_comment {
                docs = self.docs(inner);
            } else {
                body = Some(inner);
            }
        }
        let Some(body) = body else {
            return self.missing(span, "a statement");
        };
        let rule = body.as_rule();
        let body_span = self.span(&body);
        let mut parts: Vec<Pair<'_, Rule>> = body.into_inner().collect();
        // The first token is the keyword (or the property name).
        let keyword = parts.first().map_or(body_span, |p| self.span(p));
        let is_keyword = |p: &Pair<'_, Rule>| {
            let name = format!("{:?}", p.as_rule());
            name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        };
        // Split the parts into keywords (kept, they mark optional clauses) and operands.
        let kind = match rule {
            Rule::property => {
                let name = self.ident(parts.remove(0))?;
                let value = self.expr(parts.pop()?)?;
                StmtKind::Property { name, value }
            }
            Rule::signing_stmt | Rule::policy_stmt => {
                let entries = self.entries(parts.pop()?)?;
                if rule == Rule::signing_stmt { StmtKind::Signing(entries) } else { StmtKind::Policy(entries) }
            }
            Rule::env_stmt | Rule::provides_stmt => {
                parts.retain(|p| !is_keyword(p));
                let mut it = parts.into_iter();
                let name = self.ident(it.next()?)?;
                let value = self.expr(it.next()?)?;
                if rule == Rule::env_stmt { StmtKind::Env { name, value } } else { StmtKind::Provides { name, value } }
            }
            Rule::after_stmt => {
                let path = parts.pop()?;
                let mut names = Vec::new();
                for p in path.into_inner() {
                    names.push(self.ident(p)?);
                }
                StmtKind::After(names)
            }
            Rule::variant_stmt => {
                let mut name = None;
                let mut extends = None;
                let mut block = None;
                let mut after_extends = false;
                for p in parts {
                    match p.as_rule() {
                        Rule::VARIANT => {}
                        Rule::EXTENDS => after_extends = true,
                        Rule::ident if after_extends => extends = Some(self.ident(p)?),
                        Rule::ident => name = Some(self.ident(p)?),
                        Rule::block => block = Some(self.block(p)?),
                        _ => return self.unexpected(&p, "a variant"),
                    }
                }
                StmtKind::Variant { name: name?, extends, body: block? }
            }
            Rule::fetch_stmt | Rule::copy_stmt | Rule::write_stmt => self.clauses(rule, parts, body_span)?,
            Rule::requires_stmt => {
                parts.retain(|p| !is_keyword(p));
                let mut it = parts.into_iter();
                let condition = self.expr(it.next()?)?;
                let message = self.expr(it.next()?)?;
                StmtKind::Requires { condition, message }
            }
            Rule::label_stmt => {
                parts.retain(|p| !is_keyword(p));
                let mut it = parts.into_iter();
                let key = self.expr(it.next()?)?;
                let value = self.expr(it.next()?)?;
                StmtKind::Label { key, value }
            }
            _ => {
                let operand = match parts.pop() {
                    Some(p) => self.expr(p)?,
                    None => return self.missing(body_span, "an operand"),
                };
                match rule {
                    Rule::from_stmt => StmtKind::From(operand),
                    Rule::kernel_stmt => StmtKind::Kernel(operand),
                    Rule::kmod_stmt => StmtKind::Kmod(operand),
                    Rule::use_stmt => StmtKind::Use(operand),
                    Rule::repo_stmt => StmtKind::Repo(operand),
                    Rule::packages_stmt => StmtKind::Packages(operand),
                    Rule::remove_stmt => StmtKind::Remove(operand),
                    Rule::run_stmt => StmtKind::Run(operand),
                    Rule::enable_stmt => StmtKind::Enable(operand),
                    Rule::disable_stmt => StmtKind::Disable(operand),
                    Rule::kargs_stmt => StmtKind::Kargs(operand),
                    Rule::flatpak_stmt => StmtKind::Flatpak(operand),
                    _ => return self.missing(body_span, "a known statement"),
                }
            }
        };
        Some(Stmt { docs, kind, keyword, span })
    }

    /// `fetch`, `copy` and `write`: operands introduced by clause keywords.
    fn clauses(&mut self, rule: Rule, parts: Vec<Pair<'_, Rule>>, span: crate::source::Span) -> Lowered<StmtKind> {
        let mut positional = Vec::new();
        let mut sha256 = None;
        let mut extract = None;
        let mut to = None;
        let mut mode = None;
        let mut pending: Option<Rule> = None;
        for p in parts {
            match p.as_rule() {
                Rule::FETCH | Rule::COPY | Rule::WRITE => {}
                Rule::SHA256 | Rule::EXTRACT | Rule::TO | Rule::MODE => pending = Some(p.as_rule()),
                Rule::str_operand | Rule::expr => {
                    let e = self.expr(p)?;
                    match pending.take() {
                        Some(Rule::SHA256) => sha256 = Some(e),
                        Some(Rule::EXTRACT) => extract = Some(e),
                        Some(Rule::TO) => to = Some(e),
                        Some(Rule::MODE) => mode = Some(e),
                        _ => positional.push(e),
                    }
                }
                _ => return self.unexpected(&p, "a clause"),
            }
        }
        let mut positional = positional.into_iter();
        Some(match rule {
            Rule::fetch_stmt => {
                let url = positional.next()?;
                let Some(to) = to else {
                    return self.missing(span, "`to`");
                };
                StmtKind::fetch(url, sha256, extract, to, mode)
            }
            Rule::copy_stmt => {
                let src = positional.next()?;
                let Some(to) = to else {
                    return self.missing(span, "`to`");
                };
                StmtKind::copy(src, to, mode)
            }
            _ => {
                let dest = positional.next()?;
                let content = positional.next()?;
                StmtKind::write(dest, content, mode)
            }
        })
    }

    fn entries(&mut self, pair: Pair<'_, Rule>) -> Lowered<Vec<Entry>> {
        if pair.as_rule() != Rule::entries_block {
            return self.unexpected(&pair, "`{ NAME = VALUE, ... }`");
        }
        let mut out = Vec::new();
        for entry in pair.into_inner() {
            let mut it = entry.into_inner();
            let name = self.ident(it.next()?)?;
            let value = self.expr(it.next()?)?;
            out.push(Entry { name, value });
        }
        Some(out)
    }
}
