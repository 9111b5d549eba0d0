//! Hostile input: any byte sequence ends with exit 0 or 1 and diagnostics,
//! never a crash, a hang or a stack overflow, in time linear in its size.
//!
//! Two folders of data drive it (adding a case needs no Rust):
//!
//! * `tests/hostile/scaled.json`: inputs made of a repeated unit, each
//!   compiled at two sizes. Both runs must end with the expected exit code
//!   and diagnostic code within [`LIMIT`], and the larger may cost at most
//!   [`SLACK`] times its share of the smaller's CPU time (plus
//!   [`SLACK_SECONDS`] for start-up noise): a quadratic or exponential
//!   blow-up fails, a machine busy with other work does not, since user CPU
//!   time, not wall time, is compared.
//! * `tests/hostile/found/*.aid`: inputs the fuzzers found (crashes, hangs,
//!   oracle failures), kept as they were found.
//!
//! The cases that need several files or a generator (import chains, random
//! bytes and tokens) are written out below.

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{aidc, root};

/// Longest any single run may take (wall time) before it counts as a hang.
const LIMIT: Duration = Duration::from_secs(60);
/// How much more than linear the larger size of a scaled case may cost.
const SLACK: f64 = 2.0;
/// CPU seconds allowed on top, for start-up and measurement noise.
const SLACK_SECONDS: f64 = 0.3;

/// One run of `aidc`: exit code (`None` when killed by a signal or for
/// taking longer than [`LIMIT`]), standard error, CPU time (user).
struct Run {
    code: Option<i32>,
    signal: Option<i32>,
    stderr: String,
    cpu: f64,
    wall: Duration,
}

/// Runs `aidc ARGS` in `dir` and measures it. The child's CPU time comes
/// from `wait4`, so other load on the machine does not count.
#[allow(clippy::zombie_processes, reason = "wait4 reaps the child, which clippy cannot see")]
fn measure(dir: &Path, args: &[&str]) -> Run {
    let err_path = dir.join(".stderr");
    let err_file = std::fs::File::create(&err_path).expect("stderr file");
    let start = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_aidc"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("NO_COLOR", "1")
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdout(Stdio::null())
        .stderr(err_file)
        .spawn()
        .expect("aidc starts");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value of the plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let mut timed_out = false;
    loop {
        // SAFETY: `pid` is our child, not yet reaped; status and usage are valid out-pointers.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid {
            break;
        }
        assert!(r == 0, "wait4: {}", std::io::Error::last_os_error());
        if start.elapsed() > LIMIT {
            timed_out = true;
            // SAFETY: signalling our own unreaped child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let wall = start.elapsed();
    let exit = std::process::ExitStatus::from_raw(status);
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let stderr = String::from_utf8_lossy(&std::fs::read(&err_path).unwrap_or_default()).into_owned();
    Run {
        code: if timed_out { None } else { exit.code() },
        signal: exit.signal(),
        stderr,
        // User time only: system time is mostly the file system's (creating
        // and removing thousands of files), which depends on the machine.
        cpu: seconds(usage.ru_utime),
        wall,
    }
}

impl Run {
    /// Why this run is not a clean end with exit 0 or 1, if it is not.
    fn failure(&self) -> Option<String> {
        match self.code {
            Some(0 | 1) => None,
            None if self.signal.is_none() => Some(format!("no end within {LIMIT:?}")),
            code => Some(format!(
                "exit {code:?}, signal {:?}: {}",
                self.signal,
                &self.stderr[..self.stderr.len().min(1500)]
            )),
        }
    }
}

/// A case of `tests/hostile/scaled.json`: the input is `prefix`, then
/// `open` `n` times, `middle`, `close` `n` times, then `suffix`. In `open`
/// and `close`, `{i}` is the repetition's index and `{j}` the next one; in
/// `prefix`, `middle` and `suffix`, `{n}` is `n`. With `bytes`, every
/// character (at most U+00FF) stands for one byte, so that the input may be
/// invalid UTF-8. With `compile`, the case runs `aidc compile`, so that
/// planning and writing are measured too.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Scaled {
    name: String,
    #[serde(default)]
    prefix: String,
    open: String,
    #[serde(default)]
    middle: String,
    #[serde(default)]
    close: String,
    #[serde(default)]
    suffix: String,
    #[serde(default)]
    bytes: bool,
    /// The two values of `n`, smaller first.
    sizes: [usize; 2],
    /// The exit code both runs must end with.
    exit: i32,
    /// A diagnostic code both runs must report, when given.
    #[serde(default)]
    code: Option<String>,
    /// Run `aidc compile` (which also plans and writes the outputs) instead
    /// of `aidc check`.
    #[serde(default)]
    compile: bool,
}

