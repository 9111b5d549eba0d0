//! Hermetic builds (`hermetic = true` in the pipeline block): the inputs of
//! Konflux's prefetch for every component, in
//! `<recipe dir>/konflux/prefetch/<component>/`: `rpms.in.yaml` for
//! rpm-lockfile-prototype (its output, `rpms.lock.yaml`, is what Hermeto's
//! `rpm` fetcher reads) and `artifacts.lock.yaml` for Hermeto's `generic`
//! fetcher, plus the PipelineRun's `prefetch-input`. One directory per
//! component, so a variant's lock lists only that variant's packages: the
//! clean variant's SBOM never lists CUDA. docs/konflux.md, "Hermetic builds".

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{Component, RepoLayout, join, yaml};
use crate::model::{self, Model, RepoSource, StepKind};

/// The prefetch directory of `component`, relative to the recipe's directory.
pub fn dir(component: &str) -> String {
    format!("konflux/prefetch/{component}")
}

/// What a component's build downloads and installs.
#[derive(Debug, Default)]
struct Inputs {
    packages: BTreeSet<String>,
    repofiles: BTreeSet<String>,
    /// sha256 -> url.
    artifacts: BTreeMap<String, String>,
    base: Option<String>,
}

fn inputs(variant: &model::Variant, image: &str, out_dir: &str, component: &str) -> Inputs {
    let mut out = Inputs::default();
    let up = "../".repeat(dir(component).split('/').count());
    // Every architecture's downloads and packages (each platform fetches its own).
    for c in variant.per_arch().flat_map(|v| v.components.iter()) {
        for step in &c.steps {
            match &step.kind {
                StepKind::Packages { names } => out.packages.extend(names.iter().cloned()),
                StepKind::Fetch { url, sha256, .. } => {
                    // As the plan checks it (docs/language.md, `fetch`).
                    let sum = sha256.strip_prefix("b3:").unwrap_or(sha256);
                    out.artifacts.insert(sum.to_string(), url.clone());
                }
                _ => {}
            }
        }
        // A kmod's builder stage installs these too.
        if let Some(model::Property::List(items)) = c.properties.get("build-packages") {
            out.packages.extend(items.iter().filter_map(|p| p.as_str().map(str::to_string)));
        }
    }
    for r in &variant.repos {
        match &r.source {
            // aidc writes these (a repository's `file` text included).
            RepoSource::BaseUrl { .. } | RepoSource::Copr { .. } | RepoSource::File { content: Some(_), .. } => {
                let file = join(out_dir, &crate::plan::repo_file(image, &r.id));
                out.repofiles.insert(format!("{up}{file}"));
            }
            RepoSource::File { url, content: None, .. } => {
                out.repofiles.insert(url.clone());
            }
            RepoSource::Existing | RepoSource::Flatpak { .. } => {}
        }
    }
    // The base image whose installed packages the resolution starts from.
    out.base = match &variant.from {
        model::From::Base { component, .. } => variant
            .components
            .get(*component)
            .and_then(|b| b.properties.get("image"))
            .and_then(|p| p.as_str())
            .map(str::to_string),
        model::From::Project { reference, .. } | model::From::Reference { reference, .. } => Some(reference.clone()),
    };
    out
}

/// rpm-lockfile-prototype's architecture names for the recipe's platforms.
fn arches(platforms: &[String]) -> Vec<String> {
    let mut out: Vec<String> =
        platforms.iter().map(|p| model::platform_arch(p).map_or_else(|| p.clone(), str::to_string)).collect();
    out.sort();
    out.dedup();
    out
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RpmsIn {
    content_origin: ContentOrigin,
    packages: Vec<String>,
    arches: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    context: Option<RpmContext>,
}

#[derive(Serialize)]
struct ContentOrigin {
    repofiles: Vec<String>,
}

#[derive(Serialize)]
struct RpmContext {
    image: String,
}

/// One entry of the prefetch task's `input` (Hermeto's JSON input).
#[derive(Serialize)]
struct PrefetchInput {
    #[serde(rename = "type")]
    kind: &'static str,
    path: String,
}

#[derive(Serialize)]
struct ArtifactsLock {
    metadata: LockMetadata,
    artifacts: Vec<Artifact>,
}

#[derive(Serialize)]
struct LockMetadata {
    version: &'static str,
}

#[derive(Serialize)]
struct Artifact {
    download_url: String,
    checksum: String,
    filename: String,
}

/// The prefetch files of every component (by path relative to the
/// repository root) and each component's `prefetch-input` (by name).
pub fn files(
    model: &Model,
    p: &model::Pipeline,
    components: &[Component],
    out_dir: &str,
    layout: &RepoLayout,
) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let mut files = BTreeMap::new();
    let mut prefetch = BTreeMap::new();
    if !p.hermetic {
        return (files, prefetch);
    }
    for c in components {
        let Some(image) = model.images.iter().find(|i| i.name == c.image) else { continue };
        let Some(variant) = image.variants.iter().find(|v| v.name == c.target) else { continue };
        let found = inputs(variant, &image.name, out_dir, &c.name);
        let dir = layout.in_repo(&dir(&c.name));
        let mut input = Vec::new();
        if !found.packages.is_empty() {
            let doc = RpmsIn {
                content_origin: ContentOrigin { repofiles: found.repofiles.iter().cloned().collect() },
                packages: found.packages.iter().cloned().collect(),
                arches: arches(&p.platforms),
                context: found.base.clone().map(|image| RpmContext { image }),
            };
            let comment = "# rpm-lockfile-prototype's input: run `rpm-lockfile-prototype rpms.in.yaml` here and\n\
                           # commit its rpms.lock.yaml, which Konflux's prefetch reads (docs/konflux.md).\n";
            files.insert(
                format!("{dir}/rpms.in.yaml"),
                format!("{}{comment}{}", super::header(layout), yaml::document(&doc)),
            );
            input.push(PrefetchInput { kind: "rpm", path: dir.clone() });
        }
        if !found.artifacts.is_empty() {
            let doc = ArtifactsLock {
                metadata: LockMetadata { version: "1.0" },
                artifacts: found
                    .artifacts
                    .iter()
                    .map(|(sha, url)| Artifact {
                        download_url: url.clone(),
                        checksum: format!("sha256:{sha}"),
                        filename: sha.clone(),
                    })
                    .collect(),
            };
            files.insert(
                format!("{dir}/artifacts.lock.yaml"),
                format!("{}{}", super::header(layout), yaml::document(&doc)),
            );
            input.push(PrefetchInput { kind: "generic", path: dir.clone() });
        }
        // Plain structs, so the JSON's key order never depends on serde_json's features.
        prefetch.insert(c.name.clone(), serde_json::to_string(&input).unwrap_or_default());
    }
    (files, prefetch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms_become_rpm_architectures() {
        let p = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(arches(&p(&["linux/x86_64", "linux/arm64", "linux-mxlarge/arm64"])), ["aarch64", "x86_64"]);
    }
}
