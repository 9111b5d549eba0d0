//! `aidc init [DIR] [--signing]`: a new project: a recipe that checks and
//! compiles, `.gitignore` and `.containerignore`; with `--signing`, a key
//! pair and certificate for signing kernel modules (made with `openssl`),
//! the private key kept out of git and out of the build context, and the
//! steps to enrol the certificate with `mokutil` printed.
//!
//! The directory must lie inside the repository of the current directory,
//! and no file is overwritten: an existing recipe or ignore file stops it
//! before anything is written.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::args::InitArgs;
use super::{Format, render};

/// The recipe's name: the directory's name in kebab case, or `my-image`.
fn image_name(dir: &Path) -> String {
    let raw = dir.file_name().map(|n| n.to_string_lossy().to_lowercase()).unwrap_or_default();
    let mut name = String::new();
    for ch in raw.chars() {
        if ch.is_ascii_alphanumeric() {
            name.push(ch);
        } else if !name.ends_with('-') && !name.is_empty() {
            name.push('-');
        }
    }
    let name = name.trim_end_matches('-');
    if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_lowercase()) || name.len() > 40 {
        "my-image".into()
    } else {
        name.to_string()
    }
}

fn recipe(name: &str, signing: bool) -> String {
    let signing_block = if signing {
        format!(
            r#"

  // Signs kernel modules built into the image; the key is the build secret
  // `akmods-key` (`aidc build {name} --secret-file keys/private/{name}.priv`).
  signing {{
    key  = secret("akmods-key")
    cert = file("keys/{name}.der")
  }}"#
        )
    } else {
        String::new()
    };
    format!(
        r#"/// {name}: a bootable Fedora image, made with `aidc init`.
import "std/fedora"

image {name} {{
  from fedora.bootc(44)
  packages ["htop"]
  enable "podman.socket"{signing_block}
}}
"#
    )
}

const GITIGNORE: &str = "\
# aidc init: the signing key never goes into git.
/keys/private/
";

const CONTAINERIGNORE: &str = "\
# aidc init: what the image build never sees (the build context is this directory).
.git
keys/private/
";

