//! Multi-platform plans: one Containerfile for every platform, with a
//! `case "$TARGETARCH"` in each step whose architectures differ.
//!
//! Konflux's multi-platform pipeline builds the one `dockerfile` parameter on
//! a host per platform (konflux-ci/build-definitions
//! `docker-build-multi-platform-oci-ta`, the `build-images` matrix over
//! `PLATFORM`), and buildah gives every stage that declares `ARG TARGETARCH`
//! the architecture it builds for (`amd64`, `arm64`). So the plan resolves
//! each variant once per architecture (resolve/mod.rs), plans each, and
//! merges the layer sequences here: a layer the same on every architecture
//! is kept as it is (so is a single-platform plan, byte for byte); a layer
//! whose `RUN` differs becomes one `RUN` with the commands every
//! architecture shares outside and a branch per architecture inside, every
//! input's digest still in that `RUN`'s line. docs/konflux.md, "Multi-platform
//! builds", says why one Containerfile and not one per platform.

use std::rc::Rc;

use super::layer::{Builder, Layer};
use super::{Instruction, InstructionKind};
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::model::{self, Variant};

/// The build argument buildah sets to the architecture being built.
pub const TARGETARCH: &str = "TARGETARCH";

/// Where a `RUN` mounts what it reads; an architecture's own mounts move to
/// `<MOUNTS>/<goarch>/...` so no architecture sees another's files.
const MOUNTS: &str = "/run/aid/";

/// `ARG TARGETARCH` (no default: buildah's value), declared in a stage
/// before its first step that branches on it.
pub fn targetarch_arg() -> Instruction {
    Instruction { comment: None, kind: InstructionKind::Arg { name: TARGETARCH.to_string(), default: String::new() } }
}

/// Merges the layer sequences of one variant's architectures (the first
/// the variant's own) into one. `None` when they cannot be one
/// Containerfile (reported).
pub fn merge(
    variant: &Variant,
    per_arch: Vec<(&str, Vec<Rc<Layer>>)>,
    diagnostics: &mut Diagnostics,
) -> Option<Vec<Rc<Layer>>> {
    let mut iter = per_arch.into_iter();
    let (first_arch, first) = iter.next()?;
    let others: Vec<(&str, Vec<Rc<Layer>>)> = iter.collect();
    if others.is_empty() {
        return Some(first);
    }
    let shape = |layers: &[Rc<Layer>]| layers.iter().map(|l| l.component.clone()).collect::<Vec<_>>();
    if let Some((arch, _)) = others.iter().find(|(_, l)| shape(l) != shape(&first)) {
        diagnostics.push(differ(
            variant,
            None,
            &format!("its layers for {first_arch} and {arch} are not the same components"),
        ));
        return None;
    }
    let mut out = Vec::new();
    for (i, layer) in first.into_iter().enumerate() {
        let mut all: Vec<(&str, Rc<Layer>)> = vec![(first_arch, layer)];
        all.extend(others.iter().map(|(a, l)| (*a, Rc::clone(&l[i]))));
        out.push(merge_layer(variant, all, diagnostics)?);
    }
    Some(out)
}

fn differ(variant: &Variant, component: Option<&str>, what: &str) -> Diagnostic {
    let (span, who) = match component.and_then(|c| variant.components.iter().find(|x| x.name == c)) {
        Some(c) => (c.span, format!("`{}`", c.name)),
        None => (variant.span, format!("variant `{}`", variant.name)),
    };
    Diagnostic::error(Code::PlatformsDiffer, format!("{who} differs between the pipeline's platforms: {what}"))
        .label(span, "built for several architectures from one Containerfile")
        .help("only the commands of a step can differ per architecture (downloads, repositories): give `ENV`, `LABEL` and kernel-module steps the same values on every platform, or build the platforms from separate recipes")
}

