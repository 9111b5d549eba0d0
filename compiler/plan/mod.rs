//! Stage 3, plan: from the checked model to the build plan of every image —
//! the order of each variant's layers, the stages that variants share, the
//! kmod builder stages, the support files, and every input's digest in the
//! step that reads it. Emission only renders what is decided here.

mod arch;
pub mod hermetic;
mod key;
mod layer;
pub use layer::is_bzip2;
mod memo;
mod order;
pub mod repofile;
mod secrets;
pub mod shell;
mod stages;
mod support;

use std::collections::BTreeMap;
use std::rc::Rc;

use serde::Serialize;

pub use secrets::{SECRET_FILE, SecretMount};

/// The build argument that says whether kernel modules are signed: `signed`
/// (the default: the build fails without the key) or `unsigned` (pull-request
/// builds, which never receive the key; the image is labelled
/// [`SIGNING_LABEL`]` = unsigned`). docs/konflux.md, "Keyless pull requests".
pub const SIGNING_ARG: &str = "AID_KMOD_SIGNING";

/// The image label that records [`SIGNING_ARG`] in a variant whose builders
/// sign something (a kmod, a replaced kernel).
pub const SIGNING_LABEL: &str = "dev.aidc.kmod-signing";

/// The `.repo` file the plan writes for a repository (`BaseUrl`, `Copr`),
/// relative to the output directory.
pub fn repo_file(image: &str, id: &str) -> String {
    format!("{image}/repos/{}.repo", support::slug(id))
}

/// Where Konflux's prefetch puts a downloaded file in a hermetic build:
/// Hermeto's generic fetcher writes `deps/generic/<filename>` of its output
/// (hermetoproject/hermeto `docs/generic.md`), which the buildah task mounts
/// at `/cachi2/output` (docs/konflux.md, "Hermetic builds"). The file name is
/// the download's sha256, as `artifacts.lock.yaml` names it.
pub fn prefetched_file(sha256: &str) -> String {
    format!("/cachi2/output/deps/generic/{sha256}")
}

/// Where a signing variant of `image` installs the recipe's public
/// certificate (DER), for `mokutil --import` on the target machine and for
/// the integration test's signer check (docs/konflux.md, "Integration tests").
pub fn kmod_cert_path(image: &str) -> String {
    format!("/etc/pki/akmods/certs/{}.der", support::slug(image))
}

pub use layer::builder_image;
pub use shell::{containerfile_string, quote, toml_string};
pub use support::{FileMap, SCRIPTS};

use crate::diag::{Diagnostics, Outcome};
use crate::model::Model;
use crate::source::Span;

/// A file or directory of the build context and its digest.
#[derive(Clone, Debug, Serialize)]
pub struct Input {
    pub digest: String,
    pub is_dir: bool,
}

/// The digests of the build-context inputs the model names, by context path.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Inputs {
    pub entries: BTreeMap<String, Input>,
}

/// A build-context path the model reads, and where the recipe names it.
#[derive(Clone, Debug)]
pub struct InputUse {
    pub path: String,
    pub span: Span,
}

/// How to plan: where the plan's files go, relative to the build context
/// (`out`), and the digests known for images of the project (`aid.lock`).
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub out_dir: String,
    /// Repository (`quay.io/org/component`, no tag) -> digest (`sha256:<hex>`).
    pub pins: BTreeMap<String, String>,
}

