//! `aidc check`: the driver on each recipe in check mode, every stage
//! (Konflux too) but writing, so it reports what `aidc compile` reports
//! except write errors.

use super::args::CheckArgs;
use super::layout::{self, Layout};
use super::{fs, render};
use crate::driver::{Compiled, Mode};

pub fn run(args: &CheckArgs) -> i32 {
    let format = args.input.format;
    let files = if args.files.is_empty() {
        match fs::default_files() {
            Ok(f) if !f.is_empty() => f,
            Ok(_) => {
                return render::usage_error(format, "no recipe given and no `*.aid` file in the current directory");
            }
            Err(e) => return render::usage_error(format, &format!("cannot list the current directory: {e}")),
        }
    } else {
        args.files.clone()
    };
    // Left to the process's exit, which follows (as `aidc compile` does).
    let mut runs: std::mem::ManuallyDrop<Vec<Compiled>> = Default::default();
    for file in &files {
        let compiled = Layout::new(file, None)
            .and_then(|l| layout::drive(&l, &args.input, Mode::Check, super::digests::CacheMode::ReadOnly));
        match compiled {
            Ok(c) => runs.push(c),
            Err(message) => return render::usage_error(format, &message),
        }
    }
    let errors = runs.iter().any(|c| c.diagnostics.has_errors());
    let warnings = runs.iter().any(|c| c.diagnostics.warning_count() > 0);
    let failed = errors || (args.input.deny_warnings && warnings);
    let (mut images, mut variants) = (0, 0);
    for model in runs.iter().filter_map(|c| c.model.as_ref()) {
        images += model.images.len();
        variants += model.images.iter().map(|i| i.variants.len()).sum::<usize>();
    }
    let all_resolved = runs.iter().all(|c| c.model.is_some());
    let report = runs.iter_mut().map(|c| (&c.loaded.sources, std::mem::take(&mut c.diagnostics))).collect();
    render::runs(format, report, args.input.deny_warnings);
    if format == super::Format::Human && !failed && all_resolved {
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        eprintln!("checked {images} image{}, {variants} variant{}: no errors", plural(images), plural(variants));
    }
    if failed { 1 } else { 0 }
}
