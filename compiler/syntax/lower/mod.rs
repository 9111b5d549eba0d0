//! Lowering: pest pairs to the AST. One function per construct; a pair of a
//! rule a function does not expect becomes an internal-error diagnostic that
//! names the rule, never a panic.

mod expr;
mod stmt;
mod text;

pub(super) use expr::{MAX_CHAIN, parse_duration};
pub(super) use text::{Parts, Piece, dedent, unescape};

use pest::iterators::Pair;

use super::ast::*;
use super::grammar::Rule;
use crate::diag::{Code, Diagnostic};
use crate::source::{SourceId, Span};

/// Shared state of one lowering run.
pub struct Lowerer<'a> {
    pub source: SourceId,
    /// Offset of the parsed slice in the file (the parser recovers item by item).
    pub base: usize,
    pub diagnostics: &'a mut Vec<Diagnostic>,
}

/// What lowering returns: the node, or `None` after it reported why.
pub type Lowered<T> = Option<T>;

impl Lowerer<'_> {
    pub fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let s = pair.as_span();
        // pest may count the white space and comments a repetition skipped
        // before it stopped; a label should end at the last real character.
        let text = pair.as_str();
        let trimmed = text.trim_end_matches([' ', '\t', '\r', '\n']).len();
        Span::new(self.source, self.base + s.start(), self.base + s.start() + trimmed)
    }

    pub fn ident(&mut self, pair: Pair<'_, Rule>) -> Lowered<Ident> {
        match pair.as_rule() {
            Rule::ident | Rule::env_name | Rule::type_name => {
                let span = self.span(&pair);
                let text = if pair.as_rule() == Rule::type_name { pair.as_str().trim() } else { pair.as_str() };
                Some(Ident { name: text.to_string(), span })
            }
            _ => self.unexpected(&pair, "a name"),
        }
    }

    /// Reports a rule lowering did not expect: a grammar/lowering mismatch.
    pub fn unexpected<T>(&mut self, pair: &Pair<'_, Rule>, wanted: &str) -> Lowered<T> {
        let span = self.span(pair);
        self.diagnostics.push(
            Diagnostic::error(
                Code::InternalRule,
                format!("internal error: the parser produced `{:?}` where lowering expected {wanted}", pair.as_rule()),
            )
            .label(span, "while reading this")
            .help("this is a bug in aidc; please report it with the recipe that triggers it"),
        );
        None
    }

    /// Reports a missing child: a grammar/lowering mismatch.
    pub fn missing<T>(&mut self, span: Span, wanted: &str) -> Lowered<T> {
        self.diagnostics.push(
            Diagnostic::error(Code::InternalRule, format!("internal error: lowering expected {wanted} here"))
                .label(span, "while reading this")
                .help("this is a bug in aidc; please report it with the recipe that triggers it"),
        );
        None
    }

    /// Lowers the doc lines of a `doc_comment` pair.
    pub fn docs(&mut self, pair: Pair<'_, Rule>) -> Vec<String> {
        pair.into_inner()
            .filter(|p| p.as_rule() == Rule::doc_line)
            .map(|p| strip_doc_marker(p.as_str(), "///"))
            .collect()
    }

    /// `module_doc*` at the head of a file.
    pub fn module_docs(&mut self, pairs: pest::iterators::Pairs<'_, Rule>) -> Vec<String> {
        pairs.filter(|p| p.as_rule() == Rule::module_doc).map(|p| strip_doc_marker(p.as_str(), "//!")).collect()
    }

    pub fn item(&mut self, pair: Pair<'_, Rule>) -> Lowered<Item> {
        let span = self.span(&pair);
        let mut docs = Vec::new();
        let mut kind = None;
        for inner in pair.into_inner() {
            match inner.as_rule() {
                Rule::doc_comment => docs = self.docs(inner),
                Rule::import => kind = Some(ItemKind::Import(self.import(inner)?)),
                Rule::let_item => kind = Some(ItemKind::Let(self.let_item(inner)?)),
                Rule::definition => kind = Some(ItemKind::Definition(self.definition(inner)?)),
                Rule::image => kind = Some(ItemKind::Image(self.image(inner)?)),
                Rule::pipeline => kind = Some(ItemKind::Pipeline(self.pipeline(inner)?)),
                _ => return self.unexpected(&inner, "an item"),
            }
        }
        let Some(kind) = kind else {
            return self.missing(span, "an item");
        };
        Some(Item { docs, kind, span })
    }

    fn import(&mut self, pair: Pair<'_, Rule>) -> Lowered<Import> {
        let span = self.span(&pair);
        let mut path = None;
        let mut alias = None;
        for inner in pair.into_inner() {
            match inner.as_rule() {
                Rule::IMPORT | Rule::AS => {}
                Rule::string => {
                    let e = self.string(inner)?;
                    let Some(text) = e.as_plain_str() else {
                        self.diagnostics.push(
                            Diagnostic::error(Code::ImportPath, "an import path cannot contain `${...}`")
                                .label(e.span, "interpolation here")
                                .help("imports are resolved before anything is evaluated: write the path literally"),
                        );
                        return None;
                    };
                    path = Some((text, e.span));
                }
                Rule::ident => alias = Some(self.ident(inner)?),
                _ => return self.unexpected(&inner, "an import path or `as`"),
            }
        }
        let Some((path, path_span)) = path else {
            return self.missing(span, "an import path");
        };
        Some(Import { path, path_span, alias })
    }

    fn let_item(&mut self, pair: Pair<'_, Rule>) -> Lowered<Let> {
        let span = self.span(&pair);
        let mut name = None;
        let mut value = None;
        for inner in pair.into_inner() {
            match inner.as_rule() {
                Rule::LET => {}
                Rule::ident => name = Some(self.ident(inner)?),
                Rule::expr => value = Some(self.expr(inner)?),
                _ => return self.unexpected(&inner, "a `let` binding"),
            }
        }
        match (name, value) {
            (Some(name), Some(value)) => Some(Let { name, value }),
            _ => self.missing(span, "a name and a value"),
        }
    }

    fn definition(&mut self, pair: Pair<'_, Rule>) -> Lowered<Definition> {
        let span = self.span(&pair);
        let mut kind = None;
        let mut name = None;
        let mut params = None;
        let mut params_span = None;
        let mut body = None;
        for inner in pair.into_inner() {
            match inner.as_rule() {
                Rule::def_kind => {
                    kind = Some(match inner.as_str() {
                        "base" => DefKind::Base,
                        "repo" => DefKind::Repo,
                        "kernel" => DefKind::Kernel,
                        "kmod" => DefKind::Kmod,
                        "layer" => DefKind::Layer,
                        _ => return self.unexpected(&inner, "a definition kind"),
                    })
                }
                Rule::ident => name = Some(self.ident(inner)?),
                Rule::params => {
                    params_span = Some(self.span(&inner));
                    let mut list = Vec::new();
                    for p in inner.into_inner() {
                        list.push(self.param(p)?);
                    }
                    params = Some(list);
                }
                Rule::block => body = Some(self.block(inner)?),
                _ => return self.unexpected(&inner, "a definition"),
            }
        }
        match (kind, name, body) {
            (Some(kind), Some(name), Some(body)) => Some(Definition { kind, name, params, params_span, body }),
            _ => self.missing(span, "a definition kind, name and body"),
        }
    }

    fn param(&mut self, pair: Pair<'_, Rule>) -> Lowered<Param> {
        if pair.as_rule() != Rule::param {
            return self.unexpected(&pair, "a parameter");
        }
        let span = self.span(&pair);
        let mut name = None;
        let mut ty = None;
        let mut default = None;
        for inner in pair.into_inner() {
            match inner.as_rule() {
                Rule::ident => name = Some(self.ident(inner)?),
                Rule::type_name => ty = Some(self.ident(inner)?),
                Rule::expr => default = Some(self.expr(inner)?),
                _ => return self.unexpected(&inner, "a parameter"),
            }
        }
        let Some(name) = name else {
            return self.missing(span, "a parameter name");
        };
        Some(Param { name, ty, default, span })
    }

    fn image(&mut self, pair: Pair<'_, Rule>) -> Lowered<Image> {
        let span = self.span(&pair);
        let (mut name, mut body) = (None, None);
        for inner in pair.into_inner() {
            match inner.as_rule() {
                Rule::IMAGE => {}
                Rule::ident => name = Some(self.ident(inner)?),
                Rule::block => body = Some(self.block(inner)?),
                _ => return self.unexpected(&inner, "an image"),
            }
        }
        match (name, body) {
            (Some(name), Some(body)) => Some(Image { name, body }),
            _ => self.missing(span, "an image name and body"),
        }
    }

    fn pipeline(&mut self, pair: Pair<'_, Rule>) -> Lowered<Pipeline> {
        let span = self.span(&pair);
        let (mut kind, mut body) = (None, None);
        for inner in pair.into_inner() {
            match inner.as_rule() {
                Rule::PIPELINE => {}
                Rule::ident => kind = Some(self.ident(inner)?),
                Rule::block => body = Some(self.block(inner)?),
                _ => return self.unexpected(&inner, "a pipeline"),
            }
        }
        match (kind, body) {
            (Some(kind), Some(body)) => Some(Pipeline { kind, body }),
            _ => self.missing(span, "a pipeline kind and body"),
        }
    }

    pub fn block(&mut self, pair: Pair<'_, Rule>) -> Lowered<Block> {
        if pair.as_rule() != Rule::block {
            return self.unexpected(&pair, "a block");
        }
        let span = self.span(&pair);
        let mut stmts = Vec::new();
        for inner in pair.into_inner() {
            // Keep lowering the other statements when one fails: their
            // diagnostics are independent.
            if let Some(s) = self.stmt(inner) {
                stmts.push(s);
            }
        }
        Some(Block { stmts, span })
    }
}

pub(super) fn strip_doc_marker(line: &str, marker: &str) -> String {
    let rest = line.strip_prefix(marker).unwrap_or(line);
    let rest = rest.strip_prefix(' ').unwrap_or(rest);
    rest.trim_end().to_string()
}
