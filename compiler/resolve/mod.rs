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
    resolve_split(entries, loader, search, true).map(|(resolved, _)| resolved)
}

/// [`resolve`], with the images of a large project resolved on every core
/// when `split` allows it ([`images_in_parallel`]); the flag says whether
/// they were.
fn resolve_split(
    entries: &[PathBuf],
    loader: &dyn Loader,
    search: &SearchPath,
    split: bool,
) -> Result<(Resolved, bool), String> {
    let (loaded, mut diagnostics) = loader::load(entries, loader, search)?;
    if diagnostics.has_errors() {
        // Parse and import errors first: resolving half-read modules only
        // produces follow-on noise.
        return Ok((Resolved { loaded, model: Outcome::failed(diagnostics) }, false));
    }
    let in_parallel;
    let model = {
        let program = Program::build(&loaded, &mut diagnostics);
        // The two checks read the program only: side by side for a large
        // project, whose images they walk alone before any is resolved.
        let (structural, named) = crate::par::join(
            program.images.len() >= crate::par::MIN_ITEMS,
            || {
                let mut found = Diagnostics::default();
                structure::check(&program, &mut found);
                found
            },
            || {
                let mut named = Diagnostics::default();
                names::check(&program, &mut named);
                named
            },
        );
        diagnostics.extend(structural);
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
        let roots: Vec<ImageId> = (0..program.images.len())
            .filter(|&i| loaded.roots.contains(&program.images[i].module))
            .map(ImageId)
            .collect();
        // Not when the pipeline reported anything: its evaluation may have
        // left a failed `let` in the evaluator's cache, which a worker's
        // fresh evaluator would evaluate again, perhaps without the error.
        let quiet = diagnostics.is_empty() && named.is_empty() && pipeline_diags.is_empty() && ev.reports == 0;
        let parallel =
            if split && quiet { images_in_parallel(&program, &roots, &first, others, &mut ev) } else { None };
        in_parallel = parallel.is_some();
        model.images = match parallel {
            Some(images) => images,
            None => roots.iter().map(|&image| resolve_image(&mut ev, image, &first, others)).collect(),
        };
        #[cfg(test)]
        tests::BUDGET_LEFT.set(ev.budget.left());
        model.pipeline = pipeline;
        ev.diags.extend(pipeline_diags);
        diagnostics.extend(names::without_repeats(ev.diags, &named));
        diagnostics.extend(named);
        model
    };
    Ok((Resolved { loaded, model: Outcome::unless_errors(model, diagnostics) }, in_parallel))
}

