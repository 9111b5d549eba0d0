//! Shared by the fuzz targets: the compile driver (over aidc's in-memory `Loader`) with
//! its oracles, and the structure-aware recipe generator (`arbitrary` types
//! that render to valid-looking `.aid` recipes using the real stdlib names,
//! every statement kind, and strings full of hostile characters).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use aidc::resolve::MemLoader;
use arbitrary::{Arbitrary, Unstructured};

/// Where the recipe lives in the in-memory file system.
pub const DIR: &str = "/fuzz";

/// What one compilation gave.
pub struct Result {
    pub outputs: Option<BTreeMap<String, String>>,
    pub errors: bool,
}

/// Compiles `recipe` (at `/fuzz/image.aid`, with `files` beside it) through
/// every stage, and renders every diagnostic both ways (the renderers slice
/// the sources by the diagnostics' spans).
pub fn compile(recipe: &[u8], files: &BTreeMap<String, Vec<u8>>) -> Result {
    compile_named("image.aid", recipe, files).expect("the entry file is in the loader")
}

/// [`compile`] with the recipe at `/fuzz/NAME`: the name is repository text
/// too (it reaches the header comment and the manifest). `None` when the
/// name is refused before anything is read, which must then be for a
/// control character in it.
pub fn compile_named(name: &str, recipe: &[u8], files: &BTreeMap<String, Vec<u8>>) -> Option<Result> {
    let entry = Path::new(DIR).join(name);
    let mut map = BTreeMap::new();
    map.insert(entry.clone(), recipe.to_vec());
    for (p, bytes) in files {
        map.insert(Path::new(DIR).join(p), bytes.clone());
    }
    let loader = MemLoader(map);
    let hash = aidc::driver::hash_with_loader(&loader, PathBuf::from(DIR));
    let search = aidc::resolve::SearchPath::default();
    let compiled = match aidc::driver::compile(&entry, &loader, &search, "out", &hash) {
        Ok(c) => c,
        Err(message) => {
            assert!(
                name.chars().any(char::is_control) && message.contains("control character"),
                "the entry `{}` was refused: {message}",
                name.escape_debug()
            );
            return None;
        }
    };
    let errors = compiled.diagnostics.has_errors();
    for d in compiled.diagnostics.iter() {
        for l in &d.labels {
            let file = compiled.loaded.sources.get(l.span.source);
            assert!(l.span.start <= l.span.end, "{}: reversed span {:?}", d.code.as_str(), l.span);
            assert!(l.span.end as usize <= file.text.len(), "{}: span {:?} past the end", d.code.as_str(), l.span);
            // Found by this target: tests/hostile/invalid-utf8-after-nul.aid.
            assert!(
                file.text.get(l.span.start as usize..l.span.end as usize).is_some(),
                "{}: span {:?} is not a range of `{}` ({} bytes)",
                d.code.as_str(),
                l.span,
                file.name,
                file.text.len()
            );
        }
        let shown = aidc::cli::render::human(&compiled.loaded.sources, d, false, 80);
        assert!(shown.contains(d.code.as_str()), "rendered diagnostic lacks its code:\n{shown}");
    }
    if errors {
        assert!(compiled.outputs.is_none() || compiled.plan.is_some(), "outputs without a plan");
    }
    Some(Result { outputs: if errors { None } else { compiled.outputs }, errors })
}

// ---------------------------------------------------------------------------
// Oracles on the emitted Containerfiles.

