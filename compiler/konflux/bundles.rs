//! The Tekton bundles the generated PipelineRuns pin. The committed
//! `.tekton/` files are the lock: a reference found there (MintMaker, Konflux's
//! Renovate, updates them) is kept, and the table below fills only what is
//! missing there or older in minor version ([`choose`]). Updating aidc's own
//! table is one edit here (and `UPDATE_EXPECT=1 cargo test konflux` for the
//! golden files). aidc never fetches anything; the CLI reads the committed
//! files and hands their text in ([`Locked::from_files`]).
//!
//! Refreshed from the newest pipeline definitions that could be read for it:
//! the `docker-build-oci-ta` and `docker-build-multi-platform-oci-ta`
//! pipelines of konflux-ci/container-build-catalog, where the build tasks and
//! pipelines moved from konflux-ci/build-definitions (whose newest snapshot
//! here, `6904ca204e66889a2dc35ad7d860d56632fd17be` of 2026-08-20, was the
//! previous source: it only points to container-build-catalog for these
//! tasks). The references are those the catalog's pipelines pin at commit
//! `1cd52ca3774a77ad34a8bf7eda7b6b3560e43fd4` (single-platform) and
//! `16d92d2b47498b9a271d27cbe99d2703f6c8352d` (multi-platform), as recorded
//! in `../shared/tools/konflux-check/pipelines.json`
//! (`bundles_container_build_catalog_index`, extracted 2026-11-22: the date
//! below; the commits' own dates are not in that data). Two exceptions, kept
//! from build-definitions@6904ca20 because no source available here describes
//! the newer choice: `build-image-index` stays at 0.3.1 (the catalog pins 0.4,
//! which neither its CHANGELOG nor the checker's `tasks.json` covers; a bot's
//! update to 0.4 is kept by the lock), and `clair-scan` stays (the catalog
//! replaced it by `roxctl-scan`, a change of the pipeline, not of a bundle).
//! Minor versions that changed: buildah-oci-ta and buildah-remote-oci-ta
//! 0.10 -> 0.12 (0.11 removed the `push` and `sbom-syft-generate` steps; the
//! params aidc passes are unchanged, container-build-catalog
//! `task/buildah-oci-ta/CHANGELOG.md`).

use std::collections::BTreeMap;

/// The date the references were taken.
pub const TAKEN: &str = "2026-11-22";

