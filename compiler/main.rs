//! The `aidc` command: parses arguments and hands over to `aidc::cli`.

/// mimalloc (`aidc::cli::allocator`).
#[global_allocator]
static ALLOCATOR: aidc::cli::allocator::Allocator = aidc::cli::allocator::Allocator;

/// Small pages for every run (`aidc::cli::pages`): run by the loader before
/// `main`, so before Rust's start-up allocates.
#[used]
#[unsafe(link_section = ".init_array")]
static SMALL_PAGES: extern "C" fn() = aidc::cli::pages::small_pages;

fn main() {
    aidc::cli::allocator::keep_freed_memory();
    std::process::exit(aidc::cli::main());
}