/// Checks that every line of a Containerfile is a comment, an instruction
/// aidc emits, or the continuation of a `RUN`; that mount options hold no
/// white space; and that the shell text of each `RUN` has no unquoted shell
/// metacharacter beyond the ones aidc itself writes. Returns what is wrong.
pub fn containerfile_problems(text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let lines: Vec<&str> = text.split('\n').collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if line.is_empty() || line.starts_with('#') {
            i += 1;
            continue;
        }
        let word = line.split(' ').next().unwrap_or("");
        match word {
            "FROM" => {
                let parts: Vec<&str> = line.split(' ').collect();
                if parts.len() != 4 || parts[2] != "AS" {
                    problems.push(format!("line {}: malformed FROM: {line:?}", i + 1));
                }
                i += 1;
            }
            "ARG" => {
                // `ARG NAME[=value]`: build arguments aidc declares itself
                // (AID_KMOD_SIGNING, TARGETARCH); no recipe value reaches one.
                let rest = line.strip_prefix("ARG ").unwrap_or("");
                let (name, value) = rest.split_once('=').unwrap_or((rest, ""));
                let posix = !name.is_empty()
                    && !name.starts_with(|c: char| c.is_ascii_digit())
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if !posix || !value.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)) {
                    problems.push(format!("line {}: malformed ARG: {line:?}", i + 1));
                }
                i += 1;
            }
            // The one label whose value is a build argument, on purpose: the
            // signing mode the build ran with (plan/layer.rs).
            "LABEL" if line == "LABEL \"dev.aidc.kmod-signing\"=\"${AID_KMOD_SIGNING}\"" => i += 1,
            // A hermetic build's kept repository file (compiler/plan/layer.rs,
            // `Keep::Copy`): `COPY --chmod=0644 <support file> /etc/yum.repos.d/<name>.repo`.
            "COPY" => {
                let parts: Vec<&str> = line.split(' ').collect();
                let plain = |p: &str| {
                    !p.is_empty()
                        && !p.starts_with('-')
                        && !p.split('/').any(|s| s == "..")
                        && p.chars().all(|c| c.is_ascii_alphanumeric() || "/._-:".contains(c))
                };
                let ok = parts.len() == 4
                    && parts[1] == "--chmod=0644"
                    && plain(parts[2])
                    && plain(parts[3])
                    && parts[3].starts_with("/etc/yum.repos.d/")
                    && parts[3].ends_with(".repo");
                if !ok {
                    problems.push(format!("line {}: malformed COPY: {line:?}", i + 1));
                }
                i += 1;
            }
            "ENV" | "LABEL" => {
                if let Some(p) = quoted_instruction_problem(line, word == "LABEL") {
                    problems.push(format!("line {}: {p}: {line:?}", i + 1));
                }
                i += 1;
            }
            "RUN" => {
                // Gather the continued lines.
                let mut parts = vec![&line[4..]];
                while parts.last().is_some_and(|l| l.ends_with(" \\")) && i + 1 < lines.len() {
                    i += 1;
                    parts.push(lines[i].strip_prefix("    ").unwrap_or(lines[i]));
                }
                i += 1;
                let mut shell = String::new();
                for (n, p) in parts.iter().enumerate() {
                    let p = p.strip_suffix(" \\").unwrap_or(p);
                    if let Some(m) = p.strip_prefix("--mount=") {
                        if !shell.is_empty() {
                            problems.push(format!("a --mount after the shell text: {p:?}"));
                        }
                        if m.chars().any(char::is_whitespace) {
                            problems.push(format!("white space in a mount: {p:?}"));
                        }
                        continue;
                    }
                    if n > 0 && !shell.is_empty() {
                        shell.push(' ');
                    }
                    shell.push_str(p);
                }
                if let Some(p) = shell_problem(&without_hermetic(&without_arch_case(&shell))) {
                    problems.push(format!("RUN shell text: {p}: {shell:?}"));
                }
            }
            _ => {
                problems.push(format!("line {}: not an instruction aidc emits: {line:?}", i + 1));
                i += 1;
            }
        }
    }
    problems
}

/// `ENV NAME="..."` / `LABEL "k"="v"`: a double-quoted value whose `"`, `\`
/// and `$` are escaped.
fn quoted_instruction_problem(line: &str, label: bool) -> Option<String> {
    let rest = line.split_once(' ').map(|x| x.1).unwrap_or("");
    let (key, value) = if label {
        let end = closing_quote(rest)?;
        (&rest[..=end], rest.get(end + 1..).unwrap_or(""))
    } else {
        match rest.split_once('=') {
            Some((k, v)) => (k, v),
            None => return Some("no `=`".into()),
        }
    };
    if label && !(key.starts_with('"') && key.len() >= 2) {
        return Some("label key not quoted".into());
    }
    if !label && !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Some("env name is not a POSIX name".into());
    }
    let Some(value) = value.strip_prefix('=').or(if label { None } else { Some(value) }) else {
        return Some("no `=` after the label key".into());
    };
    match closing_quote(value) {
        Some(end) if end + 1 == value.len() && value.starts_with('"') => None,
        _ => Some("value is not one double-quoted string".into()),
    }
}

/// Index of the `"` closing the double-quoted string at the start of `s`,
/// where `\` escapes the next character and an unescaped `$` is refused.
fn closing_quote(s: &str) -> Option<usize> {
    let mut chars = s.char_indices();
    if chars.next()?.1 != '"' {
        return None;
    }
    let mut escaped = false;
    for (i, c) in chars {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '$' => return None,
            '"' => return Some(i),
            _ => {}
        }
    }
    None
}

/// The shell text with aidc's own `case "$TARGETARCH"` scaffolding of a
/// multi-platform step (compiler/plan/arch.rs) taken out, exactly as aidc
/// writes it, so what is left is the commands, checked like any others.
fn without_arch_case(shell: &str) -> String {
    let mut s = shell.replace("case \"$TARGETARCH\" in ", " ; ");
    s = s.replace(" *) echo \"aidc: this image is not built for $TARGETARCH\" >&2; exit 1 ;; esac", " ; ");
    s = s.replace(" ;; ", " ; ");
    for arch in ["amd64", "arm64", "ppc64le", "s390x"] {
        s = s.replace(&format!("  {arch}) "), " ; ");
    }
    s
}

