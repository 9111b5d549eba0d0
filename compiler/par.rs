//! Work over many independent items (images) split over the machine's cores,
//! in order, only when there are enough items to pay for the threads: a
//! recipe of a few images runs on the calling thread and starts no pool.

use rayon::prelude::*;

/// Fewer items than this run on the calling thread. Planning or emitting one
/// image is about half a millisecond; starting rayon's pool costs about as
/// much as one image (docs/performance.md).
pub const MIN_ITEMS: usize = 16;

/// `f` over contiguous chunks of `items`, the results in the chunks' order.
/// A chunk is at least `MIN_ITEMS / 2` items, and there are a few chunks per
/// core so that a slow chunk does not keep the others waiting. With fewer
/// than [`MIN_ITEMS`] items, or one core, `f` runs once over all of them on
/// the calling thread.
pub fn chunks<T: Sync, R: Send>(items: &[T], f: impl Fn(&[T]) -> R + Sync) -> Vec<R> {
    if items.len() < MIN_ITEMS || cores() < 2 {
        return vec![f(items)];
    }
    let size = items.len().div_ceil(cores() * 4).max(MIN_ITEMS / 2);
    items.par_chunks(size).map(&f).collect()
}

/// `f` over each of `items`, the results in order: on every core when
/// there are several items and cores (the caller made each item worth a
/// thread), else on the calling thread.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    if items.len() < 2 || cores() < 2 {
        return items.iter().map(f).collect();
    }
    items.par_iter().map(&f).collect()
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
    }
}
