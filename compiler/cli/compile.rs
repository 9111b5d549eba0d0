//! `aidc compile`: check, plan, and write the outputs into the output
//! directory inside the build context (the recipe's directory).

use std::path::{Path, PathBuf};

use super::args::CompileArgs;
use super::{Format, digests, fs, outputs, render};
use crate::{pipeline, plan};

/// The build context, the output directory, and the output directory's
/// path inside the context (as the Containerfile names it).
struct Layout {
    context: PathBuf,
    out: PathBuf,
    out_in_context: String,
}

fn layout(recipe: &Path, out: Option<&Path>) -> Result<Layout, String> {
    let context = recipe.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf();
    let context_abs = digests::absolute(&context);
    let out_abs = match out {
        Some(o) => digests::absolute(o),
        None => context_abs.join("out"),
    };
    let rel = out_abs.strip_prefix(&context_abs).map_err(|_| {
        format!(
            "the output directory `{}` is outside the build context `{}`; it must lie inside the recipe's directory",
            out.map_or_else(|| out_abs.display().to_string(), |o| o.display().to_string()),
            if context.as_os_str() == "." { ".".to_string() } else { context.display().to_string() }
        )
    })?;
    if rel.as_os_str().is_empty() {
        return Err(
            "the output directory cannot be the build context itself; use a directory inside it, like `out`".into()
        );
    }
    let out_in_context = rel.to_string_lossy().replace('\\', "/");
    Ok(Layout { context, out: out_abs, out_in_context })
}

pub fn run(args: &CompileArgs) -> i32 {
    let format = args.input.format;
    let recipe = match &args.file {
        Some(f) => f.clone(),
        None => match fs::default_files() {
            Ok(files) if files.len() == 1 => files[0].clone(),
            Ok(files) if files.is_empty() => {
                return render::usage_error(format, "no recipe given and no `*.aid` file in the current directory");
            }
            Ok(_) => return render::usage_error(format, "several `*.aid` files here; name the one to compile"),
            Err(e) => return render::usage_error(format, &format!("cannot list the current directory: {e}")),
        },
    };
    let layout = match layout(&recipe, args.out.as_deref()) {
        Ok(l) => l,
        Err(message) => return render::usage_error(format, &message),
    };
    let search = fs::search_path(&args.input);
    let context = layout.context.clone();
    let hash = move |uses: &[plan::InputUse]| digests::hash_inputs(&context, uses);
    let compiled = match pipeline::compile(&recipe, &fs::FsLoader, &search, &layout.out_in_context, &hash) {
        Ok(c) => c,
        Err(message) => return render::usage_error(format, &message),
    };
    let diagnostics = compiled.diagnostics;
    let failed = diagnostics.has_errors() || (args.input.deny_warnings && diagnostics.warning_count() > 0);
    let (Some(planned), Some(outputs)) = (compiled.plan.filter(|_| !failed), compiled.outputs) else {
        render::diagnostics(format, &compiled.loaded.sources, diagnostics);
        return 1;
    };
    let resolved_sources = &compiled.loaded.sources;
    let shown_out = |p: &str| {
        let base = if layout.context.as_os_str() == "." {
            PathBuf::from(&layout.out_in_context)
        } else {
            layout.context.join(&layout.out_in_context)
        };
        base.join(p).display().to_string()
    };
    if args.check {
        render::diagnostics(format, resolved_sources, diagnostics);
        let stale = outputs::stale(&layout.out, &outputs);
        if stale.is_empty() {
            eprintln!("outputs are up to date");
            return 0;
        }
        for s in &stale {
            eprintln!("stale: {}", shown_out(s));
        }
        eprintln!(
            "aidc: {} output file{} differ from what the recipe gives; run `aidc compile`",
            stale.len(),
            if stale.len() == 1 { "" } else { "s" }
        );
        return 1;
    }
    let written = match outputs::write(&layout.out, &outputs) {
        Ok(w) => w,
        Err(e) => return render::usage_error(format, &format!("cannot write `{}`: {e}", layout.out.display())),
    };
    render::diagnostics(format, resolved_sources, diagnostics);
    if format == Format::Human {
        if written.changed.is_empty() && written.removed.is_empty() {
            eprintln!("nothing changed in {}", shown_out(""));
        } else {
            eprintln!(
                "wrote {} file{} in {}",
                written.changed.len(),
                if written.changed.len() == 1 { "" } else { "s" },
                shown_out("")
            );
        }
        let context =
            if layout.context.as_os_str() == "." { ".".to_string() } else { layout.context.display().to_string() };
        for image in &planned.images {
            for t in &image.targets {
                let secrets: String = t.secrets.iter().map(|s| format!(" --secret id={s},src=FILE")).collect();
                println!(
                    "podman build -f {} --target {}{secrets} {context}",
                    Path::new(&context).join(&layout.out_in_context).join(&image.containerfile).display(),
                    t.variant
                );
            }
        }
    }
    0
}
