//! Whole-process benchmarks: the release `aidc` binary run by `hyperfine`
//! on real files, as CI and users run it (start-up, reading, hashing and
//! writing included, which the in-process benches in `compile.rs` leave out).
//!
//! `cargo bench --bench process` needs `hyperfine` on the PATH
//! (`apt-get install hyperfine` on Debian/Ubuntu, or `cargo install hyperfine`).
//! It writes its projects under the system's temporary directory (about
//! 1 GiB for the large-input case, removed at the end) and prints one table of
//! medians with the load average beside each figure. docs/performance.md
//! records the figures and what each case means.
//!
//! With `AIDC_BENCH_BEFORE=/path/to/an/older/aidc` every case also runs
//! that binary, in the same run, and the table has a column for each.
//!
//! Cases (each names the targets of issue 15 it measures):
//! * `flagship check`, `flagship compile (fresh)`: examples/ai-desktop,
//!   outputs removed before every run.
//! * `N images x 3 variants compile (fresh)`: the generator of `scale.rs`.
//! * `1000 images x 3 variants, after 3 s idle`: the same, each run after
//!   three idle seconds (not timed), as CI runs aidc once.
//! * `1 GiB input: no-op recompile`: a recipe copying a 1 GiB file,
//!   compiled again with nothing changed (the digest cache's case), then an
//!   edit that keeps the file's size must make `compile --check` fail.

use std::path::{Path, PathBuf};
use std::process::Command;

mod scale;

const AIDC: &str = env!("CARGO_BIN_EXE_aidc");

/// One measured case: its name, the medians in seconds (this binary, the
/// older one), the load when it ran.
struct Figure {
    name: String,
    median: f64,
    before: Option<f64>,
    load: String,
}

/// The 1-minute load average, as `uptime` shows it.
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// Runs `aidc ARGS` in `dir` under hyperfine (and the older binary, if
/// any) and returns the medians.
fn measure(name: &str, dir: &Path, prepare: Option<&str>, args: &str, runs: u32) -> Figure {
    let load = load();
    let now = median(name, dir, prepare, &format!("{AIDC} {args}"), runs);
    let before =
        std::env::var("AIDC_BENCH_BEFORE").ok().map(|old| median(name, dir, prepare, &format!("{old} {args}"), runs));
    Figure { name: name.into(), median: now, before, load }
}

/// The median of `command` in `dir` under hyperfine.
fn median(name: &str, dir: &Path, prepare: Option<&str>, command: &str, runs: u32) -> f64 {
    let json = dir.join("hyperfine.json");
    let mut h = Command::new("hyperfine");
    h.current_dir(dir)
        .args([
            "--style",
            "basic",
            "--shell",
            "none",
            "--warmup",
            if runs > 5 { "3" } else { "1" },
            "--runs",
            &runs.to_string(),
        ])
        .arg("--export-json")
        .arg(&json);
    if let Some(p) = prepare {
        h.args(["--prepare", p]);
    }
    h.arg(command);
    let status = h.status().expect("hyperfine (apt-get install hyperfine, or cargo install hyperfine)");
    assert!(status.success(), "hyperfine failed on {name}");
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).expect("report")).expect("json");
    report["results"][0]["median"].as_f64().expect("median")
}

/// Copies the flagship's inputs (not its outputs) into `dir`.
fn flagship(dir: &Path) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ai-desktop");
    for f in ["image.aid", "files/90-ai-desktop.conf", "keys/ai-desktop.der"] {
        let to = dir.join(f);
        std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
        std::fs::copy(src.join(f), to).expect("copy");
    }
}

/// A generated project of `n` images × 3 variants in `dir`.
fn generated(dir: &Path, n: usize) {
    std::fs::create_dir_all(dir.join("keys")).expect("mkdir");
    std::fs::write(dir.join("keys/gen.der"), b"certificate").expect("cert");
    std::fs::write(dir.join("image.aid"), scale::recipe(n)).expect("recipe");
}

/// A recipe copying a 1 GiB file of pseudo-random bytes, in `dir`.
fn large(dir: &Path) -> PathBuf {
    let model = dir.join("model.bin");
    let mut chunk = vec![0u8; 1 << 20];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for b in chunk.iter_mut() {
        // xorshift: bytes that look random to the key scan and do not compress.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        *b = state as u8;
    }
    {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&model).expect("model"));
        for i in 0..1024u32 {
            chunk[..4].copy_from_slice(&i.to_le_bytes());
            f.write_all(&chunk).expect("write");
        }
    }
    std::fs::write(
        dir.join("image.aid"),
        "image model {\n  from \"quay.io/fedora/fedora-bootc:44\"\n  copy \"model.bin\" to \"/usr/share/model/model.bin\"\n}\n",
    )
    .expect("recipe");
    model
}

fn run(dir: &Path, args: &[&str]) -> i32 {
    Command::new(AIDC).current_dir(dir).args(args).output().expect("aidc").status.code().unwrap_or(-1)
}

fn main() {
    // `cargo test --all-targets` runs benches without `--bench`: nothing to test here.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let root = tempfile::tempdir().expect("tempdir");
    let mut figures = Vec::new();
    let fresh = "rm -rf out .tekton konflux";

    let dir = root.path().join("flagship");
    flagship(&dir);
    figures.push(measure("flagship check", &dir, None, "check image.aid", 31));
    figures.push(measure("flagship compile (fresh)", &dir, Some(fresh), "compile image.aid", 31));

    for n in [1000, 2000] {
        let dir = root.path().join(format!("gen-{n}"));
        generated(&dir, n);
        figures.push(measure(
            &format!("{n} images x 3 variants compile (fresh)"),
            &dir,
            Some(fresh),
            "compile image.aid",
            5,
        ));
    }

    // As CI runs it: once, after the machine was idle for a moment. On a
    // virtual machine that hands free memory back to its host, memory
    // touched then costs more than in a loop of runs (docs/performance.md,
    // stop 32), and a loop alone would hide it.
    let dir = root.path().join("gen-1000");
    figures.push(measure(
        "1000 images x 3 variants, after 3 s idle",
        &dir,
        Some("sh -c 'rm -rf out .tekton konflux && sleep 3'"),
        "compile image.aid",
        5,
    ));

    let dir = root.path().join("large");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let model = large(&dir);
    assert_eq!(run(&dir, &["compile", "image.aid"]), 0, "first compile of the large recipe");
    figures.push(measure("1 GiB input: no-op recompile", &dir, None, "compile image.aid", 11));
    // An edit that keeps the size (one byte in the middle) must be seen.
    {
        use std::io::{Seek, Write};
        let mut f = std::fs::OpenOptions::new().write(true).open(&model).expect("open");
        f.seek(std::io::SeekFrom::Start(512 << 20)).expect("seek");
        f.write_all(b"edited").expect("edit");
    }
    let seen = run(&dir, &["compile", "--check", "image.aid"]) == 1;

    println!();
    let shown = |t: f64| if t < 1.0 { format!("{:.1} ms", t * 1e3) } else { format!("{t:.2} s") };
    println!("{:<44} {:>12} {:>12}  load", "case (whole process, median)", "this aidc", "before");
    for f in &figures {
        let before = f.before.map_or_else(|| "-".to_string(), shown);
        println!("{:<44} {:>12} {:>12}  {}", f.name, shown(f.median), before, f.load);
    }
    let ratio = figures[3].median / figures[2].median;
    println!("2000 / 1000 images: {ratio:.2}x");
    println!("edit keeping the size seen by `compile --check`: {}", if seen { "yes" } else { "NO" });
}
