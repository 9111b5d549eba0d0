//! One variant component becomes one layer: a single `RUN` that does all it
//! says (packages with its repositories enabled for that command only,
//! downloads checked against their SHA-256, files installed from bind
//! mounts, units, kernel arguments, Flatpaks), plus its `ENV`s. Every input
//! the `RUN` reads from a bind mount has its digest in the `RUN` line,
//! because buildah does not hash bind-mounted files (buildah 1.28 reuses the
//! cached layer after such a file changed).

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

/// A planned layer.
#[derive(Clone, Debug)]
pub struct Layer {
    pub component: String,
    /// The digest of everything that makes this layer: its instructions and inputs.
    pub key: String,
    pub instructions: Vec<Instruction>,
    /// The kernel layer: kmod builder stages start from here.
    pub is_kernel: bool,
    /// A kmod's builder stage, built from the state right after the kernel layer.
    pub builder: Option<Builder>,
    pub labels: Vec<(String, String)>,
    pub secrets: Vec<SecretMount>,
}

/// A kmod builder stage. Its instructions use the secret; the layer that
/// installs its output refers to it as [`BUILDER`] until stages are named.
#[derive(Clone, Debug)]
pub struct Builder {
    pub module: String,
    pub key: String,
    pub instructions: Vec<Instruction>,
}

/// `ARG AID_KMOD_SIGNING=signed`: read by the kmod build script and the
/// final stage's label; pull-request builds pass `unsigned`.
pub fn signing_arg() -> Instruction {
    Instruction {
        comment: None,
        kind: InstructionKind::Arg { name: super::SIGNING_ARG.to_string(), default: "signed".to_string() },
    }
}

/// Placeholder for the builder stage's name in a mount; replaced when stages are named.
pub const BUILDER: &str = "@aid-builder@";

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
    /// `--setopt=reposdir=...` and `--enablerepo=...` options.
    options: Vec<String>,
}

/// Makes the component's repositories available to its package steps:
/// generated `.repo` files are bind-mounted, `.repo` URLs downloaded to the
/// tmpfs, existing repositories enabled by id; only for this `RUN`, unless
/// the repository is marked `keep`.
fn repositories(run: &mut Run, c: &Component, variant: &Variant, image: &str, files: &mut Files) -> RepoSetup {
    let mut options = Vec::new();
    let mut dirs: Vec<&str> = Vec::new();
    for r in c.repos.iter().map(|i| &variant.repos[*i]) {
        let file_name = super::repo_file("", &r.id).trim_start_matches("/repos/").to_string();
        match &r.source {
            RepoSource::Copr { owner, project } => {
                let group = owner.strip_prefix('@').map(|g| format!("group_{g}")).unwrap_or_else(|| owner.clone());
                let base = format!("https://download.copr.fedorainfracloud.org/results/{group}/{project}");
                let content = format!(
                    "[{id}]\nname=Copr repo for {project} owned by {owner}\nbaseurl={base}/fedora-$releasever-$basearch/\ntype=rpm-md\ngpgcheck=1\ngpgkey={base}/pubkey.gpg\nrepo_gpgcheck=0\nenabled=1\nenabled_metadata=1\n",
                    id = r.id
                );
                let file = files.add(&format!("{image}/repos/{file_name}"), content);
                install_repo(run, &file, &file_name, r.keep, &mut dirs);
            }
            RepoSource::BaseUrl { url, gpgkey } => {
                let gpg = match gpgkey {
                    Some(k) => format!("gpgcheck=1\ngpgkey={k}\n"),
                    None => "gpgcheck=0\n".to_string(),
                };
                let content = format!("[{id}]\nname={name}\nbaseurl={url}\n{gpg}enabled=1\n", id = r.id, name = r.name);
                let file = files.add(&format!("{image}/repos/{file_name}"), content);
                install_repo(run, &file, &file_name, r.keep, &mut dirs);
            }
            RepoSource::File { url } => {
                if r.keep {
                    run.commands.push(format!(
                        "curl -fsSL --retry 3 -o {} {}",
                        quote(&format!("/etc/yum.repos.d/{file_name}")),
                        quote(url)
                    ));
                } else {
                    run.mount(TMP.to_string());
                    run.commands.push("mkdir -p /run/aid/tmp/repos".to_string());
                    run.commands.push(format!(
                        "curl -fsSL --retry 3 -o {} {}",
                        quote(&format!("/run/aid/tmp/repos/{file_name}")),
                        quote(url)
                    ));
                    if !dirs.contains(&"/run/aid/tmp/repos") {
                        dirs.push("/run/aid/tmp/repos");
                    }
                }
            }
            RepoSource::Existing => {
                if r.keep {
                    run.commands.push(format!("dnf5 config-manager setopt {}", quote(&format!("{}.enabled=1", r.id))));
                } else {
                    options.push(format!("--enablerepo={}", quote(&r.id)));
                }
            }
            RepoSource::Flatpak { .. } => {}
        }
    }
    if !dirs.is_empty() {
        let mut all = vec!["/etc/yum.repos.d"];
        all.extend(dirs);
        options.insert(0, format!("--setopt=reposdir={}", all.join(",")));
    }
    RepoSetup { options }
}

