//! End to end with real buildah: builds the offline fixture base (a stand-in
//! for Fedora, see tests/fixtures/base), compiles `tests/golden/fixture-e2e`,
//! builds both targets, and checks the images: their contents, that an
//! unchanged rebuild is fully cached, and that a changed script or copied
//! file reaches the rebuilt image (buildah alone would reuse the stale layer).
//!
//! Needs root and buildah; skipped with a message otherwise, unless
//! `AID_REQUIRE_BUILDAH=1` (set by `tests/run`), which makes it fail instead.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::store::Buildah;
use crate::support::{aidc, root};

/// Builds `target` of `out/e2e/Containerfile`; the image id and buildah's output.
fn build_e2e(b: &Buildah, context: &Path, target: &str) -> (String, String) {
    let iid = b.tmp.join(format!("{target}.iid"));
    let out = b.run(
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

/// Whether the buildah end-to-end tests can run here (root and buildah).
pub(crate) fn available() -> bool {
    crate::store::available("the buildah end-to-end test")
}

pub(crate) fn copy_dir(from: &Path, to: &Path) {
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
    let b = Buildah::with_fixture();
    let tmp = tempfile::tempdir().expect("tempdir");

    let ctx = tmp.path().join("ctx");
    copy_dir(&root().join("tests/golden/fixture-e2e"), &ctx);
    let compiled = aidc(&ctx, &["compile", "image.aid"]);
    assert_eq!(compiled.status.code(), Some(0), "{}", String::from_utf8_lossy(&compiled.stderr));

    // Both targets build; their contents are what the recipe says.
    let (minimal, _) = build_e2e(&b, &ctx, "minimal");
    let (full, _) = build_e2e(&b, &ctx, "full");
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
    let (again, log) = build_e2e(&b, &ctx, "full");
    assert_eq!(again, full, "unchanged rebuild produced a new image:\n{log}");

    // A changed script and a changed copied file reach the rebuilt image.
    std::fs::write(
        ctx.join("scripts/setup.sh"),
        "#!/bin/sh\nset -eu\nmkdir -p /usr/share/e2e\necho \"setup v2\" > /usr/share/e2e/setup\n",
    )
    .expect("edit");
    std::fs::write(ctx.join("files/motd"), "Changed message.\n").expect("edit");
    assert_eq!(aidc(&ctx, &["compile", "image.aid"]).status.code(), Some(0));
    let (rebuilt, log) = build_e2e(&b, &ctx, "minimal");
    assert_ne!(rebuilt, minimal, "{log}");
    assert_eq!(b.read(&rebuilt, "/usr/share/e2e/setup"), "setup v2\n", "{log}");
    assert_eq!(b.read(&rebuilt, "/usr/share/e2e/motd"), "Changed message.\n", "{log}");
    // The layer before the edit (the `tools` layer) was reused.
    assert!(log.contains("Using cache"), "{log}");

    // A multi-platform recipe: one Containerfile whose per-architecture
    // steps branch on `TARGETARCH`, which buildah sets to the host's; the
    // image has the host architecture's files and nothing of the other's.
    let arch_ctx = tmp.path().join("arch");
    copy_dir(&root().join("tests/fixtures/multi-arch"), &arch_ctx);
    std::fs::create_dir_all(arch_ctx.join(".git")).expect("a repository");
    let compiled = aidc(&arch_ctx, &["compile", "image.aid"]);
    assert_eq!(compiled.status.code(), Some(0), "{}", String::from_utf8_lossy(&compiled.stderr));
    let containerfile = std::fs::read_to_string(arch_ctx.join("out/arch-e2e/Containerfile")).expect("Containerfile");
    assert!(containerfile.contains("ARG TARGETARCH\n"), "{containerfile}");
    let iid = b.tmp.join("arch.iid");
    b.run(
        &[
            "build",
            "--isolation",
            "chroot",
            "--layers",
            "--pull=never",
            "--iidfile",
            &iid.to_string_lossy(),
            "-f",
            "out/arch-e2e/Containerfile",
            ".",
        ],
        &arch_ctx,
    );
    let image = std::fs::read_to_string(&iid).expect("iidfile").trim().to_string();
    let host = std::env::consts::ARCH;
    assert_eq!(b.read(&image, "/usr/share/e2e/arch"), format!("{host}\n"));
    assert_eq!(b.read(&image, "/usr/share/e2e/run-arch"), format!("built for {host}\n"));
    assert_eq!(b.read(&image, "/usr/share/e2e/shared"), "the same on every architecture\n");
}

// ---------------------------------------------------------------------------
// The package-faithful Fedora stand-in (tests/fixtures/fedora): real rpm,
// dnf, kmod, sbsigntool and openssl, RPM repositories built with rpmbuild
// and createrepo_c, served from a mirror tree mounted at
// /run/aid-fixture/net. build.sh caches it by a hash of its inputs.

/// The fixture loaded into a private store.
pub(crate) struct Fedora {
    pub(crate) b: Buildah,
    pub(crate) net: PathBuf,
}

impl Fedora {
    /// Builds (or reuses) the fixture and loads both base images.
    pub(crate) fn load() -> Fedora {
        let started = std::time::Instant::now();
        let built =
            Command::new("bash").arg(root().join("tests/fixtures/fedora/build.sh")).output().expect("build.sh runs");
        assert!(
            built.status.success(),
            "fedora fixture:\n{}\n{}",
            String::from_utf8_lossy(&built.stdout),
            String::from_utf8_lossy(&built.stderr)
        );
        let dir = PathBuf::from(String::from_utf8_lossy(&built.stdout).trim().lines().last().unwrap_or_default());
        eprintln!("fedora fixture: {} ({:.1} s)", dir.display(), started.elapsed().as_secs_f64());
        let b = Buildah::empty();
        for archive in ["fedora.tar", "silverblue.tar"] {
            b.run(&["pull", "--quiet", &format!("oci-archive:{}", dir.join(archive).display())], Path::new("/"));
        }
        Fedora { b, net: dir.join("net") }
    }

    /// `buildah build` with the mirror mounted and the `akmods-key` secret;
    /// the image id, or buildah's output when the build fails.
    fn build(
        &self,
        context: &Path,
        file: &str,
        target: Option<&str>,
        secrets: &[(&str, &Path)],
    ) -> Result<String, String> {
        let iid = self.b.tmp.join("last.iid");
        let _ = std::fs::remove_file(&iid);
        let mut c = self.b.command();
        c.args(["build", "--isolation", "chroot", "--layers", "--pull=never", "--iidfile"]).arg(&iid);
        c.arg("--volume").arg(format!("{}:/run/aid-fixture/net:ro", self.net.display()));
        for (id, src) in secrets {
            c.arg("--secret").arg(format!("id={id},src={}", src.display()));
        }
        if let Some(t) = target {
            c.args(["--target", t]);
        }
        c.args(["-f", file, "."]).current_dir(context);
        let out = c.output().expect("buildah runs");
        let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        if out.status.success() {
            Ok(std::fs::read_to_string(&iid).expect("iidfile").trim().to_string())
        } else {
            Err(log)
        }
    }
}

/// A signing key and its DER certificate with common name `cn`, in `dir`.
fn signing_pair(dir: &Path, cn: &str) -> (PathBuf, PathBuf) {
    let (key, cert) = (dir.join("signing-key.pem"), dir.join("signing-cert.der"));
    let out = Command::new("openssl")
        .args(["req", "-x509", "-new", "-nodes", "-newkey", "rsa:2048", "-sha256", "-days", "3650"])
        .arg("-subj")
        .arg(format!("/CN={cn}/"))
        .args(["-addext", "extendedKeyUsage=codeSigning", "-outform", "DER", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl runs");
    assert!(out.status.success(), "openssl: {}", String::from_utf8_lossy(&out.stderr));
    (key, cert)
}

/// Each folder of tests/fixtures/fedora/cases is a Containerfile and the
/// outcome real Fedora gives it (`builds`, or `fails: TEXT` with TEXT in the
/// build's output): the stand-in must fail where Fedora fails, for the same
/// reason, and build what Fedora builds.
#[test]
fn fedora_stand_in_fails_where_fedora_fails() {
    if !available() {
        return;
    }
    let fx = Fedora::load();
    let keys = tempfile::tempdir().expect("tempdir");
    let (key, cert) = signing_pair(keys.path(), "aidc fixture case key");
    let cases = root().join("tests/fixtures/fedora/cases");
    let mut names: Vec<_> = std::fs::read_dir(&cases).expect("cases").flatten().map(|e| e.file_name()).collect();
    names.sort();
    assert!(names.len() >= 10, "too few cases in {}", cases.display());
    let mut failures = Vec::new();
    for name in names {
        let dir = cases.join(&name);
        let expect = std::fs::read_to_string(dir.join("expect")).expect("expect file");
        let expect = expect.trim();
        let ctx = fx.b.tmp.join("case").join(&name);
        copy_dir(&dir, &ctx);
        std::fs::copy(&cert, ctx.join("cert.der")).expect("cert");
        let started = std::time::Instant::now();
        let got = fx.build(&ctx, "Containerfile", None, &[("akmods-key", &key)]);
        eprintln!("case {}: {:.1} s", name.to_string_lossy(), started.elapsed().as_secs_f64());
        match (expect.strip_prefix("fails:").map(str::trim), got) {
            (None, Ok(_)) if expect == "builds" => {}
            (Some(text), Err(log)) if log.contains(text) => {}
            (_, Ok(_)) => failures.push(format!("{}: built, but Fedora gives `{expect}`", name.to_string_lossy())),
            (_, Err(log)) => failures.push(format!("{}: expected `{expect}`, got:\n{log}", name.to_string_lossy())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Upstream checksums the flagship's recipe pins for files the fixture's
/// mirror serves with other bytes: `(upstream sha256, URL)`. The test
/// replaces each in the generated Containerfile by the mirror file's sha256
/// (and checks the upstream value was there), the one test-only rewrite.
const MIRRORED_CHECKSUMS: &[(&str, &str)] = &[(
    "6b7f583fa74560ee7d76745295a260fd03e9fbfc7d6c15cfd36f28a1a3e917cc",
    "https://github.com/block/goose/releases/download/v1.4.0/goose-x86_64-unknown-linux-gnu.tar.bz2",
)];

/// A built image, mounted read-only for inspection; unmounted on drop.
pub(crate) struct Mounted<'a> {
    b: &'a Buildah,
    ctr: String,
    dir: PathBuf,
}

impl<'a> Mounted<'a> {
    pub(crate) fn new(b: &'a Buildah, image: &str) -> Mounted<'a> {
        let ctr =
            String::from_utf8_lossy(&b.run(&["from", "--pull=never", image], Path::new("/")).stdout).trim().to_string();
        let dir = PathBuf::from(String::from_utf8_lossy(&b.run(&["mount", &ctr], Path::new("/")).stdout).trim());
        Mounted { b, ctr, dir }
    }

    pub(crate) fn path(&self, p: &str) -> PathBuf {
        self.dir.join(p.trim_start_matches('/'))
    }

    /// Runs `sh -c SCRIPT` inside the image; its stdout, or an error with both streams.
    pub(crate) fn sh(&self, script: &str) -> Result<String, String> {
        let out = self
            .b
            .command()
            .args(["run", "--isolation", "chroot", &self.ctr, "--", "/bin/sh", "-c", script])
            .output()
            .expect("buildah run");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            Ok(text)
        } else {
            Err(format!("`{script}` failed: {text}{}", String::from_utf8_lossy(&out.stderr)))
        }
    }
}

impl Drop for Mounted<'_> {
    fn drop(&mut self) {
        let _ = self.b.command().args(["umount", &self.ctr]).output();
        let _ = self.b.command().args(["rm", &self.ctr]).output();
    }
}

/// Runs a host tool; (success, stdout + stderr).
fn tool(program: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program}: {e}"));
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// Pieces of the private key that must appear in no layer: lines of its PEM
/// text and windows of its DER bytes.
fn key_needles(key_pem: &Path) -> Vec<Vec<u8>> {
    let pem = std::fs::read_to_string(key_pem).expect("key");
    let mut needles: Vec<Vec<u8>> =
        pem.lines().filter(|l| l.len() == 64).take(6).map(|l| l.as_bytes().to_vec()).collect();
    let der = Command::new("openssl").args(["pkey", "-outform", "DER", "-in"]).arg(key_pem).output().expect("openssl");
    // Past the modulus and public exponent (which the certificate holds too):
    // the private exponent and primes.
    for start in (der.stdout.len() / 2..der.stdout.len().saturating_sub(32)).step_by(128) {
        needles.push(der.stdout[start..start + 32].to_vec());
    }
    assert!(needles.len() > 6, "too few key needles");
    needles
}

/// Checks one flagship image; returns what is wrong, if anything.
#[allow(clippy::too_many_arguments)]
fn check_flagship_image(
    fx: &Fedora,
    image: &str,
    target: &str,
    cert_der: &Path,
    cert_pem: &Path,
    cn: &str,
    driver: &str,
) -> Vec<String> {
    let mut bad = Vec::new();
    let cuda = target != "clean";
    let m = Mounted::new(&fx.b, image);
    // Exactly one kernel, the recipe's long-term one.
    let mut kernels: Vec<String> = std::fs::read_dir(m.path("/usr/lib/modules"))
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    kernels.sort();
    if kernels.len() != 1 {
        bad.push(format!("expected one /usr/lib/modules/<kver>, found {kernels:?}"));
        return bad;
    }
    let kver = kernels[0].clone();
    let kdir = format!("/usr/lib/modules/{kver}");
    match m.sh("rpm -qf --qf '%{NAME}\\n' /usr/lib/modules/*/vmlinuz") {
        Ok(owner) if owner.trim() == "kernel-longterm-core" => {}
        other => bad.push(format!("the kernel in /usr/lib/modules is not kernel-longterm-core: {other:?}")),
    }
    // Version-locked.
    let locks = std::fs::read_to_string(m.path("/etc/dnf/plugins/versionlock.list")).unwrap_or_default();
    let evr = kver.trim_end_matches(".x86_64");
    if !locks.lines().any(|l| l.starts_with("kernel-longterm-core-") && l.contains(evr)) {
        bad.push(format!("kernel-longterm-core {evr} is not version-locked; versionlock.list:\n{locks}"));
    }
    // Secure Boot: the vmlinuz verifies against the recipe's certificate.
    let vmlinuz = m.path(&format!("{kdir}/vmlinuz"));
    let (ok, out) = tool("sbverify", &["--cert", &cert_pem.to_string_lossy(), &vmlinuz.to_string_lossy()]);
    if !ok {
        bad.push(format!("sbverify --cert <recipe cert> vmlinuz failed: {out}"));
    }
    // The initramfs was made from the final module tree and modprobe files.
    let unpacked = fx.b.tmp.join(format!("initramfs-{target}"));
    let _ = std::fs::remove_dir_all(&unpacked);
    std::fs::create_dir_all(&unpacked).expect("mkdir");
    let img = m.path(&format!("{kdir}/initramfs.img"));
    let (ok, out) = tool(
        "sh",
        &["-c", &format!("cd '{}' && gzip -dc '{}' | busybox cpio -id 2>&1", unpacked.display(), img.display())],
    );
    let dep_image = std::fs::read_to_string(m.path(&format!("{kdir}/modules.dep"))).unwrap_or_default();
    let dep_initrd =
        std::fs::read_to_string(unpacked.join(format!("usr/lib/modules/{kver}/modules.dep"))).unwrap_or_default();
    if !ok || dep_initrd.is_empty() || dep_initrd != dep_image {
        bad.push(format!(
            "the initramfs's modules.dep is not the image's (made before the last module install?): {out}"
        ));
    }
    for conf in ["nvidia.conf", "50-aid-nvidia-blacklist.conf"] {
        let in_image = m.path(&format!("/usr/lib/modprobe.d/{conf}")).exists();
        if cuda && in_image != unpacked.join(format!("usr/lib/modprobe.d/{conf}")).exists() {
            bad.push(format!("the initramfs lacks /usr/lib/modprobe.d/{conf}"));
        }
    }
    // The NVIDIA modules: present only in the CUDA targets, signed by the
    // recipe's key, carrying the driver's version.
    let extra = m.path(&format!("{kdir}/extra/nvidia"));
    let modules: Vec<PathBuf> =
        std::fs::read_dir(&extra).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default();
    if cuda == modules.is_empty() {
        bad.push(format!("{target}: NVIDIA modules {modules:?} (CUDA targets only)"));
    }
    if cuda && !dep_image.contains("extra/nvidia/nvidia.ko") {
        bad.push("modules.dep does not list extra/nvidia/nvidia.ko".into());
    }
    let serial =
        tool("openssl", &["x509", "-inform", "DER", "-noout", "-serial", "-in", &cert_der.to_string_lossy()]).1;
    let serial = serial.trim().trim_start_matches("serial=").to_ascii_uppercase();
    for ko in &modules {
        let ko = ko.to_string_lossy();
        let field = |f: &str| tool("modinfo", &["-F", f, &ko]).1.trim().to_string();
        if field("signer") != cn {
            bad.push(format!("modinfo -F signer {ko} = {:?}, want {cn:?}", field("signer")));
        }
        if field("sig_key").replace(':', "").to_ascii_uppercase().trim_start_matches('0')
            != serial.trim_start_matches('0')
        {
            bad.push(format!(
                "modinfo -F sig_key {ko} = {:?}, want the certificate's serial {serial}",
                field("sig_key")
            ));
        }
        if field("version") != driver {
            bad.push(format!("modinfo -F version {ko} = {:?}, want {driver}", field("version")));
        }
    }
    if cuda {
        match m.sh("rpm -q --qf '%{VERSION}\\n' --whatprovides kmod-nvidia") {
            Ok(v) if v.trim() == driver => {}
            other => bad.push(format!("rpm -q --whatprovides kmod-nvidia: {other:?}, want {driver}")),
        }
    }
    // /usr/local is a directory of the image, CUDA is under it in the CUDA
    // targets only, and the toolkit only in cuda-toolkit.
    match std::fs::symlink_metadata(m.path("/usr/local")) {
        Ok(meta) if meta.is_dir() => {}
        other => bad.push(format!("/usr/local is not a real directory: {other:?}")),
    }
    let cuda_dir = m.path("/usr/local/cuda-13.0").is_dir();
    let nvcc = m.path("/usr/local/cuda-13.0/bin/nvcc").exists();
    if cuda_dir != cuda || nvcc != (target == "cuda-toolkit") {
        bad.push(format!("{target}: /usr/local/cuda-13.0 present={cuda_dir}, nvcc present={nvcc}"));
    }
    drop(m);
    // bootc container lint is the last step.
    let inspect =
        String::from_utf8_lossy(&fx.b.run(&["inspect", "--type", "image", image], Path::new("/")).stdout).into_owned();
    let v: serde_json::Value = serde_json::from_str(&inspect).expect("inspect json");
    let last = v["OCIv1"]["history"]
        .as_array()
        .and_then(|h| h.iter().rev().find(|e| !e["empty_layer"].as_bool().unwrap_or(false)))
        .and_then(|e| e["created_by"].as_str())
        .unwrap_or_default()
        .to_string();
    if !last.contains("bootc container lint") {
        bad.push(format!("the last step is not `bootc container lint`: {last}"));
    }
    // Built with the key: the image says its kernel and modules are signed.
    let signing = v["OCIv1"]["config"]["Labels"]["dev.aidc.kmod-signing"].as_str().unwrap_or("<none>");
    if signing != "signed" {
        bad.push(format!("label dev.aidc.kmod-signing = {signing:?}, want \"signed\""));
    }
    bad
}

/// The flagship (examples/ai-desktop) built on the package-faithful Fedora
/// stand-in, all three targets, with the checks of issue 11. Runs when
/// `AID_E2E_FLAGSHIP=1` (see tests/fixtures/fedora/README.md).
#[test]
fn flagship_builds_on_the_fedora_stand_in() {
    if std::env::var_os("AID_E2E_FLAGSHIP").is_none_or(|v| v != "1") {
        eprintln!("SKIPPED: the flagship build on the Fedora stand-in runs with AID_E2E_FLAGSHIP=1");
        return;
    }
    if !available() {
        return;
    }
    let fx = Fedora::load();
    let work = tempfile::tempdir().expect("tempdir");
    let ctx = work.path().join("ai-desktop");
    copy_dir(&root().join("examples/ai-desktop"), &ctx);
    let cn = "aidc e2e flagship key";
    let (key, cert) = signing_pair(work.path(), cn);
    std::fs::copy(&cert, ctx.join("keys/ai-desktop.der")).expect("cert");
    let cert_pem = work.path().join("cert.pem");
    let (ok, out) = tool(
        "openssl",
        &["x509", "-inform", "DER", "-in", &cert.to_string_lossy(), "-out", &cert_pem.to_string_lossy()],
    );
    assert!(ok, "{out}");
    let compiled = aidc(&ctx, &["compile", "image.aid"]);
    assert_eq!(compiled.status.code(), Some(0), "{}", String::from_utf8_lossy(&compiled.stderr));
    let file = ctx.join("out/ai-desktop/Containerfile");
    let mut text = std::fs::read_to_string(&file).expect("Containerfile");
    for (upstream, url) in MIRRORED_CHECKSUMS {
        if !text.contains(url) {
            continue;
        }
        assert!(text.contains(upstream), "{url} is fetched without its upstream checksum {upstream}");
        let mirror = fx.net.join(url.trim_start_matches("https://"));
        let sum = tool("sha256sum", &[&mirror.to_string_lossy()]).1;
        text = text.replace(upstream, sum.split_whitespace().next().unwrap_or_default());
    }
    std::fs::write(&file, &text).expect("rewrite");
    let driver = "580.95.05";
    let needles = key_needles(&key);
    // Every secret id the Containerfile mounts gets the key.
    let ids: Vec<String> = text
        .split("--mount=type=secret,id=")
        .skip(1)
        .filter_map(|s| s.split([',', ' ']).next().map(str::to_string))
        .collect();
    let secrets: Vec<(&str, &Path)> = ids.iter().map(|id| (id.as_str(), key.as_path())).collect();
    let mut failures = Vec::new();
    // cuda-toolkit first, into the fresh store: buildah 1.28 mounts a stage
    // that came from the layer cache as that stage's base image in
    // `RUN --mount=type=bind,from=STAGE` (README.md), so no step that binds a
    // stage may run after that stage was cached. Built first, cuda-toolkit
    // builds every stage; the other two then reuse those layers and add only
    // steps without such mounts.
    for target in ["cuda-toolkit", "cuda-runtime", "clean"] {
        let started = std::time::Instant::now();
        let built = fx.build(&ctx, "out/ai-desktop/Containerfile", Some(target), &secrets);
        eprintln!("flagship {target}: {:.1} s", started.elapsed().as_secs_f64());
        match built {
            Ok(id) => {
                for problem in check_flagship_image(&fx, &id, target, &cert, &cert_pem, cn, driver) {
                    failures.push(format!("{target}: {problem}"));
                }
            }
            Err(log) => {
                let tail: Vec<&str> = log.lines().rev().take(40).collect();
                failures.push(format!(
                    "{target}: the build failed:\n{}",
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                ));
            }
        }
    }
    // No byte of the private key anywhere in the store: every layer of every
    // image (the targets, the kmod builder, each step `--layers` keeps), the
    // run root and the cache mounts. The store's own layer directories are
    // read, rather than a pushed, uncompressed copy of each image, so the
    // test needs no disk beyond the store.
    for dir in [&fx.b.root, &fx.b.runroot, &fx.b.tmp] {
        for hit in crate::secrets::scan(dir, &needles) {
            failures.push(format!("bytes of the private key in the store: {hit}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
