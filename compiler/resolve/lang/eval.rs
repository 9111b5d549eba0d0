//! Evaluation of expressions: names, calls, interpolation, tables,
//! comparisons and `target.*` facts. Errors are reported into the sink when
//! found and then travel up as [`Reported`], so one mistake gives one message.

use crate::maps::HashMap;
use std::cell::RefCell;
use std::rc::Rc;

use crate::maps::IndexMap;

use super::budget::{self, Budget, NODE_WORK, STEP_WORK};
use super::facts::Facts;
use super::scope::{Binding, Program};
use super::value::{DefId, ImageRef, Instance, ModuleId, SYMBOLS, Type, Value};
use super::version::{self, Truth, Version};
use crate::diag::{Code, Diagnostic, Diagnostics, suggest};
use crate::source::Span;
use crate::syntax::ast::{self, Arg, CmpOp, DefKind, Expr, ExprKind, StrPart};

/// An error that has already been reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reported;

pub type Eval<T = Value> = Result<T, Reported>;

/// The built-in functions.
pub const FUNCTIONS: &[&str] = &["major", "minor", "secret", "file", "script", "dotenv", "nonfree"];

/// Where an expression is evaluated: its module, the parameters of the
/// definition around it, and the facts of the variant being assembled.
#[derive(Clone)]
pub struct Env<'f, 'p> {
    pub module: ModuleId,
    pub params: Option<Rc<IndexMap<String, Value>>>,
    pub facts: Option<&'f Facts<'p>>,
    /// Collects the names of the facts read, for the dependency graph.
    pub reads: Option<&'f RefCell<Vec<String>>>,
}

impl<'f, 'p> Env<'f, 'p> {
    pub fn module(module: ModuleId) -> Env<'f, 'p> {
        Env { module, params: None, facts: None, reads: None }
    }
}

enum LetState {
    InProgress,
    /// Shared, so that reading one entry of a large table copies the entry only.
    Done(Eval<Rc<Value>>),
}

