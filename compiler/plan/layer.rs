//! One variant component becomes one layer: a single `RUN` that does all it
//! says (packages with its repositories enabled for that command only,
//! downloads checked against their SHA-256, files installed from bind
//! mounts, units, kernel arguments, Flatpaks), plus its `ENV`s. Every input
//! the `RUN` reads from a bind mount has its digest in the `RUN` line,
//! because buildah does not hash bind-mounted files (buildah 1.28 reuses the
//! cached layer after such a file changed).
//!
//! The kernel and kmod procedures (after ublue-os/akmods and ublue-os/main,
//! docs/fedora.md) add layers of their own: the kernel signature (signed in
//! a builder stage), each kmod's builder stage, and the finishing step every
//! variant ends with (initramfs, `/usr/local`, `/boot` and `/var`).
//!
//! In a hermetic build a step's dnf reads only the prefetched repositories
//! when Konflux's prefetch is mounted ([`RepoSetup::choose`]), and a kept
//! repository file is `COPY`d: the build task mounts the prefetched
//! repositories over /etc/yum.repos.d for every `RUN` (docs/konflux.md,
//! "Hermetic builds").

use std::collections::BTreeSet;
use std::rc::Rc;

use super::hermetic::Keys;
use super::memo::{Memo, Reads};
use super::support::{Files, SupportFile, slug};
use super::{Input, Inputs, Instruction, InstructionKind, SecretMount, quote, toml_string};
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::model::{self, Component, ComponentKind, RepoSource, RunSource, StepKind, Variant};

/// Where the dnf cache lives: a cache mount, so nothing is left in `/var`.
const DNF_CACHE: &str = "type=cache,target=/var/cache/libdnf5,sharing=locked";
/// dnf writes its log under `/var/log`; a tmpfs keeps it out of the layer.
const VAR_LOG: &str = "type=tmpfs,target=/var/log";
/// Scratch space for downloads and repository files; gone after the step.
const TMP: &str = "type=tmpfs,target=/run/aid/tmp";
/// Makes sure GNU tar can unpack a .tar.bz2, as one shell group so that it
/// can sit anywhere in a `&&` chain.
const ENSURE_BZIP2: &str = "{ command -v bzip2 >/dev/null || dnf5 -y install bzip2; }";
/// [`ENSURE_BZIP2`] in a hermetic build, with the step's dnf options
/// ([`RepoSetup::choose`]).
const ENSURE_BZIP2_HERMETIC: &str = "{ command -v bzip2 >/dev/null || dnf5 -y install $DNF5_OPTS bzip2; }";
/// dnf5's default repository directories. `--setopt=reposdir=` replaces the
/// list, so aidc's own directory is added to all three: Fedora 45 moves the
/// distribution's files to `/usr/share/dnf5/repos.d` (Fedora Change
/// RelocateRpmRepoConfigsToUsr; dnf5 `reposdir` default, dnf5#2758).
const REPO_DIRS: &str = "/etc/yum.repos.d,/etc/distro.repos.d,/usr/share/dnf5/repos.d";
/// Where a hermetic build finds Hermeto's RPM repositories when Konflux
/// prefetched them (`deps/rpm/<arch>/<repoid>/` of Hermeto's output:
/// hermetoproject/hermeto `docs/rpm.md`), which the buildah task mounts at
/// `/cachi2/output` (konflux-ci/container-build-catalog
/// `task/buildah-oci-ta/buildah-oci-ta.yaml`: `--prefetch-output-mount
/// /cachi2/output`). Its presence is how a step knows it runs on Konflux.
const PREFETCHED_RPMS: &str = "/cachi2/output/deps/rpm";
/// dnf's one repository directory on Konflux: the task mounts the
/// prefetched repository files (Hermeto's `hermeto.repo`) over
/// `/etc/yum.repos.d` for every `RUN` (konflux-ci/konflux-build-cli
/// `pkg/commands/build.go`, `prepareYumReposMount`: a `--volume` of the
/// merged directory), and dnf must read nothing else: a network repository
/// (Fedora 45's in /usr/share/dnf5/repos.d) fails offline.
const PREFETCHED_REPOS: &str = "--setopt=reposdir=/etc/yum.repos.d";
/// Where a hermetic step sees the base's repository file that defines a
/// repository it keeps enabled, for `dnf5 config-manager setopt`.
const BASE_REPOS: &str = "/run/aid/base-repos";
/// Where a hermetic step sees the repositories' signing keys committed in
/// the build context (the pipeline's `keys`).
const KEYS: &str = "/run/aid/keys";
/// Where a builder stage sees the kernel stage's `/usr/lib/modules`.
const KERNEL_MODULES: &str = "/run/aid/kernel";
/// Where a builder stage sees the recipe's certificate (DER).
const CERT: &str = "/run/aid/cert.der";
/// Where a builder stage sees the signing key (a build secret, 0400 root).
const KEY: &str = "/run/aid/secret/key";

/// A planned layer.
#[derive(Clone, Debug, PartialEq)]
pub struct Layer {
    pub component: String,
    /// The digest of everything that makes this layer: its instructions and inputs.
    pub key: String,
    /// Shared with every stage that has the layer (`plan::Instructions`).
    pub instructions: std::sync::Arc<[Instruction]>,
    /// The kernel layer: builder stages read its `/usr/lib/modules`.
    pub is_kernel: bool,
    /// A builder stage this layer installs the output of.
    pub builder: Option<Builder>,
    pub labels: Vec<(String, String)>,
    pub secrets: Vec<SecretMount>,
    /// Its `RUN`s branch on `$TARGETARCH` (plan/arch.rs): its stage
    /// declares `ARG TARGETARCH` before it.
    pub per_arch: bool,
}

/// A builder stage: a throwaway stage (a plain Fedora image) that builds or
/// signs something and leaves it in `/out`. Its instructions use the secret
/// and read the kernel stage as [`KERNEL_STAGE`]; the layer that installs its
/// output refers to it as [`BUILDER`] until stages are named.
#[derive(Clone, Debug, PartialEq)]
pub struct Builder {
    /// What it makes, for the stage name: `nvidia`, `kernel`.
    pub module: String,
    /// `kmod` (builds a module) or `sign` (signs the kernel).
    pub role: &'static str,
    /// The image it starts from.
    pub from: String,
    pub key: String,
    pub instructions: Vec<Instruction>,
}

/// `ARG AID_KMOD_SIGNING=signed`: read by the signing builders' scripts
/// (`aid-kmod-build.sh`, `aid-kernel-sign.sh`) and the final stage's label;
/// pull-request builds pass `unsigned` and sign nothing.
pub fn signing_arg() -> Instruction {
    Instruction {
        comment: None,
        kind: InstructionKind::Arg { name: super::SIGNING_ARG.to_string(), default: "signed".to_string() },
    }
}

/// Placeholder for the builder stage's name in a mount; replaced when stages are named.
pub const BUILDER: &str = "@aid-builder@";
/// Placeholder for the kernel stage's name in a builder's mount.
pub const KERNEL_STAGE: &str = "@aid-kernel-stage@";

/// Accumulates one `RUN`.
#[derive(Default)]
struct Run {
    mounts: Vec<String>,
    inputs: Vec<(String, String)>,
    commands: Vec<String>,
    next_input: usize,
}

