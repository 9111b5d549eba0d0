//! Hostile repositories (docs/hardening.md, "Hostile repositories"): each
//! case is a folder under `tests/hostile/repos/` (adding one needs no Rust)
//! holding `case.json` and, optionally, a `repo/` tree copied as is.
//!
//! The harness lays out a sandbox: `outside/` (a canary directory and a
//! secret file, both holding a random marker) beside `repo/` (the
//! repository: `repo/.git` exists), then the case's `setup` (files, links,
//! FIFOs, journals naming real inodes, large files, names with any bytes),
//! runs `aidc` once with the marker also in its environment, and checks
//! what the case expects plus what every case must hold:
//!
//! * nothing under `outside/` changed (paths, types, bytes, link targets, modes);
//! * the marker is not in aidc's standard output or error, nor in any file
//!   under `repo/` that the run created or changed;
//! * the run ended within its time limit and its peak memory stayed bounded.
//!
//! `case.json`: `about` (what attack it reproduces), `setup` (list of
//! `{"file": P, "text": T}`, `{"file": P, "repeat": T, "times": N}`,
//! `{"dir": P}`, `{"link": P, "to": T}`, `{"fifo": P}`, `{"journal": P,
//! "swaps": [{"target": T, "staged": S, "id_of": P}]}` (device and inode of
//! the sandbox path `id_of`)), `run` (`args`, `cwd` (default `repo`),
//! `stdin`, `umask`), and `expect`: `exit`, `stderr_has` / `stderr_lacks`
//! (substrings), `stderr_max` (bytes), `exists` / `absent` (paths),
//! `unchanged` (sandbox paths whose whole tree must not change, on top of
//! `outside/`), `modes` (path -> octal), `outputs_lack` (substrings no
//! created or changed file under `repo/` may hold), `seconds`, `max_rss_mb`.
//! Paths are relative to the sandbox; in every string `{sandbox}` is its
//! absolute path and `{marker}` the marker; `\n` and other escapes are
//! JSON's, so names may hold any character.

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::root;

/// What a path holds, to tell whether it changed.
#[derive(Debug, PartialEq, Eq, Clone)]
enum Node {
    File { mode: u32, bytes: Vec<u8> },
    Dir { mode: u32 },
    Link(PathBuf),
    Other(u32),
}

/// Every entry under `dir` (links not followed), by path relative to `dir`.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Node> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&d) else { continue };
        let rel = d.strip_prefix(dir).unwrap_or(&d).to_path_buf();
        let ty = meta.file_type();
        let node = if ty.is_symlink() {
            Node::Link(std::fs::read_link(&d).unwrap_or_default())
        } else if ty.is_dir() {
            if let Ok(entries) = std::fs::read_dir(&d) {
                stack.extend(entries.flatten().map(|e| e.path()));
            }
            Node::Dir { mode: meta.mode() & 0o7777 }
        } else if ty.is_file() {
            Node::File { mode: meta.mode() & 0o7777, bytes: std::fs::read(&d).unwrap_or_default() }
        } else {
            Node::Other(meta.mode())
        };
        out.insert(rel, node);
    }
    out
}

fn text(v: &Value, sandbox: &Path, marker: &str) -> String {
    v.as_str().unwrap_or_default().replace("{sandbox}", &sandbox.to_string_lossy()).replace("{marker}", marker)
}

fn strings(v: Option<&Value>, sandbox: &Path, marker: &str) -> Vec<String> {
    v.and_then(Value::as_array).map(|a| a.iter().map(|s| text(s, sandbox, marker)).collect()).unwrap_or_default()
}

fn path(sandbox: &Path, p: &str) -> PathBuf {
    if p.starts_with('/') { PathBuf::from(p) } else { sandbox.join(p) }
}

/// Copies a case's `repo/` tree (plain files and directories).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir").flatten() {
        let (f, t) = (e.path(), to.join(e.file_name()));
        if e.file_type().expect("type").is_dir() {
            copy_tree(&f, &t);
        } else {
            std::fs::copy(&f, &t).expect("copy");
        }
    }
}

