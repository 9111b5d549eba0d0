//! Where a recipe's compilation reads and writes: the build context (the
//! recipe's directory), the output directory inside it, the repository root
//! for the Konflux files, and `aid.lock`. `check` and `compile` both run the
//! driver through [`drive`], so they hash the same directory and report the
//! same.

use std::path::{Path, PathBuf};

use super::args::InputArgs;
use super::{digests, fs};
use crate::driver::{self, Compiled, Mode, Request};
use crate::konflux::RepoLayout;
use crate::plan;

/// Where one recipe's compilation reads and writes.
pub struct Layout {
    pub recipe: PathBuf,
    /// The build context: the recipe's directory.
    pub context: PathBuf,
    /// The output directory, absolute.
    pub out: PathBuf,
    /// The output directory inside the context, as the Containerfile names it.
    pub out_in_context: String,
    /// The nearest directory above the recipe's real directory holding
    /// `.git`, else that real directory (`fs::repository_root`).
    pub repo_root: PathBuf,
    /// The recipe's place in that repository.
    pub repo: RepoLayout,
}

impl Layout {
    /// The layout of `recipe` writing into `out` (default: `out/` beside it).
    pub fn new(recipe: &Path, out: Option<&Path>) -> Result<Layout, String> {
        let context = driver::context(recipe).to_path_buf();
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
                "the output directory cannot be the build context itself; use a directory inside it, like `out`".into(),
            );
        }
        let out_in_context = rel.to_string_lossy().replace('\\', "/");
        // The Containerfile names files under it in `--mount=…,source=PATH`
        // and `COPY SRC DEST`, where white space, `,`, `=` and quotes would
        // split or end the word: only a plain path is taken.
        if let Some(c) = out_in_context
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-' | '+' | '@')))
        {
            return Err(format!(
                "the output directory `{}` holds `{}`, which the Containerfile cannot name in a mount or a COPY; \
                 use letters, digits and `/._-+@`",
                fs::shown(Path::new(&out_in_context)),
                c.escape_default()
            ));
        }
        // From the real path: a recipe reached through a linked directory
        // is placed the same (docs/hardening.md).
        let repo_root = fs::repository_root(&context);
        let in_repo = fs::real(&context)
            .strip_prefix(&repo_root)
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_default();
        if in_repo.chars().any(char::is_control) {
            return Err(format!(
                "the recipe's directory `{}` has a control character in its path; rename it (it reaches the outputs)",
                in_repo.escape_debug()
            ));
        }
        let recipe_file = recipe.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        // Pipelines-as-Code substitutes `{{ … }}` (event payload fields too) in
        // a PipelineRun before it parses the YAML, and the recipe's path is in
        // its CEL expression, `path-context` and `prefetch-input` (as
        // validate::git_branch refuses for a branch).
        if in_repo.contains("{{") || recipe_file.contains("{{") {
            return Err(format!(
                "the recipe's path `{}` holds `{{{{`, which Pipelines-as-Code would substitute in the PipelineRuns; rename it",
                fs::shown(Path::new(format!("{in_repo}/{recipe_file}").trim_start_matches('/')))
            ));
        }
        let repo = RepoLayout { recipe_dir: if in_repo.is_empty() { ".".into() } else { in_repo }, recipe_file };
        Ok(Layout { recipe: recipe.to_path_buf(), context, out: out_abs, out_in_context, repo_root, repo })
    }

    /// The build context as shown to users.
    pub fn shown_context(&self) -> String {
        if self.context.as_os_str() == "." { ".".to_string() } else { self.context.display().to_string() }
    }

    /// The planning options: the output directory and the digests of
    /// `aid.lock` (project images this recipe builds on, kept up to date by
    /// Konflux nudges). `Err` names the bad line of `aid.lock`.
    fn options(&self) -> Result<plan::Options, String> {
        // Through the one safe open: a committed `aid.lock` may be a FIFO, a
        // device or a link out of the repository (found by the random-tree property).
        let path = self.context.join("aid.lock");
        // A link is refused, not followed: `aid.lock -> .env` (a file CI
        // writes) would otherwise be parsed and its lines quoted in errors.
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err("`aid.lock` is a link; aidc reads it only as a regular file beside the recipe".into());
        }
        let lock = fs::read_in(&path, Some(&fs::real(&self.context)), 1 << 20)
            .map(|b| String::from_utf8_lossy(&b).into_owned());
        let pins = match lock {
            Ok(text) => plan::parse_lock(&text)
                .map_err(|(line, reason)| format!("aid.lock:{line}: {}", fs::shown(Path::new(&reason))))?,
            Err(_) => Default::default(),
        };
        Ok(plan::Options { out_dir: self.out_in_context.clone(), pins })
    }
}

/// Runs the driver on the layout's recipe, hashing inputs in its build
/// context through its digest cache (written back only by `compile`).
/// `Err` is a usage error.
pub fn drive(layout: &Layout, input: &InputArgs, mode: Mode, cache: digests::CacheMode) -> Result<Compiled, String> {
    let search = fs::search_path(input);
    let context = layout.context.clone();
    let hash = move |uses: &[plan::InputUse]| digests::hash_inputs(&context, uses, cache);
    // Modules are read only inside the repository and the library directories the caller named.
    let loader = fs::FsLoader::for_entries(std::slice::from_ref(&layout.recipe), &search);
    let request = Request {
        entry: &layout.recipe,
        loader: &loader,
        search: &search,
        options: layout.options()?,
        hash: &hash,
        repo: layout.repo.clone(),
        // The committed PipelineRuns are the lock for task bundles (a bot's updates stay).
        locked: crate::konflux::bundles::Locked::from_files(&super::outputs::committed_runs(
            &layout.repo_root,
            &layout.repo_root.join(".tekton"),
            crate::konflux::header(&layout.repo).trim_end(),
        )),
    };
    driver::run(&request, mode)
}

/// The repository root of a directory (`fs::repository_root`: from its
/// real path, links resolved).
pub fn repository_root(start: &Path) -> PathBuf {
    fs::repository_root(start)
}

/// A path under the repository root as shown to users: relative to the
/// current directory when it lies below it.
pub fn shown_repo(root: &Path, path: &str) -> String {
    let full = root.join(path);
    let cwd = std::env::current_dir().unwrap_or_default();
    full.strip_prefix(&cwd).map(|p| p.display().to_string()).unwrap_or_else(|_| full.display().to_string())
}
