//! What the verbs that work on one recipe (`graph`, `build`) share: which
//! recipe (FILE, or the one `*.aid` file of the current directory), and its
//! compilation through [`layout::drive`], stopped at the first usage error
//! or error diagnostic.

use std::path::{Path, PathBuf};

use super::args::InputArgs;
use super::digests::CacheMode;
use super::{Format, fs, layout, render};
use crate::driver::{Compiled, Mode};

/// The recipe, its layout and the driver's result (with a model and a plan,
/// and no errors) for the verb `verb`. `Err` is the exit code, after the
/// usage error or the diagnostics were printed.
pub fn compile(
    file: Option<&Path>,
    input: &InputArgs,
    verb: &str,
    mode: Mode,
    cache: CacheMode,
) -> Result<(PathBuf, layout::Layout, Compiled), i32> {
    let human = Format::Human;
    let recipe = match file {
        Some(f) => f.to_path_buf(),
        None => match fs::default_files() {
            Ok(files) if files.len() == 1 => files[0].clone(),
            Ok(files) if files.is_empty() => {
                return Err(render::usage_error(human, "no recipe given and no `*.aid` file in the current directory"));
            }
            Ok(_) => {
                return Err(render::usage_error(human, &format!("several `*.aid` files here; name the one to {verb}")));
            }
            Err(e) => return Err(render::usage_error(human, &format!("cannot list the current directory: {e}"))),
        },
    };
    let layout = layout::Layout::new(&recipe, None).map_err(|message| render::usage_error(human, &message))?;
    let compiled =
        layout::drive(&layout, input, mode, cache).map_err(|message| render::usage_error(human, &message))?;
    if compiled.model.is_none() || compiled.plan.is_none() || compiled.diagnostics.has_errors() {
        render::diagnostics(human, &compiled.loaded.sources, compiled.diagnostics);
        return Err(1);
    }
    Ok((recipe, layout, compiled))
}
