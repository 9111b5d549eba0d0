//! Lowering of strings: escapes, `${}` interpolation, `$${`, and the common
//! indentation of triple-quoted strings.

use pest::iterators::Pair;

use super::{Lowered, Lowerer};
use crate::diag::{Code, Diagnostic};
use crate::syntax::ast::*;
use crate::syntax::grammar::Rule;

impl Lowerer<'_> {
    pub fn string(&mut self, pair: Pair<'_, Rule>) -> Lowered<Expr> {
        if pair.as_rule() != Rule::string {
            return self.unexpected(&pair, "a string");
        }
        let span = self.span(&pair);
        let mut parts = Parts::default();
        let mut ok = true;
        for inner in pair.into_inner() {
            match inner.as_rule() {
                Rule::str_text => parts.text(inner.as_str()),
                Rule::dollar_lit => parts.text("${"),
                Rule::str_escape => {
                    match unescape(inner.as_str()) {
                        Some(c) => parts.text(c),
                        None => {
                            let esc_span = self.span(&inner);
                            self.diagnostics.push(
                            Diagnostic::error(Code::InvalidEscape, format!("unknown escape `{}`", inner.as_str()))
                                .label(esc_span, "not an escape the language knows")
                                .help("the escapes are \\\" \\\\ \\n \\t \\r and \\$; for a backslash itself write \\\\"),
                        );
                            ok = false;
                        }
                    }
                }
                Rule::interp => {
                    let Some(e) = inner.into_inner().next() else {
                        return self.missing(span, "an expression");
                    };
                    match self.expr(e) {
                        Some(e) => parts.interp(e),
                        None => ok = false,
                    }
                }
                _ => return self.unexpected(&inner, "string content"),
            }
        }
        ok.then(|| Expr { kind: ExprKind::Str(parts.done()), span })
    }

    pub fn triple_string(&mut self, pair: Pair<'_, Rule>) -> Lowered<Expr> {
        let span = self.span(&pair);
        // Lines of pieces: the indentation is stripped across literal text and
        // interpolations alike, so collect per line first.
        let mut pieces: Vec<Piece> = Vec::new();
        for inner in pair.into_inner() {
            match inner.as_rule() {
                Rule::triple_text => pieces.push(Piece::Text(inner.as_str().replace("\r\n", "\n"))),
                Rule::dollar_lit => pieces.push(Piece::Text("${".to_string())),
                Rule::interp => {
                    let Some(e) = inner.into_inner().next() else {
                        return self.missing(span, "an expression");
                    };
                    pieces.push(Piece::Interp(self.expr(e)?));
                }
                _ => return self.unexpected(&inner, "string content"),
            }
        }
        Some(Expr { kind: ExprKind::Str(dedent(pieces)), span })
    }
}

pub(in crate::syntax) fn unescape(escape: &str) -> Option<&'static str> {
    Some(match escape {
        "\\\"" => "\"",
        "\\\\" => "\\",
        "\\n" => "\n",
        "\\t" => "\t",
        "\\r" => "\r",
        "\\$" => "$",
        _ => return None,
    })
}

/// Builds string parts, merging adjacent literal text.
#[derive(Default)]
pub(in crate::syntax) struct Parts(Vec<StrPart>);

impl Parts {
    pub(in crate::syntax) fn text(&mut self, s: &str) {
        if let Some(StrPart::Lit(last)) = self.0.last_mut() {
            last.push_str(s);
        } else {
            self.0.push(StrPart::Lit(s.to_string()));
        }
    }

    pub(in crate::syntax) fn interp(&mut self, e: Expr) {
        self.0.push(StrPart::Interp(e));
    }

    pub(in crate::syntax) fn done(self) -> Vec<StrPart> {
        self.0
    }
}

pub(in crate::syntax) enum Piece {
    Text(String),
    Interp(Expr),
}

/// Strips the common indentation of a triple-quoted string: the first line is
/// dropped when only white space follows the opening quotes, the last when
/// only white space precedes the closing quotes; then the smallest
/// indentation of the lines with content is removed from every line. Like
/// Swift's multi-line literals, the result has no leading or trailing newline.
pub(in crate::syntax) fn dedent(pieces: Vec<Piece>) -> Vec<StrPart> {
    // Split into lines; each line is a list of pieces.
    let mut lines: Vec<Vec<Piece>> = vec![Vec::new()];
    for piece in pieces {
        match piece {
            Piece::Text(t) => {
                let mut first = true;
                for segment in t.split('\n') {
                    if !first {
                        lines.push(Vec::new());
                    }
                    first = false;
                    if !segment.is_empty() {
                        lines.last_mut().expect("one line at least").push(Piece::Text(segment.to_string()));
                    }
                }
            }
            Piece::Interp(e) => lines.last_mut().expect("one line at least").push(Piece::Interp(e)),
        }
    }
    let blank = |line: &Vec<Piece>| line.iter().all(|p| matches!(p, Piece::Text(t) if t.trim().is_empty()));
    if lines.len() > 1 && blank(&lines[0]) {
        lines.remove(0);
    }
    if lines.len() > 1 && lines.last().is_some_and(blank) {
        lines.pop();
    }
    let indent_of = |line: &Vec<Piece>| match line.first() {
        Some(Piece::Text(t)) => t.len() - t.trim_start_matches([' ', '\t']).len(),
        _ => 0,
    };
    let common = lines.iter().filter(|l| !blank(l)).map(indent_of).min().unwrap_or(0);
    let mut parts = Parts::default();
    let count = lines.len();
    for (i, line) in lines.into_iter().enumerate() {
        let mut strip = common;
        let was_blank = blank(&line);
        for piece in line {
            match piece {
                Piece::Text(t) => {
                    if was_blank {
                        continue;
                    }
                    let n = strip.min(t.len() - t.trim_start_matches([' ', '\t']).len());
                    strip -= n;
                    parts.text(&t[n..]);
                }
                Piece::Interp(e) => {
                    strip = 0;
                    parts.interp(e);
                }
            }
        }
        if i + 1 < count {
            parts.text("\n");
        }
    }
    parts.done()
}
