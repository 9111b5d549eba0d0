//! The PipelineRuns: what Konflux onboarding (build-service,
//! `generatePaCPipelineRunForComponent`) writes for a component, with the
//! `docker-build-oci-ta` pipeline (or `docker-build-multi-platform-oci-ta`)
//! inline, plus the build target, the build secret and the timeouts a bootc
//! image needs. Field by field in docs/konflux.md.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Component, DEFAULT_TIMEOUT, RepoLayout, bundles, components, duration, header, pipeline, yaml};
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::model::{self, Model};
use crate::plan::Plan;

/// The two PipelineRuns of every component: `.tekton/<component>-push.yaml`
/// and `.tekton/<component>-pull-request.yaml`, by path relative to the
/// repository root.
///
/// Task bundles come from `locked` (the committed files) where they are not
/// older in minor version than aidc's table ([`bundles::Locked`]).
pub fn pipelineruns(
    model: &Model,
    plan: &Plan,
    layout: &RepoLayout,
    locked: &bundles::Locked,
) -> Result<BTreeMap<String, String>, Diagnostics> {
    let p = pipeline(model)?;
    let components = components(model, plan, layout)?;
    check_resources(p, &components)?;
    let (_, prefetch) = super::hermetic::files(model, p, &components, layout);
    let mut files = BTreeMap::new();
    // Each distinct `pipelineSpec` and its text: most runs share one.
    let mut specs: Vec<(PipelineSpec, yaml::Splice)> = Vec::new();
    for c in &components {
        for event in [Event::Push, Event::PullRequest] {
            let file = format!(".tekton/{}-{}.yaml", c.name, event.file_suffix());
            let run =
                pipelinerun(p, c, event, &file, layout, prefetch.get(&c.name), &|task| locked.bundle(&file, task));
            let spec = match specs.iter().position(|(spec, _)| *spec == run.spec.pipeline_spec) {
                Some(i) => i,
                None => {
                    let text = yaml::Splice::new(&run.spec.pipeline_spec);
                    specs.push((run.spec.pipeline_spec.clone(), text));
                    specs.len() - 1
                }
            };
            let bundles = format!(
                "# Konflux task bundles: as committed here, else aidc's table of {} ({}).\n",
                bundles::TAKEN,
                bundles::SOURCE
            );
            files.insert(file, format!("{}{bundles}{}", header(layout), yaml::document_spliced(&run, &specs[spec].1)));
        }
    }
    Ok(files)
}

/// `resources` names components of this recipe, and applies to in-cluster
/// builds only: a multi-platform build runs on remote hosts, whose size the
/// platform names.
fn check_resources(p: &model::Pipeline, components: &[Component]) -> Result<(), Diagnostics> {
    let Some(span) = p.resources_span else { return Ok(()) };
    let mut d = Diagnostics::default();
    if Flavour::of(p) == Flavour::Multi && !p.resources.is_empty() {
        d.push(
            Diagnostic::error(Code::InvalidValue, "`resources` applies to single-platform builds only")
                .label(span, "compute resources of the in-cluster build step")
                .label(p.span, "this pipeline builds on remote hosts (`platforms`)")
                .help("a multi-platform build runs on a remote host per platform: ask for a bigger host in the platform name, like \"linux-mxlarge/arm64\""),
        );
    }
    for name in p.resources.keys() {
        if !components.iter().any(|c| &c.name == name) {
            let known: Vec<String> = components.iter().map(|c| format!("`{}`", c.name)).collect();
            d.push(
                Diagnostic::error(
                    Code::InvalidValue,
                    format!("`resources` names `{}`, which is not a component of this recipe", name.escape_debug()),
                )
                .label(span, "in this map")
                .help(format!("the keys are component names (`<image>-<variant>`): {}", known.join(", "))),
            );
        }
    }
    if d.has_errors() { Err(d) } else { Ok(()) }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Event {
    Push,
    PullRequest,
}

impl Event {
    fn file_suffix(self) -> &'static str {
        match self {
            Event::Push => "push",
            Event::PullRequest => "pull-request",
        }
    }

    fn cel(self) -> &'static str {
        match self {
            Event::Push => "push",
            Event::PullRequest => "pull_request",
        }
    }
}

