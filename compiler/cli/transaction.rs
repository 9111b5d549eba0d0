//! Writing every output directory of a compile all-or-nothing.
//!
//! Each directory that changes is built complete beside itself (unchanged
//! files hard-linked, not rewritten; in shared directories, the files that
//! are not aidc's linked over as they are), then swapped in with one
//! `renameat2(RENAME_EXCHANGE)`. One directory is one atomic swap. Several
//! (the output directory, `.tekton/`, `konflux/`) cannot be swapped in one
//! step, nor one where the file system lacks the exchange, so the swaps are
//! a transaction: a journal naming every staged tree (by path and inode) is
//! written first, atomically, and is the commit point. Killed before it, the old outputs stand untouched; killed after
//! it, the next compile finishes the swaps the journal names before it does
//! anything else. A lock on the repository root keeps two compiles from
//! interleaving.

use std::fs::File;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::outputs::{Changes, Kind, OutputDir};

/// The journal of a commit in progress, in the lock's directory.
pub const JOURNAL: &str = ".aidc-journal.json";

/// Held while outputs under a root are read or written.
pub struct Lock {
    _dir: File,
}

/// Locks `root` (blocking while another aidc holds it).
pub fn lock(root: &Path) -> io::Result<Lock> {
    let dir = File::open(root)?;
    rustix::fs::flock(&dir, rustix::fs::FlockOperation::LockExclusive)?;
    Ok(Lock { _dir: dir })
}

#[derive(Serialize, Deserialize)]
struct Journal {
    version: u32,
    swaps: Vec<Swap>,
}

const JOURNAL_VERSION: u32 = 1;

/// One staged tree: where it goes, where it is, and its inode (which tells,
/// after a kill, whether the swap happened). Paths are bytes (a path need
/// not be UTF-8), relative to the journal's directory when inside it.
#[derive(Serialize, Deserialize)]
struct Swap {
    target: Vec<u8>,
    staged: Vec<u8>,
    inode: u64,
}

fn encode(root: &Path, path: &Path) -> Vec<u8> {
    path.strip_prefix(root).unwrap_or(path).as_os_str().as_bytes().to_vec()
}

fn decode(root: &Path, bytes: &[u8]) -> PathBuf {
    root.join(std::ffi::OsStr::from_bytes(bytes))
}

/// A staged directory, ready to swap in.
pub struct Staged {
    target: PathBuf,
    staged: PathBuf,
}

/// Whether a journal of an interrupted commit lies under `root`.
pub fn interrupted(root: &Path) -> bool {
    root.join(JOURNAL).exists()
}

/// Finishes the commit a killed compile left under `root`, if any; returns
/// whether there was one.
pub fn recover(root: &Path) -> io::Result<bool> {
    remove_temporary_journals(root);
    let path = root.join(JOURNAL);
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    // Written whole through a rename: it is complete or absent.
    let journal: Journal = serde_json::from_slice(&text)
        .map_err(|e| io::Error::other(format!("{} is not a journal aidc wrote: {e}", path.display())))?;
    if journal.version != JOURNAL_VERSION {
        return Err(io::Error::other(format!(
            "{} was written by another version of aidc (journal version {}); finish with that version, or remove it",
            path.display(),
            journal.version
        )));
    }
    for swap in &journal.swaps {
        let target = decode(root, &swap.target);
        let staged = decode(root, &swap.staged);
        if inode(&target) != Some(swap.inode) {
            if inode(&staged) != Some(swap.inode) {
                return Err(io::Error::other(format!(
                    "cannot finish the interrupted compile: neither `{}` nor `{}` is the tree it staged; remove {} and compile again",
                    target.display(),
                    staged.display(),
                    path.display()
                )));
            }
            swap_in(&staged, &target)?;
        }
        remove_tree(&staged)?;
    }
    std::fs::remove_file(&path)?;
    Ok(true)
}

