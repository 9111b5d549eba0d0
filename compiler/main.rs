//! The `aidc` command: parses arguments and hands over to `aidc::cli`.

/// mimalloc instead of glibc's malloc: resolving and planning build many
/// small strings and vectors on the workers' threads, and glibc's per-thread arena
/// grows by `mprotect` and spends a third of a large compile in malloc/free.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(aidc::cli::main());
}
