//! What a hermetic build cannot do: a step that fetches over the network at
//! build time, other than the downloads Konflux prefetches (`fetch`, listed
//! in `artifacts.lock.yaml`). A repository file or a Flatpak remote named
//! by URL without its text (`file`) is downloaded by the `RUN` that uses
//! it, and the buildah task runs a hermetic build with `--network=none`
//! (docs/konflux.md, "Hermetic builds"), so it would fail there: it is an
//! error at compile time instead.

use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::model::{RepoSource, Variant};

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
