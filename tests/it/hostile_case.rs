//! The harness of the hostile-repository cases (docs/hardening.md,
//! "Hostile repositories"): each case is a folder under
//! `tests/hostile/repos/` (adding one needs no Rust) holding `case.json`
//! and, optionally, a `repo/` tree copied as is; each runs as its own test,
//! `cargo test --test cases hostile::NAME` (tests/cases/hostile.rs).
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
pub enum Node {
    File { mode: u32, bytes: Vec<u8> },
    Dir { mode: u32 },
    Link(PathBuf),
    Other(u32),
}

/// Every entry under `dir` (links not followed), by path relative to `dir`.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Node> {
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

pub fn mkfifo(p: &Path) {
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
pub struct Ran {
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub wall: Duration,
    pub max_rss_kb: i64,
    pub timed_out: bool,
}

/// Runs aidc with a time limit, an address-space limit (a runaway read
/// fails instead of taking the machine's memory) and the marker in its
/// environment (so a read of `/proc/self/environ` would show).
#[allow(clippy::zombie_processes, reason = "wait4 reaps the child, which clippy cannot see")]
pub fn run(sandbox: &Path, spec: &Value, marker: &str, limit: Duration) -> Ran {
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

pub fn contains(hay: &[u8], needle: &str) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// A sandbox: `outside/` (a canary tree and secret files holding a fresh
/// random marker; `secret.aid` holds what `secret_aid` makes of the
/// marker) beside `repo/` (with `repo/.git`). The directory, its real
/// path and the marker.
pub fn sandbox(secret_aid: impl Fn(&str) -> String) -> (tempfile::TempDir, PathBuf, String) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let sandbox = tmp.path().canonicalize().expect("real tempdir");
    let marker = format!("AIDC-MARKER-{:016x}", rand_u64());
    let outside = sandbox.join("outside");
    std::fs::create_dir_all(outside.join("canary/sub")).expect("mkdir");
    std::fs::write(outside.join("canary/keep"), format!("canary {marker}\n")).expect("write");
    std::fs::write(outside.join("canary/sub/keep"), format!("canary {marker}\n")).expect("write");
    std::fs::write(outside.join("secret"), format!("secret {marker}\n")).expect("write");
    std::fs::write(outside.join("secret.aid"), secret_aid(&marker)).expect("write");
    std::fs::create_dir_all(sandbox.join("repo/.git")).expect("mkdir");
    (tmp, sandbox, marker)
}

/// Runs one case; the failures, in words.
pub fn check_case(dir: &Path) -> Vec<String> {
    let case: Value = match std::fs::read_to_string(dir.join("case.json")).map(|t| serde_json::from_str(&t)) {
        Ok(Ok(v)) => v,
        other => return vec![format!("case.json unreadable: {other:?}")],
    };
    let (_tmp, sandbox, marker) = sandbox(|marker| format!("// secret {marker}\nimage x {{}}\n"));
    let outside = sandbox.join("outside");
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

pub fn rand_u64() -> u64 {
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
