//! Every file aidc reads goes through here (docs/hardening.md, "Reading"):
//! [`open_in`] opens regular files only, inside a root, checked on the
//! opened descriptor; [`read_capped`] reads at most a number of bytes. Also
//! the file-system [`Loader`], the search path from flags and `AID_PATH`,
//! and the default recipe discovery.
//!
//! The repository aidc runs on is hostile: a committed link may point at
//! `/proc/self/environ`, `~/.aws/credentials`, `/dev/zero` or a FIFO. So a
//! path is resolved (links followed) and must stay inside its root; the
//! resolved path is checked with `lstat` before it is opened (a device or
//! FIFO is never opened: opening some devices has effects), opened with
//! `O_NOFOLLOW | O_NONBLOCK` (a link swapped in meanwhile fails, a FIFO
//! swapped in does not block), and the descriptor is checked again with
//! `fstat`. Errors name the path and never its content.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::args::InputArgs;
use crate::resolve::{Loader, SearchPath};

/// Why a path was refused (the `io::Error` carries it as its inner error,
/// kind `Other`, so its text reaches diagnostics as is).
#[derive(Debug)]
pub enum Refusal {
    /// After resolving links the path lies outside its root.
    Outside { real: PathBuf, root: PathBuf },
    /// A directory, device, FIFO or socket where a file is read.
    NotRegular(&'static str),
    /// More bytes than the reader takes.
    TooLarge(u64),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Outside { real, root } => write!(
                f,
                "it resolves to `{}`, outside `{}` (a link that leaves the repository is not followed)",
                shown(real),
                shown(root)
            ),
            Refusal::NotRegular(what) => write!(f, "it is {what}, not a regular file"),
            Refusal::TooLarge(cap) => write!(f, "it is larger than the limit of {cap} bytes"),
        }
    }
}

impl std::error::Error for Refusal {}

/// A path for a message: lossy UTF-8 with control characters escaped, so
/// that a hostile file name cannot forge lines in a terminal or a log.
pub fn shown(path: &Path) -> String {
    path.to_string_lossy()
        .chars()
        .flat_map(|c| if c.is_control() { c.escape_default().collect::<Vec<_>>() } else { vec![c] })
        .collect()
}

fn refused(r: Refusal) -> io::Error {
    io::Error::other(r)
}

/// Whether an error is a [`Refusal`] (as opposed to a missing file).
#[allow(dead_code, reason = "for callers that tell refusals apart; the tests do")]
pub fn refusal(e: &io::Error) -> Option<&Refusal> {
    e.get_ref().and_then(|inner| inner.downcast_ref::<Refusal>())
}

/// What a file type is, in words, when it is not a regular file.
fn not_regular(ty: std::fs::FileType) -> Option<&'static str> {
    if ty.is_file() {
        None
    } else if ty.is_dir() {
        Some("a directory")
    } else if ty.is_symlink() {
        Some("a symbolic link")
    } else if ty.is_fifo() {
        Some("a FIFO")
    } else if ty.is_socket() {
        Some("a socket")
    } else if ty.is_char_device() || ty.is_block_device() {
        Some("a device")
    } else {
        Some("not a file")
    }
}

/// The real path of `root` (links resolved), or `root` made absolute when
/// it does not exist.
pub fn real(root: &Path) -> PathBuf {
    std::fs::canonicalize(root).unwrap_or_else(|_| super::digests::absolute(root))
}

/// `path` with every link resolved, refused when it leaves `root` (already
/// a real path; `None`: any root).
pub fn resolve_in(path: &Path, root: Option<&Path>) -> io::Result<PathBuf> {
    let resolved = std::fs::canonicalize(path)?;
    if let Some(root) = root
        && !resolved.starts_with(root)
    {
        return Err(refused(Refusal::Outside { real: resolved, root: root.to_path_buf() }));
    }
    Ok(resolved)
}