impl Scaled {
    fn input(&self, n: usize) -> Vec<u8> {
        let fill = |s: &str| s.replace("{n}", &n.to_string());
        let unit = |s: &str, i: usize| {
            if s.contains('{') {
                s.replace("{i}", &i.to_string()).replace("{j}", &(i + 1).to_string())
            } else {
                s.into()
            }
        };
        let mut text = fill(&self.prefix);
        for i in 0..n {
            text.push_str(&unit(&self.open, i));
        }
        text.push_str(&fill(&self.middle));
        for i in (0..n).rev() {
            text.push_str(&unit(&self.close, i));
        }
        text.push_str(&fill(&self.suffix));
        if self.bytes {
            text.chars()
                .map(|c| u8::try_from(u32::from(c)).unwrap_or_else(|_| panic!("{}: {c:?} is not a byte", self.name)))
                .collect()
        } else {
            text.into_bytes()
        }
    }
}

#[test]
fn scaled_inputs_end_in_linear_time() {
    let text = std::fs::read_to_string(root().join("tests/hostile/scaled.json")).expect("tests/hostile/scaled.json");
    let cases: Vec<Scaled> = serde_json::from_str(&text).expect("scaled.json parses");
    assert!(cases.len() >= 20, "only {} scaled cases", cases.len());
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut failures = Vec::new();
    let mut report = Vec::new();
    for case in &cases {
        let [small, large] = case.sizes;
        assert!(small < large, "{}: sizes must grow", case.name);
        let mut runs = Vec::new();
        let mut lengths = Vec::new();
        for n in case.sizes {
            let input = case.input(n);
            lengths.push(input.len());
            std::fs::write(tmp.path().join("input.aid"), &input).expect("write");
            let run = measure(tmp.path(), &[if case.compile { "compile" } else { "check" }, "input.aid"]);
            if let Some(why) = run.failure() {
                failures.push(format!("{} (n = {n}, {} bytes): {why}", case.name, input.len()));
            } else if run.code != Some(case.exit) {
                failures.push(format!(
                    "{} (n = {n}): exit {:?}, expected {}:\n{}",
                    case.name,
                    run.code,
                    case.exit,
                    &run.stderr[..run.stderr.len().min(1500)]
                ));
            } else if let Some(code) = &case.code
                && !run.stderr.contains(code.as_str())
            {
                failures.push(format!(
                    "{} (n = {n}): no {code} in:\n{}",
                    case.name,
                    &run.stderr[..run.stderr.len().min(1500)]
                ));
            }
            runs.push(run);
        }
        // Bytes, not repetitions: a unit may hold its index, which grows.
        let growth = lengths[1] as f64 / lengths[0].max(1) as f64;
        let allowed = runs[0].cpu * growth * SLACK + SLACK_SECONDS;
        report.push(format!(
            "{:<48} {:>9} B {:>7.3} s | {:>9} B {:>7.3} s (allowed {:.3} s, wall {:.2} s)",
            case.name,
            lengths[0],
            runs[0].cpu,
            lengths[1],
            runs[1].cpu,
            allowed,
            runs[1].wall.as_secs_f64()
        ));
        if runs[1].code.is_some() && runs[1].cpu > allowed {
            failures.push(format!(
                "{}: {} bytes took {:.3} s of CPU, {} bytes {:.3} s: more than linear (allowed {allowed:.3} s)",
                case.name, lengths[0], runs[0].cpu, lengths[1], runs[1].cpu
            ));
        }
    }
    eprintln!("{}", report.join("\n"));
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n\n"));
}

/// Every input the fuzzers found, through `aidc check` in human and JSON
/// output: exit 0 or 1 within 10 s, with a diagnostic when 1.
#[test]
fn inputs_the_fuzzers_found_stay_fixed() {
    let dir = root().join("tests/hostile/found");
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut failures = Vec::new();
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("tests/hostile/found") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "aid") {
            continue;
        }
        n += 1;
        std::fs::copy(&path, tmp.path().join("image.aid")).expect("copy");
        for args in [&["check", "image.aid"][..], &["check", "--format", "json", "image.aid"][..]] {
            let run = measure(tmp.path(), args);
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            if let Some(why) = run.failure() {
                failures.push(format!("{name} {args:?}: {why}"));
            } else if run.wall > Duration::from_secs(10) {
                failures.push(format!("{name} {args:?}: took {:?}", run.wall));
            } else if run.code == Some(1) && args.len() == 2 && !run.stderr.contains("aid::") {
                failures.push(format!("{name}: exit 1 without a diagnostic code:\n{}", run.stderr));
            }
        }
    }
    assert!(n > 0, "no cases in tests/hostile/found");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn check_bytes(name: &str, bytes: &[u8]) -> std::process::Output {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("input.aid"), bytes).expect("write");
    let out = aidc(dir.path(), &["check", "input.aid"]);
    let code = out.status.code();
    assert!(matches!(code, Some(0) | Some(1)), "{name}: exit {code:?}\n{}", String::from_utf8_lossy(&out.stderr));
    out
}

