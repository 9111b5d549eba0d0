//! What a hermetic build cannot do: a step that fetches over the network at
//! build time, other than the downloads Konflux prefetches (`fetch`, listed
//! in `artifacts.lock.yaml`). A repository file or a Flatpak remote named
//! by URL without its text (`file`) is downloaded by the `RUN` that uses
//! it, and the buildah task runs a hermetic build with `--network=none`
//! (docs/konflux.md, "Hermetic builds"), so it would fail there: it is an
//! error at compile time instead.
//!
//! And what its prefetch cannot list: Konflux resolves a hermetic build's
//! packages (rpm-lockfile-prototype's `rpms.in.yaml`, konflux/hermetic.rs)
//! from the base's repository files (the base's `repofiles`) and the
//! recipe's, and only the repositories of that lock exist in the build. A
//! repository enabled by id that no repository file of the base defines,
//! a Fedora base without `repofiles`, and a repository whose file differs
//! between the platforms other than by the architecture's name (one id
//! cannot stand for both in one resolution) are `aid::plan::hermetic_repo`.

use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::model::{self, RepoSource, Variant};

/// `aid::plan::hermetic_fetch` for each repository of `variant` (every
/// architecture's) that would be downloaded at build time.
pub fn check(variant: &Variant, diagnostics: &mut Diagnostics) {
    for r in variant.per_arch().flat_map(|v| v.repos.iter()) {
        let (url, what) = match &r.source {
            RepoSource::File { url, content: None, .. } => (url, "repository file"),
            RepoSource::Flatpak { url, content: None, .. } => (url, "Flatpak remote"),
            _ => continue,
        };
        diagnostics.push(
            Diagnostic::error(
                Code::HermeticFetch,
                format!("the {what} of `{}` would be downloaded at build time, which a hermetic build cannot", r.name),
            )
            .label(r.span, format!("{what} fetched from {url}"))
            .label(r.def_span, "named by URL without its text")
            .help("give the file's text as `file = \"\"\"...\"\"\"` (aidc writes it and hashes it; keep `url` to say where it came from), or build without `hermetic = true`"),
        );
    }
}

/// The repository files of the base a variant is built from (`repofiles`
/// of a `base` definition), by file name; `None` when it is not a `base`
/// (an image reference, another image of the project).
pub fn base_repofiles(variant: &Variant) -> Option<Vec<(&str, &str)>> {
    let model::From::Base { component, .. } = &variant.from else { return None };
    let base = variant.components.get(*component)?;
    Some(match base.properties.get("repofiles") {
        Some(model::Property::Map(files)) => {
            files.iter().filter_map(|(name, text)| Some((name.as_str(), text.as_str()?))).collect()
        }
        _ => Vec::new(),
    })
}

/// `aid::plan::hermetic_repo` for each repository of `variant` that the
/// prefetch of a hermetic build cannot list.
pub fn check_repos(variant: &Variant, diagnostics: &mut Diagnostics) {
    if let (Some(files), model::From::Base { component, .. }) = (base_repofiles(variant), &variant.from) {
        let installs = variant.per_arch().flat_map(|v| v.components.iter()).any(|c| {
            c.kind != model::ComponentKind::Base
                && (matches!(c.kind, model::ComponentKind::Kernel | model::ComponentKind::Kmod)
                    || c.steps.iter().any(|s| matches!(s.kind, model::StepKind::Packages { .. })))
        });
        let base = &variant.components[*component];
        if files.is_empty() && installs {
            let mut d = Diagnostic::error(
                Code::HermeticRepo,
                format!("the base `{}` names no repository files, so a hermetic build cannot resolve its packages", base.name),
            )
            .label(base.span, "this base has no `repofiles`")
            .help("give the base a `repofiles` map (file name = the text of each `.repo` file it ships in /etc/yum.repos.d), as std/fedora's bases do");
            if let Some(def) = base.def_span {
                d = d.label(def, "defined here");
            }
            diagnostics.push(d);
        }
        let defined: Vec<String> = files
            .iter()
            .filter_map(|(_, text)| crate::validate::repo_file(text).ok())
            .flatten()
            .map(|s| s.id)
            .collect();
        let mut seen: Vec<&str> = Vec::new();
        for r in variant.per_arch().flat_map(|v| v.repos.iter()) {
            if matches!(r.source, RepoSource::Existing)
                && !files.is_empty()
                && !defined.contains(&r.id)
                && !seen.contains(&r.id.as_str())
            {
                seen.push(&r.id);
                diagnostics.push(
                    Diagnostic::error(
                        Code::HermeticRepo,
                        format!("the repository `{}` is enabled by id, but no repository file of the base `{}` defines it", r.id, base.name),
                    )
                    .label(r.span, "enabled by id here")
                    .label(r.def_span, "a repository the base is expected to have")
                    .help(format!("a hermetic build has only the repositories its prefetch resolved from the base's repository files ({}) and the recipe's; give this repository its `baseurl` or `file`, or fix the id", files.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "))),
                );
            }
        }
    }
    // One id for every platform: the same file, or the same once each
    // names its own architecture as `$basearch`.
    let mut seen: Vec<&str> = Vec::new();
    for r in &variant.repos {
        if seen.contains(&r.id.as_str()) {
            continue;
        }
        seen.push(&r.id);
        let texts: Vec<(&str, String)> = variant
            .per_arch()
            .filter_map(|v| {
                v.repos.iter().find(|x| x.id == r.id).and_then(|x| Some((v.arch.as_str(), super::repofile::text(x)?)))
            })
            .collect();
        if texts.len() > 1 && super::repofile::for_every_arch(&texts).is_none() {
            diagnostics.push(
                Diagnostic::error(
                    Code::HermeticRepo,
                    format!("the repository `{}` has a different file on each platform, under one id", r.id),
                )
                .label(r.span, "used here")
                .label(r.def_span, "defined here")
                .help("a hermetic build resolves every platform's packages from one set of repository files: give each architecture's repository its own id (as std/cuda does), or make the file differ only by the architecture's name"),
            );
        }
    }
}
