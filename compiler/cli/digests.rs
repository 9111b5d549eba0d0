//! Hashing the build-context inputs a model reads: files whole, directories
//! recursively (honouring `.containerignore` / `.dockerignore` at the
//! context root, as buildah does; inner links as links, as `cp -a` copies
//! them). Every file is read once, streamed, hashed and scanned for private
//! keys in the same pass (`keyscan.rs`), whatever its size; the digest cache
//! (`digest_cache.rs`) skips files that did not change since they were read.
//! Threads only when there is much to read.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use super::digest_cache::{self, Cache, Entry, Stat};
use super::ignore::Ignore;
use super::keyscan;
use crate::diag::{Code, Diagnostic, Diagnostics, Outcome};
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

/// Whether the digest cache is written back (`compile`) or only read
/// (`check`, `compile --check`, which write nothing).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum CacheMode {
    ReadOnly,
    ReadWrite,
}

/// Opens the regular file at `path`, refusing one that resolves outside
/// `root` (a real path) and anything but a regular file, checked on the
/// descriptor. The one place this module opens a file.
pub fn open_regular(path: &Path, root: &Path) -> std::io::Result<File> {
    super::fs::open_in(path, Some(root))
}

/// One entry of a walked directory (relative to the context).
enum Walked {
    File(String),
    /// A link, kept as a link: its target.
    Link(String, String),
}

/// Every file and link under `rel` (relative to the context), sorted, not
/// ignored, the digest cache left out. Links are not followed.
fn walk(context: &Path, rel: &str, ignore: &Ignore, out: &mut Vec<Walked>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(context.join(rel))?.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        let path = format!("{rel}/{name}");
        if ignore.excludes(&path) || name == digest_cache::NAME {
            continue;
        }
        // What is never copied, by what a directory holds too (docs/hardening.md).
        if let Some(reason) = crate::validate::protected_path(&name, false) {
            return Err(std::io::Error::other(format!("{PROTECTED}`{path}`: {reason}")));
        }
        let ty = e.file_type()?;
        if ty.is_dir() {
            walk(context, &path, ignore, out)?;
        } else if ty.is_symlink() {
            let target = std::fs::read_link(e.path())?;
            out.push(Walked::Link(path, target.to_string_lossy().into_owned()));
        } else {
            out.push(Walked::File(path));
        }
    }
    Ok(())
}

/// The error text that starts a refusal of what is never copied.
const PROTECTED: &str = "never copied: ";

/// Why an input cannot be used.
enum Failure {
    Io(std::io::Error),
    /// `file` (relative to the context) holds a private key.
    Key {
        file: String,
        found: keyscan::Found,
    },
}

/// Files from this size on are hashed on several threads (blake3 splits the
/// input into chunks it hashes in parallel; the digest is the same).
const LARGE: u64 = 8 << 20;

/// The context, its real path and its ignore file.
struct Context<'a> {
    dir: &'a Path,
    real: PathBuf,
    ignore: Ignore,
}

/// A file opened for hashing, and its stat on the descriptor.
struct Opened {
    rel: String,
    file: File,
    stat: Stat,
}

/// Reads one opened file: digest and key scan in one pass.
fn read(o: Opened) -> (Opened, std::io::Result<Entry>) {
    let mut hasher = blake3::Hasher::new();
    let large = o.stat.size >= LARGE;
    let mut file = &o.file;
    let found = keyscan::stream(&mut file, &mut |chunk| {
        if large {
            hasher.update_rayon(chunk);
        } else {
            hasher.update(chunk);
        }
    });
    let entry = found.map(|found| Entry {
        stat: o.stat,
        digest: found.is_none().then(|| format!("b3:{}", hasher.finalize().to_hex())),
        key: found.map(|f| format!("{}@{}", f.kind, f.offset)),
    });
    (o, entry)
}

impl Context<'_> {
    fn open(&self, rel: &str) -> std::io::Result<Opened> {
        let file = open_regular(&self.dir.join(rel), &self.real)?;
        let stat = Stat::of(&file.metadata()?);
        Ok(Opened { rel: rel.to_string(), file, stat })
    }
}

/// What an input needs: whether it is a directory, and its entries in walk
/// order (a file alone for a file).
struct Plan {
    is_dir: bool,
    entries: Vec<Walked>,
}

