//! The integration tests: for every component, an `IntegrationTestScenario`
//! (in `konflux/application.yaml`) and the Tekton `Pipeline` it runs,
//! `<recipe dir>/konflux/integration/<component>.yaml`, committed with the
//! recipe and resolved from the repository by Tekton's git resolver. The
//! pipeline checks the image Konflux built, from what the recipe says: bootc's
//! own lint, the kernel modules' signer against the certificate the recipe
//! ships, and the variant's policy against the image's SBOM. Why each check
//! and each image is what it is: docs/konflux.md, "Integration tests".
//!
//! Every value from the recipe reaches a script through an environment
//! variable (YAML-quoted by the serializer), never through the script text,
//! so a recipe cannot add a line to a script.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::{Component, RepoLayout, yaml};
use crate::model::{self, License, Model, StepKind};

/// The tool image of the steps that do not run in the built image: Konflux's
/// common task runner (jq, skopeo, cosign, openssl, select-oci-auth, retry;
/// konflux-ci/task-runner `Installed-Software.md`), the reference
/// konflux-ci/build-definitions@6904ca20 pins in its tasks.
pub const TASK_RUNNER: &str =
    "quay.io/konflux-ci/task-runner:3.1.2@sha256:e272c1e1c60a4ecc72ff9c8d65bc48da534de6f1ce0d5aba79db3ac532d11c35";

/// Where the pipeline of `component` is, relative to the recipe's directory.
pub fn pipeline_path(component: &str) -> String {
    format!("konflux/integration/{component}.yaml")
}

/// What the pipeline of one component checks, from the model.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Checks {
    /// The kmods' module names (their packages are `kmod-<module>`), when
    /// the variant builds kmods.
    pub modules: Vec<String>,
    /// Where the build installs the recipe's certificate, when the variant signs.
    pub cert: Option<String>,
    /// Package names the SBOM must not list: those the recipe's non-free
    /// components install, when the variant denies proprietary software.
    pub denied: Vec<String>,
}

/// Packages that a non-free component (or one using a non-free repository)
/// of any image in the model installs, sorted.
fn nonfree_packages(model: &Model) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for image in &model.images {
        for variant in &image.variants {
            for c in &variant.components {
                let nonfree = matches!(c.license, License::NonFree(_))
                    || c.repos
                        .iter()
                        .any(|r| variant.repos.get(*r).is_some_and(|r| matches!(r.license, License::NonFree(_))));
                if !nonfree {
                    continue;
                }
                for step in c.steps.iter() {
                    if let StepKind::Packages { names } = &step.kind {
                        out.extend(names.iter().filter_map(|n| rpm_name(n)));
                    }
                }
            }
        }
    }
    out
}

/// The package name an SBOM lists for a dnf package spec: `name-VERSION`
/// (a last `-` part that starts with a digit and has a `.`, as the stdlib
/// pins `nvidia-driver-580.95.05`) loses its version; `cuda-toolkit-13-0`
/// is a name. A glob names no one package: `None`.
fn rpm_name(spec: &str) -> Option<String> {
    if spec.contains(['*', '?', '[']) {
        return None;
    }
    match spec.rsplit_once('-') {
        Some((name, version))
            if !name.is_empty() && version.starts_with(|c: char| c.is_ascii_digit()) && version.contains('.') =>
        {
            Some(name.to_string())
        }
        _ => Some(spec.to_string()),
    }
}

/// The checks of every component, by component name.
pub fn checks(model: &Model, components: &[Component]) -> BTreeMap<String, Checks> {
    let nonfree = nonfree_packages(model);
    let mut out = BTreeMap::new();
    for c in components {
        let Some(image) = model.images.iter().find(|i| i.name == c.image) else { continue };
        let Some(variant) = image.variants.iter().find(|v| v.name == c.target) else { continue };
        let mut modules: Vec<String> = variant
            .kmods()
            .filter_map(|k| k.properties.get("module").and_then(|p| p.as_str()).map(str::to_string))
            .collect();
        modules.sort();
        modules.dedup();
        let cert = (variant.signing.is_some() && !modules.is_empty()).then(|| crate::plan::kmod_cert_path(&image.name));
        let denied = if variant.policy.proprietary == model::Rule::Deny {
            nonfree.iter().cloned().collect()
        } else {
            Vec::new()
        };
        out.insert(c.name.clone(), Checks { modules, cert, denied });
    }
    out
}