impl Run {
    fn mount(&mut self, m: String) {
        if !self.mounts.contains(&m) {
            self.mounts.push(m);
        }
    }

    fn input(&mut self, what: &str, digest: &str) {
        // The label is a shell word after `:`; quoted, whatever it holds.
        let entry = (super::quote(what), digest.to_string());
        if !self.inputs.contains(&entry) {
            self.inputs.push(entry);
        }
    }

    /// Bind-mounts a support file; returns where it appears in the container.
    fn support(&mut self, file: &SupportFile) -> String {
        let name = file.context_path.rsplit('/').next().unwrap_or("file");
        self.next_input += 1;
        let target = format!("/run/aid/in/{}-{name}", self.next_input);
        self.mount(format!("type=bind,source={},target={target}", file.context_path));
        self.input(&file.context_path, &file.digest);
        target
    }

    /// Bind-mounts one of aidc's scripts at a fixed place.
    fn script(&mut self, file: &SupportFile) -> String {
        let name = file.context_path.rsplit('/').next().unwrap_or("script");
        let target = format!("/run/aid/{name}");
        self.mount(format!("type=bind,source={},target={target}", file.context_path));
        self.input(&file.context_path, &file.digest);
        target
    }

    fn context(&mut self, path: &str, input: &Input) -> String {
        self.next_input += 1;
        let base = path.rsplit('/').next().unwrap_or("input");
        let target = format!("/run/aid/in/{}-{base}", self.next_input);
        self.mount(format!("type=bind,source={path},target={target}"));
        self.input(path, &input.digest);
        target
    }

    /// Downloads `url` to `to` and checks it against `sha256` in the same
    /// `RUN`, so the digest is in the line that uses the file.
    fn download(&mut self, url: &str, sha256: &str, to: &str) {
        let name = to.rsplit('/').next().unwrap_or("download");
        let sum = format!("/run/aid/tmp/{name}.sha256");
        self.commands.push(format!("curl -fsSL --retry 3 -o {} {}", quote(to), quote(url)));
        // A checksum file rather than a pipe: a failed `echo` cannot hide behind `sha256sum`.
        self.commands.push(format!("printf '%s  %s\\n' {} {} > {}", quote(sha256), quote(to), quote(&sum)));
        self.commands.push(format!("sha256sum -c {}", quote(&sum)));
    }

    /// [`Run::download`] in a hermetic build: Konflux prefetched the file
    /// (no network in the build) to [`super::prefetched_file`]; a local
    /// build of the same Containerfile downloads it. Checked the same way.
    fn download_prefetched(&mut self, url: &str, sha256: &str, to: &str) {
        let name = to.rsplit('/').next().unwrap_or("download");
        let sum = format!("/run/aid/tmp/{name}.sha256");
        let prefetched = quote(&super::prefetched_file(sha256));
        self.commands.push(format!(
            "if [ -f {prefetched} ]; then cp {prefetched} {to}; else curl -fsSL --retry 3 -o {to} {}; fi",
            quote(url),
            to = quote(to)
        ));
        self.commands.push(format!("printf '%s  %s\\n' {} {} > {}", quote(sha256), quote(to), quote(&sum)));
        self.commands.push(format!("sha256sum -c {}", quote(&sum)));
    }

    fn into_instruction(self, comment: String) -> Option<Instruction> {
        if self.commands.is_empty() {
            return None;
        }
        Some(Instruction {
            comment: Some(comment),
            kind: InstructionKind::Run { mounts: self.mounts, inputs: self.inputs, commands: self.commands },
        })
    }
}

/// How dnf sees a component's repositories.
struct RepoSetup {
    /// `--setopt=reposdir=...` and `--enablerepo=...` options (in a
    /// hermetic build, those of a build without Konflux's prefetch).
    options: Vec<String>,
    /// A hermetic build: dnf reads its options from `$DNF5_OPTS`, which
    /// [`RepoSetup::choose`] sets in the same `RUN`.
    hermetic: bool,
    /// The signing keys a hermetic step imports on Konflux.
    keys: Keys,
    /// The kept repository files a hermetic build ships: `COPY`, which the
    /// task's mount over /etc/yum.repos.d does not affect (it applies to
    /// `RUN` only: podman/buildah build `--volume`, "when executing RUN
    /// instructions"), where an `install` in a `RUN` would write into the
    /// mount and not into the image.
    copies: Vec<Instruction>,
}

impl RepoSetup {
    /// A hermetic build's setup without repositories of its own.
    fn hermetic(keys: &Keys) -> RepoSetup {
        RepoSetup { options: Vec::new(), hermetic: true, keys: keys.clone(), copies: Vec::new() }
    }

    /// The command that sets `DNF5_OPTS` for a hermetic `RUN`'s dnf
    /// commands and aidc's scripts: on Konflux (the prefetch is mounted)
    /// only the prefetched repositories, dnf's own in /etc/yum.repos.d;
    /// elsewhere (a local build, with network) the options of a build that
    /// is not hermetic.
    ///
    /// On Konflux it first imports the repositories' signing keys
    /// ([`Keys`]): Hermeto's repository file checks signatures but names no
    /// key. The keys committed in the build context are bind-mounted at
    /// [`KEYS`], their digests in the `RUN` line.
    fn choose(&self, run: &mut Run, inputs: &Inputs) -> String {
        let mut import: Vec<String> = self.keys.paths.iter().map(|p| quote(p)).collect();
        for ((_, path), name) in self.keys.files.iter().zip(key_names(&self.keys.files)) {
            let target = format!("{KEYS}/{name}.asc");
            run.mount(format!("type=bind,source={path},target={target}"));
            if let Some(input) = inputs.entries.get(path) {
                run.input(path, &input.digest);
            }
            import.push(target);
        }
        let import = if import.is_empty() { String::new() } else { format!("rpm --import {} && ", import.join(" ")) };
        format!(
            "if [ -d {PREFETCHED_RPMS} ]; then {import}export DNF5_OPTS={PREFETCHED_REPOS}; else export DNF5_OPTS={}; fi",
            quote(&self.options.join(" "))
        )
    }
}

/// The file names (without `.asc`) of the committed keys' mount targets,
/// one per key, all different: the [`slug`] of the repository id, and for
/// a second id with the same slug (`a:b` and `a-b`, both valid dnf ids) the
/// slug with the first `-N` that is nobody's slug and not taken yet, so two
/// keys never share a target (buildah refuses a `RUN` that mounts two
/// sources at one path) and the usual case keeps its plain name.
fn key_names(files: &[(String, String)]) -> Vec<String> {
    let slugs: Vec<String> = files.iter().map(|(id, _)| slug(id)).collect();
    let natural: BTreeSet<&str> = slugs.iter().map(String::as_str).collect();
    let mut taken: BTreeSet<String> = BTreeSet::new();
    // The next number to try per slug, so many ids with one slug take
    // linear time, not a search from 2 for each.
    let mut next: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    slugs
        .iter()
        .map(|s| {
            let name = if taken.contains(s) {
                let n = next.entry(s.as_str()).or_insert(2);
                loop {
                    let candidate = format!("{s}-{n}");
                    *n += 1;
                    if !natural.contains(candidate.as_str()) && !taken.contains(&candidate) {
                        break candidate;
                    }
                }
            } else {
                s.clone()
            };
            taken.insert(name.clone());
            name
        })
        .collect()
}

