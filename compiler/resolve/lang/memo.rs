//! Results of evaluating a definition's instance kept per (definition,
//! arguments), not evaluated again for every variant: 100 images using
//! `cuda.runtime("13.0")` evaluate its metadata and steps once
//! (docs/performance.md, stops 20 and 25). The image layer decides what it
//! keeps (any type) and when; the rules it follows, for a component's
//! metadata and steps and for a repository (`image/memoized.rs`):
//!
//! A result is kept only when it cannot depend on where or when it was
//! evaluated, and a reuse costs what an evaluation would have cost:
//!
//! * the `target.*` facts it read have the same values (facts are per
//!   variant): each kept result holds the facts its evaluation read, in
//!   order, with their values, and is reused only in a variant where all of
//!   them are already evaluated and equal (the work of evaluating a fact
//!   for the first time in a variant is not part of the kept cost, as a
//!   reuse finds it evaluated), or are sure to evaluate to them: a fact
//!   not read yet that its one provider gives as one of its parameters
//!   (`Facts::pending`). The reuse then reads those first, and spends what
//!   the evaluation would have (their reading, the rest of its work), when
//!   twice that is left: the budget cannot run out while it reads them, so
//!   it runs out where it would without the memo (`cuda.cuda-repo` reads
//!   the base's `release`, which nothing had read yet: it was evaluated
//!   again in every variant, 5% of a large resolve);
//! * nothing was reported or failed (errors carry the call site and the
//!   `use` chain, and are reported where they happen);
//! * what is kept names nothing of the caller: a step's span is its
//!   statement's, a repository's use is set by the caller after the memo,
//!   and a license's value, the only value kept with its span, was written
//!   in the definition itself (an argument's span is the caller's);
//! * the work budget: the result is kept at the second evaluation of the
//!   same key with the same facts, when the `let`s it reads are cached as
//!   they will stay, and a reuse spends exactly that evaluation's work
//!   (see the first point for the facts'); when that much is not
//!   left, the component is evaluated again, so the budget runs out at the
//!   same expression with the same error as without the memo. The key holds
//!   the evaluation depth, so the depth limit is met the same way too;
//! * only instances small to compare are kept (comparing equal instances
//!   built apart costs their unfolded size), at most a few per fingerprint;
//! * instances and fact values are compared with `identical`, not `==`:
//!   maps are `==` whatever their order, but print and iterate in the
//!   order written, so `l({"a" = "x", "b" = "y"})` and
//!   `l({"b" = "y", "a" = "x"})` are kept apart (an attacker review found
//!   the arguments of the second printed as the first's).

use crate::maps::HashMap;
use std::any::Any;
use std::rc::Rc;

use super::value::{DefId, Instance, Value};
use crate::model::ComponentKind;
use crate::source::Span;

/// Largest [`Instance::unfolded`] size of a kept instance.
const MAX_UNFOLDED: u64 = 4096;

/// Most entries kept under one key: an instance with a few values of the
/// facts it reads (one per architecture, say), and equal fingerprints of
/// distinct arguments, which are collisions: rare, unless crafted.
const MAX_PER_KEY: usize = 4;

/// What of an instance is kept: each part is evaluated in its own phase of
/// a variant's assembly (image/variant.rs), a component's as the kind of
/// component it is used as.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Part {
    /// Properties and metadata (`license`, `changes`, ...).
    Metadata(ComponentKind),
    /// The steps (`packages`, `write`, `run`, ...).
    Steps(ComponentKind),
    /// A repository, but for where it is used.
    Repo,
    /// The arguments as written in the outputs (`describe` in plan/layer.rs):
    /// no evaluation, but formatting them for every variant was 3% of a
    /// large compile.
    Args,
}

/// The definition, the fingerprint of its arguments, the evaluation depth
/// it is evaluated at, and the part kept.
type Key = (DefId, u64, usize, Part);

/// The facts an evaluation read, in the order it first read them, with the
/// values they had: a result is reused only where they are the same.
pub type Read = Rc<[(String, Value)]>;