/// The shell text with a hermetic build's fixed shapes (compiler/plan/layer.rs)
/// rewritten to plain commands, exactly as aidc writes them, so what is left
/// is checked like any other text: the dnf options chosen by whether
/// Konflux's prefetch is mounted (`RepoSetup::choose`), `$DNF5_OPTS` in a
/// dnf command, the signing keys it imports first on Konflux, the hermetic
/// bzip2 guard, and a `fetch` that takes the
/// prefetched file when it is there (`Run::download_prefetched`). A shape
/// that differs in any way is left alone, and so reported.
fn without_hermetic(shell: &str) -> String {
    const CHOOSE: &str = "if [ -d /cachi2/output/deps/rpm ]; then export DNF5_OPTS=--setopt=reposdir=/etc/yum.repos.d; else export DNF5_OPTS=";
    const FETCHED: &str = "if [ -f /cachi2/output/deps/generic/";
    const IMPORT: &str = "if [ -d /cachi2/output/deps/rpm ]; then rpm --import ";
    let mut s = shell.replace(ENSURE_BZIP2_HERMETIC, "Q").replace(" $DNF5_OPTS ", " Q ");
    // The keys imported on Konflux (`RepoSetup::choose`): `IMPORT<paths> && export`
    // -> `CHOOSE`, when every path is a plain absolute path.
    let mut out = String::new();
    let mut rest = s.as_str();
    while let Some(at) = rest.find(IMPORT) {
        let after = &rest[at + IMPORT.len()..];
        let Some(end) = after.find(" && export DNF5_OPTS=") else { break };
        let paths = &after[..end];
        let plain = paths.split(' ').all(|p| {
            p.starts_with('/') && p.chars().all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c))
        });
        out.push_str(&rest[..at]);
        if plain {
            out.push_str("if [ -d /cachi2/output/deps/rpm ]; then ");
        } else {
            out.push_str(&rest[at..at + IMPORT.len() + end + 4]);
        }
        rest = &after[end + 4..];
    }
    out.push_str(rest);
    s = out;
    // `CHOOSE<word>; fi` -> `export DNF5_OPTS=<word>`, the word plain or one single-quoted string.
    let mut out = String::new();
    let mut rest = s.as_str();
    while let Some(at) = rest.find(CHOOSE) {
        let after = &rest[at + CHOOSE.len()..];
        let Some(end) = after.find("; fi") else { break };
        let word = &after[..end];
        let quoted = word.len() >= 2 && word.starts_with('\'') && word.ends_with('\'') && !word[1..word.len() - 1].contains('\'');
        let plain = word.chars().all(|c| c.is_ascii_alphanumeric() || "/._=:,-".contains(c));
        out.push_str(&rest[..at]);
        if quoted || plain {
            out.push_str("export DNF5_OPTS=");
            out.push_str(word);
        } else {
            out.push_str(&rest[at..at + CHOOSE.len() + end + 4]);
        }
        rest = &after[end + 4..];
    }
    out.push_str(rest);
    s = out;
    // `if [ -f P ]; then cp P T; else curl -fsSL --retry 3 -o T URL; fi` -> the curl.
    let mut out = String::new();
    let mut rest = s.as_str();
    while let Some(at) = rest.find(FETCHED) {
        let after = &rest[at + FETCHED.len()..];
        let hex: String = after.chars().take_while(char::is_ascii_hexdigit).collect();
        let path = format!("/cachi2/output/deps/generic/{hex}");
        let head = format!(" ]; then cp {path} ");
        let tail = &after[hex.len()..];
        let Some(tail) = tail.strip_prefix(head.as_str()) else { break };
        let target: String = tail.chars().take_while(|c| c.is_ascii_alphanumeric() || "/._-".contains(*c)).collect();
        let curl = format!("; else curl -fsSL --retry 3 -o {target} ");
        let Some(tail) = tail[target.len()..].strip_prefix(curl.as_str()) else { break };
        let Some(end) = tail.find("; fi") else { break };
        if hex.len() != 64 || !target.starts_with("/run/aid/tmp/") {
            break;
        }
        out.push_str(&rest[..at]);
        out.push_str(&format!("curl -fsSL --retry 3 -o {target} {}", &tail[..end]));
        rest = &tail[end + 4..];
    }
    out.push_str(rest);
    out
}

