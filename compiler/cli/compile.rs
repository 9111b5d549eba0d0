//! `aidc compile`: check, plan, and write the outputs into the output
//! directory inside the build context (the recipe's directory).

use std::path::{Path, PathBuf};

use super::args::CompileArgs;
use super::{Format, digests, fs, outputs, render, transaction};
use crate::{konflux, pipeline, plan};

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
    let mode = if args.check { digests::CacheMode::ReadOnly } else { digests::CacheMode::ReadWrite };
    let hash = move |uses: &[plan::InputUse]| digests::hash_inputs_cached(&context, uses, mode);
    // Digests of project images this recipe builds on, kept up to date by Konflux nudges.
    let pins = match std::fs::read_to_string(layout.context.join("aid.lock")) {
        Ok(text) => match plan::parse_lock(&text) {
            Ok(p) => p,
            Err((line, reason)) => return render::usage_error(format, &format!("aid.lock:{line}: {reason}")),
        },
        Err(_) => Default::default(),
    };
    let options = plan::Options { out_dir: layout.out_in_context.clone(), pins };
    let compiled = match pipeline::compile_with(&recipe, &fs::FsLoader, &search, &options, &hash) {
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
    // Konflux: `.tekton/` at the repository root, when the recipe has a pipeline block.
    let repo_root = repository_root(&layout.context);
    let recipe_dir = digests::absolute(&layout.context);
    let rel = recipe_dir.strip_prefix(&repo_root).map(|p| p.to_string_lossy().replace('\\', "/")).unwrap_or_default();
    let repo_layout = konflux::RepoLayout {
        recipe_dir: if rel.is_empty() { ".".into() } else { rel },
        recipe_file: recipe.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
    };
    let konflux_files = match (&compiled.model, &compiled.model.as_ref().and_then(|m| m.pipeline.as_ref())) {
        (Some(model), Some(_)) => match konflux::outputs(model, &planned, &repo_layout) {
            Ok(files) => files,
            Err(d) => {
                render::diagnostics(format, resolved_sources, diagnostics.with(d));
                return 1;
            }
        },
        _ => Default::default(),
    };
    // Every directory aidc writes. The Konflux ones are shared with other
    // recipes and people: there, aidc's files are those with this recipe's
    // header (or a header of a recipe that is gone), and they go when the
    // recipe no longer gives them.
    let header = konflux::header(&repo_layout).trim_end().to_string();
    let mut dirs = vec![
        outputs::OutputDir { path: layout.out.clone(), files: outputs, owns: outputs::Ownership::All },
        outputs::OutputDir {
            path: repo_root.join(".tekton"),
            files: Default::default(),
            owns: outputs::Ownership::Generated { header: header.clone(), root: repo_root.clone() },
        },
        outputs::OutputDir {
            path: recipe_dir.join("konflux"),
            files: Default::default(),
            owns: outputs::Ownership::Generated { header, root: repo_root.clone() },
        },
    ];
    for (i, a) in dirs.iter().enumerate() {
        for b in &dirs[i + 1..] {
            if a.path.starts_with(&b.path) || b.path.starts_with(&a.path) {
                return render::usage_error(
                    format,
                    &format!(
                        "the output directory `{}` is where aidc writes the Konflux files; choose another",
                        layout.out.display()
                    ),
                );
            }
        }
    }
    for (path, content) in konflux_files {
        let full = repo_root.join(&path);
        let Some(dir) = dirs[1..].iter_mut().find(|d| full.starts_with(&d.path)) else {
            return render::usage_error(format, &format!("internal error: `{path}` is in no Konflux directory"));
        };
        let rel = full.strip_prefix(&dir.path).map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
        dir.files.insert(rel, content);
    }
    let shown_out = |p: &str| {
        let base = if layout.context.as_os_str() == "." {
            PathBuf::from(&layout.out_in_context)
        } else {
            layout.context.join(&layout.out_in_context)
        };
        base.join(p).display().to_string()
    };
    let shown = |dir: usize, p: &str| if dir == 0 { shown_out(p) } else { shown_repo(&dirs[dir].path, p) };
    if args.check {
        render::diagnostics(format, resolved_sources, diagnostics);
        if transaction::interrupted(&repo_root) {
            eprintln!(
                "aidc: a compile was killed while it swapped in its outputs ({}); run `aidc compile` to finish it",
                shown_repo(&repo_root, transaction::JOURNAL)
            );
            return 1;
        }
        let changes: Vec<outputs::Changes> = dirs.iter().map(outputs::OutputDir::changes).collect();
        let conflicts = outputs::conflicts(&changes);
        for (dir, path) in &conflicts {
            eprintln!("conflict: {} is not aidc's, and the recipe gives a file there", shown(*dir, path));
        }
        let stale = outputs::stale(&changes);
        if stale.is_empty() && conflicts.is_empty() {
            eprintln!("outputs are up to date");
            return 0;
        }
        for (dir, path) in &stale {
            eprintln!("stale: {}", shown(*dir, path));
        }
        if !stale.is_empty() {
            eprintln!(
                "aidc: {} output file{} differ from what the recipe gives; run `aidc compile`",
                stale.len(),
                if stale.len() == 1 { "" } else { "s" }
            );
        }
        if !conflicts.is_empty() {
            eprintln!("aidc: move the conflicting files away before `aidc compile`: it does not overwrite them");
        }
        return 1;
    }
    let summary = match write_all(&repo_root, &dirs) {
        Ok(w) => w,
        Err(WriteError::Io(message)) => return render::usage_error(format, &message),
        Err(WriteError::Conflicts(conflicts)) => {
            let (dir, path) = &conflicts[0];
            return render::usage_error(
                format,
                &format!(
                    "cannot write {}: a file is there that was not generated from this recipe (its first line is \
                     not the recipe's header){}; move it away, or remove it if it is an old copy, and compile again",
                    shown(*dir, path),
                    match conflicts.len() {
                        1 => String::new(),
                        n => format!(", and {} more like it", n - 1),
                    }
                ),
            );
        }
    };
    render::diagnostics(format, resolved_sources, diagnostics);
    if format == Format::Human {
        if summary.recovered {
            eprintln!("finished swapping in the outputs of a compile that was killed");
        }
        if summary.changes.iter().all(|c| c.is_empty()) {
            eprintln!("nothing changed in {}", shown_out(""));
        }
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        for (i, c) in summary.changes.iter().enumerate() {
            let (w, r) = (c.changed.len(), c.removed.len());
            match (w, r) {
                (0, 0) => {}
                (w, 0) => eprintln!("wrote {w} file{} in {}", plural(w), shown(i, "")),
                (0, r) => eprintln!("removed {r} file{} from {}", plural(r), shown(i, "")),
                (w, r) => eprintln!("wrote {w} file{} and removed {r} in {}", plural(w), shown(i, "")),
            }
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

/// What [`write_all`] did.
struct Summary {
    /// Whether it first finished the commit of a compile that was killed.
    recovered: bool,
    /// Per directory, what changed.
    changes: Vec<outputs::Changes>,
}

/// Why [`write_all`] wrote nothing.
enum WriteError {
    Io(String),
    /// Paths (by directory) where the recipe gives a file and one not aidc's is.
    Conflicts(Vec<(usize, String)>),
}

/// Writes every directory in `dirs` all-or-nothing (`transaction.rs`),
/// under the lock of `root`, after finishing any commit a killed compile
/// left there.
fn write_all(root: &Path, dirs: &[outputs::OutputDir]) -> Result<Summary, WriteError> {
    let io = WriteError::Io;
    let _lock = transaction::lock(root).map_err(|e| io(format!("cannot lock `{}`: {e}", root.display())))?;
    let recovered = transaction::recover(root).map_err(|e| io(format!("cannot finish an interrupted compile: {e}")))?;
    let changes: Vec<outputs::Changes> = dirs.iter().map(outputs::OutputDir::changes).collect();
    let conflicts = outputs::conflicts(&changes);
    if !conflicts.is_empty() {
        return Err(WriteError::Conflicts(conflicts));
    }
    let mut staged = Vec::new();
    for (dir, c) in dirs.iter().zip(&changes) {
        if c.is_empty() {
            continue;
        }
        match transaction::stage(dir, c) {
            Ok(s) => staged.push(s),
            Err(e) => {
                transaction::abandon(staged);
                return Err(io(format!("cannot write `{}`: {e}", dir.path.display())));
            }
        }
    }
    if !staged.is_empty() {
        transaction::commit(root, staged).map_err(|e| io(format!("cannot swap in the outputs: {e}")))?;
    }
    Ok(Summary { recovered, changes })
}

/// The repository root: the nearest directory above the recipe holding
/// `.git`, else the recipe's directory.
fn repository_root(context: &Path) -> PathBuf {
    let start = digests::absolute(context);
    let mut dir: Option<&Path> = Some(&start);
    while let Some(d) = dir {
        if d.join(".git").exists() {
            return d.to_path_buf();
        }
        dir = d.parent();
    }
    start
}

/// A path under the repository root as shown to users: relative to the
/// current directory when it lies below it.
fn shown_repo(root: &Path, path: &str) -> String {
    let full = root.join(path);
    let cwd = std::env::current_dir().unwrap_or_default();
    full.strip_prefix(&cwd).map(|p| p.display().to_string()).unwrap_or_else(|_| full.display().to_string())
}