/// One layer for every architecture: the first as it is when all are the
/// same, else the `RUN`s merged.
fn merge_layer(variant: &Variant, all: Vec<(&str, Rc<Layer>)>, diagnostics: &mut Diagnostics) -> Option<Rc<Layer>> {
    let first = &all[0].1;
    if all.iter().all(|(_, l)| l.key == first.key) {
        return Some(all.into_iter().next()?.1);
    }
    let component = first.component.clone();
    let fail = |diagnostics: &mut Diagnostics, what: &str| {
        diagnostics.push(differ(variant, Some(&component), what));
        None
    };
    if all.iter().any(|(_, l)| l.labels != first.labels) {
        return fail(diagnostics, "its labels");
    }
    let Some(instructions) = merge_instructions(all.iter().map(|(a, l)| (*a, &l.instructions[..])).collect()) else {
        return fail(diagnostics, "an `ENV` or `LABEL` it sets");
    };
    let builder = match all.iter().map(|(a, l)| l.builder.as_ref().map(|b| (*a, b))).collect::<Option<Vec<_>>>() {
        None if all.iter().all(|(_, l)| l.builder.is_none()) => None,
        None => return fail(diagnostics, "a builder stage on some platforms only"),
        Some(builders) => match merge_builder(builders) {
            Some(b) => Some(b),
            None => return fail(diagnostics, "its builder stage"),
        },
    };
    let mut parts: Vec<Vec<u8>> = Vec::new();
    for (arch, l) in &all {
        parts.push(format!("{arch}={}", l.key).into_bytes());
    }
    let key = crate::hash::digest_parts(parts.iter().map(Vec::as_slice));
    let mut secrets: Vec<_> = all.iter().flat_map(|(_, l)| l.secrets.iter().cloned()).collect();
    secrets.sort();
    secrets.dedup();
    let first = &all[0].1;
    Some(Rc::new(Layer {
        component,
        key,
        instructions: instructions.into(),
        is_kernel: first.is_kernel,
        builder,
        labels: first.labels.clone(),
        secrets,
        per_arch: true,
    }))
}

fn merge_builder(builders: Vec<(&str, &Builder)>) -> Option<Builder> {
    let first = builders[0].1;
    if builders.iter().all(|(_, b)| b.key == first.key) {
        return Some(first.clone());
    }
    if builders.iter().any(|(_, b)| b.from != first.from || b.role != first.role || b.module != first.module) {
        return None;
    }
    let mut instructions = vec![targetarch_arg()];
    instructions.extend(merge_instructions(builders.iter().map(|(a, b)| (*a, &b.instructions[..])).collect())?);
    let parts: Vec<Vec<u8>> = builders.iter().map(|(a, b)| format!("{a}={}", b.key).into_bytes()).collect();
    Some(Builder {
        module: first.module.clone(),
        role: first.role,
        from: first.from.clone(),
        key: crate::hash::digest_parts(parts.iter().map(Vec::as_slice)),
        instructions,
    })
}

/// Instruction by instruction: the same on every architecture, or `RUN`s
/// merged; `None` when anything else differs.
fn merge_instructions(all: Vec<(&str, &[Instruction])>) -> Option<Vec<Instruction>> {
    let first = all[0].1;
    if all.iter().any(|(_, ins)| ins.len() != first.len()) {
        return None;
    }
    let mut out = Vec::new();
    for (i, ins) in first.iter().enumerate() {
        if all.iter().all(|(_, x)| x[i] == *ins) {
            out.push(ins.clone());
            continue;
        }
        let mut runs = Vec::new();
        for (arch, x) in &all {
            let InstructionKind::Run { mounts, inputs, commands } = &x[i].kind else { return None };
            runs.push((*arch, mounts, inputs, commands));
        }
        out.push(Instruction { comment: ins.comment.clone(), kind: merge_run(&runs) });
    }
    Some(out)
}

type ArchRun<'a> = (&'a str, &'a Vec<String>, &'a Vec<(String, String)>, &'a Vec<String>);