/// How a `keep` repository's file reaches the image.
#[derive(Clone, Copy, PartialEq)]
enum Keep {
    /// Installed into /etc/yum.repos.d by the `RUN` (a build that is not hermetic).
    Install,
    /// `COPY`d to /etc/yum.repos.d before the `RUN` (a hermetic build).
    Copy,
    /// Not kept, or kept in a hermetic builder stage, which is thrown away.
    No,
}

/// Makes the repositories `repos` (indexes into the variant's) available to
/// the package steps of one `RUN`: every repository file is written by aidc
/// (or downloaded and checked against its SHA-256 in that `RUN`) and
/// bind-mounted, existing repositories are enabled by id; only for this
/// `RUN`, unless the repository is marked `keep`.
///
/// In a hermetic build (`hermetic`), the options are those of a build
/// without Konflux's prefetch ([`RepoSetup::choose`]), a kept repository
/// file is shipped with `COPY`, and a kept repository the base has is
/// switched on against the base's own repository file; `ship` is false in
/// a builder stage, which then keeps nothing.
fn repositories(
    run: &mut Run,
    repos: &[usize],
    variant: &Variant,
    image: &str,
    files: &mut Files,
    hermetic: Option<&Keys>,
    ship: bool,
) -> RepoSetup {
    let keys = hermetic.cloned().unwrap_or_default();
    let hermetic = hermetic.is_some();
    let mut options = Vec::new();
    let mut dirs: Vec<&str> = Vec::new();
    let mut copies = Vec::new();
    for r in repos.iter().map(|i| &variant.repos[*i]) {
        let file_name = super::repo_file("", &r.id).trim_start_matches("/repos/").to_string();
        // A build that is not hermetic keeps what it did before, builder stages included.
        let keep = match (r.keep, hermetic, ship) {
            (false, _, _) => Keep::No,
            (true, false, _) => Keep::Install,
            (true, true, true) => Keep::Copy,
            (true, true, false) => Keep::No,
        };
        match &r.source {
            RepoSource::Copr { .. } | RepoSource::BaseUrl { .. } | RepoSource::File { content: Some(_), .. } => {
                let text = super::repofile::text(r).unwrap_or_default();
                let file = files.add(&format!("{image}/repos/{file_name}"), text);
                install_repo(run, &file, &file_name, keep, &mut dirs, &mut copies);
                if let Some(Instruction { comment: c @ None, .. }) = copies.last_mut() {
                    *c = Some(format!("the repository file of {}, kept in the image", r.name));
                }
            }
            RepoSource::File { url, sha256, .. } => {
                // Validation requires a checksum for a downloaded file.
                let sum = sha256.as_deref().unwrap_or("");
                run.mount(TMP.to_string());
                run.commands.push("mkdir -p /run/aid/tmp/repos".to_string());
                let at = format!("/run/aid/tmp/repos/{file_name}");
                run.download(url, sum, &at);
                if r.keep {
                    run.commands
                        .push(format!("install -D -m 0644 {at} {}", quote(&format!("/etc/yum.repos.d/{file_name}"))));
                } else {
                    if !dirs.contains(&"/run/aid/tmp/repos") {
                        dirs.push("/run/aid/tmp/repos");
                    }
                }
            }
            RepoSource::Existing => match keep {
                Keep::Install => {
                    run.commands.push(format!("dnf5 config-manager setopt {}", quote(&format!("{}.enabled=1", r.id))))
                }
                // `config-manager setopt` refuses an id no repository file
                // in `reposdir` defines ("No matching repository to modify":
                // rpm-software-management/dnf5
                // dnf5-plugins/config-manager_plugin/setopt.cpp), and on
                // Konflux the base's files are hidden under the mount: it
                // reads the base's own file, and writes the override to
                // /etc/dnf/repos.override.d, which ships.
                Keep::Copy => match base_repo_file(variant, &r.id) {
                    Some((name, text)) => {
                        let file = files.add(&format!("{image}/base-repos/{name}"), text);
                        run.mount(format!("type=bind,source={},target={BASE_REPOS}/{name}", file.context_path));
                        run.input(&file.context_path, &file.digest);
                        run.commands.push(format!(
                            "dnf5 --setopt=reposdir={BASE_REPOS} config-manager setopt {}",
                            quote(&format!("{}.enabled=1", r.id))
                        ));
                    }
                    // No file of the base defines it: aid::plan::hermetic_repo.
                    None => run
                        .commands
                        .push(format!("dnf5 config-manager setopt {}", quote(&format!("{}.enabled=1", r.id)))),
                },
                Keep::No => options.push(format!("--enablerepo={}", quote(&r.id))),
            },
            RepoSource::Flatpak { .. } => {}
        }
    }
    if !dirs.is_empty() {
        let mut all = vec![REPO_DIRS];
        all.extend(dirs);
        options.insert(0, format!("--setopt=reposdir={}", all.join(",")));
    }
    RepoSetup { options, hermetic, keys, copies }
}

/// The base's repository file (name, text) that defines the repository `id`.
fn base_repo_file(variant: &Variant, id: &str) -> Option<(String, String)> {
    super::hermetic::base_repofiles(variant)?.into_iter().find_map(|(name, text)| {
        let sections = crate::validate::repo_file(text).ok()?;
        sections.iter().any(|s| s.id == id).then(|| (name.to_string(), text.to_string()))
    })
}

fn install_repo(
    run: &mut Run,
    file: &SupportFile,
    file_name: &str,
    keep: Keep,
    dirs: &mut Vec<&str>,
    copies: &mut Vec<Instruction>,
) {
    if keep == Keep::Install {
        let at = run.support(file);
        run.commands.push(format!("install -D -m 0644 {at} {}", quote(&format!("/etc/yum.repos.d/{file_name}"))));
    } else if keep == Keep::Copy {
        // Before the `RUN`, so a local build's dnf reads it from
        // /etc/yum.repos.d as the `install` would have; its digest is in the
        // `RUN`'s line too, the step that reads it.
        copies.push(Instruction {
            comment: None,
            kind: InstructionKind::Copy {
                src: file.context_path.clone(),
                dest: format!("/etc/yum.repos.d/{file_name}"),
                mode: "0644".to_string(),
            },
        });
        run.input(&file.context_path, &file.digest);
    } else {
        let target = format!("/run/aid/repos/{file_name}");
        run.mount(format!("type=bind,source={},target={target}", file.context_path));
        run.input(&file.context_path, &file.digest);
        if !dirs.contains(&"/run/aid/repos") {
            dirs.push("/run/aid/repos");
        }
    }
}

fn dnf(action: &str, setup: &RepoSetup, names: &[String]) -> String {
    let mut words = vec!["dnf5".to_string(), "-y".to_string(), action.to_string()];
    if action == "install" {
        words.push("--allowerasing".to_string());
    }
    if setup.hermetic {
        // Split on purpose: one or more options, set by `RepoSetup::choose`.
        words.push("$DNF5_OPTS".to_string());
    } else if action == "install" {
        words.extend(setup.options.iter().cloned());
    }
    words.extend(names.iter().map(|n| quote(n)));
    words.join(" ")
}