/// A warning for every image of the project built `from` by tag because
/// `aid.lock` has no digest for it (local-only `localhost/` names aside): the
/// tag exists (push runs apply it), but nudges only update digests.
pub fn unpinned_bases(model: &Model, options: &Options) -> Diagnostics {
    let mut d = Diagnostics::default();
    let mut seen = std::collections::BTreeSet::new();
    for image in &model.images {
        for variant in &image.variants {
            let crate::model::From::Project { reference, span, .. } = &variant.from else { continue };
            let repo = repository(reference);
            if repo.starts_with("localhost/") || options.pins.contains_key(repo) || !seen.insert((repo, *span)) {
                continue;
            }
            d.push(
                crate::diag::Diagnostic::warning(
                    crate::diag::Code::UnpinnedBase,
                    format!("`aid.lock` has no digest for `{repo}`, so `FROM` uses its tag `{reference}`"),
                )
                .label(*span, "built from this image by tag")
                .help(format!(
                    "after the upstream's first push build, add the line `{reference}@sha256:<digest>` to `aid.lock` beside the recipe; Konflux nudges keep it fresh"
                )),
            );
        }
    }
    d
}

/// Reads `aid.lock`: one image reference with a digest per line
/// (`quay.io/org/component:latest@sha256:<hex>`), `#` comments. Returns
/// repository -> digest, or the first bad line and why.
pub fn parse_lock(text: &str) -> Result<BTreeMap<String, String>, (usize, String)> {
    let mut pins = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((name, digest)) = line.split_once('@') else {
            return Err((n + 1, format!("`{line}` has no `@sha256:` digest")));
        };
        if let Err(reason) = crate::validate::image_reference(line) {
            return Err((n + 1, reason));
        }
        pins.insert(repository(name).to_string(), digest.to_string());
    }
    Ok(pins)
}

/// `quay.io/org/x:latest` -> `quay.io/org/x`.
pub fn repository(reference: &str) -> &str {
    crate::validate::ImageReference::split(reference).repository
}

/// The build plan of every image.
#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    pub out_dir: String,
    pub images: Vec<ImagePlan>,
    /// Generated support files, each with the digest made when it was added
    /// (emitting hashed every file a second time for the manifest).
    /// `driver::run` moves them into the outputs (`emit::emit` takes them),
    /// so the plan it returns holds none.
    #[serde(skip)]
    pub files: support::FileMap,
}

/// One image: one Containerfile.
#[derive(Clone, Debug, Serialize)]
pub struct ImagePlan {
    pub name: String,
    /// The Containerfile's path relative to the output directory.
    pub containerfile: String,
    pub stages: Vec<Stage>,
    pub targets: Vec<Target>,
}

/// A build target (a variant) and what building it needs.
#[derive(Clone, Debug, Serialize)]
pub struct Target {
    pub variant: String,
    /// Digest of this variant's own inputs (its layers), not the whole recipe's.
    pub inputs: String,
    /// The build secrets the target mounts (`--secret id=ID/key,src=FILE`).
    pub secrets: Vec<SecretMount>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StageRole {
    /// Layers more than one variant shares.
    Shared,
    /// Builds a kernel module; only its output is used.
    Builder,
    /// A build target.
    Final,
}

/// One `FROM ... AS name` section.
#[derive(Clone, Debug, Serialize)]
pub struct Stage {
    pub name: String,
    pub from: String,
    pub role: StageRole,
    /// Lines of the comment above the stage.
    pub about: Vec<String>,
    pub instructions: Instructions,
    /// The key (digest) of each layer in the stage, in order.
    pub layers: Vec<String>,
}

/// A stage's instructions, in order: its own, and the runs of its layers'
/// shared with the layers (the same `RUN`s in every variant's stage that
/// has the layer: a copy for each was 1.7% of the instructions of a
/// 200-image compile). Serialized and printed as one list.
#[derive(Clone, Default)]
pub struct Instructions(Vec<Piece>);

#[derive(Clone)]
enum Piece {
    One(Instruction),
    Shared(std::sync::Arc<[Instruction]>),
}

impl Instructions {
    pub fn push(&mut self, instruction: Instruction) {
        self.0.push(Piece::One(instruction));
    }