fn mkfifo(p: &Path) {
    let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).expect("path");
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo {}", p.display());
}

/// Lays out one `setup` step.
fn setup(step: &Value, sandbox: &Path, marker: &str) -> Result<(), String> {
    let at = |key: &str| step.get(key).map(|v| path(sandbox, &text(v, sandbox, marker)));
    let parent = |p: &Path| std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    if let Some(p) = at("file") {
        parent(&p);
        let bytes = match (step.get("text"), step.get("repeat")) {
            (Some(t), _) => text(t, sandbox, marker).into_bytes(),
            (_, Some(r)) => text(r, sandbox, marker).repeat(step["times"].as_u64().unwrap_or(1) as usize).into_bytes(),
            _ => Vec::new(),
        };
        std::fs::write(&p, bytes).map_err(|e| format!("write {}: {e}", p.display()))?;
    } else if let Some(p) = at("dir") {
        std::fs::create_dir_all(&p).map_err(|e| format!("mkdir {}: {e}", p.display()))?;
    } else if let Some(p) = at("link") {
        parent(&p);
        std::os::unix::fs::symlink(text(&step["to"], sandbox, marker), &p)
            .map_err(|e| format!("symlink {}: {e}", p.display()))?;
    } else if let Some(p) = at("fifo") {
        parent(&p);
        mkfifo(&p);
    } else if let Some(p) = at("journal") {
        let mut swaps = Vec::new();
        for s in step["swaps"].as_array().into_iter().flatten() {
            let of = path(sandbox, &text(&s["id_of"], sandbox, marker));
            let m = std::fs::symlink_metadata(&of).map_err(|e| format!("id_of {}: {e}", of.display()))?;
            let bytes = |k: &str| Value::from(text(&s[k], sandbox, marker).into_bytes());
            swaps.push(serde_json::json!({
                "target": bytes("target"), "staged": bytes("staged"), "device": m.dev(), "inode": m.ino()
            }));
        }
        let version = step.get("version").and_then(Value::as_u64).unwrap_or(2);
        let journal = serde_json::json!({ "version": version, "swaps": swaps });
        std::fs::write(&p, journal.to_string()).map_err(|e| format!("write {}: {e}", p.display()))?;
    } else if let Some(p) = at("chmod") {
        let mode = u32::from_str_radix(step["mode"].as_str().unwrap_or("644"), 8).map_err(|e| e.to_string())?;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).map_err(|e| e.to_string())?;
    } else {
        return Err(format!("unknown setup step {step}"));
    }
    Ok(())
}

/// One run's result.
struct Ran {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    wall: Duration,
    max_rss_kb: i64,
    timed_out: bool,
}

