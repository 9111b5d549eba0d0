//! The facts of one variant: who provides each, evaluated on first read,
//! with cycles and double providers reported.

use crate::maps::HashMap;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

use crate::maps::IndexMap;

use super::eval::{Env, Eval, Evaluator, Reported};
use super::value::{ModuleId, Value};
use crate::diag::{Code, Diagnostic, suggest};
use crate::source::Span;
use crate::syntax::ast::Expr;

/// One `provides NAME = EXPR` of a component in the variant.
pub struct FactDef<'p> {
    pub component: usize,
    pub component_name: String,
    pub expr: &'p Expr,
    pub module: ModuleId,
    pub params: Option<Rc<IndexMap<String, Value>>>,
    /// The `provides` statement.
    pub span: Span,
    /// Where the providing component was brought into the variant.
    pub call: Span,
}

enum State {
    InProgress,
    Done(Eval),
}

/// Facts of a variant.
pub struct Facts<'p> {
    pub variant: String,
    pub defs: IndexMap<String, Vec<FactDef<'p>>>,
    /// Facts the compiler computes (`proprietary`, `image`, `variant`).
    pub computed: RefCell<IndexMap<String, (Value, Span)>>,
    state: RefCell<HashMap<String, State>>,
    /// Unknown facts whose absence was already reported another way.
    suppressed: RefCell<Vec<String>>,
    /// The variant's policy denies proprietary software: the help for a
    /// missing fact must not advise adding a non-free component.
    pub denies_proprietary: bool,
    /// See [`Facts::first_reads`]; a fact read while another is evaluated
    /// is counted in the outer one's work (`nesting`).
    saved: Cell<u64>,
    owed: Cell<u64>,
    nesting: Cell<usize>,
}

