//! `aidc check`: every stage but emission.

use super::args::CheckArgs;
use super::{fs, render};
use crate::resolve;

pub fn run(args: &CheckArgs) -> i32 {
    let files = if args.files.is_empty() {
        match fs::default_files() {
            Ok(f) if !f.is_empty() => f,
            Ok(_) => {
                return render::usage_error(
                    args.input.format,
                    "no recipe given and no `*.aid` file in the current directory",
                );
            }
            Err(e) => {
                return render::usage_error(args.input.format, &format!("cannot list the current directory: {e}"));
            }
        }
    } else {
        args.files.clone()
    };
    let search = fs::search_path(&args.input);
    let resolved = match resolve::resolve(&files, &fs::FsLoader, &search) {
        Ok(r) => r,
        Err(message) => return render::usage_error(args.input.format, &message),
    };
    let failed =
        resolved.diagnostics.has_errors() || (args.input.deny_warnings && resolved.diagnostics.warning_count() > 0);
    render::diagnostics(args.input.format, &resolved.loaded.sources, resolved.diagnostics);
    if args.input.format == super::Format::Human
        && !failed
        && let Some(model) = &resolved.model
    {
        let variants: usize = model.images.iter().map(|i| i.variants.len()).sum();
        eprintln!(
            "checked {} image{}, {} variant{}: no errors",
            model.images.len(),
            if model.images.len() == 1 { "" } else { "s" },
            variants,
            if variants == 1 { "" } else { "s" }
        );
    }
    if failed { 1 } else { 0 }
}
