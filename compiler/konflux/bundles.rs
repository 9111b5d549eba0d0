//! The Tekton bundles the generated PipelineRuns pin. The committed
//! `.tekton/` files are the lock: a reference found there (MintMaker, Konflux's
//! Renovate, updates them) is kept, and the table below fills only what is
//! missing there or older in minor version ([`choose`]). Updating aidc's own
//! table is one edit here (and `UPDATE_EXPECT=1 cargo test konflux` for the
//! golden files). aidc never fetches anything; the CLI reads the committed
//! files and hands their text in ([`Locked::from_files`]).
//!
//! Taken from the `docker-build-oci-ta` and `docker-build-multi-platform-oci-ta`
//! pipelines of konflux-ci/build-definitions at commit
//! `6904ca204e66889a2dc35ad7d860d56632fd17be` (2026-08-20): the bundle each
//! `{name, version}` placeholder of those pipelines resolves to when
//! build-definitions' CI (`hack/build-and-push.sh`) publishes the pipeline
//! bundle, i.e. what Konflux onboarding would have written that day.
//! `ecosystem-cert-preflight-checks` has no pointer file there; its bundle is
//! the one konflux-ci/container-build-catalog pins (fork
//! chmeliik/build-pipeline-tasks @ `af6569ef08ea22a3e8c570e4f2e981b14e9527ee`,
//! 2026-08-21). The machine-readable copy of both sources is
//! `../shared/tools/konflux-check/pipelines.json`.

use std::collections::BTreeMap;

/// The date the references were taken.
pub const TAKEN: &str = "2026-08-20";

/// Where they were taken from.
pub const SOURCE: &str = "konflux-ci/build-definitions@6904ca204e66889a2dc35ad7d860d56632fd17be";

/// One task bundle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bundle {
    /// The task's name (`buildah-oci-ta`), as the bundles resolver's `name`.
    pub task: &'static str,
    /// `quay.io/konflux-ci/tekton-catalog/task-<task>:<version>@sha256:<digest>`.
    pub reference: &'static str,
}

