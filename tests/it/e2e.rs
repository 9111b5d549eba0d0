//! End to end with real buildah: builds the offline fixture base (a stand-in
//! for Fedora, see tests/fixtures/base), compiles `tests/golden/fixture-e2e`,
//! builds both targets, and checks the images: their contents, that an
//! unchanged rebuild is fully cached, and that a changed script or copied
//! file reaches the rebuilt image (buildah alone would reuse the stale layer).
//!
//! Needs root and buildah; skipped with a message otherwise, unless
//! `AID_REQUIRE_BUILDAH=1` (set by `tests/run`), which makes it fail instead.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::{aidc, root};

struct Buildah {
    root: PathBuf,
    runroot: PathBuf,
    tmp: PathBuf,
}

impl Buildah {
    fn command(&self) -> Command {
        let mut c = Command::new("buildah");
        c.arg("--root").arg(&self.root).arg("--runroot").arg(&self.runroot).arg("--storage-driver").arg("vfs");
        // Cache mounts live under TMPDIR; keep them private to this test.
        c.env("TMPDIR", &self.tmp).env("BUILDAH_ISOLATION", "chroot");
        c
    }

    fn run(&self, args: &[&str], dir: &Path) -> Output {
        let out = self.command().args(args).current_dir(dir).output().expect("buildah runs");
        assert!(
            out.status.success(),
            "buildah {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Builds `target`; returns the image id and buildah's output.
    fn build(&self, context: &Path, target: &str) -> (String, String) {
        let iid = self.tmp.join(format!("{target}.iid"));
        let out = self.run(
            &[
                "build",
                "--isolation",
                "chroot",
                "--layers",
                "--pull=never",
                "--target",
                target,
                "--iidfile",
                &iid.to_string_lossy(),
                "-t",
                &format!("localhost/aid-e2e:{target}"),
                "-f",
                "out/e2e/Containerfile",
                ".",
            ],
            context,
        );
        let id = std::fs::read_to_string(&iid).expect("iidfile").trim().to_string();
        (id, format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
    }

    /// The content of `path` in `image`.
    fn read(&self, image: &str, path: &str) -> String {
        let dir = Path::new("/");
        let c = String::from_utf8_lossy(&self.run(&["from", "--pull=never", image], dir).stdout).trim().to_string();
        let mnt = String::from_utf8_lossy(&self.run(&["mount", &c], dir).stdout).trim().to_string();
        let text = std::fs::read_to_string(Path::new(&mnt).join(path.trim_start_matches('/')))
            .unwrap_or_else(|e| format!("<{e}>"));
        self.run(&["umount", &c], dir);
        self.run(&["rm", &c], dir);
        text
    }
}

fn available() -> bool {
    let required = std::env::var_os("AID_REQUIRE_BUILDAH").is_some_and(|v| v == "1");
    let buildah = Command::new("buildah").arg("--version").output().is_ok_and(|o| o.status.success());
    let root_user =
        Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if required {
        assert!(buildah, "buildah is required (AID_REQUIRE_BUILDAH=1) but not installed");
        assert!(root_user, "the buildah end-to-end test needs root");
    }
    if !(buildah && root_user) {
        eprintln!("SKIPPED: the buildah end-to-end test needs root and buildah; `tests/run` installs buildah");
    }
    buildah && root_user
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            if e.file_name() != "out" {
                copy_dir(&p, &to.join(e.file_name()));
            }
        } else {
            std::fs::copy(&p, to.join(e.file_name())).expect("copy");
        }
    }
}

#[test]
fn buildah_builds_both_targets_and_rebuilds_exactly_what_changed() {
    if !available() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let b = Buildah { root: tmp.path().join("root"), runroot: tmp.path().join("runroot"), tmp: tmp.path().join("tmp") };
    std::fs::create_dir_all(&b.tmp).expect("mkdir");

    // The fixture base, in the private store.
    let fixture = Command::new("bash")
        .arg(root().join("tests/fixtures/base/build.sh"))
        .arg("localhost/aid-fixture-base:44")
        .env("AID_BUILDAH_ROOT", &b.root)
        .env("AID_BUILDAH_RUNROOT", &b.runroot)
        .env("TMPDIR", &b.tmp)
        .output()
        .expect("build.sh runs");
    assert!(fixture.status.success(), "fixture base:\n{}", String::from_utf8_lossy(&fixture.stderr));

    let ctx = tmp.path().join("ctx");
    copy_dir(&root().join("tests/golden/fixture-e2e"), &ctx);
    let compiled = aidc(&ctx, &["compile", "image.aid"]);
    assert_eq!(compiled.status.code(), Some(0), "{}", String::from_utf8_lossy(&compiled.stderr));

    // Both targets build; their contents are what the recipe says.
    let (minimal, _) = b.build(&ctx, "minimal");
    let (full, _) = b.build(&ctx, "full");
    assert_ne!(minimal, full);
    assert_eq!(b.read(&minimal, "/usr/share/e2e/motd"), "Welcome to the aidc e2e fixture.\n");
    assert_eq!(b.read(&minimal, "/usr/share/e2e/setup"), "setup v1\n");
    assert_eq!(b.read(&minimal, "/usr/lib/e2e/tools.conf"), "[tools]\nname = \"e2e\"\n");
    assert_eq!(b.read(&minimal, "/usr/lib/bootc/kargs.d/10-e2e-2.toml"), "kargs = [\"quiet\", \"mitigations=auto\"]\n");
    assert!(
        b.read(&minimal, "/usr/share/e2e/variant").starts_with('<'),
        "minimal must not have the full variant's file"
    );
    assert_eq!(b.read(&full, "/usr/share/e2e/variant"), "full\n");
    assert_eq!(b.read(&full, "/usr/lib/e2e/full"), "full variant\n");
    let calls = b.read(&full, "/usr/share/aid-fixture/calls.log");
    for expected in [
        "dnf5 -y install --allowerasing htop jq",
        "systemctl enable podman.socket",
        "dnf5 -y install --allowerasing git",
        "bootc container lint",
    ] {
        assert!(calls.contains(expected), "calls.log lacks `{expected}`:\n{calls}");
    }
    let inspect =
        String::from_utf8_lossy(&b.run(&["inspect", "--type", "image", &full], Path::new("/")).stdout).into_owned();
    assert!(inspect.contains("\"containers.bootc\": \"1\""), "{inspect}");
    assert!(inspect.contains("aidc e2e fixture"), "{inspect}");
    assert!(inspect.contains("E2E_MODE=test"), "{inspect}");
    // Nothing of the build's scratch space is left in /var or /tmp.
    assert!(b.read(&full, "/var/cache/libdnf5/x").starts_with('<'));

    // An unchanged rebuild is fully cached: the same image.
    let (again, log) = b.build(&ctx, "full");
    assert_eq!(again, full, "unchanged rebuild produced a new image:\n{log}");

    // A changed script and a changed copied file reach the rebuilt image.
    std::fs::write(
        ctx.join("scripts/setup.sh"),
        "#!/bin/sh\nset -eu\nmkdir -p /usr/share/e2e\necho \"setup v2\" > /usr/share/e2e/setup\n",
    )
    .expect("edit");
    std::fs::write(ctx.join("files/motd"), "Changed message.\n").expect("edit");
    assert_eq!(aidc(&ctx, &["compile", "image.aid"]).status.code(), Some(0));
    let (rebuilt, log) = b.build(&ctx, "minimal");
    assert_ne!(rebuilt, minimal, "{log}");
    assert_eq!(b.read(&rebuilt, "/usr/share/e2e/setup"), "setup v2\n", "{log}");
    assert_eq!(b.read(&rebuilt, "/usr/share/e2e/motd"), "Changed message.\n", "{log}");
    // The layer before the edit (the `tools` layer) was reused.
    assert!(log.contains("Using cache"), "{log}");
}