/// What aidc's own shell text may contain outside quotes, besides words:
/// the `&&` between commands and the checksum file's redirection.
/// The bzip2 guard of a `.tar.bz2` fetch, as compiler/plan/layer.rs emits it.
const ENSURE_BZIP2: &str = "{ command -v bzip2 >/dev/null || dnf5 -y install bzip2; }";
/// The same in a hermetic build, with the step's dnf options.
const ENSURE_BZIP2_HERMETIC: &str = "{ command -v bzip2 >/dev/null || dnf5 -y install $DNF5_OPTS bzip2; }";

fn shell_problem(shell: &str) -> Option<String> {
    let mut unquoted = String::new();
    let mut chars = shell.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                // Up to the closing quote; `'\''` is the usual escape of a quote.
                let mut closed = false;
                for d in chars.by_ref() {
                    if d == '\'' {
                        closed = true;
                        break;
                    }
                }
                if !closed {
                    return Some("unterminated single quote".into());
                }
                unquoted.push('Q');
            }
            '\\' => {
                if chars.next() != Some('\'') {
                    return Some("a backslash outside quotes".into());
                }
                unquoted.push('Q');
            }
            c => unquoted.push(c),
        }
    }
    // The one fixed group aidc emits with `||` in it (plan/layer.rs
    // ENSURE_BZIP2); any other `||`, `;` or `{` is a finding: an ungrouped
    // `||` in a `&&` chain lets a failed command (a checksum) carry on.
    let unquoted = unquoted.replace(ENSURE_BZIP2, "Q");
    let cleaned = unquoted.replace(" && ", " ; ");
    let mut words = cleaned.split(' ').peekable();
    while let Some(w) = words.next() {
        if w == ";" {
            continue;
        }
        if w == ">" {
            // `> /run/aid/tmp/fetch-N.sha256`
            match words.next() {
                Some(t) if t.starts_with("/run/aid/tmp/fetch-") && t.ends_with(".sha256") => continue,
                other => return Some(format!("a redirection to {other:?}")),
            }
        }
        if let Some(c) = w.chars().find(|c| {
            matches!(
                c,
                ';' | '&' | '|' | '<' | '>' | '(' | ')' | '$' | '`' | '"' | '*' | '?' | '[' | '\n' | '\t' | '#' | '~'
            )
        }) {
            return Some(format!("unquoted `{}` in word {w:?}", c.escape_default()));
        }
    }
    None
}

// ---------------------------------------------------------------------------
// The generator.

/// Hostile fragments that values are built from. Each holds the marker
/// `PWN` so that an oracle can look for it.
pub const HOSTILE: &[&str] = &[
    "'",
    "\"",
    "$(touch /PWN)",
    "`touch /PWN`",
    "\n",
    "\ntouch /PWN\n",
    ";touch /PWN;",
    "&& touch /PWN",
    "| touch PWN",
    "*",
    "?",
    "[a-z]",
    "-PWN",
    "--PWN=1",
    "${HOME}",
    "$HOME",
    "$PWN",
    "\\",
    "\\n",
    "é",
    "日本",
    "\u{202e}",
    "\u{2028}",
    "\t",
    "\r",
    " ",
    "#PWN",
    "~",
    "%s%n",
    "{a,b}",
    ">PWN",
    "<PWN",
    "2>&1",
    ",target=/etc",
    "=",
    ",",
    "..",
    ".",
    "/",
    "//",
    "\u{feff}",
    "\u{0085}",
    "!",
    "@",
    "+",
    "PWN",
];

/// Words that are valid in most grammars, for values that should pass.
pub const PLAIN: &[&str] = &[
    "htop",
    "jq",
    "python3-torch",
    "kernel-longterm-6.18.*",
    "python3dist(torch)",
    "gcc-c++",
    "/usr/bin/rg",
    "podman",
    "socket",
    "service",
    "org",
    "fedora",
    "x",
    "a_b",
    "v1.0",
    "0644",
    "0755",
    "6.18",
    "580.95.05",
    "13.0",
    "quiet",
    "mitigations=auto",
    "usr",
    "share",
    "etc",
    "files",
    "motd",
    "a.conf",
    "io",
    "github",
    "com",
];

/// A string value: pieces of plain and hostile text.
#[derive(Arbitrary, Debug)]
pub enum Piece {
    Plain(u8),
    Hostile(u8),
    Free(String),
    Char(char),
    /// `${...}` of a parameter or a `let` (may be unknown: then it is an error).
    Interp(u8),
}

#[derive(Arbitrary, Debug)]
pub struct Text {
    pub pieces: Vec<Piece>,
    /// Render as a triple-quoted string where possible.
    pub triple: bool,
}