    /// A layer's instructions, shared with it.
    pub fn push_shared(&mut self, instructions: std::sync::Arc<[Instruction]>) {
        if !instructions.is_empty() {
            self.0.push(Piece::Shared(instructions));
        }
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Instruction> {
        self.0.iter().flat_map(|piece| match piece {
            Piece::One(one) => std::slice::from_ref(one),
            Piece::Shared(run) => &run[..],
        })
    }

    pub fn contains(&self, instruction: &Instruction) -> bool {
        self.iter().any(|i| i == instruction)
    }

    pub fn last(&self) -> Option<&Instruction> {
        self.iter().next_back()
    }
}

impl Extend<Instruction> for Instructions {
    fn extend<I: IntoIterator<Item = Instruction>>(&mut self, instructions: I) {
        self.0.extend(instructions.into_iter().map(Piece::One));
    }
}

impl From<Vec<Instruction>> for Instructions {
    fn from(instructions: Vec<Instruction>) -> Instructions {
        Instructions(instructions.into_iter().map(Piece::One).collect())
    }
}

impl<'a> IntoIterator for &'a Instructions {
    type Item = &'a Instruction;
    type IntoIter = Box<dyn Iterator<Item = &'a Instruction> + 'a>;
    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl std::fmt::Debug for Instructions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for Instructions {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

/// One Containerfile instruction.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Instruction {
    /// A `#` comment above it (the component it comes from).
    pub comment: Option<String>,
    pub kind: InstructionKind,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum InstructionKind {
    /// `RUN --mount=... : aid-input ... && command && ...`
    Run {
        mounts: Vec<String>,
        /// `(what, digest)` for every input the step reads.
        inputs: Vec<(String, String)>,
        commands: Vec<String>,
    },
    /// `ENV NAME="value"` (value already quoted).
    Env { name: String, value: String },
    /// `LABEL "key"="value"` (both already quoted).
    Label { key: String, value: String },
    /// `COPY --chmod=MODE SRC DEST`: a support file shipped where a `RUN`
    /// cannot write it (a hermetic build's kept repository file, under the
    /// build task's mount over /etc/yum.repos.d: plan/layer.rs).
    Copy { src: String, dest: String, mode: String },
    /// `ARG NAME=default`: a build argument the following instructions
    /// read; `ARG NAME` when `default` is empty (`TARGETARCH`, which buildah sets).
    Arg { name: String, default: String },
}

/// The build-context paths the model reads (copied files, scripts,
/// certificates), for the CLI to hash before planning: each once, where it
/// is first named (a set, not a scan of those so far: a project of many
/// images each copying its own file would be quadratic). Each image's are
/// listed on every core for many images (walking a large model's steps
/// ran alone between resolving and planning).
pub fn input_uses(model: &Model) -> Vec<InputUse> {
    let (per_image, _) = crate::par::pulled(&model.images, || (), |_, image| Some(image_input_uses(image)), |_| ())
        .expect("listing never stops");
    let keys = model.pipeline.iter().filter(|p| p.hermetic).flat_map(|p| p.keys.values());
    let named = per_image.into_iter().flatten().chain(keys.map(|k| InputUse { path: k.path.clone(), span: k.span }));
    let mut seen: crate::maps::HashSet<String> = crate::maps::HashSet::default();
    named.filter(|u| seen.insert(u.path.clone())).collect()
}

/// The build-context paths one image reads, each once, in the order named.
fn image_input_uses<'a>(image: &'a crate::model::Image) -> Vec<InputUse> {
    let mut out: Vec<InputUse> = Vec::new();
    let mut seen: crate::maps::HashSet<&str> = crate::maps::HashSet::default();
    let mut push = |path: &'a str, span: Span| {
        if seen.insert(path) {
            out.push(InputUse { path: path.to_string(), span });
        }
    };
    for variant in &image.variants {
        for c in &variant.components {
            for step in c.steps.iter() {
                match &step.kind {
                    crate::model::StepKind::Copy { src, src_span, .. } => push(src, *src_span),
                    crate::model::StepKind::Run { shell: crate::model::RunSource::Script(p) } => push(p, step.span),
                    _ => {}
                }
            }
        }
        if let Some(s) = &variant.signing {
            push(&s.cert, s.cert_span);
        }
    }
    out
}

/// Plans every image of the model.
///
/// Many images are planned on every core (`crate::par::pulled`): each
/// worker takes the next image whenever it is free, with a memo and
/// support files of its own, and the files are merged. Images write their
/// support files under their own name (`<image>/...`) and share only
/// aidc's scripts, whose content is the same for all. A worker plans its
/// images in the model's order, so a path it finds taken was taken by an
/// image before in a row too; a path it finds free but another worker gave
/// another content (a digest suffix decided by order) is found by the
/// merge, and then the images are planned again in a row. So the merge is
/// what planning them in a row gives.
pub fn plan(model: &Model, inputs: &Inputs, options: &Options) -> Outcome<Plan> {
    if model.images.len() < crate::par::MIN_ITEMS {
        return plan_images(model, &model.images, inputs, options).into_outcome(model, options);
    }
    // Not told how many images a worker will plan, a memo keeps what each
    // plans for the next.
    let pulled = crate::par::pulled(
        &model.images,
        || (support::Files::new(&options.out_dir), memo::Memo::new(model, usize::MAX)),
        |(files, memo), image| {
            let mut diagnostics = Diagnostics::default();
            let planned = plan_image(model, image, inputs, options, files, memo, &mut diagnostics);
            Some((planned, diagnostics))
        },
        |(files, _)| files,
    );
    let (planned, files) = pulled.expect("planning an image never stops the others");
    let mut images = Vec::with_capacity(model.images.len());
    let mut diagnostics = Diagnostics::default();
    for (image, found) in planned {
        // An image after one with an error is not staged, as in a row.
        if !diagnostics.has_errors() && !found.has_errors() {
            images.extend(image);
        }
        diagnostics.extend(found);
    }
    match support::Files::merged(files) {
        Some(files) => Planned { images, files, diagnostics }.into_outcome(model, options),
        None => plan_images(model, &model.images, inputs, options).into_outcome(model, options),
    }
}

/// The plans of some images, their support files and their diagnostics.
struct Planned {
    images: Vec<ImagePlan>,
    files: support::Files,
    diagnostics: Diagnostics,
}

impl Planned {
    fn into_outcome(mut self, model: &Model, options: &Options) -> Outcome<Plan> {
        // Once for the model, after every image's own diagnostics.
        if let Some(pipeline) = model.pipeline.as_ref().filter(|p| p.hermetic) {
            hermetic::check_unused_keys(model, pipeline, &mut self.diagnostics);
        }
        let plan = Plan { out_dir: options.out_dir.clone(), images: self.images, files: self.files.into_map() };
        Outcome::unless_errors(plan, self.diagnostics)
    }
}

/// Plans `images` (of `model`) in a row. An image after one with an error
/// is still checked but not staged: the plan will not be used.
fn plan_images(model: &Model, images: &[crate::model::Image], inputs: &Inputs, options: &Options) -> Planned {
    let mut diagnostics = Diagnostics::default();
    let mut files = support::Files::new(&options.out_dir);
    let mut planned = Vec::new();
    // One memo for the row: an image reuses its variants' layers and,
    // renamed, other images' (plan/memo.rs).
    let mut memo = memo::Memo::new(model, images.len());
    for image in images {
        planned.extend(plan_image(model, image, inputs, options, &mut files, &mut memo, &mut diagnostics));
    }
    Planned { images: planned, files, diagnostics }
}

/// Plans one image: `None` when `diagnostics` has an error, this image's
/// or one before it in `diagnostics` (it is checked, not staged). Its
/// support files go into `files`; `memo` holds the layers planned before.
fn plan_image<'a>(
    model: &'a Model,
    image: &'a crate::model::Image,
    inputs: &Inputs,
    options: &Options,
    files: &mut support::Files,
    memo: &mut memo::Memo<'a>,
    diagnostics: &mut Diagnostics,
) -> Option<ImagePlan> {
    let mut sequences = Vec::new();
    memo.start(&image.name);
    for variant in &image.variants {
        let hermetic = model.pipeline.as_ref().filter(|p| p.hermetic);
        if let Some(pipeline) = hermetic {
            hermetic::check(variant, diagnostics);
            hermetic::check_repos(variant, diagnostics);
            hermetic::check_keys(variant, pipeline, diagnostics);
        }
        let Some(layers) = variant_layers(variant, inputs, hermetic, files, diagnostics, memo) else {
            continue;
        };
        sequences.push((variant, layers));
    }
    if diagnostics.has_errors() {
        return None;
    }
    Some(stages::stages(image, &sequences, options))
}

/// A variant's layers: each architecture's, merged into one sequence
/// (plan/arch.rs); `None` when an architecture's components cannot be
/// ordered or the architectures cannot be merged (both reported).
/// `memo` holds the layers of the image's variants planned so far.
fn variant_layers<'a>(
    variant: &'a crate::model::Variant,
    inputs: &Inputs,
    hermetic: Option<&crate::model::Pipeline>,
    files: &mut support::Files,
    diagnostics: &mut Diagnostics,
    memo: &mut memo::Memo<'a>,
) -> Option<Vec<Rc<layer::Layer>>> {
    let mut per_arch = Vec::new();
    for v in variant.per_arch() {
        let order = order::order(v, diagnostics)?;
        let layers = layer::layers(v, &order, inputs, hermetic, files, diagnostics, memo);
        per_arch.push((v.arch.as_str(), layers));
    }
    arch::merge(variant, per_arch, diagnostics)
}

