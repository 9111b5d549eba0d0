//! Stage 2, resolve: modules, names, values, facts, constraints and policy,
//! from the ASTs to the checked [`Model`](crate::model::Model) of every image
//! variant. Resolution reports every error it can and builds the model only
//! when there are none.

mod image;
mod lang;
pub mod loader;
mod memory;

use std::path::PathBuf;

pub use loader::{Loaded, Loader, SearchPath};
pub use memory::MemLoader;
pub use project::{PUBLISHED_TAG, component_name};

use crate::diag::{Diagnostics, Outcome};
use crate::model::{self, Model};
use crate::syntax::ast::StmtKind;
use image::{project, variant};
use lang::eval::{self, Evaluator};
use lang::scope::Program;
use lang::value::{self, ImageId};
use lang::{budget, names, structure};

/// The result of resolving: every file read, and the model (only when
/// there were no errors) with every diagnostic.
pub struct Resolved {
    pub loaded: Loaded,
    pub model: Outcome<Model>,
}

/// Loads the entry files and what they import, then resolves and checks
/// every image variant of the entry files. `Err` is a usage error (an entry
/// file that cannot be read).
pub fn resolve(entries: &[PathBuf], loader: &dyn Loader, search: &SearchPath) -> Result<Resolved, String> {
    let (loaded, mut diagnostics) = loader::load(entries, loader, search)?;
    if diagnostics.has_errors() {
        // Parse and import errors first: resolving half-read modules only
        // produces follow-on noise.
        return Ok(Resolved { loaded, model: Outcome::failed(diagnostics) });
    }
    let model = {
        let program = Program::build(&loaded, &mut diagnostics);
        structure::check(&program, &mut diagnostics);
        let mut named = Diagnostics::default();
        names::check(&program, &mut named);
        let mut ev = Evaluator::new(&program);
        let mut model = Model {
            modules: loaded.modules.iter().map(|m| loaded.sources.get(m.source).name.clone()).collect(),
            ..Model::default()
        };
        // The pipeline's platforms decide `target.arch`; its diagnostics
        // come after the images', as they are written.
        let images_diags = std::mem::take(&mut ev.diags);
        let pipeline = loaded.roots.first().and_then(|root| project::pipeline(&mut ev, *root));
        let pipeline_diags = std::mem::replace(&mut ev.diags, images_diags);
        let arches: Vec<(&'static str, String)> = match &pipeline {
            Some(p) => p.arches().into_iter().map(|(a, p)| (a, p.to_string())).collect(),
            None => Vec::new(),
        };
        let (first, others) = match arches.split_first() {
            Some((first, others)) => (first.clone(), others),
            None => (("x86_64", "linux/x86_64".to_string()), &[][..]),
        };
        for (index, info) in program.images.iter().enumerate() {
            if !loaded.roots.contains(&info.module) {
                continue;
            }
            let image = ImageId(index);
            let mut variants = Vec::new();
            for chain in chains(&program, image) {
                // Each architecture resolves the variant again (the same
                // diagnostic twice is reported once).
                ev.platform = first.clone();
                let Some(mut v) = variant::assemble(&mut ev, image, &chain) else { continue };
                for arch in others {
                    ev.platform = arch.clone();
                    if let Some(other) = variant::assemble(&mut ev, image, &chain) {
                        v.other_arches.push(other);
                    }
                }
                variants.push(v);
            }
            let has_variants = !eval::variant_names(info.image).is_empty();
            model.images.push(model::Image {
                name: info.image.name.name.clone(),
                docs: info.docs.to_vec(),
                span: info.image.name.span,
                has_variants,
                variants,
            });
        }
        model.pipeline = pipeline;
        ev.diags.extend(pipeline_diags);
        diagnostics.extend(names::without_repeats(ev.diags, &named));
        diagnostics.extend(named);
        model
    };
    Ok(Resolved { loaded, model: Outcome::unless_errors(model, diagnostics) })
}

/// The chain of bodies of each variant of an image (one implicit variant
/// when it declares none). Variants in an `extends` cycle or extending an
/// unknown variant are skipped: the structure check reported them.
pub(crate) fn chains<'p>(program: &Program<'p>, image: ImageId) -> Vec<variant::Chain<'p>> {
    let info = &program.images[image.0];
    let name = &info.image.name.name;
    let declared: Vec<(&crate::syntax::ast::Ident, Option<&crate::syntax::ast::Ident>, &crate::syntax::ast::Block)> =
        info.image
            .body
            .stmts
            .iter()
            .filter_map(|s| match &s.kind {
                StmtKind::Variant { name, extends, body } => Some((name, extends.as_ref(), body)),
                _ => None,
            })
            .collect();
    if declared.is_empty() {
        return vec![variant::Chain {
            name: name.clone(),
            implicit: true,
            extends: Vec::new(),
            span: info.image.name.span,
            bodies: vec![(name.clone(), &info.image.body)],
        }];
    }
    // The first declaration of each name (duplicates were reported).
    let mut by_name = std::collections::HashMap::new();
    for (i, (n, _, _)) in declared.iter().enumerate() {
        by_name.entry(n.name.as_str()).or_insert(i);
    }
    let mut out = Vec::new();
    'variants: for (i, (vname, _, _)) in declared.iter().enumerate() {
        // Duplicate variant names were reported; keep the first.
        if by_name[vname.name.as_str()] != i {
            continue;
        }
        // Walk up the extends chain.
        let mut lineage = vec![declared[i]];
        loop {
            let (_, parent, _) = lineage.last().expect("non-empty");
            let Some(parent) = parent else { break };
            let Some(&next) = by_name.get(parent.name.as_str()) else {
                continue 'variants;
            };
            let next = declared[next];
            // Cycles and chains over the limit were reported by the structure check.
            if lineage.len() > budget::MAX_CHAIN || lineage.iter().any(|(n, _, _)| n.name == next.0.name) {
                continue 'variants;
            }
            lineage.push(next);
        }
        let extends: Vec<String> = lineage.iter().skip(1).map(|(n, _, _)| n.name.clone()).collect();
        let mut bodies = vec![(name.clone(), &info.image.body)];
        for (n, _, body) in lineage.iter().rev() {
            bodies.push((format!("{name}.{}", n.name), *body));
        }
        out.push(variant::Chain { name: vname.name.clone(), implicit: false, extends, span: vname.span, bodies });
    }
    out
}
