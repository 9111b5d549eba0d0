//! The Konflux backend: Pipelines-as-Code PipelineRuns (`.tekton/`) for every
//! image variant, and the Application and Components that onboard them, from
//! the checked model and the build plan. Like the rest of the core it does no
//! IO: it returns file paths (relative to the repository root) and their text.
//! What is generated and why is in docs/konflux.md.
//!
//! Every image variant is one Konflux component, `<image>-<variant>` (or
//! `<image>` for an image without variants), with two PipelineRuns: one for
//! pushes to the recipe's branch and one for pull requests against it.

mod application;
pub mod bundles;
pub mod hermetic;
pub mod integration;
mod pipelinerun;
mod yaml;

use std::collections::BTreeMap;

use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::model::{self, Model};
use crate::plan::Plan;
use crate::source::Span;
use crate::validate;

pub use application::application;
pub use pipelinerun::pipelineruns;

/// Where the recipe lies in the git repository that Pipelines-as-Code watches.
/// The CLI finds the repository root (the nearest directory above the recipe
/// holding `.git`, else the recipe's directory); every path here is relative
/// to it and uses `/`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoLayout {
    /// The recipe's directory (the build context): `examples/ai-desktop`, or
    /// `.` when the recipe sits at the root.
    pub recipe_dir: String,
    /// The recipe's file name (`image.aid`), for the generated files' header.
    pub recipe_file: String,
}

impl RepoLayout {
    /// `recipe_dir` without `./` or trailing `/`; `.` for the root.
    fn dir(&self) -> &str {
        let d = self.recipe_dir.trim_start_matches("./").trim_end_matches('/');
        if d.is_empty() { "." } else { d }
    }

    /// `path` (relative to the recipe's directory) relative to the root.
    fn in_repo(&self, path: &str) -> String {
        join(self.dir(), path)
    }

    fn recipe(&self) -> String {
        self.in_repo(&self.recipe_file)
    }
}

/// `rel` (which may start with `..`) taken from the directory `dir` (relative
/// to the repository root, `.` for the root), normalised. A `..` above the
/// root is dropped: without a `.git` the CLI takes the recipe's directory as
/// the root, and a sibling recipe then counts from the common parent.
fn join_normalized(dir: &str, rel: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in dir.split('/').chain(rel.split('/')) {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    if parts.is_empty() { ".".to_string() } else { parts.join("/") }
}

/// `a/b`, where `a` may be `.`.
fn join(a: &str, b: &str) -> String {
    let b = b.trim_start_matches("./");
    if a == "." || a.is_empty() { b.to_string() } else { format!("{a}/{b}") }
}

/// The pipeline timeout when the recipe gives none: bootc builds outlast
/// Konflux's default of one hour.
pub const DEFAULT_TIMEOUT: u64 = 4 * 3600;

pub use crate::plan::{SIGNING_ARG, SIGNING_LABEL};

/// One Konflux component: one image variant, its Containerfile and target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Component {
    /// `<image>-<variant>`, or `<image>` for an image without variants.
    pub name: String,
    pub image: String,
    /// The build target (`--target`, `TARGET_STAGE`).
    pub target: String,
    /// The Containerfile relative to the repository root.
    pub containerfile: String,
    /// The Containerfile relative to the recipe's directory (the `dockerfile`
    /// param: buildah looks for it under the context first).
    pub dockerfile: String,
    /// The Kubernetes secret the build mounts (`ADDITIONAL_SECRET`), if any.
    pub secret: Option<String>,
    /// The component of the project image this one is built from, if any.
    pub upstream: Option<Upstream>,
    pub span: Span,
}

/// The project image a variant is built `from`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upstream {
    pub component: String,
    /// Its published name (without tag or digest), when the model gives one.
    pub repository: String,
    /// True when it is an image of the same recipe (so also a [`Component`]).
    pub same_file: bool,
    /// The upstream image's name (its Containerfile is `<out>/<image>/Containerfile`).
    pub image: String,
    /// Where its file is built from, when another file's pipeline block says.
    pub source: Option<model::UpstreamSource>,
    /// The `from` that names it.
    pub span: Span,
}