/// Which component each layer (and each kmod builder) comes from, by layer
/// key: for `aidc graph`, which shows the components inside the stages.
pub fn layer_owners(model: &Model, inputs: &Inputs, options: &Options) -> BTreeMap<String, String> {
    let mut owners = BTreeMap::new();
    let mut files = support::Files::new(&options.out_dir);
    let mut diagnostics = Diagnostics::default();
    let mut memo = memo::Memo::new(model, model.images.len());
    for image in &model.images {
        memo.start(&image.name);
        for variant in &image.variants {
            let hermetic = model.pipeline.as_ref().filter(|p| p.hermetic);
            let layers = variant_layers(variant, inputs, hermetic, &mut files, &mut diagnostics, &mut memo);
            for layer in layers.unwrap_or_default() {
                if let Some(b) = &layer.builder {
                    owners.insert(b.key.clone(), layer.component.clone());
                }
                owners.insert(layer.key.clone(), layer.component.clone());
            }
        }
    }
    owners
}

/// A variant's components in build order (indexes), or `None` when they form
/// a cycle (which planning reports).
pub fn build_order(variant: &crate::model::Variant) -> Option<Vec<usize>> {
    order::order(variant, &mut Diagnostics::default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::{MemLoader, SearchPath};

    /// Enough images to plan on every core: each with a kernel (aidc's
    /// kernel script, which every image shares) and support files of its own.
    fn model(images: usize) -> Model {
        let mut recipe = String::from("import \"std/kernel\"\nimport \"std/tools\"\n");
        for i in 0..images {
            recipe.push_str(&format!(
                "image gen-{i} {{\n  from \"quay.io/fedora/fedora-bootc:44\"\n  kernel kernel.longterm(\"6.18\")\n  \
                 use tools.ramalama()\n  write \"/etc/gen/{i}.conf\" \"index = {i}\"\n  \
                 variant clean {{}}\n  variant more {{ packages [\"tool-{i}\"] }}\n}}\n"
            ));
        }
        resolved(recipe)
    }

    /// Planned on every core (each worker forgetting the layers it saw
    /// once, more than once), the plan and its files are those of a plan
    /// in a row.
    #[test]
    fn planned_on_every_core_as_in_a_row() {
        let images = 2 * memo::FORGET_SEEN_EVERY + crate::par::MIN_ITEMS;
        let model = model(images);
        let options = Options { out_dir: "out".into(), ..Default::default() };
        let json = |p: Outcome<Plan>| {
            let plan = p.value.expect("a plan");
            (serde_json::to_string(&plan).expect("json"), plan.files)
        };
        let (pulled, pulled_files) = json(plan(&model, &Inputs::default(), &options));
        let (in_a_row, in_a_row_files) =
            json(plan_images(&model, &model.images, &Inputs::default(), &options).into_outcome(&model, &options));
        assert_eq!(pulled, in_a_row);
        assert_eq!(pulled_files, in_a_row_files);
        assert!(pulled.contains("scripts/aid-kernel.sh") && pulled.contains(&format!("gen-{}/", images - 1)));
        assert!(pulled_files.contains_key(&format!(
            "gen-{}/files/gen-{}/0-{}.conf",
            images - 1,
            images - 1,
            images - 1
        )));
    }

    #[test]
    fn each_layer_of_an_image_is_planned_once_for_its_variants() {
        let model = model(2);
        let image = &model.images[1];
        let plan_variants = |shared: bool| {
            let mut files = support::Files::new("out");
            let mut diagnostics = Diagnostics::default();
            let mut memo = memo::Memo::new(&model, 1);
            memo.start(&image.name);
            let mut layers = Vec::new();
            for variant in &image.variants {
                if !shared {
                    memo = memo::Memo::new(&model, 1);
                    memo.start(&image.name);
                }
                let inputs = Inputs::default();
                layers.push(
                    variant_layers(variant, &inputs, None, &mut files, &mut diagnostics, &mut memo).expect("layers"),
                );
            }
            assert!(diagnostics.is_empty(), "{diagnostics:?}");
            (layers, files.into_map(), memo.planned())
        };
        let (layers, files, planned) = plan_variants(true);
        let (alone, alone_files, _) = plan_variants(false);
        assert_eq!(layers, alone);
        assert_eq!(files, alone_files);
        // Every component once: those of `clean` are all in `more` too.
        let names: std::collections::BTreeSet<&str> = image
            .variants
            .iter()
            .flat_map(|v| &v.components)
            .filter(|c| c.kind != crate::model::ComponentKind::Base)
            .map(|c| c.name.as_str())
            .collect();
        let components: usize = image.variants.iter().map(|v| v.components.len()).sum();
        assert_eq!(planned, names.len());
        assert!(planned < components, "{planned} of {components}");
        // A reused layer is the kept one, shared, not a copy of it.
        let (clean, more) = (&layers[0], &layers[1]);
        assert!(clean.iter().all(|l| more.iter().any(|m| Rc::ptr_eq(l, m))), "`clean`'s layers are shared by `more`");
    }

    /// Each variant's layers.
    type ImageLayers = Vec<Vec<Rc<layer::Layer>>>;

    /// Plans the images of `model` in a row with these inputs' digests, with
    /// one memo (`shared`) or a memo per image: each image's layers per
    /// variant, the support files, the memo's renamable layers.
    fn plan_in_a_row(model: &Model, inputs: &Inputs, shared: bool) -> (Vec<ImageLayers>, support::FileMap, usize) {
        let mut files = support::Files::new("out");
        let mut diagnostics = Diagnostics::default();
        let mut memo = memo::Memo::new(model, model.images.len());
        let mut images = Vec::new();
        for image in &model.images {
            if !shared {
                memo = memo::Memo::new(model, 1);
            }
            memo.start(&image.name);
            let variants = image.variants.iter().map(|variant| {
                variant_layers(variant, inputs, None, &mut files, &mut diagnostics, &mut memo).expect("layers")
            });
            images.push(variants.collect());
        }
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        (images, files.into_map(), memo.templates())
    }

    /// `model` planned in a row with one memo, checked to be what a memo
    /// per image gives: each image's layers, the files, the templates kept.
    fn renamed_as_planned(model: &Model, inputs: &Inputs) -> (Vec<ImageLayers>, support::FileMap, usize) {
        let (renamed, files, templates) = plan_in_a_row(model, inputs, true);
        let (alone, alone_files, _) = plan_in_a_row(model, inputs, false);
        assert_eq!(renamed, alone);
        assert_eq!(files, alone_files);
        (renamed, files, templates)
    }

    #[test]
    fn layers_renamed_for_other_images_are_what_planning_them_gives() {
        let model = model(4);
        let (renamed, _, templates) = renamed_as_planned(&model, &Inputs::default());
        // At least the kernel and ramalama are renamed (the bodies differ).
        assert!(templates >= 2, "{templates} layers renamable");
        let text = format!("{:?}", renamed[3]);
        assert!(text.contains("out/gen-3/") && !text.contains("aidc-stand-in"), "{text}");
    }

    /// The model of `recipe`, which resolves without errors.
    pub(super) fn resolved(recipe: String) -> Model {
        let mut loader = MemLoader::default();
        loader.insert("r/image.aid", recipe);
        let resolved =
            crate::resolve::resolve(&["r/image.aid".into()], &loader, &SearchPath::default()).expect("entry");
        let mut diagnostics = Diagnostics::default();
        let model = resolved.model.into_value(&mut diagnostics).expect("the recipe resolves");
        assert!(!diagnostics.has_errors(), "{diagnostics:?}");
        model
    }

    #[test]
    fn a_layer_whose_text_holds_the_stand_in_is_planned_for_each_image() {
        let mut recipe = String::from("layer p(x: string) {\n  packages [x]\n  write \"/etc/p.conf\" \"p\"\n}\n");
        for name in ["one", "two", "three"] {
            recipe.push_str(&format!(
                "image {name} {{\n  from \"quay.io/fedora/fedora-bootc:44\"\n  use p(\"aidc-stand-in-tools\")\n}}\n"
            ));
        }
        let model = resolved(recipe);
        let (renamed, _, templates) = renamed_as_planned(&model, &Inputs::default());
        assert_eq!(templates, 0, "a layer naming the stand-in is not renamable");
        let text = format!("{:?}", renamed[2]);
        assert!(text.contains("aidc-stand-in-tools") && text.contains("out/three/files/p/"), "{text}");
    }

    /// Image `two` writes `p`'s file with another content first, so the
    /// renamed `p("a")` would need the path it holds: planned instead, its
    /// file with a digest suffix.
    #[test]
    fn a_path_the_image_holds_already_is_planned_not_renamed() {
        let mut recipe = String::from("layer p(x: string) {\n  write \"/etc/p.conf\" x\n}\n");
        for (name, uses) in
            [("one", "use p(\"a\")"), ("two", "use p(\"b\")\n  use p(\"a\")"), ("three", "use p(\"a\")")]
        {
            recipe.push_str(&format!("image {name} {{\n  from \"quay.io/fedora/fedora-bootc:44\"\n  {uses}\n}}\n"));
        }
        let model = resolved(recipe);
        let (_, files, templates) = renamed_as_planned(&model, &Inputs::default());
        assert_eq!(templates, 1, "p(\"a\") is renamable");
        assert!(files.keys().any(|p| p.starts_with("two/files/p/0-p.conf.")), "{:?}", files.keys());
        assert!(files.contains_key("three/files/p/0-p.conf"), "{:?}", files.keys());
    }

    /// A file of the build context at the path of image `two`'s support
    /// file, with its content: planning `two` names the input once (mounted
    /// twice), where renaming `one`'s layer would name it twice. Found by
    /// stop 26's attacker review.
    #[test]
    fn an_input_that_the_new_name_makes_twice_is_planned_not_renamed() {
        let mut recipe = String::from(
            "layer l() {\n  write \"/etc/x.conf\" \"hello\"\n  copy \"out/two/files/l/0-x.conf\" to \"/etc/y.conf\"\n}\n",
        );
        for name in ["one", "two", "three"] {
            recipe.push_str(&format!("image {name} {{\n  from \"quay.io/fedora/fedora-bootc:44\"\n  use l()\n}}\n"));
        }
        let model = resolved(recipe);
        let inputs = |digest: &str| Inputs {
            entries: BTreeMap::from([(
                "out/two/files/l/0-x.conf".to_string(),
                Input { digest: digest.to_string(), is_dir: false },
            )]),
        };
        // The support file's content, as planning writes it, is the input's.
        let (_, files, _) = plan_in_a_row(&model, &inputs("b3:other"), false);
        let digest = files["two/files/l/0-x.conf"].1.clone();
        let inputs = inputs(&digest);
        let (renamed, _, templates) = renamed_as_planned(&model, &inputs);
        assert_eq!(templates, 1, "l() is renamable, for `three`");
        let text = format!("{:?}", renamed[1]);
        assert_eq!(text.matches(&format!("(\"out/two/files/l/0-x.conf\", \"{digest}\")")).count(), 1, "{text}");
    }

    /// A file written on purpose at the path a later file of the same name
    /// would be given (its digest is known in advance) keeps its content:
    /// the later file gets a longer suffix, then a numbered one.
    #[test]
    fn a_digest_suffixed_path_taken_on_purpose_is_not_overwritten() {
        let two = crate::hash::digest_text("two");
        let (short, long) = (format!("x/a.conf.{}", &two[3..15]), format!("x/a.conf.{}", &two[3..]));
        let mut files = support::Files::new("out");
        files.add(&short, "evil".into());
        files.add("x/a.conf", "one".into());
        assert_eq!(files.add("x/a.conf", "two".into()).context_path, format!("out/{long}"));
        let mut files = support::Files::new("out");
        for (path, content) in [(short.as_str(), "evil"), (long.as_str(), "worse"), ("x/a.conf", "one")] {
            files.add(path, content.into());
        }
        assert_eq!(files.add("x/a.conf", "two".into()).context_path, format!("out/{long}-2"));
        // The same content again is given the path it has.
        assert_eq!(files.add("x/a.conf", "two".into()).context_path, format!("out/{long}-2"));
        let map = files.into_map();
        let contents: Vec<&str> =
            [short.as_str(), &long, "x/a.conf", &format!("{long}-2")].iter().map(|p| map[*p].0.as_str()).collect();
        assert_eq!(contents, ["evil", "worse", "one", "two"]);
    }

    #[test]
    fn chunks_merge_as_planned_in_a_row_and_disagreeing_ones_are_refused() {
        let chunk = |files: &[(&str, &str)]| {
            let mut chunk = support::Files::new("out");
            for (path, content) in files {
                chunk.add(path, content.to_string());
            }
            chunk
        };
        let merged = |chunks: Vec<support::Files>| support::Files::merged(chunks).map(support::Files::into_map);
        let in_a_row = chunk(&[("x/a", "one"), ("z/c", "three"), ("y/b", "two"), ("scripts/s", "s")]).into_map();
        let chunks = vec![
            chunk(&[("x/a", "one"), ("z/c", "three")]),
            chunk(&[("y/b", "two"), ("x/a", "one")]),
            chunk(&[("scripts/s", "s")]),
            chunk(&[]),
        ];
        assert_eq!(merged(chunks), Some(in_a_row));
        assert_eq!(merged(vec![chunk(&[("x/a", "one")]), chunk(&[("x/a", "three")])]), None);
        assert_eq!(merged(Vec::new()), None);
    }
}
