//! A private buildah store for one test: its own graph root, run root and
//! TMPDIR in a temporary directory, emptied and removed when the test ends,
//! on the storage driver that costs least disk on this machine.
//!
//! Why the driver matters: with `vfs`, every layer is a full copy of the root
//! file system, so the flagship's three targets on the Fedora stand-in (about
//! forty `--layers` steps) filled a CI machine's disk ("no space left on
//! device", stop 19). `overlay` keeps only each layer's changes. It needs a
//! kernel that mounts overlayfs for us (root, not nested in another overlay),
//! so [`driver`] probes for that once and falls back to `vfs`.
//! `AID_BUILDAH_STORAGE_DRIVER` overrides the choice.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use crate::support::root;

/// The storage driver every test store uses: `AID_BUILDAH_STORAGE_DRIVER` when
/// set, else `overlay` when an overlay mount works here, else `vfs`.
pub fn driver() -> &'static str {
    static DRIVER: OnceLock<String> = OnceLock::new();
    DRIVER.get_or_init(|| match std::env::var("AID_BUILDAH_STORAGE_DRIVER") {
        Ok(d) if !d.is_empty() => d,
        _ if overlay_mounts() => "overlay".to_string(),
        _ => "vfs".to_string(),
    })
}

/// Whether the kernel mounts an overlay for this process: the check
/// containers/storage's overlay driver makes before it is used, done once.
fn overlay_mounts() -> bool {
    let Ok(dir) = tempfile::tempdir() else { return false };
    let [lower, upper, work, merged] = ["lower", "upper", "work", "merged"].map(|d| dir.path().join(d));
    for d in [&lower, &upper, &work, &merged] {
        if std::fs::create_dir(d).is_err() {
            return false;
        }
    }
    let options = format!("lowerdir={},upperdir={},workdir={}", lower.display(), upper.display(), work.display());
    let mounted = Command::new("mount")
        .args(["-t", "overlay", "overlay", "-o", &options])
        .arg(&merged)
        .output()
        .is_ok_and(|o| o.status.success());
    if mounted {
        let _ = Command::new("umount").arg(&merged).output();
    }
    mounted
}

/// A private buildah store in a temporary directory.
pub struct Buildah {
    pub dir: tempfile::TempDir,
    pub root: PathBuf,
    pub runroot: PathBuf,
    pub tmp: PathBuf,
}

/// Whether buildah tests can run here; with `AID_REQUIRE_BUILDAH=1` they must.
pub fn available(what: &str) -> bool {
    let required = std::env::var_os("AID_REQUIRE_BUILDAH").is_some_and(|v| v == "1");
    let buildah = Command::new("buildah").arg("--version").output().is_ok_and(|o| o.status.success());
    let root_user =
        Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if required {
        assert!(buildah, "buildah is required (AID_REQUIRE_BUILDAH=1) but not installed");
        assert!(root_user, "{what} needs root");
    }
    if !(buildah && root_user) {
        eprintln!("SKIPPED: {what} needs root and buildah; `tests/run` installs buildah");
    }
    buildah && root_user
}

impl Buildah {
    /// A fresh, empty store.
    pub fn empty() -> Buildah {
        let dir = tempfile::tempdir().expect("tempdir");
        let b = Buildah {
            root: dir.path().join("root"),
            runroot: dir.path().join("runroot"),
            tmp: dir.path().join("tmp"),
            dir,
        };
        std::fs::create_dir_all(&b.tmp).expect("mkdir");
        b
    }

    /// A fresh store with the busybox fixture base (tests/fixtures/base) as `image`.
    pub fn with_base(image: &str) -> Buildah {
        let b = Buildah::empty();
        let fixture = Command::new("bash")
            .arg(root().join("tests/fixtures/base/build.sh"))
            .arg(image)
            .env("AID_BUILDAH_ROOT", &b.root)
            .env("AID_BUILDAH_RUNROOT", &b.runroot)
            .env("AID_BUILDAH_STORAGE_DRIVER", driver())
            .env("TMPDIR", &b.tmp)
            .output()
            .expect("build.sh runs");
        assert!(fixture.status.success(), "fixture base:\n{}", String::from_utf8_lossy(&fixture.stderr));
        b
    }

    /// A fresh store with the fixture base as `localhost/aid-fixture-base:44`.
    pub fn with_fixture() -> Buildah {
        Buildah::with_base("localhost/aid-fixture-base:44")
    }

    /// A `storage.conf` for this store, for tools that take
    /// `CONTAINERS_STORAGE_CONF` instead of flags (`aidc build`).
    pub fn storage_conf(&self) -> PathBuf {
        let conf = self.dir.path().join("storage.conf");
        let text = format!(
            "[storage]\ndriver = \"{}\"\ngraphroot = \"{}\"\nrunroot = \"{}\"\n",
            driver(),
            self.root.display(),
            self.runroot.display()
        );
        std::fs::write(&conf, text).expect("storage.conf");
        conf
    }

