//! `aidc build` end to end with real buildah on the fixture base
//! (tests/fixtures/base): it compiles, builds the target with the secret
//! from a file, and tags it `localhost/<image>-<variant>:latest`. The store
//! is private to the test (tests/it/store.rs), given to buildah through
//! CONTAINERS_STORAGE_CONF.
//! Needs root and buildah, like `e2e.rs`.

use std::process::{Command, Output};

use crate::support::{all_files, root};

#[test]
fn aidc_build_compiles_and_builds_a_target_with_buildah() {
    if !crate::store::available("aidc build's end-to-end test") {
        return;
    }
    let b = crate::store::Buildah::with_fixture();
    let (conf, scratch) = (b.storage_conf(), b.tmp.clone());
    let tmp = tempfile::tempdir().expect("tempdir");
    // The e2e recipe, with a signing secret the build must pass on.
    let ctx = tmp.path().join("ctx");
    let source = root().join("tests/golden/fixture-e2e");
    for file in all_files(&source) {
        let rel = file.strip_prefix(&source).expect("inside");
        if rel.starts_with("out") {
            continue;
        }
        std::fs::create_dir_all(ctx.join(rel).parent().expect("parent")).expect("mkdir");
        std::fs::copy(&file, ctx.join(rel)).expect("copy");
    }
    std::fs::create_dir(ctx.join(".git")).expect("a repository");
    let aidc = |args: &[&str]| -> Output {
        Command::new(env!("CARGO_BIN_EXE_aidc"))
            .args(args)
            .current_dir(&ctx)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("CONTAINERS_STORAGE_CONF", &conf)
            .env("TMPDIR", &scratch)
            .env("BUILDAH_ISOLATION", "chroot")
            .env("NO_COLOR", "1")
            .output()
            .expect("aidc runs")
    };
    let dry = aidc(&["build", "minimal", "--engine", "buildah", "--dry-run"]);
    assert_eq!(
        String::from_utf8_lossy(&dry.stdout),
        "buildah build -f out/e2e/Containerfile --target minimal -t localhost/e2e-minimal:latest .\n"
    );
    assert!(!ctx.join("out").exists(), "--dry-run writes nothing");

    let built = aidc(&["build", "minimal", "image.aid", "--engine", "buildah", "--", "--pull=never", "--layers"]);
    let log = format!("{}{}", String::from_utf8_lossy(&built.stdout), String::from_utf8_lossy(&built.stderr));
    assert_eq!(built.status.code(), Some(0), "{log}");
    assert!(ctx.join("out/e2e/Containerfile").is_file(), "build compiled first");
    assert!(log.ends_with("built localhost/e2e-minimal:latest\n"), "{log}");
    let images = Command::new("buildah")
        .args(["images", "--format", "{{.Name}}:{{.Tag}}"])
        .env("CONTAINERS_STORAGE_CONF", &conf)
        .output()
        .expect("buildah images");
    let listed = String::from_utf8_lossy(&images.stdout);
    assert!(listed.lines().any(|l| l == "localhost/e2e-minimal:latest"), "{listed}");
}
