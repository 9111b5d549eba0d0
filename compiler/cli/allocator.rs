//! The binary's allocator: mimalloc, called as std calls the C library's
//! `malloc`, and told to keep the memory aidc frees.
//!
//! mimalloc instead of glibc's malloc: resolving and planning build many
//! small strings and vectors on the workers' threads, and glibc's
//! per-thread arena grows by `mprotect` and spent a third of a large
//! compile in malloc/free (docs/performance.md).

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys as mi;

/// Every block mimalloc hands out is aligned to a word at least: its size
/// classes are whole words (`src/page-queue.c`, `mi_bin`), three-word
/// blocks among them, so 16 is not guaranteed (`MI_MAX_ALIGN_SIZE` is only
/// what `max_align_t` asks for blocks of 16 bytes and more).
const WORD: usize = std::mem::size_of::<usize>();

/// mimalloc through its plain `mi_malloc`, `mi_realloc` and `mi_zalloc`
/// wherever a word's alignment is enough (strings, vectors of words and
/// pointers: nearly every allocation), its aligned entry points otherwise.
/// The `mimalloc` crate's allocator calls the aligned ones for every
/// allocation, which check the alignment and its offset each time: 50
/// instructions a call against 20, 5% of the instructions of a compile of
/// 200 images × 3 variants (docs/performance.md, stop 30).
pub struct Allocator;

/// A block for `layout` from `plain` when a word's alignment is enough,
/// else from `aligned` (inlined: both are known where it is called).
///
/// # Safety
/// `plain` and `aligned` are mimalloc's entry points of one kind.
#[inline(always)]
unsafe fn new_block(
    layout: Layout,
    plain: unsafe extern "C" fn(usize) -> *mut c_void,
    aligned: unsafe extern "C" fn(usize, usize) -> *mut c_void,
) -> *mut u8 {
    // SAFETY: mimalloc's allocation functions take any size and alignment.
    unsafe { if layout.align() <= WORD { plain(layout.size()) } else { aligned(layout.size(), layout.align()) }.cast() }
}

// SAFETY: every block comes from mimalloc and goes back to it (`mi_free`
// frees what either kind of entry point gave); a block from a plain entry
// point is used only when `layout.align()` is at most a word, which every
// mimalloc block has.
unsafe impl GlobalAlloc for Allocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: mimalloc's allocation functions take any size.
        unsafe { new_block(layout, mi::mi_malloc, mi::mi_malloc_aligned) }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `alloc`.
        unsafe { new_block(layout, mi::mi_zalloc, mi::mi_zalloc_aligned) }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `ptr` came from this allocator, so from mimalloc.
        unsafe { mi::mi_free(ptr.cast::<c_void>()) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from this allocator with `layout`'s alignment,
        // which the block keeps.
        unsafe {
            if layout.align() <= WORD {
                mi::mi_realloc(ptr.cast::<c_void>(), new_size).cast()
            } else {
                mi::mi_realloc_aligned(ptr.cast::<c_void>(), new_size, layout.align()).cast()
            }
        }
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

#[cfg(test)]
mod tests {
    /// [`super::PURGE_DELAY`] is the purge delay of the mimalloc linked in:
    /// the crate is built for v3 (whose `_mi_option_last` is 47), and v3's
    /// default purge delay is 1000 ms (`src/options.c`), which no
    /// neighbouring option has (14 and 16 default to 1 and 0).
    #[test]
    fn the_purge_delay_option_is_where_aidc_sets_it() {
        assert_eq!(libmimalloc_sys::_mi_option_last, 47, "another mimalloc: check PURGE_DELAY against its mimalloc.h");
        // Unless the environment sets it (its old name too).
        if ["MIMALLOC_PURGE_DELAY", "MIMALLOC_RESET_DELAY"].iter().all(|v| std::env::var_os(v).is_none()) {
            // SAFETY: reads one of mimalloc's options.
            let value = unsafe { libmimalloc_sys::mi_option_get(super::PURGE_DELAY) };
            assert_eq!(value, 1000);
        }
    }

    /// Blocks of every alignment up to a page, small and large, are
    /// aligned, keep their bytes when grown and shrunk, and zeroed ones
    /// are zero.
    #[test]
    fn blocks_are_aligned_and_keep_their_bytes() {
        use std::alloc::{GlobalAlloc, Layout};
        let a = super::Allocator;
        for align in [1, 2, 4, 8, 16, 32, 64, 4096] {
            for size in [1, 3, 8, 24, 40, 100, 4000, 70_000, 3 << 20] {
                let layout = Layout::from_size_align(size, align).expect("layout");
                // SAFETY: sizes are not zero; each block is freed with its layout.
                unsafe {
                    let zeroed = a.alloc_zeroed(layout);
                    assert!(!zeroed.is_null() && zeroed as usize % align == 0, "{size} bytes at {align}");
                    assert!(std::slice::from_raw_parts(zeroed, size).iter().all(|&b| b == 0));
                    a.dealloc(zeroed, layout);
                    let p = a.alloc(layout);
                    assert!(!p.is_null() && p as usize % align == 0, "{size} bytes at {align}");
                    for i in 0..size {
                        *p.add(i) = i as u8;
                    }
                    let grown = a.realloc(p, layout, size * 3);
                    assert!(grown as usize % align == 0, "{size} bytes at {align}, grown");
                    assert!((0..size).all(|i| *grown.add(i) == i as u8));
                    let grown_layout = Layout::from_size_align(size * 3, align).expect("layout");
                    let shrunk = a.realloc(grown, grown_layout, size.div_ceil(2));
                    assert!(shrunk as usize % align == 0, "{size} bytes at {align}, shrunk");
                    assert!((0..size.div_ceil(2)).all(|i| *shrunk.add(i) == i as u8));
                    a.dealloc(shrunk, Layout::from_size_align(size.div_ceil(2), align).expect("layout"));
                }
            }
        }
    }
}
