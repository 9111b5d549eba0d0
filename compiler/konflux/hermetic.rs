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

use super::{Component, RepoLayout, yaml};
use crate::model::{self, Model, RepoSource, StepKind};

/// The prefetch directory of `component`, relative to the recipe's directory.
pub fn dir(component: &str) -> String {
    format!("konflux/prefetch/{component}")
}

/// What a component's build downloads and installs.
#[derive(Debug, Default)]
struct Inputs {
    packages: BTreeSet<String>,
    /// The `.repo` files aidc writes in the prefetch directory (path in it
    /// -> text), which `rpms.in.yaml` lists.
    repofiles: BTreeMap<String, String>,
    /// `.repo` files named by URL (a hermetic build refuses them:
    /// `aid::plan::hermetic_fetch`; listed as they are otherwise).
    repo_urls: BTreeSet<String>,
    /// sha256 -> url.
    artifacts: BTreeMap<String, String>,
    base: Option<String>,
    /// What the builder stages (kmod builds, the kernel signer) install,
    /// and the image they start from: a resolution of its own
    /// ([`BUILDER_DIR`]).
    builder: Option<(BTreeSet<String>, String)>,
}

/// The builder stages' prefetch directory inside a component's: the kmod
/// builders and the kernel signer start from Fedora's plain container image
/// (the base's `builder`), whose installed packages are not the bootc
/// image's, so their packages are resolved against it, in a lock of their
/// own (Hermeto takes several `rpm` inputs and merges their repositories:
/// hermetoproject/hermeto `hermeto/core/package_managers/rpm/main.py`
/// `fetch_rpm_source`, one `_resolve_rpm_project` per input path).
const BUILDER_DIR: &str = "builder";

