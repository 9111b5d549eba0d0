//! Images of the project used as bases (`from desktop.ai-desktop.cuda-toolkit`)
//! and the `pipeline konflux` block that names where images are published.

use super::eval::{Env, Eval, Evaluator, Reported};
use super::value::{ImageId, ImageRef, ModuleId, Value};
use crate::diag::{Code, Diagnostic};
use crate::model;
use crate::source::Span;
use crate::syntax::ast::{self, StmtKind};

/// The Konflux component name of an image variant: `<image>-<variant>`, or
/// `<image>` when the image has no variants.
pub fn component_name(image: &str, variant: Option<&str>) -> String {
    match variant {
        Some(v) => format!("{image}-{v}"),
        None => image.to_string(),
    }
}

/// The `from` of an image built on another image of the project.
pub fn reference(ev: &mut Evaluator<'_>, r: &ImageRef, current: ImageId, span: Span) -> Eval<model::From> {
    let info = &ev.program.images[r.image.0];
    let name = info.image.name.name.clone();
    if r.image == current {
        return Err(ev.error(
            Diagnostic::error(Code::UnknownVariant, format!("image `{name}` cannot be built from itself"))
                .label(span, "this refers to the image being defined")
                .help("build from a base, another image, or a reference"),
        ));
    }
    let variants = super::eval::variant_names(info.image);
    if r.variant.is_none() && !variants.is_empty() {
        return Err(ev.error(
            Diagnostic::error(
                Code::UnknownVariant,
                format!("image `{name}` has variants; say which one to build from"),
            )
            .label(span, "which variant?")
            .help(format!(
                "write `from {}.VARIANT` with one of: {}",
                ev.program
                    .loaded
                    .sources
                    .get(span.source)
                    .text
                    .get(span.start as usize..span.end as usize)
                    .unwrap_or(&name),
                super::eval::quote_list(&variants)
            )),
        ));
    }
    let component = component_name(&name, r.variant.as_deref());
    let module = info.module;
    let current_module = ev.program.images[current.0].module;
    let same_file = module == current_module;
    let published = published(ev, module)?;
    if !same_file && published.registry.is_some() && published.repository.is_none() {
        // The downstream's application.yaml carries the upstream's Component,
        // which needs `spec.source` as much as the downstream's own.
        let file = ev.program.source_name(module).to_string();
        return Err(ev.error(
            Diagnostic::error(
                Code::MissingProperty,
                format!("`{file}`'s `pipeline konflux` block has no `repository`, so image `{name}` has no git source"),
            )
            .label(span, "built from an image of another file")
            .label(info.image.name.span, "this image's Component needs `spec.source`")
            .help(format!("add `repository = \"https://github.com/ORG/REPO\"` to the pipeline block of `{file}`")),
        ));
    }
    let upstream = match (&published.repository, same_file) {
        (Some(repository), false) => Some(model::UpstreamSource {
            repository: repository.clone(),
            branch: published.branch.clone().unwrap_or_else(|| DEFAULT_BRANCH.to_string()),
            recipe_dir: recipe_dir_from(ev, current_module, module),
        }),
        _ => None,
    };
    let reference = match (published.registry, same_file) {
        (Some(reg), _) => format!("{reg}/{component}:{PUBLISHED_TAG}"),
        (None, true) => format!("localhost/{component}:{PUBLISHED_TAG}"),
        (None, false) => {
            let file = ev.program.source_name(module).to_string();
            return Err(ev.error(
                Diagnostic::error(Code::MissingPipeline, format!("`{file}` has no `pipeline konflux` block with a `registry`, so image `{name}` has no published name"))
                    .label(span, "built from an image of another file")
                    .label(info.image.name.span, "this image is never published under a name aidc knows")
                    .help(format!("add `pipeline konflux {{ application = \"...\", registry = \"quay.io/ORG\" }}` to `{file}`")),
            ));
        }
    };
    Ok(model::From::Project {
        image: name,
        variant: r.variant.clone(),
        component,
        reference,
        same_file,
        upstream,
        span,
    })
}

