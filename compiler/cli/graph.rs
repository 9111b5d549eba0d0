//! `aidc graph [FILE] [--format text|dot]`: the components, their
//! dependencies and the stages of every image of a recipe (`crate::graph`),
//! on standard output. `aidc graph --format dot | dot -Tsvg > graph.svg`.

use std::path::Path;

use super::args::{GraphArgs, GraphFormat, InputArgs};
use super::{Format, digests, fs, render};
use crate::{graph, pipeline, plan};

pub fn run(args: &GraphArgs) -> i32 {
    let human = Format::Human;
    let recipe = match &args.file {
        Some(f) => f.clone(),
        None => match fs::default_files() {
            Ok(files) if files.len() == 1 => files[0].clone(),
            Ok(files) if files.is_empty() => {
                return render::usage_error(human, "no recipe given and no `*.aid` file in the current directory");
            }
            Ok(_) => return render::usage_error(human, "several `*.aid` files here; name the one to graph"),
            Err(e) => return render::usage_error(human, &format!("cannot list the current directory: {e}")),
        },
    };
    let context = recipe.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf();
    let input = InputArgs { stdlib: args.stdlib.clone(), lib: args.lib.clone(), format: human, deny_warnings: false };
    let search = fs::search_path(&input);
    let hash = |uses: &[plan::InputUse]| digests::hash_inputs(&context, uses);
    let options = plan::Options { out_dir: "out".into(), ..Default::default() };
    let compiled = match pipeline::compile_with(&recipe, &fs::FsLoader, &search, &options, &hash) {
        Ok(c) => c,
        Err(message) => return render::usage_error(human, &message),
    };
    let (Some(model), Some(planned)) = (&compiled.model, &compiled.plan) else {
        render::diagnostics(human, &compiled.loaded.sources, compiled.diagnostics);
        return 1;
    };
    let (inputs, _) = hash(&plan::input_uses(model));
    let owners = plan::layer_owners(model, &inputs, &options);
    let text = match args.format {
        GraphFormat::Text => graph::text(model, planned, &owners),
        GraphFormat::Dot => graph::dot(model, planned, &owners),
    };
    print!("{text}");
    0
}