/// Every variant of `image`, on each architecture.
fn resolve_image(
    ev: &mut Evaluator,
    image: ImageId,
    first: &(&'static str, String),
    others: &[(&'static str, String)],
) -> model::Image {
    let program = ev.program;
    let info = &program.images[image.0];
    let mut variants = Vec::new();
    for chain in chains(program, image) {
        // Each architecture resolves the variant again (the same
        // diagnostic twice is reported once).
        ev.platform = first.clone();
        let Some(mut v) = variant::assemble(ev, image, &chain) else { continue };
        for arch in others {
            ev.platform = arch.clone();
            if let Some(other) = variant::assemble(ev, image, &chain) {
                v.other_arches.push(other);
            }
        }
        variants.push(v);
    }
    model::Image {
        name: info.image.name.name.clone(),
        docs: info.docs.to_vec(),
        span: info.image.name.span,
        has_variants: !eval::variant_names(info.image).is_empty(),
        variants,
    }
}

/// The images of a large project resolved on every core, each worker
/// with an evaluator of its own taking the next image whenever it is free
/// (`crate::par::pulled`), when that gives exactly what one evaluator
/// resolving them in a row gives; `None` otherwise, and the caller
/// resolves them in a row.
///
/// Why the results are the same: an evaluator's caches (`let` values, the
/// memo of instances) never change a value, only the work it costs; its
/// other state (the diagnostics, the platform errors seen, the budget)
/// only decides what is reported. So the workers' images are kept only
/// when none reported anything, and when the work they spent together is
/// within what the one evaluator has left: a worker evaluates each `let`
/// again and a memo hit costs what the evaluation did, so a resolve in a
/// row would spend no more and would not have run out. Each worker gets a
/// share of that budget, so a recipe that runs out costs at most twice
/// the budget in all (the workers, then the resolve in a row that reports
/// the error where it always did).
fn images_in_parallel(
    program: &Program,
    roots: &[ImageId],
    first: &(&'static str, String),
    others: &[(&'static str, String)],
    ev: &mut Evaluator,
) -> Option<Vec<model::Image>> {
    if roots.len() < crate::par::MIN_ITEMS || crate::par::cores() < 2 {
        return None;
    }
    // `par::pulled` starts one worker per core.
    let share = ev.budget.left() / crate::par::cores() as u64;
    // Once a worker reports something, the others stop at their next
    // image: the images are resolved in a row anyway.
    let (images, spent) = crate::par::pulled(
        roots,
        || {
            let mut ev = Evaluator::new(program);
            ev.budget = ev.budget.share(share);
            ev
        },
        |ev, &image| {
            let resolved = resolve_image(ev, image, first, others);
            (ev.diags.is_empty() && ev.reports == 0 && !ev.budget.exhausted).then_some(resolved)
        },
        |ev| share - ev.budget.left(),
    )?;
    let spent = spent.into_iter().fold(0u64, u64::saturating_add);
    // Checked first: a failed `spend` would use the budget up for good.
    if spent > ev.budget.left() {
        return None;
    }
    ev.budget.spend(spent);
    Some(images)
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
    let mut by_name = crate::maps::HashMap::default();
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

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        /// The work left once the images were resolved (in a row).
        pub static BUDGET_LEFT: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    }

    /// `images` images of two variants each, built for two platforms; the
    /// image `broken` (if any) names a package that is not one.
    fn recipe(images: usize, broken: Option<usize>) -> MemLoader {
        recipe_with_branch(images, broken, "\"main\"")
    }

    /// [`recipe`] with the pipeline's `branch` written as `branch`.
    fn recipe_with_branch(images: usize, broken: Option<usize>, branch: &str) -> MemLoader {
        let mut recipe = String::from(
            "import \"std/kernel\"\nimport \"std/tools\"\n\nlet shared = [\"tool\", \"lib\"]\n\n\
             pipeline konflux {\n  application = \"gen\"\n  registry = \"quay.io/example\"\n  \
             platforms = [\"linux/x86_64\", \"linux/arm64\"]\n  branch = BRANCH\n  \
             repository = \"https://github.com/example/gen\"\n}\n\n",
        )
        .replace("BRANCH", branch);
        for i in 0..images {
            let package = if broken == Some(i) { "not a package".to_string() } else { format!("tool-{i}") };
            recipe.push_str(&format!(
                "image gen-{i} {{\n  from \"quay.io/fedora/fedora-bootc:44\"\n  kernel kernel.longterm(\"6.18\")\n  \
                 use tools.ramalama()\n  packages shared\n  write \"/etc/gen/{i}.conf\" \"index = {i}\"\n  \
                 variant clean {{}}\n  variant more {{ packages [\"{package}\"] }}\n}}\n"
            ));
        }
        let mut loader = MemLoader::default();
        loader.insert("r/image.aid", recipe);
        loader
    }

    /// The model's images and the diagnostics, resolved with or without
    /// splitting the images; whether they were split.
    fn resolved(loader: &MemLoader, split: bool) -> (String, Vec<String>, bool) {
        let (resolved, in_parallel) =
            resolve_split(&["r/image.aid".into()], loader, &SearchPath::default(), split).expect("entry");
        // Debug, not JSON: the JSON leaves out the other architectures' variants.
        let model = format!("{:?}", resolved.model.value.as_ref().map(|m| &m.images));
        let diagnostics = resolved.model.diagnostics.iter().map(|d| format!("{d:?}")).collect();
        (model, diagnostics, in_parallel)
    }

    #[test]
    fn images_resolved_on_every_core_as_in_a_row() {
        if crate::par::cores() < 2 {
            return;
        }
        let loader = recipe(3 * crate::par::MIN_ITEMS, None);
        let (split, split_diagnostics, in_parallel) = resolved(&loader, true);
        let (row, row_diagnostics, _) = resolved(&loader, false);
        assert!(in_parallel, "a clean project of 48 images is resolved on every core");
        assert_eq!(split_diagnostics, row_diagnostics);
        assert!(split.contains("gen-47") && split.contains("aarch64"), "{}", &split[..200]);
        assert_eq!(split, row);
    }

    #[test]
    fn a_report_in_any_image_resolves_them_in_a_row() {
        let loader = recipe(3 * crate::par::MIN_ITEMS, Some(37));
        let (split, split_diagnostics, in_parallel) = resolved(&loader, true);
        let (row, row_diagnostics, _) = resolved(&loader, false);
        assert!(!in_parallel);
        assert_eq!(split_diagnostics.len(), 1, "{split_diagnostics:?}");
        assert_eq!(split_diagnostics, row_diagnostics);
        assert_eq!(split, row);
    }

    /// The pipeline is evaluated first, by the evaluator that resolves the
    /// images in a row: what it reported (a failed `let` it left in that
    /// evaluator's cache, say) must not be evaluated again by the workers.
    #[test]
    fn a_report_in_the_pipeline_resolves_the_images_in_a_row() {
        let loader = recipe_with_branch(3 * crate::par::MIN_ITEMS, None, "5");
        let (split, split_diagnostics, in_parallel) = resolved(&loader, true);
        let (row, row_diagnostics, _) = resolved(&loader, false);
        assert!(!in_parallel, "{split_diagnostics:?}");
        assert!(!split_diagnostics.is_empty());
        assert_eq!(split_diagnostics, row_diagnostics);
        assert_eq!(split, row);
    }

    #[test]
    fn few_images_are_resolved_in_a_row() {
        let loader = recipe(crate::par::MIN_ITEMS - 1, None);
        let (_, diagnostics, in_parallel) = resolved(&loader, true);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        assert!(!in_parallel);
    }

    /// A kept part whose facts are not read yet in this variant, but are
    /// sure to be read as they were (`cuda.cuda-repo` reads the base's
    /// `release` before anything else has), is reused after reading them:
    /// the same model and the same work as evaluating every part.
    #[test]
    fn a_part_reused_before_its_facts_are_read_costs_what_evaluating_it_does() {
        let mut recipe =
            String::from("import \"std/fedora\"\nimport \"std/kernel\"\nimport \"std/nvidia\"\nimport \"std/cuda\"\n");
        for i in 0..4 {
            recipe.push_str(&format!(
                "image gen-{i} {{\n  from fedora.silverblue(44)\n  kernel kernel.longterm(\"6.18\")\n  \
                 variant clean {{}}\n  variant cuda {{\n    policy {{ proprietary = allow }}\n    \
                 use fedora.remix()\n    kmod nvidia.open(\"580.95.05\")\n    use cuda.runtime(\"13.0\")\n  }}\n}}\n"
            ));
        }
        let mut loader = MemLoader::default();
        loader.insert("r/image.aid", recipe);
        let run = |on: bool| {
            image::memoized::hooks::with_memo(on, || {
                let (model, diagnostics, _) = resolved(&loader, false);
                (model, diagnostics, BUDGET_LEFT.get())
            })
        };
        let ((model, diagnostics, left), read_early) = run(true);
        let ((model_off, diagnostics_off, left_off), none) = run(false);
        assert!(diagnostics.iter().all(|d| d.contains("severity: Warning")), "{diagnostics:#?}");
        assert!(read_early >= 2, "no part was reused before its facts were read ({read_early})");
        assert_eq!(none, 0);
        assert_eq!((model, diagnostics, left), (model_off, diagnostics_off, left_off));
    }
}