/// The tag an image of the project is built `from` until `aid.lock` pins its
/// digest: the push PipelineRuns apply it (apply-tags' `ADDITIONAL_TAGS`), so
/// it exists once the upstream's first push build has run.
pub const PUBLISHED_TAG: &str = "latest";

/// The branch push builds follow when the pipeline block names none.
pub const DEFAULT_BRANCH: &str = "main";

/// What another file's pipeline block says about where its images come from.
#[derive(Default)]
struct Published {
    registry: Option<String>,
    repository: Option<String>,
    branch: Option<String>,
}

/// The `registry`, `repository` and `branch` of a module's pipeline block
/// (each only if given; their checks are that file's own compile).
fn published(ev: &mut Evaluator<'_>, module: ModuleId) -> Eval<Published> {
    let program = ev.program;
    let mut out = Published::default();
    let Some(p) = program.pipelines[module.0].first() else {
        return Ok(out);
    };
    for stmt in &p.body.stmts {
        if let StmtKind::Property { name, value } = &stmt.kind {
            let slot = match name.name.as_str() {
                "registry" => &mut out.registry,
                "repository" => &mut out.repository,
                "branch" => &mut out.branch,
                _ => continue,
            };
            *slot = Some(ev.eval_str(value, &Env::module(module), &format!("`{}`", name.name))?);
        }
    }
    Ok(out)
}

/// The directory of `module`'s file relative to the directory of `from`'s
/// file, with `/` (`../ai-desktop`), when both are files named in the same
/// frame; `None` for the standard library or paths that do not relate.
fn recipe_dir_from(ev: &Evaluator<'_>, from: ModuleId, module: ModuleId) -> Option<String> {
    let dir = |m: ModuleId| {
        let name = ev.program.source_name(m);
        std::path::Path::new(name).parent().map(std::path::Path::to_path_buf).unwrap_or_default()
    };
    let rel = crate::resolve::loader::relative_to(&dir(from), &dir(module))?;
    let text = crate::resolve::loader::display_path(&rel);
    Some(if text.is_empty() { ".".to_string() } else { text })
}