/// The pipeline block, required for Konflux output.
fn pipeline(model: &Model) -> Result<&model::Pipeline, Diagnostics> {
    let mut d = Diagnostics::default();
    let Some(p) = &model.pipeline else {
        let mut diagnostic =
            Diagnostic::error(Code::MissingPipeline, "Konflux output needs a `pipeline konflux` block")
                .help("add `pipeline konflux { application = \"NAME\", registry = \"quay.io/ORG\" }` to the recipe");
        if let Some(image) = model.images.first() {
            diagnostic = diagnostic.label(image.span, "this image has no Konflux application to belong to");
        }
        d.push(diagnostic);
        return Err(d);
    };
    if p.registry.is_none() {
        d.push(
            Diagnostic::error(Code::MissingProperty, "`pipeline konflux` needs a `registry`")
                .label(p.span, "no `registry` here")
                .help("add `registry = \"quay.io/ORG\"`: where the images are pushed"),
        );
        return Err(d);
    }
    if p.repository.is_none() {
        d.push(
            Diagnostic::error(Code::MissingProperty, "`pipeline konflux` needs a `repository`")
                .label(p.span, "no `repository` here")
                .help("add `repository = \"https://github.com/ORG/REPO\"`: the git repository Konflux builds from"),
        );
        return Err(d);
    }
    Ok(p)
}

/// Every component of the plan, in plan order (images, then their targets).
pub fn components(model: &Model, plan: &Plan, layout: &RepoLayout) -> Result<Vec<Component>, Diagnostics> {
    let mut out = Vec::new();
    let mut d = Diagnostics::default();
    for image_plan in &plan.images {
        let Some(image) = model.images.iter().find(|i| i.name == image_plan.name) else { continue };
        let in_context = join(&plan.out_dir, &image_plan.containerfile);
        for target in &image_plan.targets {
            let Some(variant) = image.variants.iter().find(|v| v.name == target.variant) else { continue };
            let name =
                crate::resolve::component_name(&image.name, (!variant.implicit).then_some(variant.name.as_str()));
            if !validate::konflux_name(&name) {
                d.push(
                    Diagnostic::error(Code::InvalidName, format!("`{name}` cannot be a Konflux component name"))
                        .label(variant.span, "this variant's component")
                        .help("component names are Kubernetes labels: at most 63 lowercase letters, digits and `-`; shorten the image or variant name"),
                );
                continue;
            }
            let mut secrets: Vec<&str> = target.secrets.iter().map(|s| s.name.as_str()).collect();
            secrets.sort_unstable();
            secrets.dedup();
            let signing = variant.signing.as_ref().map_or(variant.span, |s| s.span);
            if secrets.len() > 1 {
                d.push(
                    Diagnostic::error(
                        Code::SecretMisplaced,
                        format!("`{name}` needs {} build secrets; Konflux's buildah task mounts one", secrets.len()),
                    )
                    .label(signing, "this variant's secrets")
                    .help("keep every file the build needs in one Kubernetes secret"),
                );
                continue;
            }
            let secret = secrets.first().map(|s| s.to_string());
            if let Some(s) = &secret
                && !validate::dns_subdomain(s)
            {
                d.push(
                    Diagnostic::error(Code::InvalidName, format!("`{s}` cannot name a Kubernetes secret"))
                        .label(signing, "the secret of this build")
                        .help("on Konflux the secret id is the Kubernetes secret's name: lowercase letters, digits, `-` and `.`"),
                );
                continue;
            }
            let upstream = match &variant.from {
                model::From::Project { image, component, reference, same_file, upstream, span, .. } => Some(Upstream {
                    component: component.clone(),
                    repository: crate::plan::repository(reference).to_string(),
                    same_file: *same_file,
                    image: image.clone(),
                    source: upstream.clone(),
                    span: *span,
                }),
                _ => None,
            };
            out.push(Component {
                name,
                image: image.name.clone(),
                target: target.variant.clone(),
                containerfile: layout.in_repo(&in_context),
                dockerfile: in_context.clone(),
                secret,
                upstream,
                span: variant.span,
            });
        }
    }
    if d.has_errors() { Err(d) } else { Ok(out) }
}