/// Opens the regular file at `path` for reading, refusing a path that
/// leaves `root` once links are resolved, and anything but a regular file
/// (never opening it). The one way aidc opens a file it reads.
pub fn open_in(path: &Path, root: Option<&Path>) -> io::Result<File> {
    let resolved = resolve_in(path, root)?;
    // No link is left in `resolved`; lstat tells the type without opening.
    if let Some(what) = not_regular(std::fs::symlink_metadata(&resolved)?.file_type()) {
        return Err(refused(Refusal::NotRegular(what)));
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(
            (rustix::fs::OFlags::NOFOLLOW
                | rustix::fs::OFlags::NONBLOCK
                | rustix::fs::OFlags::NOCTTY
                | rustix::fs::OFlags::CLOEXEC)
                .bits() as i32,
        )
        .open(&resolved)?;
    // The path may have been swapped between lstat and open: the descriptor decides.
    if let Some(what) = not_regular(file.metadata()?.file_type()) {
        return Err(refused(Refusal::NotRegular(what)));
    }
    Ok(file)
}

/// Reads all of `file`, refusing more than `cap` bytes (counted as read,
/// not taken from the metadata: `/proc` files say 0, files grow).
pub fn read_capped(file: File, cap: u64) -> io::Result<Vec<u8>> {
    // The size only sizes the buffer (one `read` for the whole file instead
    // of a growing series); the cap is still counted as read.
    let hint = file.metadata().map_or(0, |m| m.len()).min(cap);
    let mut bytes = Vec::with_capacity(hint as usize + 1);
    file.take(cap + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(refused(Refusal::TooLarge(cap)));
    }
    Ok(bytes)
}

/// Reads the regular file at `path` inside `root`, at most `cap` bytes.
pub fn read_in(path: &Path, root: Option<&Path>, cap: u64) -> io::Result<Vec<u8>> {
    read_capped(open_in(path, root)?, cap)
}

/// Reads modules from disk, relative to the current directory. Each file
/// must lie, links resolved, inside one of `roots` (real paths: the
/// repository roots of the entries, the `--lib` / `AID_PATH` directories,
/// `--stdlib`); an empty list allows any path (tests, embedders).
pub struct FsLoader {
    pub roots: Vec<PathBuf>,
}

impl FsLoader {
    /// The loader for these entry files and search path: the repository
    /// root of each entry (found from its real directory), and each library
    /// directory the caller named.
    pub fn for_entries(entries: &[PathBuf], search: &SearchPath) -> FsLoader {
        let mut roots: Vec<PathBuf> = entries.iter().map(|e| repository_root(&recipe_dir(e))).collect();
        roots.extend(search.lib_dirs.iter().map(|d| real(d)));
        roots.extend(search.stdlib_dir.iter().map(|d| real(d)));
        roots.sort();
        roots.dedup();
        FsLoader { roots }
    }
}

impl Loader for FsLoader {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let resolved = std::fs::canonicalize(path)?;
        let root = if self.roots.is_empty() {
            None
        } else {
            match self.roots.iter().find(|r| resolved.starts_with(r)) {
                Some(r) => Some(r.as_path()),
                None => {
                    // Name the nearest root: the entry's repository.
                    return Err(refused(Refusal::Outside { real: resolved, root: self.roots[0].clone() }));
                }
            }
        };
        // One byte over the parser's limit is enough for it to refuse the
        // file (`aid::parse::file_too_large`); the rest is never read.
        let file = open_in(&resolved, root)?;
        let cap = crate::syntax::MAX_FILE_SIZE as u64 + 1;
        let mut bytes = Vec::with_capacity(file.metadata().map_or(0, |m| m.len()).min(cap) as usize + 1);
        file.take(cap).read_to_end(&mut bytes)?;
        Ok(bytes)
    }
}

/// The directory of a recipe (`.` for a bare file name).
pub fn recipe_dir(recipe: &Path) -> PathBuf {
    recipe.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf()
}

/// The repository root of a directory: the nearest directory above its
/// real path (links resolved, so that a recipe reached through a linked
/// directory is placed the same) holding `.git`, else that real path.
pub fn repository_root(dir: &Path) -> PathBuf {
    let start = real(dir);
    let mut at: Option<&Path> = Some(&start);
    while let Some(d) = at {
        if std::fs::symlink_metadata(d.join(".git")).is_ok() {
            return d.to_path_buf();
        }
        at = d.parent();
    }
    start
}

/// `--stdlib`, `--lib` and `AID_PATH` (colon-separated) as a search path.
pub fn search_path(args: &InputArgs) -> SearchPath {
    let mut lib_dirs: Vec<PathBuf> = args.lib.clone();
    if let Some(path) = std::env::var_os("AID_PATH") {
        lib_dirs.extend(std::env::split_paths(&path).filter(|p| !p.as_os_str().is_empty()));
    }
    SearchPath { stdlib_dir: args.stdlib.clone(), lib_dirs }
}

/// The `*.aid` files of the current directory, sorted, when none are given:
/// regular files, and links that resolve to a regular file inside this
/// directory (a link that leaves it is skipped, never read).
pub fn default_files() -> io::Result<Vec<PathBuf>> {
    let here = real(Path::new("."));
    let mut files: Vec<PathBuf> = std::fs::read_dir(".")?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "aid"))
        .filter(|p| {
            resolve_in(p, Some(&here))
                .ok()
                .and_then(|r| std::fs::symlink_metadata(r).ok())
                .is_some_and(|m| m.file_type().is_file())
        })
        .map(|p| p.strip_prefix("./").map(Path::to_path_buf).unwrap_or(p))
        .collect();
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_inside_the_root_are_read() {
        let tmp = tempfile::tempdir().unwrap();
        let root = real(tmp.path());
        let inside = root.join("repo");
        std::fs::create_dir(&inside).unwrap();
        std::fs::write(root.join("secret"), "TOKEN").unwrap();
        std::fs::write(inside.join("ok.aid"), "x").unwrap();
        std::os::unix::fs::symlink("../secret", inside.join("out.aid")).unwrap();
        std::os::unix::fs::symlink("ok.aid", inside.join("in.aid")).unwrap();
        std::os::unix::fs::symlink("/dev/zero", inside.join("zero.aid")).unwrap();
        let fifo = std::ffi::CString::new(inside.join("fifo.aid").as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
        let read = |name: &str| read_in(&inside.join(name), Some(&inside), 4);
        assert_eq!(read("ok.aid").unwrap(), b"x");
        assert_eq!(read("in.aid").unwrap(), b"x");
        let outside = read("out.aid").unwrap_err();
        assert!(matches!(refusal(&outside), Some(Refusal::Outside { .. })), "{outside}");
        assert!(!outside.to_string().contains("TOKEN"));
        assert!(matches!(refusal(&read("zero.aid").unwrap_err()), Some(Refusal::Outside { .. })));
        assert!(matches!(refusal(&read("fifo.aid").unwrap_err()), Some(Refusal::NotRegular("a FIFO"))));
        assert!(matches!(
            refusal(&read_in(Path::new("/dev/zero"), None, 4).unwrap_err()),
            Some(Refusal::NotRegular(_))
        ));
        std::fs::write(inside.join("big"), "12345").unwrap();
        assert!(matches!(refusal(&read("big").unwrap_err()), Some(Refusal::TooLarge(4))));
    }
}
