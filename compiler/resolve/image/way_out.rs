//! The way out of a failed `requires`: the bound the fact must meet, the
//! values of the component's own argument that make the requirement hold
//! (tried row by row when the requirement reads a table, such as CUDA's
//! driver minimums), and why a version pattern such as `"570.*"` fails.

use std::rc::Rc;

use super::eval::{Env, Evaluator};
use super::facts::Facts;
use super::value::Value;
use super::version::{self, Truth, Version};
use crate::syntax::ast::{CmpOp, Expr, ExprKind, StrPart};

/// What a failed `target.FACT OP VALUE` requirement can be changed into.
pub struct WayOut {
    /// The help: each change that would make the requirement hold.
    pub help: String,
    /// The fact the requirement compares.
    pub fact: String,
    /// Why the fact's version pattern fails, for the fact's label.
    pub pattern: Option<String>,
}

/// The way out of `condition` failing for the component `component` (its
/// parameters in `env`), or `None` when the condition is not a comparison
/// with a fact.
pub fn way_out<'p>(
    ev: &mut Evaluator<'p>,
    component: &str,
    condition: &'p Expr,
    env: &Env<'_, 'p>,
    facts: &Facts<'p>,
) -> Option<WayOut> {
    let ExprKind::Compare(a, op, b) = &condition.kind else { return None };
    // Read the requirement as `target.FACT OP OTHER`.
    let (fact, other, op) = match (fact_name(a), fact_name(b)) {
        (Some(f), _) => (f, &**b, *op),
        (None, Some(f)) => (f, &**a, flip(*op)),
        _ => return None,
    };
    // The values are known to evaluate (the requirement did); evaluate them
    // again without reporting anything.
    let saved = std::mem::take(&mut ev.diags);
    let fact_value = facts.get(ev, fact, condition.span).ok();
    let bound = ev.eval(other, env).ok();
    let alternatives = bound.as_ref().and_then(|_| argument_alternatives(ev, condition, other, env));
    ev.diags = saved;
    let (fact_value, bound) = (fact_value?, bound?);

    let from = match facts.defs.get(fact) {
        Some(defs) => format!(", from `{}`", defs[0].component_name),
        None => String::new(),
    };
    let mut ways = vec![format!("make `target.{fact}` {} {bound} (it is {fact_value}{from})", symbol(op))];
    match alternatives {
        Some(Alternatives::Table { param, table, text }) => ways.push(format!(
            "give `{component}` a `{param}` {text} (the rows of `{table}` that {fact} {fact_value} meets)"
        )),
        Some(Alternatives::Direct { param }) => {
            ways.push(format!("give `{component}` a `{param}` {} {fact_value}", symbol(flip(op))))
        }
        None => {}
    }
    let pattern = pattern_note(&fact_value, op, &bound);
    let mut help = if ways.len() > 1 { format!("either {}", ways.join(", or ")) } else { ways.remove(0) };
    if pattern.is_some() {
        help.push_str(
            "; a version pattern meets a requirement only when every version it stands for does, so pin an exact version",
        );
    }
    Some(WayOut { help, fact: fact.to_string(), pattern })
}

/// `target.NAME` → `NAME`.
fn fact_name(e: &Expr) -> Option<&str> {
    match &e.kind {
        ExprKind::Field(base, field) if matches!(&base.kind, ExprKind::Name(n) if n == "target") => {
            Some(field.name.as_str())
        }
        _ => None,
    }
}

/// `a OP b` as `b OP' a`.
fn flip(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Lt => CmpOp::Gt,
        CmpOp::Le => CmpOp::Ge,
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::Ge => CmpOp::Le,
        other => other,
    }
}

fn symbol(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Eq => "=",
        CmpOp::Ne => "≠",
        CmpOp::Lt => "<",
        CmpOp::Le => "≤",
        CmpOp::Gt => ">",
        CmpOp::Ge => "≥",
    }
}

enum Alternatives {
    /// `OTHER` is `TABLE[PARAM]`: the keys for which the requirement holds.
    Table { param: String, table: String, text: String },
    /// `OTHER` is the parameter itself.
    Direct { param: String },
}