/// Every Konflux file: the PipelineRuns under `.tekton/` and
/// `<recipe dir>/konflux/application.yaml`, by path relative to the
/// repository root.
pub fn files(model: &Model, plan: &Plan, layout: &RepoLayout) -> crate::diag::Outcome<BTreeMap<String, String>> {
    files_locked(model, plan, layout, &bundles::Locked::default())
}

/// [`files`], keeping the task bundles of the committed PipelineRuns
/// (`locked`, read by the CLI from `.tekton/`) that are not older in minor
/// version than aidc's table.
pub fn files_locked(
    model: &Model,
    plan: &Plan,
    layout: &RepoLayout,
    locked: &bundles::Locked,
) -> crate::diag::Outcome<BTreeMap<String, String>> {
    let files = pipelineruns(model, plan, layout, locked).and_then(|mut files| {
        files.extend(application(model, plan, layout)?);
        files.extend(integration_pipelines(model, plan, layout)?);
        let p = pipeline(model)?;
        files.extend(hermetic::files(model, p, &components(model, plan, layout)?, layout).0);
        Ok(files)
    });
    match files {
        Ok(files) => crate::diag::Outcome::ok(files, Diagnostics::default()),
        Err(d) => crate::diag::Outcome::failed(d),
    }
}

/// The integration test pipeline of every component,
/// `<recipe dir>/konflux/integration/<component>.yaml`; their scenarios are
/// in `application.yaml`.
fn integration_pipelines(
    model: &Model,
    plan: &Plan,
    layout: &RepoLayout,
) -> Result<BTreeMap<String, String>, Diagnostics> {
    pipeline(model)?;
    let components = components(model, plan, layout)?;
    let checks = integration::checks(model, &components);
    let mut files = BTreeMap::new();
    for c in &components {
        let text = integration::pipeline_file(c, &checks.get(&c.name).cloned().unwrap_or_default());
        files.insert(layout.in_repo(&integration::pipeline_path(&c.name)), format!("{}{text}", header(layout)));
    }
    Ok(files)
}

/// `seconds` as a Go duration (`4h`, `1h30m`, `90s`), as Tekton reads it.
fn duration(seconds: u64) -> String {
    if seconds == 0 {
        return "0".to_string();
    }
    let (h, m, s) = (seconds / 3600, seconds % 3600 / 60, seconds % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 {
        out.push_str(&format!("{s}s"));
    }
    out
}

/// The first line of every generated file. Files under `.tekton/` and
/// `konflux/` that start with it are this recipe's: a compile replaces
/// them, or removes them when the recipe no longer gives them.
pub fn header(layout: &RepoLayout) -> String {
    format!("{HEADER_START}{}{HEADER_END}\n", crate::plan::shell::comment(&layout.recipe()))
}

const HEADER_START: &str = "# Generated by aidc from ";
const HEADER_END: &str = "; do not edit: change the recipe and run `aidc compile`.";

/// The recipe (relative to the repository root) a generated file's first
/// line names, if it is an aidc header.
pub fn generated_from(first_line: &str) -> Option<&str> {
    first_line.strip_prefix(HEADER_START)?.strip_suffix(HEADER_END)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_go_durations() {
        assert_eq!(duration(4 * 3600), "4h");
        assert_eq!(duration(5400), "1h30m");
        assert_eq!(duration(90), "1m30s");
        assert_eq!(duration(0), "0");
    }

    #[test]
    fn upstream_directories_stay_in_the_repository() {
        assert_eq!(join_normalized("examples/a", "../b"), "examples/b");
        assert_eq!(join_normalized(".", "."), ".");
        assert_eq!(join_normalized("a", ".."), ".");
        assert_eq!(join_normalized(".", "../b"), "b");
    }

    #[test]
    fn paths_join_from_the_root() {
        let root = RepoLayout { recipe_dir: "./".into(), recipe_file: "image.aid".into() };
        assert_eq!(root.in_repo("out/x/Containerfile"), "out/x/Containerfile");
        let sub = RepoLayout { recipe_dir: "examples/a/".into(), recipe_file: "image.aid".into() };
        assert_eq!(sub.in_repo("out/x/Containerfile"), "examples/a/out/x/Containerfile");
    }
}
