//! The Tekton bundles the generated PipelineRuns pin, in one table: updating
//! Konflux's tasks is one edit here (and `UPDATE_EXPECT=1 cargo test konflux`
//! for the golden files). aidc never fetches anything.
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