    pub fn command(&self) -> Command {
        let mut c = Command::new("buildah");
        c.arg("--root").arg(&self.root).arg("--runroot").arg(&self.runroot).arg("--storage-driver").arg(driver());
        c.env("TMPDIR", &self.tmp).env("BUILDAH_ISOLATION", "chroot");
        c
    }

    pub fn try_run(&self, args: &[&str], dir: &Path) -> Output {
        self.command().args(args).current_dir(dir).output().expect("buildah runs")
    }

    pub fn run(&self, args: &[&str], dir: &Path) -> Output {
        let out = self.try_run(args, dir);
        assert!(
            out.status.success(),
            "buildah {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// `buildah build` of `target` of `containerfile` (relative to `context`),
    /// with `--secret id=ID,src=FILE` for each secret; returns the image id.
    pub fn build(
        &self,
        context: &Path,
        containerfile: &str,
        target: Option<&str>,
        tag: &str,
        secrets: &[(String, PathBuf)],
    ) -> String {
        self.try_build(context, containerfile, target, tag, secrets, &[]).unwrap_or_else(|log| panic!("{log}"))
    }

    /// [`Buildah::build`] with extra arguments (`--build-arg …`): the image
    /// id, or buildah's output when the build fails.
    pub fn try_build(
        &self,
        context: &Path,
        containerfile: &str,
        target: Option<&str>,
        tag: &str,
        secrets: &[(String, PathBuf)],
        extra: &[&str],
    ) -> Result<String, String> {
        let iid = self.tmp.join(format!("{}.iid", tag.replace(['/', ':'], "_")));
        let _ = std::fs::remove_file(&iid);
        let mut args: Vec<String> =
            ["build", "--isolation", "chroot", "--layers", "--pull=never"].iter().map(|s| s.to_string()).collect();
        if let Some(t) = target {
            args.extend(["--target".to_string(), t.to_string()]);
        }
        for (id, src) in secrets {
            args.extend(["--secret".to_string(), format!("id={id},src={}", src.display())]);
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        args.extend(
            ["--iidfile", &iid.to_string_lossy(), "-t", tag, "-f", containerfile, "."].iter().map(|s| s.to_string()),
        );
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = self.try_run(&refs, context);
        if out.status.success() {
            Ok(std::fs::read_to_string(&iid).expect("iidfile").trim().to_string())
        } else {
            Err(format!(
                "buildah {args:?} failed:\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// Runs `f` on the root file system of `image`, mounted.
    pub fn with_mounted<T>(&self, image: &str, f: impl FnOnce(&Path) -> T) -> T {
        let dir = Path::new("/");
        let c = String::from_utf8_lossy(&self.run(&["from", "--pull=never", image], dir).stdout).trim().to_string();
        let mnt = String::from_utf8_lossy(&self.run(&["mount", &c], dir).stdout).trim().to_string();
        let result = f(Path::new(&mnt));
        self.run(&["umount", &c], dir);
        self.run(&["rm", &c], dir);
        result
    }

    /// The content of `path` in `image`, or `<error>`.
    pub fn read(&self, image: &str, path: &str) -> String {
        self.with_mounted(image, |mnt| {
            std::fs::read_to_string(mnt.join(path.trim_start_matches('/'))).unwrap_or_else(|e| format!("<{e}>"))
        })
    }

    /// `buildah inspect --type image`, parsed.
    pub fn inspect(&self, image: &str) -> serde_json::Value {
        let out = self.run(&["inspect", "--type", "image", image], Path::new("/"));
        serde_json::from_slice(&out.stdout).expect("inspect json")
    }

    /// Every image id in the store, intermediate ones included.
    pub fn all_images(&self) -> Vec<String> {
        let out = self.run(&["images", "-a", "--noheading", "--no-trunc", "--format", "{{.ID}}"], Path::new("/"));
        let mut ids: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(|l| l.trim().to_string()).collect();
        ids.retain(|l| !l.is_empty());
        ids.sort();
        ids.dedup();
        ids
    }

    /// Pushes `image` to an OCI layout at `dir`, layers uncompressed.
    pub fn push_oci(&self, image: &str, dir: &Path) {
        let dest = format!("oci:{}", dir.display());
        self.run(&["push", "--disable-compression", "--quiet", image, &dest], Path::new("/"));
    }
}

impl Drop for Buildah {
    /// Removes the store's containers and images first: with `overlay` their
    /// layers may still be mounted, and a mounted directory cannot be removed
    /// with the temporary directory.
    fn drop(&mut self) {
        if self.root.exists() {
            let _ = self.command().args(["rm", "--all"]).output();
            let _ = self.command().args(["rmi", "--all", "--force"]).output();
        }
    }
}