/// The image a builder stage starts from: the base's `builder` (the Fedora
/// bases name Fedora's plain container image of their release, which has
/// no kernel and no ostree, as ublue-os/akmods builds its kmods in
/// `quay.io/fedora/fedora:<release>`: Containerfile.in,
/// build_files/prep/build-prep.sh); for a base that names none, the base
/// image itself.
pub fn builder_image(variant: &Variant) -> String {
    let builder = match &variant.from {
        model::From::Base { component, .. } => {
            variant.components[*component].properties.get("builder").and_then(|p| p.as_str()).map(str::to_string)
        }
        _ => None,
    };
    builder.unwrap_or_else(|| match &variant.from {
        model::From::Base { reference, .. }
        | model::From::Project { reference, .. }
        | model::From::Reference { reference, .. } => reference.clone(),
    })
}

/// The layers of a variant, in the given order, then the finishing step;
/// a layer `memo` (of the image's variants planned so far) has is reused
/// (plan/memo.rs says why that is sound).
#[allow(clippy::too_many_arguments)]
pub fn layers<'a>(
    variant: &'a Variant,
    order: &[usize],
    inputs: &Inputs,
    hermetic: Option<&model::Pipeline>,
    files: &mut Files,
    diagnostics: &mut Diagnostics,
    memo: &mut Memo<'a>,
) -> Vec<Rc<Layer>> {
    let keys = hermetic.map(|p| super::hermetic::keys(variant, p).0);
    let hermetic = keys.as_ref();
    let mut out = Vec::new();
    for &index in order {
        let c = &variant.components[index];
        if c.kind == ComponentKind::Base {
            continue;
        }
        let reads = Reads::component(variant, c, hermetic.is_some());
        if let Some(layer) = memo.layer(reads, hermetic, files, diagnostics, |image, files, d| {
            component(image, variant, c, inputs, hermetic, files, d)
        }) && (!layer.instructions.is_empty() || !layer.labels.is_empty())
        {
            out.push(layer);
        }
        if c.kind == ComponentKind::Kernel
            && let Some(layer) =
                memo.layer(Reads::signature(variant, c), hermetic, files, diagnostics, |image, files, d| {
                    kernel_signature(image, variant, c, inputs, hermetic, files, d)
                })
        {
            out.push(layer);
        }
    }
    let initramfs = variant.components.iter().any(|c| matches!(c.kind, ComponentKind::Kernel | ComponentKind::Kmod));
    out.push(memo.finish(initramfs, || finish(initramfs, files)));
    out
}

fn describe(c: &Component) -> String {
    // Long arguments (checksum tables) would drown the comment.
    let args: Vec<&str> = c.args.values().map(|a| if a.len() > 40 { "..." } else { a.as_str() }).collect();
    match c.kind {
        ComponentKind::Body => format!("{}: the recipe's own steps", c.name),
        _ if args.is_empty() => c.name.clone(),
        _ => format!("{}({})", c.name, args.join(", ")),
    }
}

fn layer_of(c_name: &str, instructions: Vec<Instruction>, builder: Option<Builder>, is_kernel: bool) -> Layer {
    layer_keyed(c_name, instructions, builder, is_kernel, None)
}

/// [`layer_of`], its key given when the caller has it (`relocated`).
fn layer_keyed(
    c_name: &str,
    instructions: Vec<Instruction>,
    builder: Option<Builder>,
    is_kernel: bool,
    key: Option<String>,
) -> Layer {
    let key = match (&builder, key) {
        (Some(b), _) => super::key::of_layer(&instructions, &[b.key.as_bytes()]),
        (None, Some(key)) => {
            debug_assert_eq!(key, super::key::of_layer(&instructions, &[]), "a given key is not the layer's");
            key
        }
        (None, None) => super::key::of_layer(&instructions, &[]),
    };
    let secrets = if builder.as_ref().is_some_and(|b| b.instructions.iter().any(uses_secret)) {
        builder_secret(&builder)
    } else {
        Vec::new()
    };
    Layer {
        component: c_name.to_string(),
        key,
        instructions: instructions.into(),
        is_kernel,
        builder,
        labels: Vec::new(),
        secrets,
        per_arch: false,
    }
}

/// `layer`, planned for one image's name, as planning it for another name
/// gives it: `rename` gives each of its texts with the new name, and its
/// keys are made again (a builder's is the digest of its last instruction,
/// which the layer's own inputs name). `None` when the new name makes two
/// mounts or two inputs of one `RUN` the same: planning would have written
/// the second one not at all (`Run::mount`, `Run::input`). Only sound where
/// plan/memo.rs checked that planning names the image and reads nothing
/// else of it. `key` is the renamed layer's key when the caller has it
/// (a layer without a builder: plan/memo.rs).
pub fn relocated(layer: &Layer, rename: &dyn Fn(&str) -> String, key: Option<String>) -> Option<Layer> {
    let text = |s: &String| rename(s);
    let instruction = |i: &Instruction| Instruction {
        comment: i.comment.as_ref().map(text),
        kind: match &i.kind {
            InstructionKind::Run { mounts, inputs, commands } => InstructionKind::Run {
                mounts: mounts.iter().map(text).collect(),
                inputs: inputs.iter().map(|(what, digest)| (text(what), text(digest))).collect(),
                commands: commands.iter().map(text).collect(),
            },
            InstructionKind::Env { name, value } => InstructionKind::Env { name: text(name), value: text(value) },
            InstructionKind::Label { key, value } => InstructionKind::Label { key: text(key), value: text(value) },
            InstructionKind::Copy { src, dest, mode } => {
                InstructionKind::Copy { src: text(src), dest: text(dest), mode: text(mode) }
            }
            InstructionKind::Arg { name, default } => InstructionKind::Arg { name: text(name), default: text(default) },
        },
    };
    let builder = layer.builder.as_ref().map(|b| {
        let instructions: Vec<Instruction> = b.instructions.iter().map(instruction).collect();
        let key = instructions.last().map_or_else(|| b.key.clone(), super::key::of_instruction);
        Builder { module: text(&b.module), role: b.role, from: text(&b.from), key, instructions }
    });
    let mut instructions: Vec<Instruction> = layer.instructions.iter().map(instruction).collect();
    if let (Some(old), Some(new)) = (&layer.builder, &builder)
        && old.key != new.key
    {
        // The install names its builder's output by the builder's key.
        let output = format!("stage:{BUILDER}");
        for i in &mut instructions {
            if let InstructionKind::Run { inputs, .. } = &mut i.kind {
                for (what, digest) in inputs.iter_mut() {
                    if *what == output && *digest == old.key {
                        digest.clone_from(&new.key);
                    }
                }
            }
        }
    }
    let builder_instructions = builder.as_ref().map_or(&[][..], |b| &b.instructions[..]);
    if instructions.iter().chain(builder_instructions).any(repeats) {
        return None;
    }
    let mut out = layer_keyed(&text(&layer.component), instructions, builder, layer.is_kernel, key);
    out.labels = layer.labels.iter().map(|(k, v)| (text(k), text(v))).collect();
    out.per_arch = layer.per_arch;
    Some(out)
}