impl Plan {
    fn files(&self) -> impl Iterator<Item = &String> {
        self.entries.iter().filter_map(|w| match w {
            Walked::File(f) => Some(f),
            Walked::Link(..) => None,
        })
    }
}

fn plan(ctx: &Context, path: &str) -> std::io::Result<Plan> {
    if path.rsplit('/').next() == Some(digest_cache::NAME) {
        return Err(std::io::Error::other("it is aidc's digest cache, never an input"));
    }
    let resolved = std::fs::canonicalize(ctx.dir.join(path))?;
    let Ok(real_rel) = resolved.strip_prefix(&ctx.real) else {
        return Err(std::io::Error::other("it resolves to a path outside the build context"));
    };
    // What is never copied, by where the path leads: a link `cfg -> .git/config`
    // or `x -> .env` is refused as the path it names would be. An `.env` the
    // recipe names itself has passed `dotenv("…")`'s opt-in (resolve refuses
    // it otherwise); through a link of another name it is refused.
    let real_rel = real_rel.to_string_lossy();
    let env_ok = crate::validate::protected_path(path, false).is_some();
    if let Some(reason) = crate::validate::protected_path(&real_rel, env_ok) {
        return Err(std::io::Error::other(format!("{PROTECTED}`{real_rel}`: {reason}")));
    }
    if real_rel.rsplit('/').next() == Some(digest_cache::NAME) {
        return Err(std::io::Error::other("it is aidc's digest cache, never an input"));
    }
    if !std::fs::metadata(&resolved)?.is_dir() {
        return Ok(Plan { is_dir: false, entries: vec![Walked::File(path.to_string())] });
    }
    let mut entries = Vec::new();
    walk(ctx.dir, path, &ctx.ignore, &mut entries)?;
    Ok(Plan { is_dir: true, entries })
}

