//! Limits on evaluation, so that no recipe costs time or memory out of
//! proportion to its text. The parser bounds how deep the text nests; these
//! bound what evaluation can build from it:
//!
//! * how deep evaluations nest ([`MAX_EVAL_DEPTH`]): a `let` naming a `let`
//!   naming a `let` ... 200,000 deep would overflow the stack;
//! * how deep values nest ([`MAX_VALUE_DEPTH`]): every value is built within
//!   the limit, so every walk over a value (copy, compare, drop) is shallow;
//! * how long chains of `use` and `extends` are ([`MAX_CHAIN`]): each
//!   variant holds its whole chain, so a chain of n is n^2 work;
//! * how much work evaluation does ([`WORK_PER_BYTE`] per byte of source):
//!   `let a1 = [a0, a0]`, forty times, is 2^40 values from 800 bytes.
//!
//! Work is counted in evaluation steps plus the size of every value copied
//! or built (nodes and string bytes), so the limit holds however the work
//! arises.

use super::value::Value;

/// Deepest nesting of evaluations (names through `let`s, facts through
/// facts, calls through default arguments), counted in expressions.
pub const MAX_EVAL_DEPTH: usize = 512;

/// Deepest nesting of values: lists, maps and definitions' arguments.
pub const MAX_VALUE_DEPTH: usize = 64;

/// Work of one evaluation step, and of one value in a list, map or argument
/// list: about their size in bytes, as a string's work is its length, so
/// that the work limit is also a limit on memory.
pub const STEP_WORK: u64 = 2;
pub const NODE_WORK: u64 = 32;

/// Longest chain of layers using layers, and of variants extending variants.
pub const MAX_CHAIN: usize = 64;

/// Most components (bases, layers, kernels, kmods, bodies) in one variant.
pub const MAX_COMPONENTS: usize = 10_000;

/// Work allowed per byte of source (recipes and the modules they import).
pub const WORK_PER_BYTE: u64 = 1024;

/// Work allowed on top, so that a tiny recipe using large stdlib tables fits.
pub const BASE_WORK: u64 = 1 << 23;

/// Work allowed at most, however large the sources: about 4 s and 1.2 GiB
/// of memory at worst (values that double, kept in `let`s), while a project
/// of 1,000 images like the flagship needs 2% of it. Below the cap, the
/// limit grows with the text, so that one list of 2,000 packages used by
/// 1,500 images (3 million package names from 112 KB) still fits.
pub const MAX_WORK: u64 = 1 << 29;

/// What is left of a resolve's work and how deep it is now.
#[derive(Clone)]
pub struct Budget {
    left: u64,
    total: u64,
    pub depth: usize,
    /// Set once the work is used up, so that the error is reported once.
    pub exhausted: bool,
}

impl Budget {
    /// The budget for sources of `bytes` bytes in all.
    pub fn for_source_bytes(bytes: usize) -> Budget {
        let total = BASE_WORK.saturating_add(WORK_PER_BYTE.saturating_mul(bytes as u64)).min(MAX_WORK);
        Budget { left: total, total, depth: 0, exhausted: false }
    }

    /// A budget of `left` work with this one's total (for messages), for an
    /// evaluator that does part of the work (resolve/mod.rs, images on
    /// every core).
    pub fn share(&self, left: u64) -> Budget {
        Budget { left: left.min(self.left), total: self.total, depth: 0, exhausted: false }
    }

    /// The work not spent yet.
    pub fn left(&self) -> u64 {
        self.left
    }

    /// The whole budget, for messages.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Takes `work` units; `false` when they are not there (the budget is
    /// then used up for good).
    pub fn spend(&mut self, work: u64) -> bool {
        if self.exhausted {
            return false;
        }
        match self.left.checked_sub(work) {
            Some(rest) => {
                self.left = rest;
                true
            }
            None => {
                self.left = 0;
                self.exhausted = true;
                false
            }
        }
    }

    /// Gives back `work` units, for debug builds that evaluate a memo hit
    /// again to check it (image/memoized.rs).
    #[cfg(debug_assertions)]
    pub fn refund(&mut self, work: u64) {
        self.left = self.left.saturating_add(work);
    }

    /// How much work copying `value` is: [`NODE_WORK`] per value and one per
    /// string byte, counted no further than what is left (so that measuring
    /// costs no more than the copy would). Instances are shared: copying one
    /// is a reference count.
    pub fn weight(&self, value: &Value) -> u64 {
        work(value, self.left.saturating_add(1), false)
    }
}

