//! The command-line interface: argument parsing, file IO, rendering of
//! diagnostics and exit codes. The only part of aidc that touches the
//! file system or the terminal.
//!
//! Exit codes: 0 no errors (warnings allowed unless `--deny-warnings`),
//! 1 errors in the input, 2 usage or IO errors, 70 an internal error.

pub mod allocator;
mod args;
mod build;
mod check;
mod compile;
mod completions;
mod digest_cache;
mod digests;
mod fmt;
mod fs;
mod graph;
mod ignore;
mod init;
mod keyscan;
mod layout;
mod one_recipe;
mod outputs;
pub mod pages;
pub mod render;
mod transaction;

/// Finishes (or refuses) the commit journal under the repository root
/// `root` (a real path), as `aidc compile` does first; for the fuzzers
/// (`fuzz/fuzz_targets/journal.rs`).
pub use transaction::recover as recover_journal;

use clap::Parser;

pub use args::{Cli, Command, Format};

/// Runs the CLI with the process's arguments; returns the exit code.
pub fn main() -> i32 {
    // A panic is a bug; report it as one instead of Rust's exit code 101.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("aidc: internal error: {info}");
        eprintln!("aidc: this is a bug in aidc; please report it with the recipe that triggers it");
    }));
    let result = std::panic::catch_unwind(|| {
        let cli = match Cli::try_parse() {
            Ok(cli) => cli,
            Err(e) => {
                let code = if e.use_stderr() { 2 } else { 0 };
                let _ = e.print();
                return code;
            }
        };
        run(cli)
    });
    result.unwrap_or(70)
}

/// `aidc explain NAME`: Markdown rendered as plain text, styled when
/// standard output is a terminal (and `NO_COLOR` is unset).
fn explain(name: &str) -> i32 {
    use std::io::IsTerminal;
    match crate::explain::explain(name) {
        crate::explain::Explained::Found(text) => {
            let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal();
            let shown = if color { crate::explain::styled(&text) } else { crate::explain::plain(&text) };
            print!("{shown}");
            0
        }
        crate::explain::Explained::Unknown(near) => {
            let guess = match near.as_slice() {
                [] => String::new(),
                [one] => format!("; did you mean `{one}`?"),
                many => format!(
                    "; did you mean {}?",
                    many.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ").replacen("`, `", "` or `", 0)
                ),
            };
            eprintln!(
                "aidc: error: nothing is called `{name}`{guess}\naidc: explain knows keywords (`fetch`), properties (`changes`), facts (`target.driver`), stdlib modules (`cuda`) and definitions (`cuda.runtime`), and diagnostic codes (`aid::parse::syntax`)"
            );
            2
        }
    }
}

/// Stack of the compiler: recursion over syntax trees is bounded by the
/// nesting limits, but those bounds multiply.
const STACK: usize = 256 * 1024 * 1024;

/// Runs one parsed command on a large stack of the calling thread
/// (`stacker::grow`: one mapping, touched only as deep as the work goes).
/// A thread of its own cost more than a small recipe's whole compile takes
/// to plan: starting it, waking the core it lands on and joining it were
/// about 0.5 ms of the flagship's 6 (docs/performance.md).
pub fn run(cli: Cli) -> i32 {
    stacker::grow(STACK, || command(cli))
}

/// The command's exit code.
fn command(cli: Cli) -> i32 {
    match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Compile(args) => compile::run(&args),
        Command::Explain(args) => explain(&args.name),
        Command::Fmt(args) => fmt::run(&args),
        Command::Graph(args) => graph::run(&args),
        // These start other programs (openssl, podman), which inherit the
        // process's huge-page setting: theirs is the user's.
        Command::Init(args) => {
            pages::restore();
            init::run(&args)
        }
        Command::Build(args) => {
            pages::restore();
            build::run(&args)
        }
        Command::Completions(args) => completions::completions(args.shell),
        Command::Man => completions::man(),
    }
}
