//! Compiling on disk: writing twice, `--check`, failed compiles, `aid.lock`,
//! large inputs; and the committed Containerfiles read by hadolint and
//! BuildKit's Dockerfile parser. (Each golden tree is its own named test in
//! `tests/cases`, `golden::SUITE::NAME`.)

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{aidc, copy_tree, root};

/// Every file under `dir`, relative path -> bytes.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    crate::support::all_files(dir)
        .into_iter()
        .map(|p| {
            (p.strip_prefix(dir).expect("inside").to_string_lossy().into_owned(), std::fs::read(&p).expect("read"))
        })
        .collect()
}

#[test]
fn compiling_twice_writes_nothing_and_check_passes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    copy_tree(&root().join("examples"), tmp.path());
    let dir = tmp.path().join("ai-desktop");
    assert_eq!(aidc(&dir, &["compile", "image.aid"]).status.code(), Some(0));
    let containerfile = dir.join("out/ai-desktop/Containerfile");
    let before = std::fs::metadata(&containerfile).expect("written").modified().expect("mtime");
    let again = aidc(&dir, &["compile", "image.aid"]);
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("nothing changed"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(std::fs::metadata(&containerfile).expect("still there").modified().expect("mtime"), before);
    assert_eq!(aidc(&dir, &["compile", "--check", "image.aid"]).status.code(), Some(0));
    // An edit makes --check fail and name the stale file, without writing.
    std::fs::write(dir.join("files/90-ai-desktop.conf"), "vm.swappiness = 10\n").expect("edit");
    let check = aidc(&dir, &["compile", "--check", "image.aid"]);
    assert_eq!(check.status.code(), Some(1));
    let err = String::from_utf8_lossy(&check.stderr);
    assert!(err.contains("stale: out/ai-desktop/Containerfile"), "{err}");
    assert!(err.contains("stale: out/aid-manifest.json"), "{err}");
    assert_eq!(std::fs::metadata(&containerfile).expect("kept").modified().expect("mtime"), before);
}

#[test]
fn output_directory_outside_the_context_is_a_usage_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    copy_tree(&root().join("examples"), tmp.path());
    let out = aidc(&tmp.path().join("ai-desktop"), &["compile", "image.aid", "-o", "../elsewhere"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("outside the build context"));
    assert!(!tmp.path().join("elsewhere").exists());
}

#[test]
fn a_failed_compile_leaves_previous_outputs_untouched() {
    let tmp = tempfile::tempdir().expect("tempdir");
    copy_tree(&root().join("examples"), tmp.path());
    let dir = tmp.path().join("ai-desktop");
    assert_eq!(aidc(&dir, &["compile", "image.aid"]).status.code(), Some(0));
    let before = tree(&dir.join("out"));
    std::fs::remove_file(dir.join("files/90-ai-desktop.conf")).expect("remove input");
    let out = aidc(&dir, &["compile", "image.aid"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("aid::plan::missing_input"));
    assert_eq!(tree(&dir.join("out")), before);
}

/// Runs a validator on every committed Containerfile, when it is installed
/// (`tests/run` installs them and sets `AID_REQUIRE_TOOLS=1`).
fn containerfiles() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let recipes =
        ["examples", "tests/golden"].into_iter().flat_map(|s| std::fs::read_dir(root().join(s)).expect("suite"));
    for case in recipes.flatten().map(|e| e.path()).filter(|p| p.join("image.aid").is_file()) {
        let mut stack = vec![case.join("out")];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.file_name().is_some_and(|n| n == "Containerfile") {
                    out.push(p);
                }
            }
        }
    }
    out.sort();
    out
}

fn tool_available(cmd: &str, args: &[&str]) -> bool {
    let ok = Command::new(cmd).args(args).output().is_ok_and(|o| o.status.success());
    if !ok && std::env::var_os("AID_REQUIRE_TOOLS").is_some() {
        panic!("{cmd} is required (AID_REQUIRE_TOOLS is set) but not available");
    }
    if !ok {
        eprintln!("SKIPPED: {cmd} is not installed; run tests/run to install it");
    }
    ok
}