/// The evaluator: the program, the diagnostics sink, the `let` cache and
/// the evaluation budget.
pub struct Evaluator<'p> {
    pub program: &'p Program<'p>,
    pub diags: Diagnostics,
    pub budget: Budget,
    lets: HashMap<(ModuleId, usize), LetState>,
    /// Images being assembled, innermost last: an image built `from` another
    /// image of the project assembles that one first, for its facts.
    pub assembling: Vec<super::value::ImageId>,
    /// Where the definition being evaluated was used and its name
    /// (outermost first): an error inside a stdlib definition also points
    /// at the user's call, labelled "`name` is used here" (made only for
    /// an error: it was 1.4% of a large resolve's instructions).
    pub context: Vec<(Span, String)>,
    /// The architecture being resolved (`target.arch`) and the platform of
    /// the pipeline that asks for it, for the error of a component that has
    /// nothing for it.
    pub platform: (&'static str, String),
    /// The component or repository being evaluated, for that error.
    pub component: Option<String>,
    /// Where a repository being evaluated is used (components have theirs
    /// in `context`).
    pub component_use: Option<Span>,
    /// (component, architecture) pairs already reported as having nothing
    /// for the platform: one error each, however many lookups fail.
    no_platform_seen: crate::maps::HashSet<(String, &'static str)>,
    /// How many errors were reported (repeats included, which the sink
    /// drops): whether an evaluation reported anything.
    pub reports: u64,
    /// Results kept across variants, for the image layer.
    pub memo: super::memo::Memo,
}

/// What a name or path stands for before it is used.
enum Resolved {
    Def(DefId),
    Value(Value),
    /// A `let`'s value, shared with the cache: copied out only when used whole.
    Shared(Rc<Value>),
    Target,
}

impl<'p> Evaluator<'p> {
    pub fn new(program: &'p Program<'p>) -> Evaluator<'p> {
        let source_bytes = program.loaded.sources.files().map(|(_, f)| f.text.len()).sum();
        Evaluator {
            program,
            diags: Diagnostics::default(),
            budget: Budget::for_source_bytes(source_bytes),
            lets: HashMap::default(),
            assembling: Vec::new(),
            context: Vec::new(),
            platform: ("x86_64", "linux/x86_64".to_string()),
            component: None,
            component_use: None,
            no_platform_seen: crate::maps::HashSet::default(),
            reports: 0,
            memo: Default::default(),
        }
    }

    pub fn error(&mut self, mut d: Diagnostic) -> Reported {
        let primary = d.labels.first().map(|l| l.span);
        for (span, message) in &self.context {
            // Bodies have no use site (marked with an impossible source). A
            // use around the culprit adds nothing: the culprit shows it.
            if span.source.0 != u32::MAX
                && !d.labels.iter().any(|l| l.span == *span)
                && !primary.is_some_and(|p| span.contains(p))
            {
                d = d.label(*span, format!("`{message}` is used here"));
            }
        }
        // An error inside the stdlib is the user's to fix at their call: put
        // the outermost use in a recipe first, so it is the primary location.
        let is_std = |s: Span| {
            s.source.0 != u32::MAX && self.program.loaded.sources.get(s.source).origin == crate::source::Origin::Std
        };
        if d.labels.first().is_some_and(|l| is_std(l.span))
            && let Some(pos) =
                d.labels.iter().position(|l| !is_std(l.span) && self.context.iter().any(|(s, _)| *s == l.span))
        {
            let user = d.labels.remove(pos);
            d.labels.insert(0, user);
        }
        self.reports += 1;
        self.diags.push(d);
        Reported
    }

    /// Runs `f` as the evaluation of the component or repository `name`.
    pub fn as_component<T>(&mut self, name: &str, f: impl FnOnce(&mut Self) -> T) -> T {
        let outer = self.component.replace(name.to_string());
        let out = f(self);
        self.component = outer;
        out
    }

    /// The error of a component that has nothing for the architecture
    /// being resolved: `what` is what it lacks.
    pub fn no_platform(&self, what: &str) -> Diagnostic {
        let (arch, platform) = &self.platform;
        let who = self.component.as_deref().map_or_else(|| "this recipe".to_string(), |c| format!("`{c}`"));
        let d = Diagnostic::error(
            Code::NoPlatform,
            format!("{who} has nothing for the platform `{platform}` ({arch}): {what}"),
        );
        match self.component_use {
            Some(at) => d.label(at, format!("{who} is used here")),
            None => d,
        }
    }

    /// Whether this is the first time the component being evaluated has
    /// nothing for the architecture being resolved (later ones are not reported).
    pub fn first_no_platform(&mut self) -> bool {
        let key = (self.component.clone().unwrap_or_default(), self.platform.0);
        self.no_platform_seen.insert(key)
    }

    /// Runs `f` with the use of `name` at `span` added to every error's labels.
    pub fn within<T>(&mut self, span: Span, name: String, f: impl FnOnce(&mut Self) -> T) -> T {
        self.context.push((span, name));
        let out = f(self);
        self.context.pop();
        out
    }

    pub fn eval(&mut self, expr: &'p Expr, env: &Env<'_, 'p>) -> Eval {
        self.eval_expecting(expr, env, None)
    }

    /// Evaluates an operand that should name a definition of `expect`'s kind,
    /// so that an unknown name can say "unknown layer".
    pub fn eval_expecting(&mut self, expr: &'p Expr, env: &Env<'_, 'p>, expect: Option<DefKind>) -> Eval {
        self.charge(STEP_WORK, expr.span)?;
        if self.budget.depth >= budget::MAX_EVAL_DEPTH {
            return Err(self.error(
                Diagnostic::error(
                    Code::EvalTooDeep,
                    format!("evaluation nests deeper than {} levels here", budget::MAX_EVAL_DEPTH),
                )
                .label(expr.span, "the limit is reached while evaluating this")
                .help("a `let` refers to a `let` that refers to another, and so on (or facts read facts so): shorten the chain"),
            ));
        }
        self.budget.depth += 1;
        let value = self.eval_expr(expr, env, expect);
        self.budget.depth -= 1;
        value
    }

    /// Takes `work` from the budget; the first time it runs out, reports it
    /// at `span` (later evaluations fail silently, so the error shows once).
    pub fn charge(&mut self, work: u64, span: Span) -> Eval<()> {
        if self.budget.exhausted {
            return Err(Reported);
        }
        if self.budget.spend(work) {
            return Ok(());
        }
        Err(self.error(
            Diagnostic::error(
                Code::EvalTooLarge,
                "evaluating this recipe builds values out of proportion to its text".to_string(),
            )
            .label(span, "the limit is reached while evaluating this")
            .help(format!(
                "evaluation may build or copy about {} bytes of values per byte of source ({} MiB in all here); a \
                 value that holds another twice, over and over (`let b = [a, a]`, `let c = [b, b]`, ...), doubles \
                 with every step",
                budget::WORK_PER_BYTE,
                self.budget.total() >> 20
            )),
        ))
    }

    /// A copy of `value`, paid for from the budget.
    pub fn copy(&mut self, value: &Value, span: Span) -> Eval {
        let weight = self.budget.weight(value);
        self.charge(weight, span)?;
        Ok(value.clone())
    }

    /// Refuses a container of `items` that would nest deeper than values may.
    fn check_value_depth<'v>(&mut self, items: impl IntoIterator<Item = &'v Value>, span: Span) -> Eval<()> {
        if budget::depth(items) < budget::MAX_VALUE_DEPTH {
            return Ok(());
        }
        Err(self.error(
            Diagnostic::error(
                Code::EvalTooDeep,
                format!("this value nests deeper than {} levels", budget::MAX_VALUE_DEPTH),
            )
            .label(span, "lists, maps and definitions' arguments nest too deep here")
            .help("a list holds a list that holds a list, and so on, through `let`s: flatten the value"),
        ))
    }

    fn eval_expr(&mut self, expr: &'p Expr, env: &Env<'_, 'p>, expect: Option<DefKind>) -> Eval {
        match &expr.kind {
            ExprKind::Str(parts) => self.interpolate(parts, expr.span, env),
            ExprKind::Int(n) => Ok(Value::Int(*n)),
            ExprKind::Bool(b) => Ok(Value::Bool(*b)),
            ExprKind::Duration(d) => Ok(Value::Duration(*d)),
            ExprKind::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                let mut failed = false;
                for item in items {
                    match self.eval(item, env) {
                        Ok(v) => out.push(v),
                        Err(_) => failed = true,
                    }
                }
                if failed {
                    return Err(Reported);
                }
                self.charge(NODE_WORK * out.len() as u64, expr.span)?;
                self.check_value_depth(&out, expr.span)?;
                Ok(Value::List(out, expr.span))
            }
            ExprKind::Map(entries) => {
                let mut out = IndexMap::default();
                let mut first_at: HashMap<&str, Span> = HashMap::default();
                for e in entries {
                    if let Some(first) = first_at.get(e.key.as_str()) {
                        return Err(self.error(
                            Diagnostic::error(
                                Code::DuplicateProperty,
                                format!("the key `{}` appears twice in this map", e.key),
                            )
                            .label(e.key_span, "again here")
                            .label(*first, "first here"),
                        ));
                    }
                    first_at.insert(&e.key, e.key_span);
                    let v = self.eval(&e.value, env)?;
                    out.insert(e.key.clone(), v);
                }
                self.charge(NODE_WORK * out.len() as u64, expr.span)?;
                self.check_value_depth(out.values(), expr.span)?;
                Ok(Value::Map(out))
            }
            ExprKind::Name(_) | ExprKind::Field(..) => {
                let resolved = self.resolve(expr, env, expect)?;
                let value = self.resolved_value(resolved, expr, env)?;
                // A `let`'s value stays in the cache: copying it out is paid for.
                Rc::try_unwrap(value).or_else(|shared| self.copy(&shared, expr.span))
            }
            ExprKind::Index(table, key) => self.index(table, key, expr.span, env),
            ExprKind::Call(callee, args) => self.call(callee, args, expr.span, env, expect),
            ExprKind::Compare(a, op, b) => self.compare(a, *op, b, env),
            ExprKind::And(a, b) | ExprKind::Or(a, b) => {
                let is_and = matches!(expr.kind, ExprKind::And(..));
                let left = self.eval_bool(a, env)?;
                // No short circuit: both sides are checked, so a mistake on
                // the right is reported even when the left decides.
                let right = self.eval_bool(b, env)?;
                Ok(Value::Bool(if is_and { left && right } else { left || right }))
            }
            ExprKind::Not(inner) => Ok(Value::Bool(!self.eval_bool(inner, env)?)),
        }
    }

    pub fn eval_bool(&mut self, expr: &'p Expr, env: &Env<'_, 'p>) -> Eval<bool> {
        match self.eval(expr, env)? {
            Value::Bool(b) => Ok(b),
            other => Err(self.error(
                Diagnostic::error(Code::TypeMismatch, format!("expected a boolean, found {}", other.describe()))
                    .label(expr.span, "this is not `true` or `false`")
                    .help("`and`, `or`, `not` and `requires` take conditions such as `target.driver >= \"580\"`"),
            )),
        }
    }

    /// Evaluates and requires a string.
    pub fn eval_str(&mut self, expr: &'p Expr, env: &Env<'_, 'p>, what: &str) -> Eval<String> {
        match self.eval(expr, env)? {
            Value::Str(s, _) => Ok(s),
            other => Err(self.error(
                Diagnostic::error(Code::TypeMismatch, format!("{what} must be a string, found {}", other.describe()))
                    .label(expr.span, format!("this is {}", other.describe())),
            )),
        }
    }

    /// A string literal, its `${...}` parts filled in. The value is written
    /// where the literal is; `"${x}"` alone is `x`, written where `x` was.
    /// A literal of the standard library that takes in a value the user
    /// wrote (`"kernel-${version}"`) is written where that value was: the
    /// user cannot edit the literal, only what they passed (several such
    /// values: the text from the first to the last).
    fn interpolate(&mut self, parts: &'p [StrPart], span: Span, env: &Env<'_, 'p>) -> Eval {
        let mut out = String::new();
        let mut written = span;
        let in_std = self.is_std(span);
        for part in parts {
            match part {
                StrPart::Lit(s) => out.push_str(s),
                StrPart::Interp(e) => {
                    let v = self.eval(e, env)?;
                    if parts.len() == 1 && matches!(v, Value::Str(..)) {
                        return Ok(v);
                    }
                    // Several such values: all of them (`"${owner}/${project}"`).
                    if in_std
                        && let Some(at) = v.origin()
                        && !self.is_std(at)
                    {
                        written = if written == span { at } else { written.to(at) };
                    }
                    match v.interpolate() {
                        Some(s) => {
                            // What is built is paid for; the literal parts were, by the text.
                            self.charge(s.len() as u64, e.span)?;
                            out.push_str(&s)
                        }
                        None => {
                            return Err(self.error(
                                Diagnostic::error(
                                    Code::TypeMismatch,
                                    format!("{} cannot be put inside a string", v.describe()),
                                )
                                .label(e.span, format!("this is {}", v.describe()))
                                .help(
                                    "only strings, numbers, booleans and durations can be interpolated with `${...}`",
                                ),
                            ));
                        }
                    }
                }
            }
        }
        Ok(Value::Str(out, written))
    }

    fn record_read(env: &Env<'_, 'p>, name: &str) {
        if let Some(reads) = env.reads {
            let mut r = reads.borrow_mut();
            if !r.iter().any(|x| x == name) {
                r.push(name.to_string());
            }
        }
    }

    /// The value a resolved name or path stands for; a `let`'s is shared.
    fn resolved_value(&mut self, resolved: Resolved, expr: &'p Expr, env: &Env<'_, 'p>) -> Eval<Rc<Value>> {
        match resolved {
            Resolved::Shared(v) => Ok(v),
            Resolved::Value(v) => Ok(Rc::new(v)),
            Resolved::Def(def) => self.instantiate(def, &[], expr.span, None, env).map(Rc::new),
            Resolved::Target => Err(self.error(
                Diagnostic::error(Code::TypeMismatch, "`target` alone is not a value")
                    .label(expr.span, "read one fact, like `target.release`")
                    .help("facts are read one at a time: `target.NAME`"),
            )),
        }
    }

    /// Resolves a name or a path `a.b.c`.
    fn resolve(&mut self, expr: &'p Expr, env: &Env<'_, 'p>, expect: Option<DefKind>) -> Eval<Resolved> {
        match &expr.kind {
            ExprKind::Name(name) => self.resolve_name(name, expr.span, env, expect),
            ExprKind::Field(inner, field) => {
                let base = self.resolve(inner, env, None)?;
                let value = match &base {
                    Resolved::Value(v) => v,
                    // Fields are read off a `let`'s value in place.
                    Resolved::Shared(v) => &**v,
                    Resolved::Target => {
                        let facts = match env.facts {
                            Some(f) => f,
                            None => {
                                return Err(self.error(
                                    Diagnostic::error(Code::UnknownFact, format!("`target.{}` has no value here", field.name))
                                        .label(expr.span, "no variant gives this a value here")
                                        .help("facts exist per variant and are read in the bodies of definitions and images; they cannot choose components (the operands of `use`, `kernel`, `kmod`, `repo`, `from`) or appear in a top-level `let`"),
                                ));
                            }
                        };
                        Self::record_read(env, &field.name);
                        return facts.get(self, &field.name, field.span).map(Resolved::Value);
                    }
                    Resolved::Def(def) => {
                        let info = &self.program.defs[def.0];
                        return Err(self.error(
                            Diagnostic::error(
                                Code::TypeMismatch,
                                format!(
                                    "the {} `{}` has no field `{}`",
                                    info.def.kind.keyword(),
                                    info.qualified,
                                    field.name
                                ),
                            )
                            .label(field.span, "no such field")
                            .help("definitions are used whole: `use x()`, not `x.field`"),
                        ));
                    }
                };
                match value {
                    Value::Module(m) => self.member(*m, field, expr.span, expect),
                    Value::Image(r) if r.variant.is_none() => {
                        let info = &self.program.images[r.image.0];
                        let variants = variant_names(info.image);
                        if variants.iter().any(|v| *v == field.name) {
                            Ok(Resolved::Value(Value::Image(ImageRef { image: r.image, variant: Some(field.name.clone()), span: expr.span })))
                        } else {
                            let mut d = Diagnostic::error(
                                Code::UnknownVariant,
                                format!("image `{}` has no variant `{}`", info.image.name.name, field.name),
                            )
                            .label(field.span, "no such variant")
                            .label(info.image.name.span, "the image is defined here");
                            d = match suggest(&field.name, variants.iter().copied()) {
                                Some(s) => d.help(format!("did you mean `{s}`?")),
                                None if variants.is_empty() => d.help("this image has no variants; use the image itself"),
                                None => d.help(format!("its variants are: {}", quote_list(&variants))),
                            };
                            Err(self.error(d))
                        }
                    }
                    other => Err(self.error(
                        Diagnostic::error(Code::TypeMismatch, format!("{} has no field `{}`", other.describe(), field.name))
                            .label(field.span, "no such field")
                            .help("fields are read from modules (`cuda.runtime`), images (`desktop.cuda-toolkit`) and `target`; read map entries with `map[\"key\"]`"),
                    )),
                }
            }
            _ => Ok(Resolved::Value(self.eval(expr, env)?)),
        }
    }

    fn resolve_name(&mut self, name: &str, span: Span, env: &Env<'_, 'p>, expect: Option<DefKind>) -> Eval<Resolved> {
        if let Some(params) = &env.params
            && let Some(v) = params.get(name)
        {
            return Ok(Resolved::Value(self.copy(v, span)?));
        }
        if let Some((binding, _)) = self.program.scopes[env.module.0].get(name) {
            return self.binding(*binding, env.module, span);
        }
        if name == "target" {
            return Ok(Resolved::Target);
        }
        if let Some(sym) = SYMBOLS.iter().find(|s| **s == name) {
            return Ok(Resolved::Value(Value::Symbol(sym)));
        }
        if FUNCTIONS.contains(&name) {
            return Err(self.error(
                Diagnostic::error(Code::NotCallable, format!("`{name}` is a function, not a value"))
                    .label(span, "not called")
                    .help(format!("call it: `{name}(...)`")),
            ));
        }
        let params: Vec<&str> = env.params.as_ref().map(|p| p.keys().map(String::as_str).collect()).unwrap_or_default();
        Err(self.error(super::names::unknown_name(self.program, env.module, &params, name, span, expect)))
    }

    fn binding(&mut self, binding: Binding, module: ModuleId, span: Span) -> Eval<Resolved> {
        Ok(match binding {
            Binding::Module(m) => Resolved::Value(Value::Module(m)),
            Binding::Def(d) => Resolved::Def(d),
            Binding::Image(i) => Resolved::Value(Value::Image(ImageRef { image: i, variant: None, span })),
            Binding::Let(index) => Resolved::Shared(self.let_shared(module, index)?),
        })
    }

    /// `module.name`.
    fn member(&mut self, module: ModuleId, field: &ast::Ident, span: Span, expect: Option<DefKind>) -> Eval<Resolved> {
        let scope = &self.program.scopes[module.0];
        if let Some((binding, _)) = scope.get(&field.name)
            && !matches!(binding, Binding::Module(_))
        {
            return self.binding(*binding, module, span);
        }
        Err(self.error(super::names::unknown_member(self.program, module, field, expect)))
    }

    /// The value of a `let`, evaluated on first use and then shared.
    fn let_shared(&mut self, module: ModuleId, index: usize) -> Eval<Rc<Value>> {
        match self.lets.get(&(module, index)) {
            Some(LetState::Done(v)) => return v.clone(),
            Some(LetState::InProgress) => {
                let l = self.program.lets[module.0][index];
                return Err(self.error(
                    Diagnostic::error(Code::FactCycle, format!("`{}` is defined in terms of itself", l.name.name))
                        .label(l.name.span, "this `let` refers back to itself")
                        .help("break the cycle: a `let` cannot depend on its own value"),
                ));
            }
            None => {}
        }
        self.lets.insert((module, index), LetState::InProgress);
        let l = self.program.lets[module.0][index];
        let v = self.eval(&l.value, &Env::module(module)).map(Rc::new);
        self.lets.insert((module, index), LetState::Done(v.clone()));
        v
    }

    /// A table about to be indexed: a `let` (`t`, or `module.t`) is read in
    /// place instead of copied whole; anything else is evaluated.
    fn table(&mut self, table: &'p Expr, env: &Env<'_, 'p>) -> Eval<Rc<Value>> {
        match &table.kind {
            ExprKind::Name(_) | ExprKind::Field(..) => {
                self.charge(STEP_WORK, table.span)?;
                let resolved = self.resolve(table, env, None)?;
                self.resolved_value(resolved, table, env)
            }
            _ => self.eval(table, env).map(Rc::new),
        }
    }

    fn index(&mut self, table: &'p Expr, key: &'p Expr, _span: Span, env: &Env<'_, 'p>) -> Eval {
        let t = self.table(table, env)?;
        // Whether the key reads `target.arch`: a table without the
        // architecture's entry is a component without that platform.
        let key_reads = RefCell::new(Vec::new());
        let key_env = Env { module: env.module, params: env.params.clone(), facts: env.facts, reads: Some(&key_reads) };
        let k = self.eval(key, &key_env)?;
        for r in key_reads.borrow().iter() {
            Self::record_read(env, r);
        }
        match (&*t, &k) {
            (Value::Map(m), Value::Str(s, _)) => match m.get(s) {
                Some(v) => self.copy(v, key.span),
                None => {
                    let keys: Vec<&str> = m.keys().map(String::as_str).collect();
                    let table_name = match &table.kind {
                        ExprKind::Name(n) => format!("`{n}`"),
                        _ => "the table".to_string(),
                    };
                    let known = keys.iter().map(|k| format!("\"{k}\"")).collect::<Vec<_>>().join(", ");
                    let by_arch = key_reads.borrow().iter().any(|r| r == "arch");
                    if by_arch && !self.first_no_platform() {
                        return Err(Reported);
                    }
                    let mut d = if by_arch {
                        self.no_platform(&format!("{table_name} has no entry \"{s}\""))
                            .label(key.span, format!("\"{s}\" (`target.arch`) is not a key of {table_name}"))
                    } else {
                        Diagnostic::error(Code::UnknownKey, format!("{table_name} has no entry \"{s}\""))
                            .label(key.span, format!("\"{s}\" is not a key of {table_name}"))
                    };
                    if let Some(def) = self.definition_span(table, env) {
                        d = d.label(def, "the table is defined here");
                    }
                    d = if by_arch {
                        d.help(format!(
                            "the architectures it has are: {known}; take `{}` out of the pipeline's `platforms`, or build that platform with a component (or an entry) for \"{s}\"",
                            self.platform.1
                        ))
                    } else {
                        d.help(format!("the known keys are: {known}"))
                    };
                    if by_arch {
                        // The key is the architecture being built, not a value of the recipe.
                        return Err(self.error(d));
                    }
                    // The key may be a value the recipe passed in.
                    Err(self.error_repointed(d, super::site::Site::of(&k, key.span)))
                }
            },
            (Value::List(items, _), Value::Int(i)) => match usize::try_from(*i).ok().and_then(|i| items.get(i)) {
                Some(v) => self.copy(v, key.span),
                None => Err(self.error(
                    Diagnostic::error(Code::UnknownKey, format!("index {i} is outside the list"))
                        .label(key.span, format!("the list has {} items, indexed from 0", items.len())),
                )),
            },
            (Value::Map(_), other) => Err(self.error(
                Diagnostic::error(Code::TypeMismatch, format!("map keys are strings, found {}", other.describe()))
                    .label(key.span, "not a string")
                    .help("write the key in quotes, or interpolate it: \"${...}\""),
            )),
            (other, _) => Err(self.error(
                Diagnostic::error(Code::TypeMismatch, format!("{} cannot be indexed", other.describe()))
                    .label(table.span, "not a map or list"),
            )),
        }
    }

    /// Where the `let` a table expression names is defined, for labels.
    fn definition_span(&self, table: &Expr, env: &Env<'_, 'p>) -> Option<Span> {
        match &table.kind {
            ExprKind::Name(n) => match self.program.scopes[env.module.0].get(n) {
                Some((Binding::Let(i), _)) => Some(self.program.lets[env.module.0][*i].name.span),
                _ => None,
            },
            _ => None,
        }
    }

    fn compare(&mut self, a: &'p Expr, op: CmpOp, b: &'p Expr, env: &Env<'_, 'p>) -> Eval {
        let left = self.eval(a, env)?;
        let right = self.eval(b, env)?;
        // `==` walks both values, instances unfolded, up to the first difference.
        self.charge(budget::unfolded(&left).min(budget::unfolded(&right)), a.span.to(b.span))?;
        let as_version = |v: &Value| -> Option<String> {
            match v {
                Value::Str(s, _) if Version::parse(s).is_some() => Some(s.clone()),
                Value::Int(n) => Some(n.to_string()),
                _ => None,
            }
        };
        let result = match (&left, &right) {
            (Value::Int(x), Value::Int(y)) => Some(match op {
                CmpOp::Eq => x == y,
                CmpOp::Ne => x != y,
                CmpOp::Lt => x < y,
                CmpOp::Le => x <= y,
                CmpOp::Gt => x > y,
                CmpOp::Ge => x >= y,
            }),
            _ => match (as_version(&left), as_version(&right)) {
                (Some(x), Some(y)) => {
                    let (vx, vy) = (Version::parse(&x), Version::parse(&y));
                    match (vx, vy) {
                        (Some(vx), Some(vy)) => Some(version::compare(&vx, op, &vy) == Truth::Yes),
                        _ => None,
                    }
                }
                _ => match op {
                    CmpOp::Eq => Some(left == right),
                    CmpOp::Ne => Some(left != right),
                    _ => None,
                },
            },
        };
        let not_version = |v: &Value| matches!(v, Value::Str(s, _) if Version::parse(s).is_none());
        if result.is_none() && !matches!(op, CmpOp::Eq | CmpOp::Ne) && (not_version(&left) || not_version(&right)) {
            let (bad, span) = if not_version(&left) { (&left, a.span) } else { (&right, b.span) };
            return Err(self.error(
                Diagnostic::error(
                    Code::InvalidComparison,
                    format!("{bad} is not a version, so it cannot be ordered with `{}`", op.as_str()),
                )
                .label(span, "not a version")
                .help("versions start with a digit, like \"580.95.05\", \"13.0\" or \"6.18.*\""),
            ));
        }
        match result {
            Some(b) => Ok(Value::Bool(b)),
            None => Err(self.error(
                Diagnostic::error(
                    Code::InvalidComparison,
                    format!("{} and {} cannot be ordered with `{}`", left.describe(), right.describe(), op.as_str()),
                )
                .label(a.span, format!("this is {left}"))
                .label(b.span, format!("this is {right}"))
                .help("`<`, `<=`, `>`, `>=` compare numbers and versions (\"580.95.05\", \"6.18.*\"); `==` and `!=` compare anything"),
            )),
        }
    }

    fn call(
        &mut self,
        callee: &'p Expr,
        args: &'p [Arg],
        span: Span,
        env: &Env<'_, 'p>,
        expect: Option<DefKind>,
    ) -> Eval {
        if let ExprKind::Name(name) = &callee.kind {
            let shadowed = env.params.as_ref().is_some_and(|p| p.contains_key(name))
                || self.program.scopes[env.module.0].contains_key(name);
            if !shadowed && FUNCTIONS.contains(&name.as_str()) {
                return self.builtin(name, callee.span, args, span, env);
            }
        }
        match self.resolve(callee, env, expect)? {
            Resolved::Def(def) => self.instantiate(def, args, span, Some(callee.span), env),
            Resolved::Value(v) => Err(self.not_callable(&v, callee.span)),
            Resolved::Shared(v) => Err(self.not_callable(&v, callee.span)),
            Resolved::Target => Err(self.error(
                Diagnostic::error(Code::NotCallable, "`target` cannot be called")
                    .label(callee.span, "read a fact with `target.NAME`"),
            )),
        }
    }

    fn not_callable(&mut self, v: &Value, callee: Span) -> Reported {
        self.error(
            Diagnostic::error(Code::NotCallable, format!("{} cannot be called", v.describe()))
                .label(callee, "not a definition or function")
                .help("only definitions (`base`, `repo`, `kernel`, `kmod`, `layer`) and the built-in functions can be called"),
        )
    }

    fn builtin(&mut self, name: &str, name_span: Span, args: &'p [Arg], span: Span, env: &Env<'_, 'p>) -> Eval {
        if args.len() != 1 || args[0].name.is_some() {
            return Err(self.error(
                Diagnostic::error(Code::TooManyArguments, format!("`{name}` takes exactly one argument"))
                    .label(span, format!("called with {} argument(s)", args.len()))
                    .help(format!("write `{name}(\"...\")`")),
            ));
        }
        let arg = &args[0].value;
        let value = self.eval(arg, env)?;
        // The argument may be a value the recipe passed in: its errors go there.
        let site = super::site::Site::of(&value, arg.span);
        let text = match value {
            Value::Str(s, _) => s,
            other => {
                return Err(self.error(
                    Diagnostic::error(
                        Code::TypeMismatch,
                        format!("the argument of `{name}` must be a string, found {}", other.describe()),
                    )
                    .label(arg.span, format!("this is {}", other.describe()))
                    .help(format!("write `{name}(\"...\")`")),
                ));
            }
        };
        let _ = name_span;
        match name {
            "major" | "minor" => {
                let segments: Vec<&str> = text.split(['.', '-']).collect();
                let index = if name == "major" { 0 } else { 1 };
                match segments.get(index).and_then(|s| s.parse::<i64>().ok()) {
                    Some(n) if Version::parse(&text).is_some() => Ok(Value::Int(n)),
                    _ => Err(self.error_repointed(
                        Diagnostic::error(
                            Code::InvalidVersion,
                            if Version::parse(&text).is_none() {
                                format!("\"{text}\" is not a version")
                            } else {
                                format!("\"{text}\" has no {name} version number")
                            },
                        )
                        .label(
                            arg.span,
                            format!(
                                "`{name}` reads the {} number of a version like \"13.0\"",
                                if index == 0 { "first" } else { "second" }
                            ),
                        )
                        .help("versions are numbers joined by `.`, like \"580.95.05\" or \"13.0\""),
                        site,
                    )),
                }
            }
            "secret" => {
                if text.is_empty() || !text.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) {
                    return Err(self.error(
                        Diagnostic::error(
                            Code::InvalidValue,
                            format!("\"{}\" is not a valid secret id", text.escape_debug()),
                        )
                        .label(arg.span, "secret ids use letters, digits, `-`, `_` and `.`")
                        .help("the id names the Kubernetes secret in Konflux; a local build passes the key as `--secret id=ID/key,src=FILE`"),
                    ));
                }
                Ok(Value::Secret(text))
            }
            "file" | "script" | "dotenv" => match super::validate::context_path(&text) {
                Ok(path) => {
                    if let Some(reason) = super::validate::protected_path(&path, name == "dotenv") {
                        return Err(self.error(
                            Diagnostic::error(
                                Code::ProtectedPath,
                                format!("`{name}(\"{path}\")` names a file that is not copied into an image"),
                            )
                            .label(arg.span, reason)
                            .help(if name == "dotenv" || path.split('/').any(|s| s == ".git") {
                                "copy the files the image needs, not the repository's metadata"
                            } else {
                                "pass secrets as build secrets; if this file must ship, say so with `dotenv(\"PATH\")`"
                            }),
                        ));
                    }
                    Ok(if name == "script" { Value::Script(path) } else { Value::File(path) })
                }
                Err(reason) => Err(self.error(
                    Diagnostic::error(
                        Code::ContextEscape,
                        format!("`{name}(\"{}\")` is not a path in the build context", text.escape_debug()),
                    )
                    .label(arg.span, reason)
                    .help(
                        "paths are relative to the recipe's directory, which is the build context, and stay inside it",
                    ),
                )),
            },
            "nonfree" => Ok(Value::NonFree(text)),
            _ => Err(Reported),
        }
    }

    /// Applies a definition to arguments: positional, then named, then
    /// defaults; types checked against the parameter list.
    pub fn instantiate(
        &mut self,
        def: DefId,
        args: &'p [Arg],
        span: Span,
        callee_span: Option<Span>,
        env: &Env<'_, 'p>,
    ) -> Eval {
        let info = &self.program.defs[def.0];
        let d = info.def;
        let qualified = info.qualified.clone();
        let def_module = info.module;
        let params: &'p [ast::Param] = d.params.as_deref().unwrap_or(&[]);
        // Only an error shows the signature: made then, not on every call.
        let signature_of = || signature(d);
        let params_span = d.params_span.unwrap_or(d.name.span);
        // By the parameters' names as written in the definition: no copy.
        let mut bound: IndexMap<&'p str, (Value, Span)> = IndexMap::default();
        let mut failed = false;
        let mut positional = 0;
        for arg in args {
            let value = match self.eval(&arg.value, env) {
                Ok(v) => v,
                Err(_) => {
                    failed = true;
                    continue;
                }
            };
            let param = match &arg.name {
                Some(n) => match params.iter().find(|p| p.name.name == n.name) {
                    Some(p) => p,
                    None => {
                        let names: Vec<&str> = params.iter().map(|p| p.name.name.as_str()).collect();
                        let mut diag = Diagnostic::error(
                            Code::UnknownArgument,
                            format!("`{qualified}` has no parameter `{}`", n.name),
                        )
                        .label(n.span, "no such parameter")
                        .label(params_span, params_note(&signature_of()));
                        diag = match suggest(&n.name, names.iter().copied()) {
                            Some(s) => diag.help(format!("did you mean `{s}`?")),
                            None if names.is_empty() => {
                                diag.help(format!("`{qualified}` takes no arguments: write `{qualified}()`"))
                            }
                            None => diag.help(format!("name one of its parameters: {}", quote_list(&names))),
                        };
                        self.error(diag);
                        failed = true;
                        continue;
                    }
                },
                None => {
                    let Some(p) = params.get(positional) else {
                        self.error(
                            Diagnostic::error(
                                Code::TooManyArguments,
                                match params.len() {
                                    0 => format!("`{qualified}` takes no arguments"),
                                    1 => format!("`{qualified}` takes 1 argument, but more were given"),
                                    n => format!("`{qualified}` takes {n} arguments, but more were given"),
                                },
                            )
                            .label(arg.value.span, "one too many")
                            .label(params_span, params_note(&signature_of()))
                            .help(match params.len() {
                                0 => format!("remove the arguments: `{qualified}()`"),
                                _ => format!("remove this argument; the parameters are {}", signature_of()),
                            }),
                        );
                        failed = true;
                        continue;
                    };
                    positional += 1;
                    p
                }
            };
            if let Some((_, first)) = bound.get(param.name.name.as_str()) {
                self.error(
                    Diagnostic::error(Code::DuplicateArgument, format!("`{}` is passed twice", param.name.name))
                        .label(arg.value.span, "passed again here")
                        .label(*first, "first passed here"),
                );
                failed = true;
                continue;
            }
            if let Some(ty) = &param.ty
                && let Some(t) = Type::parse(&ty.name)
                && !t.accepts(&value)
            {
                self.error(
                    Diagnostic::error(
                        Code::TypeMismatch,
                        format!(
                            "`{}` of `{qualified}` takes {}, but {} was given",
                            param.name.name,
                            t.describe(),
                            value.describe()
                        ),
                    )
                    .label(arg.value.span, format!("this is {}", value.describe()))
                    .label(ty.span, format!("`{}` is declared `{}` here", param.name.name, t.name()))
                    .help(format!(
                        "{}; the parameters are {}",
                        type_help(t, &value),
                        signature_of()
                    )),
                );
                failed = true;
                continue;
            }
            bound.insert(param.name.name.as_str(), (value, arg.value.span));
        }
        // Defaults and missing parameters.
        let mut missing = Vec::new();
        let mut values: IndexMap<String, Value> = IndexMap::default();
        for p in params {
            if let Some((v, _)) = bound.shift_remove(p.name.name.as_str()) {
                values.insert(p.name.name.clone(), v);
            } else if let Some(default) = &p.default {
                match self.eval(default, &Env::module(def_module)) {
                    Ok(v) => {
                        if let Some(ty) = &p.ty
                            && let Some(t) = Type::parse(&ty.name)
                            && !t.accepts(&v)
                        {
                            self.error(
                                Diagnostic::error(
                                    Code::TypeMismatch,
                                    format!(
                                        "the default of `{}` is {}, but the parameter takes {}",
                                        p.name.name,
                                        v.describe(),
                                        t.describe()
                                    ),
                                )
                                .label(default.span, format!("this is {}", v.describe()))
                                .label(ty.span, format!("declared `{}` here", t.name())),
                            );
                            failed = true;
                        }
                        values.insert(p.name.name.clone(), v);
                    }
                    Err(_) => failed = true,
                }
            } else {
                missing.push(p);
            }
        }
        if !missing.is_empty() && !failed {
            let names: Vec<String> = missing.iter().map(|p| format!("`{}`", p.name.name)).collect();
            let example_args: Vec<String> = params.iter().map(|p| format!("{}: ...", p.name.name)).collect();
            self.error(
                Diagnostic::error(
                    Code::MissingArgument,
                    format!(
                        "`{qualified}` needs {} {}",
                        if missing.len() == 1 { "the argument" } else { "the arguments" },
                        names.join(", ")
                    ),
                )
                .label(callee_span.unwrap_or(span), format!("{} missing", names.join(", ")))
                .label(params_span, params_note(&signature_of()))
                .help(format!("call it as `{qualified}({})`", example_args.join(", "))),
            );
            failed = true;
        }
        if failed {
            return Err(Reported);
        }
        self.charge(NODE_WORK * values.len() as u64, span)?;
        self.check_value_depth(values.values(), span)?;
        Ok(Value::Instance(Rc::new(Instance::new(def, d.kind, qualified, values, span))))
    }
}