/// The parameter `e` names: `version` or `"${version}"`.
fn param_name<'e>(e: &'e Expr, env: &Env<'_, '_>) -> Option<&'e str> {
    let name = match &e.kind {
        ExprKind::Name(n) => n.as_str(),
        ExprKind::Str(parts) => match parts.as_slice() {
            [StrPart::Interp(inner)] => match &inner.kind {
                ExprKind::Name(n) => n.as_str(),
                _ => return None,
            },
            _ => return None,
        },
        _ => return None,
    };
    env.params.as_ref().is_some_and(|p| p.contains_key(name)).then_some(name)
}

/// Which values of the component's own parameter would make `condition`
/// hold with the facts as they are.
fn argument_alternatives<'p>(
    ev: &mut Evaluator<'p>,
    condition: &'p Expr,
    other: &'p Expr,
    env: &Env<'_, 'p>,
) -> Option<Alternatives> {
    if let Some(param) = param_name(other, env) {
        return Some(Alternatives::Direct { param: param.to_string() });
    }
    let ExprKind::Index(table, key) = &other.kind else { return None };
    let param = param_name(key, env)?;
    let ExprKind::Name(table_name) = &table.kind else { return None };
    let Ok(Value::Map(rows)) = ev.eval(table, env) else { return None };
    let params = env.params.as_ref()?;
    let mut keys: Vec<&String> = rows.keys().collect();
    if keys.iter().all(|k| Version::parse(k).is_some_and(|v| !v.pattern)) {
        keys.sort_by(|x, y| version::rpmvercmp(x, y));
    }
    let mut holds = Vec::new();
    for key in &keys {
        let mut trial = (**params).clone();
        trial.insert(param.to_string(), Value::Str((*key).clone(), other.span));
        let trial_env = Env { module: env.module, params: Some(Rc::new(trial)), facts: env.facts, reads: None };
        holds.push(matches!(ev.eval(condition, &trial_env), Ok(Value::Bool(true))));
    }
    let count = holds.iter().filter(|h| **h).count();
    if count == 0 {
        return None;
    }
    let quoted = |k: &String| format!("\"{}\"", k.escape_debug());
    let prefix = holds.iter().take_while(|h| **h).count() == count;
    let suffix = holds.iter().rev().take_while(|h| **h).count() == count;
    let text = if count == keys.len() {
        return None;
    } else if prefix && count > 1 {
        format!("≤ {}", quoted(keys[count - 1]))
    } else if suffix && count > 1 {
        format!("≥ {}", quoted(keys[keys.len() - count]))
    } else {
        let ok: Vec<String> = keys.iter().zip(&holds).filter(|(_, h)| **h).map(|(k, _)| quoted(k)).collect();
        match ok.as_slice() {
            [one] => one.clone(),
            many if many.len() <= 6 => format!("among {}", many.join(", ")),
            many => format!("among {}, … ({} in all)", many[..6].join(", "), many.len()),
        }
    };
    Some(Alternatives::Table { param: param.to_string(), table: table_name.clone(), text })
}

/// Why `fact OP bound` fails for a version pattern although some of the
/// versions it stands for meet it: the member that does not.
fn pattern_note(fact: &Value, op: CmpOp, bound: &Value) -> Option<String> {
    let (Value::Str(fact, _), Value::Str(bound, _)) = (fact, bound) else { return None };
    let (pattern, exact) = (Version::parse(fact)?, Version::parse(bound)?);
    if !pattern.pattern || exact.pattern || version::compare(&pattern, op, &exact) != Truth::Unknown {
        return None;
    }
    let prefix = pattern.text;
    Some(match op {
        CmpOp::Ge | CmpOp::Gt => {
            format!("the pattern \"{fact}\" includes \"{prefix}.0\", which is older than \"{bound}\"")
        }
        CmpOp::Le | CmpOp::Lt => {
            format!("the pattern \"{fact}\" includes every later {prefix} release, newer than \"{bound}\"")
        }
        // `==` and `!=` hold or fail for a pattern as a whole.
        CmpOp::Eq | CmpOp::Ne => return None,
    })
}
