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
/// diagnostics): the same for every call, unlike a map's.
pub fn fingerprinter() -> foldhash::fast::FoldHasher<'static> {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::with_seed(0x6169_6463).build_hasher()
}
