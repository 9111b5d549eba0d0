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
//! cannot stand for both in one resolution) are `aid::plan::hermetic_repo`;
//! a base that is an image reference or another image of the project, whose
//! repository files aidc does not know, is `aid::plan::hermetic_base_repos`
//! (a warning). And the signing keys each dnf step imports on Konflux
//! ([`Keys`]), `aid::plan::hermetic_key` when one is missing.

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

/// `aid::plan::hermetic_base_repos` (a warning) when `variant` installs
/// packages on a base that is not a `base` definition (an image reference,
/// another image of the project): aidc does not know the repository files
/// that image ships, so the prefetch lists only the recipe's repositories,
/// and the keys of the image's own are not imported (docs/konflux.md,
/// "Hermetic builds").
fn check_base_repos(variant: &Variant, installs: bool, diagnostics: &mut Diagnostics) {
    let (what, reference, span) = match &variant.from {
        model::From::Reference { reference, span } => ("the image", reference, *span),
        model::From::Project { reference, span, .. } => ("the project's image", reference, *span),
        model::From::Base { .. } => return,
    };
    if !installs {
        return;
    }
    diagnostics.push(
        Diagnostic::warning(
            Code::HermeticBaseRepos,
            format!("a hermetic build does not list the repository files of {what} `{reference}`: only the recipe's repositories are prefetched"),
        )
        .label(span, "aidc does not know which repositories this image has")
        .help("the variant's packages resolve only from the recipe's own repositories; to have the image's listed (and their keys imported), build from a `base` definition for it with `repofiles` (file name = the text of each `.repo` file the image ships in /etc/yum.repos.d), as std/fedora's bases do"),
    );
}