/// Runs aidc with a time limit, an address-space limit (a runaway read
/// fails instead of taking the machine's memory) and the marker in its
/// environment (so a read of `/proc/self/environ` would show).
#[allow(clippy::zombie_processes, reason = "wait4 reaps the child, which clippy cannot see")]
fn run(sandbox: &Path, spec: &Value, marker: &str, limit: Duration) -> Ran {
    let args = strings(spec.get("args"), sandbox, marker);
    let cwd = sandbox.join(text(spec.get("cwd").unwrap_or(&Value::from("repo")), sandbox, marker));
    let umask = spec.get("umask").and_then(Value::as_str).map(|u| u32::from_str_radix(u, 8).expect("octal umask"));
    let (out_path, err_path) = (sandbox.join(".stdout"), sandbox.join(".stderr"));
    let stdin = match spec.get("stdin") {
        Some(s) => {
            let p = sandbox.join(".stdin");
            std::fs::write(&p, text(s, sandbox, marker)).expect("stdin");
            Stdio::from(std::fs::File::open(p).expect("stdin"))
        }
        None => Stdio::null(),
    };
    // `AIDC_HOSTILE_BIN` runs another binary (an older aidc, to see a case fail).
    let bin = std::env::var_os("AIDC_HOSTILE_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_aidc").into());
    let mut cmd = Command::new(bin);
    cmd.args(&args)
        .current_dir(&cwd)
        .env_clear()
        .env("NO_COLOR", "1")
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AIDC_TEST_MARKER", marker)
        .stdin(stdin)
        .stdout(std::fs::File::create(&out_path).expect("stdout"))
        .stderr(std::fs::File::create(&err_path).expect("stderr"));
    // SAFETY: only async-signal-safe calls (umask, setrlimit) between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if let Some(u) = umask {
                libc::umask(u as libc::mode_t);
            }
            let limit = libc::rlimit { rlim_cur: 4 << 30, rlim_max: 4 << 30 };
            libc::setrlimit(libc::RLIMIT_AS, &limit);
            Ok(())
        });
    }
    let start = Instant::now();
    let child = cmd.spawn().expect("aidc starts");
    let pid = child.id() as libc::pid_t;
    let (mut status, mut timed_out) = (0, false);
    // SAFETY: an all-zero rusage is a valid value of the plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our unreaped child; status and usage are valid out-pointers.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid {
            break;
        }
        if start.elapsed() > limit && !timed_out {
            timed_out = true;
            // SAFETY: signalling our own unreaped child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let exit = std::process::ExitStatus::from_raw(status);
    Ran {
        code: exit.code(),
        stdout: std::fs::read(&out_path).unwrap_or_default(),
        stderr: std::fs::read(&err_path).unwrap_or_default(),
        wall: start.elapsed(),
        max_rss_kb: usage.ru_maxrss,
        timed_out,
    }
}