impl<'p> Facts<'p> {
    pub fn new(variant: String) -> Facts<'p> {
        Facts {
            variant,
            defs: IndexMap::default(),
            computed: RefCell::new(IndexMap::default()),
            state: RefCell::new(HashMap::default()),
            suppressed: RefCell::new(Vec::new()),
            denies_proprietary: false,
            saved: Cell::new(0),
            owed: Cell::new(0),
            nesting: Cell::new(0),
        }
    }

    /// Stops reporting `name` as unknown (its absence has its own diagnostic).
    pub fn suppress(&self, name: &str) {
        self.suppressed.borrow_mut().push(name.to_string());
    }

    /// `f` of the value of `target.<name>` if it is known without
    /// evaluating anything: computed, or provided and evaluated already.
    fn with_settled<R>(&self, name: &str, f: impl FnOnce(&Value) -> R) -> Option<R> {
        if let Some((v, _)) = self.computed.borrow().get(name) {
            return Some(f(v));
        }
        match self.state.borrow().get(name) {
            Some(State::Done(Ok(v))) => Some(f(v)),
            _ => None,
        }
    }

    /// The value of `target.<name>` if it is known without evaluating anything.
    pub fn settled(&self, name: &str) -> Option<Value> {
        self.with_settled(name, Value::clone)
    }

    /// Whether `target.<name>` is known without evaluating anything and is
    /// [`Value::identical`] to `value` (spans aside); nothing is copied.
    pub fn settled_as(&self, name: &str, value: &Value) -> bool {
        self.with_settled(name, |v| v.identical(value)).unwrap_or(false)
    }

    /// The value the first read of `target.<name>` is sure to give, without
    /// reporting anything, for [`super::budget::STEP_WORK`] and a copy of
    /// the value: a fact not read yet (outside any fact's evaluation) whose
    /// one provider gives a parameter of its component as it is, as the
    /// stdlib's bases and modules do (`provides release = release`). The
    /// memo reads such a fact early rather than evaluate a part again
    /// (image/memoized.rs).
    pub fn pending(&self, name: &str) -> Option<&Value> {
        if self.nesting.get() > 0 || self.computed.borrow().contains_key(name) || self.state.borrow().contains_key(name)
        {
            return None;
        }
        let [def] = self.defs.get(name)?.as_slice() else { return None };
        let crate::syntax::ast::ExprKind::Name(param) = &def.expr.kind else { return None };
        let value = def.params.as_deref()?.get(param)?;
        (value.interpolate().is_some() || matches!(value, Value::List(..))).then_some(value)
    }

    /// Whether `target.<name>` is known without evaluating anything.
    pub fn is_settled(&self, name: &str) -> bool {
        self.with_settled(name, |_| ()).is_some()
    }

    /// The work a later read of the facts evaluated so far would spend less
    /// and more than their first reads did: less by their evaluation, more
    /// by the copy of the value that a read of an evaluated fact makes and a
    /// first read does not (a kept result's cost is a reuse's, which finds
    /// them evaluated: image/memoized.rs).
    pub fn first_reads(&self) -> (u64, u64) {
        (self.saved.get(), self.owed.get())
    }

    /// The value of `target.<name>`.
    pub fn get(&self, ev: &mut Evaluator<'p>, name: &str, span: Span) -> Eval {
        if let Some((v, _)) = self.computed.borrow().get(name) {
            return ev.copy(v, span);
        }
        match self.state.borrow().get(name) {
            Some(State::Done(Ok(v))) => return ev.copy(v, span),
            Some(State::Done(Err(r))) => return Err(*r),
            Some(State::InProgress) => {
                let def = &self.defs[name][0];
                return Err(ev.error(
                    Diagnostic::error(Code::FactCycle, format!("the fact `{name}` is defined in terms of itself"))
                        .label(def.span, "this `provides` reads the fact it provides, directly or through others")
                        .help("a fact's value cannot depend on itself; give it a value that does not read `target`"),
                ));
            }
            None => {}
        }
        let Some(defs) = self.defs.get(name) else {
            if self.suppressed.borrow().iter().any(|s| s == name) {
                return Err(Reported);
            }
            let mut known: Vec<String> = self.defs.keys().cloned().collect();
            known.extend(self.computed.borrow().keys().cloned());
            let mut d = Diagnostic::error(
                Code::UnknownFact,
                format!("no component of {} provides `target.{name}`", self.variant),
            )
            .label(span, "this fact is not provided");
            d = match (suggest(name, known.iter().map(String::as_str)), fact_hint(name, self.denies_proprietary)) {
                (Some(s), _) => d.help(format!("did you mean `target.{s}`?")),
                (None, Some(hint)) => d.help(hint),
                (None, None) => d.help(format!(
                    "the facts of this variant are: {}",
                    known.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
                )),
            };
            return Err(ev.error(d));
        };
        self.state.borrow_mut().insert(name.to_string(), State::InProgress);
        let def = &defs[0];
        let env = Env { module: def.module, params: def.params.clone(), facts: Some(self), reads: None };
        let (left, outermost) = (ev.budget.left(), self.nesting.get() == 0);
        self.nesting.set(self.nesting.get() + 1);
        let value = ev.eval(def.expr, &env);
        self.nesting.set(self.nesting.get() - 1);
        if outermost {
            self.saved.set(self.saved.get() + (left - ev.budget.left()));
            if let Ok(v) = &value {
                self.owed.set(self.owed.get() + ev.budget.weight(v));
            }
        }
        let value = match value {
            Ok(v) if v.interpolate().is_some() || matches!(v, Value::List(..)) => Ok(v),
            Ok(v) => Err(ev.error(
                Diagnostic::error(
                    Code::TypeMismatch,
                    format!("a fact is a string, number, boolean or list, not {}", v.describe()),
                )
                .label(def.expr.span, format!("this is {}", v.describe()))
                .help("facts are compared and interpolated: provide one value, like `provides NAME = \"8080\"`, or one fact per entry"),
            )),
            Err(Reported) => Err(Reported),
        };
        self.state.borrow_mut().insert(name.to_string(), State::Done(value.clone()));
        value
    }
}

/// What usually provides a fact, for the help of an unknown-fact error. In
/// a variant that denies proprietary software, the NVIDIA driver's module is
/// no way out (it is not free): what reads the fact belongs elsewhere.
fn fact_hint(name: &str, denies_proprietary: bool) -> Option<&'static str> {
    Some(match name {
        "driver" if denies_proprietary => {
            "the NVIDIA driver comes from its kernel module, which is not free, and this variant denies proprietary software: move what needs the driver to a variant whose policy says `proprietary = allow`"
        }
        "kernel" => "Fedora bases do not pin a kernel; add one, e.g. `kernel kernel.longterm(\"6.18\")`",
        "driver" => "the NVIDIA driver version comes from its kernel module: add `kmod nvidia.open(\"580.95.05\")`",
        "release" => "`release` comes from the base: build `from` a `base` such as `fedora.bootc(44)`",
        _ => return None,
    })
}
