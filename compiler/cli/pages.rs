//! Transparent huge pages, only for a large recipe.
//!
//! A compile of 1,000 images touches 170 MB of fresh memory: in 4 KiB pages
//! that is 43,000 page faults, 12% of its CPU time; in 2 MiB pages it is a
//! few hundred. A small run pays the other way: each huge page's first
//! touch zeroes 2 MiB, and a flagship `check` took twice the CPU time with
//! them (docs/performance.md, stop 26). So mimalloc marks its arenas for
//! huge pages (`madvise(MADV_HUGEPAGE)`), the binary turns them off for the
//! process before anything is allocated ([`small_pages_first`], run from
//! `.init_array`), and [`restore`] turns them back on once the recipe is
//! known to be large, and before aidc starts another program: the flag is
//! inherited across `fork` and `execve` (prctl(2), `PR_SET_THP_DISABLE`),
//! and podman's builds should run as the user set them up.

use std::sync::atomic::{AtomicU8, Ordering};

/// A recipe at least this large gets huge pages: a project of about 300
/// images, whose compile touches some 50 MB (a tenth of which it would
/// spend in page faults).
pub const LARGE_RECIPE: u64 = 256 * 1024;

/// What [`small_pages_first`] found: 0 not run (a library caller), 1 huge
/// pages were allowed and it turned them off, 2 they were off already.
static FOUND: AtomicU8 = AtomicU8::new(0);

/// Turns transparent huge pages off for this process, remembering whether
/// they were on. The binary runs it before `main`.
pub extern "C" fn small_pages_first() {
    let found = match rustix::thread::transparent_huge_pages_are_disabled() {
        Ok(false) if rustix::thread::disable_transparent_huge_pages(true).is_ok() => 1,
        _ => 2,
    };
    FOUND.store(found, Ordering::Relaxed);
}

/// Gives the process back the setting it started with.
pub fn restore() {
    if FOUND.swap(2, Ordering::Relaxed) == 1 {
        let _ = rustix::thread::disable_transparent_huge_pages(false);
    }
}

/// mimalloc's `mi_option_purge_delay`: its place in `mi_option_t` of the
/// mimalloc v3 that `libmimalloc-sys` builds (`c_src/mimalloc/v3/include/mimalloc.h`),
/// for which the crate names no constant. Checked by a test.
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Keeps the memory aidc frees for its own later allocations, never giving
/// it back to the system while it runs (`mi_option_purge_delay` -1). By
/// default mimalloc gives freed ranges of 64 KiB back (`madvise(MADV_DONTNEED)`,
/// 81 times in a compile of 1,000 images × 3 variants): chosen while huge
/// pages are off (before `main`), those ranges split the huge pages that a
/// large recipe then turns on, and memory used again is faulted in and
/// zeroed again. The kernel's page zeroing was 44% of that compile's
/// samples (`perf`), and keeping the memory made its median 228.8 ms
/// against 249.4 ms (docs/performance.md, stop 30). aidc runs for a moment
/// and exits, so what it keeps is what it would give back at the exit.
pub fn keep_freed_memory() {
    // SAFETY: sets one of mimalloc's options, a plain store into its table;
    // any value is valid for this one, and -1 means never.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, -1) }
}

/// Huge pages for a recipe of `bytes` bytes, when it is large.
pub fn for_recipe(bytes: u64) {
    if bytes >= LARGE_RECIPE {
        restore();
    }
}

#[cfg(test)]
mod tests {
    /// [`super::PURGE_DELAY`] is the purge delay of the mimalloc linked in:
    /// the crate is built for v3 (whose `_mi_option_last` is 47), and v3's
    /// default purge delay is 1000 ms (`src/options.c`), which no
    /// neighbouring option has (14 and 16 default to 1 and 0).
    #[test]
    fn the_purge_delay_option_is_where_aidc_sets_it() {
        assert_eq!(libmimalloc_sys::_mi_option_last, 47, "another mimalloc: check PURGE_DELAY against its mimalloc.h");
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            // SAFETY: reads one of mimalloc's options.
            let value = unsafe { libmimalloc_sys::mi_option_get(super::PURGE_DELAY) };
            assert_eq!(value, 1000);
        }
    }
}
