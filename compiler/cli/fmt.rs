//! `aidc fmt [--check] [FILE...]`: rewrites recipes in the canonical layout
//! (`crate::format`). Every file is read and formatted before any is
//! written, so a file that does not parse leaves all of them as they were;
//! each file is replaced whole (written beside itself, then renamed over).
//! Only files inside the repository of the current directory are touched.

use std::path::{Path, PathBuf};

use super::args::FmtArgs;
use super::{Format, fs, render};
use crate::diag::Diagnostics;
use crate::source::{Origin, SourceFile, SourceMap};

pub fn run(args: &FmtArgs) -> i32 {
    let human = Format::Human;
    let files = if args.files.is_empty() {
        match fs::default_files() {
            Ok(f) if !f.is_empty() => f,
            Ok(_) => return render::usage_error(human, "no recipe given and no `*.aid` file in the current directory"),
            Err(e) => return render::usage_error(human, &format!("cannot list the current directory: {e}")),
        }
    } else {
        args.files.clone()
    };
    let cwd = std::env::current_dir().unwrap_or_default();
    let root = super::layout::repository_root(&super::digests::absolute(&cwd));
    let root = root.canonicalize().unwrap_or(root);

    let mut sources = SourceMap::default();
    let mut diagnostics = Diagnostics::default();
    let mut changed: Vec<(PathBuf, &Path, String)> = Vec::new();
    for file in &files {
        let Ok(real) = file.canonicalize() else {
            return render::usage_error(human, &format!("cannot read `{}`: no such file", file.display()));
        };
        if !real.starts_with(&root) {
            return render::usage_error(
                human,
                &format!(
                    "`{}` is outside the repository `{}`; aidc formats only files inside it",
                    file.display(),
                    root.display()
                ),
            );
        }
        let bytes = match crate::resolve::Loader::read(&fs::FsLoader { roots: vec![root.clone()] }, &real) {
            Ok(b) => b,
            Err(e) => return render::usage_error(human, &format!("cannot read `{}`: {e}", file.display())),
        };
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let id = sources.add(SourceFile::new(file.display().to_string(), Origin::File, text.clone().into()));
        let text = match crate::syntax::decode(id, &bytes) {
            Ok(t) => t,
            Err(d) => {
                diagnostics.push(d);
                continue;
            }
        };
        match crate::format::format(id, text) {
            Ok(out) if out != text => changed.push((real, file, out)),
            Ok(_) => {}
            Err(crate::format::Error::Invalid(list)) => list.into_iter().for_each(|d| diagnostics.push(d)),
            Err(crate::format::Error::Internal(why)) => {
                eprintln!("aidc: internal error: {why} in `{}`; the file was not changed", file.display());
                eprintln!("aidc: this is a bug in aidc; please report it with the recipe that triggers it");
                return 70;
            }
        }
    }
    if diagnostics.has_errors() {
        render::diagnostics(human, &sources, diagnostics);
        eprintln!("aidc: nothing was formatted");
        return 1;
    }
    if args.check {
        for (_, file, _) in &changed {
            eprintln!("would reformat {}", file.display());
        }
        return i32::from(!changed.is_empty());
    }
    for (real, file, out) in &changed {
        if let Err(e) = replace(real, out) {
            return render::usage_error(human, &format!("cannot write `{}`: {e}", file.display()));
        }
        eprintln!("formatted {}", file.display());
    }
    0
}

/// Replaces `path` by `text` in one rename, keeping its permissions.
fn replace(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temp = dir.join(format!(".{name}.aidc-fmt-{}", std::process::id()));
    let permissions = std::fs::metadata(path)?.permissions();
    let result = (|| {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(&temp)?;
        f.write_all(text.as_bytes())?;
        // Synced before the rename, unlike a compile's outputs: a recipe is
        // the user's source, which no command can write again after a power
        // loss left it empty.
        f.sync_all()?;
        std::fs::set_permissions(&temp, permissions)?;
        std::fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}
