//! Work over many independent items (images, segments of a large file)
//! split over the machine's cores, in order, only when there are enough
//! items to pay for the threads: a recipe of a few images runs on the
//! calling thread and starts no pool.

use rayon::prelude::*;

/// Fewer items than this run on the calling thread: planning or emitting a
/// few images takes a few milliseconds, and a recipe of one or two (the
/// usual) should not start threads at all (docs/performance.md).
pub const MIN_ITEMS: usize = 16;

/// At most this many chunks per core: more, and the last one to finish
/// leaves the other cores idle for less time; fewer, and each chunk's memo
/// (resolve's instances, planning's layers) is warmed up fewer times.
pub const CHUNKS_PER_CORE: usize = 8;

/// `f` over contiguous chunks of `items`, the results in the chunks' order.
/// A chunk is at least `MIN_ITEMS / 2` items, and there are a few chunks per
/// core so that a slow chunk does not keep the others waiting. With fewer
/// than [`MIN_ITEMS`] items, or without workers ([`pool`]), `f` runs once
/// over all of them on the calling thread.
pub fn chunks<T: Sync, R: Send>(items: &[T], f: impl Fn(&[T]) -> R + Sync) -> Vec<R> {
    let pool = if items.len() < MIN_ITEMS { None } else { pool() };
    let Some(pool) = pool else {
        return vec![f(items)];
    };
    let size = items.len().div_ceil(cores() * CHUNKS_PER_CORE).max(MIN_ITEMS / 2);
    // Each chunk a job of its own: rayon's adaptive splitter stops halving
    // at about two pieces per thread, so eight chunks ran as four jobs of
    // two, and the last job kept one core busy alone for 40 ms of resolving
    // 1,000 images (and again in planning them).
    pool.install(|| items.par_chunks(size).with_max_len(1).map(&f).collect())
}

/// `step` over every item, on every core for many items: each worker keeps
/// state of its own (`start` makes it, `finish` turns it into what the
/// caller gets back) and takes the next item in order whenever it is free,
/// so the cores finish within an item of each other, and a worker's state
/// (a memo) is warmed up once, not once per chunk. Each worker sees its
/// items in increasing order. `step` returning `None` stops every worker at
/// its next item, and then the whole is `None`. Returns the results in the
/// items' order and the workers' finished states; with fewer than
/// [`MIN_ITEMS`] items, or without workers, one state over all of them on
/// the calling thread.
pub fn pulled<'t, T: Sync, S, R: Send, F: Send>(
    items: &'t [T],
    start: impl Fn() -> S + Sync,
    step: impl Fn(&mut S, &'t T) -> Option<R> + Sync,
    finish: impl Fn(S) -> F + Sync,
) -> Option<(Vec<R>, Vec<F>)> {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let pool = if items.len() < MIN_ITEMS { None } else { pool() };
    let Some(pool) = pool else {
        let mut state = start();
        let results = items.iter().map(|item| step(&mut state, item)).collect::<Option<Vec<R>>>()?;
        return Some((results, vec![finish(state)]));
    };
    let (next, stopped) = (AtomicUsize::new(0), AtomicBool::new(false));
    let workers = pool.broadcast(|_| {
        let mut state = start();
        let mut done = Vec::new();
        while !stopped.load(Ordering::Relaxed) {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(i) else { break };
            match step(&mut state, item) {
                Some(r) => done.push((i, r)),
                None => stopped.store(true, Ordering::Relaxed),
            }
        }
        (done, finish(state))
    });
    if stopped.into_inner() {
        return None;
    }
    let mut slots: Vec<Option<R>> = std::iter::repeat_with(|| None).take(items.len()).collect();
    let mut states = Vec::with_capacity(workers.len());
    for (done, state) in workers {
        for (i, r) in done {
            slots[i] = Some(r);
        }
        states.push(state);
    }
    // Every index below the length was taken by a worker, which ran it.
    let results = slots.into_iter().map(|r| r.expect("every item was stepped")).collect();
    Some((results, states))
}

