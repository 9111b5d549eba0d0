//! `konflux/application.yaml`: the Application and one Component per image
//! variant (appstudio.redhat.com/v1alpha1), for `kubectl apply`. Build order
//! between images is the upstream Component's `build-nudges-ref`: after a
//! successful push build of the upstream, build-service runs Renovate on the
//! downstream's files (docs/konflux.md, "Build order").

use std::collections::BTreeMap;

use serde::Serialize;

use super::pipelinerun::Flavour;
use super::{RepoLayout, Upstream, components, header, join, join_normalized, pipeline, yaml};
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::model::Model;
use crate::plan::Plan;

const API_VERSION: &str = "appstudio.redhat.com/v1alpha1";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Application {
    api_version: &'static str,
    kind: &'static str,
    metadata: Metadata,
    spec: ApplicationSpec,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ApplicationSpec {
    display_name: String,
}

#[derive(Serialize)]
struct Metadata {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: BTreeMap<&'static str, String>,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ComponentDoc {
    api_version: &'static str,
    kind: &'static str,
    metadata: Metadata,
    spec: ComponentSpec,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ComponentSpec {
    application: String,
    #[serde(rename = "build-nudges-ref", skip_serializing_if = "Vec::is_empty")]
    build_nudges_ref: Vec<String>,
    component_name: String,
    container_image: String,
    source: Source,
}

#[derive(Serialize)]
struct Source {
    git: GitSource,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GitSource {
    context: String,
    dockerfile_url: String,
    revision: String,
    url: String,
}

/// `<recipe dir>/konflux/application.yaml`: the Application, a Component for
/// every image variant of the recipe, and, for each image of another recipe
/// that one of them is built from, that image's Component carrying the
/// `build-nudges-ref` to it.
pub fn application(model: &Model, plan: &Plan, layout: &RepoLayout) -> Result<BTreeMap<String, String>, Diagnostics> {
    let p = pipeline(model)?;
    let components = components(model, plan, layout)?;
    let registry = p.registry.as_deref().unwrap_or_default();
    let flavour = Flavour::of(p);

    // Who is built from whom: upstream component -> downstream components.
    let mut nudges: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for c in &components {
        if let Some(up) = &c.upstream {
            nudges.entry(up.component.as_str()).or_default().push(c.name.clone());
        }
    }
    for list in nudges.values_mut() {
        list.sort();
        list.dedup();
    }

    let mut docs = vec![yaml::document(&Application {
        api_version: API_VERSION,
        kind: "Application",
        metadata: Metadata {
            annotations: BTreeMap::new(),
            name: p.application.clone(),
            namespace: p.namespace.clone(),
        },
        spec: ApplicationSpec { display_name: p.application.clone() },
    })];

    // Written out (not through a JSON map) so that key order never depends on serde_json's features.
    let pipeline_annotation = format!(r#"{{"name":"{}","bundle":"latest"}}"#, flavour.pipeline_name());
    for c in &components {
        let mut annotations = BTreeMap::new();
        annotations.insert("build.appstudio.openshift.io/pipeline", pipeline_annotation.clone());
        // aidc writes the PipelineRuns; onboarding must not open a pull request with its own.
        annotations.insert("build.appstudio.openshift.io/request", "configure-pac-no-mr".to_string());
        let source = Source {
            git: GitSource {
                context: layout.dir().to_string(),
                dockerfile_url: c.dockerfile.clone(),
                revision: p.branch.clone(),
                url: p.repository.clone().unwrap_or_default(),
            },
        };
        docs.push(yaml::document(&ComponentDoc {
            api_version: API_VERSION,
            kind: "Component",
            metadata: Metadata { annotations, name: c.name.clone(), namespace: p.namespace.clone() },
            spec: ComponentSpec {
                application: p.application.clone(),
                build_nudges_ref: nudges.get(c.name.as_str()).cloned().unwrap_or_default(),
                component_name: c.name.clone(),
                container_image: format!("{registry}/{}", c.name),
                source,
            },
        }));
    }

    // Upstream images of other recipes: only what this recipe knows of them.
    let mut external: BTreeMap<&str, &Upstream> = BTreeMap::new();
    for c in &components {
        if let Some(up) = &c.upstream
            && !components.iter().any(|own| own.name == up.component)
        {
            external.insert(up.component.as_str(), up);
        }
    }
    let mut d = Diagnostics::default();
    for (name, up) in external {
        let Some(source) = upstream_source(up, layout, &plan.out_dir, &mut d) else { continue };
        let shown = crate::plan::shell::comment(name);
        let comment = format!(
            "# `{shown}` is built by another recipe, which writes its full Component. This document\n\
             # only adds the build nudge to this recipe's images: apply both files with\n\
             # `kubectl apply --server-side --field-manager=aidc-<recipe dir>` (docs/konflux.md).\n"
        );
        docs.push(format!(
            "{comment}{}",
            yaml::document(&ComponentDoc {
                api_version: API_VERSION,
                kind: "Component",
                metadata: Metadata {
                    annotations: BTreeMap::new(),
                    name: name.to_string(),
                    namespace: p.namespace.clone()
                },
                spec: ComponentSpec {
                    application: p.application.clone(),
                    build_nudges_ref: nudges.get(name).cloned().unwrap_or_default(),
                    component_name: name.to_string(),
                    container_image: up.repository.clone(),
                    source,
                },
            })
        ));
    }

    if d.has_errors() {
        return Err(d);
    }
    // One integration test per component (docs/konflux.md, "Integration tests").
    for c in &components {
        docs.push(yaml::document(&super::integration::scenario(p, c, layout)));
    }
    let mut text = header(layout);
    text.push_str(&yaml::documents(&docs));
    let mut files = BTreeMap::new();
    files.insert(layout.in_repo("konflux/application.yaml"), text);
    Ok(files)
}

/// The `spec.source` of another recipe's Component, as that recipe writes it:
/// its repository and branch, its directory as the context, and its
/// Containerfile under the same output directory as this compile's. Server-side
/// apply merges the two documents only when these agree, so what cannot be
/// known is an error, not a guess.
fn upstream_source(up: &Upstream, layout: &RepoLayout, out_dir: &str, d: &mut Diagnostics) -> Option<Source> {
    let Some(source) = &up.source else {
        d.push(
            Diagnostic::error(
                Code::MissingProperty,
                format!("the file of `{}` has no `repository` in its `pipeline konflux` block", up.component),
            )
            .label(up.span, "built from an image of another file")
            .help("the Component of an upstream image needs its git repository: add `repository` to that file's pipeline block"),
        );
        return None;
    };
    // A recipe found through the library path has no relation to this one's
    // directory: its Component's context is then taken as the repository root.
    let context = join_normalized(layout.dir(), source.recipe_dir.as_deref().unwrap_or("."));
    Some(Source {
        git: GitSource {
            context,
            dockerfile_url: join(out_dir, &format!("{}/Containerfile", up.image)),
            revision: source.branch.clone(),
            url: source.repository.clone(),
        },
    })
}