impl Text {
    /// The text the pieces stand for (interpolations rendered as source).
    fn raw(&self) -> String {
        let mut s = String::new();
        for p in self.pieces.iter().take(12) {
            match p {
                Piece::Plain(i) => s.push_str(PLAIN[*i as usize % PLAIN.len()]),
                Piece::Hostile(i) => s.push_str(HOSTILE[*i as usize % HOSTILE.len()]),
                Piece::Free(f) => s.extend(f.chars().take(40)),
                Piece::Char(c) => s.push(*c),
                Piece::Interp(i) => {
                    s.push('\u{E000}');
                    s.push(char::from(b'a' + (*i % 4)));
                }
            }
        }
        s
    }
}

/// State of the rendering: names in scope, context files to create.
#[derive(Default)]
pub struct Gen {
    pub files: BTreeMap<String, Vec<u8>>,
    pub safe_paths: bool,
}

/// Renders `s` as a one-line `.aid` string literal, with `\u{E000}x`
/// standing for an interpolation of name `x`.
pub fn aid_string(s: &str) -> String {
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
            '\u{E000}' => {
                let name = chars.next().unwrap_or('a');
                let _ = write!(out, "${{p{name}}}");
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Renders `s` as a triple-quoted string when that can carry it exactly
/// (no `"""`, no `"` at the end, no leading or trailing line), else one-line.
fn aid_text(s: &str, triple: bool) -> String {
    let ok = triple
        && !s.contains("\"\"\"")
        && !s.ends_with('"')
        && !s.contains('\r')
        && !s.starts_with([' ', '\t', '\n'])
        && !s.ends_with(['\n', ' ', '\t'])
        && !s.contains("\n ")
        && !s.contains("\n\t");
    if !ok {
        return aid_string(s);
    }
    let mut body = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' if chars.peek() == Some(&'{') => body.push_str("$$"),
            '\u{E000}' => {
                let name = chars.next().unwrap_or('a');
                let _ = write!(body, "${{p{name}}}");
            }
            '\n' => body.push_str("\n  "),
            c => body.push(c),
        }
    }
    format!("\"\"\"\n  {body}\n  \"\"\"")
}

#[derive(Arbitrary, Debug)]
pub enum StdLayer {
    Ramalama,
    Ollama,
    LlamaCpp,
    Goose,
    PodmanDesktop,
    PodmanAiLab,
    CudaRuntime,
    CudaToolkit,
    Cudnn,
    ContainerToolkit,
    Userspace,
    Remix,
}

impl StdLayer {
    fn render(&self) -> &'static str {
        match self {
            StdLayer::Ramalama => "tools.ramalama",
            StdLayer::Ollama => "tools.ollama()",
            StdLayer::LlamaCpp => "tools.llama-cpp",
            StdLayer::Goose => "tools.goose(\"1.4.0\")",
            StdLayer::PodmanDesktop => "tools.podman-desktop",
            StdLayer::PodmanAiLab => "tools.podman-ai-lab",
            StdLayer::CudaRuntime => "cuda.runtime(\"13.0\")",
            StdLayer::CudaToolkit => "cuda.toolkit(\"13.0\")",
            StdLayer::Cudnn => "cuda.cudnn(\"13\")",
            StdLayer::ContainerToolkit => "nvidia.container-toolkit",
            StdLayer::Userspace => "nvidia.userspace(\"580.95.05\", [\"nvidia-settings\"])",
            StdLayer::Remix => "fedora.remix",
        }
    }
}

#[derive(Arbitrary, Debug)]
pub enum StdRepo {
    UpdatesTesting,
    Copr,
    RpmfusionFree,
    RpmfusionNonfree,
    Negativo,
    Flathub,
}

impl StdRepo {
    fn render(&self) -> &'static str {
        match self {
            StdRepo::UpdatesTesting => "fedora.updates-testing",
            StdRepo::Copr => "fedora.copr(\"kwizart\", \"kernel-longterm-6.18\")",
            StdRepo::RpmfusionFree => "fedora.rpmfusion-free",
            StdRepo::RpmfusionNonfree => "fedora.rpmfusion-nonfree",
            StdRepo::Negativo => "fedora.negativo17-nvidia",
            StdRepo::Flathub => "fedora.flathub",
        }
    }
}

#[derive(Arbitrary, Debug)]
pub enum From {
    Fixture,
    Bootc(u8),
    Silverblue,
    Kinoite,
    Reference(Text),
    Project,
}

#[derive(Arbitrary, Debug)]
pub enum Stmt {
    Packages(Vec<Text>),
    PackagesPlain(Vec<u8>),
    Remove(Vec<Text>),
    Enable(Text),
    Disable(Text),
    Kargs(Vec<Text>),
    Flatpak(Text),
    Env(u8, Text),
    EnvInt(u8, u32),
    Label(Text, Text),
    Write(Text, Text, Option<Text>),
    Run(Text),
    RunScript(Text),
    Copy(Text, Text, Option<Text>),
    Fetch {
        url: Text,
        sha: Option<Text>,
        extract: Option<Text>,
        to: Text,
        mode: Option<Text>,
    },
    UseStd(StdLayer),
    UseLocal(u8, Text),
    RepoStd(StdRepo),
    RepoLocal(u8),
    Kernel(KernelChoice),
    Kmod(u8, Text),
    KmodNvidia,
    Signing(Text, Text),
    Requires(Text, Text),
    Provides(u8, Text),
    Description(Text),
    Policy(bool, bool),
    /// Raw text, to exercise the parser's recovery inside a body.
    Garbage(Text),
}