fn assert_code(name: &str, out: &std::process::Output, code: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(code), "{name}: expected {code}, got:\n{}", &err[..err.len().min(2000)]);
}

/// A small deterministic generator (xorshift), so failures reproduce.
fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[test]
fn empty_file_is_fine() {
    let out = check_bytes("empty", b"");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn random_bytes_never_crash() {
    for seed in 1..=200u64 {
        let len = (seed as usize * 37) % 4096;
        check_bytes(&format!("random seed {seed}"), &bytes(seed, len));
    }
}

#[test]
fn random_tokens_never_crash() {
    const TOKENS: &[&str] = &[
        "image",
        "variant",
        "extends",
        "layer",
        "kmod",
        "kernel",
        "base",
        "repo",
        "use",
        "from",
        "{",
        "}",
        "(",
        ")",
        "[",
        "]",
        "\"x\"",
        "\"\"\"\n a\n\"\"\"",
        "=",
        "==",
        ">=",
        ",",
        ".",
        "a",
        "b-c",
        "target",
        "requires",
        "else",
        "not",
        "and",
        "or",
        "1",
        "3h",
        "true",
        "\n",
        "//c\n",
        "/* c */",
        "/*",
        "*/",
        "///d\n",
        "${",
        "secret(\"k\")",
        "policy",
        "packages",
        "copy",
        "to",
        "fetch",
        "sha256",
        "import \"std/x\"",
        "let",
        "provides",
        "after",
        ":",
        "$${",
    ];
    for seed in 1..=300u64 {
        let mut x = seed.wrapping_mul(0x9E3779B97F4A7C15) | 1;
        let mut s = String::new();
        for _ in 0..(seed % 200) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            s.push_str(TOKENS[(x % TOKENS.len() as u64) as usize]);
            s.push(' ');
        }
        check_bytes(&format!("tokens seed {seed}"), s.as_bytes());
    }
}

#[test]
fn a_module_that_imports_itself_is_a_cycle() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("self.aid"), "import \"./self.aid\" as me\n").expect("write");
    let out = aidc(dir.path(), &["check", "self.aid"]);
    assert_eq!(out.status.code(), Some(1));
    assert_code("self import", &out, "aid::module::cycle");
}

/// Writes an import chain `m0.aid` -> `m1.aid` -> ... of `n` modules into
/// `dir`; with `cycle`, the last imports the first.
fn import_chain(dir: &Path, n: usize, cycle: bool) {
    for i in 0..n {
        let next = if i + 1 < n {
            format!("import \"./m{}.aid\"\n", i + 1)
        } else if cycle {
            "import \"./m0.aid\"\n".to_string()
        } else {
            String::new()
        };
        std::fs::write(dir.join(format!("m{i}.aid")), format!("{next}layer l{i}() {{}}\n")).expect("write");
    }
}

/// Long import chains load in time linear in their length, with and
/// without a cycle at the end.
#[test]
fn long_import_chains_load_in_linear_time() {
    for (cycle, exit) in [(false, 0), (true, 1)] {
        let mut cpu = Vec::new();
        for n in [250, 2000] {
            let dir = tempfile::tempdir().expect("tempdir");
            import_chain(dir.path(), n, cycle);
            let run = measure(dir.path(), &["check", "m0.aid"]);
            assert_eq!(run.code, Some(exit), "chain of {n} (cycle: {cycle}): {}", run.failure().unwrap_or_default());
            if cycle {
                assert!(run.stderr.contains("aid::module::cycle"), "{}", &run.stderr[..run.stderr.len().min(1500)]);
            }
            cpu.push(run.cpu);
        }
        let allowed = cpu[0] * 8.0 * SLACK + SLACK_SECONDS;
        assert!(cpu[1] <= allowed, "chain (cycle: {cycle}): 250 modules {:.3} s, 2000 modules {:.3} s", cpu[0], cpu[1]);
    }
}
