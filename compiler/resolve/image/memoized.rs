//! A part of a component (its metadata, its steps) or a repository
//! evaluated through the instance memo (`lang/memo.rs`, whose comment gives the rules): a kept
//! result when there is one for these facts and the work budget has its
//! cost, otherwise an evaluation, kept when it was clean.

use std::any::Any;
use std::cell::RefCell;
use std::rc::Rc;

use super::eval::Evaluator;
use super::facts::Facts;
use super::memo::{Lookup, Part, Read};
use super::value::Instance;

/// The `part` of `instance` in the variant of `facts`. `evaluate` gets the
/// list of facts read (each name once, in the order first read) and a flag
/// to clear when an evaluation fails (some fail without a new report: a
/// repeat); `own` says whether a result names
/// nothing of its caller (no span of an argument). Bodies of the recipe
/// have no instance (`None`) and are always evaluated.
pub fn memoized<'p, T: Clone + std::fmt::Debug + 'static>(
    ev: &mut Evaluator<'p>,
    instance: Option<&Rc<Instance>>,
    part: Part,
    facts: &Facts<'p>,
    reads: &RefCell<Vec<String>>,
    evaluate: impl Fn(&mut Evaluator<'p>, &RefCell<Vec<String>>, &mut bool) -> T,
    own: impl FnOnce(&Evaluator<'p>, &T) -> bool,
) -> T {
    let Some(instance) = instance.filter(|_| !hooks::memo_off()) else {
        return evaluate(ev, reads, &mut true);
    };
    let agrees = |read: &[(String, _)]| {
        read.iter().all(|(name, value)| {
            facts.settled_as(name, value) || facts.pending(name).is_some_and(|v| v.identical(value))
        })
    };
    let slot = match ev.memo.lookup(instance, ev.budget.depth, part, agrees) {
        Lookup::Known(kept, cost, read) if !ev.budget.exhausted && kept.downcast_ref::<T>().is_some() => {
            let pending: Vec<&str> =
                read.iter().filter(|(name, _)| !facts.is_settled(name)).map(|(name, _)| name.as_str()).collect();
            // Reading a pending fact costs a step and a copy of its value;
            // the kept cost holds that copy (a reuse found the fact read).
            let copies: u64 = read
                .iter()
                .filter(|(name, _)| pending.contains(&name.as_str()))
                .map(|(_, value)| ev.budget.weight(value))
                .sum();
            let needed = cost.saturating_add(pending.len() as u64 * super::budget::STEP_WORK);
            // Twice what the reuse spends: the weights of the copies are
            // exact (not capped by what is left) here and in an evaluation.
            let room = if pending.is_empty() { cost } else { needed.saturating_mul(2) };
            if ev.budget.left() >= room {
                // The pending facts are read first, as the evaluation would
                // read them: the same values, nothing reported, the same
                // work in all (Facts::pending) and the same first reads.
                for name in &pending {
                    let read = facts.get(ev, name, instance.call);
                    debug_assert!(read.is_ok(), "a pending fact failed to read");
                    hooks::read_early();
                }
                let result = kept.downcast_ref::<T>().expect("checked above");
                // Exactly the work the evaluation would spend, which is there.
                let spent = ev.budget.spend(cost - copies.min(cost));
                debug_assert!(spent);
                #[cfg(debug_assertions)]
                check_reuse(ev, result, cost, &read, &evaluate);
                let mut r = reads.borrow_mut();
                for (name, _) in read.iter() {
                    if !r.contains(name) {
                        r.push(name.clone());
                    }
                }
                return result.clone();
            }
            None
        }
        Lookup::Known(..) => None,
        Lookup::Evaluate(slot) => slot,
    };
    let Some(slot) = slot else {
        return evaluate(ev, reads, &mut true);
    };
    let (reports, left, read_before, (saved, owed)) =
        (ev.reports, ev.budget.left(), reads.borrow().len(), facts.first_reads());
    let mut clean = true;
    let result = evaluate(ev, reads, &mut clean);
    let read: Option<Read> =
        reads.borrow()[read_before..].iter().map(|name| facts.settled(name).map(|v| (name.clone(), v))).collect();
    let clean = clean && ev.reports == reports && !ev.budget.exhausted && read.is_some() && own(ev, &result);
    // A reuse finds the facts evaluated: it spends the work of this
    // evaluation but for theirs, and copies their values (Facts::first_reads).
    let (saved_now, owed_now) = facts.first_reads();
    let cost = (left - ev.budget.left()) - (saved_now - saved) + (owed_now - owed);
    let read = read.unwrap_or_else(|| Rc::new([]));
    ev.memo.record(slot, clean, cost, read, || Rc::new(result.clone()) as Rc<dyn Any>);
    result
}

/// Debug builds evaluate a reused part again and check that it is what was
/// kept, read the same facts, reported nothing and cost the same: every
/// test case checks the memo. The work is given back, so the budget runs
/// out where a release build's does.
#[cfg(debug_assertions)]
fn check_reuse<'p, T: std::fmt::Debug>(
    ev: &mut Evaluator<'p>,
    kept: &T,
    cost: u64,
    read: &Read,
    evaluate: &impl Fn(&mut Evaluator<'p>, &RefCell<Vec<String>>, &mut bool) -> T,
) {
    let saved = ev.budget.clone();
    let reports = ev.reports;
    ev.budget.refund(cost);
    let (reads, mut clean) = (RefCell::new(Vec::new()), true);
    let left = ev.budget.left();
    let again = evaluate(ev, &reads, &mut clean);
    // Compared as printed, spans included (values have no `==` that sees them).
    assert_eq!(format!("{again:?}"), format!("{kept:?}"), "a memo hit differs from evaluating again");
    assert!(clean && ev.reports == reports, "a kept evaluation is no longer clean");
    assert!(reads.borrow().iter().eq(read.iter().map(|(name, _)| name)), "a kept evaluation reads other facts now");
    assert_eq!(left - ev.budget.left(), cost, "a kept evaluation costs other work now");
    ev.budget = saved;
}

/// What the tests see of the memo: whether it is turned off (every part
/// evaluated), and how many facts a reuse read before the evaluation would
/// have. Nothing in other builds.
#[cfg(not(test))]
mod hooks {
    pub fn memo_off() -> bool {
        false
    }
    pub fn read_early() {}
}

#[cfg(test)]
pub mod hooks {
    use std::cell::Cell;

    thread_local! {
        static OFF: Cell<bool> = const { Cell::new(false) };
        static READ_EARLY: Cell<usize> = const { Cell::new(0) };
    }

    pub fn memo_off() -> bool {
        OFF.get()
    }

    pub fn read_early() {
        READ_EARLY.set(READ_EARLY.get() + 1);
    }

    /// `f` run with the memo on or off; how many facts it read early.
    pub fn with_memo<R>(on: bool, f: impl FnOnce() -> R) -> (R, usize) {
        OFF.set(!on);
        READ_EARLY.set(0);
        let r = f();
        OFF.set(false);
        (r, READ_EARLY.get())
    }
}
