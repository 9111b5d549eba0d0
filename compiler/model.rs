//! The checked model: the output of resolve and the input of plan. One
//! [`Variant`] per buildable target, holding its components in the order
//! they were written, with their facts, metadata, steps and source spans.
//! Every value here is evaluated and validated; nothing refers back to the AST.

use crate::maps::IndexMap;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::source::Span;

/// Everything the recipe files given on the command line describe.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Model {
    pub images: Vec<Image>,
    /// The `pipeline konflux` block of the entry file, if any.
    pub pipeline: Option<Pipeline>,
    /// Every module read, by display name (stdlib as `std/NAME.aid`).
    pub modules: Vec<String>,
}

/// `image NAME { ... }`.
#[derive(Clone, Debug, Serialize)]
pub struct Image {
    pub name: String,
    pub docs: Vec<String>,
    pub span: Span,
    /// False when the image declares no variants and has one implicit one.
    pub has_variants: bool,
    pub variants: Vec<Variant>,
}

/// One buildable target of an image.
#[derive(Clone, Debug, Serialize)]
pub struct Variant {
    /// The build target; the image's name for the implicit variant.
    pub name: String,
    pub implicit: bool,
    /// The variants this one extends, nearest first.
    pub extends: Vec<String>,
    pub span: Span,
    pub from: From,
    /// Components in the order written (image body first, then the
    /// extended variants' bodies, then this variant's).
    pub components: Vec<Component>,
    pub repos: Vec<Repo>,
    /// Facts provided by components and computed by the compiler.
    pub facts: IndexMap<String, Fact>,
    pub signing: Option<Signing>,
    pub policy: Policy,
    /// True when any component or repository is not free software.
    pub proprietary: bool,
    /// The architecture this variant was resolved for (`target.arch`):
    /// the first of the pipeline's platforms, `x86_64` without one.
    pub arch: String,
    /// The same variant resolved for each other architecture of the
    /// pipeline's `platforms`, in their order: the same components, with
    /// the steps and repositories of that architecture (docs/konflux.md,
    /// "Multi-platform builds").
    #[serde(skip)]
    pub other_arches: Vec<Variant>,
}

impl Variant {
    /// This variant for each of its architectures, the first its own.
    pub fn per_arch(&self) -> impl Iterator<Item = &Variant> {
        std::iter::once(self).chain(self.other_arches.iter())
    }

    /// The kernel component, if the variant pins one.
    pub fn kernel(&self) -> Option<&Component> {
        self.components.iter().find(|c| c.kind == ComponentKind::Kernel)
    }

    pub fn kmods(&self) -> impl Iterator<Item = &Component> {
        self.components.iter().filter(|c| c.kind == ComponentKind::Kmod)
    }
}

/// What a variant is built from.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum From {
    /// A `base` definition; `component` indexes [`Variant::components`].
    Base { component: usize, reference: String },
    /// Another image of the project.
    Project {
        image: String,
        variant: Option<String>,
        /// The Konflux component that builds it (`<image>-<variant>`).
        component: String,
        /// The published name (`registry/component`) when its file says, else
        /// the local name (`localhost/<component>`).
        reference: String,
        /// True when the image is defined in the same file (one Containerfile).
        same_file: bool,
        /// Where another file's image is built from, when its pipeline block
        /// names a `repository` (for the nudge-only Component).
        upstream: Option<UpstreamSource>,
        span: Span,
    },
    /// An image reference string.
    Reference { reference: String, span: Span },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ComponentKind {
    Base,
    Kernel,
    Kmod,
    Layer,
    /// The statements written directly in an image or variant body.
    Body,
}

/// How often a component's content changes; the planner puts rarely
/// changing layers first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Changes {
    Rarely,
    Monthly,
    Weekly,
    Often,
}

impl Changes {
    pub fn parse(word: &str) -> Option<Changes> {
        Some(match word {
            "rarely" => Changes::Rarely,
            "monthly" => Changes::Monthly,
            "weekly" => Changes::Weekly,
            "often" => Changes::Often,
            _ => return None,
        })
    }
}

/// A license class.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "class", content = "name", rename_all = "lowercase")]
pub enum License {
    /// Free software, with its SPDX expression.
    Free(String),
    /// Not free software, with the reason (the license's name).
    NonFree(String),
    /// A repository that holds both; its packages declare their own.
    Mixed,
    /// Nothing declared.
    Unknown,
}

