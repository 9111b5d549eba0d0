//! The stages in a row: resolve, hash inputs, plan, emit. The CLI and the
//! tests and benchmarks share this; how inputs are hashed is passed in, so
//! the core still does no IO.

use std::path::PathBuf;

use crate::diag::Diagnostics;
use crate::emit::{self, Outputs};
use crate::model::Model;
use crate::plan::{self, InputUse, Inputs, Plan};
use crate::resolve::{self, Loaded, Loader, SearchPath};

/// Everything a compilation produced.
pub struct Compiled {
    pub loaded: Loaded,
    pub model: Option<Model>,
    pub plan: Option<Plan>,
    pub outputs: Option<Outputs>,
    pub diagnostics: Diagnostics,
}

/// Compiles `entry`. `hash` returns the digests of the build-context inputs
/// the model names; `out_dir` is the output directory inside the context.
pub fn compile(
    entry: &std::path::Path,
    loader: &dyn Loader,
    search: &SearchPath,
    out_dir: &str,
    hash: &dyn Fn(&[InputUse]) -> (Inputs, Diagnostics),
) -> Result<Compiled, String> {
    compile_with(entry, loader, search, &plan::Options { out_dir: out_dir.to_string(), ..Default::default() }, hash)
}

/// [`compile`] with every planning option (digests from `aid.lock`).
pub fn compile_with(
    entry: &std::path::Path,
    loader: &dyn Loader,
    search: &SearchPath,
    options: &plan::Options,
    hash: &dyn Fn(&[InputUse]) -> (Inputs, Diagnostics),
) -> Result<Compiled, String> {
    let resolved = resolve::resolve(&[entry.to_path_buf()], loader, search)?;
    let mut diagnostics = resolved.diagnostics;
    let mut compiled = Compiled {
        loaded: resolved.loaded,
        model: None,
        plan: None,
        outputs: None,
        diagnostics: Diagnostics::default(),
    };
    let Some(model) = resolved.model else {
        compiled.diagnostics = diagnostics;
        return Ok(compiled);
    };
    let (inputs, input_diagnostics) = hash(&plan::input_uses(&model));
    diagnostics.extend(input_diagnostics);
    if !diagnostics.has_errors() {
        match plan::plan(&model, &inputs, options) {
            Ok(p) => {
                let recipe = entry.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                // Module names relative to the recipe's directory, so the
                // manifest does not depend on where aidc was run from.
                let base = crate::resolve::loader::normalize(entry.parent().unwrap_or(std::path::Path::new(".")));
                let modules = compiled
                    .loaded
                    .sources
                    .files()
                    .map(|(_, f)| {
                        let name = match f.origin {
                            crate::source::Origin::Std => f.name.clone(),
                            crate::source::Origin::File => {
                                crate::resolve::loader::relative_to(&base, std::path::Path::new(&f.name))
                                    .map(|p| crate::resolve::loader::display_path(&p))
                                    .unwrap_or_else(|| format!("lib/{}", f.name.rsplit('/').next().unwrap_or(&f.name)))
                            }
                        };
                        (name, crate::hash::digest(f.text.as_bytes()))
                    })
                    .collect();
                diagnostics.extend(plan::unpinned_bases(&model, options));
                compiled.outputs = Some(emit::emit(&p, &inputs, &recipe, &modules));
                compiled.plan = Some(p);
            }
            Err(d) => diagnostics.extend(d),
        }
    }
    compiled.model = Some(model);
    compiled.diagnostics = diagnostics;
    Ok(compiled)
}

/// Hashes inputs by reading them through a loader, relative to `context`
/// (files only; for tests, benchmarks and embedders without a file system).
pub fn hash_with_loader(loader: &dyn Loader, context: PathBuf) -> impl Fn(&[InputUse]) -> (Inputs, Diagnostics) + '_ {
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
                    crate::diag::Diagnostic::error(
                        crate::diag::Code::MissingInput,
                        format!("`{}` does not exist in the build context", u.path),
                    )
                    .label(u.span, "this step reads it"),
                ),
            }
        }
        (inputs, diagnostics)
    }
}