fn contains(hay: &[u8], needle: &str) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Runs one case; the failures, in words.
fn check_case(dir: &Path) -> Vec<String> {
    let case: Value = match std::fs::read_to_string(dir.join("case.json")).map(|t| serde_json::from_str(&t)) {
        Ok(Ok(v)) => v,
        other => return vec![format!("case.json unreadable: {other:?}")],
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let sandbox = tmp.path().canonicalize().expect("real tempdir");
    let marker = format!("AIDC-MARKER-{:016x}", rand_u64());
    let outside = sandbox.join("outside");
    std::fs::create_dir_all(outside.join("canary/sub")).expect("mkdir");
    std::fs::write(outside.join("canary/keep"), format!("canary {marker}\n")).expect("write");
    std::fs::write(outside.join("canary/sub/keep"), format!("canary {marker}\n")).expect("write");
    std::fs::write(outside.join("secret"), format!("secret {marker}\n")).expect("write");
    std::fs::write(outside.join("secret.aid"), format!("// secret {marker}\nimage x {{}}\n")).expect("write");
    std::fs::create_dir_all(sandbox.join("repo/.git")).expect("mkdir");
    if dir.join("repo").is_dir() {
        copy_tree(&dir.join("repo"), &sandbox.join("repo"));
    }
    for step in case["setup"].as_array().into_iter().flatten() {
        if let Err(e) = setup(step, &sandbox, &marker) {
            return vec![format!("setup: {e}")];
        }
    }
    let expect = &case["expect"];
    let mut guarded = vec![outside.clone()];
    guarded.extend(strings(expect.get("unchanged"), &sandbox, &marker).iter().map(|p| path(&sandbox, p)));
    let before: Vec<_> = guarded.iter().map(|p| snapshot(p)).collect();
    let repo_before = snapshot(&sandbox.join("repo"));
    let limit = Duration::from_secs_f64(expect.get("seconds").and_then(Value::as_f64).unwrap_or(20.0));
    let ran = run(&sandbox, &case["run"], &marker, limit);
    let mut fails = Vec::new();
    let err = String::from_utf8_lossy(&ran.stderr).into_owned();
    let shown_err: String = err.chars().take(3000).collect();
    if ran.timed_out {
        fails.push(format!("still running after {limit:?}: killed"));
    }
    if let Some(code) = expect.get("exit").and_then(Value::as_i64)
        && ran.code != Some(code as i32)
    {
        fails.push(format!("exit {:?}, expected {code}", ran.code));
    }
    for s in strings(expect.get("stderr_has"), &sandbox, &marker) {
        if !err.contains(&s) {
            fails.push(format!("stderr lacks {s:?}"));
        }
    }
    for s in strings(expect.get("stderr_lacks"), &sandbox, &marker) {
        if err.contains(&s) {
            fails.push(format!("stderr holds {s:?}"));
        }
    }
    let out = String::from_utf8_lossy(&ran.stdout);
    for s in strings(expect.get("stdout_has"), &sandbox, &marker) {
        if !out.contains(&s) {
            fails.push(format!("stdout lacks {s:?}: {}", out.chars().take(2000).collect::<String>()));
        }
    }
    if let Some(files) = expect.get("file_has").and_then(Value::as_object) {
        for (p, wanted) in files {
            let text = std::fs::read_to_string(path(&sandbox, p)).unwrap_or_default();
            for s in strings(Some(wanted), &sandbox, &marker) {
                if !text.contains(&s) {
                    fails.push(format!("{p} lacks {s:?}"));
                }
            }
        }
    }
    if let Some(max) = expect.get("stderr_max").and_then(Value::as_u64)
        && ran.stderr.len() as u64 > max
    {
        fails.push(format!("stderr is {} bytes, more than {max}", ran.stderr.len()));
    }
    if contains(&ran.stdout, &marker) || contains(&ran.stderr, &marker) {
        fails.push("the marker from outside the repository was printed".into());
    }
    let rss_mb = expect.get("max_rss_mb").and_then(Value::as_i64).unwrap_or(512);
    if ran.max_rss_kb / 1024 > rss_mb {
        fails.push(format!("peak memory {} MiB, more than {rss_mb} MiB", ran.max_rss_kb / 1024));
    }
    for (p, b) in guarded.iter().zip(&before) {
        let after = snapshot(p);
        if &after != b {
            let changed: Vec<_> = b
                .keys()
                .chain(after.keys())
                .filter(|k| b.get(*k) != after.get(*k))
                .map(|k| k.display().to_string())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            fails.push(format!("{} changed: {changed:?}", p.display()));
        }
    }
    let repo_after = snapshot(&sandbox.join("repo"));
    let lacks = strings(expect.get("outputs_lack"), &sandbox, &marker);
    for (rel, node) in &repo_after {
        if repo_before.get(rel) == Some(node) {
            continue;
        }
        if let Node::File { bytes, .. } = node {
            if contains(bytes, &marker) {
                fails.push(format!("repo/{} holds the marker from outside", rel.display()));
            }
            for s in &lacks {
                if contains(bytes, s) {
                    fails.push(format!("repo/{} holds {s:?}", rel.display()));
                }
            }
        }
    }
    for p in strings(expect.get("exists"), &sandbox, &marker) {
        if std::fs::symlink_metadata(path(&sandbox, &p)).is_err() {
            fails.push(format!("{p} is missing"));
        }
    }
    for p in strings(expect.get("absent"), &sandbox, &marker) {
        if std::fs::symlink_metadata(path(&sandbox, &p)).is_ok() {
            fails.push(format!("{p} exists"));
        }
    }
    if let Some(modes) = expect.get("modes").and_then(Value::as_object) {
        for (p, want) in modes {
            let got = std::fs::symlink_metadata(path(&sandbox, p)).map(|m| format!("{:o}", m.mode() & 0o7777));
            if got.as_deref().ok() != want.as_str() {
                fails.push(format!("{p}: mode {got:?}, expected {want}"));
            }
        }
    }
    if !fails.is_empty() {
        fails.push(format!("(ran {:?} in {:?}; stderr:\n{shown_err})", case["run"]["args"], ran.wall));
    }
    fails
}

fn rand_u64() -> u64 {
    let mut b = [0u8; 8];
    let _ = std::fs::File::open("/dev/urandom").and_then(|mut f| std::io::Read::read_exact(&mut f, &mut b));
    u64::from_le_bytes(b) ^ std::process::id() as u64
}

/// The case folders, sorted.
pub fn cases() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root().join("tests/hostile/repos"))
        .expect("tests/hostile/repos")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("case.json").is_file())
        .collect();
    dirs.sort();
    dirs
}