/// Evaluates the `pipeline konflux` block of a module.
pub fn pipeline(ev: &mut Evaluator<'_>, module: ModuleId) -> Option<model::Pipeline> {
    let program = ev.program;
    let p: &ast::Pipeline = program.pipelines[module.0].first()?;
    let env = Env::module(module);
    let mut out = model::Pipeline {
        application: String::new(),
        registry: None,
        platforms: vec!["linux/x86_64".to_string()],
        branch: DEFAULT_BRANCH.to_string(),
        timeout: None,
        namespace: None,
        repository: None,
        resources: Default::default(),
        resources_span: None,
        hermetic: false,
        keys: Default::default(),
        span: p.kind.span,
    };
    let mut application = None;
    let mut failed = false;
    for stmt in &p.body.stmts {
        let StmtKind::Property { name, value } = &stmt.kind else {
            continue;
        };
        let v = match ev.eval(value, &env) {
            Ok(v) => v,
            Err(Reported) => {
                failed = true;
                continue;
            }
        };
        let mut bad = |ev: &mut Evaluator<'_>, want: &str, v: &Value| {
            ev.error(
                Diagnostic::error(Code::TypeMismatch, format!("`{}` is {want}, found {}", name.name, v.describe()))
                    .label(value.span, format!("this is {}", v.describe()))
                    .help(format!("write `{} = ` followed by {want}", name.name)),
            );
            failed = true;
        };
        match (name.name.as_str(), &v) {
            ("application", Value::Str(s, _)) => {
                if !super::validate::konflux_name(s) {
                    ev.error(
                        Diagnostic::error(
                            Code::InvalidName,
                            format!("\"{}\" is not a valid Konflux application name", s.escape_debug()),
                        )
                        .label(
                            value.span,
                            "lowercase letters, digits and `-`, starting with a letter, at most 63 characters",
                        )
                        .help("Konflux names are Kubernetes resource names"),
                    );
                    failed = true;
                }
                application = Some(s.clone());
            }
            ("registry", Value::Str(s, _)) => {
                let probe = format!("{s}/x");
                if let Err(reason) = super::validate::image_reference(&probe) {
                    ev.error(
                        Diagnostic::error(
                            Code::ImageReference,
                            format!("\"{}\" is not a valid registry path", s.escape_debug()),
                        )
                        .label(value.span, reason)
                        .help("write the registry and organisation, like \"quay.io/fedora-ai\""),
                    );
                    failed = true;
                }
                out.registry = Some(s.clone());
            }
            ("platforms", Value::List(items, _)) => {
                let mut platforms = Vec::new();
                for item in items {
                    match item {
                        Value::Str(s, _) if is_platform(s) && model::platform_arch(s).is_some() => {
                            platforms.push(s.clone())
                        }
                        other => {
                            // At the item where it is written (the list's, when it has none).
                            let at =
                                super::site::Site { written: other.origin().unwrap_or(value.span), used: value.span };
                            let d = Diagnostic::error(Code::InvalidValue, format!("{other} is not a build platform"));
                            ev.error(
                                ev.label_site(d, at, "not a platform")
                                    .help("platforms look like \"linux/x86_64\", \"linux/arm64\" or \"linux-mxlarge/arm64\", for the architectures x86_64 (amd64), aarch64 (arm64), ppc64le and s390x"),
                            );
                            failed = true;
                        }
                    }
                }
                if platforms.is_empty() {
                    ev.error(
                        Diagnostic::error(Code::InvalidValue, "`platforms` is empty")
                            .label(value.span, "no platform")
                            .help("name at least one, like [\"linux/x86_64\"]"),
                    );
                    failed = true;
                }
                out.platforms = platforms;
            }
            ("branch", Value::Str(s, _)) => {
                if let Err(reason) = super::validate::git_branch(s) {
                    ev.error(
                        Diagnostic::error(Code::InvalidValue, "this is not a valid git branch name")
                            .label(value.span, reason)
                            .help(
                                "use a name `git check-ref-format --branch` accepts, like \"main\" or \"release/1.2\"",
                            ),
                    );
                    failed = true;
                }
                out.branch = s.clone();
            }
            ("timeout", Value::Duration(d)) => out.timeout = Some(*d),
            ("namespace", Value::Str(s, _)) => {
                if !super::validate::dns_label(s) {
                    ev.error(
                        Diagnostic::error(Code::InvalidName, "this is not a valid Kubernetes namespace")
                            .label(value.span, "lowercase letters, digits and `-`")
                            .help("Konflux tenant namespaces look like \"fedora-ai-tenant\": at most 63 characters, starting and ending with a letter or digit"),
                    );
                    failed = true;
                }
                out.namespace = Some(s.clone());
            }
            ("repository", Value::Str(s, _)) => {
                if let Err(reason) = super::validate::url(s) {
                    ev.error(
                        Diagnostic::error(Code::Url, "`repository` is the git repository's https URL")
                            .label(value.span, reason)
                            .help("write the URL you clone over https, like \"https://github.com/OWNER/REPO\""),
                    );
                    failed = true;
                }
                out.repository = Some(s.clone());
            }
            ("resources", Value::Map(entries)) => {
                out.resources_span = Some(value.span);
                match resources(entries) {
                    Ok(r) => out.resources = r,
                    Err(reason) => {
                        ev.error(
                            Diagnostic::error(Code::InvalidValue, format!("`resources`: {reason}"))
                                .label(value.span, "these resources")
                                .help("write `resources = { \"COMPONENT\" = { cpu = \"4\", memory = \"16Gi\" } }`, with Kubernetes quantities"),
                        );
                        failed = true;
                    }
                }
            }
            ("hermetic", Value::Bool(b)) => out.hermetic = *b,
            ("hermetic", v) => bad(ev, "`true` or `false`", v),
            ("keys", Value::Map(entries)) => {
                for (id, v) in entries {
                    match v {
                        Value::File(path) => {
                            out.keys.insert(id.clone(), model::KeyFile { path: path.clone(), span: value.span });
                        }
                        other => {
                            ev.error(
                                Diagnostic::error(
                                    Code::TypeMismatch,
                                    format!("the key of `{}` must be a file, found {}", id.escape_debug(), other.describe()),
                                )
                                .label(value.span, "not `file(...)`")
                                .help("write `keys = { \"REPOSITORY-ID\" = file(\"keys/NAME.asc\") }`: the repository's OpenPGP public key, committed"),
                            );
                            failed = true;
                        }
                    }
                }
            }
            ("keys", v) => bad(ev, "a map of repository ids to `file(...)`", v),
            ("resources", v) => bad(ev, "a map of components to `{ cpu = ..., memory = ... }`", v),
            ("application" | "registry" | "branch" | "namespace" | "repository", v) => bad(ev, "a string", v),
            ("platforms", v) => bad(ev, "a list of strings", v),
            ("timeout", v) => bad(ev, "a duration like `4h`", v),
            _ => {}
        }
    }
    match application {
        Some(a) => out.application = a,
        None => {
            ev.error(
                Diagnostic::error(Code::MissingProperty, "`pipeline konflux` needs an `application`")
                    .label(p.kind.span, "no `application` here")
                    .help("add `application = \"NAME\"`: the Konflux application the components belong to"),
            );
            failed = true;
        }
    }
    if out.registry.is_none() {
        ev.error(
            Diagnostic::error(Code::MissingProperty, "`pipeline konflux` needs a `registry`")
                .label(p.kind.span, "no `registry` here")
                .help("add `registry = \"quay.io/ORG\"`: where the images are pushed"),
        );
        failed = true;
    }
    if out.repository.is_none() {
        // The Component CRD requires `spec.source`, and build-service sets up
        // Pipelines-as-Code only for a Component with `spec.source.git.url`
        // (konflux-ci/application-api `api/v1alpha1/component_types.go`;
        // konflux-ci/build-service `internal/controller/component_build_controller.go`).
        ev.error(
            Diagnostic::error(Code::MissingProperty, "`pipeline konflux` needs a `repository`")
                .label(p.kind.span, "no `repository` here")
                .help("add `repository = \"https://github.com/ORG/REPO\"`: the git repository Konflux builds from (its Components need `spec.source`)"),
        );
        failed = true;
    }
    if failed { None } else { Some(out) }
}

