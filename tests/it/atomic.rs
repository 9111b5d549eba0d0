//! Atomic outputs: `aidc compile` killed (SIGKILL) at any moment leaves the
//! output directory exactly as it was or exactly as the new compile makes
//! it, never a mix and never missing; a compile that fails changes nothing.
//!
//! The project is large on purpose (300 images, 16 KB of `write` content
//! each: 601 output files, 6 MB) so that writing takes measurable time and
//! the kills land before, during and after the write.

use std::collections::BTreeMap;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::aidc;

const IMAGES: usize = 300;

/// The recipe; `version` changes every output file's content.
fn recipe(version: &str) -> String {
    recipe_with(version, None)
}

/// The recipe, with a `pipeline konflux` block pushing from `branch` when given.
fn recipe_with(version: &str, branch: Option<&str>) -> String {
    let big: String = "lorem ipsum dolor sit amet ".repeat(600).chars().take(16_000).collect();
    let mut s = format!("let big = \"{big}\"\n");
    for i in 0..IMAGES {
        s.push_str(&format!(
            "image img{i} {{\n  from \"localhost/aid-fixture-base:44\"\n  write \"/usr/share/big/{i}\" \"{version} ${{big}} {i}\"\n}}\n"
        ));
    }
    if let Some(b) = branch {
        s.push_str(&format!(
            "pipeline konflux {{\n  application = \"big\"\n  registry = \"quay.io/example\"\n  repository = \"https://github.com/example/big\"\n  branch = \"{b}\"\n}}\n"
        ));
    }
    s
}

/// Every file under `dir` (relative path -> bytes); `None` when `dir` is missing.
fn tree(dir: &Path) -> Option<BTreeMap<String, Vec<u8>>> {
    if !dir.is_dir() {
        return None;
    }
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let p = e.path();
            if e.file_type().expect("file type").is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).expect("inside").to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).expect("read"));
            }
        }
    }
    Some(out)
}

/// (path, inode, mtime) of every file under `dir`: shows whether anything was rewritten.
fn stamps(dir: &Path) -> Vec<(String, u64, i64, i64)> {
    let mut out: Vec<(String, u64, i64, i64)> = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let p = e.path();
            let m = std::fs::symlink_metadata(&p).expect("metadata");
            if m.is_dir() {
                stack.push(p.clone());
            }
            out.push((p.to_string_lossy().into_owned(), m.ino(), m.mtime(), m.mtime_nsec()));
        }
    }
    out.sort();
    out
}

