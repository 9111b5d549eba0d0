//! Shell and Containerfile injection: for any string a recipe may put in any
//! position (package, unit, Flatpak id, paths, label, env, file contents,
//! shell steps, kernel arguments, URLs, checksums, kmod properties, secret
//! ids, repositories, doc comments), either a diagnostic refuses it, or the
//! generated Containerfile and support files carry it so that the builder
//! and the shell see exactly the intended word or content.
//!
//! How "exactly" is judged: the Containerfile is read the way BuildKit and
//! buildah read it (lines end at `\n`, `\` continues a line, `--mount=` flags
//! are comma-separated `key=value` options, `LABEL`/`ENV` values go through
//! the builder's double-quote rules); each `RUN`'s shell text is run by every
//! POSIX shell on the machine (dash, bash, busybox) with every command
//! replaced by a stub that logs its argv, and `PATH` empty so that anything
//! else fails; the logged calls must equal the calls the recipe asks for, and
//! files handed over by bind mounts must hold the intended bytes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use crate::support::aidc;

// ---------------------------------------------------------------------------
// Compiling in memory.

const DIR: &str = "/ctx";

/// What a compile gave: the error codes, or every output file.
pub struct Outcome {
    pub errors: Vec<String>,
    pub outputs: BTreeMap<String, String>,
    /// The build-context files (path relative to the context -> bytes).
    pub context: BTreeMap<String, Vec<u8>>,
}

/// Compiles `recipe` at `/ctx/image.aid` with `files` (relative paths) in
/// the context, through every stage, like `aidc compile` (outputs in `out`).
pub fn compile(recipe: &str, files: &BTreeMap<String, Vec<u8>>) -> Outcome {
    let mut map = BTreeMap::new();
    map.insert(Path::new(DIR).join("image.aid"), recipe.as_bytes().to_vec());
    for (p, bytes) in files {
        map.insert(Path::new(DIR).join(p), bytes.clone());
    }
    let loader = aidc::resolve::MemLoader(map);
    let hash = aidc::driver::hash_with_loader(&loader, PathBuf::from(DIR));
    let compiled = aidc::driver::compile(
        &Path::new(DIR).join("image.aid"),
        &loader,
        &aidc::resolve::SearchPath::default(),
        "out",
        &hash,
    )
    .expect("the entry is in memory");
    let errors: Vec<String> =
        compiled.diagnostics.iter().filter(|d| d.is_error()).map(|d| d.code.as_str().to_string()).collect();
    let outputs = if errors.is_empty() { compiled.outputs.unwrap_or_default() } else { BTreeMap::new() };
    Outcome { errors, outputs, context: files.clone() }
}

