//! `aidc check`: every stage but emission.

use std::path::PathBuf;

use super::args::CheckArgs;
use super::{digests, fs, render};
use crate::diag::Diagnostics;
use crate::model::Model;
use crate::plan;
use crate::resolve::{self, Loaded};

/// Plans the model without writing anything; each input is hashed in the
/// directory of the recipe that names it (its build context).
fn plan_model(loaded: &Loaded, model: &Model) -> Diagnostics {
    let uses = plan::input_uses(model);
    let mut inputs = plan::Inputs::default();
    let mut diagnostics = Diagnostics::default();
    let mut by_dir: Vec<(PathBuf, Vec<plan::InputUse>)> = Vec::new();
    for u in uses {
        let dir = loaded.modules.iter().find(|m| m.source == u.span.source).map(|m| m.dir.clone()).unwrap_or_default();
        let dir = if dir.as_os_str().is_empty() { PathBuf::from(".") } else { dir };
        match by_dir.iter_mut().find(|(d, _)| *d == dir) {
            Some((_, list)) => list.push(u),
            None => by_dir.push((dir, vec![u])),
        }
    }
    for (dir, list) in by_dir {
        let (found, d) = digests::hash_inputs(&dir, &list);
        inputs.entries.extend(found.entries);
        diagnostics.extend(d);
    }
    if diagnostics.has_errors() {
        return diagnostics;
    }
    if let Err(d) = plan::plan(model, &inputs, &plan::Options { out_dir: "out".into(), ..Default::default() }) {
        diagnostics.extend(d);
    }
    diagnostics
}

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
    let loader = fs::FsLoader::for_entries(&files, &search);
    let resolved = match resolve::resolve(&files, &loader, &search) {
        Ok(r) => r,
        Err(message) => return render::usage_error(args.input.format, &message),
    };
    let mut diagnostics = resolved.diagnostics;
    // The planner runs too: dependency cycles and missing inputs are check errors.
    if let Some(model) = &resolved.model {
        diagnostics.extend(plan_model(&resolved.loaded, model));
    }
    let failed = diagnostics.has_errors() || (args.input.deny_warnings && diagnostics.warning_count() > 0);
    render::diagnostics_denying(args.input.format, &resolved.loaded.sources, diagnostics, args.input.deny_warnings);
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