/// Whether a `RUN` holds a mount or an input twice, which planning never writes.
fn repeats(i: &Instruction) -> bool {
    fn twice<T: Eq + std::hash::Hash>(items: &[T]) -> bool {
        // A few (most `RUN`s): compared in place; many: a set, not n².
        if items.len() <= 16 {
            return items.iter().enumerate().any(|(i, item)| items[..i].contains(item));
        }
        let mut seen = crate::maps::HashSet::default();
        !items.iter().all(|item| seen.insert(item))
    }
    matches!(&i.kind, InstructionKind::Run { mounts, inputs, .. } if twice(mounts) || twice(inputs))
}

fn uses_secret(i: &Instruction) -> bool {
    matches!(&i.kind, InstructionKind::Run { mounts, .. } if mounts.iter().any(|m| m.starts_with("type=secret,")))
}

/// The build secrets a builder's steps mount. A mount's id is already
/// `SecretMount::of(key).id`, and `SecretMount::of` of an id gives the
/// same mount back.
fn builder_secret(builder: &Option<Builder>) -> Vec<SecretMount> {
    let mut out = Vec::new();
    for i in builder.iter().flat_map(|b| &b.instructions) {
        if let InstructionKind::Run { mounts, .. } = &i.kind {
            for m in mounts {
                if let Some(rest) = m.strip_prefix("type=secret,id=") {
                    out.push(SecretMount::of(rest.split(',').next().unwrap_or(rest)));
                }
            }
        }
    }
    out
}

/// The kernel's name (`kernel`, `kernel-longterm`) in a variant, if it pins one.
pub(super) fn kernel_name(variant: &Variant) -> Option<String> {
    variant.kernel().map(|k| k.properties.get("package").and_then(|p| p.as_str()).unwrap_or("kernel").to_string())
}

/// Mounts the recipe's signing key and certificate into a builder `RUN`.
fn signing_mounts(run: &mut Run, variant: &Variant, inputs: &Inputs, diagnostics: &mut Diagnostics) -> Option<bool> {
    let Some(s) = &variant.signing else { return Some(false) };
    let Some(cert) = inputs.entries.get(&s.cert) else {
        diagnostics.push(missing_input(&s.cert, s.span));
        return None;
    };
    run.mount(format!("type=bind,source={},target={CERT}", s.cert));
    run.input(&s.cert, &cert.digest);
    // The id Konflux's buildah gives a file of a build secret: `<secret>/<file>`.
    // Not `required`: pull-request builds have no key and say so with
    // `AID_KMOD_SIGNING=unsigned` (the builder declares it: [`signing_arg`]);
    // without that the builder's script refuses to go on without the key
    // (docs/konflux.md, "Keyless pull requests").
    let id = SecretMount::of(&s.key).id;
    run.mount(format!("type=secret,id={id},target={KEY}"));
    Some(true)
}

/// Installs the recipe's public certificate in the image, for `mokutil
/// --import` on the target machine (ublue ships its own the same way:
/// ublue-os-akmods-addons.spec, /etc/pki/akmods/certs).
fn install_cert(run: &mut Run, image: &str, variant: &Variant, inputs: &Inputs) {
    if let Some(s) = &variant.signing
        && let Some(cert) = inputs.entries.get(&s.cert)
    {
        let at = run.context(&s.cert, cert);
        // The public certificate, for `mokutil --import` on the target machine.
        run.commands.push(format!("install -D -m 0644 {at} {}", quote(&super::kmod_cert_path(image))));
    }
}

/// Secure Boot for a replaced kernel: a builder stage signs the image's
/// `vmlinuz` with the recipe's key (`sbsign`) and checks it against the
/// recipe's certificate (`sbverify --cert`); this layer puts the signed
/// file in place and checks it is the one the builder verified. After
/// ublue-os/akmods fetch-kernel.sh, which signs every kernel it ships.
fn kernel_signature(
    image: &str,
    variant: &Variant,
    kernel: &Component,
    inputs: &Inputs,
    hermetic: Option<&Keys>,
    files: &mut Files,
    diagnostics: &mut Diagnostics,
) -> Option<Layer> {
    variant.signing.as_ref()?;
    // A kernel its vendor signed (Fedora's) keeps that signature next to
    // the recipe's; any other signature is removed first, as ublue does for
    // kernels that are not Fedora's.
    let keep = matches!(kernel.properties.get("vendor-signed"), Some(model::Property::Bool(true)));
    let script = files.script("aid-kernel-sign.sh");

    let mut b = Run::default();
    b.mount(DNF_CACHE.to_string());
    b.mount(VAR_LOG.to_string());
    b.mount(TMP.to_string());
    let at = b.script(&script);
    b.mount(format!("type=bind,from={KERNEL_STAGE},source=/usr/lib/modules,target={KERNEL_MODULES}"));
    signing_mounts(&mut b, variant, inputs, diagnostics)?;
    if let Some(keys) = hermetic {
        // The signer installs sbsigntools and openssl with dnf.
        let choose = RepoSetup::hermetic(keys).choose(&mut b, inputs);
        b.commands.push(choose);
    }
    b.commands.push(format!(
        "sh {at} sign {KERNEL_MODULES} {CERT} {KEY} /out {}",
        if keep { "keep-signatures" } else { "replace-signatures" }
    ));
    let sign = b.into_instruction(format!("sign the kernel of {} with the recipe's key", describe(kernel)))?;
    let builder_key = super::key::of_instruction(&sign);
    let builder = Builder {
        module: "kernel".to_string(),
        role: "sign",
        from: builder_image(variant),
        key: builder_key.clone(),
        instructions: vec![signing_arg(), sign],
    };

    let mut r = Run::default();
    let at = r.script(&script);
    r.mount(format!("type=bind,from={BUILDER},source=/out,target=/run/aid/signed"));
    r.input(&format!("stage:{BUILDER}"), &builder_key);
    r.commands.push(format!("sh {at} install /run/aid/signed"));
    install_cert(&mut r, image, variant, inputs);
    let install = r.into_instruction(format!("the kernel of {} signed for Secure Boot", describe(kernel)))?;
    Some(layer_of(&format!("{} signature", kernel.name), vec![install], Some(builder), false))
}

/// The step every variant ends with, right before `bootc container lint`
/// (ublue-os/main build_files/initramfs.sh and post-install.sh): make
/// `/usr/local` and `/opt` directories of the image, regenerate the
/// initramfs when the variant changes the kernel or its modules (after
/// every module and modprobe file is in place), and empty `/boot` and `/var`.
fn finish(initramfs: bool, files: &mut Files) -> Layer {
    let script = files.script("aid-finalize.sh");
    let mut r = Run::default();
    let at = r.script(&script);
    r.commands.push(format!("sh {at} {}", if initramfs { "initramfs" } else { "keep-initramfs" }));
    let comment = if initramfs {
        "the initramfs for the image's kernel, /usr/local, /boot and /var made right for bootc"
    } else {
        "/usr/local, /boot and /var made right for bootc"
    };
    let instruction = r.into_instruction(comment.to_string()).expect("a command was added");
    layer_of("finish", vec![instruction], None, false)
}