fn install_repo(run: &mut Run, file: &SupportFile, file_name: &str, keep: bool, dirs: &mut Vec<&str>) {
    if keep {
        let at = run.support(file);
        run.commands.push(format!("install -D -m 0644 {at} {}", quote(&format!("/etc/yum.repos.d/{file_name}"))));
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
        words.extend(setup.options.iter().cloned());
    }
    words.extend(names.iter().map(|n| quote(n)));
    words.join(" ")
}

/// The layers of a variant, in the given order.
pub fn layers(
    image: &model::Image,
    variant: &Variant,
    order: &[usize],
    inputs: &Inputs,
    hermetic: bool,
    files: &mut Files,
    diagnostics: &mut Diagnostics,
) -> Vec<Layer> {
    let mut out = Vec::new();
    for &index in order {
        let c = &variant.components[index];
        if c.kind == ComponentKind::Base {
            continue;
        }
        if let Some(layer) = component(image, variant, c, inputs, hermetic, files, diagnostics)
            && (!layer.instructions.is_empty() || !layer.labels.is_empty())
        {
            out.push(layer);
        }
    }
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

fn component(
    image: &model::Image,
    variant: &Variant,
    c: &Component,
    inputs: &Inputs,
    hermetic: bool,
    files: &mut Files,
    diagnostics: &mut Diagnostics,
) -> Option<Layer> {
    let image_name = image.name.as_str();
    let component_dir = format!("{image_name}/files/{}", slug(&c.name));
    let mut run = Run::default();
    let mut envs = Vec::new();
    let mut labels = Vec::new();
    let mut secrets = Vec::new();
    let mut builder = None;
    let needs_dnf = c.steps.iter().any(|s| matches!(s.kind, StepKind::Packages { .. } | StepKind::Remove { .. }))
        || matches!(c.kind, ComponentKind::Kernel | ComponentKind::Kmod);
    if needs_dnf {
        run.mount(DNF_CACHE.to_string());
        run.mount(VAR_LOG.to_string());
    }
    let setup = repositories(&mut run, c, variant, image_name, files);

    match c.kind {
        ComponentKind::Kernel => {
            let name = c.properties.get("package").and_then(|p| p.as_str()).unwrap_or("kernel").to_string();
            let packages = package_names(c);
            let packages = if packages.is_empty() { vec![name.clone(), format!("{name}-core")] } else { packages };
            let script = files.script("aid-kernel.sh");
            let at = run.script(&script);
            let mut words = vec!["sh".to_string(), at, quote(&name)];
            words.extend(packages.iter().map(|p| quote(p)));
            if !setup.options.is_empty() {
                // The script runs dnf itself; pass the repository options through the environment.
                run.commands.push(format!("export DNF5_OPTS={}", quote(&setup.options.join(" "))));
            }
            run.commands.push(words.join(" "));
        }
        ComponentKind::Kmod => {
            let (b, install) = kmod(image, variant, c, &setup, inputs, files, diagnostics)?;
            builder = Some(b);
            secrets.extend(variant.signing.as_ref().map(|s| SecretMount::of(&s.key)));
            let Instruction { kind: InstructionKind::Run { mounts, inputs: ins, commands }, .. } = install else {
                return None;
            };
            for m in mounts {
                run.mount(m);
            }
            for (w, d) in ins {
                run.input(&w, &d);
            }
            run.commands.extend(commands);
        }
        _ => {}
    }

    let mut remotes_done: Vec<String> = Vec::new();
    for (n, step) in c.steps.iter().enumerate() {
        match &step.kind {
            StepKind::Packages { names } => {
                if c.kind == ComponentKind::Kernel {
                    continue; // installed by the kernel procedure
                }
                if c.kind == ComponentKind::Kmod {
                    continue; // installed with the built kmod
                }
                run.commands.push(dnf("install", &setup, names));
            }
            StepKind::Remove { names } => run.commands.push(dnf("remove", &setup, names)),
            StepKind::Fetch { url, sha256, extract, to, mode } => {
                run.mount(TMP.to_string());
                let download = format!("/run/aid/tmp/fetch-{n}");
                let sum = sha256.strip_prefix("b3:").unwrap_or(sha256);
                if hermetic {
                    // Konflux prefetched it (no network in the build); a local build downloads it.
                    let prefetched = quote(&super::prefetched_file(sum));
                    run.commands.push(format!(
                        "if [ -f {prefetched} ]; then cp {prefetched} {download}; else curl -fsSL --retry 3 -o {download} {}; fi",
                        quote(url)
                    ));
                } else {
                    run.commands.push(format!("curl -fsSL --retry 3 -o {download} {}", quote(url)));
                }
                // A checksum file rather than a pipe: a failed `echo` cannot hide behind `sha256sum`.
                run.commands.push(format!("printf '%s  %s\\n' {} {download} > {download}.sha256", quote(sum)));
                run.commands.push(format!("sha256sum -c {download}.sha256"));
                let mode = mode.as_deref().unwrap_or("0755");
                match extract {
                    Some(member) => {
                        let dir = format!("/run/aid/tmp/extract-{n}");
                        run.commands.push(format!("mkdir -p {dir}"));
                        run.commands.push(format!("tar -xf {download} -C {dir} {}", quote(member)));
                        run.commands.push(format!(
                            "install -D -m {mode} {} {}",
                            quote(&format!("{dir}/{member}")),
                            quote(to)
                        ));
                    }
                    None => run.commands.push(format!("install -D -m {mode} {download} {}", quote(to))),
                }
            }
            StepKind::Copy { src, to, mode, .. } => {
                let Some(input) = inputs.entries.get(src) else {
                    diagnostics.push(missing_input(src, step.span));
                    continue;
                };
                let at = run.context(src, input);
                if input.is_dir {
                    run.commands.push(format!("mkdir -p {}", quote(to)));
                    run.commands.push(format!("cp -a {at}/. {}", quote(to)));
                    if let Some(m) = mode {
                        run.commands.push(format!("chmod {m} {}", quote(to)));
                    }
                } else {
                    run.commands.push(format!(
                        "install -D -m {} {at} {}",
                        mode.as_deref().unwrap_or("0644"),
                        quote(to)
                    ));
                }
            }
            StepKind::Write { dest, content, mode } => {
                let mut text = content.clone();
                if !text.ends_with('\n') {
                    text.push('\n');
                }
                let base = slug(dest.rsplit('/').next().unwrap_or("file"));
                let file = files.add(&format!("{component_dir}/{n}-{base}"), text);
                let at = run.support(&file);
                run.commands.push(format!("install -D -m {} {at} {}", mode.as_deref().unwrap_or("0644"), quote(dest)));
            }
            StepKind::Run { shell } => match shell {
                RunSource::Inline(script) => {
                    let mut text = script.clone();
                    if !text.ends_with('\n') {
                        text.push('\n');
                    }
                    let file = files.add(&format!("{component_dir}/{n}-run.sh"), text);
                    let at = run.support(&file);
                    run.commands.push(format!("sh -e {at}"));
                }
                RunSource::Script(path) => {
                    let Some(input) = inputs.entries.get(path) else {
                        diagnostics.push(missing_input(path, step.span));
                        continue;
                    };
                    let at = run.context(path, input);
                    run.commands.push(format!("sh -e {at}"));
                }
            },
            // `--global`: user units, linked in /etc/systemd/user for every user.
            StepKind::Enable { unit, global } => {
                run.commands.push(format!("systemctl{} enable {}", if *global { " --global" } else { "" }, quote(unit)))
            }
            StepKind::Disable { unit, global } => run.commands.push(format!(
                "systemctl{} disable {}",
                if *global { " --global" } else { "" },
                quote(unit)
            )),
            StepKind::Kargs { args } => {
                let list: Vec<String> = args.iter().map(|a| toml_string(a)).collect();
                let content = format!("kargs = [{}]\n", list.join(", "));
                let name = format!("10-{}-{n}.toml", slug(&c.name));
                let file = files.add(&format!("{image_name}/kargs.d/{name}"), content);
                let at = run.support(&file);
                run.commands
                    .push(format!("install -D -m 0644 {at} {}", quote(&format!("/usr/lib/bootc/kargs.d/{name}"))));
            }
            StepKind::Flatpak { app } => {
                for r in c.repos.iter().map(|i| &variant.repos[*i]) {
                    if let RepoSource::Flatpak { url } = &r.source
                        && !remotes_done.contains(&r.id)
                    {
                        remotes_done.push(r.id.clone());
                        let target = format!("/etc/flatpak/remotes.d/{}.flatpakrepo", slug(&r.id));
                        run.commands.push("mkdir -p /etc/flatpak/remotes.d".to_string());
                        run.commands.push(format!("curl -fsSL --retry 3 -o {} {}", quote(&target), quote(url)));
                    }
                }
                let content = format!("[Flatpak Preinstall {app}]\nBranch=stable\n");
                let file = files.add(&format!("{image_name}/preinstall.d/{app}.preinstall"), content);
                let at = run.support(&file);
                run.commands.push(format!(
                    "install -D -m 0644 {at} {}",
                    quote(&format!("/usr/share/flatpak/preinstall.d/{app}.preinstall"))
                ));
            }
            StepKind::Env { name, value } => envs.push(Instruction {
                comment: None,
                kind: InstructionKind::Env { name: name.clone(), value: super::containerfile_string(value) },
            }),
            StepKind::Label { key, value } => labels.push((key.clone(), value.clone())),
        }
    }

    // Last line of defence: a line break in a RUN line would end the
    // instruction and start another. Validation refuses them earlier.
    let broken = run.commands.iter().chain(&run.mounts).any(|t| t.contains(['\n', '\r']))
        || envs.iter().any(|e| matches!(&e.kind, InstructionKind::Env { value, .. } if value.contains(['\n', '\r'])));
    if broken {
        diagnostics.push(
            Diagnostic::error(
                Code::TextContent,
                format!("a value of `{}` contains a line break where the Containerfile needs one line", c.name),
            )
            .label(c.span, "this component")
            .help("names, versions and paths are one line; put text over several lines in a file with `write`"),
        );
        return None;
    }
    let mut instructions = Vec::new();
    if let Some(i) = run.into_instruction(describe(c)) {
        instructions.push(i);
    }
    instructions.extend(envs);
    let mut parts: Vec<Vec<u8>> = Vec::new();
    parts.push(serde_json::to_vec(&instructions).unwrap_or_default());
    if let Some(b) = &builder {
        parts.push(b.key.as_bytes().to_vec());
    }
    let key = crate::hash::digest_parts(parts.iter().map(Vec::as_slice));
    Some(Layer {
        component: c.name.clone(),
        key,
        instructions,
        is_kernel: c.kind == ComponentKind::Kernel,
        builder,
        labels,
        secrets,
    })
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

/// A kmod: its builder stage and the `RUN` that installs what it built.
fn kmod(
    image: &model::Image,
    variant: &Variant,
    c: &Component,
    setup: &RepoSetup,
    inputs: &Inputs,
    files: &mut Files,
    diagnostics: &mut Diagnostics,
) -> Option<(Builder, Instruction)> {
    let kernel = variant.kernel();
    let kname =
        kernel.and_then(|k| k.properties.get("package")).and_then(|p| p.as_str()).unwrap_or("kernel").to_string();
    let module = c.properties.get("module").and_then(|p| p.as_str()).unwrap_or("kmod").to_string();
    let version = c.properties.get("version").and_then(|p| p.as_str()).unwrap_or("").to_string();
    let build_packages: Vec<String> = match c.properties.get("build-packages") {
        Some(model::Property::List(items)) => items.iter().filter_map(|p| p.as_str().map(str::to_string)).collect(),
        _ => Vec::new(),
    };
    let userspace = package_names(c);

    // The builder: same repositories, the build script, the key as a secret.
    let mut b = Run::default();
    b.mount(DNF_CACHE.to_string());
    let b_setup = repositories(&mut b, c, variant, &image.name, files);
    let script = files.script("aid-kmod-build.sh");
    let at = b.script(&script);
    if let Some(s) = &variant.signing {
        let Some(cert) = inputs.entries.get(&s.cert) else {
            diagnostics.push(missing_input(&s.cert, s.span));
            return None;
        };
        b.mount(format!("type=bind,source={},target=/etc/pki/akmods/certs/public_key.der", s.cert));
        b.input(&s.cert, &cert.digest);
        // The id Konflux's buildah gives a file of a build secret: `<secret>/<file>`.
        // Not `required`: pull-request builds have no key and say so with
        // `AID_KMOD_SIGNING=unsigned`; without that the build script refuses
        // to build unsigned (docs/konflux.md, "Keyless pull requests").
        let id = SecretMount::of(&s.key).id;
        b.mount(format!("type=secret,id={id},target=/etc/pki/akmods/private/private_key.priv"));
    }
    if !b_setup.options.is_empty() {
        b.commands.push(format!("export DNF5_OPTS={}", quote(&b_setup.options.join(" "))));
    }
    let mut words = vec!["sh".to_string(), at, quote(&kname), quote(&module), quote(&version)];
    words.extend(build_packages.iter().map(|p| quote(p)));
    b.commands.push(words.join(" "));
    let builder_instruction =
        b.into_instruction(format!("build and sign {} against the image's kernel", describe(c)))?;
    let builder_key = crate::hash::digest(&serde_json::to_vec(&builder_instruction).unwrap_or_default());
    let mut instructions = vec![builder_instruction];
    if variant.signing.is_some() {
        instructions.insert(0, signing_arg());
    }
    let builder = Builder { module: module.clone(), key: builder_key.clone(), instructions };

    // The install: the builder's output, the userspace of the same version, the certificate.
    let mut r = Run::default();
    let script = files.script("aid-kmod-install.sh");
    let at = r.script(&script);
    r.mount(format!("type=bind,from={BUILDER},source=/out,target=/run/aid/kmods"));
    r.input(&format!("stage:{BUILDER}"), &builder_key);
    if !setup.options.is_empty() {
        r.commands.push(format!("export DNF5_OPTS={}", quote(&setup.options.join(" "))));
    }
    let mut words =
        vec!["sh".to_string(), at, "/run/aid/kmods".to_string(), quote(&kname), quote(&module), quote(&version)];
    words.extend(userspace.iter().map(|p| quote(p)));
    r.commands.push(words.join(" "));
    if let Some(s) = &variant.signing
        && let Some(cert) = inputs.entries.get(&s.cert)
    {
        let at = r.context(&s.cert, cert);
        // The public certificate, for `mokutil --import` on the target machine.
        r.commands.push(format!("install -D -m 0644 {at} {}", quote(&super::kmod_cert_path(&image.name))));
    }
    let install = Instruction {
        comment: None,
        kind: InstructionKind::Run { mounts: r.mounts, inputs: r.inputs, commands: r.commands },
    };
    Some((builder, install))
}