/// `f` over each of `items`, the results in order: on every core when
/// there are several items and cores (the caller made each item worth a
/// thread), else on the calling thread.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let pool = if items.len() < 2 { None } else { pool() };
    let Some(pool) = pool else {
        return items.iter().map(f).collect();
    };
    pool.install(|| items.par_iter().map(&f).collect())
}

/// `a` and `b`, on two cores when `worth` it (the caller's measure: two
/// halves of work over many items) and there are workers, else one after
/// the other on the calling thread.
pub fn join<A: Send, B: Send>(worth: bool, a: impl FnOnce() -> A + Send, b: impl FnOnce() -> B + Send) -> (A, B) {
    // Asked only when worth it: asking starts the workers.
    match if worth { pool() } else { None } {
        Some(pool) => pool.install(|| rayon::join(a, b)),
        None => (a(), b()),
    }
}

static POOL: std::sync::OnceLock<Option<rayon::ThreadPool>> = std::sync::OnceLock::new();

/// Whether the workers were asked for (and so started, with two cores).
#[cfg(test)]
pub fn asked() -> bool {
    POOL.get().is_some()
}

/// Stack of each worker. The CLI runs the compiler on a large stack
/// (cli/mod.rs); the work here recurses far less (parsing is bounded
/// by the depth pre-scan, planning and emitting loop), but a worker should
/// not be the one place a deep recipe runs out of stack.
const STACK: usize = 64 * 1024 * 1024;

/// The workers, one per core, started on first use; `None` with one core,
/// or when threads cannot be started (a process limit): then the work runs
/// on the calling thread, the same work in the same order.
fn pool() -> Option<&'static rayon::ThreadPool> {
    POOL.get_or_init(|| {
        if cores() < 2 {
            return None;
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(cores())
            .stack_size(STACK)
            .thread_name(|i| format!("aidc-worker-{i}"))
            .build()
            .ok()
    })
    .as_ref()
}

/// The cores this process may use (its CPU affinity and cgroup quota),
/// asked once: the answer reads files under `/sys` and `/proc`.
pub fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_items_order() {
        let items: Vec<usize> = (0..1000).collect();
        let sums: Vec<Vec<usize>> = chunks(&items, |c| c.to_vec());
        assert_eq!(sums.concat(), items);
        let few: Vec<usize> = (0..3).collect();
        assert_eq!(chunks(&few, |c| c.len()), vec![3]);
        assert_eq!(map(&items, |i| i * 2), items.iter().map(|i| i * 2).collect::<Vec<_>>());
        assert_eq!(join(true, || 1, || 2), (1, 2));
        assert_eq!(join(false, || 1, || 2), (1, 2));
    }

    /// Each worker keeps the items it took: every item is taken once, each
    /// worker's in increasing order, and the results come in the items' order.
    #[test]
    fn pulled_items_go_to_one_worker_each_in_order() {
        let items: Vec<usize> = (0..1000).collect();
        let taken = |seen: &mut Vec<usize>, &i: &usize| {
            seen.push(i);
            Some(i * 2)
        };
        let (doubled, seen) = pulled(&items, Vec::new, taken, |seen| seen).expect("nothing stopped");
        assert_eq!(doubled, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        assert!(seen.iter().all(|s| s.is_sorted()), "a worker took an item before a smaller one");
        assert_eq!(seen.iter().map(Vec::len).sum::<usize>(), items.len());
        assert!(pulled(&items, || (), |_, &i| (i != 500).then_some(i), |_| ()).is_none());
        // A few: one state on the calling thread.
        let (few_doubled, few_seen) = pulled(&items[..3], Vec::new, taken, |seen| seen).expect("nothing stopped");
        assert_eq!((few_doubled, few_seen), (vec![0, 2, 4], vec![vec![0, 1, 2]]));
    }
}