/// Every case under `tests/hostile/repos/` (`AIDC_CASE=NAME` runs one).
#[test]
fn hostile_repositories_do_no_harm() {
    let only = std::env::var("AIDC_CASE").ok();
    let mut failed = Vec::new();
    let mut ran = 0;
    for dir in cases() {
        let name = dir.file_name().unwrap_or_default().to_string_lossy().into_owned();
        if only.as_ref().is_some_and(|o| !o.split(',').any(|o| o == name)) {
            continue;
        }
        ran += 1;
        let fails = check_case(&dir);
        if !fails.is_empty() {
            failed.push(format!("{name}:\n  {}", fails.join("\n  ")));
        }
    }
    assert!(ran > 0, "no case ran");
    assert!(failed.is_empty(), "{} of {ran} hostile repositories failed:\n{}", failed.len(), failed.join("\n"));
}

/// One entry of a random repository tree.
#[derive(Debug, Clone)]
enum Entry {
    File(&'static str, &'static str),
    Dir(&'static str),
    Link(&'static str, &'static str),
    Fifo(&'static str),
    /// A character device like `/dev/null` (made only when aidc's tests run as root).
    Device(&'static str),
}

/// Names a tree may use: the ones aidc reads or writes, and hostile ones.
const NAMES: &[&str] = &[
    "m.aid",
    "data.txt",
    "files",
    "files/a.conf",
    "files/sub",
    "files/link",
    "files/.env",
    "files/.git",
    "out",
    ".tekton",
    "konflux",
    ".aidc-journal.json",
    ".containerignore",
    ".env",
    ".git/config",
    "x\nRUN touch pwned\n.aid",
    "a b",
    "-rf",
    "ü.aid",
    ".out.aidc-new-1",
    "aid.lock",
];

/// Where a link may point: inside, outside, to the marker, to devices.
const TARGETS: &[&str] = &[
    "files",
    "m.aid",
    "data.txt",
    "../outside/canary",
    "../outside/secret",
    "../outside/secret.aid",
    "../../outside/canary",
    "../outside/new",
    "/proc/self/environ",
    "/dev/zero",
    "/dev/stdin",
    "out",
    ".",
    "..",
    "nowhere",
];

/// Contents a file may have.
const CONTENTS: &[&str] = &[
    "",
    "x = 1\n",
    "layer l() {\n  packages [\"vim\"]\n}\n",
    "import \"../outside/secret.aid\" as s\n",
    "import \"./data.txt\" as d\n",
    "**/*a*a*a*a*a*a*a*a*b\n*\n!files\n",
    "{\"version\":2,\"swaps\":[{\"target\":[111,117,116],\"staged\":[46,46],\"device\":1,\"inode\":1}]}",
    "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
];

fn entry() -> impl proptest::strategy::Strategy<Value = Entry> {
    use proptest::prelude::*;
    let name = proptest::sample::select(NAMES);
    prop_oneof![
        4 => (name.clone(), proptest::sample::select(CONTENTS)).prop_map(|(n, c)| Entry::File(n, c)),
        2 => name.clone().prop_map(Entry::Dir),
        4 => (name.clone(), proptest::sample::select(TARGETS)).prop_map(|(n, t)| Entry::Link(n, t)),
        1 => name.clone().prop_map(Entry::Fifo),
        1 => name.prop_map(Entry::Device),
    ]
}

/// Lays out `entries` under `repo` (an entry whose place is taken, or
/// whose parent is not a directory, is skipped).
fn lay_out(repo: &Path, entries: &[Entry]) {
    for e in entries {
        let (name, made) = match e {
            Entry::File(n, c) => (*n, Some(c)),
            Entry::Dir(n) | Entry::Link(n, _) | Entry::Fifo(n) | Entry::Device(n) => (*n, None),
        };
        let p = repo.join(name);
        if std::fs::symlink_metadata(&p).is_ok() {
            continue;
        }
        if let Some(parent) = p.parent()
            && std::fs::create_dir_all(parent).is_err()
        {
            continue;
        }
        let _ = match e {
            Entry::File(..) => std::fs::write(&p, made.copied().unwrap_or_default()),
            Entry::Dir(_) => std::fs::create_dir_all(&p),
            Entry::Link(_, t) => std::os::unix::fs::symlink(t, &p),
            Entry::Fifo(_) => {
                mkfifo(&p);
                Ok(())
            }
            Entry::Device(_) => {
                let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).expect("path");
                // SAFETY: a valid NUL-terminated path; (1, 3) is the null device.
                unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3)) };
                Ok(())
            }
        };
    }
}