// ---- the IntegrationTestScenario (appstudio.redhat.com/v1beta2) ----

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Scenario {
    api_version: &'static str,
    kind: &'static str,
    metadata: ScenarioMetadata,
    spec: ScenarioSpec,
}

#[derive(Serialize)]
struct ScenarioMetadata {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ScenarioSpec {
    application: String,
    contexts: Vec<Context>,
    resolver_ref: ResolverRef,
}

#[derive(Serialize)]
struct Context {
    name: String,
    description: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResolverRef {
    params: Vec<NameValue>,
    resolver: &'static str,
    resource_kind: &'static str,
}

#[derive(Serialize)]
struct NameValue {
    name: &'static str,
    value: String,
}

/// The scenario of `c`: runs its pipeline, from the recipe's repository and
/// branch, on every Snapshot that `c`'s builds (push and pull request) make.
pub(super) fn scenario(p: &model::Pipeline, c: &Component, layout: &RepoLayout) -> Scenario {
    let nv = |name, value: String| NameValue { name, value };
    Scenario {
        api_version: "appstudio.redhat.com/v1beta2",
        kind: "IntegrationTestScenario",
        metadata: ScenarioMetadata { name: c.name.clone(), namespace: p.namespace.clone() },
        spec: ScenarioSpec {
            application: p.application.clone(),
            contexts: vec![Context {
                name: format!("component_{}", c.name),
                description: format!("Builds of {} only", c.name),
            }],
            resolver_ref: ResolverRef {
                params: vec![
                    nv("url", p.repository.clone().unwrap_or_default()),
                    nv("revision", p.branch.clone()),
                    nv("pathInRepo", layout.in_repo(&pipeline_path(&c.name))),
                ],
                resolver: "git",
                resource_kind: "pipeline",
            },
        },
    }
}

// ---- the Pipeline (tekton.dev/v1), fields in the order written ----

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Pipeline {
    api_version: &'static str,
    kind: &'static str,
    metadata: PipelineMetadata,
    spec: PipelineSpec,
}

#[derive(Serialize)]
struct PipelineMetadata {
    name: String,
}

#[derive(Serialize)]
struct PipelineSpec {
    description: String,
    params: Vec<ParamSpec>,
    tasks: Vec<Task>,
}

#[derive(Clone, Serialize)]
struct ParamSpec {
    name: &'static str,
    description: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Task {
    name: &'static str,
    params: Vec<Param>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    run_after: Vec<&'static str>,
    task_spec: TaskSpec,
}

#[derive(Serialize)]
struct Param {
    name: &'static str,
    value: &'static str,
}

#[derive(Serialize)]
struct TaskSpec {
    params: Vec<ParamSpec>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    results: Vec<ResultSpec>,
    steps: Vec<Step>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    volumes: Vec<Volume>,
}

#[derive(Serialize)]
struct ResultSpec {
    name: &'static str,
    description: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Step {
    name: &'static str,
    image: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    env: Vec<Env>,
    #[serde(skip_serializing_if = "Option::is_none")]
    security_context: Option<SecurityContext>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    volume_mounts: Vec<VolumeMount>,
    script: &'static str,
}

#[derive(Serialize)]
struct Env {
    name: &'static str,
    value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SecurityContext {
    run_as_user: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Volume {
    name: &'static str,
    empty_dir: BTreeMap<String, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VolumeMount {
    name: &'static str,
    mount_path: &'static str,
}

const SNAPSHOT: ParamSpec = ParamSpec {
    name: "SNAPSHOT",
    description: "The Snapshot under test (JSON), set by integration-service.",
    kind: "string",
};

const IMAGE: ParamSpec = ParamSpec { name: "IMAGE", description: "The image under test, by digest.", kind: "string" };

const IMAGE_OF_SNAPSHOT: &str = "$(tasks.image.results.IMAGE)";

/// The built image, from the Snapshot: its component's `containerImage`.
const FIND_IMAGE: &str = r#"#!/bin/bash
set -euo pipefail
image=$(jq -r --arg c "$COMPONENT" '.components[] | select(.name == $c) | .containerImage' <<<"$SNAPSHOT")
if [ -z "$image" ] || [ "$image" = null ]; then
  echo "the Snapshot has no component $COMPONENT" >&2
  exit 1
fi
echo "testing $image"
printf '%s' "$image" >"$(results.IMAGE.path)"
"#;

/// bootc's own checks of the image's filesystem, run inside the image.
const LINT: &str = r#"#!/bin/sh
set -eu
bootc container lint
"#;

/// Inside the image: the certificate the build installed, and the signer
/// and key of every module of the kmod packages.
const READ_MODULES: &str = r#"#!/bin/sh
set -eu
cp "$CERT" /var/aid/cert.der
: >/var/aid/modules.tsv
for m in $MODULES; do
  rpm -ql "kmod-$m" | grep -E '\.ko(\.xz|\.zst|\.gz)?$' >/var/aid/files || {
    echo "kmod-$m ships no kernel module" >&2
    exit 1
  }
  while read -r ko; do
    printf '%s\t%s\t%s\n' "$ko" "$(modinfo -F signer "$ko")" "$(modinfo -F sig_key "$ko")" >>/var/aid/modules.tsv
  done </var/aid/files
done
cat /var/aid/modules.tsv
"#;

/// With the task runner's openssl and skopeo: push builds (label `signed`)
/// must be signed by the certificate's key (a module's signer and key id are
/// the certificate's issuer CN and serial number), pull-request builds
/// (label `unsigned`, no key) must not be signed at all.
const COMPARE_SIGNER: &str = r#"#!/bin/bash
set -euo pipefail
mkdir -p /tmp/auth
select-oci-auth "$IMAGE" >/tmp/auth/config.json
export DOCKER_CONFIG=/tmp/auth
signing=$(retry skopeo inspect --no-tags "docker://$IMAGE" | jq -r --arg l "$LABEL" '.Labels[$l] // ""')
hex() { tr -d ':' | tr 'a-f' 'A-F' | sed 's/^0*//'; }
cn=$(openssl x509 -inform DER -in /var/aid/cert.der -noout -issuer -nameopt sep_multiline,utf8 | sed -n 's/^ *CN=//p')
serial=$(openssl x509 -inform DER -in /var/aid/cert.der -noout -serial | cut -d= -f2 | hex)
echo "$LABEL=$signing; certificate: CN=$cn serial $serial"
failed=0
while IFS="$(printf '\t')" read -r ko signer key; do
  key=$(printf '%s' "$key" | hex)
  case "$signing" in
    signed)
      if [ "$signer" != "$cn" ] || [ "$key" != "$serial" ]; then
        echo "FAIL $ko: signed by '$signer' key $key, not by the recipe's certificate" >&2
        failed=1
      else
        echo "ok $ko"
      fi
      ;;
    unsigned)
      if [ -n "$signer$key" ]; then
        echo "FAIL $ko: an unsigned build has a signed module ('$signer')" >&2
        failed=1
      else
        echo "ok $ko (unsigned build)"
      fi
      ;;
    *)
      echo "FAIL: the image's $LABEL label is '$signing'" >&2
      exit 1
      ;;
  esac
done </var/aid/modules.tsv
exit "$failed"
"#;

/// The SBOM Konflux attached to the image (per platform of an index), as
/// build-definitions' show-sbom task downloads it, against the packages the
/// variant's policy denies.
const SBOM_POLICY: &str = r#"#!/bin/bash
set -euo pipefail
mkdir -p /tmp/auth
select-oci-auth "$IMAGE" >/tmp/auth/config.json
export DOCKER_CONFIG=/tmp/auth
repo=${IMAGE%@*}
raw=$(retry skopeo inspect --no-tags --raw "docker://$IMAGE")
if [ "$(jq 'has("manifests")' <<<"$raw")" = true ]; then
  refs=$(jq -r --arg r "$repo" '.manifests[] | "\($r)@\(.digest)"' <<<"$raw")
else
  refs=$IMAGE
fi
failed=0
for ref in $refs; do
  retry cosign download sbom "$ref" >/tmp/sbom.json
  jq -r '(.packages // [])[].name, (.components // [])[].name' /tmp/sbom.json | sort -u >/tmp/listed
  printf '%s\n' "$DENIED" | sed '/^$/d' | sort -u >/tmp/denied
  found=$(comm -12 /tmp/listed /tmp/denied)
  if [ -n "$found" ]; then
    echo "FAIL $ref: the SBOM lists packages the policy denies:" >&2
    echo "$found" >&2
    failed=1
  else
    echo "ok $ref: $(wc -l </tmp/listed) packages, none denied"
  fi
done
exit "$failed"
"#;

fn step(name: &'static str, image: &'static str, env: Vec<Env>, script: &'static str) -> Step {
    Step { name, image, env, security_context: None, volume_mounts: Vec::new(), script }
}

fn env(name: &'static str, value: impl Into<String>) -> Env {
    Env { name, value: value.into() }
}

/// A task on the image found in the Snapshot.
fn on_image(name: &'static str, steps: Vec<Step>, volumes: Vec<Volume>) -> Task {
    Task {
        name,
        params: vec![Param { name: "IMAGE", value: IMAGE_OF_SNAPSHOT }],
        run_after: vec!["image"],
        task_spec: TaskSpec { params: vec![IMAGE], results: Vec::new(), steps, volumes },
    }
}

/// `<recipe dir>/konflux/integration/<component>.yaml`.
pub(super) fn pipeline_file(c: &Component, checks: &Checks) -> String {
    let mut tasks = vec![Task {
        name: "image",
        params: vec![Param { name: "SNAPSHOT", value: "$(params.SNAPSHOT)" }],
        run_after: Vec::new(),
        task_spec: TaskSpec {
            params: vec![SNAPSHOT],
            results: vec![ResultSpec { name: "IMAGE", description: "The component's image in the Snapshot." }],
            steps: vec![step(
                "find-image",
                TASK_RUNNER,
                vec![env("SNAPSHOT", "$(params.SNAPSHOT)"), env("COMPONENT", c.name.clone())],
                FIND_IMAGE,
            )],
            volumes: Vec::new(),
        },
    }];

    let mut lint = step("lint", "$(params.IMAGE)", Vec::new(), LINT);
    // bootc reads the whole filesystem, root-only files included.
    lint.security_context = Some(SecurityContext { run_as_user: 0 });
    tasks.push(on_image("bootc-lint", vec![lint], Vec::new()));

    let mut checked = vec!["bootc container lint"];
    if let (Some(cert), false) = (&checks.cert, checks.modules.is_empty()) {
        let mount = || vec![VolumeMount { name: "aid", mount_path: "/var/aid" }];
        let mut read = step(
            "read-modules",
            "$(params.IMAGE)",
            vec![env("CERT", cert.clone()), env("MODULES", checks.modules.join(" "))],
            READ_MODULES,
        );
        read.security_context = Some(SecurityContext { run_as_user: 0 });
        read.volume_mounts = mount();
        let mut compare = step(
            "compare",
            TASK_RUNNER,
            vec![env("IMAGE", "$(params.IMAGE)"), env("LABEL", crate::plan::SIGNING_LABEL)],
            COMPARE_SIGNER,
        );
        compare.volume_mounts = mount();
        tasks.push(on_image(
            "module-signer",
            vec![read, compare],
            vec![Volume { name: "aid", empty_dir: BTreeMap::new() }],
        ));
        checked.push("the kernel modules' signer against the recipe's certificate");
    }
    if !checks.denied.is_empty() {
        let mut denied = checks.denied.join("\n");
        denied.push('\n');
        tasks.push(on_image(
            "sbom-policy",
            vec![step("sbom", TASK_RUNNER, vec![env("IMAGE", "$(params.IMAGE)"), env("DENIED", denied)], SBOM_POLICY)],
            Vec::new(),
        ));
        checked.push("the SBOM against the variant's policy (no proprietary packages)");
    }

    yaml::document(&Pipeline {
        api_version: "tekton.dev/v1",
        kind: "Pipeline",
        metadata: PipelineMetadata { name: c.name.clone() },
        spec: PipelineSpec {
            description: format!("Checks the image of {}: {}.", c.name, checked.join("; ")),
            params: vec![SNAPSHOT],
            tasks,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_specs_give_the_names_an_sbom_lists() {
        assert_eq!(rpm_name("nvidia-driver-580.95.05").as_deref(), Some("nvidia-driver"));
        assert_eq!(rpm_name("cuda-toolkit-13-0").as_deref(), Some("cuda-toolkit-13-0"));
        assert_eq!(rpm_name("nvidia-container-toolkit").as_deref(), Some("nvidia-container-toolkit"));
        assert_eq!(rpm_name("cuda-*"), None);
    }
}
