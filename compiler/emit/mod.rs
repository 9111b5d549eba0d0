//! Stage 4, emit: renders the plan into files — one Containerfile per image
//! (through the minijinja templates embedded here), the support files, and
//! the manifest with the digest of every input, layer and output. Templates
//! only render; every decision was made by the planner.

mod containerfile;

use std::collections::BTreeMap;

use minijinja::syntax::SyntaxConfig;
use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, context};
use serde::Serialize;

use crate::plan::{Inputs, Plan};

/// The templates, embedded: (name, source).
pub const TEMPLATES: &[(&str, &str)] = &[("Containerfile.j2", include_str!("templates/Containerfile.j2"))];

/// Name of the manifest in the output directory.
pub const MANIFEST: &str = "aid-manifest.json";

/// The output directory's files, by path relative to it.
pub type Files = BTreeMap<String, String>;

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::None);
    if let Ok(syntax) = SyntaxConfig::builder().keep_trailing_newline(true).build() {
        env.set_syntax(syntax);
    }
    // `{{ x | comment }}`: the one escaping of `#` comment text (plan/shell.rs).
    env.add_filter("comment", |s: String| crate::plan::shell::comment(&s));
    for (name, source) in TEMPLATES {
        env.add_template(name, source).expect("embedded templates parse");
    }
    env
}

/// The Containerfile of `image` as the template renders it: what
/// `containerfile::render` writes (debug builds compare every one).
fn template_render(recipe: &str, containerfile: &str, image: &crate::plan::ImagePlan) -> String {
    let env = environment();
    let template = env.get_template("Containerfile.j2").expect("embedded template");
    template
        .render(context! {
            recipe => recipe,
            containerfile => containerfile,
            targets => Serde(&image.targets),
            stages => Serde(&image.stages),
        })
        .unwrap_or_else(|e| format!("# aidc: internal error rendering the Containerfile: {e}\n"))
}

#[derive(Serialize)]
struct Manifest<'a> {
    /// Format version of this file.
    version: u32,
    compiler: &'static str,
    recipe: &'a str,
    inputs: BTreeMap<&'a str, &'a str>,
    modules: &'a BTreeMap<String, String>,
    templates: BTreeMap<&'a str, String>,
    /// Each image's entry, its JSON made where its Containerfile was.
    images: BTreeMap<String, Box<serde_json::value::RawValue>>,
    outputs: &'a BTreeMap<String, String>,
}

#[derive(Serialize)]
struct ManifestImage<'a> {
    containerfile: &'a str,
    targets: BTreeMap<&'a str, &'a str>,
    stages: Vec<ManifestStage<'a>>,
}

#[derive(Serialize)]
struct ManifestStage<'a> {
    name: &'a str,
    from: &'a str,
    role: crate::plan::StageRole,
    /// The key of each layer, in order.
    layers: &'a [String],
}

/// An image's entry in the manifest: its pretty JSON as it stands there,
/// two levels in (`"images": { "name": ... }`), every line after the first
/// indented 4 more (JSON strings hold no line breaks), so that the
/// manifest's printer writes it as it would have written the entry; made
/// with the image's Containerfile, on every core for a large project (the
/// manifest of 1,000 images was 16 ms on one).
fn manifest_image(img: &crate::plan::ImagePlan) -> Box<serde_json::value::RawValue> {
    let entry = ManifestImage {
        containerfile: img.containerfile.as_str(),
        targets: img.targets.iter().map(|t| (t.variant.as_str(), t.inputs.as_str())).collect(),
        stages: img
            .stages
            .iter()
            .map(|s| ManifestStage { name: &s.name, from: &s.from, role: s.role, layers: &s.layers })
            .collect(),
    };
    let text = serde_json::to_string_pretty(&entry).unwrap_or_else(|_| "{}".into()).replace('\n', "\n    ");
    serde_json::value::RawValue::from_string(text).unwrap_or_else(|_| empty_entry())
}

/// `{}`, for an entry that would not serialize (plain structs always do).
fn empty_entry() -> Box<serde_json::value::RawValue> {
    serde_json::value::RawValue::from_string("{}".into()).unwrap_or_default()
}

/// Renders every output. `recipe` is the recipe's file name as shown in the
/// header; `modules` maps every module read to its digest. It finds nothing
/// wrong: every decision was the plan's.
pub fn emit(
    plan: &Plan,
    inputs: &Inputs,
    recipe: &str,
    modules: &BTreeMap<String, String>,
) -> crate::diag::Outcome<Files> {
    // Many images render on every core (`crate::par`), each Containerfile
    // digested where it was rendered.
    let rendered = crate::par::chunks(&plan.images, |images| {
        let render = |image: &crate::plan::ImagePlan| {
            let containerfile_path = format!("{}/{}", plan.out_dir, image.containerfile);
            let text = containerfile::render(recipe, &containerfile_path, image);
            debug_assert_eq!(
                text,
                template_render(recipe, &containerfile_path, image),
                "the Containerfile writer disagrees with templates/Containerfile.j2"
            );
            let digest = crate::hash::digest(text.as_bytes());
            (image.containerfile.clone(), text, digest, (image.name.clone(), manifest_image(image)))
        };
        images.iter().map(render).collect::<Vec<_>>()
    });
    // The maps are built from lists in one go (sorted once, a later entry
    // for the same path winning, as inserting one by one would have it):
    // 12,000 inserts were 12 ms of a 1,000-image project.
    let (mut files, mut digests) = (Vec::new(), Vec::new());
    let mut manifest_images = BTreeMap::new();
    for (path, text, digest, (name, entry)) in rendered.into_iter().flatten() {
        digests.push((path.clone(), digest));
        files.push((path, text));
        manifest_images.insert(name, entry);
    }
    for (path, content) in &plan.files {
        let digest = plan.file_digests.get(path).cloned().unwrap_or_else(|| crate::hash::digest(content.as_bytes()));
        debug_assert_eq!(
            digest,
            crate::hash::digest(content.as_bytes()),
            "a support file changed after it was digested"
        );
        digests.push((path.clone(), digest));
        files.push((path.clone(), content.clone()));
    }
    let mut out: Files = files.into_iter().collect();
    let digests: BTreeMap<String, String> = digests.into_iter().collect();
    let manifest = Manifest {
        version: 1,
        compiler: concat!("aidc ", env!("CARGO_PKG_VERSION")),
        recipe,
        inputs: inputs.entries.iter().map(|(p, i)| (p.as_str(), i.digest.as_str())).collect(),
        modules,
        templates: TEMPLATES.iter().map(|(n, s)| (*n, crate::hash::digest_text(s))).collect(),
        images: manifest_images,
        outputs: &digests,
    };
    let mut text = serde_json::to_string_pretty(&manifest).unwrap_or_default();
    text.push('\n');
    out.insert(MANIFEST.to_string(), text);
    crate::diag::Outcome::ok(out, Default::default())
}
