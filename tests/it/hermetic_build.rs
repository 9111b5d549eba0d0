//! A hermetic build as Konflux's buildah task runs it, on the Fedora
//! stand-in (tests/fixtures/fedora): a stand-in must fail where the real
//! thing fails. konflux-build-cli (konflux-ci/konflux-build-cli
//! `pkg/commands/build.go`) builds `--hermetic` inside `unshare --net`,
//! mounts the merged repository directories (the prefetch's
//! `deps/rpm/<arch>/repos.d`, Hermeto's `hermeto.repo`) with `--volume` over
//! `/etc/yum.repos.d` (`prepareYumReposMount`) and Hermeto's output at
//! `/cachi2/output` (`integrateWithPrefetch`; the task passes
//! `--prefetch-output-mount /cachi2/output`). This test does the same, with
//! no fixture mirror (so no network at all), and a network repository in
//! `/usr/share/dnf5/repos.d`, where Fedora 45 moves the distribution's
//! repository files (Fedora Change RelocateRpmRepoConfigsToUsr) and which
//! the task's mount does not hide. It checks that:
//!
//! * the hermetic Containerfile of `tests/golden/hermetic-e2e` builds: Fedora's
//!   packages and the recipe repository's come from the prefetched
//!   repositories, the download from `/cachi2/output`, and the repository
//!   file the recipe keeps is in the image although `/etc/yum.repos.d` was a
//!   mount during every `RUN` (and the mount's `hermeto.repo` is not);
//! * it fails when a network repository is in the mounted directory, as dnf
//!   does offline (`skip_if_unavailable=False`);
//! * it fails without the signing keys each step imports on Konflux
//!   (docs/konflux.md, "Signing keys"): the fixture's third-party
//!   repositories are signed with a key the base has not imported, and
//!   `hermeto.repo` checks signatures (`gpgcheck=1`) and names no key;
//! * the same recipe compiled without `hermetic`, whose steps read dnf's
//!   default directories and aidc's own network repository files (as a
//!   hermetic recipe's did before), fails the same way.
//!
//! Needs root and buildah, skipped with a message otherwise like the other
//! end-to-end tests, and `unshare` (util-linux, essential on Debian).

use std::path::Path;
use std::process::Command;

use crate::e2e::{Fedora, Mounted, available, copy_dir};
use crate::support::{aidc, root};

/// What the recipe downloads, served from the prefetch (its sha256 is in
/// tests/golden/hermetic-e2e/image.aid).
const TOOL: &str = "hermetic tool\n";
const TOOL_SHA256: &str = "db6e75ea1a8aec990daa09f23bf71ebaa5b430d8863c42fd4db985f14a473e30";
/// Where the fixture mirror serves the toolkit repository's signing key
/// (its `gpgkey` URL, tests/golden/hermetic-e2e/image.aid).
const TOOLKIT_KEY: &str = "nvidia.github.io/libnvidia-container/gpgkey";

/// Hermeto's output for the recipe, as the prefetch task leaves it: each
/// repository under `deps/rpm/x86_64/<repoid>/` (the fixture mirror's
/// repository, a superset of what a lock of the recipe would fetch), the
/// download under `deps/generic/<filename>`.
fn prefetch_output(fx: &Fedora, at: &Path) {
    let rpm = at.join("deps/rpm/x86_64");
    for (id, mirror) in [
        ("fedora", "dl.fedoraproject.org/pub/fedora/linux/releases/44/Everything/x86_64/os"),
        ("nvidia-container-toolkit", "nvidia.github.io/libnvidia-container/stable/rpm/x86_64"),
    ] {
        copy_dir(&fx.net.join(mirror), &rpm.join(id));
    }
    std::fs::create_dir_all(at.join("deps/generic")).expect("mkdir");
    std::fs::write(at.join("deps/generic").join(TOOL_SHA256), TOOL).expect("prefetched file");
}

