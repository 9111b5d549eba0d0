//! Results of evaluating a definition's instance kept per (definition,
//! arguments), not evaluated again for every variant: 100 images using
//! `cuda.runtime("13.0")` evaluate its metadata once (docs/performance.md,
//! stop 20). The image layer decides what it keeps (any type) and when; the
//! rules it follows, for the metadata (`image/content.rs`):
//!
//! A result is kept only when it cannot depend on where or when it was
//! evaluated, and a reuse costs what an evaluation would have cost:
//!
//! * no `target.*` fact was read (facts are per variant), and nothing was
//!   reported or failed (errors carry the call site and the `use` chain,
//!   and are reported where they happen);
//! * the license's value, the only value kept with its span, was written in
//!   the definition itself (an argument's span is the caller's);
//! * the work budget: the result is kept at the second evaluation of the
//!   same key, when the `let`s it reads are cached as they will stay, and
//!   a reuse spends exactly that evaluation's work; when that much is not
//!   left, the component is evaluated again, so the budget runs out at the
//!   same expression with the same error as without the memo. The key holds
//!   the evaluation depth, so the depth limit is met the same way too;
//! * only instances small to compare are kept (comparing equal instances
//!   built apart costs their unfolded size), at most a few per fingerprint.

use crate::maps::HashMap;
use std::any::Any;
use std::rc::Rc;

use super::value::{DefId, Instance, Value};
use crate::model::ComponentKind;
use crate::source::Span;

/// Largest [`Instance::unfolded`] size of a kept instance.
const MAX_UNFOLDED: u64 = 4096;

/// Most instances kept under one key (equal fingerprints of distinct
/// arguments are collisions: rare, unless crafted).
const MAX_PER_KEY: usize = 4;

/// The definition, the fingerprint of its arguments, the kind of component
/// and the evaluation depth it is evaluated at.
type Key = (DefId, u64, ComponentKind, usize);

enum State {
    /// Evaluated once: the `let`s it read were cached by that evaluation.
    Seen,
    /// The result and the work its evaluation spent.
    Known(Rc<dyn Any>, u64),
}

/// The kept results.
#[derive(Default)]
pub struct Memo {
    entries: HashMap<Key, Vec<(Rc<Instance>, State)>>,
}

/// What a lookup found.
pub enum Lookup {
    /// A kept result and the work to spend for it.
    Known(Rc<dyn Any>, u64),
    /// Not kept: evaluate, then [`Memo::record`] with this.
    Evaluate(Option<Slot>),
}

/// Where a new evaluation's result goes.
pub struct Slot {
    key: Key,
    instance: Rc<Instance>,
    keep: bool,
}

impl Memo {
    /// The kept result of `instance` evaluated as a `kind` at `depth`.
    pub fn lookup(&self, instance: &Rc<Instance>, kind: ComponentKind, depth: usize) -> Lookup {
        if instance.unfolded() > MAX_UNFOLDED {
            return Lookup::Evaluate(None);
        }
        let key = (instance.def, instance.fingerprint(), kind, depth);
        let found = self.entries.get(&key).and_then(|list| list.iter().find(|(i, _)| i.same_as(instance)));
        match found {
            Some((_, State::Known(kept, cost))) => Lookup::Known(kept.clone(), *cost),
            Some((_, State::Seen)) => Lookup::Evaluate(Some(Slot { key, instance: instance.clone(), keep: true })),
            None => Lookup::Evaluate(Some(Slot { key, instance: instance.clone(), keep: false })),
        }
    }

    /// Records an evaluation of the slot's instance, which spent `cost`
    /// work, when it was `clean` (see the module's comment); `result` is
    /// called only when the result is kept.
    pub fn record(&mut self, slot: Slot, clean: bool, cost: u64, result: impl FnOnce() -> Rc<dyn Any>) {
        if !clean {
            return;
        }
        let list = self.entries.entry(slot.key).or_default();
        let state = if slot.keep { State::Known(result(), cost) } else { State::Seen };
        if let Some(entry) = list.iter_mut().find(|(i, _)| i.same_as(&slot.instance)) {
            entry.1 = state;
        } else if list.len() < MAX_PER_KEY {
            list.push((slot.instance, state));
        }
    }
}

