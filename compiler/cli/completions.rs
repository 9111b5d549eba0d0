//! `aidc completions SHELL` and `aidc man`: the shell completion scripts
//! (clap_complete) and the manual page (clap_mangen), generated from the
//! same clap definition as the parser so that they cannot drift from it.

use std::io::Write;

use clap::CommandFactory;

use super::args::{Cli, Shell};

/// Writes the completion script for `shell` on standard output.
pub fn completions(shell: Shell) -> i32 {
    let mut command = Cli::command();
    let mut out = Vec::new();
    match shell {
        Shell::Bash => clap_complete::generate(clap_complete::Shell::Bash, &mut command, "aidc", &mut out),
        Shell::Zsh => clap_complete::generate(clap_complete::Shell::Zsh, &mut command, "aidc", &mut out),
        Shell::Fish => clap_complete::generate(clap_complete::Shell::Fish, &mut command, "aidc", &mut out),
    }
    write_stdout(&out)
}

/// Writes the manual page, `aidc(1)` in roff, on standard output; every
/// subcommand is a section of the one page.
pub fn man() -> i32 {
    let command = Cli::command();
    let mut out = Vec::new();
    let page = clap_mangen::Man::new(command.clone());
    if page.render(&mut out).is_err() {
        return 70;
    }
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = format!("aidc {}", sub.get_name());
        let _ = writeln!(out, ".SH \"{}\"", name.to_uppercase());
        let sub = sub.clone().bin_name(name).display_name("aidc");
        let sub_page = clap_mangen::Man::new(sub);
        let _ = sub_page.render_synopsis_section(&mut out);
        let _ = sub_page.render_description_section(&mut out);
        let _ = sub_page.render_options_section(&mut out);
    }
    write_stdout(&out)
}

fn write_stdout(bytes: &[u8]) -> i32 {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|_| stdout.flush()) {
        Ok(()) => 0,
        // A closed pipe (`aidc man | head`) is not an error of aidc's.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            eprintln!("aidc: error: cannot write to standard output: {e}");
            2
        }
    }
}
