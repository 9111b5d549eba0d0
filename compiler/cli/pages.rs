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

/// Huge pages for a recipe of `bytes` bytes, when it is large.
pub fn for_recipe(bytes: u64) {
    if bytes >= LARGE_RECIPE {
        restore();
    }
}
