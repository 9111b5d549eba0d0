//! The `aidc` command: parses arguments and hands over to `aidc::cli`.

fn main() {
    std::process::exit(aidc::cli::main());
}