/// Journals a killed compile was still writing (before the commit point).
fn remove_temporary_journals(root: &Path) {
    let prefix = format!("{JOURNAL}.aidc-new-");
    if let Ok(entries) = std::fs::read_dir(root) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// Where a directory really is: a symbolic link (`.tekton -> ci/tekton`)
/// is followed, so that the link stays and what it points to is replaced.
pub fn resolve_links(path: &Path) -> PathBuf {
    let mut path = path.to_path_buf();
    for _ in 0..40 {
        let Ok(meta) = std::fs::symlink_metadata(&path) else { break };
        if !meta.file_type().is_symlink() {
            break;
        }
        let Ok(dest) = std::fs::read_link(&path) else { break };
        path = match path.parent() {
            Some(parent) if dest.is_relative() => parent.join(dest),
            _ => dest,
        };
    }
    path
}

fn inode(path: &Path) -> Option<u64> {
    std::fs::symlink_metadata(path).ok().map(|m| m.ino())
}

fn remove_tree(path: &Path) -> io::Result<()> {
    match std::fs::remove_dir_all(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// `.NAME.aidc-new-PID` beside `target`.
fn staging_path(target: &Path, what: &str) -> PathBuf {
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
    target.with_file_name(format!(".{name}.aidc-{what}-{}", std::process::id()))
}

/// Removes what killed compiles left beside `target`: staged trees no
/// journal names (the lock is held, so no running compile owns them).
fn remove_leftovers(target: &Path) {
    let (Some(parent), Some(name)) = (target.parent(), target.file_name()) else { return };
    let name = name.to_string_lossy();
    let (new, old) = (format!(".{name}.aidc-new-"), format!(".{name}.aidc-old-"));
    if let Ok(entries) = std::fs::read_dir(parent) {
        for e in entries.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.starts_with(&new) || n.starts_with(&old) {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
}

/// Builds the new tree of `dir` beside it (beside what a link points to,
/// when `dir` is one). `changes` must have no conflicts.
pub fn stage(dir: &OutputDir, changes: &Changes) -> io::Result<Staged> {
    let target = resolve_links(&dir.path);
    remove_leftovers(&target);
    let staged = staging_path(&target, "new");
    let result = (|| {
        std::fs::create_dir_all(&staged)?;
        if let Ok(meta) = std::fs::metadata(&target) {
            std::fs::set_permissions(&staged, meta.permissions())?;
        }
        // aidc's files first, each made new (never written through a link,
        // or into a hard link of someone else's file); then what is not
        // aidc's, as it is.
        for (path, content) in &dir.files {
            let to = staged.join(path);
            if let Some(p) = to.parent() {
                std::fs::create_dir_all(p)?;
            }
            if changes.unchanged.contains(path) && std::fs::hard_link(target.join(path), &to).is_ok() {
                continue;
            }
            let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(&to)?;
            io::Write::write_all(&mut file, content.as_bytes())?;
            if path.ends_with(".sh") {
                use std::os::unix::fs::PermissionsExt;
                file.set_permissions(std::fs::Permissions::from_mode(0o755))?;
            }
        }
        let mut dirs = Vec::new();
        for entry in &changes.kept {
            let (from, to) = (target.join(&entry.path), staged.join(&entry.path));
            match entry.kind {
                Kind::Dir => {
                    std::fs::create_dir_all(&to)?;
                    dirs.push((to, std::fs::symlink_metadata(&from)?.permissions()));
                }
                Kind::Symlink => std::os::unix::fs::symlink(std::fs::read_link(&from)?, &to)?,
                Kind::File => link_or_copy(&from, &to)?,
                Kind::Other => std::fs::hard_link(&from, &to)?,
            }
        }
        // Modes last, deepest first: a read-only directory is filled before it is closed.
        for (dir, mode) in dirs.into_iter().rev() {
            std::fs::set_permissions(dir, mode)?;
        }
        Ok(())
    })();
    match result {
        Ok(()) => Ok(Staged { target, staged }),
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staged);
            Err(e)
        }
    }
}

fn link_or_copy(from: &Path, to: &Path) -> io::Result<()> {
    if std::fs::hard_link(from, to).is_ok() {
        return Ok(());
    }
    std::fs::copy(from, to).map(|_| ())
}

/// Drops staged trees that will not be committed.
pub fn abandon(staged: Vec<Staged>) {
    for s in staged {
        let _ = std::fs::remove_dir_all(&s.staged);
    }
}

/// Swaps every staged tree in, through a journal under `root` (see the
/// module documentation). One tree would need no journal where the file
/// system exchanges directories atomically, but the fallback of three
/// renames does, and a journal costs one small file.
pub fn commit(root: &Path, staged: Vec<Staged>) -> io::Result<()> {
    let mut swaps = Vec::new();
    for s in &staged {
        let Some(inode) = inode(&s.staged) else {
            abandon(staged);
            return Err(io::Error::other("a staged tree vanished"));
        };
        swaps.push(Swap { target: encode(root, &s.target), staged: encode(root, &s.staged), inode });
    }
    let journal = serde_json::to_vec_pretty(&Journal { version: JOURNAL_VERSION, swaps }).map_err(io::Error::other)?;
    let tmp = root.join(format!("{JOURNAL}.aidc-new-{}", std::process::id()));
    if let Err(e) = std::fs::write(&tmp, &journal).and_then(|()| std::fs::rename(&tmp, root.join(JOURNAL))) {
        let _ = std::fs::remove_file(&tmp);
        abandon(staged);
        return Err(e);
    }
    // Committed: from here on an error leaves the journal for the next compile.
    for (i, s) in staged.iter().enumerate() {
        swap_in(&s.staged, &s.target)?;
        failpoint("swap", i + 1);
    }
    for s in &staged {
        remove_tree(&s.staged)?;
    }
    std::fs::remove_file(root.join(JOURNAL))
}

/// For the atomicity tests, in builds with the `failpoints` feature: with
/// `AIDC_FAILPOINT=swap:N`, the process kills itself (SIGKILL, as a user or
/// CI would) after the Nth swap. Release builds have no such hook.
#[cfg(feature = "failpoints")]
fn failpoint(name: &str, n: usize) {
    if std::env::var("AIDC_FAILPOINT").is_ok_and(|v| v == format!("{name}:{n}")) {
        let _ = rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::KILL);
    }
}

#[cfg(not(feature = "failpoints"))]
fn failpoint(_name: &str, _n: usize) {}

/// Puts the tree at `staged` at `target`; the old tree, if any, ends at `staged`.
fn swap_in(staged: &Path, target: &Path) -> io::Result<()> {
    if std::fs::symlink_metadata(target).is_err() {
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        return std::fs::rename(staged, target);
    }
    match exchange(staged, target) {
        Ok(()) => Ok(()),
        Err(_) => {
            // No RENAME_EXCHANGE (an old kernel or a file system without it): three renames.
            let old = staging_path(target, "old");
            std::fs::rename(target, &old)?;
            std::fs::rename(staged, target)?;
            std::fs::rename(&old, staged)
        }
    }
}

fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    Ok(renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE)?)
}