/// `aid::plan::hermetic_repo` for each repository of `variant` that the
/// prefetch of a hermetic build cannot list.
pub fn check_repos(variant: &Variant, diagnostics: &mut Diagnostics) {
    let installs = variant.per_arch().flat_map(|v| v.components.iter()).any(|c| {
        c.kind != model::ComponentKind::Base
            && (matches!(c.kind, model::ComponentKind::Kernel | model::ComponentKind::Kmod)
                || c.steps.iter().any(|s| matches!(s.kind, model::StepKind::Packages { .. })))
    });
    check_base_repos(variant, installs, diagnostics);
    if let (Some(files), model::From::Base { component, .. }) = (base_repofiles(variant), &variant.from) {
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
    // The prefetch names a recipe's repository file by its id's slug
    // (`plan::repo_file`): two ids with one slug (`a:b`, `a-b`) would be one
    // file there, and the lock would miss one repository.
    let mut files: Vec<(&str, String)> = Vec::new();
    for r in variant.per_arch().flat_map(|v| v.repos.iter()) {
        if matches!(r.source, RepoSource::Existing) || files.iter().any(|(id, _)| *id == r.id) {
            continue;
        }
        let file = super::repo_file("", &r.id);
        if let Some((other, _)) = files.iter().find(|(_, f)| *f == file) {
            diagnostics.push(
                Diagnostic::error(
                    Code::HermeticRepo,
                    format!("the repositories `{other}` and `{}` would share the prefetch's file `{}`", r.id, file.trim_start_matches('/')),
                )
                .label(r.span, "used here")
                .label(r.def_span, "defined here")
                .help("a hermetic build lists each repository's file by a name made from its id, where `:` and other characters become `-`; give one of them an id that differs in letters or digits"),
            );
        }
        files.push((&r.id, file));
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

/// The signing keys a hermetic step imports before its dnf runs, for one
/// architecture of a variant.
///
/// Hermeto's `hermeto.repo`, the only repository file dnf reads on
/// Konflux, sets `gpgcheck=1` and no `gpgkey` for every repository of the
/// lock (hermetoproject/hermeto `hermeto/core/package_managers/rpm/main.py`,
/// `_generate_repofiles`: `_Repofile(defaults={"gpgcheck": "1"})`), so dnf
/// can only verify a package whose key is already in the image's rpm
/// database, and a bootc base has not imported its repositories' keys
/// (openshift-eng/ocp-build-data PR 10219; konflux-ci/docs PR 429: "It
/// expects any required key to already be trusted by the system"). The
/// step therefore runs `rpm --import` on each key first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Keys {
    /// Keys the image has, by absolute path (a repository file's
    /// `gpgkey=file:///...`, dnf's variables expanded).
    pub paths: Vec<String>,
    /// Keys committed in the build context (the pipeline's `keys`): the
    /// repository id and the context path.
    pub files: Vec<(String, String)>,
    /// Repository ids whose file turns signature checks off
    /// (`gpgcheck=0`): the prefetch input turns them off in
    /// `hermeto.repo` too.
    pub unchecked: Vec<String>,
}

/// A repository whose packages a hermetic build cannot verify: its file
/// names a key that is not in the image (a URL) or none, and the pipeline's
/// `keys` has none for it.
pub struct MissingKey {
    pub id: String,
    pub urls: Vec<String>,
    pub span: crate::source::Span,
    pub def_span: Option<crate::source::Span>,
}

/// Every repository section the step's dnf may read in `variant` (one
/// architecture): the base's enabled ones and those the recipe enables by
/// id, and every section of the recipe's own repository files; each once,
/// with where the recipe names it.
fn sections(
    variant: &Variant,
) -> Vec<(crate::validate::RepoSection, crate::source::Span, Option<crate::source::Span>)> {
    let mut out: Vec<(crate::validate::RepoSection, crate::source::Span, Option<crate::source::Span>)> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    let by_id: Vec<&model::Repo> = variant.repos.iter().filter(|r| matches!(r.source, RepoSource::Existing)).collect();
    if let (Some(files), model::From::Base { component, .. }) = (base_repofiles(variant), &variant.from) {
        let base = &variant.components[*component];
        for s in files.iter().filter_map(|(_, text)| crate::validate::repo_file(text).ok()).flatten() {
            let named = by_id.iter().find(|r| r.id == s.id);
            if (s.enabled || named.is_some()) && seen.insert(s.id.clone()) {
                let (span, def) = named.map_or((base.span, base.def_span), |r| (r.span, Some(r.def_span)));
                out.push((s, span, def));
            }
        }
    }
    for r in &variant.repos {
        if matches!(r.source, RepoSource::Existing | RepoSource::Flatpak { .. }) {
            continue;
        }
        let Some(text) = super::repofile::text(r) else { continue };
        for s in crate::validate::repo_file(&text).into_iter().flatten() {
            if seen.insert(s.id.clone()) {
                out.push((s, r.span, Some(r.def_span)));
            }
        }
    }
    out
}

/// The keys one architecture of `variant` imports in a hermetic build, and
/// the repositories it has no key for.
pub fn keys(variant: &Variant, pipeline: &model::Pipeline) -> (Keys, Vec<MissingKey>) {
    let release = match variant.facts.get("release").map(|f| &f.value) {
        Some(model::Property::Int(n)) => n.to_string(),
        Some(model::Property::Str(s)) => s.clone(),
        _ => String::new(),
    };
    let mut keys = Keys::default();
    let mut missing = Vec::new();
    for (s, span, def_span) in sections(variant) {
        if let Some(file) = pipeline.keys.get(&s.id) {
            keys.files.push((s.id.clone(), file.path.clone()));
        } else if s.gpgcheck == Some(false) {
            keys.unchecked.push(s.id.clone());
        } else if !s.gpgkeys.is_empty() && s.gpgkeys.iter().all(|k| k.starts_with("file:///")) {
            for k in &s.gpgkeys {
                let path = k
                    .trim_start_matches("file://")
                    .replace("$releasever", &release)
                    .replace("$basearch", &variant.arch);
                if !keys.paths.contains(&path) {
                    keys.paths.push(path);
                }
            }
        } else {
            missing.push(MissingKey { id: s.id.clone(), urls: s.gpgkeys.clone(), span, def_span });
        }
    }
    (keys, missing)
}

/// `aid::plan::hermetic_key` for each repository of `variant` (every
/// architecture's, each id once) whose packages a hermetic build cannot
/// verify. A `keys` id no repository has is [`check_unused_keys`]'s.
pub fn check_keys(variant: &Variant, pipeline: &model::Pipeline, diagnostics: &mut Diagnostics) {
    let mut seen = std::collections::BTreeSet::new();
    for v in variant.per_arch() {
        for m in keys(v, pipeline).1 {
            if !seen.insert(m.id.clone()) {
                continue;
            }
            let from = if m.urls.is_empty() {
                "its repository file names no `gpgkey`".to_string()
            } else {
                format!("its key is downloaded from {}", m.urls.join(", "))
            };
            let mut d = Diagnostic::error(
                Code::HermeticKey,
                format!("a hermetic build cannot verify the packages of the repository `{}`: {from}", m.id),
            )
            .label(m.span, "this repository's packages are installed here")
            .help(format!(
                "Konflux's prefetched repositories check signatures but name no key, and the build has no network: download the key{}, check its fingerprint, commit it, and name it in the pipeline block: `keys = {{ \"{}\" = file(\"keys/{}.asc\") }}`",
                if m.urls.is_empty() { "" } else { " from the URL above" },
                m.id,
                super::support::slug(&m.id)
            ));
            if let Some(def) = m.def_span {
                d = d.label(def, "defined here");
            }
            diagnostics.push(d);
        }
    }
}

/// `aid::plan::hermetic_key` for each id of the pipeline's `keys` that no
/// repository of the model has: a misspelt id would leave the repository it
/// meant unverified.
pub fn check_unused_keys(model: &model::Model, pipeline: &model::Pipeline, diagnostics: &mut Diagnostics) {
    if pipeline.keys.is_empty() {
        return;
    }
    // Every id any variant uses, once: reading every variant's repository
    // files again for each key was quadratic in a hostile recipe's keys.
    let used: std::collections::BTreeSet<String> = model
        .images
        .iter()
        .flat_map(|i| i.variants.iter())
        .flat_map(|v| v.per_arch())
        .flat_map(|v| sections(v).into_iter().map(|(s, _, _)| s.id))
        .collect();
    for (id, file) in &pipeline.keys {
        if !used.contains(id) {
            diagnostics.push(
                Diagnostic::error(Code::HermeticKey, format!("`keys` names the repository `{id}`, which no image uses"))
                    .label(file.span, "a key for no repository")
                    .help("the ids are those of the repositories' `[id]` sections (`aidc graph` and the prefetch's `repos/` files show them); fix the id or remove the entry"),
            );
        }
    }
}