#[derive(Arbitrary, Debug)]
pub enum KernelChoice {
    Longterm,
    Pin,
    Local(u8),
}

#[derive(Arbitrary, Debug)]
pub enum Def {
    Layer { stmts: Vec<Stmt>, license: Option<Text>, changes: u8 },
    Kmod { module: Text, version: Text, build: Vec<Text>, stmts: Vec<Stmt> },
    Kernel { package: Text, version: Text },
    Repo { source: u8, url: Text, id: Option<Text>, keep: bool, license: Option<Text> },
}

#[derive(Arbitrary, Debug)]
pub struct Variant {
    pub extends: Option<u8>,
    pub stmts: Vec<Stmt>,
}

#[derive(Arbitrary, Debug)]
pub struct Image {
    pub doc: Option<Text>,
    pub from: From,
    pub stmts: Vec<Stmt>,
    pub variants: Vec<Variant>,
}

#[derive(Arbitrary, Debug)]
pub struct Recipe {
    pub lets: Vec<Text>,
    pub defs: Vec<Def>,
    pub images: Vec<Image>,
    pub pipeline: Option<Text>,
    pub force_imports: bool,
}

const DEF_NAMES: usize = 4;

fn list(items: &[Text]) -> String {
    let rendered: Vec<String> = items.iter().take(6).map(|t| aid_string(&t.raw())).collect();
    format!("[{}]", rendered.join(", "))
}

impl Gen {
    /// A context path for `copy`/`script`/`file`: the file is created so the
    /// compile gets past the missing-input check.
    fn context_file(&mut self, t: &Text, default: &str) -> String {
        let mut raw = t.raw();
        if self.safe_paths {
            raw = raw.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-')).collect();
        }
        if raw.is_empty() {
            raw = default.to_string();
        }
        if let Ok(p) = aidc::validate::context_path(&raw) {
            self.files.entry(p.clone()).or_insert_with(|| format!("content of {p}\n").into_bytes());
        }
        raw
    }

    fn destination(&self, t: &Text) -> String {
        let raw = t.raw();
        let raw = if self.safe_paths {
            raw.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-')).collect()
        } else {
            raw
        };
        if raw.starts_with('/') { raw } else { format!("/usr/share/{raw}") }
    }