/// The directory the task mounts over /etc/yum.repos.d: `hermeto.repo` as
/// Hermeto's `inject-files` writes it (one section per repository id of the
/// lock, `baseurl=file://<output>/deps/rpm/<arch>/<repoid>`, `gpgcheck=1`:
/// hermetoproject/hermeto `hermeto/core/package_managers/rpm/main.py`,
/// `_generate_repofiles`), plus `extra` files.
fn repos_d(at: &Path, extra: &[(&str, &str)]) {
    std::fs::create_dir_all(at).expect("mkdir");
    let mut text = String::new();
    for id in ["fedora", "nvidia-container-toolkit"] {
        text.push_str(&format!("[{id}]\nbaseurl=file:///cachi2/output/deps/rpm/x86_64/{id}\ngpgcheck=1\n\n"));
    }
    std::fs::write(at.join("hermeto.repo"), text).expect("hermeto.repo");
    for (name, text) in extra {
        std::fs::write(at.join(name), text).expect("repo file");
    }
}

/// `buildah build` of `file` as the hermetic task runs it: no network,
/// `reposd` over /etc/yum.repos.d, `output` at /cachi2/output, no mirror;
/// `distro` at /usr/share/dnf5/repos.d (the base's own repositories on
/// Fedora 45).
fn hermetic_build(
    fx: &Fedora,
    context: &Path,
    file: &str,
    reposd: &Path,
    output: &Path,
    distro: &Path,
) -> Result<String, String> {
    let iid = fx.b.tmp.join("hermetic.iid");
    let _ = std::fs::remove_file(&iid);
    let inner = fx.b.command();
    let mut c = Command::new("unshare");
    c.arg("--net").arg(inner.get_program()).args(inner.get_args());
    for (k, v) in inner.get_envs() {
        if let Some(v) = v {
            c.env(k, v);
        }
    }
    // No `--network=none`: buildah refuses it with chroot isolation, which is
    // why konflux-build-cli wraps the build in `unshare --net` (build.go).
    c.args(["build", "--isolation", "chroot", "--pull=never", "--iidfile"]).arg(&iid);
    c.arg("--volume").arg(format!("{}:/etc/yum.repos.d", reposd.display()));
    c.arg("--volume").arg(format!("{}:/cachi2/output", output.display()));
    c.arg("--volume").arg(format!("{}:/usr/share/dnf5/repos.d:ro", distro.display()));
    c.args(["-f", file, "."]).current_dir(context);
    let out = c.output().expect("unshare (util-linux) runs");
    let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if out.status.success() { Ok(std::fs::read_to_string(&iid).expect("iidfile").trim().to_string()) } else { Err(log) }
}

fn compile(fx: &Fedora, name: &str, hermetic: bool) -> std::path::PathBuf {
    let ctx = fx.b.tmp.join(name);
    copy_dir(&root().join("tests/golden/hermetic-e2e"), &ctx);
    std::fs::create_dir_all(ctx.join(".git")).expect("a repository");
    // The toolkit repository's key, as the recipe's author commits it: the
    // one the fixture mirror serves at the repository's `gpgkey` URL.
    std::fs::copy(fx.net.join(TOOLKIT_KEY), ctx.join("keys/nvidia-container-toolkit.asc")).expect("the key");
    if !hermetic {
        let recipe = std::fs::read_to_string(ctx.join("image.aid")).expect("recipe");
        assert!(recipe.contains("  hermetic    = true\n"), "{recipe}");
        std::fs::write(ctx.join("image.aid"), recipe.replace("  hermetic    = true\n", "")).expect("edit");
    }
    let compiled = aidc(&ctx, &["compile", "image.aid"]);
    assert_eq!(compiled.status.code(), Some(0), "{}", String::from_utf8_lossy(&compiled.stderr));
    ctx
}