/// Whether a license value was written inside the definition `body` starts
/// (its name) and ends (its body): then every use has the same span.
pub fn license_is_own(license: &Option<(Value, Span)>, name: Span, body: Span) -> bool {
    match license {
        None => true,
        Some((Value::Str(_, at), _)) => at.source == name.source && name.start <= at.start && at.end <= body.end,
        Some((Value::NonFree(_) | Value::Symbol(_), _)) => true,
        Some(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use crate::maps::IndexMap;

    use super::*;
    use crate::model::Changes;
    use crate::source::SourceId;
    use crate::syntax::ast::DefKind;

    fn at(start: usize, end: usize) -> Span {
        Span::new(SourceId(0), start, end)
    }

    fn instance(arg: &str, call: Span) -> Rc<Instance> {
        let mut args = IndexMap::default();
        args.insert("v".to_string(), Value::Str(arg.to_string(), call));
        Rc::new(Instance::new(DefId(3), DefKind::Layer, "m.l".into(), args, call))
    }

    fn known(l: Lookup) -> Option<(Changes, u64)> {
        match l {
            Lookup::Known(kept, cost) => Some((*kept.downcast_ref::<Changes>().expect("a Changes"), cost)),
            Lookup::Evaluate(_) => None,
        }
    }

    fn slot(l: Lookup) -> Slot {
        match l {
            Lookup::Evaluate(Some(s)) => s,
            _ => panic!("expected a slot"),
        }
    }

    #[test]
    fn kept_at_the_second_clean_evaluation_for_equal_arguments_from_anywhere() {
        let mut m = Memo::default();
        let first = instance("1.0", at(1, 2));
        m.record(slot(m.lookup(&first, ComponentKind::Layer, 0)), true, 50, || Rc::new(Changes::Weekly));
        // Seen once: the first evaluation also filled the `let` cache.
        let again = instance("1.0", at(7, 9));
        assert!(known(m.lookup(&again, ComponentKind::Layer, 0)).is_none());
        m.record(slot(m.lookup(&again, ComponentKind::Layer, 0)), true, 40, || Rc::new(Changes::Weekly));
        let third = instance("1.0", at(20, 25));
        assert_eq!(known(m.lookup(&third, ComponentKind::Layer, 0)), Some((Changes::Weekly, 40)));
        // Another argument, kind or depth is another key.
        assert!(known(m.lookup(&instance("2.0", at(1, 2)), ComponentKind::Layer, 0)).is_none());
        assert!(known(m.lookup(&third, ComponentKind::Kmod, 0)).is_none());
        assert!(known(m.lookup(&third, ComponentKind::Layer, 1)).is_none());
    }

    #[test]
    fn an_evaluation_that_was_not_clean_is_never_kept() {
        let mut m = Memo::default();
        let i = instance("1.0", at(1, 2));
        for _ in 0..3 {
            m.record(slot(m.lookup(&i, ComponentKind::Layer, 0)), false, 10, || Rc::new(Changes::Often));
        }
        assert!(known(m.lookup(&i, ComponentKind::Layer, 0)).is_none());
    }

    #[test]
    fn a_license_is_own_only_when_written_in_the_definition() {
        let (name, body) = (at(100, 105), at(106, 200));
        let lic = |v: Value| Some((v, at(150, 160)));
        assert!(license_is_own(&None, name, body));
        assert!(license_is_own(&lic(Value::Str("MIT".into(), at(150, 155))), name, body));
        assert!(license_is_own(&lic(Value::NonFree("x".into())), name, body));
        // An argument's string carries the caller's span.
        assert!(!license_is_own(&lic(Value::Str("MIT".into(), at(10, 15))), name, body));
        let other_file = Span::new(SourceId(1), 150, 155);
        assert!(!license_is_own(&lic(Value::Str("MIT".into(), other_file)), name, body));
    }
}
