//! The one driver: resolve -> hash inputs -> plan -> emit -> konflux, each
//! stage's [`Outcome`] folded into one list of diagnostics. `aidc check`,
//! `aidc compile`, the tests, benchmarks and fuzzers all run it, so they
//! report the same. The core does no IO: files come through the [`Loader`],
//! input digests through [`Request::hash`], and writing is the CLI's.
//!
//! Where inputs resolve: every build-context path (`copy`, `script(...)`,
//! `file(...)`) is relative to the build context, the entry recipe's
//! directory, whichever module names it (a library module's `copy "x"` reads
//! `x` beside the recipe that uses it, as buildah will).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::diag::{Code, Diagnostic, Diagnostics, Outcome};
use crate::emit;
use crate::konflux::{self, RepoLayout};
use crate::model::Model;
use crate::paths;
use crate::plan::{self, InputUse, Inputs, Plan};
use crate::resolve::{self, Loaded, Loader, SearchPath};
use crate::source::Origin;

/// How build-context inputs are hashed: the digests of the paths the model
/// names, relative to the build context.
pub type Hasher<'a> = dyn Fn(&[InputUse]) -> Outcome<Inputs> + 'a;

/// One compilation's inputs.
pub struct Request<'a> {
    /// The recipe; its directory is the build context.
    pub entry: &'a Path,
    pub loader: &'a dyn Loader,
    pub search: &'a SearchPath,
    /// Where the plan's files go and the digests of `aid.lock`.
    pub options: plan::Options,
    pub hash: &'a Hasher<'a>,
    /// Where the recipe lies in its git repository (for the Konflux files).
    pub repo: RepoLayout,
    /// The task bundles of the recipe's committed PipelineRuns, which the
    /// Konflux files keep (read by the CLI; empty for in-memory compiles).
    pub locked: konflux::bundles::Locked,
}

impl<'a> Request<'a> {
    /// A request for `entry` with the default options (`out`, no pins),
    /// inputs read through `loader` and the recipe's directory taken as its
    /// place in the repository.
    pub fn new(entry: &'a Path, loader: &'a dyn Loader, search: &'a SearchPath, hash: &'a Hasher<'a>) -> Request<'a> {
        Request {
            entry,
            loader,
            search,
            options: plan::Options { out_dir: "out".into(), ..Default::default() },
            hash,
            repo: RepoLayout {
                recipe_dir: paths::display_path(&paths::normalize(context(entry))),
                recipe_file: recipe_file(entry),
            },
            locked: konflux::bundles::Locked::default(),
        }
    }
}

/// What the caller does with the result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Every stage runs and reports; the files are dropped once made.
    Check,
    /// Every stage runs; the files are kept for the caller to write.
    Compile,
}

/// Everything a compilation produced. In [`Mode::Check`] `outputs` and
/// `konflux` are empty; `plan` is kept (it says what would be built).
pub struct Compiled {
    pub loaded: Loaded,
    pub model: Option<Model>,
    pub plan: Option<Plan>,
    /// The digests of the context inputs the plan uses (empty when the
    /// recipe did not resolve).
    pub inputs: Inputs,
    /// The output directory's files (Containerfiles, support files, manifest).
    pub outputs: Option<emit::Files>,
    /// The Konflux files by path relative to the repository root; empty
    /// without a `pipeline` block.
    pub konflux: BTreeMap<String, String>,
    pub diagnostics: Diagnostics,
}

/// Runs every stage on `request.entry`. `Err` is a usage error (the entry
/// cannot be read). A stage runs only when the ones before it found no error.
pub fn run(request: &Request<'_>, mode: Mode) -> Result<Compiled, String> {
    let resolved = resolve::resolve(&[request.entry.to_path_buf()], request.loader, request.search)?;
    let mut diagnostics = Diagnostics::default();
    let mut compiled = Compiled {
        loaded: resolved.loaded,
        model: None,
        plan: None,
        inputs: Inputs::default(),
        outputs: None,
        konflux: BTreeMap::new(),
        diagnostics: Diagnostics::default(),
    };
    let model = resolved.model.into_value(&mut diagnostics);
    // A recipe that builds nothing is most likely the wrong file: say so
    // rather than succeed silently.
    if let (Some(m), Some(root)) = (&model, compiled.loaded.roots.first())
        && m.images.is_empty()
        && m.pipeline.is_none()
    {
        let source = compiled.loaded.modules[root.0].source;
        diagnostics.push(
            crate::diag::Diagnostic::warning(
                crate::diag::Code::NoImage,
                "this recipe defines no image; nothing is built",
            )
            .label(crate::source::Span::new(source, 0, 0), "in this file")
            .help("add an `image NAME { from ... }` block, or compile the recipe that imports this module"),
        );
    }
    if let Some(model) = &model {
        let inputs = (request.hash)(&plan::input_uses(model)).into_value(&mut diagnostics).unwrap_or_default();
        if !diagnostics.has_errors()
            && let Some(mut p) = plan::plan(model, &inputs, &request.options).into_value(&mut diagnostics)
        {
            diagnostics.extend(plan::unpinned_bases(model, &request.options));
            let modules = module_digests(&compiled.loaded, request.entry);
            let support = std::mem::take(&mut p.files);
            let outputs =
                emit::emit(&p, support, &inputs, &recipe_file(request.entry), &modules).into_value(&mut diagnostics);
            if model.pipeline.is_some() {
                let files =
                    konflux::files_locked(model, &p, &request.repo, &request.locked).into_value(&mut diagnostics);
                if mode == Mode::Compile {
                    compiled.konflux = files.unwrap_or_default();
                }
            }
            if mode == Mode::Compile {
                compiled.outputs = outputs;
            }
            compiled.plan = Some(p);
        }
        compiled.inputs = inputs;
    }
    compiled.model = model;
    compiled.diagnostics = diagnostics;
    Ok(compiled)
}

