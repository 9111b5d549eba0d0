//! `aidc compile`: check, plan, and write the outputs into the output
//! directory inside the build context (the recipe's directory).

use std::path::{Path, PathBuf};

use super::args::CompileArgs;
use super::layout::{self, Layout, shown_repo};
use super::{Format, fs, outputs, render, transaction};
use crate::driver::Mode;
use crate::konflux;

pub fn run(args: &CompileArgs) -> i32 {
    let format = args.input.format;
    let recipe = match recipe(args) {
        Ok(r) => r,
        Err(message) => return render::usage_error(format, &message),
    };
    let layout = match Layout::new(&recipe, args.out.as_deref()) {
        Ok(l) => l,
        Err(message) => return render::usage_error(format, &message),
    };
    // `--check` compares what the recipe gives with the files on disk, so it
    // keeps the files too; it reads the digest cache but never writes it.
    let cache = if args.check { super::digests::CacheMode::ReadOnly } else { super::digests::CacheMode::ReadWrite };
    let mut compiled = match layout::drive(&layout, &args.input, Mode::Compile, cache) {
        Ok(c) => c,
        Err(message) => return render::usage_error(format, &message),
    };
    let diagnostics = std::mem::take(&mut compiled.diagnostics);
    let (plan, outputs, konflux) =
        (compiled.plan.take(), compiled.outputs.take(), std::mem::take(&mut compiled.konflux));
    // The rest (the model, the sources and syntax trees) and the plan are
    // left to the process's exit, which follows: freeing their millions of
    // small allocations, made on the worker threads for a large project,
    // was a quarter of the run's serial part (docs/performance.md).
    let compiled = std::mem::ManuallyDrop::new(compiled);
    let failed = diagnostics.has_errors() || (args.input.deny_warnings && diagnostics.warning_count() > 0);
    let (Some(planned), Some(outputs)) = (plan.filter(|_| !failed), outputs) else {
        render::diagnostics(format, &compiled.loaded.sources, diagnostics);
        return 1;
    };
    let planned = std::mem::ManuallyDrop::new(planned);
    // The outputs too are left to the exit: a large project's are 12,000
    // files whose freeing ran alone on the main thread after the write.
    let dirs = match output_dirs(&layout, outputs, konflux) {
        Ok(d) => std::mem::ManuallyDrop::new(d),
        Err(message) => return render::usage_error(format, &message),
    };
    let shown = Shown { layout: &layout, dirs: &dirs };
    if args.check {
        let mut diagnostics = diagnostics;
        if format == Format::Json {
            // CI reads the JSON: every stale file and conflict is in it.
            let changes: Vec<outputs::Changes> = dirs.iter().map(outputs::OutputDir::changes).collect();
            let (stale, conflicts) = (outputs::stale(&changes), outputs::conflicts(&changes));
            for (dir, path) in &stale {
                diagnostics.push(
                    crate::diag::Diagnostic::error(
                        crate::diag::Code::StaleOutput,
                        format!("{} differs from what the recipe gives", shown.path(*dir, path)),
                    )
                    .help("run `aidc compile` and commit the outputs"),
                );
            }
            for (dir, path) in &conflicts {
                diagnostics.push(
                    crate::diag::Diagnostic::error(
                        crate::diag::Code::OutputConflict,
                        format!("{} is not aidc's, and the recipe gives a file there", shown.path(*dir, path)),
                    )
                    .help("move the file away before `aidc compile`: it does not overwrite it"),
                );
            }
            if let Err(e) = transaction::check_journal(&layout.repo_root) {
                return render::usage_error(format, &e.to_string());
            }
            render::diagnostics(format, &compiled.loaded.sources, diagnostics);
            return if stale.is_empty() && conflicts.is_empty() { 0 } else { 1 };
        }
        render::diagnostics(format, &compiled.loaded.sources, diagnostics);
        return check(format, &layout, &dirs, &shown);
    }
    let summary = match write_all(&layout.repo_root, &dirs) {
        Ok(w) => std::mem::ManuallyDrop::new(w),
        Err(WriteError::Io(message)) => return render::usage_error(format, &message),
        Err(WriteError::Conflicts(conflicts)) => {
            let (dir, path) = &conflicts[0];
            return render::usage_error(
                format,
                &format!(
                    "cannot write {}: a file is there that was not generated from this recipe (its first line is \
                     not the recipe's header){}; move it away, or remove it if it is an old copy, and compile again",
                    shown.path(*dir, path),
                    match conflicts.len() {
                        1 => String::new(),
                        n => format!(", and {} more like it", n - 1),
                    }
                ),
            );
        }
    };
    // Warnings after the write: a write error is the one message then.
    render::diagnostics(format, &compiled.loaded.sources, diagnostics);
    if format == Format::Human {
        report(&layout, &planned, &summary, &shown, args.quiet);
    }
    0
}

/// The recipe named, or the one `*.aid` file of the current directory.
fn recipe(args: &CompileArgs) -> Result<PathBuf, String> {
    match &args.file {
        Some(f) => Ok(f.clone()),
        None => match fs::default_files() {
            Ok(files) if files.len() == 1 => Ok(files[0].clone()),
            Ok(files) if files.is_empty() => Err("no recipe given and no `*.aid` file in the current directory".into()),
            Ok(_) => Err("several `*.aid` files here; name the one to compile".into()),
            Err(e) => Err(format!("cannot list the current directory: {e}")),
        },
    }
}