/// How much work walking `value` whole is (comparing it with an equal
/// value, say): like [`Budget::weight`], with every instance's arguments
/// unfolded (instances know their own, so this is linear in the value).
pub fn unfolded(value: &Value) -> u64 {
    work(value, u64::MAX, true)
}

/// [`NODE_WORK`] per value and one per string byte (and key byte), with
/// instances unfolded or not; the count stops once it reaches `cap`.
fn work(value: &Value, cap: u64, unfold: bool) -> u64 {
    let mut sum = NODE_WORK;
    match value {
        Value::Str(s, _) | Value::Secret(s) | Value::File(s) | Value::Script(s) | Value::NonFree(s) => {
            sum = sum.saturating_add(s.len() as u64);
        }
        Value::List(items, _) => {
            for item in items {
                if sum >= cap {
                    break;
                }
                sum = sum.saturating_add(work(item, cap - sum, unfold));
            }
        }
        Value::Map(entries) => {
            for (key, item) in entries {
                if sum >= cap {
                    break;
                }
                sum = sum.saturating_add(key.len() as u64);
                sum = sum.saturating_add(work(item, cap.saturating_sub(sum), unfold));
            }
        }
        Value::Instance(inst) if unfold => sum = sum.saturating_add(inst.unfolded()),
        Value::Instance(_)
        | Value::Int(_)
        | Value::Bool(_)
        | Value::Duration(_)
        | Value::Symbol(_)
        | Value::Image(_)
        | Value::Module(_) => {}
    }
    sum
}

/// How deep `value` nests (a string is 1, a list of strings 2). Values are
/// built no deeper than [`MAX_VALUE_DEPTH`], so the walk stays shallow.
pub fn depth<'v>(values: impl IntoIterator<Item = &'v Value>) -> usize {
    values
        .into_iter()
        .map(|v| {
            1 + match v {
                Value::List(items, _) => depth(items),
                Value::Map(entries) => depth(entries.values()),
                Value::Instance(inst) => inst.depth(),
                _ => 0,
            }
        })
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spending_past_the_end_exhausts_for_good() {
        let mut b = Budget { left: 10, total: 10, depth: 0, exhausted: false };
        assert!(b.spend(4));
        assert!(!b.spend(7));
        assert!(b.exhausted);
        assert!(!b.spend(0));
    }

    #[test]
    fn weight_counts_nodes_and_bytes_and_stops_at_what_is_left() {
        let b = Budget::for_source_bytes(0);
        let at = crate::source::Span::new(crate::source::SourceId(0), 0, 0);
        let v = Value::List(vec![Value::Str("x".repeat(80), at), Value::Int(1)], at);
        assert_eq!(b.weight(&v), NODE_WORK + (NODE_WORK + 80) + NODE_WORK);
        let small = Budget { left: 2 * NODE_WORK, total: 2 * NODE_WORK, depth: 0, exhausted: false };
        let big = Value::List((0..1000).map(Value::Int).collect(), at);
        assert_eq!(small.weight(&big), 3 * NODE_WORK);
    }

    #[test]
    fn walks_unfold_instances_and_copies_do_not() {
        use crate::source::{SourceId, Span};
        let inner = Value::Instance(std::rc::Rc::new(super::super::value::Instance::new(
            super::super::value::DefId(0),
            crate::syntax::ast::DefKind::Layer,
            "l".into(),
            [("a".to_string(), Value::Str("x".repeat(100), Span::new(SourceId(0), 0, 0)))].into_iter().collect(),
            Span::new(SourceId(0), 0, 0),
        )));
        let twice = Value::List(vec![inner.clone(), inner], Span::new(SourceId(0), 0, 0));
        assert_eq!(Budget::for_source_bytes(0).weight(&twice), 3 * NODE_WORK);
        assert_eq!(unfolded(&twice), NODE_WORK + 2 * (NODE_WORK + NODE_WORK + 100));
    }

    #[test]
    fn depth_counts_containers() {
        let at = crate::source::Span::new(crate::source::SourceId(0), 0, 0);
        let v = Value::List(vec![Value::List(vec![Value::Str("a".into(), at)], at), Value::Int(1)], at);
        assert_eq!(depth([&v]), 3);
        assert_eq!(depth(std::iter::empty()), 0);
    }
}
