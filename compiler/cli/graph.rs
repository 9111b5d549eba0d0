//! `aidc graph [FILE] [--format text|dot]`: the components, their
//! dependencies and the stages of every image of a recipe (`crate::graph`),
//! on standard output. `aidc graph --format dot | dot -Tsvg > graph.svg`.

use super::args::{GraphArgs, GraphFormat, InputArgs};
use super::digests::CacheMode;
use super::{Format, one_recipe};
use crate::driver::Mode;
use crate::{graph, plan};

pub fn run(args: &GraphArgs) -> i32 {
    let input =
        InputArgs { stdlib: args.stdlib.clone(), lib: args.lib.clone(), format: Format::Human, deny_warnings: false };
    let (_, layout, compiled) =
        match one_recipe::compile(args.file.as_deref(), &input, "graph", Mode::Check, CacheMode::ReadOnly) {
            Ok(done) => done,
            Err(code) => return code,
        };
    let (Some(model), Some(planned)) = (&compiled.model, &compiled.plan) else { return 1 };
    let options = plan::Options { out_dir: layout.out_in_context.clone(), ..Default::default() };
    let owners = plan::layer_owners(model, &compiled.inputs, &options);
    let text = match args.format {
        GraphFormat::Text => graph::text(model, planned, &owners),
        GraphFormat::Dot => graph::dot(model, planned, &owners),
    };
    print!("{text}");
    0
}