/// `s` as a one-line `.aid` string literal that evaluates to exactly `s`.
pub fn lit(s: &str) -> String {
    let mut out = String::from("\"");
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '$' if chars.peek() == Some(&'{') => out.push_str("$$"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

// ---------------------------------------------------------------------------
// Reading a Containerfile the way the builder does.

#[derive(Debug, Clone)]
pub struct Mount {
    pub options: Vec<(String, String)>,
}

impl Mount {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.options.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone)]
pub enum Instr {
    /// `FROM image AS name`, as "image name".
    From(String),
    Run {
        mounts: Vec<Mount>,
        shell: String,
    },
    Env(String, String),
    Label(String, String),
    /// `ARG NAME=DEFAULT` (the kmod signing switch, docs/konflux.md); its
    /// words are checked like ENV's, and nothing reads them.
    Arg,
}

/// Splits a Containerfile into instructions: physical lines end at `\n`
/// only; a line ending in `\` continues on the next; comment and empty
/// lines inside a continuation are skipped (BuildKit's parser).
pub fn instructions(text: &str) -> Result<Vec<Instr>, String> {
    let mut logical: Vec<String> = Vec::new();
    let mut current: Option<String> = None;
    for line in text.split('\n') {
        let trimmed = line.trim_start();
        if current.is_some() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        if current.is_none() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        let mut acc = current.take().unwrap_or_default();
        if let Some(stripped) = line.strip_suffix('\\') {
            acc.push_str(stripped);
            current = Some(acc);
        } else {
            acc.push_str(line);
            logical.push(acc);
        }
    }
    if let Some(rest) = current {
        logical.push(rest);
    }
    logical.iter().map(|l| instruction(l)).collect()
}

fn instruction(line: &str) -> Result<Instr, String> {
    let line = line.trim_start();
    let (word, rest) = line.split_once(|c: char| c.is_whitespace()).unwrap_or((line, ""));
    match word.to_ascii_uppercase().as_str() {
        "FROM" => match rest.split_whitespace().collect::<Vec<_>>()[..] {
            [from, as_, name] if as_.eq_ignore_ascii_case("AS") => Ok(Instr::From(format!("{from} {name}"))),
            _ => Err(format!("a FROM that is not `FROM image AS name`: {line:?}")),
        },
        "RUN" => {
            let mut mounts = Vec::new();
            let mut rest = rest.trim_start();
            while rest.starts_with("--") {
                let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                let flag = &rest[..end];
                let Some(value) = flag.strip_prefix("--mount=") else {
                    return Err(format!("unexpected RUN flag {flag:?}"));
                };
                if value.contains(['"', '\'']) {
                    return Err(format!("a quote in a mount: {flag:?}"));
                }
                let mut options = Vec::new();
                for field in value.split(',') {
                    let (k, v) = field.split_once('=').unwrap_or((field, ""));
                    if options.iter().any(|(o, _): &(String, String)| o == k) {
                        return Err(format!("mount option `{k}` given twice: {flag:?}"));
                    }
                    options.push((k.to_string(), v.to_string()));
                }
                mounts.push(Mount { options });
                rest = rest[end..].trim_start();
            }
            Ok(Instr::Run { mounts, shell: rest.to_string() })
        }
        "ENV" | "LABEL" => {
            let words = builder_words(rest)?;
            if words.len() != 1 {
                return Err(format!("{word} with {} words: {rest:?}", words.len()));
            }
            let (k, v) = words[0].split_once('=').ok_or_else(|| format!("{word} without `=`: {rest:?}"))?;
            // The one expansion aidc writes itself: the kmod signing label
            // records the build argument (docs/konflux.md, "Keyless pull requests").
            let v = if word == "LABEL" && v == "\"${AID_KMOD_SIGNING}\"" { v.to_string() } else { builder_unquote(v)? };
            let k = builder_unquote(k)?;
            Ok(if word == "ENV" { Instr::Env(k, v) } else { Instr::Label(k, v) })
        }
        "ARG" => {
            let words = builder_words(rest)?;
            if words.len() != 1 {
                return Err(format!("ARG with {} words: {rest:?}", words.len()));
            }
            let (k, v) = words[0].split_once('=').unwrap_or((&words[0], ""));
            builder_unquote(k)?;
            builder_unquote(v)?;
            Ok(Instr::Arg)
        }
        other => Err(format!("unexpected instruction {other:?} in line {line:?}")),
    }
}

/// BuildKit's `parseWords`: white space separates words outside quotes; a
/// backslash keeps the next character in the word.
fn builder_words(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in s.chars() {
        if escaped {
            word.push(c);
            escaped = false;
            continue;
        }
        match quote {
            Some(q) => {
                if c == '\\' && q == '"' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
                word.push(c);
            }
            None if c.is_whitespace() => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            None => {
                if c == '\\' {
                    escaped = true;
                } else if c == '"' || c == '\'' {
                    quote = Some(c);
                }
                word.push(c);
            }
        }
    }
    if quote.is_some() {
        return Err(format!("unterminated quote in {s:?}"));
    }
    if !word.is_empty() {
        words.push(word);
    }
    Ok(words)
}

/// BuildKit's `ProcessWord` for a word made of double-quoted parts: inside
/// `"..."`, a backslash escapes only `"`, `$` and `\` (others stay as
/// written); an unescaped `$` would expand a variable, which aidc never wants.
fn builder_unquote(word: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = word.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => loop {
                match chars.next() {
                    None => return Err(format!("unterminated double quote in {word:?}")),
                    Some('"') => break,
                    Some('$') => return Err(format!("an unescaped `$` in {word:?}")),
                    Some('\\') => match chars.peek() {
                        Some('"' | '$' | '\\') => out.push(chars.next().expect("peeked")),
                        _ => out.push('\\'),
                    },
                    Some(c) => out.push(c),
                }
            },
            '$' => return Err(format!("an unescaped `$` in {word:?}")),
            '\'' => return Err(format!("a single quote outside double quotes in {word:?}")),
            '\\' => match chars.next() {
                Some(c) => out.push(c),
                None => return Err("a trailing backslash".into()),
            },
            c => out.push(c),
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Running RUN lines with stub commands.

/// The POSIX shells of this machine that a builder may run `RUN` with
/// (Fedora's `/bin/sh` is bash; Debian's is dash; the fixture base is busybox).
fn shells() -> &'static [Vec<String>] {
    static SHELLS: std::sync::OnceLock<Vec<Vec<String>>> = std::sync::OnceLock::new();
    SHELLS.get_or_init(|| {
        let mut found = Vec::new();
        let mut seen = Vec::new();
        for candidate in [vec!["/bin/sh"], vec!["/bin/dash"], vec!["/bin/bash", "--posix"], vec!["/bin/busybox", "sh"]]
        {
            let Ok(real) = std::fs::canonicalize(candidate[0]) else { continue };
            if !seen.contains(&real) {
                seen.push(real);
                found.push(candidate.iter().map(|s| s.to_string()).collect());
            }
        }
        assert!(!found.is_empty(), "no POSIX shell found");
        found
    })
}

/// dnf5's default repository directories, which aidc's `reposdir` keeps.
const REPO_DIRS: &str = "/etc/yum.repos.d,/etc/distro.repos.d,/usr/share/dnf5/repos.d";

/// Every command aidc's `RUN` lines call; each is replaced by a stub.
const STUBS: &[&str] =
    &["dnf5", "install", "systemctl", "sh", "curl", "printf", "sha256sum", "mkdir", "tar", "cp", "chmod", "bootc"];

/// Runs `shell_text` under each shell with stubs; returns the logged calls
/// (the same under every shell) or what went wrong.
pub fn run_stubbed(shell_text: &str) -> Result<Vec<Vec<String>>, String> {
    let scratch = tempfile::tempdir().expect("tempdir");
    let empty = scratch.path().join("empty-path");
    std::fs::create_dir_all(&empty).expect("mkdir");
    // The checksum file is written to the step's tmpfs; the one place aidc's
    // own text redirects output, moved into the scratch directory here.
    let tmp = scratch.path().join("aid-tmp");
    std::fs::create_dir_all(&tmp).expect("mkdir");
    let text = shell_text.replace("> /run/aid/tmp/", &format!("> {}/", tmp.display()));
    let mut prelude = String::from("__aid_log() { command printf '%s\\000' \"$#\" \"$@\" >> \"$AID_LOG\"; }\n");
    for s in STUBS {
        prelude.push_str(&format!("{s}() {{ __aid_log {s} \"$@\"; }}\n"));
    }
    let mut first: Option<Vec<Vec<String>>> = None;
    for shell in shells() {
        let log = scratch.path().join(format!("log-{}", shell.join("-").replace('/', "_")));
        std::fs::write(&log, b"").expect("log");
        let out = Command::new(&shell[0])
            .args(&shell[1..])
            .arg("-c")
            .arg(format!("{prelude}{text}"))
            .env_clear()
            .env("PATH", &empty)
            .env("AID_LOG", &log)
            .env("HOME", scratch.path())
            .current_dir(scratch.path())
            .output()
            .expect("shell runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() || !stderr.is_empty() {
            return Err(format!("{}: exit {:?}, stderr: {stderr}", shell.join(" "), out.status.code()));
        }
        let logged = std::fs::read(&log).expect("read log");
        let calls = parse_log(&logged)?;
        match &first {
            None => first = Some(calls),
            Some(f) if *f != calls => {
                return Err(format!("shells disagree: {f:?} vs {} gives {calls:?}", shell.join(" ")));
            }
            Some(_) => {}
        }
    }
    Ok(first.unwrap_or_default())
}

/// The stub log: for each call, its argument count and its arguments, each
/// NUL-terminated.
fn parse_log(bytes: &[u8]) -> Result<Vec<Vec<String>>, String> {
    let mut fields = bytes.split(|b| *b == 0);
    let mut calls = Vec::new();
    while let Some(count) = fields.next() {
        if count.is_empty() {
            break;
        }
        let n: usize = String::from_utf8_lossy(count).parse().map_err(|_| "corrupt stub log")?;
        let argv: Vec<String> = (0..n)
            .map(|_| fields.next().map(|f| String::from_utf8_lossy(f).into_owned()))
            .collect::<Option<_>>()
            .ok_or("short stub log")?;
        calls.push(argv);
    }
    Ok(calls)
}

/// One call of a stubbed command, with the mounts of its `RUN`.
#[derive(Debug)]
pub struct Call {
    pub argv: Vec<String>,
    pub run: usize,
}

/// What the builder would do with one Containerfile: its instructions, and
/// every stubbed call of its `RUN`s but bootc's final lint and aidc's
/// finishing step (`aid-finalize.sh`, the same in every image).
#[derive(Debug)]
pub struct Build {
    pub instrs: Vec<Instr>,
    pub calls: Vec<Call>,
}

impl Build {
    pub fn mounts(&self, run: usize) -> &[Mount] {
        let mut n = 0;
        for i in &self.instrs {
            if let Instr::Run { mounts, .. } = i {
                if n == run {
                    return mounts;
                }
                n += 1;
            }
        }
        &[]
    }

    /// The `FROM` lines, as "image name".
    pub fn stages(&self) -> Vec<&str> {
        self.instrs
            .iter()
            .filter_map(|i| match i {
                Instr::From(f) => Some(f.as_str()),
                _ => None,
            })
            .collect()
    }

    pub fn labels(&self) -> Vec<(String, String)> {
        self.instrs
            .iter()
            .filter_map(|i| match i {
                Instr::Label(k, v) => Some((k.clone(), v.clone())),
                _ => None,
            })
            .collect()
    }

    pub fn envs(&self) -> Vec<(String, String)> {
        self.instrs
            .iter()
            .filter_map(|i| match i {
                Instr::Env(k, v) => Some((k.clone(), v.clone())),
                _ => None,
            })
            .collect()
    }
}

pub fn build(containerfile: &str) -> Result<Build, String> {
    let instrs = instructions(containerfile)?;
    let mut calls = Vec::new();
    let mut run = 0;
    for i in &instrs {
        if let Instr::Run { shell, .. } = i {
            for argv in run_stubbed(shell).map_err(|e| format!("{e}\nin RUN {shell:?}"))? {
                let finishing = argv.len() == 3 && argv[0] == "sh" && argv[1] == "/run/aid/aid-finalize.sh";
                if argv != ["bootc", "container", "lint"] && !finishing {
                    calls.push(Call { argv, run });
                }
            }
            run += 1;
        }
    }
    Ok(Build { instrs, calls })
}

/// The bytes behind a bind mount's `source` (a generated file under `out/`
/// or a build-context file).
fn mounted_bytes(outcome: &Outcome, source: &str) -> Option<Vec<u8>> {
    if let Some(rel) = source.strip_prefix("out/")
        && let Some(text) = outcome.outputs.get(rel)
    {
        return Some(text.as_bytes().to_vec());
    }
    outcome.context.get(source).cloned()
}

/// An expected argument.
#[derive(Debug, Clone)]
pub enum Arg {
    Is(String),
    /// The target of a bind mount of the same `RUN` whose source holds these bytes.
    Mounted(Vec<u8>),
    /// The target of a bind mount of the same `RUN` whose source is this context path.
    MountOf(String),
}

pub fn is(s: &str) -> Arg {
    Arg::Is(s.to_string())
}

/// Checks the calls against the expected ones, in order.
pub fn expect_calls(outcome: &Outcome, b: &Build, expected: &[Vec<Arg>]) -> Result<(), String> {
    let got: Vec<&Vec<String>> = b.calls.iter().map(|c| &c.argv).collect();
    if b.calls.len() != expected.len() {
        return Err(format!("expected {} calls, got {}: {got:#?}", expected.len(), b.calls.len()));
    }
    for (call, want) in b.calls.iter().zip(expected) {
        if call.argv.len() != want.len() {
            return Err(format!("call {:?} does not match {want:?}", call.argv));
        }
        for (a, w) in call.argv.iter().zip(want) {
            let mount = || b.mounts(call.run).iter().find(|m| m.get("target") == Some(a.as_str()));
            let ok = match w {
                Arg::Is(s) => a == s,
                Arg::Mounted(bytes) => mount().is_some_and(|m| {
                    m.get("type") == Some("bind")
                        && m.get("source").and_then(|s| mounted_bytes(outcome, s)).as_deref() == Some(bytes.as_slice())
                }),
                Arg::MountOf(path) => {
                    mount().is_some_and(|m| m.get("type") == Some("bind") && m.get("source") == Some(path))
                }
            };
            if !ok {
                return Err(format!(
                    "argument {a:?} of {:?} is not {w:?} (mounts: {:?})",
                    call.argv,
                    b.mounts(call.run)
                ));
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// The positions.

const BASE: &str = "localhost/aid-fixture-base:44";
const SHA: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// A place in a recipe a string can go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pos {
    Package,
    Remove,
    Unit,
    Flatpak,
    WriteDest,
    CopySource,
    CopyDest,
    LabelKey,
    LabelValue,
    EnvValue,
    WriteContent,
    RunContent,
    RunScript,
    KernelArg,
    FetchUrl,
    Sha256,
    Extract,
    FetchDest,
    Mode,
    LayerArg,
    KmodModule,
    KmodVersion,
    KernelPackage,
    BuildPackage,
    SecretId,
    CertPath,
    RepoBaseUrl,
    RepoFileUrl,
    RepoId,
    Copr,
    ImageDoc,
    FlatpakRemote,
    GpgKey,
    KeptRepoId,
}

fn image(body: &str) -> String {
    format!("image x {{\n  from {}\n{body}}}\n", lit(BASE))
}

/// A kernel, a kmod and signing, with the four kmod strings given.
fn kmod_recipe(package: &str, module: &str, version: &str, build: &str, secret: &str, cert: &str) -> String {
    format!(
        "kernel k() {{\n  package = {}\n  version = \"6.18.1\"\n  provides kernel = \"6.18.1\"\n  license = \"GPL-2.0-only\"\n}}\n\
         kmod m() {{\n  module = {}\n  version = {}\n  build-packages = [{}]\n  license = \"MIT\"\n}}\n{}",
        lit(package),
        lit(module),
        lit(version),
        lit(build),
        image(&format!(
            "  kernel k()\n  kmod m()\n  signing {{ key = secret({}), cert = file({}) }}\n",
            lit(secret),
            lit(cert)
        ))
    )
}

/// Normalised context path, as the compiler would name it (when valid).
fn context(p: &str) -> Option<String> {
    aidc::validate::context_path(p).ok()
}

impl Pos {
    /// A value that passes this position's grammar with `s` inside (so the
    /// property also reaches the accepting paths).
    pub fn shape(self, s: &str) -> String {
        match self {
            Pos::Unit => format!("a{s}.service"),
            Pos::Flatpak => format!("org.example.{s}"),
            Pos::WriteDest | Pos::CopyDest | Pos::FetchDest => format!("/usr/share/{s}"),
            Pos::CopySource | Pos::RunScript | Pos::CertPath => format!("files/{s}"),
            Pos::LabelKey => format!("org.example.{s}x"),
            Pos::FetchUrl | Pos::RepoBaseUrl | Pos::RepoFileUrl | Pos::FlatpakRemote | Pos::GpgKey => {
                format!("https://example.org/{s}")
            }
            Pos::Extract => format!("bin/{s}"),
            Pos::Copr => format!("owner/{s}"),
            Pos::Package | Pos::Remove | Pos::BuildPackage => format!("p{s}"),
            Pos::RepoId | Pos::SecretId | Pos::KeptRepoId => format!("id{s}"),
            _ => s.to_string(),
        }
    }

    /// Values this position accepts as they are.
    pub fn valid(self) -> &'static [&'static str] {
        match self {
            Pos::Sha256 => &[SHA, "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"],
            Pos::Mode => &["0644", "755", "4755", "00644"],
            Pos::KernelArg => &["quiet", "rd.driver.blacklist=nouveau,nova-core", "console=ttyS0,115200n8"],
            Pos::Copr => &["owner/project", "@group/project.x+y"],
            Pos::Unit => &["getty@tty1.service", "a\\x2db.service", "sys-devices-x.device"],
            Pos::Flatpak => &["org.example.App", "io.podman_desktop.PodmanDesktop", "org.gnome.Builder-Devel"],
            Pos::KmodModule => &["nvidia", "v4l2loopback", "a_b-c"],
            Pos::KmodVersion => &["580.95.05", "1.0~rc1+git^2", "6.18.*"],
            _ => &[],
        }
    }

    /// The recipe and its build-context files with `s` in this position.
    pub fn recipe(self, s: &str) -> (String, BTreeMap<String, Vec<u8>>) {
        let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        files.insert("files/a".into(), b"copied\n".to_vec());
        files.insert("keys/x.der".into(), b"certificate\n".to_vec());
        let text = match self {
            Pos::Package => image(&format!("  packages [{}]\n", lit(s))),
            Pos::Remove => image(&format!("  remove [{}]\n", lit(s))),
            Pos::Unit => image(&format!("  enable {}\n", lit(s))),
            Pos::Flatpak => image(&format!("  flatpak {}\n", lit(s))),
            Pos::WriteDest => image(&format!("  write {} \"hello\"\n", lit(s))),
            Pos::CopySource => {
                if let Some(p) = context(s) {
                    files.insert(p, b"copied\n".to_vec());
                }
                image(&format!("  copy {} to \"/usr/share/x\"\n", lit(s)))
            }
            Pos::CopyDest => image(&format!("  copy \"files/a\" to {}\n", lit(s))),
            Pos::LabelKey => image(&format!("  label {} = \"v\"\n", lit(s))),
            Pos::LabelValue => image(&format!("  label \"org.example.k\" = {}\n", lit(s))),
            Pos::EnvValue => image(&format!("  env E = {}\n", lit(s))),
            Pos::WriteContent => image(&format!("  write \"/usr/share/x\" {}\n", lit(s))),
            Pos::RunContent => image(&format!("  run {}\n", lit(s))),
            Pos::RunScript => {
                if let Some(p) = context(s) {
                    files.insert(p, b"echo script\n".to_vec());
                }
                image(&format!("  run script({})\n", lit(s)))
            }
            Pos::KernelArg => image(&format!("  kargs [{}]\n", lit(s))),
            Pos::FetchUrl => image(&format!("  fetch {} sha256 \"{SHA}\" to \"/usr/bin/x\"\n", lit(s))),
            Pos::Sha256 => image(&format!("  fetch \"https://example.org/x\" sha256 {} to \"/usr/bin/x\"\n", lit(s))),
            Pos::Extract => image(&format!(
                "  fetch \"https://example.org/x.tar.gz\" sha256 \"{SHA}\" extract {} to \"/usr/bin/x\"\n",
                lit(s)
            )),
            Pos::FetchDest => image(&format!("  fetch \"https://example.org/x\" sha256 \"{SHA}\" to {}\n", lit(s))),
            Pos::Mode => image(&format!("  write \"/usr/share/x\" \"c\" mode {}\n", lit(s))),
            Pos::LayerArg => format!(
                "layer l(a: string) {{\n  packages [\"htop\"]\n  license = \"MIT\"\n}}\n{}",
                image(&format!("  use l({})\n", lit(s)))
            ),
            Pos::KmodModule => kmod_recipe("kernel", s, "1.0", "gcc", "akmods-key", "keys/x.der"),
            Pos::KmodVersion => kmod_recipe("kernel", "mod", s, "gcc", "akmods-key", "keys/x.der"),
            Pos::KernelPackage => kmod_recipe(s, "mod", "1.0", "gcc", "akmods-key", "keys/x.der"),
            Pos::BuildPackage => kmod_recipe("kernel", "mod", "1.0", s, "akmods-key", "keys/x.der"),
            Pos::SecretId => kmod_recipe("kernel", "mod", "1.0", "gcc", s, "keys/x.der"),
            Pos::CertPath => {
                if let Some(p) = context(s) {
                    files.insert(p, b"certificate\n".to_vec());
                }
                kmod_recipe("kernel", "mod", "1.0", "gcc", "akmods-key", s)
            }
            Pos::RepoBaseUrl => format!(
                "repo r {{\n  baseurl = {}\n  license = \"MIT\"\n}}\n{}",
                lit(s),
                image("  repo r\n  packages [\"htop\"]\n")
            ),
            Pos::RepoFileUrl => format!(
                "repo r {{\n  url = {}\n  sha256 = \"{SHA}\"\n  license = \"MIT\"\n}}\n{}",
                lit(s),
                image("  repo r\n  packages [\"htop\"]\n")
            ),
            Pos::RepoId => format!(
                "repo r {{\n  id = {}\n  license = \"MIT\"\n}}\n{}",
                lit(s),
                image("  repo r\n  packages [\"htop\"]\n")
            ),
            Pos::Copr => format!(
                "repo r {{\n  copr = {}\n  license = \"MIT\"\n}}\n{}",
                lit(s),
                image("  repo r\n  packages [\"htop\"]\n")
            ),
            Pos::ImageDoc => format!("/// {s}\n{}", image("")),
            Pos::FlatpakRemote => format!(
                "repo r {{\n  flatpakrepo = {}\n  sha256 = \"{SHA}\"\n  license = \"MIT\"\n}}\n{}",
                lit(s),
                image("  repo r\n  flatpak \"org.example.App\"\n")
            ),
            Pos::GpgKey => format!(
                "repo r {{\n  baseurl = \"https://example.org/repo\"\n  gpgkey = {}\n  license = \"MIT\"\n}}\n{}",
                lit(s),
                image("  repo r\n  packages [\"htop\"]\n")
            ),
            Pos::KeptRepoId => format!(
                "repo r {{\n  id = {}\n  keep = true\n  license = \"MIT\"\n}}\n{}",
                lit(s),
                image("  repo r\n  packages [\"htop\"]\n")
            ),
        };
        (text, files)
    }

    /// Whether `s` can be written in this position at all (a doc comment
    /// cannot hold a line break; a doc line starting with `/` is no doc).
    pub fn expressible(self, s: &str) -> bool {
        match self {
            Pos::ImageDoc => !s.contains('\n'),
            _ => true,
        }
    }

    /// Checks an accepted compile: the builder and the shell see exactly `s`.
    pub fn check(self, s: &str, o: &Outcome) -> Result<(), String> {
        let containerfile = o.outputs.get("x/Containerfile").ok_or("no x/Containerfile")?;
        let b = build(containerfile)?;
        let file = |name: &str| o.outputs.get(name).cloned().unwrap_or_default();
        let with_newline = |t: &str| if t.ends_with('\n') { t.to_string() } else { format!("{t}\n") };
        let dnf = |extra: &[&str], names: &[&str]| -> Vec<Arg> {
            let mut v = vec![is("dnf5"), is("-y"), is("install"), is("--allowerasing")];
            v.extend(extra.iter().map(|e| is(e)));
            v.extend(names.iter().map(|n| is(n)));
            v
        };
        let fetch = |url: &str, sum: &str| -> Vec<Vec<Arg>> {
            vec![
                vec![is("curl"), is("-fsSL"), is("--retry"), is("3"), is("-o"), is("/run/aid/tmp/fetch-0"), is(url)],
                vec![is("printf"), is("%s  %s\\n"), is(sum), is("/run/aid/tmp/fetch-0")],
                vec![is("sha256sum"), is("-c"), is("/run/aid/tmp/fetch-0.sha256")],
            ]
        };
        let install =
            |src: Arg, mode: &str, dest: &str| vec![is("install"), is("-D"), is("-m"), is(mode), src, is(dest)];
        // A signed kmod on a pinned kernel: the kernel step, the kernel
        // signer and the kmod builder (builder stages come before the stage
        // that reads them), the signed kernel and the certificate, the kmod
        // install and the certificate again.
        let cert = install(Arg::Mounted(b"certificate\n".to_vec()), "0644", "/etc/pki/akmods/certs/x.der");
        let kmod = |package: &str, module: &str, version: &str, build: &str| -> Vec<Vec<Arg>> {
            vec![
                vec![is("sh"), is("/run/aid/aid-kernel.sh"), is(package), is(package), is(&format!("{package}-core"))],
                vec![
                    is("sh"),
                    is("/run/aid/aid-kernel-sign.sh"),
                    is("sign"),
                    is("/run/aid/kernel"),
                    is("/run/aid/cert.der"),
                    is("/run/aid/secret/key"),
                    is("/out"),
                    is("replace-signatures"),
                ],
                vec![
                    is("sh"),
                    is("/run/aid/aid-kmod-build.sh"),
                    is(package),
                    is(module),
                    is(version),
                    is(&format!("akmod-{module}")),
                    is("-"),
                    is("/run/aid/kernel"),
                    is("/run/aid/cert.der"),
                    is("/run/aid/secret/key"),
                    is(build),
                ],
                vec![is("sh"), is("/run/aid/aid-kernel-sign.sh"), is("install"), is("/run/aid/signed")],
                cert.clone(),
                vec![
                    is("sh"),
                    is("/run/aid/aid-kmod-install.sh"),
                    is("/run/aid/kmods"),
                    is(package),
                    is(module),
                    is(version),
                    is(&format!("akmod-{module}")),
                ],
                cert.clone(),
            ]
        };
        // The unit that runs `flatpak preinstall` at boot, after the first Flatpak.
        let preinstall_unit = || -> Vec<Vec<Arg>> {
            vec![
                install(
                    Arg::Mounted(file("x/systemd/aid-flatpak-preinstall.service").into_bytes()),
                    "0644",
                    "/usr/lib/systemd/system/aid-flatpak-preinstall.service",
                ),
                vec![is("systemctl"), is("enable"), is("aid-flatpak-preinstall.service")],
            ]
        };
        let expected: Vec<Vec<Arg>> = match self {
            Pos::Package => vec![dnf(&[], &[s])],
            Pos::Remove => vec![vec![is("dnf5"), is("-y"), is("remove"), is(s)]],
            Pos::Unit => vec![vec![is("systemctl"), is("enable"), is(s)]],
            Pos::Flatpak => {
                let mut v = vec![install(
                    Arg::Mounted(format!("[Flatpak Preinstall {s}]\nBranch=stable\n").into_bytes()),
                    "0644",
                    &format!("/usr/share/flatpak/preinstall.d/{s}.preinstall"),
                )];
                v.extend(preinstall_unit());
                v
            }
            Pos::WriteDest => vec![install(Arg::Mounted(b"hello\n".to_vec()), "0644", s)],
            Pos::CopySource => {
                let p = context(s).ok_or("accepted a source that is not a context path")?;
                vec![install(Arg::MountOf(p), "0644", "/usr/share/x")]
            }
            Pos::CopyDest => vec![install(Arg::MountOf("files/a".into()), "0644", s)],
            Pos::LayerArg => vec![dnf(&[], &["htop"])],
            Pos::LabelKey | Pos::LabelValue | Pos::EnvValue | Pos::ImageDoc => vec![],
            Pos::WriteContent => vec![install(Arg::Mounted(with_newline(s).into_bytes()), "0644", "/usr/share/x")],
            Pos::RunContent => vec![vec![is("sh"), is("-e"), Arg::Mounted(with_newline(s).into_bytes())]],
            Pos::RunScript => {
                let p = context(s).ok_or("accepted a script that is not a context path")?;
                vec![vec![is("sh"), is("-e"), Arg::MountOf(p)]]
            }
            Pos::KernelArg => {
                let name = b
                    .calls
                    .first()
                    .and_then(|c| c.argv.last())
                    .and_then(|d| d.strip_prefix("/usr/lib/bootc/kargs.d/"))
                    .unwrap_or("?")
                    .to_string();
                let toml = file(&format!("x/kargs.d/{name}"));
                let args = toml_kargs(&toml)?;
                if args != [s] {
                    return Err(format!("kargs file {toml:?} gives {args:?}"));
                }
                vec![install(Arg::Mounted(toml.into_bytes()), "0644", &format!("/usr/lib/bootc/kargs.d/{name}"))]
            }
            Pos::FetchUrl | Pos::Sha256 | Pos::FetchDest => {
                let (url, sum, to) = match self {
                    Pos::FetchUrl => (s.to_string(), SHA.to_string(), "/usr/bin/x".to_string()),
                    Pos::Sha256 => ("https://example.org/x".into(), s.to_ascii_lowercase(), "/usr/bin/x".into()),
                    _ => ("https://example.org/x".into(), SHA.to_string(), s.to_string()),
                };
                let mut v = fetch(&url, &sum);
                v.push(install(is("/run/aid/tmp/fetch-0"), "0755", &to));
                v
            }
            Pos::Extract => {
                context(s).ok_or("accepted a member that is not a relative path")?;
                let mut v = fetch("https://example.org/x.tar.gz", SHA);
                v.push(vec![is("mkdir"), is("-p"), is("/run/aid/tmp/extract-0")]);
                v.push(vec![
                    is("tar"),
                    is("-xf"),
                    is("/run/aid/tmp/fetch-0"),
                    is("-C"),
                    is("/run/aid/tmp/extract-0"),
                    is(s),
                ]);
                v.push(install(is(&format!("/run/aid/tmp/extract-0/{s}")), "0755", "/usr/bin/x"));
                v
            }
            Pos::Mode => {
                let digits = s.trim_start_matches('0');
                let mode = format!("{:0>4}", if digits.is_empty() { "0" } else { digits });
                vec![install(Arg::Mounted(b"c\n".to_vec()), &mode, "/usr/share/x")]
            }
            Pos::KmodModule => kmod("kernel", s, "1.0", "gcc"),
            Pos::KmodVersion => kmod("kernel", "mod", s, "gcc"),
            Pos::KernelPackage => kmod(s, "mod", "1.0", "gcc"),
            Pos::BuildPackage => kmod("kernel", "mod", "1.0", s),
            Pos::SecretId | Pos::CertPath => {
                let mut v = kmod("kernel", "mod", "1.0", "gcc");
                if self == Pos::CertPath {
                    let p = context(s).ok_or("accepted a cert that is not a context path")?;
                    v[4] = install(Arg::MountOf(p.clone()), "0644", "/etc/pki/akmods/certs/x.der");
                    v[6] = install(Arg::MountOf(p), "0644", "/etc/pki/akmods/certs/x.der");
                }
                v
            }
            Pos::RepoBaseUrl | Pos::Copr => {
                vec![dnf(&[&format!("--setopt=reposdir={REPO_DIRS},/run/aid/repos")], &["htop"])]
            }
            Pos::RepoFileUrl => vec![
                vec![is("mkdir"), is("-p"), is("/run/aid/tmp/repos")],
                vec![is("curl"), is("-fsSL"), is("--retry"), is("3"), is("-o"), is("/run/aid/tmp/repos/r.repo"), is(s)],
                vec![is("printf"), is("%s  %s\\n"), is(SHA), is("/run/aid/tmp/repos/r.repo")],
                vec![is("sha256sum"), is("-c"), is("/run/aid/tmp/r.repo.sha256")],
                dnf(&[&format!("--setopt=reposdir={REPO_DIRS},/run/aid/tmp/repos")], &["htop"]),
            ],
            Pos::RepoId => vec![dnf(&[&format!("--enablerepo={s}")], &["htop"])],
            Pos::FlatpakRemote => {
                let mut v = vec![
                    vec![
                        is("curl"),
                        is("-fsSL"),
                        is("--retry"),
                        is("3"),
                        is("-o"),
                        is("/run/aid/tmp/r.flatpakrepo"),
                        is(s),
                    ],
                    vec![is("printf"), is("%s  %s\\n"), is(SHA), is("/run/aid/tmp/r.flatpakrepo")],
                    vec![is("sha256sum"), is("-c"), is("/run/aid/tmp/r.flatpakrepo.sha256")],
                    install(is("/run/aid/tmp/r.flatpakrepo"), "0644", "/etc/flatpak/remotes.d/r.flatpakrepo"),
                    install(
                        Arg::Mounted(b"[Flatpak Preinstall org.example.App]\nBranch=stable\n".to_vec()),
                        "0644",
                        "/usr/share/flatpak/preinstall.d/org.example.App.preinstall",
                    ),
                ];
                v.extend(preinstall_unit());
                v
            }
            Pos::GpgKey => vec![dnf(&[&format!("--setopt=reposdir={REPO_DIRS},/run/aid/repos")], &["htop"])],
            Pos::KeptRepoId => vec![
                vec![is("dnf5"), is("config-manager"), is("setopt"), is(&format!("{s}.enabled=1"))],
                dnf(&[], &["htop"]),
            ],
        };
        expect_calls(o, &b, &expected)?;
        if !b.stages().first().is_some_and(|f| f.starts_with(&format!("{BASE} "))) {
            return Err(format!("the first stage is not FROM {BASE}: {:?}", b.stages()));
        }

        // What is not a call: labels, envs, mounts, generated files.
        let labels = b.labels();
        let envs = b.envs();
        match self {
            Pos::LabelKey if !labels.contains(&(s.to_string(), "v".to_string())) => {
                return Err(format!("no label {s:?}=\"v\" in {labels:?}"));
            }
            Pos::LabelValue if !labels.contains(&("org.example.k".to_string(), s.to_string())) => {
                return Err(format!("no label org.example.k={s:?} in {labels:?}"));
            }
            Pos::EnvValue if envs != [("E".to_string(), s.to_string())] => {
                return Err(format!("env is {envs:?}, not E={s:?}"));
            }
            Pos::ImageDoc => {
                let want = s.trim_end();
                let got = labels.iter().find(|(k, _)| k == "org.opencontainers.image.description");
                if !want.is_empty() && got.map(|(_, v)| v.as_str()) != Some(want) {
                    return Err(format!("description label {got:?}, not {want:?}"));
                }
            }
            Pos::SecretId => {
                let secret = b
                    .instrs
                    .iter()
                    .filter_map(|i| match i {
                        Instr::Run { mounts, .. } => mounts.iter().find(|m| m.get("type") == Some("secret")),
                        _ => None,
                    })
                    .next()
                    .ok_or("no secret mount")?;
                let id = secret.get("id").unwrap_or("");
                if id != s && id != format!("{s}/key") {
                    return Err(format!("secret mount id {id:?} for secret {s:?}"));
                }
            }
            Pos::RepoBaseUrl => {
                let repo = file("x/repos/r.repo");
                let want = format!("[r]\nname=r\nbaseurl={s}\ngpgcheck=0\nenabled=1\n");
                if repo != want {
                    return Err(format!("repo file {repo:?}, not {want:?}"));
                }
            }
            Pos::GpgKey => {
                let repo = file("x/repos/r.repo");
                let want =
                    format!("[r]\nname=r\nbaseurl=https://example.org/repo\ngpgcheck=1\ngpgkey={s}\nenabled=1\n");
                if repo != want {
                    return Err(format!("repo file {repo:?}, not {want:?}"));
                }
            }
            Pos::Copr => {
                let (owner, project) = s.split_once('/').ok_or("a copr without `/` accepted")?;
                let repo = o.outputs.iter().find(|(p, _)| p.starts_with("x/repos/")).map(|(_, c)| c.clone());
                let group = owner.strip_prefix('@').map(|g| format!("group_{g}")).unwrap_or_else(|| owner.to_string());
                let base = format!("https://download.copr.fedorainfracloud.org/results/{group}/{project}");
                if !repo
                    .as_deref()
                    .is_some_and(|r| r.lines().any(|l| l == format!("baseurl={base}/fedora-$releasever-$basearch/")))
                {
                    return Err(format!("copr repo file {repo:?}"));
                }
            }
            _ => {}
        }
        // Every bind mount's source is a file that exists (in the outputs or the context).
        for i in &b.instrs {
            if let Instr::Run { mounts, .. } = i {
                for m in mounts {
                    if m.get("type") == Some("bind")
                        && m.get("from").is_none()
                        && m.get("source").and_then(|s| mounted_bytes(o, s)).is_none()
                    {
                        return Err(format!("bind mount of a missing file: {m:?}"));
                    }
                }
            }
        }
        Ok(())
    }
}

/// Reads `kargs = ["...", ...]` as TOML basic strings.
fn toml_kargs(text: &str) -> Result<Vec<String>, String> {
    let body = text
        .strip_prefix("kargs = [")
        .and_then(|r| r.strip_suffix("]\n"))
        .ok_or_else(|| format!("not a kargs file: {text:?}"))?;
    let mut out = Vec::new();
    let mut chars = body.chars().peekable();
    loop {
        match chars.next() {
            None => break,
            Some('"') => {
                let mut s = String::new();
                loop {
                    match chars.next().ok_or("unterminated TOML string")? {
                        '"' => break,
                        '\\' => match chars.next().ok_or("dangling escape")? {
                            '\\' => s.push('\\'),
                            '"' => s.push('"'),
                            'n' => s.push('\n'),
                            't' => s.push('\t'),
                            'r' => s.push('\r'),
                            'u' => {
                                let hex: String = (0..4).filter_map(|_| chars.next()).collect();
                                let n = u32::from_str_radix(&hex, 16).map_err(|e| e.to_string())?;
                                s.push(char::from_u32(n).ok_or("bad \\u")?);
                            }
                            c => return Err(format!("unknown TOML escape \\{c}")),
                        },
                        c if c.is_control() && c != '\t' => return Err(format!("raw control {c:?} in TOML string")),
                        c => s.push(c),
                    }
                }
                out.push(s);
            }
            Some(',' | ' ') => {}
            Some(c) => return Err(format!("unexpected {c:?} in kargs")),
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// The property.

/// Fixed nasty values, tried in every position.
pub const NASTY: &[&str] = &[
    "",
    "plain",
    "'",
    "\"",
    "it's",
    "a\"b",
    "$(touch /usr/share/pwned)",
    "`touch /usr/share/pwned`",
    "a\nb",
    "a\ntouch /usr/share/pwned",
    "\nRUN touch /usr/share/pwned\n",
    ";touch /usr/share/pwned",
    "a;b",
    "a && touch /usr/share/pwned",
    "a || touch /usr/share/pwned",
    "a | tee /usr/share/pwned",
    "a > /usr/share/pwned",
    "a < /etc/passwd",
    "a & b",
    "*",
    "a*",
    "?",
    "a?b",
    "[a-z]",
    "a[",
    "-rf",
    "--help",
    "-",
    "${HOME}",
    "$HOME",
    "$1",
    "$",
    "\\",
    "a\\",
    "\\n",
    "a\\\"b",
    "\t",
    "a\tb",
    "\r",
    "a\rb",
    "日本語",
    "é",
    "\u{202e}gnp.exe",
    "\u{2028}",
    "\u{feff}",
    "\u{1b}[31m",
    "\u{7f}",
    "\u{85}",
    "a b",
    " leading",
    "trailing ",
    "#comment",
    "a #b",
    "~",
    "~root",
    "a,target=/etc",
    "x,type=bind,source=/,target=/mnt",
    "a=b",
    "%s%n",
    "{a,b}",
    "!",
    "a/../../etc/passwd",
    "../x",
    "/etc/passwd",
    "a//b",
    "./a",
    ".",
    "..",
    "PWN\\\"; touch /usr/share/pwned; echo \\\"",
    "'; touch /usr/share/pwned; '",
    "\"; touch /usr/share/pwned; \"",
];

/// A very long value.
fn long() -> String {
    "a".repeat(5000)
}

fn hostile() -> impl Strategy<Value = String> {
    let fragment = prop_oneof![
        4 => proptest::sample::select(NASTY).prop_map(str::to_string),
        3 => "[a-z0-9._-]{0,6}",
        2 => any::<char>().prop_map(|c| c.to_string()),
        1 => "\\PC{0,8}",
        1 => proptest::sample::select(&["\n", "'", "\"", "$", "`", "\\", ";", "&", "|", " ", ",", "=", "/", "*"][..])
            .prop_map(str::to_string),
    ];
    proptest::collection::vec(fragment, 0..5).prop_map(|v| v.concat()).prop_filter("no NUL", |s| !s.contains('\0'))
}

/// One value in one position: refused by a diagnostic, or carried exactly.
/// A parse error means the test wrote a bad literal: a failure of the test.
/// `Ok(true)` when the value was accepted.
fn one(pos: Pos, s: &str) -> Result<bool, String> {
    if !pos.expressible(s) {
        return Ok(false);
    }
    let (recipe, files) = pos.recipe(s);
    let o = compile(&recipe, &files);
    if let Some(p) = o.errors.iter().find(|c| c.starts_with("aid::parse::")) {
        return Err(format!("the literal did not parse ({p}):\n{recipe}"));
    }
    if !o.errors.is_empty() {
        return Ok(false);
    }
    pos.check(s, &o).map_err(|e| {
        format!(
            "{pos:?} {s:?} was accepted but not carried exactly: {e}\n--- recipe\n{recipe}\n--- Containerfile\n{}",
            o.outputs.get("x/Containerfile").map(String::as_str).unwrap_or("")
        )
    })?;
    Ok(true)
}

fn cases() -> u32 {
    std::env::var("AID_INJECTION_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(96)
}

/// The fixed list (raw and shaped to pass the grammar, and the position's
/// valid values), then random values. With `must_accept`, each position must
/// accept some of them (else the property would be vacuous).
fn property_with(positions: &[Pos], filter: fn(&str) -> bool, must_accept: bool) {
    for &pos in positions {
        let mut fixed: Vec<String> = NASTY.iter().map(|s| s.to_string()).collect();
        fixed.push(long());
        for s in NASTY {
            fixed.push(pos.shape(s));
        }
        fixed.push(pos.shape(&long()));
        fixed.extend(pos.valid().iter().map(|v| v.to_string()));
        let mut accepted = 0;
        for s in fixed.iter().filter(|s| filter(s)) {
            match one(pos, s) {
                Ok(a) => accepted += usize::from(a),
                Err(e) => panic!("{e}"),
            }
        }
        let mut runner = TestRunner::new(Config { cases: cases(), failure_persistence: None, ..Config::default() });
        let strategy = (hostile(), any::<bool>()).prop_map(move |(s, shaped)| if shaped { pos.shape(&s) } else { s });
        let random_accepted = std::cell::Cell::new(0usize);
        let result = runner.run(&strategy, |s| {
            if !filter(&s) {
                return Ok(());
            }
            let a = one(pos, &s).map_err(TestCaseError::fail)?;
            random_accepted.set(random_accepted.get() + usize::from(a));
            Ok(())
        });
        if let Err(e) = result {
            panic!("{e}");
        }
        assert!(
            !must_accept || accepted + random_accepted.get() > 0,
            "{pos:?}: no value was accepted; the recipe around it is wrong"
        );
    }
}

/// Every value refused or carried exactly, and some accepted.
fn property(positions: &[Pos], filter: fn(&str) -> bool) {
    property_with(positions, filter, true);
}

fn any_value(_: &str) -> bool {
    true
}

/// Characters that are safe in a path segment anywhere (no shell, mount or
/// Containerfile syntax).
fn safe_path(s: &str) -> bool {
    s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-' | '+' | '@' | '%' | ':'))
}

fn no_line_break(s: &str) -> bool {
    !s.contains(['\n', '\r'])
}

#[test]
fn package_names_remove_units_flatpaks() {
    property(&[Pos::Package, Pos::Remove, Pos::Unit, Pos::Flatpak], any_value);
}

#[test]
fn labels_and_envs() {
    property(&[Pos::LabelKey, Pos::LabelValue, Pos::EnvValue], any_value);
}

/// Found by this suite: a tab was written `\t`, which the builder reads as a
/// backslash and a `t`; fixed in 53c42c0 (raw tabs).
#[test]
fn labels_and_envs_with_tabs() {
    property(&[Pos::LabelValue, Pos::EnvValue], |s| s.contains('\t'));
}

#[test]
fn file_and_script_contents() {
    property(&[Pos::WriteContent, Pos::RunContent], any_value);
}

#[test]
fn kernel_arguments_downloads_modes_and_arguments() {
    property(
        &[Pos::KernelArg, Pos::FetchUrl, Pos::Sha256, Pos::Extract, Pos::FetchDest, Pos::Mode, Pos::LayerArg],
        any_value,
    );
}

#[test]
fn repositories() {
    property(
        &[Pos::RepoBaseUrl, Pos::RepoFileUrl, Pos::RepoId, Pos::Copr, Pos::FlatpakRemote, Pos::GpgKey, Pos::KeptRepoId],
        any_value,
    );
}

#[test]
fn secret_ids() {
    property(&[Pos::SecretId], any_value);
}

#[test]
fn image_doc_comments() {
    property(&[Pos::ImageDoc], any_value);
}

#[test]
fn destinations_and_sources_in_a_safe_charset() {
    property(&[Pos::WriteDest, Pos::CopyDest, Pos::CopySource, Pos::RunScript, Pos::CertPath], safe_path);
}

#[test]
fn copy_destinations() {
    // Destinations land in shell words only (quoted): any accepted value is safe.
    property(&[Pos::CopyDest], any_value);
}

/// Found by this suite: build-context paths and `write` file names reached
/// `--mount=...source=` and shell words unquoted; fixed in 53c42c0 (a safe
/// charset for context paths, slugged support file names, quoted labels).
#[test]
fn sources_scripts_certs_and_write_destinations_with_shell_characters() {
    property(&[Pos::CopySource, Pos::RunScript, Pos::CertPath, Pos::WriteDest], any_value);
}

#[test]
fn kmod_properties_without_line_breaks() {
    property(&[Pos::KmodModule, Pos::KmodVersion, Pos::KernelPackage, Pos::BuildPackage], no_line_break);
}

/// Found by this suite: a line break in a kmod or kernel property ended the
/// Containerfile instruction; fixed in 53c42c0 (validated, and a guard on
/// RUN lines). All are refused now.
#[test]
fn kmod_properties_with_line_breaks() {
    property_with(
        &[Pos::KmodModule, Pos::KmodVersion, Pos::KernelPackage, Pos::BuildPackage],
        |s| !no_line_break(s),
        false,
    );
}

/// The bugs above, one minimal input each.
#[test]
fn copy_source_with_a_semicolon_is_refused_or_not_run() {
    one(Pos::CopySource, "files/x;touch$IFS/usr/share/pwned;a").unwrap();
}

#[test]
fn write_destination_with_a_space() {
    assert!(one(Pos::WriteDest, "/usr/share/a b").unwrap(), "a space is a valid destination");
}

#[test]
fn kmod_module_with_a_line_break_adds_no_instruction() {
    one(Pos::KmodModule, "x\nRUN touch /usr/share/pwned\n#").unwrap();
}

#[test]
fn label_value_with_a_tab() {
    assert!(one(Pos::LabelValue, "a\tb").unwrap(), "a tab is a valid label value");
}

// ---------------------------------------------------------------------------
// Self-checks of the harness: it sees injections when they are there.

#[test]
fn the_harness_sees_an_injected_command() {
    // A call that is not stubbed fails with "not found".
    assert!(run_stubbed("dnf5 -y install a; touch /usr/share/pwned").is_err());
    // Command substitution runs inside a word.
    assert!(run_stubbed("dnf5 -y install \"$(touch /usr/share/pwned)\"").is_err());
    // Stubs log their argv exactly.
    assert_eq!(
        run_stubbed("dnf5 -y install 'a b' \"c\" d\\ e").unwrap(),
        vec![vec!["dnf5", "-y", "install", "a b", "c", "d e"]]
    );
    // A second instruction smuggled in by a line break is seen.
    let cf = "FROM a AS b\nRUN sh -e 'x\nRUN touch /usr/share/pwned\n'\n";
    assert!(build(cf).is_err());
    // Label values go through the builder's double-quote rules.
    let b = build("FROM a AS b\nLABEL \"k\"=\"a \\\"b\\\" \\$c \\\\ \\t\"\n").unwrap();
    assert_eq!(b.labels(), vec![("k".to_string(), "a \"b\" $c \\ \\t".to_string())]);
    assert!(build("FROM a AS b\nLABEL \"k\"=\"$HOME\"\n").is_err());
    // Mount options given twice are seen.
    assert!(build("FROM a AS b\nRUN --mount=type=bind,source=a,target=/x,target=/etc sh\n").is_err());
}

#[test]
fn the_literals_round_trip() {
    for s in NASTY {
        let recipe = image(&format!("  label \"org.example.k\" = {}\n", lit(&format!("x{s}"))));
        let o = compile(&recipe, &BTreeMap::new());
        assert!(!o.errors.iter().any(|c| c.starts_with("aid::parse::")), "{s:?}: {:?}", o.errors);
    }
}

// ---------------------------------------------------------------------------
// A fuzzer's find about positions (the other regression inputs are run by
// hostile.rs).

/// Found by the `check` fuzzer (tests/hostile/found/invalid-utf8-after-nul.aid);
/// fixed in 35c0d50 while this suite was written.
#[test]
fn invalid_utf8_after_nul_has_the_right_column() {
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::write(tmp.path().join("image.aid"), b"let a = \"\0\0\0\0\0\0\xff\"\n").expect("write");
    let out = aidc(tmp.path(), &["check", "--format", "json", "image.aid"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    // `let a = "` is 9 characters, then 6 NULs: the invalid byte is column 16.
    assert_eq!(json[0]["column"], 16, "{json:#}");
}

// ---------------------------------------------------------------------------
// End to end with buildah: hostile values that pass validation reach the
// image verbatim, and no injected command runs.

/// Values that pass the label and env grammars; each injection attempt
/// would create a file named `PWNED-...` at the root of the image or in
/// /usr/share.
const E2E_VALUES: &[&str] = &[
    "a\"b",
    "it's",
    "$(touch /usr/share/PWNED-1)",
    "`touch /usr/share/PWNED-2`",
    "${HOME}",
    "$HOME $1 $$ $@",
    "\\",
    "x\\",
    "a\\\"b",
    "\\$(touch /usr/share/PWNED-3)",
    "; touch /usr/share/PWNED-4 &&",
    "| touch /usr/share/PWNED-5",
    "&& touch PWNED-6",
    "* ? [a] {a,b} ~root",
    "-rf --help",
    "日本語 é \u{202e}rtl",
    "\u{2028}separator",
    "#not a comment",
    " lead and trail ",
    "a=b c=d",
    ",target=/etc",
    "%s%n%%",
    "'; touch /usr/share/PWNED-7; '",
    "\"; touch /usr/share/PWNED-8; \"",
];

/// The write content: every kind of quote and substitution, CRLF, no final newline.
const E2E_CONTENT: &str = "line 1 $(touch /usr/share/PWNED-9) `touch /usr/share/PWNED-10`\n'single' \"double\" \\back\\slash\r\n${HOME} $HOME\n\ttab\nlast";

/// A directory name full of shell syntax (the file name itself stays plain:
/// see the ignored tests above for file names).
const E2E_DIR: &str = "/usr/share/hostile/a b/$(touch PWNED-11)/'q'/\"d\"/;&|*?[x]~{a,b}";

fn e2e_recipe(url: &str, sha: &str) -> String {
    let mut body = String::new();
    for (i, v) in E2E_VALUES.iter().enumerate() {
        body.push_str(&format!("  label \"org.example.h{i}\" = {}\n", lit(v)));
        body.push_str(&format!("  env E{i} = {}\n", lit(v)));
    }
    body.push_str(&format!("  write {} {}\n", lit(&format!("{E2E_DIR}/file")), lit(E2E_CONTENT)));
    body.push_str(&format!("  copy \"files/motd\" to {}\n", lit(&format!("{E2E_DIR}/copied 'motd' $(x)"))));
    body.push_str("  packages [\"b*n\", \"e?c\", \"python3dist(torch)\", \"/usr/bin/rg\", \"gcc-c++\"]\n");
    body.push_str("  remove [\"u*r\"]\n");
    body.push_str("  enable \"getty@tty1.service\"\n  enable \"a\\\\x2db.service\"\n");
    body.push_str("  kargs [\"rd.driver.blacklist=nouveau,nova-core\", \"console=ttyS0,115200n8\", \"x=%~@+/:=\"]\n");
    body.push_str(&format!(
        "  fetch {} sha256 {} to {} mode \"0644\"\n",
        lit(url),
        lit(sha),
        lit(&format!("{E2E_DIR}/fetched"))
    ));
    body.push_str(
        "  run \"\"\"\n    mkdir -p /usr/share/hostile\n    printf '%s\\n' '$(touch /usr/share/PWNED-12)' '$${HOME}' \"`echo ran`\" > /usr/share/hostile/run-out\n    \"\"\"\n",
    );
    format!(
        "/// Doc \"q\" 'a' $(touch /usr/share/PWNED-13) \\ ${{HOME}} `x`\nimage hostile {{\n  from \"localhost/aid-fixture-base:44\"\n{body}}}\n"
    )
}

fn sha256_hex(bytes: &[u8]) -> String {
    use std::io::Write;
    let mut child = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("sha256sum");
    child.stdin.take().expect("stdin").write_all(bytes).expect("write");
    let out = child.wait_with_output().expect("sha256sum");
    String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap_or("").to_string()
}

/// Names of files an injected command would have created.
fn pwned(mnt: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for dir in ["", "usr/share", "usr/share/hostile"] {
        if let Ok(entries) = std::fs::read_dir(mnt.join(dir)) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with("PWNED") {
                    found.push(format!("/{dir}/{name}"));
                }
            }
        }
    }
    found
}

#[test]
fn buildah_builds_hostile_values_verbatim_and_runs_no_injected_command() {
    if !crate::store::available("the buildah injection test") {
        return;
    }
    let b = crate::store::Buildah::with_fixture();
    let ctx = b.dir.path().join("ctx");
    std::fs::create_dir_all(ctx.join("files")).expect("mkdir");
    std::fs::write(ctx.join("files/motd"), "motd $(touch /usr/share/PWNED-14)\n").expect("write");
    let url = "https://example.org/a;touch$IFS/usr/share/PWNED-15;b&c=$(touch$IFS/usr/share/PWNED-16)*?[x]";
    let sha = sha256_hex(format!("aid-fixture curl placeholder for {url}\n").as_bytes());
    std::fs::write(ctx.join("image.aid"), e2e_recipe(url, &sha)).expect("write");
    let compiled = aidc(&ctx, &["compile", "image.aid"]);
    assert_eq!(compiled.status.code(), Some(0), "{}", String::from_utf8_lossy(&compiled.stderr));
    let image = b.build(&ctx, "out/hostile/Containerfile", Some("hostile"), "localhost/aid-hostile:1", &[]);

    // Labels and environment, from the image config.
    let inspect = b.inspect(&image);
    let config = &inspect["OCIv1"]["config"];
    let labels = &config["Labels"];
    let env: Vec<String> =
        config["Env"].as_array().expect("Env").iter().map(|e| e.as_str().unwrap_or("").to_string()).collect();
    let mut wrong = Vec::new();
    for (i, v) in E2E_VALUES.iter().enumerate() {
        if labels[format!("org.example.h{i}")].as_str() != Some(*v) {
            wrong.push(format!("label h{i}: {:?} != {v:?}", labels[format!("org.example.h{i}")]));
        }
        if !env.contains(&format!("E{i}={v}")) {
            wrong.push(format!("env E{i}: not {v:?} in {env:?}"));
        }
    }
    let doc = "Doc \"q\" 'a' $(touch /usr/share/PWNED-13) \\ ${HOME} `x`";
    if labels["org.opencontainers.image.description"].as_str() != Some(doc) {
        wrong.push(format!("description: {:?}", labels["org.opencontainers.image.description"]));
    }

    // Files, calls and the absence of every injected command's trace.
    b.with_mounted(&image, |mnt| {
        let read = |p: &str| std::fs::read(mnt.join(p.trim_start_matches('/'))).map_err(|e| format!("{p}: {e}"));
        let mut want_file = |p: &str, want: &[u8]| match read(p) {
            Ok(got) if got == want => {}
            other => wrong.push(format!("{p}: {other:?}")),
        };
        want_file(&format!("{E2E_DIR}/file"), format!("{E2E_CONTENT}\n").as_bytes());
        want_file(&format!("{E2E_DIR}/copied 'motd' $(x)"), b"motd $(touch /usr/share/PWNED-14)\n");
        want_file(&format!("{E2E_DIR}/fetched"), format!("aid-fixture curl placeholder for {url}\n").as_bytes());
        want_file("/usr/share/hostile/run-out", b"$(touch /usr/share/PWNED-12)\n${HOME}\nran\n");
        // Step numbers: the labels and envs, write, copy, packages, remove, two enables, kargs, fetch, run.
        let kargs_step = 2 * E2E_VALUES.len() + 6;
        want_file(
            &format!("/usr/lib/bootc/kargs.d/10-hostile-{kargs_step}.toml"),
            b"kargs = [\"rd.driver.blacklist=nouveau,nova-core\", \"console=ttyS0,115200n8\", \"x=%~@+/:=\"]\n",
        );
        let calls = String::from_utf8_lossy(&read("/usr/share/aid-fixture/calls.log").unwrap_or_default()).into_owned();
        for line in [
            "dnf5 -y install --allowerasing b*n e?c python3dist(torch) /usr/bin/rg gcc-c++",
            "dnf5 -y remove u*r",
            "systemctl enable getty@tty1.service",
            "systemctl enable a\\x2db.service",
            &format!("curl -fsSL --retry 3 -o /run/aid/tmp/fetch-{} {url}", kargs_step + 1),
        ] {
            if !calls.lines().any(|l| l == line) {
                wrong.push(format!("calls.log lacks {line:?}:\n{calls}"));
            }
        }
        let traces = pwned(mnt);
        assert!(traces.is_empty(), "an injected command ran: {traces:?}");
    });
    assert!(wrong.is_empty(), "values did not arrive verbatim:\n{}", wrong.join("\n"));
}

/// A label with a tab, built for real. Found by this suite: aidc wrote `\t`,
/// which buildah 1.28 read as a backslash and a `t`; fixed in 53c42c0.
#[test]
fn buildah_keeps_a_tab_in_a_label() {
    if !crate::store::available("the buildah injection test") {
        return;
    }
    let b = crate::store::Buildah::with_fixture();
    let ctx = b.dir.path().join("ctx");
    std::fs::create_dir_all(&ctx).expect("mkdir");
    std::fs::write(
        ctx.join("image.aid"),
        "image tab {\n  from \"localhost/aid-fixture-base:44\"\n  label \"org.example.tab\" = \"a\\tb\"\n  env T = \"a\\tb\"\n}\n",
    )
    .expect("write");
    assert_eq!(aidc(&ctx, &["compile", "image.aid"]).status.code(), Some(0));
    let image = b.build(&ctx, "out/tab/Containerfile", Some("tab"), "localhost/aid-tab:1", &[]);
    let inspect = b.inspect(&image);
    assert_eq!(inspect["OCIv1"]["config"]["Labels"]["org.example.tab"], "a\tb");
    assert!(inspect["OCIv1"]["config"]["Env"].as_array().expect("env").iter().any(|e| e == "T=a\tb"));
}

/// A copy source whose name holds shell syntax is refused by the compiler:
/// such a name would reach `--mount=...,source=` (where buildah expands `$IFS`)
/// and the step's shell line.
#[test]
fn a_copy_source_name_with_shell_syntax_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ctx = dir.path();
    let name = "files/x;echo${IFS}INJECTED-RAN;a";
    std::fs::create_dir_all(ctx.join("files")).expect("mkdir");
    std::fs::write(ctx.join(name), "x\n").expect("write");
    std::fs::write(
        ctx.join("image.aid"),
        format!(
            "image src {{\n  from \"localhost/aid-fixture-base:44\"\n  copy {} to \"/usr/share/x\"\n}}\n",
            lit(name)
        ),
    )
    .expect("write");
    let out = aidc(ctx, &["compile", "image.aid"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("aid::validate::context_escape"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!ctx.join("out").exists());
}