#[test]
fn a_hermetic_containerfile_builds_offline_under_the_tasks_mounts_and_fails_where_konflux_fails() {
    if !available() {
        return;
    }
    let started = std::time::Instant::now();
    let fx = Fedora::load();
    let output = fx.b.tmp.join("cachi2-output");
    prefetch_output(&fx, &output);
    let file = "out/hermetic/Containerfile";
    // Fedora's repository, with its network URL, where Fedora 45 keeps it.
    let fedora = std::fs::read_to_string(root().join("tests/fixtures/fedora/files/fedora.repo")).expect("fedora.repo");
    let distro = fx.b.tmp.join("distro.repos.d");
    std::fs::create_dir_all(&distro).expect("mkdir");
    std::fs::write(distro.join("fedora.repo"), &fedora).expect("fedora.repo");

    // The hermetic Containerfile builds offline, from the prefetch only.
    let ctx = compile(&fx, "hermetic", true);
    let reposd = fx.b.tmp.join("repos.d");
    repos_d(&reposd, &[]);
    let image = hermetic_build(&fx, &ctx, file, &reposd, &output, &distro).unwrap_or_else(|log| panic!("{log}"));
    let m = Mounted::new(&fx.b, &image);
    let read = |p: &str| std::fs::read_to_string(m.path(p)).unwrap_or_else(|e| format!("<{p}: {e}>"));
    let installed = m.sh("rpm -q htop jq nvidia-container-toolkit").unwrap_or_else(|e| e);
    assert!(!installed.contains("not installed"), "{installed}");
    assert_eq!(read("/usr/bin/hermetic-tool"), TOOL);
    // The kept repository file ships; the mount's hermeto.repo does not.
    let kept = read("/etc/yum.repos.d/nvidia-container-toolkit.repo");
    assert!(kept.contains("baseurl=https://nvidia.github.io/libnvidia-container/stable/rpm/$basearch"), "{kept}");
    assert!(!m.path("/etc/yum.repos.d/hermeto.repo").exists(), "the mounted repository file reached the image");
    drop(m);
    let names: Vec<String> = std::fs::read_dir(&reposd)
        .expect("repos.d")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["hermeto.repo"], "a step wrote into the mounted /etc/yum.repos.d");

    // A network repository in the mounted directory fails offline.
    let leaky = fx.b.tmp.join("repos.d-leaky");
    repos_d(&leaky, &[("fedora-network.repo", &fedora.replace("[fedora]", "[fedora-network]"))]);
    match hermetic_build(&fx, &ctx, file, &leaky, &output, &distro) {
        Err(log) => assert!(log.contains("Curl error (6)"), "failed, but not for the network:\n{log}"),
        Ok(_) => panic!("built offline with a network repository visible"),
    }

    // Without the key imports (what aidc wrote before), dnf refuses the
    // toolkit's packages: Hermeto's file checks signatures and names no key,
    // and the base has not imported the third-party key.
    let text = std::fs::read_to_string(ctx.join(file)).expect("Containerfile");
    let import =
        "rpm --import /etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-44-x86_64 /run/aid/keys/nvidia-container-toolkit.asc && ";
    assert!(text.contains(import), "{text}");
    std::fs::write(ctx.join("Containerfile.no-keys"), text.replace(import, "")).expect("write");
    match hermetic_build(&fx, &ctx, "Containerfile.no-keys", &reposd, &output, &distro) {
        Err(log) => assert!(log.contains("GPG check FAILED"), "failed, but not for the signature:\n{log}"),
        Ok(_) => panic!("built with the toolkit's key not imported"),
    }

    // The steps of a build that is not hermetic (dnf's default directories,
    // aidc's own repository files) fail the same way.
    let old = compile(&fx, "not-hermetic", false);
    match hermetic_build(&fx, &old, file, &reposd, &output, &distro) {
        Err(log) => assert!(log.contains("Curl error (6)"), "failed, but not for the network:\n{log}"),
        Ok(_) => panic!("the steps of a build that is not hermetic built offline"),
    }
    eprintln!("hermetic build test: {:.1} s", started.elapsed().as_secs_f64());
}
