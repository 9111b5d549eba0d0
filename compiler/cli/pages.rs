//! Small pages for aidc, the user's setting for the programs it starts.
//!
//! mimalloc marks its arenas for transparent huge pages
//! (`madvise(MADV_HUGEPAGE)`); aidc turns them off for the process before
//! anything is allocated ([`small_pages`], run from `.init_array`) and
//! never back on for itself. A huge page's first touch zeroes 2 MiB at
//! once, and on a virtual machine that hands free memory back to its host
//! (virtio-balloon's free page reporting, which reports free blocks of
//! 2 MiB and more: exactly what a huge page is made from) that memory must
//! first come back from the host. A compile of 1,000 images × 3 variants
//! run after a few idle seconds, as CI runs it, took 0.63–0.77 s with huge
//! pages against 0.23–0.28 s with small ones; only when run back to back,
//! as a benchmark loop does, were huge pages faster (docs/performance.md,
//! stop 32). A small run paid for them on any machine: a flagship `check`
//! took twice the CPU time (stop 26).
//!
//! The flag is inherited across `fork` and `execve` (prctl(2),
//! `PR_SET_THP_DISABLE`), so [`restore`] gives the process back the setting
//! it started with before aidc starts another program: podman's builds
//! should run as the user set them up.

use std::sync::atomic::{AtomicU8, Ordering};

/// What [`small_pages`] found: 0 not run (a library caller), 1 huge
/// pages were allowed and it turned them off, 2 they were off already.
static FOUND: AtomicU8 = AtomicU8::new(0);

/// Turns transparent huge pages off for this process, remembering whether
/// they were on. The binary runs it before `main`.
pub extern "C" fn small_pages() {
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