#[test]
fn hadolint_accepts_every_containerfile() {
    if !tool_available("hadolint", &["--version"]) {
        return;
    }
    let files = containerfiles();
    assert!(!files.is_empty());
    for f in files {
        let out = Command::new("hadolint")
            .args(["--config", &root().join(".hadolint.yaml").to_string_lossy(), "--no-color"])
            .arg(&f)
            .output()
            .expect("hadolint runs");
        assert!(
            out.status.success(),
            "hadolint {}:\n{}{}",
            f.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn buildkit_parser_reads_every_containerfile() {
    if !tool_available("python3", &["-c", "import dockerfile"]) {
        return;
    }
    for f in containerfiles() {
        let script = "import dockerfile, sys\ncmds = dockerfile.parse_file(sys.argv[1])\nknown = {'FROM','ARG','RUN','LABEL','ENV','COPY'}\nbad = [c.cmd for c in cmds if c.cmd.upper() not in known]\nassert not bad, bad\nassert cmds[0].cmd.upper() == 'FROM'\nassert any(c.cmd.upper() == 'RUN' and c.value == ('bootc container lint',) for c in cmds)\nprint(len(cmds))\n";
        let out = Command::new("python3").args(["-c", script]).arg(&f).output().expect("python3 runs");
        assert!(out.status.success(), "BuildKit parser on {}:\n{}", f.display(), String::from_utf8_lossy(&out.stderr));
    }
}

#[test]
fn aid_lock_pins_a_project_image_by_digest() {
    let tmp = tempfile::tempdir().expect("tempdir");
    copy_tree(&root().join("examples"), tmp.path());
    // A repository root: the downstream imports `../ai-desktop`, and imports stay inside the repository.
    std::fs::create_dir(tmp.path().join(".git")).expect("mkdir .git");
    let dir = tmp.path().join("ai-workstation");
    let digest = format!("sha256:{}", "a".repeat(64));
    std::fs::write(
        dir.join("aid.lock"),
        format!("# pins\nquay.io/fedora-ai/ai-desktop-cuda-toolkit:latest@{digest}\n"),
    )
    .expect("lock");
    assert_eq!(aidc(&dir, &["compile", "image.aid"]).status.code(), Some(0));
    let containerfile = std::fs::read_to_string(dir.join("out/ai-workstation/Containerfile")).expect("written");
    assert!(
        containerfile
            .contains(&format!("FROM quay.io/fedora-ai/ai-desktop-cuda-toolkit:latest@{digest} AS ai-workstation")),
        "{containerfile}"
    );
    std::fs::write(dir.join("aid.lock"), "quay.io/fedora-ai/ai-desktop-cuda-toolkit:latest\n").expect("lock");
    let bad = aidc(&dir, &["compile", "image.aid"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("aid.lock:1:"), "{}", String::from_utf8_lossy(&bad.stderr));
}

#[test]
fn large_inputs_hash_like_small_ones() {
    // A copied file above the parallel-hashing threshold gets the same digest
    // as blake3 of its bytes would give.
    let tmp = tempfile::tempdir().expect("tempdir");
    let big: Vec<u8> = (0..3 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    std::fs::create_dir_all(tmp.path().join("files")).expect("mkdir");
    std::fs::write(tmp.path().join("files/model.bin"), &big).expect("write");
    std::fs::write(
        tmp.path().join("image.aid"),
        "image big {\n  from \"quay.io/fedora/fedora-bootc:44\"\n  copy \"files/model.bin\" to \"/usr/share/models/model.bin\"\n}\n",
    )
    .expect("write");
    assert_eq!(aidc(tmp.path(), &["compile", "image.aid"]).status.code(), Some(0));
    let containerfile = std::fs::read_to_string(tmp.path().join("out/big/Containerfile")).expect("written");
    let want = format!(": aid-input files/model.bin={}", aidc::hash::digest(&big));
    assert!(containerfile.contains(&want), "{containerfile}");
}