    fn stmt(&mut self, s: &Stmt, out: &mut String, in_def: bool) {
        let line = match s {
            Stmt::Packages(names) => format!("packages {}", list(names)),
            Stmt::PackagesPlain(idx) => {
                let names: Vec<String> =
                    idx.iter().take(6).map(|i| aid_string(PLAIN[*i as usize % PLAIN.len()])).collect();
                format!("packages [{}]", names.join(", "))
            }
            Stmt::Remove(names) => format!("remove {}", list(names)),
            Stmt::Enable(u) => format!("enable {}", aid_string(&format!("{}.service", u.raw()))),
            Stmt::Disable(u) => format!("disable {}", aid_string(&u.raw())),
            Stmt::Kargs(args) => format!("kargs {}", list(args)),
            Stmt::Flatpak(id) => format!("flatpak {}", aid_string(&format!("org.example.{}", id.raw()))),
            Stmt::Env(n, v) => format!("env E{n} = {}", aid_string(&v.raw())),
            Stmt::EnvInt(n, v) => format!("env E{n} = {v}"),
            Stmt::Label(k, v) => {
                format!("label {} = {}", aid_string(&format!("org.example.{}", k.raw())), aid_string(&v.raw()))
            }
            Stmt::Write(d, c, m) => {
                let mut l = format!("write {} {}", aid_string(&self.destination(d)), aid_text(&c.raw(), c.triple));
                if let Some(m) = m {
                    let _ = write!(l, " mode {}", aid_string(&m.raw()));
                }
                l
            }
            Stmt::Run(t) => format!("run {}", aid_text(&t.raw(), t.triple)),
            Stmt::RunScript(p) => format!("run script({})", aid_string(&self.context_file(p, "scripts/x.sh"))),
            Stmt::Copy(src, to, m) => {
                let mut l = format!(
                    "copy {} to {}",
                    aid_string(&self.context_file(src, "files/a")),
                    aid_string(&self.destination(to))
                );
                if let Some(m) = m {
                    let _ = write!(l, " mode {}", aid_string(&m.raw()));
                }
                l
            }
            Stmt::Fetch { url, sha, extract, to, mode } => {
                let mut l = format!("fetch {}", aid_string(&format!("https://example.org/{}", url.raw())));
                if let Some(s) = sha {
                    let raw = s.raw();
                    let hex = if raw.len() % 3 == 0 { "ab".repeat(32) } else { raw };
                    let _ = write!(l, " sha256 {}", aid_string(&hex));
                }
                if let Some(x) = extract {
                    let _ = write!(l, " extract {}", aid_string(&x.raw()));
                }
                let _ = write!(l, " to {}", aid_string(&self.destination(to)));
                if let Some(m) = mode {
                    let _ = write!(l, " mode {}", aid_string(&m.raw()));
                }
                l
            }
            Stmt::UseStd(l) => format!("use {}", l.render()),
            Stmt::UseLocal(i, arg) => format!("use d{}({})", *i as usize % DEF_NAMES, aid_string(&arg.raw())),
            Stmt::RepoStd(r) => format!("repo {}", r.render()),
            Stmt::RepoLocal(i) => format!("repo d{}", *i as usize % DEF_NAMES),
            Stmt::Kernel(k) if !in_def => match k {
                KernelChoice::Longterm => "kernel kernel.longterm(\"6.18\")".into(),
                KernelChoice::Pin => "kernel kernel.pin(\"6.17.1-300.fc44\")".into(),
                KernelChoice::Local(i) => format!("kernel d{}(\"x\")", *i as usize % DEF_NAMES),
            },
            Stmt::Kmod(i, arg) if !in_def => {
                format!("kmod d{}({})", *i as usize % DEF_NAMES, aid_string(&arg.raw()))
            }
            Stmt::KmodNvidia if !in_def => "kmod nvidia.open(\"580.95.05\")".into(),
            Stmt::Signing(key, cert) if !in_def => format!(
                "signing {{ key = secret({}), cert = file({}) }}",
                aid_string(&key.raw()),
                aid_string(&self.context_file(cert, "keys/x.der"))
            ),
            Stmt::Requires(a, b) => {
                format!("requires target.kernel >= {} else {}", aid_string(&a.raw()), aid_string(&b.raw()))
            }
            Stmt::Provides(n, v) => format!("provides f{} = {}", n % 4, aid_string(&v.raw())),
            Stmt::Description(t) if !in_def => format!("description = {}", aid_string(&t.raw())),
            Stmt::Policy(p, t) if !in_def => format!(
                "policy {{ proprietary = {}, telemetry = {} }}",
                if *p { "allow" } else { "deny" },
                if *t { "allow" } else { "deny" }
            ),
            Stmt::Garbage(t) => t.raw().replace('\u{E000}', "${"),
            _ => return,
        };
        out.push_str("  ");
        out.push_str(&line);
        out.push('\n');
    }

    fn def(&mut self, i: usize, d: &Def, out: &mut String) {
        match d {
            Def::Layer { stmts, license, changes } => {
                let _ = writeln!(out, "/// Layer {i}.\nlayer d{i}(pa: string = \"x\") {{");
                for s in stmts.iter().take(8) {
                    self.stmt(s, out, true);
                }
                if let Some(l) = license {
                    let _ = writeln!(out, "  license = {}", aid_string(&l.raw()));
                }
                let _ =
                    writeln!(out, "  changes = {}", ["rarely", "monthly", "weekly", "often"][*changes as usize % 4]);
            }
            Def::Kmod { module, version, build, stmts } => {
                let _ = writeln!(out, "kmod d{i}(pa: string) {{");
                let _ = writeln!(out, "  module = {}", aid_string(&module.raw()));
                let _ = writeln!(out, "  version = {}", aid_string(&version.raw()));
                let _ = writeln!(out, "  build-packages = {}", list(build));
                let _ = writeln!(out, "  license = \"MIT\"");
                for s in stmts.iter().take(4) {
                    self.stmt(s, out, true);
                }
            }
            Def::Kernel { package, version } => {
                let _ = writeln!(out, "kernel d{i}(pa: string) {{");
                let _ = writeln!(out, "  package = {}", aid_string(&package.raw()));
                let v = aid_string(&version.raw());
                let _ = writeln!(out, "  version = {v}\n  provides kernel = {v}\n  license = \"GPL-2.0-only\"");
            }
            Def::Repo { source, url, id, keep, license } => {
                let _ = writeln!(out, "repo d{i} {{");
                let key = ["url", "baseurl", "copr", "flatpakrepo", "id"][*source as usize % 5];
                let value = match key {
                    "copr" => url.raw(),
                    "id" => url.raw(),
                    _ => format!("https://example.org/{}", url.raw()),
                };
                let _ = writeln!(out, "  {key} = {}", aid_string(&value));
                if let Some(id) = id {
                    let _ = writeln!(out, "  id = {}", aid_string(&id.raw()));
                }
                if *keep {
                    let _ = writeln!(out, "  keep = true");
                }
                match license {
                    Some(l) => {
                        let _ = writeln!(out, "  license = {}", aid_string(&l.raw()));
                    }
                    None => {
                        let _ = writeln!(out, "  license = \"MIT\"");
                    }
                }
            }
        }
        out.push_str("}\n\n");
    }

