//! `aidc graph [FILE] [--format text|dot]`: the components, their
//! dependencies and the stages of every image of a recipe (`crate::graph`),
//! on standard output. `aidc graph --format dot | dot -Tsvg > graph.svg`.

use super::args::{GraphArgs, GraphFormat, InputArgs};
use super::{Format, fs, layout, render};
use crate::driver::Mode;
use crate::{graph, plan};

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
    let input = InputArgs { stdlib: args.stdlib.clone(), lib: args.lib.clone(), format: human, deny_warnings: false };
    let layout = match layout::Layout::new(&recipe, None) {
        Ok(l) => l,
        Err(message) => return render::usage_error(human, &message),
    };
    let compiled = match layout::drive(&layout, &input, Mode::Check, super::digests::CacheMode::ReadOnly) {
        Ok(c) => c,
        Err(message) => return render::usage_error(human, &message),
    };
    let (Some(model), Some(planned)) = (&compiled.model, &compiled.plan) else {
        render::diagnostics(human, &compiled.loaded.sources, compiled.diagnostics);
        return 1;
    };
    if compiled.diagnostics.has_errors() {
        render::diagnostics(human, &compiled.loaded.sources, compiled.diagnostics);
        return 1;
    }
    let options = plan::Options { out_dir: layout.out_in_context.clone(), ..Default::default() };
    let owners = plan::layer_owners(model, &compiled.inputs, &options);
    let text = match args.format {
        GraphFormat::Text => graph::text(model, planned, &owners),
        GraphFormat::Dot => graph::dot(model, planned, &owners),
    };
    print!("{text}");
    0
}