/// Which Konflux pipeline the build follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Flavour {
    /// `docker-build-oci-ta`: buildah in the cluster (x86_64).
    Single,
    /// `docker-build-multi-platform-oci-ta`: buildah-remote per platform, then an index.
    Multi,
}

impl Flavour {
    pub(super) fn of(p: &model::Pipeline) -> Flavour {
        if p.platforms.len() == 1 && p.platforms[0] == "linux/x86_64" { Flavour::Single } else { Flavour::Multi }
    }

    pub(super) fn pipeline_name(self) -> &'static str {
        match self {
            Flavour::Single => "docker-build-oci-ta",
            Flavour::Multi => "docker-build-multi-platform-oci-ta",
        }
    }

    fn build_task(self) -> &'static str {
        match self {
            Flavour::Single => "build-container",
            Flavour::Multi => "build-images",
        }
    }
}

// ---- the Tekton structures (tekton.dev/v1), fields in the order written ----

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PipelineRun {
    api_version: &'static str,
    kind: &'static str,
    metadata: Metadata,
    spec: RunSpec,
}

#[derive(Serialize)]
struct Metadata {
    annotations: BTreeMap<&'static str, String>,
    labels: BTreeMap<&'static str, String>,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RunSpec {
    params: Vec<Param>,
    #[serde(serialize_with = "yaml::spliced")]
    pipeline_spec: PipelineSpec,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    task_run_specs: Vec<TaskRunSpec>,
    task_run_template: TaskRunTemplate,
    timeouts: Timeouts,
    workspaces: Vec<WorkspaceBinding>,
}

#[derive(Clone, PartialEq, Serialize)]
struct Param {
    name: &'static str,
    value: Value,
}

#[derive(Clone, PartialEq, Serialize)]
#[serde(untagged)]
enum Value {
    Str(String),
    List(Vec<String>),
}

#[derive(Clone, PartialEq, Serialize)]
struct PipelineSpec {
    params: Vec<ParamSpec>,
    results: Vec<PipelineResult>,
    tasks: Vec<PipelineTask>,
    workspaces: Vec<WorkspaceDecl>,
}

#[derive(Clone, PartialEq, Serialize)]
struct ParamSpec {
    name: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'static str>,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    default: Option<Value>,
}

#[derive(Clone, PartialEq, Serialize)]
struct PipelineResult {
    name: &'static str,
    value: &'static str,
}

#[derive(Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
struct PipelineTask {
    name: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    matrix: Option<Matrix>,
    params: Vec<Param>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    run_after: Vec<&'static str>,
    task_ref: TaskRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    timeout: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    when: Vec<When>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    workspaces: Vec<TaskWorkspace>,
}

#[derive(Clone, PartialEq, Serialize)]
struct Matrix {
    params: Vec<Param>,
}

#[derive(Clone, PartialEq, Serialize)]
struct TaskRef {
    params: Vec<Param>,
    resolver: &'static str,
}

#[derive(Clone, PartialEq, Serialize)]
struct When {
    input: &'static str,
    operator: &'static str,
    values: Vec<&'static str>,
}

#[derive(Clone, PartialEq, Serialize)]
struct TaskWorkspace {
    name: &'static str,
    workspace: &'static str,
}

#[derive(Clone, PartialEq, Serialize)]
struct WorkspaceDecl {
    name: &'static str,
    optional: bool,
}

/// Per-task overrides of the run (Tekton `PipelineTaskRunSpec`): here the
/// build step's compute resources.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TaskRunSpec {
    pipeline_task_name: &'static str,
    step_specs: Vec<StepSpec>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StepSpec {
    name: &'static str,
    compute_resources: ComputeResources,
}

#[derive(Clone, Serialize)]
struct ComputeResources {
    limits: BTreeMap<&'static str, String>,
    requests: BTreeMap<&'static str, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TaskRunTemplate {
    service_account_name: String,
}

#[derive(Serialize)]
struct Timeouts {
    pipeline: String,
}