/// `(driver: string, flavor: string = "open")` for messages.
pub fn signature(d: &ast::Definition) -> String {
    match &d.params {
        None => "none".to_string(),
        Some(ps) if ps.is_empty() => "none".to_string(),
        Some(ps) => {
            let list: Vec<String> = ps
                .iter()
                .map(|p| {
                    let mut s = p.name.name.clone();
                    if let Some(t) = &p.ty {
                        s.push_str(&format!(": {}", t.name));
                    }
                    if p.default.is_some() {
                        s.push_str(" = ...");
                    }
                    s
                })
                .collect();
            format!("({})", list.join(", "))
        }
    }
}

/// The label on a definition's parameter list.
fn params_note(signature: &str) -> String {
    if signature == "none" { "it has no parameters".to_string() } else { format!("the parameters are {signature}") }
}

fn type_help(t: Type, value: &Value) -> String {
    match (t, value) {
        (Type::String, Value::Int(n)) => format!("write it as a string: \"{n}\""),
        (Type::Int, Value::Str(s, _)) if s.parse::<i64>().is_ok() => {
            format!("write it without quotes: {s}")
        }
        (Type::List, Value::Str(s, _)) => format!("write a list: [\"{s}\"]"),
        (_, Value::Secret(_)) => {
            "a secret exists only while a kmod is built and signed: use it as `signing { key = secret(\"ID\") }`, never as a value"
                .to_string()
        }
        _ => format!("pass {}", t.describe()),
    }
}

/// Names of the variants an image declares.
pub fn variant_names(image: &ast::Image) -> Vec<&str> {
    image
        .body
        .stmts
        .iter()
        .filter_map(|s| match &s.kind {
            ast::StmtKind::Variant { name, .. } => Some(name.name.as_str()),
            _ => None,
        })
        .collect()
}

pub fn quote_list(items: &[&str]) -> String {
    items.iter().map(|i| format!("`{i}`")).collect::<Vec<_>>().join(", ")
}