/// The staging directories aidc leaves beside `out` when killed.
fn staging(ctx: &Path) -> Vec<String> {
    std::fs::read_dir(ctx)
        .expect("read_dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".out.aidc-"))
        .collect()
}

/// `aidc compile image.aid` in `ctx`, running, for a test to kill.
fn spawn_compile(ctx: &Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_aidc"))
        .args(["compile", "image.aid"])
        .current_dir(ctx)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("aidc starts")
}

/// `aidc compile image.aid` in `ctx` with `AIDC_FAILPOINT=swap:N`: it must
/// kill itself right after the Nth swap.
fn compile_killed_after_swap(ctx: &Path, n: usize) {
    use std::os::unix::process::ExitStatusExt;
    let status = Command::new(env!("CARGO_BIN_EXE_aidc"))
        .args(["compile", "image.aid"])
        .current_dir(ctx)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AIDC_FAILPOINT", format!("swap:{n}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("aidc runs");
    assert_eq!(status.signal(), Some(9), "swap {n}: aidc did not kill itself: {status:?}");
}

fn compile_ok(ctx: &Path) {
    let out = aidc(ctx, &["compile", "image.aid"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

#[derive(Debug, Default)]
struct Seen {
    old: usize,
    new: usize,
    killed_mid_write: usize,
}

#[test]
fn a_killed_compile_leaves_the_old_tree_or_the_new_one() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ctx = tmp.path().join("ctx");
    let expected_new = tmp.path().join("expected");
    for d in [&ctx, &expected_new] {
        std::fs::create_dir_all(d).expect("mkdir");
    }
    // The old tree, and the new tree as a clean compile of the changed recipe gives it.
    std::fs::write(ctx.join("image.aid"), recipe("v1")).expect("write");
    compile_ok(&ctx);
    let old = tree(&ctx.join("out")).expect("old tree");
    std::fs::write(expected_new.join("image.aid"), recipe("v2")).expect("write");
    compile_ok(&expected_new);
    let new = tree(&expected_new.join("out")).expect("new tree");
    // Each image's Containerfile and support file, the manifest, the shared finishing script.
    assert_eq!(old.len(), 2 * IMAGES + 2);
    assert_eq!(old.keys().collect::<Vec<_>>(), new.keys().collect::<Vec<_>>());
    assert!(old.iter().filter(|(k, v)| new[*k] != **v).count() > IMAGES, "v1 and v2 must differ in most files");

    // How long an unkilled v1 -> v2 compile takes here.
    std::fs::write(ctx.join("image.aid"), recipe("v2")).expect("write");
    let start = Instant::now();
    compile_ok(&ctx);
    let full = start.elapsed();
    assert_eq!(tree(&ctx.join("out")).as_ref(), Some(&new));

    // Kill at points spread over the whole run: before the write, during it, after it.
    let mut delays: Vec<Duration> = [0, 5, 10, 20, 35, 50].into_iter().map(Duration::from_millis).collect();
    delays.extend((1..=10).map(|i| full * i / 6));
    let mut seen = Seen::default();
    for delay in delays {
        // Back to the old tree.
        std::fs::write(ctx.join("image.aid"), recipe("v1")).expect("write");
        compile_ok(&ctx);
        for s in staging(&ctx) {
            std::fs::remove_dir_all(ctx.join(s)).expect("clean staging");
        }
        assert_eq!(tree(&ctx.join("out")).as_ref(), Some(&old));

        std::fs::write(ctx.join("image.aid"), recipe("v2")).expect("write");
        let mut child = spawn_compile(&ctx);
        std::thread::sleep(delay);
        let finished = child.try_wait().expect("try_wait").is_some();
        child.kill().expect("SIGKILL"); // SIGKILL on Unix
        child.wait().expect("wait");
        eprintln!("delay {delay:?}: finished before the kill: {finished}, staging: {:?}", staging(&ctx));

        let now = tree(&ctx.join("out"));
        match now {
            None => panic!("killed after {delay:?}: the output directory is missing"),
            Some(t) if t == old => seen.old += 1,
            Some(t) if t == new => seen.new += 1,
            Some(t) => {
                let mixed: Vec<&String> = t
                    .iter()
                    .filter(|(k, v)| old.get(*k) != Some(*v) && new.get(*k) != Some(*v))
                    .map(|(k, _)| k)
                    .collect();
                let from_new = t.iter().filter(|(k, v)| new.get(*k) == Some(*v) && old.get(*k) != Some(*v)).count();
                panic!(
                    "killed after {delay:?}: a mix of the old and new trees ({} files, {from_new} new, {} neither, e.g. {:?})",
                    t.len(),
                    mixed.len(),
                    mixed.first()
                );
            }
        }
        if !staging(&ctx).is_empty() {
            seen.killed_mid_write += 1;
        }
    }
    eprintln!("a full compile took {full:?}; kills left: {seen:?}");
    assert!(seen.old > 0, "no kill landed before the swap: {seen:?}");
    assert!(seen.killed_mid_write > 0, "no kill landed while the outputs were being written: {seen:?}");
}

#[test]
fn a_failed_compile_changes_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ctx = tmp.path();
    std::fs::create_dir_all(ctx.join("files")).expect("mkdir");
    std::fs::write(ctx.join("files/motd"), "hello\n").expect("write");
    let good = "image x {\n  from \"localhost/aid-fixture-base:44\"\n  copy \"files/motd\" to \"/etc/motd\"\n  write \"/usr/share/x\" \"x\"\n}\n";
    std::fs::write(ctx.join("image.aid"), good).expect("write");
    compile_ok(ctx);
    let before = tree(&ctx.join("out")).expect("tree");
    let before_stamps = stamps(&ctx.join("out"));
    let listing = |d: &Path| {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .expect("read_dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let ctx_before = listing(ctx);

    let broken = [
        // A refused value, a syntax error, a missing input, an unknown name, a bad import, a policy error.
        good.replace("\"/usr/share/x\" \"x\"", "\"/usr/share/x\" \"x\"\n  packages [\"a;b\"]"),
        good.replace("write", "wirte"),
        good.replace("files/motd", "files/missing"),
        good.replace("write \"/usr/share/x\" \"x\"", "use nothing.here"),
        format!("import \"std/nope\"\n{good}"),
        good.replace("copy \"files/motd\"", "copy \"../escape\""),
    ];
    for recipe in &broken {
        std::fs::write(ctx.join("image.aid"), recipe).expect("write");
        let out = aidc(ctx, &["compile", "image.aid"]);
        assert_eq!(out.status.code(), Some(1), "{recipe}\n{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(tree(&ctx.join("out")).as_ref(), Some(&before), "a failed compile changed the outputs:\n{recipe}");
        assert_eq!(stamps(&ctx.join("out")), before_stamps, "a failed compile rewrote files:\n{recipe}");
        assert_eq!(listing(ctx), ctx_before, "a failed compile left something in the context:\n{recipe}");
    }
    // `--check` never writes either.
    std::fs::write(ctx.join("image.aid"), good.replace("\"x\"", "\"changed\"")).expect("write");
    let out = aidc(ctx, &["compile", "--check", "image.aid"]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stamps(&ctx.join("out")), before_stamps);
    // An unchanged compile rewrites nothing.
    std::fs::write(ctx.join("image.aid"), good).expect("write");
    compile_ok(ctx);
    assert_eq!(stamps(&ctx.join("out")), before_stamps, "an unchanged compile rewrote files");
}

/// A compile killed while writing leaves its staging directory (a full copy
/// of the outputs) in the build context, and later compiles keep it.
#[test]
fn a_later_compile_removes_what_a_killed_one_left() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ctx = tmp.path();
    std::fs::write(ctx.join("image.aid"), recipe("v1")).expect("write");
    compile_ok(ctx);
    // Stand-in for a killed compile's leftover (a PID that is not running).
    let leftover = ctx.join(".out.aidc-new-999999999");
    std::fs::create_dir_all(leftover.join("img0")).expect("mkdir");
    std::fs::write(leftover.join("img0/Containerfile"), "FROM scratch\n").expect("write");
    std::fs::write(ctx.join("image.aid"), recipe("v2")).expect("write");
    compile_ok(ctx);
    assert!(staging(ctx).is_empty(), "left in the build context: {:?}", staging(ctx));
}

/// Everything aidc writes into the build context: `out/`, and with a
/// pipeline block `.tekton/` and `konflux/` (path -> bytes); the recipe and
/// aidc's temporary files left out.
fn written(ctx: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut all = BTreeMap::new();
    for dir in ["out", ".tekton", "konflux"] {
        for (p, bytes) in tree(&ctx.join(dir)).unwrap_or_default() {
            if !p.rsplit('/').next().unwrap_or("").contains(".aidc-new-") {
                all.insert(format!("{dir}/{p}"), bytes);
            }
        }
    }
    all
}

/// Path -> bytes of every file aidc wrote.
type Files = BTreeMap<String, Vec<u8>>;

/// Whether a commit journal of a killed compile lies in `ctx`.
fn journal(ctx: &Path) -> bool {
    ctx.join(".aidc-journal.json").exists()
}

/// `aidc compile` that must finish a killed compile's commit: afterwards
/// the outputs are exactly `new` and the compile had nothing left to write.
fn recover_to(ctx: &Path, new: &Files, what: &str) {
    let out = aidc(ctx, &["compile", "image.aid"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{what}: {err}");
    assert!(err.contains("finished swapping in the outputs of a compile that was killed"), "{what}: {err}");
    assert!(err.contains("nothing changed"), "{what}: the recovered outputs were not the new ones: {err}");
    assert_eq!(&written(ctx), new, "{what}");
    assert!(!journal(ctx), "{what}: the journal stayed");
}

/// A project with a pipeline block, compiled from v1 in `ctx`; returns the
/// old and the new (v2) outputs and how long an unkilled v1 -> v2 compile takes.
fn konflux_project(ctx: &Path, expected_new: &Path) -> (Files, Files, Duration) {
    for d in [ctx, expected_new] {
        std::fs::create_dir_all(d).expect("mkdir");
    }
    std::fs::write(ctx.join("image.aid"), recipe_with("v1", Some("main"))).expect("write");
    compile_ok(ctx);
    let old = written(ctx);
    std::fs::write(expected_new.join("image.aid"), recipe_with("v2", Some("release"))).expect("write");
    compile_ok(expected_new);
    let new = written(expected_new);
    assert!(old.keys().any(|k| k.starts_with(".tekton/")), "no PipelineRuns written");
    assert!(
        old.iter().any(|(k, v)| k.starts_with(".tekton/") && new.get(k) != Some(v)),
        "v2 must change the PipelineRuns"
    );
    let start = Instant::now();
    std::fs::write(ctx.join("image.aid"), recipe_with("v2", Some("release"))).expect("write");
    compile_ok(ctx);
    let full = start.elapsed();
    assert_eq!(written(ctx), new);
    (old, new, full)
}

/// With a pipeline block, the outputs are `out/` plus the Konflux files at
/// the repository root. Killed at any moment, a compile leaves all of them
/// old, all new, or its commit journal, which the next compile finishes to
/// all new before anything else.
#[test]
fn a_killed_compile_leaves_all_old_or_all_new_konflux_files() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ctx = tmp.path().join("ctx");
    let (old, new, full) = konflux_project(&ctx, &tmp.path().join("expected"));
    let (mut seen_old, mut seen_new, mut recovered) = (0, 0, 0);
    for i in 1..=12 {
        let delay = full * i / 10;
        std::fs::write(ctx.join("image.aid"), recipe_with("v1", Some("main"))).expect("write");
        compile_ok(&ctx);
        assert_eq!(written(&ctx), old);
        std::fs::write(ctx.join("image.aid"), recipe_with("v2", Some("release"))).expect("write");
        let mut child = spawn_compile(&ctx);
        std::thread::sleep(delay);
        child.kill().expect("SIGKILL");
        child.wait().expect("wait");
        let now = written(&ctx);
        if journal(&ctx) {
            recovered += 1;
            recover_to(&ctx, &new, &format!("killed after {delay:?}"));
        } else if now == old {
            seen_old += 1;
        } else if now == new {
            seen_new += 1;
        } else {
            let old_out = now.iter().filter(|(k, v)| k.starts_with("out/") && old.get(*k) == Some(*v)).count();
            let new_tekton = now.iter().filter(|(k, v)| k.starts_with(".tekton/") && new.get(*k) == Some(*v)).count();
            let tekton = now.keys().filter(|k| k.starts_with(".tekton/")).count();
            panic!(
                "killed after {delay:?}: a mix without a journal: out/ is {}, {new_tekton} of {tekton} PipelineRuns new",
                if old_out > 0 { "old" } else { "new" }
            );
        }
    }
    eprintln!("a full compile took {full:?}; kills left old {seen_old}, new {seen_new}, a journal {recovered}");
    assert!(seen_old > 0, "no kill landed before the commit");
}

/// The moments a timed kill rarely hits: between the swaps of one commit.
/// `AIDC_FAILPOINT=swap:N` makes aidc kill itself after the Nth swap.
#[test]
#[cfg_attr(not(feature = "failpoints"), ignore = "needs the failpoint hook: cargo test --features failpoints")]
fn a_compile_killed_between_its_swaps_is_finished_by_the_next() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ctx = tmp.path().join("ctx");
    let (old, new, _) = konflux_project(&ctx, &tmp.path().join("expected"));
    // v1 -> v2 changes `out/`, `.tekton/` and the Application (a Component's
    // source revision is the branch): three swaps.
    for n in 1..=3 {
        std::fs::write(ctx.join("image.aid"), recipe_with("v1", Some("main"))).expect("write");
        compile_ok(&ctx);
        assert_eq!(written(&ctx), old);
        std::fs::write(ctx.join("image.aid"), recipe_with("v2", Some("release"))).expect("write");
        compile_killed_after_swap(&ctx, n);
        assert!(journal(&ctx), "swap {n}: no journal");
        let now = written(&ctx);
        match n {
            1 | 2 => assert!(now != old && now != new, "swap {n}: expected a half-swapped project"),
            _ => assert_eq!(now, new, "swap 3: every tree is swapped in, only the journal and old trees are left"),
        }
        // `--check` writes nothing, and says what happened.
        let check = aidc(&ctx, &["compile", "--check", "image.aid"]);
        assert_eq!(check.status.code(), Some(1));
        assert!(
            String::from_utf8_lossy(&check.stderr).contains("was killed while it swapped in its outputs"),
            "{}",
            String::from_utf8_lossy(&check.stderr)
        );
        assert_eq!(written(&ctx), now, "swap {n}: --check changed the outputs");
        recover_to(&ctx, &new, &format!("swap {n}"));
    }
}

/// `.tekton/` is shared: a compile replaces and removes only the files with
/// its recipe's header (and orphans, whose recipe is gone), and leaves
/// hand-written ones and other recipes' alone (same inode, same bytes).
#[test]
fn only_this_recipes_konflux_files_are_replaced_or_removed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    std::fs::create_dir_all(root.join(".git")).expect("mkdir .git");
    std::fs::create_dir_all(root.join("a")).expect("mkdir");
    std::fs::create_dir_all(root.join(".tekton/sub")).expect("mkdir");
    let own = "# hand-written\nkind: PipelineRun\n";
    std::fs::write(root.join(".tekton/own.yaml"), own).expect("write");
    std::fs::write(root.join(".tekton/sub/nested.yaml"), own).expect("write");
    let other = "# Generated by aidc from b/image.aid; do not edit: change the recipe and run `aidc compile`.\nx\n";
    std::fs::write(root.join(".tekton/b-push.yaml"), other).expect("write");
    std::fs::create_dir_all(root.join("b")).expect("mkdir");
    std::fs::write(root.join("b/image.aid"), "").expect("write");
    // Generated from a recipe that is gone (moved, renamed): an orphan, which goes.
    let orphan = "# Generated by aidc from old/image.aid; do not edit: change the recipe and run `aidc compile`.\n";
    std::fs::write(root.join(".tekton/old-push.yaml"), orphan).expect("write");
    // Generated from a recipe whose path the header had to escape (U+2028):
    // the path cannot be looked up again, so the file is kept.
    std::fs::create_dir_all(root.join("x\u{2028}y")).expect("mkdir");
    std::fs::write(root.join("x\u{2028}y/image.aid"), "").expect("write");
    let escaped =
        "# Generated by aidc from x\\u{2028}y/image.aid; do not edit: change the recipe and run `aidc compile`.\n";
    std::fs::write(root.join(".tekton/x-push.yaml"), escaped).expect("write");
    let ino = |p: &str| std::fs::metadata(root.join(p)).expect("metadata").ino();
    let before = [ino(".tekton/own.yaml"), ino(".tekton/sub/nested.yaml"), ino(".tekton/b-push.yaml")];
    let recipe = |variant: &str| {
        format!(
            "image a {{\n  from \"localhost/aid-fixture-base:44\"\n  variant {variant} {{}}\n}}\n\
             pipeline konflux {{\n  application = \"a\"\n  registry = \"quay.io/example\"\n  repository = \"https://github.com/example/a\"\n}}\n"
        )
    };
    std::fs::write(root.join("a/image.aid"), recipe("first")).expect("write");
    compile_ok(&root.join("a"));
    let names = || {
        let mut v: Vec<String> =
            tree(&root.join(".tekton")).expect(".tekton").into_keys().filter(|k| k.ends_with(".yaml")).collect();
        v.sort();
        v
    };
    assert_eq!(
        names(),
        ["a-first-pull-request.yaml", "a-first-push.yaml", "b-push.yaml", "own.yaml", "sub/nested.yaml", "x-push.yaml"]
    );
    // Renaming the variant renames its PipelineRuns: the old ones go.
    std::fs::write(root.join("a/image.aid"), recipe("second")).expect("write");
    let out = aidc(&root.join("a"), &["compile", "image.aid"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        names(),
        [
            "a-second-pull-request.yaml",
            "a-second-push.yaml",
            "b-push.yaml",
            "own.yaml",
            "sub/nested.yaml",
            "x-push.yaml"
        ]
    );
    assert_eq!([ino(".tekton/own.yaml"), ino(".tekton/sub/nested.yaml"), ino(".tekton/b-push.yaml")], before);
    assert_eq!(std::fs::read_to_string(root.join(".tekton/b-push.yaml")).expect("read"), other);
    // `--check` sees a stale PipelineRun of this recipe, and only that.
    std::fs::write(
        root.join(".tekton/a-gone-push.yaml"),
        "# Generated by aidc from a/image.aid; do not edit: change the recipe and run `aidc compile`.\n",
    )
    .expect("write");
    let out = aidc(&root.join("a"), &["compile", "--check", "image.aid"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("stale: ") && err.contains(".tekton/a-gone-push.yaml"), "{err}");
    assert_eq!(err.matches("stale: ").count(), 1, "{err}");
}

/// What is not aidc's is never written through: a hand-written file where
/// the recipe gives a PipelineRun is refused (exit 2, the file untouched,
/// nothing else written); a `.tekton` that is a link stays a link, and
/// what it points to gets the files; a FIFO in `.tekton/` is left alone
/// (never opened, so the compile does not hang).
#[test]
fn files_that_are_not_aidcs_are_never_written_through() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    std::fs::create_dir_all(root.join(".git")).expect("mkdir .git");
    std::fs::create_dir_all(root.join("a")).expect("mkdir");
    std::fs::create_dir_all(root.join("ci/tekton")).expect("mkdir");
    std::os::unix::fs::symlink("ci/tekton", root.join(".tekton")).expect("symlink");
    rustix::fs::mkfifoat(rustix::fs::CWD, root.join("ci/tekton/pipe"), rustix::fs::Mode::from_raw_mode(0o644))
        .expect("mkfifo");
    let mine = "# hand-written, not generated\n";
    std::fs::write(root.join("ci/tekton/a-push.yaml"), mine).expect("write");
    let recipe = "image a {\n  from \"localhost/aid-fixture-base:44\"\n}\n\
                  pipeline konflux {\n  application = \"a\"\n  registry = \"quay.io/example\"\n  repository = \"https://github.com/example/a\"\n}\n";
    std::fs::write(root.join("a/image.aid"), recipe).expect("write");
    let out = aidc(&root.join("a"), &["compile", "image.aid"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("a-push.yaml: a file is there that was not generated from this recipe"), "{err}");
    assert_eq!(std::fs::read_to_string(root.join("ci/tekton/a-push.yaml")).expect("read"), mine);
    assert!(!root.join("a/out").exists(), "a refused compile wrote out/");
    let check = aidc(&root.join("a"), &["compile", "--check", "image.aid"]);
    assert_eq!(check.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&check.stderr).contains("conflict: "),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    // Moved away, the compile goes through the link.
    std::fs::rename(root.join("ci/tekton/a-push.yaml"), root.join("a-push.yaml.orig")).expect("rename");
    compile_ok(&root.join("a"));
    assert!(std::fs::symlink_metadata(root.join(".tekton")).expect("lstat").file_type().is_symlink());
    assert!(root.join("ci/tekton/a-push.yaml").is_file() && root.join("ci/tekton/a-pull-request.yaml").is_file());
    assert!(std::fs::symlink_metadata(root.join("ci/tekton/pipe")).expect("lstat").file_type().is_fifo());
}

/// Files of the same content are written as one file with a link for
/// each name: an output file made executable (which makes all its links
/// executable) is stale for `--check`, and the next compile gives every one
/// of them its mode again; a mode a checkout under another umask gives
/// (0664, 0600) is not stale.
#[test]
fn a_changed_mode_is_stale_and_the_next_compile_restores_it() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().expect("tempdir");
    let ctx = tmp.path();
    let mut recipe = String::new();
    for i in 0..3 {
        recipe.push_str(&format!(
            "image img{i} {{\n  from \"localhost/aid-fixture-base:44\"\n  write \"/etc/same.conf\" \"same\"\n}}\n"
        ));
    }
    std::fs::write(ctx.join("image.aid"), recipe).expect("write");
    compile_ok(ctx);
    let conf = |i: usize| ctx.join(format!("out/img{i}/files/img{i}/0-same.conf"));
    let mode = |i: usize| std::fs::metadata(conf(i)).expect("written").permissions().mode() & 0o777;
    assert!((0..3).all(|i| mode(i) == 0o644));
    assert_eq!(aidc(ctx, &["compile", "--check", "image.aid"]).status.code(), Some(0));
    for umasked in [0o664, 0o600] {
        std::fs::set_permissions(conf(1), std::fs::Permissions::from_mode(umasked)).expect("chmod");
        let check = aidc(ctx, &["compile", "--check", "image.aid"]);
        assert_eq!(check.status.code(), Some(0), "{umasked:o}: {}", String::from_utf8_lossy(&check.stderr));
    }
    std::fs::set_permissions(conf(1), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let check = aidc(ctx, &["compile", "--check", "image.aid"]);
    let err = String::from_utf8_lossy(&check.stderr);
    assert_eq!(check.status.code(), Some(1), "{err}");
    assert!(err.contains("img1/files/img1/0-same.conf"), "{err}");
    compile_ok(ctx);
    assert!((0..3).all(|i| mode(i) == 0o644), "modes after the compile: {:o} {:o} {:o}", mode(0), mode(1), mode(2));
    assert_eq!(aidc(ctx, &["compile", "--check", "image.aid"]).status.code(), Some(0));
}

/// A compile that changes one directory commits through the journal too
/// (the swap may be three renames where the file system cannot exchange
/// directories); killed right after its swap, the next compile finishes.
#[test]
#[cfg_attr(not(feature = "failpoints"), ignore = "needs the failpoint hook: cargo test --features failpoints")]
fn a_single_directory_commit_is_finished_too() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ctx = tmp.path();
    std::fs::write(ctx.join("image.aid"), recipe("v1")).expect("write");
    compile_ok(ctx);
    std::fs::write(ctx.join("image.aid"), recipe("v2")).expect("write");
    compile_killed_after_swap(ctx, 1);
    assert!(journal(ctx));
    let new = written(ctx);
    recover_to(ctx, &new, "one directory");
    assert!(staging(ctx).is_empty(), "left: {:?}", staging(ctx));
}

/// A journal another version of aidc wrote is not guessed at: the compile
/// stops (exit 2) and says so, and changes nothing.
#[test]
fn a_journal_of_another_version_is_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ctx = tmp.path();
    std::fs::write(ctx.join("image.aid"), recipe("v1")).expect("write");
    compile_ok(ctx);
    let before = stamps(&ctx.join("out"));
    std::fs::write(ctx.join(".aidc-journal.json"), r#"{"version": 99, "swaps": []}"#).expect("write");
    std::fs::write(ctx.join("image.aid"), recipe("v2")).expect("write");
    let out = aidc(ctx, &["compile", "image.aid"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("written by another version of aidc (journal version 99)"), "{err}");
    assert_eq!(stamps(&ctx.join("out")), before);
    assert!(journal(ctx));
}
