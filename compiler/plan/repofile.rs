//! The `.repo` file aidc writes for a repository of the recipe, one text
//! for the Containerfile's steps (plan/layer.rs) and for Konflux's prefetch
//! input (konflux/hermetic.rs), so the repositories a hermetic build
//! resolves its lock from are the ones its steps name.

use crate::model::{Repo, RepoSource};

/// The text of `r`'s `.repo` file when aidc writes it (`baseurl`, `copr`,
/// or a `file` the recipe gives), ending in a line break; `None` for a
/// repository the base already has, a file downloaded by URL and a Flatpak
/// remote.
pub fn text(r: &Repo) -> Option<String> {
    match &r.source {
        RepoSource::Copr { owner, project } => {
            let group = owner.strip_prefix('@').map(|g| format!("group_{g}")).unwrap_or_else(|| owner.clone());
            let base = format!("https://download.copr.fedorainfracloud.org/results/{group}/{project}");
            Some(format!(
                "[{id}]\nname=Copr repo for {project} owned by {owner}\nbaseurl={base}/fedora-$releasever-$basearch/\ntype=rpm-md\ngpgcheck=1\ngpgkey={base}/pubkey.gpg\nrepo_gpgcheck=0\nenabled=1\nenabled_metadata=1\n",
                id = r.id
            ))
        }
        RepoSource::BaseUrl { url, gpgkey } => {
            let gpg = match gpgkey {
                Some(k) => format!("gpgcheck=1\ngpgkey={k}\n"),
                None => "gpgcheck=0\n".to_string(),
            };
            Some(format!("[{id}]\nname={name}\nbaseurl={url}\n{gpg}enabled=1\n", id = r.id, name = r.name))
        }
        RepoSource::File { content: Some(text), .. } => {
            let mut text = text.clone();
            if !text.ends_with('\n') {
                text.push('\n');
            }
            Some(text)
        }
        RepoSource::File { content: None, .. } | RepoSource::Existing | RepoSource::Flatpak { .. } => None,
    }
}

/// One text for every architecture's version of a repository file
/// (`(rpm arch, text)`, the first the variant's own): the text when they
/// are all the same, else the texts with each one's architecture written
/// as dnf's `$basearch` when that makes them the same (RPM Fusion's base
/// URL names `target.arch`); `None` when they differ otherwise, and one
/// repository id cannot stand for all of them in one resolution.
pub fn for_every_arch(texts: &[(&str, String)]) -> Option<String> {
    let (_, first) = texts.first()?;
    if texts.iter().all(|(_, t)| t == first) {
        return Some(first.clone());
    }
    let general: Vec<String> = texts.iter().map(|(arch, t)| t.replace(arch, "$basearch")).collect();
    general.iter().all(|t| *t == general[0]).then(|| general[0].clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_names_its_architecture_becomes_one_with_basearch() {
        let t = |a: &str| format!("[r]\nbaseurl=https://x/{a}/os/\n");
        assert_eq!(for_every_arch(&[("x86_64", t("x86_64")), ("aarch64", t("aarch64"))]), Some(t("$basearch")));
        assert_eq!(for_every_arch(&[("x86_64", t("a")), ("aarch64", t("a"))]), Some(t("a")));
        assert_eq!(for_every_arch(&[("x86_64", t("x86_64")), ("aarch64", t("sbsa"))]), None);
    }
}