/// One `RUN` for every architecture: the mounts they share as they are,
/// each architecture's own under its own directory; every input's digest;
/// the commands they share, and a `case` on `$TARGETARCH` for the rest.
fn merge_run(runs: &[ArchRun<'_>]) -> InstructionKind {
    let common: Vec<&String> = runs[0].1.iter().filter(|m| runs.iter().all(|r| r.1.contains(m))).collect();
    let mut mounts: Vec<String> = common.iter().map(|m| (*m).clone()).collect();
    let mut inputs: Vec<(String, String)> = Vec::new();
    let mut per_arch: Vec<(&str, Vec<String>)> = Vec::new();
    for (arch, arch_mounts, arch_inputs, commands) in runs {
        let go = model::target_arch(arch);
        let mut commands: Vec<String> = (*commands).clone();
        let mut moved_repo = false;
        for m in arch_mounts.iter().filter(|m| !common.contains(m)) {
            let Some((head, target)) = m.split_once(",target=") else {
                mounts.push(m.clone());
                continue;
            };
            let Some(rest) = target.strip_prefix(MOUNTS) else {
                mounts.push(m.clone());
                continue;
            };
            let moved = format!("{MOUNTS}{go}/{rest}");
            moved_repo |= rest.starts_with("repos/");
            for c in &mut commands {
                *c = replace_path(c, target, &moved);
            }
            mounts.push(format!("{head},target={moved}"));
        }
        if moved_repo {
            // dnf reads this architecture's repository files, and the
            // shared ones when there are any.
            let dir = format!("{MOUNTS}repos");
            let own = format!("{MOUNTS}{go}/repos");
            let shared = common.iter().any(|m| m.contains(&format!(",target={dir}/")));
            for c in &mut commands {
                *c = repo_dirs(c, &dir, &own, shared);
            }
        }
        for i in arch_inputs.iter() {
            if !inputs.contains(i) {
                inputs.push(i.clone());
            }
        }
        per_arch.push((go, commands));
    }
    let first = &per_arch[0].1;
    let prefix = (0..first.len()).take_while(|&i| per_arch.iter().all(|(_, c)| c.get(i) == Some(&first[i]))).count();
    let shortest = per_arch.iter().map(|(_, c)| c.len()).min().unwrap_or(0);
    let suffix = (0..shortest - prefix)
        .take_while(|&i| per_arch.iter().all(|(_, c)| c[c.len() - 1 - i] == first[first.len() - 1 - i]))
        .count();
    let mut commands: Vec<String> = first[..prefix].to_vec();
    let mut case = format!("case \"${TARGETARCH}\" in \\\n");
    for (go, c) in &per_arch {
        let own = &c[prefix..c.len() - suffix];
        let body = if own.is_empty() { ":".to_string() } else { own.join(" && \\\n        ") };
        case.push_str(&format!("      {go}) {body} ;; \\\n"));
    }
    case.push_str(&format!(
        "      *) echo \"aidc: this image is not built for ${TARGETARCH}\" >&2; exit 1 ;; \\\n    esac"
    ));
    commands.push(case);
    commands.extend(first[first.len() - suffix..].iter().cloned());
    InstructionKind::Run { mounts, inputs, commands }
}

/// `text` with the path `from` replaced by `to` wherever it is a whole path
/// or a directory of one (not a prefix of a longer name).
fn replace_path(text: &str, from: &str, to: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let name = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    while let Some(at) = rest.find(from) {
        let after = &rest[at + from.len()..];
        // Whole at both ends: not inside a longer path (`/opt/run/aid/…`)
        // nor a prefix of a longer name.
        let before = out.chars().last().filter(|_| at == 0).or_else(|| rest[..at].chars().last());
        let whole = !after.starts_with(name) && !before.is_some_and(|c| name(c) || c == '/');
        out.push_str(&rest[..at]);
        out.push_str(if whole { to } else { from });
        rest = after;
    }
    out.push_str(rest);
    out
}

/// In a dnf `--setopt=reposdir=` list, `own` after `dir`, or instead of it
/// when `dir` has no `shared` files. The list may sit inside a quoted word
/// (`export DNF5_OPTS='--setopt=reposdir=... --enablerepo=x'`, or unquoted
/// before `;`): it ends at the word's end, its closing quote or a `;`.
///
/// Only the options aidc writes are rewritten: those of a command it builds
/// for dnf (`dnf5 …`, `export DNF5_OPTS=…`, [`RepoSetup::choose`]'s
/// `if [ -d … ]`), in a word that starts with the option or with
/// `DNF5_OPTS=`. A recipe's own text that merely contains the option (a
/// quoted destination, say) is left as the recipe wrote it.
///
/// [`RepoSetup::choose`]: super::layer
fn repo_dirs(command: &str, dir: &str, own: &str, shared: bool) -> String {
    const SETOPT: &str = "--setopt=reposdir=";
    if !["dnf5 ", "export DNF5_OPTS=", "if [ -d "].iter().any(|p| command.starts_with(p)) {
        return command.to_string();
    }
    command
        .split(' ')
        .map(|word| {
            // A bare option word with a quote in it is the end of a quoted
            // string that began before it: a recipe's text, not aidc's.
            let lead = ["", "DNF5_OPTS=", "DNF5_OPTS='"].iter().rev().find(|p| {
                word.strip_prefix(**p).is_some_and(|w| w.starts_with(SETOPT)) && !(p.is_empty() && word.contains('\''))
            });
            match lead {
                Some(lead) => {
                    let (head, rest) = word.split_at(lead.len() + SETOPT.len());
                    let (list, tail) = rest.split_at(rest.find(['\'', ';']).unwrap_or(rest.len()));
                    let dirs: Vec<&str> = list
                        .split(',')
                        .flat_map(|d| match d == dir {
                            true if shared => vec![d, own],
                            true => vec![own],
                            false => vec![d],
                        })
                        .collect();
                    format!("{head}{}{tail}", dirs.join(","))
                }
                None => word.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_replaced_whole() {
        assert_eq!(
            replace_path("cp /run/aid/in/1-a /x", "/run/aid/in/1-a", "/run/aid/arm64/in/1-a"),
            "cp /run/aid/arm64/in/1-a /x"
        );
        assert_eq!(replace_path("cp /run/aid/in/1-ab /x", "/run/aid/in/1-a", "/y"), "cp /run/aid/in/1-ab /x");
        assert_eq!(replace_path("ls /run/aid/in/1-a/f", "/run/aid/in/1-a", "/y"), "ls /y/f");
        assert_eq!(replace_path("cp /x '/opt/run/aid/in/1-a'", "/run/aid/in/1-a", "/y"), "cp /x '/opt/run/aid/in/1-a'");
        assert_eq!(replace_path("a/run/aid/in/1-a", "/run/aid/in/1-a", "/y"), "a/run/aid/in/1-a");
    }

    #[test]
    fn an_architecture_reads_its_own_repository_directory() {
        let dnf = "dnf5 -y install --setopt=reposdir=/etc/yum.repos.d,/run/aid/repos x";
        assert_eq!(
            repo_dirs(dnf, "/run/aid/repos", "/run/aid/arm64/repos", true),
            "dnf5 -y install --setopt=reposdir=/etc/yum.repos.d,/run/aid/repos,/run/aid/arm64/repos x"
        );
        assert_eq!(
            repo_dirs(dnf, "/run/aid/repos", "/run/aid/arm64/repos", false),
            "dnf5 -y install --setopt=reposdir=/etc/yum.repos.d,/run/aid/arm64/repos x"
        );
        // Inside the quoted options a hermetic step or a script reads.
        let choose = "if [ -d /cachi2/output/deps/rpm ]; then export DNF5_OPTS=--setopt=reposdir=/etc/yum.repos.d; ";
        let opts = format!(
            "{choose}else export DNF5_OPTS='--setopt=reposdir=/etc/yum.repos.d,/run/aid/repos --enablerepo=x'; fi"
        );
        assert_eq!(
            repo_dirs(&opts, "/run/aid/repos", "/run/aid/arm64/repos", false),
            format!(
                "{choose}else export DNF5_OPTS='--setopt=reposdir=/etc/yum.repos.d,/run/aid/arm64/repos --enablerepo=x'; fi"
            )
        );
        assert_eq!(
            repo_dirs(
                &format!("{choose}else export DNF5_OPTS=--setopt=reposdir=/run/aid/repos; fi"),
                "/run/aid/repos",
                "/run/aid/arm64/repos",
                true
            ),
            format!("{choose}else export DNF5_OPTS=--setopt=reposdir=/run/aid/repos,/run/aid/arm64/repos; fi")
        );
        // A recipe's text that merely contains the option is left alone,
        // in another command or in a quoted word of a dnf one.
        for text in [
            "install -D -m 0644 /run/aid/in/1-x '/usr/share/a b--setopt=reposdir=/run/aid/repos'",
            "install -D -m 0644 /run/aid/in/1-x '/usr/share/a --setopt=reposdir=/run/aid/repos'",
            "dnf5 -y install --setopt=reposdir=/run/aid/repos 'x --setopt=reposdir=/run/aid/repos'",
        ] {
            let rewritten = repo_dirs(text, "/run/aid/repos", "/run/aid/arm64/repos", false);
            assert_eq!(
                rewritten.matches("/run/aid/arm64/repos").count(),
                usize::from(text.starts_with("dnf5")),
                "{text}"
            );
        }
    }
}