    /// Renders the recipe; the context files it names are in `self.files`.
    pub fn render(&mut self, r: &Recipe) -> String {
        let mut out = String::new();
        for (i, l) in r.lets.iter().take(4).enumerate() {
            let _ = writeln!(out, "let p{} = {}", char::from(b'a' + i as u8), aid_string(&l.raw()));
        }
        for name in ["pa", "pb", "pc", "pd"].iter().skip(r.lets.len().min(4)) {
            let _ = writeln!(out, "let {name} = \"{name}\"");
        }
        out.push('\n');
        for (i, d) in r.defs.iter().take(DEF_NAMES).enumerate() {
            self.def(i, d, &mut out);
        }
        for i in r.defs.len().min(DEF_NAMES)..DEF_NAMES {
            let _ = writeln!(out, "layer d{i}(pa: string = \"x\") {{\n  packages [\"p{i}\"]\n}}\n");
        }
        for (n, img) in r.images.iter().take(3).enumerate() {
            if let Some(doc) = &img.doc {
                for line in doc.raw().split('\n') {
                    let _ = writeln!(out, "/// {}", line.replace('\r', " "));
                }
            }
            let _ = writeln!(out, "image i{n} {{");
            let from = match &img.from {
                From::Fixture => "\"localhost/aid-fixture-base:44\"".to_string(),
                From::Bootc(r) => format!("fedora.bootc({})", 40 + (*r % 8)),
                From::Silverblue => "fedora.silverblue(44)".into(),
                From::Kinoite => "fedora.kinoite(44)".into(),
                From::Reference(t) => aid_string(&t.raw()),
                From::Project if n > 0 => format!("i{}", n - 1),
                From::Project => "fedora.bootc(44)".into(),
            };
            let _ = writeln!(out, "  from {from}");
            for s in img.stmts.iter().take(12) {
                self.stmt(s, &mut out, false);
            }
            for (v, variant) in img.variants.iter().take(3).enumerate() {
                match variant.extends {
                    Some(e) if v > 0 => {
                        let _ = writeln!(out, "  variant v{v} extends v{} {{", e as usize % v);
                    }
                    _ => {
                        let _ = writeln!(out, "  variant v{v} {{");
                    }
                }
                for s in variant.stmts.iter().take(6) {
                    self.stmt(s, &mut out, false);
                }
                out.push_str("  }\n");
            }
            out.push_str("}\n\n");
        }
        // Import only the stdlib modules the recipe names: parsing the
        // whole stdlib on every run would halve the fuzzer's speed.
        let mut imports = String::new();
        for m in ["fedora", "kernel", "nvidia", "cuda", "tools"] {
            if out.contains(&format!("{m}.")) || r.force_imports {
                let _ = writeln!(imports, "import \"std/{m}\"");
            }
        }
        out.insert_str(0, &imports);
        if let Some(p) = &r.pipeline {
            let _ = writeln!(
                out,
                "pipeline konflux {{\n  application = \"fuzz\"\n  registry = {}\n}}",
                aid_string(&p.raw())
            );
        }
        out
    }
}

/// Renders a recipe from fuzzer bytes.
pub fn generate(data: &[u8], safe_paths: bool) -> Option<(String, BTreeMap<String, Vec<u8>>)> {
    let mut u = Unstructured::new(data);
    let recipe = Recipe::arbitrary(&mut u).ok()?;
    let mut g = Gen { safe_paths, ..Gen::default() };
    let text = g.render(&recipe);
    Some((text, g.files))
}

/// Whether the Containerfile oracles fail the run (default: yes;
/// `AIDC_FUZZ_STRICT=0` looks for crashes only).
pub fn strict() -> bool {
    std::env::var_os("AIDC_FUZZ_STRICT").is_none_or(|v| v != "0")
}

/// `AIDC_FUZZ_SAFE_PATHS=1`: context paths and destinations of generated
/// recipes keep to `[A-Za-z0-9/._-]` (it was needed to fuzz past the path
/// bug fixed in 53c42c0).
pub fn safe_paths() -> bool {
    std::env::var_os("AIDC_FUZZ_SAFE_PATHS").is_some_and(|v| v == "1")
}