/// The build context: the recipe's directory (`.` for a bare file name).
pub fn context(entry: &Path) -> &Path {
    entry.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// The recipe's file name, as the manifest and the Konflux header name it.
fn recipe_file(entry: &Path) -> String {
    entry.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Every module read and its digest, by name relative to the recipe's
/// directory, so the manifest does not depend on where aidc was run from.
fn module_digests(loaded: &Loaded, entry: &Path) -> BTreeMap<String, String> {
    let base = paths::normalize(context(entry));
    let named: Vec<(String, String)> = loaded
        .sources
        .files()
        .map(|(_, f)| {
            let name = match f.origin {
                Origin::Std => f.name.clone(),
                Origin::File => paths::relative_to(&base, Path::new(&f.name))
                    .map(|p| paths::display_path(&p))
                    .unwrap_or_else(|| format!("lib/{}", f.name.rsplit('/').next().unwrap_or(&f.name))),
            };
            (name, crate::hash::digest_text(&f.text))
        })
        .collect();
    // Two library modules may share a file name (`lib/x.aid` from two
    // directories): each keeps a key of its own, in load order, or
    // `compile --check` would miss an edit to one of them.
    let mut out = BTreeMap::new();
    for (name, digest) in named {
        let mut key = name.clone();
        let mut n = 2;
        while out.contains_key(&key) {
            key = format!("{name}#{n}");
            n += 1;
        }
        out.insert(key, digest);
    }
    out
}

/// Hashes inputs by reading them through a loader, relative to `context`
/// (files only; for tests, benchmarks and embedders without a file system).
pub fn hash_with_loader(loader: &dyn Loader, context: PathBuf) -> impl Fn(&[InputUse]) -> Outcome<Inputs> + '_ {
    move |uses| {
        let mut inputs = Inputs::default();
        let mut diagnostics = Diagnostics::default();
        for u in uses {
            match loader.read(&context.join(&u.path)) {
                Ok(bytes) => {
                    inputs
                        .entries
                        .insert(u.path.clone(), plan::Input { digest: crate::hash::digest(&bytes), is_dir: false });
                }
                Err(_) => diagnostics.push(
                    Diagnostic::error(Code::MissingInput, format!("`{}` does not exist in the build context", u.path))
                        .label(u.span, "this step reads it"),
                ),
            }
        }
        Outcome::ok(inputs, diagnostics)
    }
}

/// [`run`] in [`Mode::Compile`] with the default request for `entry`
/// ([`Request::new`]) writing into `out_dir`: what tests, benchmarks and
/// fuzzers compile with.
pub fn compile(
    entry: &Path,
    loader: &dyn Loader,
    search: &SearchPath,
    out_dir: &str,
    hash: &Hasher<'_>,
) -> Result<Compiled, String> {
    let mut request = Request::new(entry, loader, search, hash);
    request.options.out_dir = out_dir.to_string();
    run(&request, Mode::Compile)
}

#[cfg(test)]
mod tests {
    /// A recipe of a few images starts no workers: every `par` call asks
    /// whether the work is worth them before it asks for them (a `join`
    /// that asked first started them for the flagship, 2.6 ms more CPU for
    /// `aidc check`). In a process of its own: another test may have
    /// started them in this one.
    #[test]
    fn a_recipe_of_a_few_images_starts_no_workers() {
        const ALONE: &str = "AIDC_TEST_PROCESS_OF_ITS_OWN";
        if std::env::var_os(ALONE).is_none() {
            let exe = std::env::current_exe().expect("the test binary");
            let test = "driver::tests::a_recipe_of_a_few_images_starts_no_workers";
            let out = std::process::Command::new(exe)
                .args(["--exact", test, "--test-threads=1"])
                .env(ALONE, "1")
                .output()
                .expect("the test binary runs");
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success() && stdout.contains("1 passed"), "{stdout}");
            return;
        }
        let mut recipe = String::from("import \"std/kernel\"\nimport \"std/tools\"\n");
        for i in 0..3 {
            recipe.push_str(&format!(
                "image gen-{i} {{\n  from \"quay.io/fedora/fedora-bootc:44\"\n  kernel kernel.longterm(\"6.18\")\n  \
                 use tools.ramalama()\n  variant clean {{}}\n  variant more {{ packages [\"tool-{i}\"] }}\n}}\n"
            ));
        }
        let mut loader = crate::resolve::MemLoader::default();
        loader.insert("p/image.aid", recipe);
        let hash = super::hash_with_loader(&loader, "p".into());
        let search = crate::resolve::SearchPath::default();
        let compiled = super::compile(std::path::Path::new("p/image.aid"), &loader, &search, "out", &hash)
            .expect("the recipe is read");
        assert!(compiled.outputs.is_some_and(|o| o.len() > 3), "{:?}", compiled.diagnostics);
        assert!(!crate::par::asked(), "a compile of three images asked for the workers");
    }

    /// Every text compiled into aidc has its digest made at build time
    /// (`compiler/build.rs` lists the directories it reads).
    #[test]
    fn every_embedded_text_has_its_digest() {
        let texts = crate::stdlib::MODULES.iter().chain(crate::emit::TEMPLATES).chain(crate::plan::SCRIPTS);
        for (name, text) in texts {
            assert!(crate::embedded::digest_of(text).is_some(), "{name} has no build-time digest");
        }
    }
}