fn is_platform(s: &str) -> bool {
    if s == "localhost" {
        return true;
    }
    let Some((os, arch)) = s.split_once('/') else {
        return false;
    };
    let ok = |p: &str| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
    ok(os) && ok(arch)
}

/// The `resources` map: component name -> `{ cpu, memory }`, each a
/// Kubernetes quantity. `Err` says what is wrong, in words.
fn resources(
    entries: &crate::maps::IndexMap<String, Value>,
) -> Result<std::collections::BTreeMap<String, model::Resources>, String> {
    let mut out = std::collections::BTreeMap::new();
    for (component, v) in entries {
        let Value::Map(fields) = v else {
            return Err(format!(
                "`{}` is {}, not a map like `{{ memory = \"16Gi\" }}`",
                component.escape_debug(),
                v.describe()
            ));
        };
        let mut r = model::Resources::default();
        for (key, v) in fields {
            let slot = match key.as_str() {
                "cpu" => &mut r.cpu,
                "memory" => &mut r.memory,
                other => return Err(format!("`{}` is neither `cpu` nor `memory`", other.escape_debug())),
            };
            let Value::Str(q, _) = v else {
                return Err(format!(
                    "`{key}` of `{}` must be a string like \"4\" or \"16Gi\"",
                    component.escape_debug()
                ));
            };
            if !super::validate::quantity(q) {
                return Err(format!(
                    "`{key}` of `{}`: \"{}\" is not a Kubernetes quantity",
                    component.escape_debug(),
                    q.escape_debug()
                ));
            }
            *slot = Some(q.clone());
        }
        if r == model::Resources::default() {
            return Err(format!("`{}` has neither `cpu` nor `memory`", component.escape_debug()));
        }
        out.insert(component.clone(), r);
    }
    Ok(out)
}