/// The `.flatpakrepo` and preinstall service of a Flatpak step.
fn flatpak_remote(run: &mut Run, r: &model::Repo, image: &str, files: &mut Files) {
    let target = format!("/etc/flatpak/remotes.d/{}.flatpakrepo", slug(&r.id));
    let RepoSource::Flatpak { url, sha256, content } = &r.source else { return };
    match content {
        Some(text) => {
            let mut text = text.clone();
            if !text.ends_with('\n') {
                text.push('\n');
            }
            let file = files.add(&format!("{image}/flatpak/{}.flatpakrepo", slug(&r.id)), text);
            let at = run.support(&file);
            run.commands.push(format!("install -D -m 0644 {at} {}", quote(&target)));
        }
        None => {
            run.mount(TMP.to_string());
            let at = format!("/run/aid/tmp/{}.flatpakrepo", slug(&r.id));
            run.download(url, sha256.as_deref().unwrap_or(""), &at);
            run.commands.push(format!("install -D -m 0644 {} {}", quote(&at), quote(&target)));
        }
    }
}

/// The unit that runs `flatpak preinstall -y` at boot: the preinstall.d
/// files take effect only when it runs ("the OS runs `flatpak preinstall
/// -y` on system startup", flatpak-preinstall(1)), and Fedora ships no unit
/// for it.
const PREINSTALL_UNIT: &str = "aid-flatpak-preinstall.service";
const PREINSTALL_SERVICE: &str = "\
[Unit]
Description=Install the Flatpaks listed in /usr/share/flatpak/preinstall.d
Documentation=man:flatpak-preinstall(1)
Wants=network-online.target
After=network-online.target
ConditionPathExists=/usr/bin/flatpak
ConditionDirectoryNotEmpty=/usr/share/flatpak/preinstall.d

[Service]
Type=oneshot
ExecStart=/usr/bin/flatpak preinstall -y
Restart=on-failure
RestartSec=30

[Install]
WantedBy=multi-user.target
";

fn component(
    image: &str,
    variant: &Variant,
    c: &Component,
    inputs: &Inputs,
    hermetic: Option<&Keys>,
    files: &mut Files,
    diagnostics: &mut Diagnostics,
) -> Option<Layer> {
    let image_name = image;
    let mut run = Run::default();
    let mut builder = None;
    let needs_dnf = c.steps.iter().any(|s| matches!(s.kind, StepKind::Packages { .. } | StepKind::Remove { .. }))
        || matches!(c.kind, ComponentKind::Kernel | ComponentKind::Kmod);
    if needs_dnf {
        run.mount(DNF_CACHE.to_string());
        run.mount(VAR_LOG.to_string());
    }
    let setup = repositories(&mut run, &c.repos, variant, image_name, files, hermetic, true);
    // A hermetic step's dnf options: every dnf command of the `RUN` reads them,
    // the bzip2 guard of a `.tar.bz2` fetch included.
    let bzip2 =
        c.steps.iter().any(|s| matches!(&s.kind, StepKind::Fetch { url, extract: Some(_), .. } if is_bzip2(url)));
    if setup.hermetic && (needs_dnf || bzip2) {
        let choose = setup.choose(&mut run, inputs);
        run.commands.push(choose);
    }
    let hermetic = setup.hermetic;

    // Phase 1: the kernel or kmod procedure, when the component is one.
    match c.kind {
        ComponentKind::Kernel => kernel_procedure(&mut run, c, &setup, files),
        ComponentKind::Kmod => {
            let (b, install) = kmod(image, variant, c, &setup, inputs, files, diagnostics)?;
            builder = Some(b);
            for m in install.mounts {
                run.mount(m);
            }
            for (w, d) in install.inputs {
                run.input(&w, &d);
            }
            run.commands.extend(install.commands);
            install_cert(&mut run, image, variant, inputs);
        }
        _ => {}
    }

    // Phase 2: the component's own steps, in the order written.
    let mut steps = Steps {
        run,
        files,
        image_name,
        component_dir: format!("{image_name}/files/{}", slug(&c.name)),
        remotes_done: Vec::new(),
        unit_done: false,
        envs: Vec::new(),
        labels: Vec::new(),
    };
    for (n, step) in c.steps.iter().enumerate() {
        if let Err(path) = steps.step(n, step, c, variant, &setup, inputs, hermetic) {
            diagnostics.push(missing_input(path, step.span));
        }
    }
    let Steps { run, envs, labels, .. } = steps;

    // Phase 3: one line per RUN command, then the layer.
    if has_line_break(&run, &envs) {
        diagnostics.push(line_break(c, "this component"));
        return None;
    }
    let mut instructions = setup.copies;
    if let Some(i) = run.into_instruction(describe(c)) {
        instructions.push(i);
    }
    instructions.extend(envs);
    let mut layer = layer_of(&c.name, instructions, builder, c.kind == ComponentKind::Kernel);
    layer.labels = labels;
    Some(layer)
}

/// The refusal when [`has_line_break`] finds one in `c`'s lines.
fn line_break(c: &Component, label: &str) -> Diagnostic {
    Diagnostic::error(
        Code::TextContent,
        format!("a value of `{}` contains a line break where the Containerfile needs one line", c.name),
    )
    .label(c.span, label.to_string())
    .help("names, versions and paths are one line; put text over several lines in a file with `write`")
}

/// Last line of defence: a line break in a RUN line would end the
/// instruction and start another. Validation refuses them earlier.
fn has_line_break(run: &Run, envs: &[Instruction]) -> bool {
    run.commands.iter().chain(&run.mounts).any(|t| t.contains(['\n', '\r']))
        || envs.iter().any(|e| matches!(&e.kind, InstructionKind::Env { value, .. } if value.contains(['\n', '\r'])))
}

/// The kernel procedure: `aid-kernel.sh` with the kernel's package name
/// and the packages to install (the name and `-core` when none are given).
fn kernel_procedure(run: &mut Run, c: &Component, setup: &RepoSetup, files: &mut Files) {
    let name = c.properties.get("package").and_then(|p| p.as_str()).unwrap_or("kernel").to_string();
    let packages = package_names(c);
    let packages = if packages.is_empty() { vec![name.clone(), format!("{name}-core")] } else { packages };
    let script = files.script("aid-kernel.sh");
    let at = run.script(&script);
    let mut words = vec!["sh".to_string(), at, quote(&name)];
    words.extend(packages.iter().map(|p| quote(p)));
    if !setup.options.is_empty() && !setup.hermetic {
        // The script runs dnf itself; pass the repository options through the
        // environment (a hermetic step's `RepoSetup::choose` has).
        run.commands.push(format!("export DNF5_OPTS={}", quote(&setup.options.join(" "))));
    }
    run.commands.push(words.join(" "));
}

/// A component's steps while they become one RUN instruction, `ENV`s and labels.
struct Steps<'f> {
    run: Run,
    files: &'f mut Files,
    image_name: &'f str,
    /// Where the component's support files go in the output directory.
    component_dir: String,
    /// Flatpak remotes already added, and whether the preinstall unit is.
    remotes_done: Vec<String>,
    unit_done: bool,
    envs: Vec<Instruction>,
    labels: Vec<(String, String)>,
}

