//! Konflux golden cases, one directory each under `tests/golden-konflux/`,
//! laid out as the repository root would be (`.tekton/`, `<recipe
//! dir>/konflux/`). A case's recipe is its own `image.aid` at that pretend
//! root, or, when its `case.json` says `{"recipe": "...", "recipe_dir":
//! "..."}`, a recipe of this repository and its directory in the pretend
//! repository. Adding a case needs no Rust. Shared by the named golden tests
//! (`tests/cases`) and the Konflux tests (`tests/it/konflux.rs`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use aidc::konflux::RepoLayout;

use crate::support::root;

/// Reads files from the repository (relative paths), never writing; `edit`
/// replaces the text of one file.
#[derive(Default)]
pub struct RepoLoader {
    pub edit: Option<(PathBuf, String)>,
}

impl aidc::resolve::Loader for RepoLoader {
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        if let Some((p, text)) = &self.edit
            && p == path
        {
            return Ok(text.clone().into_bytes());
        }
        std::fs::read(root().join(aidc::paths::normalize(path)))
    }
}

/// One golden case: a recipe in the repository and where it lies in the
/// (pretend) git repository its PipelineRuns are for.
pub struct Case {
    pub name: String,
    /// The expected tree.
    pub dir: PathBuf,
    /// The recipe, relative to this repository's root.
    pub recipe: String,
    /// The recipe's directory relative to the pretend git root.
    pub recipe_dir: String,
}

/// Every case, by name.
pub fn cases() -> Vec<Case> {
    let base = root().join("tests/golden-konflux");
    let mut names: Vec<String> = std::fs::read_dir(&base)
        .expect("tests/golden-konflux")
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names.into_iter().map(|n| case(&n)).collect()
}

/// The case called `name`.
pub fn case(name: &str) -> Case {
    let dir = root().join("tests/golden-konflux").join(name);
    assert!(dir.is_dir(), "no Konflux case {name}");
    let (recipe, recipe_dir) = match std::fs::read_to_string(dir.join("case.json")) {
        Ok(text) => {
            let v: serde_json::Value = serde_json::from_str(&text).expect("case.json is JSON");
            let field = |k: &str| v[k].as_str().unwrap_or_else(|| panic!("{name}/case.json: no `{k}`")).to_string();
            (field("recipe"), field("recipe_dir"))
        }
        Err(_) => (format!("tests/golden-konflux/{name}/image.aid"), ".".to_string()),
    };
    Case { name: name.to_string(), dir, recipe, recipe_dir }
}

/// A loader that reads `case`'s recipe with `from` replaced by `to`.
pub fn edited(case: &Case, from: &str, to: &str) -> RepoLoader {
    let text = std::fs::read_to_string(root().join(&case.recipe)).expect("recipe");
    assert!(text.contains(from), "{from:?} not in {}", case.recipe);
    RepoLoader { edit: Some((PathBuf::from(&case.recipe), text.replace(from, to))) }
}

/// Runs the driver on `case`, Konflux included.
pub fn drive(case: &Case, loader: &RepoLoader) -> aidc::driver::Compiled {
    let entry = PathBuf::from(&case.recipe);
    let context = entry.parent().expect("recipe dir").to_path_buf();
    let hash = aidc::driver::hash_with_loader(loader, context);
    let search = aidc::resolve::SearchPath::default();
    let mut request = aidc::driver::Request::new(&entry, loader, &search, &hash);
    request.repo = layout(case);
    aidc::driver::run(&request, aidc::driver::Mode::Compile).expect("recipe readable")
}

pub fn layout(case: &Case) -> RepoLayout {
    RepoLayout { recipe_dir: case.recipe_dir.clone(), recipe_file: "image.aid".to_string() }
}

/// The Konflux files `case` gives; panics on errors.
pub fn generate(case: &Case) -> BTreeMap<String, String> {
    let compiled = drive(case, &RepoLoader::default());
    assert!(!compiled.diagnostics.has_errors(), "{}: {:#?}", case.name, compiled.diagnostics.into_sorted());
    compiled.konflux
}
