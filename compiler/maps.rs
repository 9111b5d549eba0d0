//! The compiler's hash maps and sets: std's and indexmap's with foldhash's
//! hasher in place of SipHash, which was 7% of a large project's
//! instructions (docs/performance.md). Seeded per process like std's, so
//! nothing may depend on a map's order (the `iter_over_hash_type` lint);
//! foldhash is "minimally DoS-resistant": enough for a process that reads a
//! repository once and exits, whose seed an attacker never sees.

/// A [`std::collections::HashMap`] hashed by foldhash.
pub type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// A [`std::collections::HashSet`] hashed by foldhash.
pub type HashSet<T> = std::collections::HashSet<T, foldhash::fast::RandomState>;

/// An [`indexmap::IndexMap`] (insertion order) hashed by foldhash.
pub type IndexMap<K, V> = indexmap::IndexMap<K, V, foldhash::fast::RandomState>;

/// An [`indexmap::IndexSet`] (insertion order) hashed by foldhash.
pub type IndexSet<T> = indexmap::IndexSet<T, foldhash::fast::RandomState>;

/// A hasher for fingerprints kept within one run (memo keys, repeated
/// diagnostics): the same for every call of a run, seeded per process like
/// the maps. A seed written in the source let a recipe choose arguments
/// whose fingerprints all collide (foldhash's folded multiply by zero), and
/// the layer memo scanned them all for each use (docs/hardening.md).
pub fn fingerprinter() -> foldhash::quality::FoldHasher<'static> {
    use std::hash::BuildHasher;
    static STATE: std::sync::OnceLock<foldhash::quality::RandomState> = std::sync::OnceLock::new();
    STATE.get_or_init(foldhash::quality::RandomState::default).build_hasher()
}