impl License {
    pub fn is_nonfree(&self) -> bool {
        matches!(self, License::NonFree(_))
    }
}

/// A base, kernel, kmod, layer, or the body of an image or variant.
#[derive(Clone, Debug, Serialize)]
pub struct Component {
    pub kind: ComponentKind,
    /// As users know it: `tools.ramalama`, `fedora.silverblue`, or
    /// `ai-desktop` / `ai-desktop.cuda-runtime` for bodies.
    pub name: String,
    /// Arguments as written after evaluation, for display and hashing;
    /// shared by the uses of one instance in a run (resolve's memo).
    pub args: Arc<IndexMap<String, String>>,
    /// Where the component was brought in (the call in the recipe).
    pub span: Span,
    /// Where it is defined, for definitions.
    pub def_span: Option<Span>,
    /// Components that brought it in, outermost first (`use` chains).
    pub via: Vec<String>,
    /// The definition's `///` lines, shared by every use of it.
    pub docs: Arc<[String]>,
    pub license: License,
    pub telemetry: bool,
    pub remote_ai: bool,
    pub changes: Changes,
    /// Every property set in the body, evaluated (`version`, `image`, ...);
    /// shared by the uses of one instance in a run (resolve's memo).
    pub properties: Arc<IndexMap<String, Property>>,
    /// Repositories (indexes into [`Variant::repos`]) its packages come from.
    pub repos: Vec<usize>,
    /// Shared by the variants whose evaluation of it was reused (resolve's memo).
    pub steps: Arc<[Step]>,
    /// Components (indexes) that must come before this one (`after`, `use`).
    pub after: Vec<usize>,
    /// The `after` clauses among them: the component named and the clause,
    /// so an ordering cycle points at the clause.
    #[serde(skip)]
    pub after_clauses: Vec<(usize, Span)>,
    /// Facts this component reads (`target.NAME` anywhere in its body).
    pub reads: Vec<String>,
    /// Facts it provides.
    pub provides: Vec<String>,
}

/// A property value in the model.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Property {
    Str(String),
    Int(i64),
    Bool(bool),
    List(Vec<Property>),
    Map(IndexMap<String, Property>),
}

impl Property {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Property::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// A package repository used by a variant.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Repo {
    /// `cuda.cuda-repo`.
    pub name: String,
    /// The repository id dnf knows it by.
    pub id: String,
    pub source: RepoSource,
    pub license: License,
    /// Stays enabled in the image (else enabled only for the steps that need it).
    pub keep: bool,
    pub span: Span,
    pub def_span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum RepoSource {
    /// A `.repo` file: its text as the recipe gives it (`file`), written by
    /// aidc, or downloaded from `url` and checked against `sha256`.
    File { url: String, sha256: Option<String>, content: Option<String> },
    /// A repository written from a base URL.
    BaseUrl { url: String, gpgkey: Option<String> },
    /// A Fedora COPR project.
    Copr { owner: String, project: String },
    /// A Flatpak remote (`.flatpakrepo`): its text (`file`), or downloaded
    /// from `url` and checked against `sha256`.
    Flatpak { url: String, sha256: Option<String>, content: Option<String> },
    /// A repository the base image already has, enabled by id.
    Existing,
}

/// One thing a component does to the image, in the order written.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Step {
    pub kind: StepKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum StepKind {
    Packages {
        names: Vec<String>,
    },
    Remove {
        names: Vec<String>,
    },
    Fetch {
        url: String,
        sha256: String,
        extract: Option<String>,
        to: String,
        mode: Option<String>,
    },
    /// `src` is relative to the build context (the recipe's directory).
    Copy {
        src: String,
        to: String,
        mode: Option<String>,
        /// Where the source path is written, for diagnostics about it.
        #[serde(skip)]
        src_span: Span,
    },
    Write {
        dest: String,
        content: String,
        mode: Option<String>,
    },
    Run {
        shell: RunSource,
    },
    Enable {
        unit: String,
        /// A user unit enabled for every user (`enable "--global UNIT"`).
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        global: bool,
    },
    Disable {
        unit: String,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        global: bool,
    },
    Kargs {
        args: Vec<String>,
    },
    Flatpak {
        app: String,
    },
    Env {
        name: String,
        value: String,
    },
    Label {
        key: String,
        value: String,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "lowercase")]
pub enum RunSource {
    Inline(String),
    /// A script in the build context.
    Script(String),
}

/// A fact of a variant and who provides it.
#[derive(Clone, Debug, Serialize)]
pub struct Fact {
    pub value: Property,
    /// The providing component (index), or `None` for computed facts.
    pub provider: Option<usize>,
    pub span: Span,
}

/// `signing { key = secret("ID"), cert = file("PATH") }`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Signing {
    /// The build secret id.
    pub key: String,
    /// The public certificate (DER) in the build context.
    pub cert: String,
    pub span: Span,
    /// Where `cert` is written, for diagnostics about the file.
    #[serde(skip)]
    pub cert_span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Rule {
    Allow,
    Deny,
}

/// What a variant may contain; with no policy everything is allowed.
#[derive(Clone, Debug, Serialize)]
pub struct Policy {
    pub proprietary: Rule,
    pub telemetry: Rule,
    pub remote_ai: Rule,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy { proprietary: Rule::Allow, telemetry: Rule::Allow, remote_ai: Rule::Allow }
    }
}