/// Hashes every input, through the digest cache of `context`: the digests
/// of the inputs that could be read, and a diagnostic for each that could not.
pub fn hash_inputs(context: &Path, uses: &[InputUse], mode: CacheMode) -> Outcome<Inputs> {
    let ctx = Context {
        dir: context,
        real: std::fs::canonicalize(context).unwrap_or_else(|_| absolute(context)),
        ignore: context_ignore(context),
    };
    let plans: Vec<std::io::Result<Plan>> = uses.iter().map(|u| plan(&ctx, &u.path)).collect();
    let mut cache = if uses.is_empty() { Cache::default() } else { Cache::load(&ctx.real) };

    // Every file once (a file may be named by several inputs): cached, or to read.
    let mut results: BTreeMap<String, Result<Entry, Failure>> = BTreeMap::new();
    let mut misses: Vec<Opened> = Vec::new();
    for p in plans.iter().flatten() {
        for f in p.files() {
            if results.contains_key(f) || misses.iter().any(|m| m.rel == *f) {
                continue;
            }
            match ctx.open(f) {
                Err(e) => {
                    results.insert(f.clone(), Err(Failure::Io(e)));
                }
                Ok(o) => match cache.get(f, &o.stat) {
                    Some(e) => {
                        results.insert(f.clone(), Ok(e));
                    }
                    None => misses.push(o),
                },
            }
        }
    }
    // The cache file is created before anything is read (`digest_cache::Writer`).
    let writer = match (mode, misses.is_empty()) {
        (CacheMode::ReadWrite, false) => digest_cache::Writer::create(&ctx.real).ok(),
        _ => None,
    };
    for (o, entry) in read_all(misses) {
        let after = o.file.metadata().map(|m| Stat::of(&m));
        match entry {
            Ok(e) => {
                // A file that changed while it was read (or too recently) is not cached.
                if after.as_ref().is_ok_and(|s| *s == o.stat) && writer.as_ref().is_none_or(|w| w.keeps(&o.stat)) {
                    cache.put(&o.rel, e.clone());
                } else {
                    cache.forget(&o.rel);
                }
                results.insert(o.rel, Ok(e));
            }
            Err(e) => {
                results.insert(o.rel, Err(Failure::Io(e)));
            }
        }
    }
    if let Some(w) = writer {
        if cache.changed() {
            let _ = w.finish(cache);
        } else {
            w.abandon();
        }
    }

    let mut inputs = Inputs::default();
    let mut diagnostics = Diagnostics::default();
    for (u, p) in uses.iter().zip(plans) {
        let input = p.map_err(Failure::Io).and_then(|p| digest(&p, &u.path, &results));
        match input {
            Ok(input) => {
                if ctx.ignore.excludes(&u.path) {
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
            Err(Failure::Key { file, found }) => {
                let which = if file == u.path { String::new() } else { format!(" (in `{}`)", u.path) };
                diagnostics.push(
                    Diagnostic::error(
                        Code::PrivateKey,
                        format!(
                            "`{file}`{which} holds {} (at byte {}); it would be copied into the image",
                            found.kind, found.offset
                        ),
                    )
                    .label(u.span, "this step puts it in a layer that anyone who pulls the image can read")
                    .help("pass keys as build secrets (`signing { key = secret(\"ID\") }`); ship only public certificates"),
                )
            }
            Err(Failure::Io(e)) if e.to_string().starts_with(PROTECTED) => diagnostics.push(
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
            Err(Failure::Io(e)) => diagnostics.push(
                Diagnostic::error(
                    Code::MissingInput,
                    format!("`{}` cannot be read from the build context: {}", u.path, reason(&e)),
                )
                .label(u.span, "this step reads it")
                .help("paths are relative to the recipe's directory; create the file or fix the path"),
            ),
        }
    }
    Outcome::ok(inputs, diagnostics)
}

/// Reads every missed file: on this thread when there is little to read,
/// else spread over the cores (largest files first).
fn read_all(mut misses: Vec<Opened>) -> Vec<(Opened, std::io::Result<Entry>)> {
    let total: u64 = misses.iter().map(|o| o.stat.size).sum();
    if total < 4 * LARGE {
        return misses.into_iter().map(read).collect();
    }
    // Asked only now: finding the cores reads the cgroup's CPU quota.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(misses.len());
    if threads <= 1 {
        return misses.into_iter().map(read).collect();
    }
    misses.sort_by_key(|o| std::cmp::Reverse(o.stat.size));
    let mut lanes: Vec<Vec<Opened>> = (0..threads).map(|_| Vec::new()).collect();
    let mut load = vec![0u64; threads];
    for o in misses {
        let lane = (0..threads).min_by_key(|&i| load[i]).unwrap_or(0);
        load[lane] += o.stat.size;
        lanes[lane].push(o);
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> =
            lanes.into_iter().map(|lane| scope.spawn(move || lane.into_iter().map(read).collect::<Vec<_>>())).collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    })
}

/// The digest of an input from its files' results: a file's own digest, or
/// for a directory every file's relative path and digest (and every link's
/// path and target), in walk order.
fn digest(p: &Plan, path: &str, results: &BTreeMap<String, Result<Entry, Failure>>) -> Result<Input, Failure> {
    let file_digest = |f: &String| -> Result<String, Failure> {
        match results.get(f) {
            Some(Ok(Entry { key: Some(key), .. })) => {
                let (kind, offset) = key.rsplit_once('@').unwrap_or((key, "0"));
                let kind = keyscan::KINDS.iter().find(|k| **k == kind).copied().unwrap_or("a private key");
                Err(Failure::Key {
                    file: f.clone(),
                    found: keyscan::Found { kind, offset: offset.parse().unwrap_or(0) },
                })
            }
            Some(Ok(Entry { digest: Some(d), .. })) => Ok(d.clone()),
            Some(Err(Failure::Io(e))) => Err(Failure::Io(std::io::Error::new(e.kind(), e.to_string()))),
            _ => Err(Failure::Io(std::io::Error::other("it was not read"))),
        }
    };
    let mut parts: Vec<Vec<u8>> = Vec::new();
    for w in &p.entries {
        match w {
            Walked::File(f) if !p.is_dir => return Ok(Input { digest: file_digest(f)?, is_dir: false }),
            Walked::File(f) => {
                parts.push(f.as_bytes()[path.len() + 1..].to_vec());
                parts.push(file_digest(f)?.into_bytes());
            }
            Walked::Link(l, target) => {
                parts.push(l.as_bytes()[path.len() + 1..].to_vec());
                parts.push([b"link:".as_slice(), target.as_bytes()].concat());
            }
        }
    }
    Ok(Input { digest: crate::hash::digest_parts(parts.iter().map(Vec::as_slice)), is_dir: true })
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
