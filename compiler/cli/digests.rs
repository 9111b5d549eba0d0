//! Hashing the build-context inputs a model reads: files whole, directories
//! recursively (honouring `.containerignore` / `.dockerignore` at the
//! context root, as buildah does), large sets in parallel.

use std::path::{Path, PathBuf};

use super::ignore::Ignore;
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::plan::{Input, InputUse, Inputs};

/// The ignore file of a context: `.containerignore` first, then `.dockerignore`.
pub fn context_ignore(context: &Path) -> Ignore {
    for name in [".containerignore", ".dockerignore"] {
        // Through the one safe open: a committed link to `/dev/zero` or
        // outside the context is not read; at most 1 MiB.
        match super::fs::read_in(&context.join(name), Some(&super::fs::real(context)), 1 << 20) {
            Ok(bytes) => return Ignore::parse(&String::from_utf8_lossy(&bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            // Unreadable: nothing excluded, as if absent (inputs it would hide are then hashed, not missed).
            Err(_) => return Ignore::empty(),
        }
    }
    Ignore::empty()
}

/// Every file under `dir` (relative to the context), sorted, not ignored,
/// with the target of each link: a link is copied as a link (as buildah
/// copies it), so its target text is hashed, and it is never followed.
fn walk(context: &Path, rel: &str, ignore: &Ignore, out: &mut Vec<(String, Option<PathBuf>)>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(context.join(rel))?.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        let path = format!("{rel}/{name}");
        if ignore.excludes(&path) {
            continue;
        }
        // What is never copied, by what a directory holds too (docs/hardening.md).
        if let Some(reason) = crate::validate::protected_path(&name, false) {
            return Err(std::io::Error::other(format!("{PROTECTED}`{path}`: {reason}")));
        }
        let ty = e.file_type()?;
        if ty.is_symlink() {
            out.push((path, Some(std::fs::read_link(e.path())?)));
        } else if ty.is_dir() {
            walk(context, &path, ignore, out)?;
        } else {
            out.push((path, None));
        }
    }
    Ok(())
}

/// The digest of one file's bytes, or of a directory: every file's relative
/// path, mode bit for executables and content. The path must stay inside
/// the context once links are resolved, and be a regular file or a
/// directory (`fs::open_in`).
fn digest(context: &Path, path: &str, ignore: &Ignore) -> std::io::Result<Input> {
    let real = super::fs::resolve_in(&context.join(path), Some(&super::fs::real(context)))?;
    if !std::fs::symlink_metadata(&real)?.is_dir() {
        return Ok(Input { digest: file_digest(&real)?, is_dir: false });
    }
    let mut files = Vec::new();
    walk(context, path, ignore, &mut files)?;
    let mut parts: Vec<Vec<u8>> = Vec::new();
    for (f, link) in &files {
        parts.push(f.as_bytes()[path.len() + 1..].to_vec());
        match link {
            Some(target) => parts.push([b"link:".as_slice(), target.as_os_str().as_encoded_bytes()].concat()),
            None => parts.push(file_digest(&context.join(f))?.into_bytes()),
        }
    }
    Ok(Input { digest: crate::hash::digest_parts(parts.iter().map(Vec::as_slice)), is_dir: true })
}

/// The error text that starts a refusal of what is never copied.
const PROTECTED: &str = "never copied: ";

/// The error text that marks a private key found in an input.
const PRIVATE_KEY: &str = "holds a private key";

/// Files from this size on are hashed on several threads (blake3 splits the
/// input into chunks it hashes in parallel; the digest is the same).
const LARGE: u64 = 1 << 20;

/// Whether bytes hold a PEM private key (`-----BEGIN ... PRIVATE KEY-----`).
fn has_private_key(bytes: &[u8]) -> bool {
    bytes.windows(16).any(|w| w == b"PRIVATE KEY-----")
}

/// The digest of one file, `b3:<hex>` like [`crate::hash::digest`], read
/// through `fs::open_in` (regular files only, never a device or FIFO). A
/// file holding a private key is refused: it would land in a layer.
fn file_digest(path: &Path) -> std::io::Result<String> {
    let file = super::fs::open_in(path, None)?;
    if file.metadata()?.len() < LARGE {
        let bytes = super::fs::read_capped(file, LARGE * 2)?;
        if has_private_key(&bytes) {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, PRIVATE_KEY));
        }
        return Ok(crate::hash::digest(&bytes));
    }
    let mut hasher = blake3::Hasher::new();
    hasher.update_reader(file)?;
    Ok(format!("b3:{}", hasher.finalize().to_hex()))
}

/// Hashes every input, on as many threads as there are cores.
pub fn hash_inputs(context: &Path, uses: &[InputUse]) -> (Inputs, Diagnostics) {
    let ignore = context_ignore(context);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(uses.len().max(1));
    let chunk = uses.len().div_ceil(threads).max(1);
    let results: Vec<(usize, std::io::Result<Input>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = uses
            .chunks(chunk)
            .enumerate()
            .map(|(c, slice)| {
                let ignore = &ignore;
                scope.spawn(move || {
                    slice
                        .iter()
                        .enumerate()
                        .map(|(i, u)| (c * chunk + i, digest(context, &u.path, ignore)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    });
    let mut inputs = Inputs::default();
    let mut diagnostics = Diagnostics::default();
    for (i, result) in results {
        let u = &uses[i];
        match result {
            Ok(input) => {
                if ignore.excludes(&u.path) {
                    diagnostics.push(
                        Diagnostic::error(
                            Code::MissingInput,
                            format!("`{}` is excluded from the build context by its ignore file", u.path),
                        )
                        .label(u.span, "this step reads it")
                        .help("buildah would not see it: remove the pattern from `.containerignore` / `.dockerignore`"),
                    );
                    continue;
                }
                inputs.entries.insert(u.path.clone(), input);
            }
            Err(e) if e.to_string() == PRIVATE_KEY => diagnostics.push(
                Diagnostic::error(
                    Code::PrivateKey,
                    format!("`{}` holds a private key; it would be copied into the image", u.path),
                )
                .label(u.span, "this step puts it in a layer that anyone who pulls the image can read")
                .help("pass keys as build secrets (`signing { key = secret(\"ID\") }`); ship only public certificates"),
            ),
            Err(e) if e.to_string().starts_with(PROTECTED) => diagnostics.push(
                Diagnostic::error(
                    Code::ProtectedPath,
                    format!(
                        "`{}` holds what is never copied into an image: {}",
                        u.path,
                        &e.to_string()[PROTECTED.len()..]
                    ),
                )
                .label(u.span, "this step would copy it into a layer")
                .help("exclude it in `.containerignore`, or copy the files the image needs one by one"),
            ),
            Err(e) => diagnostics.push(
                Diagnostic::error(
                    Code::MissingInput,
                    format!("`{}` cannot be read from the build context: {}", u.path, reason(&e)),
                )
                .label(u.span, "this step reads it")
                .help("paths are relative to the recipe's directory; create the file or fix the path"),
            ),
        }
    }
    (inputs, diagnostics)
}

fn reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// `a/b/../c` made absolute against the current directory, lexically.
pub fn absolute(path: &Path) -> PathBuf {
    let joined =
        if path.is_absolute() { path.to_path_buf() } else { std::env::current_dir().unwrap_or_default().join(path) };
    crate::paths::normalize(&joined)
}
