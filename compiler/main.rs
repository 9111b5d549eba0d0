//! The `aidc` command: parses arguments and hands over to `aidc::cli`.

/// mimalloc instead of glibc's malloc: resolving and planning build many
/// small strings and vectors on the workers' threads, and glibc's per-thread arena
/// grows by `mprotect` and spends a third of a large compile in malloc/free.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Small pages until the recipe is known to be large (`aidc::cli::pages`):
/// run by the loader before `main`, so before Rust's start-up allocates.
#[used]
#[unsafe(link_section = ".init_array")]
static SMALL_PAGES_FIRST: extern "C" fn() = aidc::cli::pages::small_pages_first;

fn main() {
    aidc::cli::pages::keep_freed_memory();
    std::process::exit(aidc::cli::main());
}