fn inputs(variant: &model::Variant) -> Inputs {
    let mut out = Inputs::default();
    let mut builder = BTreeSet::new();
    // Every architecture's downloads and packages (each platform fetches its own).
    for v in variant.per_arch() {
        for c in &v.components {
            for step in c.steps.iter() {
                match &step.kind {
                    StepKind::Packages { names } => out.packages.extend(names.iter().cloned()),
                    StepKind::Fetch { url, sha256, .. } => {
                        // As the plan checks it (docs/language.md, `fetch`).
                        let sum = sha256.strip_prefix("b3:").unwrap_or(sha256);
                        out.artifacts.insert(sum.to_string(), url.clone());
                        // GNU tar runs bzip2 for a .tar.bz2, which the step
                        // installs when the base lacks it (plan/layer.rs `fetch`).
                        if crate::plan::is_bzip2(url) {
                            out.packages.insert("bzip2".to_string());
                        }
                    }
                    _ => {}
                }
            }
            // A kmod's builder stage installs these.
            if let Some(model::Property::List(items)) = c.properties.get("build-packages") {
                builder.extend(items.iter().filter_map(|p| p.as_str().map(str::to_string)));
            }
        }
        builder.extend(script_packages(v));
    }
    if !builder.is_empty() {
        out.builder = Some((builder, crate::plan::builder_image(variant)));
    }
    // The base's own repositories: the files that enable one, with the
    // repositories the recipe enables by id switched on.
    let by_id: BTreeSet<&str> = variant
        .per_arch()
        .flat_map(|v| v.repos.iter())
        .filter(|r| matches!(r.source, RepoSource::Existing))
        .map(|r| r.id.as_str())
        .collect();
    for (name, text) in crate::plan::hermetic::base_repofiles(variant).unwrap_or_default() {
        let Ok(sections) = crate::validate::repo_file(text) else { continue };
        if sections.iter().any(|s| s.enabled || by_id.contains(s.id.as_str())) {
            out.repofiles.insert(format!("repos/base/{name}"), enable(text, &by_id));
        }
    }
    // The recipe's repositories, one file per id for every platform.
    let mut ids: Vec<&str> = Vec::new();
    for r in variant.per_arch().flat_map(|v| v.repos.iter()) {
        if ids.contains(&r.id.as_str()) {
            continue;
        }
        ids.push(&r.id);
        if let RepoSource::File { url, content: None, .. } = &r.source {
            out.repo_urls.insert(url.clone());
            continue;
        }
        let texts: Vec<(&str, String)> = variant
            .per_arch()
            .filter_map(|v| {
                let x = v.repos.iter().find(|x| x.id == r.id)?;
                Some((v.arch.as_str(), crate::plan::repofile::text(x)?))
            })
            .collect();
        // A file that cannot be one for every platform is refused by the plan.
        if let Some(text) = crate::plan::repofile::for_every_arch(&texts) {
            out.repofiles.insert(crate::plan::repo_file("", &r.id).trim_start_matches('/').to_string(), text);
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

/// What aidc's helper scripts install with dnf besides the recipe's
/// packages (compiler/plan/scripts): a kmod's builder the kernel's `-devel`
/// and `-devel-matched` packages, `akmods`, `openssl` and the akmod of the
/// pinned version (aid-kmod-build.sh); the kernel signer `sbsigntools` and
/// `openssl` (aid-kernel-sign.sh, run when the variant signs a replaced kernel).
fn script_packages(variant: &model::Variant) -> Vec<String> {
    let mut out = Vec::new();
    let kernel = variant.kernel();
    let kname = kernel.and_then(|k| k.properties.get("package")).and_then(|p| p.as_str()).unwrap_or("kernel");
    for k in variant.kmods() {
        let text = |key: &str| k.properties.get(key).and_then(|p| p.as_str()).map(str::to_string);
        let module = text("module").unwrap_or_else(|| "kmod".to_string());
        let akmod = text("akmod").unwrap_or_else(|| format!("akmod-{module}"));
        out.push(format!("{kname}-devel"));
        out.push(format!("{kname}-devel-matched"));
        out.push("akmods".to_string());
        out.push("openssl".to_string());
        out.push(match text("version") {
            Some(v) if !v.is_empty() => format!("{akmod}-{v}"),
            _ => akmod,
        });
    }
    if kernel.is_some() && variant.signing.is_some() {
        out.push("sbsigntools".to_string());
        out.push("openssl".to_string());
    }
    out
}

/// `text` with `enabled=1` in the sections whose id is in `ids` (a
/// repository the recipe enables by id), so that rpm-lockfile-prototype,
/// which skips disabled repositories, resolves from it.
fn enable(text: &str, ids: &BTreeSet<&str>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut on = false;
    let mut said = false;
    let finish = |out: &mut String, on: bool, said: bool| {
        if on && !said {
            out.push_str("enabled=1\n");
        }
    };
    for line in text.lines() {
        let t = line.trim();
        if let Some(id) = t.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            finish(&mut out, on, said);
            on = ids.contains(id);
            said = false;
        } else if on && t.split_once('=').is_some_and(|(k, _)| k.trim() == "enabled") {
            out.push_str("enabled=1\n");
            said = true;
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    finish(&mut out, on, said);
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
    /// Hermeto's per-repository dnf options for the `hermeto.repo` it
    /// writes (hermetoproject/hermeto `docs/rpm.md`, "DNF repository
    /// configuration"; `rpm/main.py` `_generate_repofiles`).
    #[serde(skip_serializing_if = "Option::is_none")]
    options: Option<RpmOptions>,
}

/// `options` of an `rpm` input: `gpgcheck: "0"` for each repository whose
/// own file turns signature checks off. Hermeto's file sets `gpgcheck=1`
/// for every repository, so without it dnf would refuse the repository's
/// unsigned packages on Konflux, where a build that is not hermetic
/// installs them (plan/hermetic.rs, [`crate::plan::hermetic::Keys`]).
#[derive(Serialize)]
struct RpmOptions {
    dnf: BTreeMap<String, BTreeMap<&'static str, &'static str>>,
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
        let found = inputs(variant);
        let dir = layout.in_repo(&dir(&c.name));
        let mut input = Vec::new();
        if !found.packages.is_empty() || found.builder.is_some() {
            for (path, text) in &found.repofiles {
                let header = super::header(layout);
                files.insert(format!("{dir}/{path}"), format!("{header}{text}"));
            }
            let comment = "# rpm-lockfile-prototype's input: run `rpm-lockfile-prototype rpms.in.yaml` here and\n\
                           # commit its rpms.lock.yaml, which Konflux's prefetch reads (docs/konflux.md).\n";
            // The builder stages' lock first: Hermeto keeps the `options`
            // of the last `rpm` input only (`fetch_rpm_source`).
            if let Some((packages, image)) = &found.builder {
                // Paths relative to the input file's directory
                // (rpm-lockfile-prototype `content_origin/repofiles.py`, `config_dir`).
                let repofiles =
                    found.repofiles.keys().map(|p| format!("../{p}")).chain(found.repo_urls.iter().cloned()).collect();
                let doc = RpmsIn {
                    content_origin: ContentOrigin { repofiles },
                    packages: packages.iter().cloned().collect(),
                    arches: arches(&p.platforms),
                    context: Some(RpmContext { image: image.clone() }),
                };
                files.insert(
                    format!("{dir}/{BUILDER_DIR}/rpms.in.yaml"),
                    format!("{}{comment}{}", super::header(layout), yaml::document(&doc)),
                );
                input.push(PrefetchInput { kind: "rpm", path: format!("{dir}/{BUILDER_DIR}"), options: None });
            }
            let repofiles = found.repofiles.keys().cloned().chain(found.repo_urls.iter().cloned()).collect();
            let doc = RpmsIn {
                content_origin: ContentOrigin { repofiles },
                packages: found.packages.iter().cloned().collect(),
                arches: arches(&p.platforms),
                context: found.base.clone().map(|image| RpmContext { image }),
            };
            files.insert(
                format!("{dir}/rpms.in.yaml"),
                format!("{}{comment}{}", super::header(layout), yaml::document(&doc)),
            );
            let unchecked: BTreeSet<String> =
                variant.per_arch().flat_map(|v| crate::plan::hermetic::keys(v, p).0.unchecked).collect();
            let options = (!unchecked.is_empty()).then(|| RpmOptions {
                dnf: unchecked.into_iter().map(|id| (id, BTreeMap::from([("gpgcheck", "0")]))).collect(),
            });
            input.push(PrefetchInput { kind: "rpm", path: dir.clone(), options });
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
            input.push(PrefetchInput { kind: "generic", path: dir.clone(), options: None });
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