impl Steps<'_> {
    /// Adds the `n`th step; `Err` names a context input that was not hashed.
    #[allow(clippy::too_many_arguments)]
    fn step<'s>(
        &mut self,
        n: usize,
        step: &'s model::Step,
        c: &Component,
        variant: &Variant,
        setup: &RepoSetup,
        inputs: &Inputs,
        hermetic: bool,
    ) -> Result<(), &'s str> {
        let run = &mut self.run;
        match &step.kind {
            // A kernel or kmod's packages are installed by its procedure.
            StepKind::Packages { .. } if matches!(c.kind, ComponentKind::Kernel | ComponentKind::Kmod) => {}
            StepKind::Packages { names } => run.commands.push(dnf("install", setup, names)),
            StepKind::Remove { names } => run.commands.push(dnf("remove", setup, names)),
            StepKind::Fetch { url, sha256, extract, to, mode } => {
                fetch(run, n, url, sha256, extract.as_deref(), to, mode.as_deref(), hermetic)
            }
            StepKind::Copy { src, to, mode, .. } => {
                let input = inputs.entries.get(src).ok_or(src.as_str())?;
                let at = run.context(src, input);
                if input.is_dir {
                    run.commands.push(format!("mkdir -p {}", quote(to)));
                    run.commands.push(format!("cp -a {at}/. {}", quote(to)));
                    if let Some(m) = mode {
                        run.commands.push(format!("chmod {m} {}", quote(to)));
                    }
                } else {
                    let mode = mode.as_deref().unwrap_or("0644");
                    run.commands.push(format!("install -D -m {mode} {at} {}", quote(to)));
                }
            }
            StepKind::Write { dest, content, mode } => {
                let base = slug(dest.rsplit('/').next().unwrap_or("file"));
                let at = self.support_text(&format!("{}/{n}-{base}", self.component_dir), content);
                let mode = mode.as_deref().unwrap_or("0644");
                self.run.commands.push(format!("install -D -m {mode} {at} {}", quote(dest)));
            }
            StepKind::Run { shell: RunSource::Inline(script) } => {
                let at = self.support_text(&format!("{}/{n}-run.sh", self.component_dir), script);
                self.run.commands.push(format!("sh -e {at}"));
            }
            StepKind::Run { shell: RunSource::Script(path) } => {
                let input = inputs.entries.get(path).ok_or(path.as_str())?;
                let at = run.context(path, input);
                run.commands.push(format!("sh -e {at}"));
            }
            // `--global`: user units, linked in /etc/systemd/user for every user.
            StepKind::Enable { unit, global } => run.commands.push(systemctl("enable", unit, *global)),
            StepKind::Disable { unit, global } => run.commands.push(systemctl("disable", unit, *global)),
            StepKind::Kargs { args } => {
                let list: Vec<String> = args.iter().map(|a| toml_string(a)).collect();
                let name = format!("10-{}-{n}.toml", slug(&c.name));
                let file = self
                    .files
                    .add(&format!("{}/kargs.d/{name}", self.image_name), format!("kargs = [{}]\n", list.join(", ")));
                let at = run.support(&file);
                run.commands
                    .push(format!("install -D -m 0644 {at} {}", quote(&format!("/usr/lib/bootc/kargs.d/{name}"))));
            }
            StepKind::Flatpak { app } => self.flatpak(app, c, variant),
            StepKind::Env { name, value } => self.envs.push(Instruction {
                comment: None,
                kind: InstructionKind::Env { name: name.clone(), value: super::containerfile_string(value) },
            }),
            StepKind::Label { key, value } => self.labels.push((key.clone(), value.clone())),
        }
        Ok(())
    }

    /// Writes `text` (ending in a line break) as the support file `path`
    /// and mounts it; where it is mounted.
    fn support_text(&mut self, path: &str, text: &str) -> String {
        let mut text = text.to_string();
        if !text.ends_with('\n') {
            text.push('\n');
        }
        let file = self.files.add(path, text);
        self.run.support(&file)
    }

    /// `flatpak APP`: the component's Flatpak remotes (once each), the
    /// preinstall file, and once per layer the unit that runs `flatpak
    /// preinstall` at boot.
    fn flatpak(&mut self, app: &str, c: &Component, variant: &Variant) {
        for r in c.repos.iter().map(|i| &variant.repos[*i]) {
            if matches!(r.source, RepoSource::Flatpak { .. }) && !self.remotes_done.contains(&r.id) {
                self.remotes_done.push(r.id.clone());
                flatpak_remote(&mut self.run, r, self.image_name, self.files);
            }
        }
        let content = format!("[Flatpak Preinstall {app}]\nBranch=stable\n");
        let file = self.files.add(&format!("{}/preinstall.d/{app}.preinstall", self.image_name), content);
        let at = self.run.support(&file);
        self.run.commands.push(format!(
            "install -D -m 0644 {at} {}",
            quote(&format!("/usr/share/flatpak/preinstall.d/{app}.preinstall"))
        ));
        if !self.unit_done {
            self.unit_done = true;
            let unit = self
                .files
                .add(&format!("{}/systemd/{PREINSTALL_UNIT}", self.image_name), PREINSTALL_SERVICE.to_string());
            let at = self.run.support(&unit);
            self.run.commands.push(format!("install -D -m 0644 {at} /usr/lib/systemd/system/{PREINSTALL_UNIT}"));
            self.run.commands.push(format!("systemctl enable {PREINSTALL_UNIT}"));
        }
    }
}

/// `systemctl [--global] enable|disable UNIT`.
fn systemctl(action: &str, unit: &str, global: bool) -> String {
    format!("systemctl{} {action} {}", if global { " --global" } else { "" }, quote(unit))
}

/// `fetch`: the download (checked against its digest, or taken from
/// Konflux's prefetch when the build is hermetic), then the file or the
/// archive member installed.
#[allow(clippy::too_many_arguments)]
fn fetch(
    run: &mut Run,
    n: usize,
    url: &str,
    sha256: &str,
    extract: Option<&str>,
    to: &str,
    mode: Option<&str>,
    hermetic: bool,
) {
    run.mount(TMP.to_string());
    let download = format!("/run/aid/tmp/fetch-{n}");
    let sum = sha256.strip_prefix("b3:").unwrap_or(sha256);
    if hermetic {
        run.download_prefetched(url, sum, &download);
    } else {
        run.download(url, sum, &download);
    }
    let mode = mode.unwrap_or("0755");
    let Some(member) = extract else {
        run.commands.push(format!("install -D -m {mode} {download} {}", quote(to)));
        return;
    };
    let dir = format!("/run/aid/tmp/extract-{n}");
    // GNU tar runs `bzip2` for a .tar.bz2 (the Goose release archives are;
    // block/goose build-cli.yml); not every base has it. The `||` is grouped:
    // in `sha256sum -c … && command -v bzip2 || dnf5 … && tar …` a failed
    // checksum would run dnf5, whose success carries the chain on to `tar`.
    if is_bzip2(url) {
        run.mount(DNF_CACHE.to_string());
        run.mount(VAR_LOG.to_string());
        run.commands.push(if hermetic { ENSURE_BZIP2_HERMETIC } else { ENSURE_BZIP2 }.to_string());
    }
    run.commands.push(format!("mkdir -p {dir}"));
    run.commands.push(format!("tar -xf {download} -C {dir} {}", quote(member)));
    run.commands.push(format!("install -D -m {mode} {} {}", quote(&format!("{dir}/{member}")), quote(to)));
}