#[derive(Serialize)]
struct WorkspaceBinding {
    name: &'static str,
    secret: SecretVolume,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SecretVolume {
    secret_name: &'static str,
}

// ---- building them ----

fn s(v: &str) -> Value {
    Value::Str(v.to_string())
}

fn param(name: &'static str, value: Value) -> Param {
    Param { name, value }
}

/// `"..."` for a CEL string literal.
fn cel_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The Pipelines-as-Code trigger: the event, the branch, and (unless the
/// recipe is at the repository root, where every change is the recipe's)
/// the files that change the image: the recipe's directory, the Containerfile
/// and this PipelineRun.
fn trigger(event: Event, branch: &str, c: &Component, file: &str, layout: &RepoLayout) -> String {
    let mut cel = format!("event == {} && target_branch == {}", cel_string(event.cel()), cel_string(branch));
    let dir = layout.dir();
    if dir != "." {
        let paths = [format!("{dir}/***"), c.containerfile.clone(), file.to_string()];
        let terms: Vec<String> = paths.iter().map(|p| format!("{}.pathChanged()", cel_string(p))).collect();
        cel.push_str(&format!(" && ( {} )", terms.join(" || ")));
    }
    cel
}

/// Renovate's file patterns for build nudges: the Containerfiles aidc writes.
pub(super) const NUDGE_FILES: &str = ".*Containerfile.*,.*aid\\.lock";

/// The build task's own timeout: the pipeline's, less what the checks after
/// the build need (a quarter of it, at most an hour).
fn build_timeout(total: u64) -> Option<String> {
    if total == 0 {
        return None;
    }
    let margin = (total / 4).min(3600);
    Some(duration(total - margin))
}

/// The bundle reference for a task name.
type BundleOf<'a> = &'a dyn Fn(&str) -> String;

fn pipelinerun(
    p: &model::Pipeline,
    c: &Component,
    event: Event,
    file: &str,
    layout: &RepoLayout,
    prefetch: Option<&String>,
    bundle_of: BundleOf<'_>,
) -> PipelineRun {
    let flavour = Flavour::of(p);
    let registry = p.registry.as_deref().unwrap_or_default();
    let repo_url = p.repository.clone().unwrap_or_default();

    let mut annotations = BTreeMap::new();
    annotations.insert("build.appstudio.openshift.io/repo", format!("{repo_url}?rev={{{{revision}}}}"));
    annotations.insert("build.appstudio.redhat.com/commit_sha", "{{revision}}".to_string());
    annotations.insert("build.appstudio.redhat.com/target_branch", "{{target_branch}}".to_string());
    annotations.insert("pipelinesascode.tekton.dev/max-keep-runs", "3".to_string());
    annotations.insert("pipelinesascode.tekton.dev/on-cel-expression", trigger(event, &p.branch, c, file, layout));
    match event {
        Event::Push => {
            annotations.insert("pipelinesascode.tekton.dev/cancel-in-progress", "false".to_string());
            annotations.insert("build.appstudio.openshift.io/build-nudge-files", NUDGE_FILES.to_string());
        }
        Event::PullRequest => {
            annotations.insert("pipelinesascode.tekton.dev/cancel-in-progress", "true".to_string());
            annotations.insert("build.appstudio.redhat.com/pull_request_number", "{{pull_request_number}}".to_string());
        }
    }

    let mut labels = BTreeMap::new();
    labels.insert("appstudio.openshift.io/application", p.application.clone());
    labels.insert("appstudio.openshift.io/component", c.name.clone());
    labels.insert("pipelines.appstudio.openshift.io/type", "build".to_string());

    let tag = match event {
        Event::Push => "{{revision}}",
        Event::PullRequest => "on-pr-{{revision}}",
    };
    let mut params = vec![
        param("git-url", s("{{source_url}}")),
        param("revision", s("{{revision}}")),
        param("output-image", Value::Str(format!("{registry}/{}:{tag}", c.name))),
    ];
    if event == Event::PullRequest {
        params.push(param("image-expires-after", s("5d")));
    }
    if flavour == Flavour::Multi {
        params.push(param("build-platforms", Value::List(p.platforms.clone())));
    }
    params.push(param("dockerfile", s(&c.dockerfile)));
    params.push(param("path-context", s(layout.dir())));
    if p.hermetic {
        // No network in the build; Konflux's prefetch fetches what the lock files list.
        params.push(param("hermetic", s("true")));
        if let Some(input) = prefetch.filter(|i| i.as_str() != "[]") {
            params.push(param("prefetch-input", s(input)));
        }
    }
    if event == Event::Push {
        // The images ship GPL kernel modules and packages: publish their sources.
        params.push(param("build-source-image", s("true")));
    }
    params.push(param("target-stage", s(&c.target)));
    match (&c.secret, event) {
        // Only push runs get the signing key; see [`super::SIGNING_ARG`].
        (Some(secret), Event::Push) => params.push(param("additional-secret", s(secret))),
        (Some(_), Event::PullRequest) => {
            params.push(param("build-args", Value::List(vec![format!("{}=unsigned", super::SIGNING_ARG)])))
        }
        (None, _) => {}
    }
    if event == Event::Push {
        // The tag downstream recipes build from until `aid.lock` pins a digest.
        params.push(param("additional-tags", Value::List(vec![crate::resolve::PUBLISHED_TAG.to_string()])));
    }

    let total = p.timeout.unwrap_or(DEFAULT_TIMEOUT);
    // The recipe's compute resources for this component's build step
    // (`build`, the step that runs buildah in every buildah-oci-ta version).
    let task_run_specs = match p.resources.get(&c.name) {
        Some(r) => {
            let mut amounts = BTreeMap::new();
            if let Some(cpu) = &r.cpu {
                amounts.insert("cpu", cpu.clone());
            }
            if let Some(memory) = &r.memory {
                amounts.insert("memory", memory.clone());
            }
            vec![TaskRunSpec {
                pipeline_task_name: flavour.build_task(),
                step_specs: vec![StepSpec {
                    name: "build",
                    compute_resources: ComputeResources { limits: amounts.clone(), requests: amounts },
                }],
            }]
        }
        None => Vec::new(),
    };
    PipelineRun {
        api_version: "tekton.dev/v1",
        kind: "PipelineRun",
        metadata: Metadata {
            annotations,
            labels,
            name: format!("{}-on-{}", c.name, event.file_suffix()),
            namespace: p.namespace.clone(),
        },
        spec: RunSpec {
            params,
            pipeline_spec: pipeline_spec(flavour, build_timeout(total), bundle_of),
            task_run_specs,
            task_run_template: TaskRunTemplate { service_account_name: format!("build-pipeline-{}", c.name) },
            timeouts: Timeouts { pipeline: duration(total) },
            workspaces: vec![WorkspaceBinding {
                name: "git-auth",
                secret: SecretVolume { secret_name: "{{ git_auth_secret }}" },
            }],
        },
    }
}

/// The pipeline's parameters: those of the Konflux pipeline (build-definitions,
/// same order and defaults), then the two aidc adds for the build task.
fn param_specs(flavour: Flavour) -> Vec<ParamSpec> {
    let string =
        |name, default: Option<&str>| ParamSpec { name, description: None, kind: "string", default: default.map(s) };
    let mut out = vec![
        string("git-url", None),
        string("revision", Some("")),
        string("output-image", None),
        string("path-context", Some(".")),
        string("dockerfile", Some("Dockerfile")),
        string("skip-checks", Some("false")),
        string("hermetic", Some("false")),
        string("prefetch-input", Some("")),
        string("image-expires-after", Some("")),
        string("build-source-image", Some("false")),
        string("build-image-index", Some(if flavour == Flavour::Multi { "true" } else { "false" })),
        string("buildah-format", Some("docker")),
        string("enable-cache-proxy", Some("false")),
        string("enable-package-registry-proxy", Some("true")),
        string("sast-target-dirs", Some(".")),
        ParamSpec { name: "build-args", description: None, kind: "array", default: Some(Value::List(Vec::new())) },
        string("build-args-file", Some("")),
        string("privileged-nested", Some("false")),
        string("source-date-epoch", Some("")),
        string("rewrite-timestamp", Some("false")),
        string("omit-history", Some("false")),
    ];
    if flavour == Flavour::Multi {
        out.push(ParamSpec {
            name: "build-platforms",
            description: None,
            kind: "array",
            default: Some(Value::List(vec!["linux/x86_64".to_string()])),
        });
    }
    out.push(ParamSpec {
        name: "target-stage",
        description: Some("The Containerfile stage to build (buildah's TARGET_STAGE): the variant. Added by aidc."),
        kind: "string",
        default: Some(s("")),
    });
    out.push(ParamSpec {
        name: "additional-tags",
        description: Some(
            "Tags apply-tags adds to the pushed image (its ADDITIONAL_TAGS); push runs add the tag \
             downstream recipes build from. Added by aidc.",
        ),
        kind: "array",
        default: Some(Value::List(Vec::new())),
    });
    out.push(ParamSpec {
        name: "additional-secret",
        description: Some(
            "The Kubernetes secret whose files the build mounts as --secret id=<secret>/<file> \
             (buildah's ADDITIONAL_SECRET). Added by aidc.",
        ),
        kind: "string",
        default: Some(s("does-not-exist")),
    });
    out
}

/// A task of the pipeline, before its optional parts.
fn task(
    bundle_of: BundleOf<'_>,
    name: &'static str,
    task: &'static str,
    run_after: &[&'static str],
    params: Vec<Param>,
) -> PipelineTask {
    PipelineTask {
        name,
        matrix: None,
        params,
        run_after: run_after.to_vec(),
        task_ref: TaskRef {
            params: vec![
                param("name", s(task)),
                param("bundle", Value::Str(bundle_of(task))),
                param("kind", s("task")),
            ],
            resolver: "bundles",
        },
        timeout: None,
        when: Vec::new(),
        workspaces: Vec::new(),
    }
}

fn when_param(input: &'static str, value: &'static str) -> Vec<When> {
    vec![When { input, operator: "in", values: vec![value] }]
}

fn unless_skipped(mut t: PipelineTask) -> PipelineTask {
    t.when = when_param("$(params.skip-checks)", "false");
    t
}

fn matrix(mut t: PipelineTask, name: &'static str) -> PipelineTask {
    t.matrix = Some(Matrix { params: vec![param(name, Value::List(vec!["$(params.build-platforms)".to_string()]))] });
    t
}

const INDEX_URL: &str = "$(tasks.build-image-index.results.IMAGE_URL)";
const INDEX_DIGEST: &str = "$(tasks.build-image-index.results.IMAGE_DIGEST)";
const SOURCE_ARTIFACT: &str = "$(tasks.prefetch-dependencies.results.SOURCE_ARTIFACT)";
const CACHI2_ARTIFACT: &str = "$(tasks.prefetch-dependencies.results.CACHI2_ARTIFACT)";

/// The inline pipeline: the tasks of `docker-build-oci-ta` /
/// `docker-build-multi-platform-oci-ta` (konflux-ci/build-definitions
/// `pipelines/` at 6904ca20; container-build-catalog's copies at
/// [`bundles::SOURCE`] wire the same params) with their params wired as there, the build task
/// also given the target stage, the build secret and its own timeout.
fn pipeline_spec(flavour: Flavour, build_timeout: Option<String>, bundle_of: BundleOf<'_>) -> PipelineSpec {
    let task = |name: &'static str, task_name: &'static str, run_after: &[&'static str], params: Vec<Param>| {
        task(bundle_of, name, task_name, run_after, params)
    };
    let multi = flavour == Flavour::Multi;
    let build = flavour.build_task();
    let mut tasks = Vec::new();

    tasks.push(task("init", "init", &[], vec![param("enable-cache-proxy", s("$(params.enable-cache-proxy)"))]));

    let mut clone = task(
        "clone-repository",
        "git-clone-oci-ta",
        &["init"],
        vec![
            param("url", s("$(params.git-url)")),
            param("revision", s("$(params.revision)")),
            param("ociStorage", s("$(params.output-image).git")),
            param("ociArtifactExpiresAfter", s("$(params.image-expires-after)")),
        ],
    );
    clone.workspaces = vec![TaskWorkspace { name: "basic-auth", workspace: "git-auth" }];
    tasks.push(clone);

    let mut prefetch = task(
        "prefetch-dependencies",
        "prefetch-dependencies-oci-ta",
        &["clone-repository"],
        vec![
            param("input", s("$(params.prefetch-input)")),
            param("enable-package-registry-proxy", s("$(params.enable-package-registry-proxy)")),
            param("SOURCE_ARTIFACT", s("$(tasks.clone-repository.results.SOURCE_ARTIFACT)")),
            param("ociStorage", s("$(params.output-image).prefetch")),
            param("ociArtifactExpiresAfter", s("$(params.image-expires-after)")),
        ],
    );
    prefetch.workspaces = vec![
        TaskWorkspace { name: "git-basic-auth", workspace: "git-auth" },
        TaskWorkspace { name: "netrc", workspace: "netrc" },
    ];
    tasks.push(prefetch);

    let mut build_params = vec![
        param("IMAGE", s("$(params.output-image)")),
        param("DOCKERFILE", s("$(params.dockerfile)")),
        param("CONTEXT", s("$(params.path-context)")),
        param("HERMETIC", s("$(params.hermetic)")),
        param("PREFETCH_INPUT", s("$(params.prefetch-input)")),
        param("IMAGE_EXPIRES_AFTER", s("$(params.image-expires-after)")),
        param("COMMIT_SHA", s("$(tasks.clone-repository.results.commit)")),
        param("BUILD_ARGS", Value::List(vec!["$(params.build-args[*])".to_string()])),
        param("BUILD_ARGS_FILE", s("$(params.build-args-file)")),
        param("PRIVILEGED_NESTED", s("$(params.privileged-nested)")),
        param("SOURCE_URL", s("$(tasks.clone-repository.results.url)")),
        param("BUILDAH_FORMAT", s("$(params.buildah-format)")),
        param("HTTP_PROXY", s("$(tasks.init.results.http-proxy)")),
        param("NO_PROXY", s("$(tasks.init.results.no-proxy)")),
        param("SOURCE_DATE_EPOCH", s("$(params.source-date-epoch)")),
        param("REWRITE_TIMESTAMP", s("$(params.rewrite-timestamp)")),
        param("OMIT_HISTORY", s("$(params.omit-history)")),
        param("SOURCE_ARTIFACT", s(SOURCE_ARTIFACT)),
        param("CACHI2_ARTIFACT", s(CACHI2_ARTIFACT)),
    ];
    if multi {
        build_params.push(param("IMAGE_APPEND_PLATFORM", s("true")));
    }
    build_params.push(param("TARGET_STAGE", s("$(params.target-stage)")));
    build_params.push(param("ADDITIONAL_SECRET", s("$(params.additional-secret)")));
    let builder = if multi { "buildah-remote-oci-ta" } else { "buildah-oci-ta" };
    let mut build_task = task(build, builder, &["prefetch-dependencies"], build_params);
    build_task.timeout = build_timeout;
    if multi {
        build_task = matrix(build_task, "PLATFORM");
    }
    tasks.push(build_task);

    let images = if multi {
        "$(tasks.build-images.results.IMAGE_REF[*])"
    } else {
        "$(tasks.build-container.results.IMAGE_URL)@$(tasks.build-container.results.IMAGE_DIGEST)"
    };
    tasks.push(task(
        "build-image-index",
        "build-image-index",
        &[build],
        vec![
            param("IMAGE", s("$(params.output-image)")),
            param("ALWAYS_BUILD_INDEX", s("$(params.build-image-index)")),
            param("IMAGES", Value::List(vec![images.to_string()])),
            param("BUILDAH_FORMAT", s("$(params.buildah-format)")),
        ],
    ));

    let after = &["build-image-index"];
    let mut source = task(
        "build-source-image",
        "source-build-oci-ta",
        after,
        vec![
            param("BINARY_IMAGE", s(INDEX_URL)),
            param("BINARY_IMAGE_DIGEST", s(INDEX_DIGEST)),
            param("SOURCE_ARTIFACT", s(SOURCE_ARTIFACT)),
            param("CACHI2_ARTIFACT", s(CACHI2_ARTIFACT)),
        ],
    );
    source.when = when_param("$(params.build-source-image)", "true");
    tasks.push(source);

    tasks.push(unless_skipped(task(
        "deprecated-base-image-check",
        "deprecated-image-check",
        after,
        vec![param("IMAGE_URL", s(INDEX_URL)), param("IMAGE_DIGEST", s(INDEX_DIGEST))],
    )));

    let digest_and_url = || vec![param("image-digest", s(INDEX_DIGEST)), param("image-url", s(INDEX_URL))];
    let clair = unless_skipped(task("clair-scan", "clair-scan", after, digest_and_url()));
    tasks.push(if multi { matrix(clair, "image-platform") } else { clair });

    let preflight = unless_skipped(task(
        "ecosystem-cert-preflight-checks",
        "ecosystem-cert-preflight-checks",
        after,
        vec![param("image-url", s(INDEX_URL))],
    ));
    tasks.push(if multi { matrix(preflight, "platform") } else { preflight });

    let sast = |name, task_name| {
        let mut params = digest_and_url();
        params.push(param("TARGET_DIRS", s("$(params.sast-target-dirs)")));
        params.push(param("SOURCE_ARTIFACT", s(SOURCE_ARTIFACT)));
        params.push(param("CACHI2_ARTIFACT", s(CACHI2_ARTIFACT)));
        unless_skipped(task(name, task_name, after, params))
    };
    tasks.push(sast("sast-snyk-check", "sast-snyk-check-oci-ta"));

    let clamav = unless_skipped(task("clamav-scan", "clamav-scan", after, digest_and_url()));
    tasks.push(if multi { matrix(clamav, "image-arch") } else { clamav });

    tasks.push(sast("sast-shell-check", "sast-shell-check-oci-ta"));
    tasks.push(sast("sast-unicode-check", "sast-unicode-check-oci-ta"));

    tasks.push(task(
        "apply-tags",
        "apply-tags",
        after,
        vec![
            param("IMAGE_URL", s(INDEX_URL)),
            param("IMAGE_DIGEST", s(INDEX_DIGEST)),
            param("ADDITIONAL_TAGS", Value::List(vec!["$(params.additional-tags[*])".to_string()])),
        ],
    ));
    tasks.push(task(
        "push-dockerfile",
        "push-dockerfile-oci-ta",
        after,
        vec![
            param("IMAGE", s(INDEX_URL)),
            param("IMAGE_DIGEST", s(INDEX_DIGEST)),
            param("DOCKERFILE", s("$(params.dockerfile)")),
            param("CONTEXT", s("$(params.path-context)")),
            param("SOURCE_ARTIFACT", s(SOURCE_ARTIFACT)),
        ],
    ));
    tasks.push(unless_skipped(task(
        "rpms-signature-scan",
        "rpms-signature-scan",
        after,
        vec![param("image-url", s(INDEX_URL)), param("image-digest", s(INDEX_DIGEST))],
    )));

    PipelineSpec {
        params: param_specs(flavour),
        results: vec![
            PipelineResult { name: "IMAGE_URL", value: INDEX_URL },
            PipelineResult { name: "IMAGE_DIGEST", value: INDEX_DIGEST },
            PipelineResult { name: "CHAINS-GIT_URL", value: "$(tasks.clone-repository.results.url)" },
            PipelineResult { name: "CHAINS-GIT_COMMIT", value: "$(tasks.clone-repository.results.commit)" },
        ],
        tasks,
        workspaces: vec![
            WorkspaceDecl { name: "git-auth", optional: true },
            WorkspaceDecl { name: "netrc", optional: true },
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cel_strings_are_escaped() {
        assert_eq!(cel_string(r#"a"b\c"#), r#""a\"b\\c""#);
    }

    #[test]
    fn the_build_leaves_time_for_the_checks() {
        assert_eq!(build_timeout(4 * 3600).as_deref(), Some("3h"));
        assert_eq!(build_timeout(3600).as_deref(), Some("45m"));
        assert_eq!(build_timeout(0), None);
    }

    #[test]
    fn every_task_has_a_bundle() {
        for flavour in [Flavour::Single, Flavour::Multi] {
            let spec = pipeline_spec(flavour, None, &|t| bundles::bundle(t).to_string());
            assert_eq!(spec.tasks.len(), 16);
        }
    }
}