/// Every task the generated pipelines use, by task name.
pub const BUNDLES: &[Bundle] = &[
    Bundle {
        task: "init",
        reference: "quay.io/konflux-ci/tekton-catalog/task-init:0.4.2@sha256:421003a5c077ecb820460e71637125ec9093d2101c749a32ede28e190283e9db",
    },
    Bundle {
        task: "git-clone-oci-ta",
        reference: "quay.io/konflux-ci/tekton-catalog/task-git-clone-oci-ta:0.2.4@sha256:df3c42d78223f07b40a84dd29e5c8860d14777ffdf150ea08c738770f51216dc",
    },
    Bundle {
        task: "prefetch-dependencies-oci-ta",
        reference: "quay.io/konflux-ci/tekton-catalog/task-prefetch-dependencies-oci-ta:0.10.1@sha256:c09c1c3ced67fb8740b2925a7de09c0810d4e8c8f148d41c21ffe37810d85c62",
    },
    Bundle {
        task: "buildah-oci-ta",
        reference: "quay.io/konflux-ci/tekton-catalog/task-buildah-oci-ta:0.10.5@sha256:5fcf620537b0dece56a9c9a8090ce7592a874da92cc2a5d398abdc2382eb8a3c",
    },
    Bundle {
        task: "buildah-remote-oci-ta",
        reference: "quay.io/konflux-ci/tekton-catalog/task-buildah-remote-oci-ta:0.10.5@sha256:eb277ec7b44443f0506a60ac940a2e52178d60f17cb0f51a6966daed5b3755de",
    },
    Bundle {
        task: "build-image-index",
        reference: "quay.io/konflux-ci/tekton-catalog/task-build-image-index:0.3.1@sha256:cc75f64deecccb1b59e96ac1182665a5342d79c9e22eebff63d26b0f00a4319c",
    },
    Bundle {
        task: "source-build-oci-ta",
        reference: "quay.io/konflux-ci/tekton-catalog/task-source-build-oci-ta:0.3@sha256:7c5575ac8e292f27f57716c021ab0324460dc958e73946724c588c5228e5f372",
    },
    Bundle {
        task: "deprecated-image-check",
        reference: "quay.io/konflux-ci/tekton-catalog/task-deprecated-image-check:0.5@sha256:0ccc688a77e9b7b0b8973c132a1e840844137e77f887be4a0bec8893b0776872",
    },
    Bundle {
        task: "clair-scan",
        reference: "quay.io/konflux-ci/tekton-catalog/task-clair-scan:0.3@sha256:f5b4415db9ac1fba3e11d993a617e0b275d1f0ed2fc669b12c400ed848c39174",
    },
    Bundle {
        task: "ecosystem-cert-preflight-checks",
        reference: "quay.io/konflux-ci/tekton-catalog/task-ecosystem-cert-preflight-checks:0.2@sha256:4619769705d4999e129b779d7699d89d33c47f7ab80d73ad6e3dcd8a6a4e43a7",
    },
    Bundle {
        task: "sast-snyk-check-oci-ta",
        reference: "quay.io/konflux-ci/tekton-catalog/task-sast-snyk-check-oci-ta:0.5@sha256:eba24f5d9f4b18aa71e523b9b3dbcf22982aa4b018824260a090b19dfc9abf6f",
    },
    Bundle {
        task: "clamav-scan",
        reference: "quay.io/konflux-ci/tekton-catalog/task-clamav-scan:0.3@sha256:53a02326bfb930ca5ef6bfa7a33acca833d57752f34f3cb79255fe2e25e7d217",
    },
    Bundle {
        task: "sast-shell-check-oci-ta",
        reference: "quay.io/konflux-ci/tekton-catalog/task-sast-shell-check-oci-ta:0.1@sha256:61b27e6ad5daba761d41bb37efb790ed98380603fd4fe2f86d156def5bd72ecc",
    },
    Bundle {
        task: "sast-unicode-check-oci-ta",
        reference: "quay.io/konflux-ci/tekton-catalog/task-sast-unicode-check-oci-ta:0.4@sha256:eb9d5392f215cb8b52b16382098cac4885b1e6cd989f88ebd83fdb234d283eb9",
    },
    Bundle {
        task: "apply-tags",
        reference: "quay.io/konflux-ci/tekton-catalog/task-apply-tags:0.3@sha256:3ab844157eccd68e95e4852adc06c3c4ea674edb7865a474b0a898227f2893d6",
    },
    Bundle {
        task: "push-dockerfile-oci-ta",
        reference: "quay.io/konflux-ci/tekton-catalog/task-push-dockerfile-oci-ta:0.3.1@sha256:5a6cbebd89e5bc163b38231859767f7f6a0dd66cf1333699574379f062731183",
    },
    Bundle {
        task: "rpms-signature-scan",
        reference: "quay.io/konflux-ci/tekton-catalog/task-rpms-signature-scan:0.2@sha256:cc5133504ff03909ae970db81a986cb25a5532b2faf62a8ede5c60f28b716f54",
    },
];

/// The bundle references of committed PipelineRuns: file (relative to the
/// repository root) -> task -> reference.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Locked {
    pub files: BTreeMap<String, BTreeMap<String, String>>,
}

impl Locked {
    /// The references in the text of committed files (path -> text). A
    /// reference is a line `value: <registry path>/task-<task>:<version>@sha256:<64 hex>`
    /// (the bundles resolver's `bundle` param, as aidc and MintMaker write
    /// it); anything else is ignored, so a hostile file can only choose among
    /// well-formed references, never add text to the output.
    pub fn from_files(files: &BTreeMap<String, String>) -> Locked {
        let mut out = Locked::default();
        for (path, text) in files {
            let mut refs = BTreeMap::new();
            for line in text.lines() {
                let Some(value) = line.trim().strip_prefix("value: ") else { continue };
                if let Some(task) = task_of(value) {
                    refs.entry(task.to_string()).or_insert_with(|| value.to_string());
                }
            }
            if !refs.is_empty() {
                out.files.insert(path.clone(), refs);
            }
        }
        out
    }

    /// The reference for `task` in the PipelineRun `file`: the committed
    /// one unless aidc's is newer in minor version (or there is none).
    pub fn bundle(&self, file: &str, task: &str) -> String {
        let own = bundle(task);
        match self.files.get(file).and_then(|refs| refs.get(task)) {
            Some(committed) => choose(committed, own).to_string(),
            None => own.to_string(),
        }
    }
}

