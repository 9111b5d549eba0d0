//! `aidc compile`: check, plan, and write the outputs into the output
//! directory inside the build context (the recipe's directory).

use std::path::{Path, PathBuf};

use super::args::CompileArgs;
use super::layout::{self, Layout, shown_repo};
use super::{Format, digests, fs, outputs, render, transaction};
use crate::driver::Mode;
use crate::konflux;

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
    let layout = match Layout::new(&recipe, args.out.as_deref()) {
        Ok(l) => l,
        Err(message) => return render::usage_error(format, &message),
    };
    // `--check` compares what the recipe gives with the files on disk, so it
    // keeps the files too; it reads the digest cache but never writes it.
    let cache = if args.check { digests::CacheMode::ReadOnly } else { digests::CacheMode::ReadWrite };
    let compiled = match layout::drive(&layout, &args.input, Mode::Compile, cache) {
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
    let konflux_files = compiled.konflux;
    let (repo_root, recipe_dir) = (layout.repo_root.clone(), digests::absolute(&layout.context));
    let repo_layout = &layout.repo;
    // Every directory aidc writes. The Konflux ones are shared with other
    // recipes and people: there, aidc's files are those with this recipe's
    // header (or a header of a recipe that is gone), and they go when the
    // recipe no longer gives them.
    let header = konflux::header(repo_layout).trim_end().to_string();
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
        let context = layout.shown_context();
        for image in planned.images.iter().filter(|_| !args.quiet) {
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