/// The recipe of every random tree: it imports `m.aid` and copies `files`
/// and `data.txt`, whatever they turn out to be.
const TREE_RECIPE: &str = "import \"./m.aid\" as m\nimage x {\n  from \"localhost/aid-fixture-base:44\"\n  copy \"files\" to \"/usr/share/x\"\n  copy \"data.txt\" to \"/etc/x\"\n}\npipeline konflux {\n  application = \"x\"\n  registry = \"quay.io/example\"\n  repository = \"https://github.com/example/x\"\n}\n";

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: std::env::var("AIDC_TREE_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(24),
        failure_persistence: None,
        ..Default::default()
    })]

    /// Over random trees (files, links inside and outside, FIFOs, devices,
    /// hostile names, hostile journals and ignore files), `check`, `compile
    /// --check` and `compile` never change anything outside the repository,
    /// never print the marker from outside, never put it in a file they
    /// write, end with 0, 1 or 2, and end in time.
    #[test]
    fn random_trees_stay_inside_their_roots(entries in proptest::collection::vec(entry(), 0..14)) {
        let tmp = tempfile::tempdir().expect("tempdir");
        let sandbox = tmp.path().canonicalize().expect("real tempdir");
        let marker = format!("AIDC-MARKER-{:016x}", rand_u64());
        let outside = sandbox.join("outside");
        std::fs::create_dir_all(outside.join("canary/sub")).expect("mkdir");
        std::fs::write(outside.join("canary/keep"), format!("canary {marker}\n")).expect("write");
        std::fs::write(outside.join("secret"), format!("secret {marker}\n")).expect("write");
        std::fs::write(outside.join("secret.aid"), format!("// {marker}\nlet s = \"{marker}\"\n")).expect("write");
        let repo = sandbox.join("repo");
        std::fs::create_dir_all(repo.join(".git")).expect("mkdir");
        std::fs::write(repo.join("image.aid"), TREE_RECIPE).expect("write");
        lay_out(&repo, &entries);
        let before = snapshot(&outside);
        for args in [&["check", "image.aid"][..], &["compile", "--check", "image.aid"], &["compile", "image.aid"]] {
            let repo_before = snapshot(&repo);
            let spec = serde_json::json!({ "args": args });
            let ran = run(&sandbox, &spec, &marker, Duration::from_secs(30));
            let err = String::from_utf8_lossy(&ran.stderr);
            proptest::prop_assert!(!ran.timed_out, "{args:?} hung on {entries:?}");
            proptest::prop_assert!(matches!(ran.code, Some(0..=2)), "{args:?} exit {:?} on {entries:?}: {err}", ran.code);
            proptest::prop_assert!(!contains(&ran.stdout, &marker) && !contains(&ran.stderr, &marker),
                "{args:?} printed the marker on {entries:?}: {err}");
            proptest::prop_assert!(snapshot(&outside) == before, "{args:?} changed outside/ on {entries:?}: {err}");
            for (rel, node) in snapshot(&repo) {
                if repo_before.get(&rel) != Some(&node)
                    && let Node::File { bytes, .. } = &node
                {
                    proptest::prop_assert!(!contains(bytes, &marker), "{args:?} wrote the marker into {rel:?} on {entries:?}");
                }
            }
        }
    }
}
