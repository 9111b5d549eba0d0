//! Lowering of expressions: precedence levels become nested nodes.

use pest::iterators::Pair;

use super::{Lowered, Lowerer};
use crate::diag::{Code, Diagnostic};
use crate::syntax::ast::*;
use crate::syntax::grammar::Rule;

/// Longest chain of one operator (`or`, `and`, `not`, postfix) in an expression.
pub(in crate::syntax) const MAX_CHAIN: usize = 64;

impl Lowerer<'_> {
    pub fn expr(&mut self, pair: Pair<'_, Rule>) -> Lowered<Expr> {
        let span = self.span(&pair);
        match pair.as_rule() {
            Rule::expr | Rule::str_operand | Rule::paren => {
                let Some(inner) = pair.into_inner().next() else {
                    return self.missing(span, "a value");
                };
                self.expr(inner)
            }
            Rule::or_expr | Rule::and_expr => {
                let is_or = pair.as_rule() == Rule::or_expr;
                if pair.clone().into_inner().count() > 2 * MAX_CHAIN + 1 {
                    return self.too_long(span, if is_or { "`or`" } else { "`and`" });
                }
                let mut acc: Option<Expr> = None;
                for inner in pair.into_inner() {
                    if matches!(inner.as_rule(), Rule::OR | Rule::AND) {
                        continue;
                    }
                    let rhs = self.expr(inner)?;
                    acc = Some(match acc {
                        None => rhs,
                        Some(lhs) => {
                            let span = lhs.span.to(rhs.span);
                            let kind = if is_or {
                                ExprKind::Or(Box::new(lhs), Box::new(rhs))
                            } else {
                                ExprKind::And(Box::new(lhs), Box::new(rhs))
                            };
                            Expr { kind, span }
                        }
                    });
                }
                acc.or_else(|| self.missing(span, "a value"))
            }
            Rule::not_expr => {
                let mut nots = Vec::new();
                let mut operand = None;
                for inner in pair.into_inner() {
                    match inner.as_rule() {
                        Rule::not_op => nots.push(self.span(&inner)),
                        _ => operand = Some(self.expr(inner)?),
                    }
                }
                let mut e = operand?;
                if nots.len() > MAX_CHAIN {
                    return self.too_long(span, "`not`");
                }
                for not_span in nots.into_iter().rev() {
                    let span = not_span.to(e.span);
                    e = Expr { kind: ExprKind::Not(Box::new(e)), span };
                }
                Some(e)
            }
            Rule::cmp_expr => {
                let mut it = pair.into_inner();
                let Some(first) = it.next() else {
                    return self.missing(span, "a value");
                };
                let lhs = self.expr(first)?;
                let Some(op) = it.next() else {
                    return Some(lhs);
                };
                let op = match op.as_str() {
                    "==" => CmpOp::Eq,
                    "!=" => CmpOp::Ne,
                    "<" => CmpOp::Lt,
                    "<=" => CmpOp::Le,
                    ">" => CmpOp::Gt,
                    ">=" => CmpOp::Ge,
                    _ => return self.unexpected(&op, "a comparison operator"),
                };
                let Some(second) = it.next() else {
                    return self.missing(span, "a value after the comparison");
                };
                let rhs = self.expr(second)?;
                Some(Expr { kind: ExprKind::Compare(Box::new(lhs), op, Box::new(rhs)), span })
            }
            Rule::postfix => {
                let mut it = pair.into_inner();
                let Some(first) = it.next() else {
                    return self.missing(span, "a value");
                };
                let mut e = self.expr(first)?;
                if it.len() > MAX_CHAIN {
                    return self.too_long(span, "`.`, `[...]` and `(...)`");
                }
                for post in it {
                    let post_span = self.span(&post);
                    let whole = e.span.to(post_span);
                    let kind = match post.as_rule() {
                        Rule::field => {
                            let Some(name) = post.into_inner().next() else {
                                return self.missing(post_span, "a name");
                            };
                            ExprKind::Field(Box::new(e), self.ident(name)?)
                        }
                        Rule::index => {
                            let Some(key) = post.into_inner().next() else {
                                return self.missing(post_span, "a key");
                            };
                            ExprKind::Index(Box::new(e), Box::new(self.expr(key)?))
                        }
                        Rule::call_args => {
                            let mut args = Vec::new();
                            for arg in post.into_inner() {
                                args.push(self.arg(arg)?);
                            }
                            ExprKind::Call(Box::new(e), args)
                        }
                        _ => return self.unexpected(&post, "`.`, `[` or `(`"),
                    };
                    e = Expr { kind, span: whole };
                }
                Some(e)
            }
            Rule::primary => {
                let Some(inner) = pair.into_inner().next() else {
                    return self.missing(span, "a value");
                };
                self.expr(inner)
            }
            Rule::string => self.string(pair),
            Rule::triple_string => self.triple_string(pair),
            Rule::integer => match pair.as_str().parse::<i64>() {
                Ok(n) => Some(Expr { kind: ExprKind::Int(n), span }),
                Err(_) => {
                    self.diagnostics.push(
                        Diagnostic::error(Code::InvalidValue, "this number is too large")
                            .label(span, "larger than 9223372036854775807")
                            .help("write large numbers, and versions, as strings"),
                    );
                    None
                }
            },
            Rule::boolean => Some(Expr { kind: ExprKind::Bool(pair.as_str() == "true"), span }),
            Rule::duration => match parse_duration(pair.as_str()) {
                Some(secs) => Some(Expr { kind: ExprKind::Duration(secs), span }),
                None => {
                    self.diagnostics.push(
                        Diagnostic::error(Code::InvalidValue, "this duration is too long")
                            .label(span, "does not fit in 64 bits of seconds"),
                    );
                    None
                }
            },
            Rule::list => {
                let mut items = Vec::new();
                for inner in pair.into_inner() {
                    items.push(self.expr(inner)?);
                }
                Some(Expr { kind: ExprKind::List(items), span })
            }
            Rule::map => {
                let mut entries = Vec::new();
                for entry in pair.into_inner() {
                    let entry_span = self.span(&entry);
                    let mut it = entry.into_inner();
                    let Some(key) = it.next() else {
                        return self.missing(entry_span, "a key");
                    };
                    let key_span = self.span(&key);
                    let key_text = match key.as_rule() {
                        Rule::ident => key.as_str().to_string(),
                        _ => {
                            let e = self.string(key)?;
                            match e.as_plain_str() {
                                Some(s) => s,
                                None => {
                                    self.diagnostics.push(
                                        Diagnostic::error(Code::InvalidValue, "a map key cannot contain `${...}`")
                                            .label(e.span, "interpolated key")
                                            .help("write map keys literally"),
                                    );
                                    return None;
                                }
                            }
                        }
                    };
                    let Some(value) = it.next() else {
                        return self.missing(entry_span, "a value");
                    };
                    let value = self.expr(value)?;
                    entries.push(MapEntry { key: key_text, key_span, value });
                }
                Some(Expr { kind: ExprKind::Map(entries), span })
            }
            Rule::ident => Some(Expr { kind: ExprKind::Name(pair.as_str().to_string()), span }),
            _ => self.unexpected(&pair, "a value"),
        }
    }

    /// A chain so long that its tree would be deeper than the nesting limit.
    fn too_long<T>(&mut self, span: crate::source::Span, what: &str) -> Lowered<T> {
        self.diagnostics.push(
            Diagnostic::error(Code::TooDeep, format!("more than {MAX_CHAIN} {what} in one expression"))
                .label(span, "this expression is too long")
                .help("split it with `let`; expressions nest at most 64 deep"),
        );
        None
    }

    fn arg(&mut self, pair: Pair<'_, Rule>) -> Lowered<Arg> {
        if pair.as_rule() != Rule::arg {
            return self.unexpected(&pair, "an argument");
        }
        let mut name = None;
        let mut value = None;
        for inner in pair.into_inner() {
            match inner.as_rule() {
                Rule::ident => name = Some(self.ident(inner)?),
                _ => value = Some(self.expr(inner)?),
            }
        }
        Some(Arg { name, value: value? })
    }
}

/// `1h30m` to seconds; `None` on overflow.
pub(in crate::syntax) fn parse_duration(text: &str) -> Option<u64> {
    let mut total: u64 = 0;
    let mut number: u64 = 0;
    for c in text.chars() {
        if let Some(d) = c.to_digit(10) {
            number = number.checked_mul(10)?.checked_add(d as u64)?;
        } else {
            let unit = match c {
                'h' => 3600,
                'm' => 60,
                _ => 1,
            };
            total = total.checked_add(number.checked_mul(unit)?)?;
            number = 0;
        }
    }
    Some(total)
}