enum State {
    /// Evaluated once: the `let`s it read were cached by that evaluation.
    Seen,
    /// The result and the work its evaluation spent.
    Known(Rc<dyn Any>, u64),
}

/// One instance evaluated with some values of the facts it read.
struct Entry {
    instance: Rc<Instance>,
    read: Read,
    state: State,
}

/// The kept results.
#[derive(Default)]
pub struct Memo {
    entries: HashMap<Key, Vec<Entry>>,
}

/// What a lookup found.
pub enum Lookup {
    /// A kept result, the work to spend for it and the facts it read.
    Known(Rc<dyn Any>, u64, Read),
    /// Not kept: evaluate, then [`Memo::record`] with this.
    Evaluate(Option<Slot>),
}

/// Where a new evaluation's result goes.
pub struct Slot {
    key: Key,
    instance: Rc<Instance>,
}

impl Memo {
    /// The kept `part` of `instance` evaluated at `depth`, by an evaluation
    /// whose facts `agrees` says have the same values now.
    pub fn lookup(
        &self,
        instance: &Rc<Instance>,
        depth: usize,
        part: Part,
        agrees: impl Fn(&[(String, Value)]) -> bool,
    ) -> Lookup {
        if instance.unfolded() > MAX_UNFOLDED {
            return Lookup::Evaluate(None);
        }
        let key = (instance.def, instance.fingerprint(), depth, part);
        let found = self
            .entries
            .get(&key)
            .and_then(|list| list.iter().find(|e| e.instance.identical(instance) && agrees(&e.read)));
        match found {
            Some(Entry { state: State::Known(kept, cost), read, .. }) => {
                Lookup::Known(kept.clone(), *cost, read.clone())
            }
            _ => Lookup::Evaluate(Some(Slot { key, instance: instance.clone() })),
        }
    }

    /// Records an evaluation of the slot's instance that read the facts
    /// `read` and spent `cost` work, when it was `clean` (see the module's
    /// comment). The first such evaluation is seen, the second is kept:
    /// `result` is called only then.
    pub fn record(&mut self, slot: Slot, clean: bool, cost: u64, read: Read, result: impl FnOnce() -> Rc<dyn Any>) {
        if !clean {
            return;
        }
        let list = self.entries.entry(slot.key).or_default();
        let same_read = |kept: &Read| {
            kept.len() == read.len() && kept.iter().zip(read.iter()).all(|((a, x), (b, y))| a == b && x.identical(y))
        };
        if let Some(e) = list.iter_mut().find(|e| e.instance.identical(&slot.instance) && same_read(&e.read)) {
            if let State::Seen = e.state {
                e.state = State::Known(result(), cost);
            }
        } else if list.len() < MAX_PER_KEY {
            list.push(Entry { instance: slot.instance, read, state: State::Seen });
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
            Lookup::Known(kept, cost, _) => Some((*kept.downcast_ref::<Changes>().expect("a Changes"), cost)),
            Lookup::Evaluate(_) => None,
        }
    }

    fn slot(l: Lookup) -> Slot {
        match l {
            Lookup::Evaluate(Some(s)) => s,
            _ => panic!("expected a slot"),
        }
    }

    const LAYER: Part = Part::Metadata(ComponentKind::Layer);

    /// Facts that agree with every kept evaluation (none read).
    fn any(_: &[(String, Value)]) -> bool {
        true
    }

    fn none_read() -> Read {
        Rc::new([])
    }

    fn arch(a: &str) -> Read {
        Rc::new([("arch".to_string(), Value::Str(a.to_string(), at(0, 0)))])
    }