/// Where an image of another file is built, as its pipeline block says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UpstreamSource {
    /// The upstream file's git repository (its pipeline block's `repository`).
    pub repository: String,
    /// Its push branch.
    pub branch: String,
    /// The upstream file's directory relative to this recipe's directory
    /// (`../ai-desktop`), when the two paths relate.
    pub recipe_dir: Option<String>,
}

/// `pipeline konflux { ... }`.
#[derive(Clone, Debug, Serialize)]
pub struct Pipeline {
    pub application: String,
    pub registry: Option<String>,
    pub platforms: Vec<String>,
    pub branch: String,
    /// Seconds.
    pub timeout: Option<u64>,
    pub namespace: Option<String>,
    pub repository: Option<String>,
    /// Compute resources of the build task, by component (`resources`).
    pub resources: BTreeMap<String, Resources>,
    /// Where `resources` is written.
    pub resources_span: Option<Span>,
    /// Builds without network: downloads come from Konflux's prefetch.
    pub hermetic: bool,
    /// The signing keys of repositories a hermetic build imports, by
    /// repository id (`keys`): committed files of the build context.
    pub keys: BTreeMap<String, KeyFile>,
    pub span: Span,
}

/// A repository's signing key (an OpenPGP public key file) in the build
/// context, and where the recipe names it.
#[derive(Clone, Debug, Serialize)]
pub struct KeyFile {
    pub path: String,
    pub span: Span,
}

/// The build step's compute resources for one component: Kubernetes
/// quantities, used as both request and limit.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Resources {
    pub cpu: Option<String>,
    pub memory: Option<String>,
}

/// The architectures aidc builds for: the RPM name (`target.arch`, dnf's
/// `$basearch`) and the Go name that buildah gives the `TARGETARCH` build
/// argument for it (buildah `docs/buildah-build.1.md`, "TARGETARCH";
/// Docker's "Automatic platform ARGs in the global scope").
pub const ARCHES: &[(&str, &str)] =
    &[("x86_64", "amd64"), ("aarch64", "arm64"), ("ppc64le", "ppc64le"), ("s390x", "s390x")];

/// The RPM architecture of a Konflux platform: its part after the `/`
/// (`linux/arm64`, `linux-mxlarge/arm64`), in Go or RPM spelling;
/// `localhost` is the cluster itself, x86_64 (konflux-ci/build-definitions
/// `buildah-remote-oci-ta` param `PLATFORM`). `None` for an architecture
/// aidc does not know.
pub fn platform_arch(platform: &str) -> Option<&'static str> {
    let arch = if platform == "localhost" { "x86_64" } else { platform.rsplit('/').next().unwrap_or(platform) };
    ARCHES.iter().find(|(rpm, go)| *rpm == arch || *go == arch).map(|(rpm, _)| *rpm)
}

/// buildah's `TARGETARCH` for an RPM architecture.
pub fn target_arch(rpm_arch: &str) -> &str {
    ARCHES.iter().find(|(rpm, _)| *rpm == rpm_arch).map_or(rpm_arch, |(_, go)| go)
}

impl Pipeline {
    /// The distinct architectures of `platforms`, in their order, each with
    /// the first platform that names it.
    pub fn arches(&self) -> Vec<(&'static str, &str)> {
        let mut out: Vec<(&'static str, &str)> = Vec::new();
        for p in &self.platforms {
            if let Some(a) = platform_arch(p)
                && !out.iter().any(|(x, _)| *x == a)
            {
                out.push((a, p));
            }
        }
        out
    }
}