/// The task a bundle reference is for, when it is a well-formed, pinned
/// reference: `<host>/<path>/task-<task>:<version>@sha256:<64 lowercase hex>`,
/// every character from a safe set (no quoting needed in YAML).
pub fn task_of(reference: &str) -> Option<&str> {
    let (name, digest) = reference.split_once("@sha256:")?;
    if digest.len() != 64 || !digest.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)) {
        return None;
    }
    let (repo, version) = name.rsplit_once(':')?;
    let safe = |s: &str, extra: &str| {
        !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || extra.contains(c))
    };
    if !safe(repo, "./-_") || !safe(version, ".-") || !version.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let task = repo.rsplit('/').next()?.strip_prefix("task-")?;
    if task.is_empty() || !repo.contains('/') { None } else { Some(task) }
}

/// `0.10.5` -> `[0, 10, 5]` (a suffix after `-` ignored; non-numbers as 0).
fn version_of(reference: &str) -> Vec<u64> {
    let name = reference.split('@').next().unwrap_or(reference);
    let version = name.rsplit_once(':').map_or("", |(_, v)| v);
    let version = version.split('-').next().unwrap_or(version);
    version.split('.').map(|p| p.parse().unwrap_or(0)).collect()
}

/// The committed reference, unless aidc's own is newer in minor version
/// (`0.4` over a committed `0.3.x`): a bot's patch or digest update of the
/// same minor, or a newer minor it migrated to, stays.
pub fn choose<'a>(committed: &'a str, own: &'a str) -> &'a str {
    let minor = |v: &[u64]| (v.first().copied().unwrap_or(0), v.get(1).copied().unwrap_or(0));
    if minor(&version_of(own)) > minor(&version_of(committed)) { own } else { committed }
}

/// The bundle reference of `task`. Panics on a task missing from the table:
/// the pipelines only name tasks listed above (a unit test checks it).
pub fn bundle(task: &str) -> &'static str {
    match BUNDLES.iter().find(|b| b.task == task) {
        Some(b) => b.reference,
        None => panic!("no bundle for Konflux task `{task}` in compiler/konflux/bundles.rs"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn committed_references_win_unless_older_in_minor() {
        let own = bundle("init");
        let bot = format!("quay.io/konflux-ci/tekton-catalog/task-init:0.4.9@sha256:{D}");
        assert_eq!(choose(&bot, own), bot);
        let newer_minor = format!("quay.io/konflux-ci/tekton-catalog/task-init:0.5@sha256:{D}");
        assert_eq!(choose(&newer_minor, own), newer_minor);
        let older_minor = format!("quay.io/konflux-ci/tekton-catalog/task-init:0.3.1@sha256:{D}");
        assert_eq!(choose(&older_minor, own), own);
    }

    #[test]
    fn only_well_formed_references_are_read() {
        let good = format!("quay.io/konflux-ci/tekton-catalog/task-init:0.4.9@sha256:{D}");
        assert_eq!(task_of(&good), Some("init"));
        for bad in [
            format!("quay.io/x/task-init:0.4@sha256:{}", &D[1..]),
            format!("quay.io/x/task-init:0.4@sha256:{}", D.to_uppercase()),
            format!("quay.io/x/task-init:0.4 #@sha256:{D}"),
            format!("quay.io/x/init:0.4@sha256:{D}"),
            format!("quay.io/x/task-init@sha256:{D}"),
            format!("'quay.io/x/task-init:0.4@sha256:{D}'"),
        ] {
            assert_eq!(task_of(&bad), None, "{bad}");
        }
        let files = BTreeMap::from([(".tekton/a.yaml".to_string(), format!("  - name: bundle\n    value: {good}\n"))]);
        let locked = Locked::from_files(&files);
        assert_eq!(locked.bundle(".tekton/a.yaml", "init"), good);
        assert_eq!(locked.bundle(".tekton/b.yaml", "init"), bundle("init"));
    }

    #[test]
    fn every_reference_is_pinned_and_names_its_task() {
        for b in BUNDLES {
            let (repo, digest) = b.reference.split_once("@sha256:").expect("pinned by digest");
            assert_eq!(digest.len(), 64, "{}", b.reference);
            assert!(digest.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()), "{}", b.reference);
            let (name, tag) = repo.rsplit_once(':').expect("tagged");
            assert_eq!(name, format!("quay.io/konflux-ci/tekton-catalog/task-{}", b.task));
            assert!(tag.starts_with("0."), "{}", b.reference);
        }
        let mut names: Vec<_> = BUNDLES.iter().map(|b| b.task).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), BUNDLES.len(), "a task is listed twice");
    }
}