    /// Facts where `target.arch` is `now`.
    fn arch_is(now: &str) -> impl Fn(&[(String, Value)]) -> bool + '_ {
        move |read| read.iter().all(|(n, v)| n == "arch" && *v == Value::Str(now.to_string(), at(5, 6)))
    }

    #[test]
    fn kept_at_the_second_clean_evaluation_for_equal_arguments_from_anywhere() {
        let mut m = Memo::default();
        let first = instance("1.0", at(1, 2));
        m.record(slot(m.lookup(&first, 0, LAYER, any)), true, 50, none_read(), || Rc::new(Changes::Weekly));
        // Seen once: the first evaluation also filled the `let` cache.
        let again = instance("1.0", at(7, 9));
        assert!(known(m.lookup(&again, 0, LAYER, any)).is_none());
        m.record(slot(m.lookup(&again, 0, LAYER, any)), true, 40, none_read(), || Rc::new(Changes::Weekly));
        let third = instance("1.0", at(20, 25));
        assert_eq!(known(m.lookup(&third, 0, LAYER, any)), Some((Changes::Weekly, 40)));
        // Another argument, kind, depth or part is another key.
        assert!(known(m.lookup(&instance("2.0", at(1, 2)), 0, LAYER, any)).is_none());
        assert!(known(m.lookup(&third, 0, Part::Metadata(ComponentKind::Kmod), any)).is_none());
        assert!(known(m.lookup(&third, 1, LAYER, any)).is_none());
        assert!(known(m.lookup(&third, 0, Part::Steps(ComponentKind::Layer), any)).is_none());
    }

    #[test]
    fn an_evaluation_that_was_not_clean_is_never_kept() {
        let mut m = Memo::default();
        let i = instance("1.0", at(1, 2));
        for _ in 0..3 {
            m.record(slot(m.lookup(&i, 0, LAYER, any)), false, 10, none_read(), || Rc::new(Changes::Often));
        }
        assert!(known(m.lookup(&i, 0, LAYER, any)).is_none());
    }

    #[test]
    fn a_result_is_reused_only_where_the_facts_it_read_agree() {
        let mut m = Memo::default();
        let i = instance("1.0", at(1, 2));
        let steps = Part::Steps(ComponentKind::Layer);
        for (a, changes) in [("x86_64", Changes::Weekly), ("aarch64", Changes::Often)] {
            for _ in 0..2 {
                m.record(slot(m.lookup(&i, 0, steps, arch_is(a))), true, 30, arch(a), || Rc::new(changes));
            }
        }
        // Each architecture has its own result, kept side by side.
        assert_eq!(known(m.lookup(&i, 0, steps, arch_is("x86_64"))), Some((Changes::Weekly, 30)));
        assert_eq!(known(m.lookup(&i, 0, steps, arch_is("aarch64"))), Some((Changes::Often, 30)));
        assert!(known(m.lookup(&i, 0, steps, arch_is("ppc64le"))).is_none());
        // A variant where the fact is not known yet finds nothing.
        assert!(known(m.lookup(&i, 0, steps, |read: &[(String, Value)]| read.is_empty())).is_none());
    }

    #[test]
    fn maps_written_in_another_order_are_another_instance() {
        let map = |pairs: &[(&str, &str)]| {
            let entries = pairs.iter().map(|(k, v)| (k.to_string(), Value::Str(v.to_string(), at(0, 0)))).collect();
            let mut args = IndexMap::default();
            args.insert("m".to_string(), Value::Map(entries));
            Rc::new(Instance::new(DefId(3), DefKind::Layer, "m.l".into(), args, at(1, 2)))
        };
        let (ab, ba) = (map(&[("a", "x"), ("b", "y")]), map(&[("b", "y"), ("a", "x")]));
        // Equal as values, but they print (and iterate) in another order.
        assert!(ab.same_as(&ba) && !ab.identical(&ba));
        let mut m = Memo::default();
        for _ in 0..2 {
            m.record(slot(m.lookup(&ab, 0, Part::Args, any)), true, 0, none_read(), || Rc::new(Changes::Weekly));
        }
        assert_eq!(known(m.lookup(&ab, 0, Part::Args, any)), Some((Changes::Weekly, 0)));
        assert!(known(m.lookup(&ba, 0, Part::Args, any)).is_none());
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