pub fn run(args: &InitArgs) -> i32 {
    let human = Format::Human;
    let dir = args.dir.clone().unwrap_or_else(|| PathBuf::from("."));
    let cwd = std::env::current_dir().unwrap_or_default();
    let root = super::layout::repository_root(&super::digests::absolute(&cwd));
    let root = root.canonicalize().unwrap_or(root);
    let absolute = super::digests::absolute(&dir);
    if !absolute.starts_with(&root) {
        return render::usage_error(
            human,
            &format!("`{}` is outside the repository `{}`; aidc writes only inside it", dir.display(), root.display()),
        );
    }
    // A committed link (`sub -> ../outside`, `keys -> …`) would carry the
    // writes, the private key among them, out of the repository or past
    // `.gitignore`: every directory written through must be a real one.
    for under in ["", "keys", "keys/private"] {
        if let Some(link) = linked_component(&root, &absolute.join(under)) {
            return render::usage_error(
                human,
                &format!("`{}` is a link; aidc init writes only through real directories", link.display()),
            );
        }
    }
    let name = image_name(&absolute);
    let files: Vec<(PathBuf, String)> = vec![
        (dir.join("image.aid"), recipe(&name, args.signing)),
        (dir.join(".gitignore"), GITIGNORE.to_string()),
        (dir.join(".containerignore"), CONTAINERIGNORE.to_string()),
    ];
    let (cert, key) =
        (dir.join("keys").join(format!("{name}.der")), dir.join("keys/private").join(format!("{name}.priv")));
    let mut existing: Vec<&Path> = files.iter().map(|(p, _)| p.as_path()).filter(|p| p.exists()).collect();
    if args.signing {
        existing.extend([cert.as_path(), key.as_path()].into_iter().filter(|p| p.exists()));
    }
    if let Some(first) = existing.first() {
        return render::usage_error(
            human,
            &format!("`{}` exists already; aidc init overwrites nothing", first.display()),
        );
    }
    if args.signing && std::process::Command::new("openssl").arg("version").output().is_err() {
        return render::usage_error(
            human,
            "`--signing` needs `openssl` to make the key pair (Fedora: `dnf install openssl`, Debian: `apt install openssl`)",
        );
    }
    if let Err(e) = std::fs::create_dir_all(&dir) {
        return render::usage_error(human, &format!("cannot create `{}`: {e}", dir.display()));
    }
    if args.signing {
        if let Err(message) = make_key(&name, &cert, &key) {
            return render::usage_error(human, &message);
        }
    }
    for (path, text) in &files {
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .and_then(|mut f| f.write_all(text.as_bytes()));
        if let Err(e) = written {
            return render::usage_error(human, &format!("cannot write `{}`: {e}", path.display()));
        }
        eprintln!("wrote {}", path.display());
    }
    let shown = |p: &Path| p.display().to_string();
    let recipe_path = shown(&dir.join("image.aid"));
    println!("Next: aidc check {recipe_path} && aidc compile {recipe_path} && aidc build {name} {recipe_path}");
    if args.signing {
        println!();
        println!("Signing key: {} (private: never commit it, never copy it into an image;", shown(&key));
        println!("it is in .gitignore and .containerignore). Certificate: {}.", shown(&cert));
        println!("Build with the key as the secret `akmods-key`:");
        println!("  aidc build {name} {recipe_path} --secret-file {}", shown(&key));
        println!("Enrol the certificate once on each machine with Secure Boot (the image ships it");
        println!("as /etc/pki/akmods/certs/{name}.der):");
        println!("  sudo mokutil --import /etc/pki/akmods/certs/{name}.der   # choose a one-time password");
        println!("  sudo systemctl reboot   # MOK manager: Enroll MOK, Continue, Yes, the password");
        println!("  mokutil --test-key /etc/pki/akmods/certs/{name}.der   # after the reboot: is already enrolled");
    }
    0
}

/// The first component of `path` below `root` that is a link, if any
/// (components that do not exist yet are created as directories).
fn linked_component(root: &Path, path: &Path) -> Option<PathBuf> {
    let rel = path.strip_prefix(root).ok()?;
    let mut at = root.to_path_buf();
    for part in rel.components() {
        at.push(part);
        match std::fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => return Some(at),
            Ok(_) => {}
            Err(_) => return None,
        }
    }
    None
}

/// A self-signed X.509 certificate (DER, for `mokutil`) and its RSA key
/// (PEM, readable by its owner only), as akmods signs modules with; the
/// `openssl req` call follows ublue-os/akmods' key generation.
fn make_key(name: &str, cert: &Path, key: &Path) -> Result<(), String> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    for (dir, mode) in [(cert.parent(), 0o755), (key.parent(), 0o700)] {
        let Some(dir) = dir else { continue };
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(mode)
            .create(dir)
            .map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
    }
    let mut command = std::process::Command::new("openssl");
    command
        .args(["req", "-x509", "-new", "-nodes", "-newkey", "rsa:2048", "-sha256", "-days", "36500"])
        .arg("-subj")
        .arg(format!("/CN={name} kernel module signing key/"))
        .args(["-addext", "extendedKeyUsage=codeSigning", "-outform", "DER"])
        .arg("-keyout")
        .arg(key)
        .arg("-out")
        .arg(cert)
        .stdin(std::process::Stdio::null());
    // The private key is created readable by its owner only.
    use std::os::unix::process::CommandExt;
    // SAFETY: umask is async-signal-safe and touches only the child.
    unsafe {
        command.pre_exec(|| {
            rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
            Ok(())
        });
    }
    let out = command.output().map_err(|e| format!("cannot run openssl: {e}"))?;
    if !out.status.success() {
        return Err(format!("openssl could not make the key: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    // The certificate is public: the image ships it.
    std::fs::set_permissions(cert, std::fs::Permissions::from_mode(0o644))
        .map_err(|e| format!("cannot make `{}` readable: {e}", cert.display()))
}