/// Where they were taken from.
pub const SOURCE: &str = "konflux-ci/container-build-catalog@1cd52ca3774a77ad34a8bf7eda7b6b3560e43fd4";

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
        reference: "quay.io/konflux-ci/tekton-catalog/task-init:0.4.3@sha256:7854d7babe4136e53e337f6433d952532314433b48bb62b422ddc02700934d85",
    },
    Bundle {
        task: "git-clone-oci-ta",
        reference: "quay.io/konflux-ci/tekton-catalog/task-git-clone-oci-ta:0.2.6@sha256:a3678910c2bf9187a66a96066193cb41046fbb7097160bf2be6a374ed5e49d30",
    },
    Bundle {
        task: "prefetch-dependencies-oci-ta",
        reference: "quay.io/konflux-ci/tekton-catalog/task-prefetch-dependencies-oci-ta:0.10.3@sha256:0c386f2c26b46b978280c5c54caac26bcd524975f8f7cc06bb080ba00eae3ad4",
    },
    Bundle {
        task: "buildah-oci-ta",
        reference: "quay.io/konflux-ci/tekton-catalog/task-buildah-oci-ta:0.12.2@sha256:e1bbe61a3a4bc543be9b5f6fc4174acaa2dd08fb5f7fe4d9db9f3193a7e1b03c",
    },
    Bundle {
        task: "buildah-remote-oci-ta",
        reference: "quay.io/konflux-ci/tekton-catalog/task-buildah-remote-oci-ta:0.12.3@sha256:88b971c800b3e71903ddad83da884d092e9beda8b51deaf980f6525e45ed043f",
    },
    Bundle {
        task: "build-image-index",
        reference: "quay.io/konflux-ci/tekton-catalog/task-build-image-index:0.3.1@sha256:cc75f64deecccb1b59e96ac1182665a5342d79c9e22eebff63d26b0f00a4319c",
    },
    Bundle {
        task: "source-build-oci-ta",
        reference: "quay.io/konflux-ci/tekton-catalog/task-source-build-oci-ta:0.3.2@sha256:45091b5022754d452b4de60c7d7f4c6e03626efff55f96e9af937400fe3506eb",
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
        reference: "quay.io/konflux-ci/tekton-catalog/task-ecosystem-cert-preflight-checks:0.2@sha256:fa53ef450ba538addafee1211ff6ac15b55865ce652fec15ac99b554680cb642",
    },
    Bundle {
        task: "sast-snyk-check-oci-ta",
        reference: "quay.io/konflux-ci/tekton-catalog/task-sast-snyk-check-oci-ta:0.5@sha256:17b9587eba53fabaab35061275306bfe1f99661d55e14e22f62321fa7cb5ff3e",
    },
    Bundle {
        task: "clamav-scan",
        reference: "quay.io/konflux-ci/tekton-catalog/task-clamav-scan:0.3.4@sha256:3203cd3bde82d9e4d1beb5f1366942346800cff89e392c920733eb0ea78d731b",
    },
    Bundle {
        task: "sast-shell-check-oci-ta",
        reference: "quay.io/konflux-ci/tekton-catalog/task-sast-shell-check-oci-ta:0.1@sha256:d00c884c78489a52dc638e6ced0a01429670d0754f5b1305ad576709cf660312",
    },
    Bundle {
        task: "sast-unicode-check-oci-ta",
        reference: "quay.io/konflux-ci/tekton-catalog/task-sast-unicode-check-oci-ta:0.4@sha256:15d654c9576b9c4ee1f78b09fce541acf9afe33f1c2363fd6219a79dbf62c95d",
    },
    Bundle {
        task: "apply-tags",
        reference: "quay.io/konflux-ci/tekton-catalog/task-apply-tags:0.3.1@sha256:c177fc2b2482b1299e713c51bf258eba4972c016ef260d9f45335c2550dc7b2b",
    },
    Bundle {
        task: "push-dockerfile-oci-ta",
        reference: "quay.io/konflux-ci/tekton-catalog/task-push-dockerfile-oci-ta:0.3.1@sha256:4c567d11296850230fe32e76d129834d3bf337a0cae9989b64279b7cfaa4e735",
    },
    Bundle {
        task: "rpms-signature-scan",
        reference: "quay.io/konflux-ci/tekton-catalog/task-rpms-signature-scan:0.2.2@sha256:4b1856e41d087e53af26562fb16a490579777d9ff05af33011ce212d477c7cd5",
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
    /// one unless aidc's is newer in minor version (or there is none). A
    /// committed reference counts only from the repository aidc's own comes
    /// from (`quay.io/konflux-ci/tekton-catalog/task-<task>`): a pull request
    /// that points a bundle at another registry (`evil.example/task-buildah-oci-ta:0.99@…`)
    /// is overwritten by a compile and flagged by `--check`, however new its version.
    pub fn bundle(&self, file: &str, task: &str) -> String {
        let own = bundle(task);
        match self.files.get(file).and_then(|refs| refs.get(task)) {
            Some(committed) if repository_of(committed) == repository_of(own) => choose(committed, own).to_string(),
            _ => own.to_string(),
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

/// A reference's repository: everything before the tag.
fn repository_of(reference: &str) -> &str {
    let name = reference.split('@').next().unwrap_or(reference);
    name.rsplit_once(':').map_or(name, |(repo, _)| repo)
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
    fn a_committed_reference_from_another_repository_is_replaced() {
        for other in [
            format!("evil.example.com/attacker/task-init:0.99@sha256:{D}"),
            format!("quay.io/konflux-ci/tekton-catalog-fork/task-init:0.99@sha256:{D}"),
            format!("quay.io/konflux-ci/tekton-catalog/task-git-clone-oci-ta:0.99@sha256:{D}"),
        ] {
            let files = BTreeMap::from([(".tekton/a.yaml".to_string(), format!("    value: {other}\n"))]);
            assert_eq!(Locked::from_files(&files).bundle(".tekton/a.yaml", "init"), bundle("init"), "{other}");
        }
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