/// Every directory aidc writes, with the files the recipe gives there: the
/// output directory, `.tekton/` and `konflux/`. The Konflux ones are shared
/// with other recipes and people: there, aidc's files are those with this
/// recipe's header (or a header of a recipe that is gone), and they go when
/// the recipe no longer gives them. `Err` is a usage error.
fn output_dirs(
    layout: &Layout,
    outputs: crate::emit::Files,
    konflux_files: std::collections::BTreeMap<String, String>,
) -> Result<Vec<outputs::OutputDir>, String> {
    let repo_root = &layout.repo_root;
    let recipe_dir = fs::real(&layout.context);
    let header = konflux::header(&layout.repo).trim_end().to_string();
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
                return Err(format!(
                    "the output directory `{}` is where aidc writes the Konflux files; choose another",
                    layout.out.display()
                ));
            }
        }
    }
    for (path, content) in konflux_files {
        let full = repo_root.join(&path);
        let Some(dir) = dirs[1..].iter_mut().find(|d| full.starts_with(&d.path)) else {
            return Err(format!("internal error: `{path}` is in no Konflux directory"));
        };
        let rel = full.strip_prefix(&dir.path).map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
        dir.files.insert(rel, content);
    }
    outputs::check_dirs(repo_root, &mut dirs)?;
    Ok(dirs)
}

/// Paths in the output directories as shown to users.
struct Shown<'a> {
    layout: &'a Layout,
    dirs: &'a [outputs::OutputDir],
}

impl Shown<'_> {
    /// `p` in the output directory, as the user named it.
    fn out(&self, p: &str) -> String {
        let l = self.layout;
        let base = if l.context.as_os_str() == "." {
            PathBuf::from(&l.out_in_context)
        } else {
            l.context.join(&l.out_in_context)
        };
        base.join(p).display().to_string()
    }

    /// `p` in directory `dir` of the output directories.
    fn path(&self, dir: usize, p: &str) -> String {
        if dir == 0 { self.out(p) } else { shown_repo(&self.dirs[dir].path, p) }
    }
}

/// `--check`: exit 1, naming them, when files on disk differ from what the
/// recipe gives or are in the way; writes nothing.
fn check(format: Format, layout: &Layout, dirs: &[outputs::OutputDir], shown: &Shown<'_>) -> i32 {
    // The journal is only read here: `--check` acts on nothing, and never
    // advises a command that would act on a journal aidc refuses.
    match transaction::check_journal(&layout.repo_root) {
        Ok(false) => {}
        Ok(true) => {
            eprintln!(
                "aidc: a compile was killed while it swapped in its outputs ({}); the next `aidc compile` \
                 finishes it (it touches only the output directories and the staged trees the journal names)",
                shown_repo(&layout.repo_root, transaction::JOURNAL)
            );
            return 1;
        }
        Err(e) => return render::usage_error(format, &e.to_string()),
    }
    let changes: Vec<outputs::Changes> = dirs.iter().map(outputs::OutputDir::changes).collect();
    let conflicts = outputs::conflicts(&changes);
    for (dir, path) in &conflicts {
        eprintln!("conflict: {} is not aidc's, and the recipe gives a file there", shown.path(*dir, path));
    }
    let stale = outputs::stale(&changes);
    if stale.is_empty() && conflicts.is_empty() {
        eprintln!("outputs are up to date");
        return 0;
    }
    for (dir, path) in &stale {
        eprintln!("stale: {}", shown.path(*dir, path));
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
    1
}

/// What a compile wrote, and (unless `quiet`) the build command of every target.
fn report(layout: &Layout, planned: &crate::plan::Plan, summary: &Summary, shown: &Shown<'_>, quiet: bool) {
    if summary.recovered {
        eprintln!("finished swapping in the outputs of a compile that was killed");
    }
    if summary.changes.iter().all(|c| c.is_empty()) {
        eprintln!("nothing changed in {}", shown.out(""));
    }
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    for (i, c) in summary.changes.iter().enumerate() {
        let (w, r) = (c.changed.len(), c.removed.len());
        match (w, r) {
            (0, 0) => {}
            (w, 0) => eprintln!("wrote {w} file{} in {}", plural(w), shown.path(i, "")),
            (0, r) => eprintln!("removed {r} file{} from {}", plural(r), shown.path(i, "")),
            (w, r) => eprintln!("wrote {w} file{} and removed {r} in {}", plural(w), shown.path(i, "")),
        }
    }
    let context = layout.shown_context();
    // One write for all the lines, not one per line (standard output is
    // line-buffered): 3,000 targets were 3,000 system calls.
    let mut lines = String::new();
    let out_dir = Path::new(&context).join(&layout.out_in_context);
    for image in planned.images.iter().filter(|_| !quiet) {
        let containerfile = out_dir.join(&image.containerfile);
        let containerfile = containerfile.display().to_string();
        for t in &image.targets {
            for part in ["podman build -f ", &containerfile, " --target ", &t.variant] {
                lines.push_str(part);
            }
            for s in &t.secrets {
                for part in [" --secret id=", &s.id, ",src=FILE"] {
                    lines.push_str(part);
                }
            }
            for part in [" ", &context, "\n"] {
                lines.push_str(part);
            }
        }
    }
    print!("{lines}");
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
    let recovered = transaction::recover(root).map_err(|e| io(e.to_string()))?;
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