/// A download GNU tar unpacks with `bzip2`, which its step installs when
/// the base lacks it (and a hermetic build's prefetch lists).
pub fn is_bzip2(url: &str) -> bool {
    url.ends_with(".bz2") || url.ends_with(".tbz2") || url.ends_with(".tbz")
}

/// Every package a component's `packages` statements name, in order (the
/// kernel and kmod procedures install them themselves).
fn package_names(c: &Component) -> Vec<String> {
    c.steps
        .iter()
        .filter_map(|s| match &s.kind {
            StepKind::Packages { names } => Some(names.iter().cloned()),
            _ => None,
        })
        .flatten()
        .collect()
}

fn missing_input(path: &str, span: crate::source::Span) -> Diagnostic {
    Diagnostic::error(Code::MissingInput, format!("`{path}` does not exist in the build context"))
        .label(span, "this step reads it")
        .help("paths are relative to the recipe's directory; create the file or fix the path")
}

/// The install half of a kmod, merged into the component's `RUN`.
struct KmodInstall {
    mounts: Vec<String>,
    inputs: Vec<(String, String)>,
    commands: Vec<String>,
}

/// The repositories (indexes into the variant's) a kmod's builder sees:
/// the kernel's, then the module's it does not have yet.
pub(super) fn builder_repos(variant: &Variant, c: &Component) -> Vec<usize> {
    let mut repos: Vec<usize> = variant.kernel().map(|k| k.repos.clone()).unwrap_or_default();
    for r in &c.repos {
        if !repos.contains(r) {
            repos.push(*r);
        }
    }
    repos
}

/// A kmod: its builder stage and what installs its output in the image.
///
/// The builder is a plain Fedora image (ublue-os/akmods build-prep.sh), not
/// the ostree image: `akmod-nvidia`'s `%post` runs `akmods-ostree-post` on
/// ostree, whose `akmodsbuild` refuses root. It sees the kernel's
/// repositories as well as the module's (the exact `-devel` and
/// `-devel-matched` packages of a COPR kernel exist only in its COPR:
/// ublue-os/akmods fetch-kernel.sh) and reads the kernel release from the
/// kernel stage.
fn kmod(
    image: &str,
    variant: &Variant,
    c: &Component,
    setup: &RepoSetup,
    inputs: &Inputs,
    files: &mut Files,
    diagnostics: &mut Diagnostics,
) -> Option<(Builder, KmodInstall)> {
    let kname = kernel_name(variant).unwrap_or_else(|| "kernel".to_string());
    let text = |key: &str, default: &str| c.properties.get(key).and_then(|p| p.as_str()).unwrap_or(default).to_string();
    let module = text("module", "kmod");
    let version = text("version", "");
    let akmod = text("akmod", &format!("akmod-{module}"));
    let variant_conf = text("module-variant", "-");
    let build_packages: Vec<String> = match c.properties.get("build-packages") {
        Some(model::Property::List(items)) => items.iter().filter_map(|p| p.as_str().map(str::to_string)).collect(),
        _ => Vec::new(),
    };
    let userspace = package_names(c);

    // The builder: the kernel's and the module's repositories, the key.
    let mut b = Run::default();
    b.mount(DNF_CACHE.to_string());
    b.mount(VAR_LOG.to_string());
    let repos = builder_repos(variant, c);
    let b_setup = repositories(&mut b, &repos, variant, image, files, setup.hermetic.then_some(&setup.keys), false);
    let script = files.script("aid-kmod-build.sh");
    let at = b.script(&script);
    b.mount(format!("type=bind,from={KERNEL_STAGE},source=/usr/lib/modules,target={KERNEL_MODULES}"));
    let signed = signing_mounts(&mut b, variant, inputs, diagnostics)?;
    if signed {
        // akmods builds as the unprivileged `akmods` user (runuser in
        // akmods), and a build secret is mounted 0400 root: the script copies
        // the key here, readable by that group, on a tmpfs so it is in no layer.
        b.mount("type=tmpfs,target=/etc/pki/akmods/private".to_string());
    }
    if b_setup.hermetic {
        let choose = b_setup.choose(&mut b, inputs);
        b.commands.push(choose);
    } else if !b_setup.options.is_empty() {
        b.commands.push(format!("export DNF5_OPTS={}", quote(&b_setup.options.join(" "))));
    }
    let (cert, key) = if signed { (CERT, KEY) } else { ("-", "-") };
    let mut words = vec![
        "sh".to_string(),
        at,
        quote(&kname),
        quote(&module),
        quote(&version),
        quote(&akmod),
        quote(&variant_conf),
        KERNEL_MODULES.to_string(),
        cert.to_string(),
        key.to_string(),
    ];
    words.extend(build_packages.iter().map(|p| quote(p)));
    b.commands.push(words.join(" "));
    // The same last line of defence as a layer's RUN (validation refuses these earlier).
    if has_line_break(&b, &[]) {
        diagnostics.push(line_break(c, "this module"));
        return None;
    }
    let builder_instruction =
        b.into_instruction(format!("build and sign {} against the image's kernel", describe(c)))?;
    let builder_key = super::key::of_instruction(&builder_instruction);
    let mut instructions = vec![builder_instruction];
    if signed {
        instructions.insert(0, signing_arg());
    }
    let builder = Builder {
        module: module.clone(),
        role: "kmod",
        from: builder_image(variant),
        key: builder_key.clone(),
        instructions,
    };

    // The install: the builder's output, the userspace of the same version.
    let mut r = Run::default();
    let script = files.script("aid-kmod-install.sh");
    let at = r.script(&script);
    r.mount(format!("type=bind,from={BUILDER},source=/out,target=/run/aid/kmods"));
    r.input(&format!("stage:{BUILDER}"), &builder_key);
    if !setup.options.is_empty() && !setup.hermetic {
        r.commands.push(format!("export DNF5_OPTS={}", quote(&setup.options.join(" "))));
    }
    let mut words = vec![
        "sh".to_string(),
        at,
        "/run/aid/kmods".to_string(),
        quote(&kname),
        quote(&module),
        quote(&version),
        quote(&akmod),
    ];
    words.extend(userspace.iter().map(|p| quote(p)));
    r.commands.push(words.join(" "));
    Some((builder, KmodInstall { mounts: r.mounts, inputs: r.inputs, commands: r.commands }))
}

#[cfg(test)]
mod tests {
    use super::key_names;

    fn names(ids: &[&str]) -> Vec<String> {
        let files: Vec<(String, String)> = ids.iter().map(|id| (id.to_string(), format!("keys/{id}.asc"))).collect();
        key_names(&files)
    }

    #[test]
    fn key_targets_keep_their_slug_when_alone() {
        assert_eq!(names(&["fedora-nvidia", "cuda.x86_64"]), ["fedora-nvidia", "cuda.x86_64"]);
    }

    #[test]
    fn key_targets_never_collide() {
        // `a:b` and `a-b` share the slug `a-b`; `a-b-2` is a third id's own slug.
        let got = names(&["a:b", "a-b", "a-b-2", "a/b"]);
        assert_eq!(got, ["a-b", "a-b-3", "a-b-2", "a-b-4"]);
        let distinct: std::collections::BTreeSet<&String> = got.iter().collect();
        assert_eq!(distinct.len(), got.len());
    }
}
