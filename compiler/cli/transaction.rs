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
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::outputs::{Changes, FILE_MODE, Kind, OutputDir, file_mode};

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

/// 2: a staged tree is named by its file name beside its target, with the
/// device and inode it had when aidc created it (1 had free paths).
const JOURNAL_VERSION: u32 = 2;

/// The most a journal may hold: a few lines per output directory.
const JOURNAL_CAP: u64 = 64 * 1024;

/// One staged tree (docs/output.md, "The journal"): `target` is the output
/// directory's real path relative to the journal's directory (the
/// repository root), `staged` the file name of the tree aidc created beside
/// it (`.NAME.aidc-new-PID`), `device` and `inode` that tree's, taken when
/// aidc created it. After a kill, the inode tells whether the swap
/// happened. Paths are bytes: a path need not be UTF-8.
#[derive(Serialize, Deserialize)]
struct Swap {
    target: Vec<u8>,
    staged: Vec<u8>,
    device: u64,
    inode: u64,
}

/// A staged directory, ready to swap in.
pub struct Staged {
    target: PathBuf,
    staged: PathBuf,
    /// Device and inode of `staged`, from the descriptor of the directory
    /// aidc created.
    id: (u64, u64),
}

/// One swap of a journal, checked: both paths are where aidc stages.
struct Checked {
    target: PathBuf,
    staged: PathBuf,
    id: (u64, u64),
}

/// Reads and checks the journal under `root` (a real path) without acting
/// on it: `Ok(None)` when there is none; an error, which deletes nothing,
/// when it is not a journal aidc can have written.
fn read_journal(root: &Path) -> io::Result<Option<Vec<Checked>>> {
    let path = root.join(JOURNAL);
    let meta = match std::fs::symlink_metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let foreign = |why: String| {
        io::Error::other(format!(
            "`{JOURNAL}` is not a journal aidc wrote ({why}); aidc did not act on it and removed nothing. \
             Compiles stop while it is there: if no aidc was killed here, it came with the repository"
        ))
    };
    if !meta.file_type().is_file() {
        return Err(foreign("it is not a regular file".into()));
    }
    let text = super::fs::read_in(&path, Some(root), JOURNAL_CAP).map_err(|e| foreign(e.to_string()))?;
    // Written whole through a rename: after a kill it is complete or absent.
    // A power loss may leave it empty or garbled (it is not fsynced): refused
    // like any other, with a word on what to do.
    let journal: Journal = serde_json::from_slice(&text).map_err(|e| {
        foreign(format!(
            "not JSON of its form: {e}; a power loss right after a compile can also leave it empty or garbled, \
             and then removing it is all there is to do"
        ))
    })?;
    if journal.version != JOURNAL_VERSION {
        return Err(io::Error::other(format!(
            "`{JOURNAL}` was written by another version of aidc (journal version {}); finish with that version, \
             or, if no compile was killed here, it came with the repository: aidc did not act on it",
            journal.version
        )));
    }
    journal.swaps.iter().map(|s| check_swap(root, s).map_err(foreign)).collect::<Result<Vec<_>, _>>().map(Some)
}

/// Whether `c` is a byte aidc never writes in a path it journals.
fn control(c: u8) -> bool {
    c < 0x20 || c == 0x7f
}

/// Checks one swap: `target` a relative path of plain names below `root`
/// with no link on the way (aidc journals real paths), a directory or
/// absent; `staged` exactly the name aidc gives a staged tree beside it,
/// a directory or absent.
fn check_swap(root: &Path, swap: &Swap) -> Result<Checked, String> {
    let shown = |b: &[u8]| String::from_utf8_lossy(b).escape_debug().to_string();
    let parts: Vec<&[u8]> = swap.target.split(|b| *b == b'/').collect();
    if swap.target.is_empty()
        || parts.iter().any(|p| p.is_empty() || *p == b"." || *p == b".." || p.iter().any(|c| control(*c)))
    {
        return Err(format!("the target `{}` is not a plain path inside the repository", shown(&swap.target)));
    }
    let name = parts[parts.len() - 1];
    let expected_prefix = [b".", name, b".aidc-new-"].concat();
    let pid = swap.staged.strip_prefix(expected_prefix.as_slice());
    if !pid.is_some_and(|p| !p.is_empty() && p.len() <= 10 && p.iter().all(u8::is_ascii_digit)) {
        return Err(format!(
            "the staged tree `{}` is not named as aidc names one beside `{}`",
            shown(&swap.staged),
            shown(&swap.target)
        ));
    }
    let target = root.join(std::ffi::OsStr::from_bytes(&swap.target));
    let staged = target.with_file_name(std::ffi::OsStr::from_bytes(&swap.staged));
    // Every directory on the way is a real directory (no link to leave by).
    let mut at = root.to_path_buf();
    for part in &parts[..parts.len() - 1] {
        at.push(std::ffi::OsStr::from_bytes(part));
        match std::fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_dir() => {}
            _ => return Err(format!("`{}` is not a directory inside the repository", shown(&swap.target))),
        }
    }
    for p in [&target, &staged] {
        match std::fs::symlink_metadata(p) {
            Ok(m) if !m.file_type().is_dir() => {
                return Err(format!("`{}` is not a directory", super::fs::shown(p.strip_prefix(root).unwrap_or(p))));
            }
            _ => {}
        }
    }
    Ok(Checked { target, staged, id: (swap.device, swap.inode) })
}

/// Checks the journal under `root` without acting on it (for `--check`):
/// `Ok(true)` when a valid one is there (the next compile finishes it).
pub fn check_journal(root: &Path) -> io::Result<bool> {
    Ok(read_journal(root)?.is_some())
}

/// Finishes the commit a killed compile left under `root` (a real path),
/// if any; returns whether there was one. A journal aidc cannot have
/// written is refused before anything is touched.
pub fn recover(root: &Path) -> io::Result<bool> {
    // Read first: a refused journal leaves everything as it is, the
    // temporary journals beside it included.
    let journal = read_journal(root)?;
    remove_temporary_journals(root);
    let Some(swaps) = journal else { return Ok(false) };
    // Decide every swap before acting on any.
    let mut plan = Vec::new();
    for swap in &swaps {
        let done = id(&swap.target) == Some(swap.id);
        if !done && id(&swap.staged) != Some(swap.id) {
            return Err(io::Error::other(format!(
                "`{JOURNAL}` names trees of which neither `{}` nor `{}` is the one it staged (by inode): it is not a \
                 journal aidc wrote for these trees, and aidc removed nothing. If no aidc was killed here, `{JOURNAL}` came with the repository",
                super::fs::shown(swap.target.strip_prefix(root).unwrap_or(&swap.target)),
                super::fs::shown(swap.staged.strip_prefix(root).unwrap_or(&swap.staged)),
            )));
        }
        plan.push(done);
    }
    for (swap, done) in swaps.iter().zip(plan) {
        if !done {
            swap_in(&swap.staged, &swap.target)?;
        }
        // The old tree, now at the staged name aidc gave it.
        remove_tree(&swap.staged)?;
    }
    std::fs::remove_file(root.join(JOURNAL))?;
    Ok(true)
}

/// Journals a killed compile was still writing (before the commit point).
/// Only names aidc gives them (`.aidc-journal.json.aidc-new-PID`), and only
/// regular files.
fn remove_temporary_journals(root: &Path) {
    let prefix = format!("{JOURNAL}.aidc-new-");
    if let Ok(entries) = std::fs::read_dir(root) {
        for e in entries.flatten() {
            let name = e.file_name();
            let ours = name.as_bytes().strip_prefix(prefix.as_bytes()).is_some_and(is_pid);
            if ours && e.file_type().is_ok_and(|t| t.is_file()) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// Whether `digits` could be the process id that ends a name aidc gives.
fn is_pid(digits: &[u8]) -> bool {
    !digits.is_empty() && digits.len() <= 10 && digits.iter().all(u8::is_ascii_digit)
}

/// Device and inode of what is at `path` (a link is not followed).
fn id(path: &Path) -> Option<(u64, u64)> {
    std::fs::symlink_metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

fn remove_tree(path: &Path) -> io::Result<()> {
    // `remove_dir_all` removes a link, never what it points to.
    match std::fs::remove_dir_all(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// `.NAME.aidc-new-PID` beside `target`: the one name pattern of staged
/// trees (the journal refuses any other).
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
            let ours = n.strip_prefix(&new).or_else(|| n.strip_prefix(&old)).is_some_and(|p| is_pid(p.as_bytes()));
            if ours && e.file_type().is_ok_and(|t| t.is_dir()) {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
}

/// The fixed mode of the directories aidc writes, whatever the umask.
const DIR_MODE: u32 = 0o755;

/// Creates the directory `path` (and its missing parents) with [`DIR_MODE`].
fn make_dirs(path: &Path) -> io::Result<()> {
    Modes::read().make_dirs(path, &mut crate::maps::HashSet::default(), false)
}

/// Whether files and directories get their fixed modes on creation: with
/// the usual umask (022 or less) they do, and no `chmod` is needed after.
#[derive(Clone, Copy)]
struct Modes {
    umask: u32,
}

impl Modes {
    /// The process's umask (read by setting it and setting it back: nothing
    /// else creates files while aidc writes its outputs).
    fn read() -> Modes {
        use rustix::fs::Mode;
        let old = rustix::process::umask(Mode::from_raw_mode(0o022));
        rustix::process::umask(old);
        Modes { umask: old.bits() }
    }

    /// Whether a file or directory created with `mode` has it.
    fn kept(self, mode: u32) -> bool {
        mode & !self.umask == mode
    }

    /// Sets `mode` on the open `file` unless it has it already.
    fn fix(self, file: &File, mode: u32) -> io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        if self.kept(mode) { Ok(()) } else { file.set_permissions(std::fs::Permissions::from_mode(mode)) }
    }

    /// Creates `path` and its missing parents with [`DIR_MODE`]; `made`
    /// holds the directories this staging made or found, so each is
    /// looked at once. The directory is made first and its parent only
    /// when that fails for want of it: in a staged tree nearly every
    /// directory is new, and asking first was a system call for each
    /// (8,000 in a project of 1,000 images). In a staged tree (`staged`),
    /// a directory found made is another worker's, which may not have given
    /// it its mode yet (a umask of 0177 leaves its maker no search right
    /// until then): it gets its mode here too, before anything goes in it.
    /// Elsewhere (the output directory's parents) a directory found is left
    /// as it is. A staged tree's root is in `made` from the start, so the
    /// parents made first stop there.
    fn make_dirs(self, path: &Path, made: &mut Made, staged: bool) -> io::Result<()> {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        if made.contains(path.as_os_str()) {
            return Ok(());
        }
        let create = || match std::fs::DirBuilder::new().mode(DIR_MODE).create(path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(e),
        };
        // In a staged tree a parent not made yet is most likely missing:
        // made first, it spares the failed attempt (a system call for each of
        // the 1,000 images of a large project, whose `files/<component>/`
        // are two levels deep).
        if staged
            && let Some(parent) = path.parent()
            && !made.contains(parent.as_os_str())
        {
            self.make_dirs(parent, made, staged)?;
        }
        let created = match create() {
            // Not found: the parent is missing. Refused, in a staged tree:
            // the parent is another worker's, not yet given its mode.
            Err(e)
                if e.kind() == io::ErrorKind::NotFound || (staged && e.kind() == io::ErrorKind::PermissionDenied) =>
            {
                match path.parent() {
                    Some(parent) if parent != path && !parent.as_os_str().is_empty() => {
                        self.make_dirs(parent, made, staged)?;
                        create()?
                    }
                    _ => return Err(e),
                }
            }
            other => other?,
        };
        if (created || staged) && !self.kept(DIR_MODE) {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(DIR_MODE))?;
        }
        made.insert(path.as_os_str().to_owned());
        Ok(())
    }
}

/// The directories a staging made or found, by their paths' bytes: every
/// path here is joined from one root and normalized names, so bytes compare
/// as paths do, and hashing a `Path` goes component by component (0.6% of
/// the samples of a 1,000-image compile, docs/performance.md).
type Made = crate::maps::HashSet<std::ffi::OsString>;

/// From this many files on, a staged tree's files are written on every
/// core: creating a file costs the kernel more than writing a small one,
/// and a project of 1,000 images writes 12,000 (docs/performance.md). Below
/// it, starting threads would cost more than it saves.
const PARALLEL_FILES: usize = 256;

/// Files of at most this many bytes that a staging writes with the same
/// content and mode are one file, hard-linked: making a file costs the
/// kernel an inode and a page, a link only a name, and most support files
/// are the same in every image of a project (the repository files, the
/// stdlib's configuration files: 9 of the 12 files an image of the
/// generated 1,000-image project writes). Larger files (Containerfiles,
/// PipelineRuns) are seldom the same, and would cost hashing for nothing.
const TWIN_BYTES: usize = 4096;

/// The files a staging (or one worker of it) has written, by content and
/// mode: a later file with the same is a link to the first.
type Twins<'c> = crate::maps::HashMap<(&'c str, u32), PathBuf>;

/// Builds the new tree of `dir` beside it. `dir.path` is its real path
/// (checked by `outputs::check_dirs`); `changes` must have no conflicts.
pub fn stage<'d>(dir: &'d OutputDir, changes: &Changes) -> io::Result<Staged> {
    use std::os::unix::fs::PermissionsExt;
    let target = dir.path.clone();
    remove_leftovers(&target);
    let staged = staging_path(&target, "new");
    let modes = Modes::read();
    let mut made = crate::maps::HashSet::default();
    let mut created = None;
    let result = (|| {
        if let Some(parent) = target.parent() {
            make_dirs(parent)?;
        }
        std::fs::create_dir(&staged)?;
        // The inode the journal will name, from the directory just created
        // (opened without following a link).
        let handle = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(
                (rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::CLOEXEC).bits()
                    as i32,
            )
            .open(&staged)?;
        let meta = handle.metadata()?;
        created = Some((meta.dev(), meta.ino()));
        // A shared directory keeps its mode; aidc's own gets the fixed one.
        let mode = match (&dir.owns, std::fs::symlink_metadata(&target)) {
            (super::outputs::Ownership::Generated { .. }, Ok(m)) if m.is_dir() => m.permissions().mode() & 0o7777,
            _ => DIR_MODE,
        };
        handle.set_permissions(std::fs::Permissions::from_mode(mode))?;
        // aidc's files first, each made new (never written through a link,
        // or into a hard link of someone else's file), with fixed modes;
        // then what is not aidc's, as it is.
        made.insert(staged.clone().into_os_string());
        // Each file after its directory, the files on every core when there
        // are many: a directory two workers both make is made once (the
        // other finds it there), and making the 8,000 directories of a
        // 1,000-image project in a row before the files was a twentieth of
        // its run (docs/performance.md, stop 26).
        let write = |path: &String, content: &'d String, made: &mut Made, twins: &mut Twins<'d>| -> io::Result<()> {
            let to = staged.join(path);
            if let Some(p) = to.parent() {
                modes.make_dirs(p, made, true)?;
            }
            let mode = file_mode(path);
            if changes.unchanged.contains(path) {
                let from = target.join(path);
                let same_mode = std::fs::symlink_metadata(&from)
                    .is_ok_and(|m| m.file_type().is_file() && m.permissions().mode() & 0o7777 == mode);
                if same_mode && std::fs::hard_link(&from, &to).is_ok() {
                    return Ok(());
                }
            }
            let twin = content.len() <= TWIN_BYTES;
            if twin
                && let Some(first) = twins.get(&(content.as_str(), mode))
                && std::fs::hard_link(first, &to).is_ok()
            {
                return Ok(());
            }
            let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(mode).open(&to)?;
            io::Write::write_all(&mut file, content.as_bytes())?;
            modes.fix(&file, mode)?;
            if twin {
                twins.entry((content.as_str(), mode)).or_insert(to);
            }
            Ok(())
        };
        if dir.files.len() < PARALLEL_FILES {
            let mut twins = Twins::default();
            for (path, content) in &dir.files {
                write(path, content, &mut made, &mut twins)?;
            }
        } else {
            let files: Vec<(&String, &String)> = dir.files.iter().collect();
            // The first error in the files' order, as in a row.
            crate::par::chunks(&files, |chunk| {
                let (mut made, mut twins) = (made.clone(), Twins::default());
                chunk.iter().try_for_each(|(path, content)| write(path, content, &mut made, &mut twins))
            })
            .into_iter()
            .collect::<io::Result<()>>()?;
        }
        let mut dirs = Vec::new();
        for entry in &changes.kept {
            let (from, to) = (target.join(&entry.path), staged.join(&entry.path));
            match entry.kind {
                Kind::Dir => {
                    modes.make_dirs(&to, &mut made, true)?;
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
    match (result, created) {
        (Ok(()), Some(id)) => Ok(Staged { target, staged, id }),
        (Err(e), _) => {
            let _ = std::fs::remove_dir_all(&staged);
            Err(e)
        }
        (Ok(()), None) => Err(io::Error::other("the staged tree was not created")),
    }
}

fn link_or_copy(from: &Path, to: &Path) -> io::Result<()> {
    if std::fs::hard_link(from, to).is_ok() {
        return Ok(());
    }
    // Only regular files are copied (`from` was one when walked; a link swapped in is not followed).
    let source = super::fs::open_in(from, None)?;
    if std::fs::symlink_metadata(from)?.file_type().is_symlink() {
        return Err(io::Error::other("a file became a link while it was copied"));
    }
    let mut dest = std::fs::OpenOptions::new().write(true).create_new(true).open(to)?;
    io::copy(&mut io::BufReader::new(source), &mut dest)?;
    dest.set_permissions(std::fs::symlink_metadata(from)?.permissions())
}

/// Drops staged trees that will not be committed.
pub fn abandon(staged: Vec<Staged>) {
    for s in staged {
        let _ = std::fs::remove_dir_all(&s.staged);
    }
}

/// Swaps every staged tree in, through a journal under `root` (a real
/// path; see the module documentation). One tree would need no journal
/// where the file system exchanges directories atomically, but the
/// fallback of three renames does, and a journal costs one small file.
pub fn commit(root: &Path, staged: Vec<Staged>) -> io::Result<()> {
    let mut swaps = Vec::new();
    for s in &staged {
        let (Ok(target), Some(name)) = (s.target.strip_prefix(root), s.staged.file_name()) else {
            abandon(staged);
            return Err(io::Error::other("an output directory is outside the repository"));
        };
        if id(&s.staged) != Some(s.id) {
            abandon(staged);
            return Err(io::Error::other("a staged tree was replaced while it was written"));
        }
        swaps.push(Swap {
            target: target.as_os_str().as_bytes().to_vec(),
            staged: name.as_bytes().to_vec(),
            device: s.id.0,
            inode: s.id.1,
        });
    }
    let journal = serde_json::to_vec_pretty(&Journal { version: JOURNAL_VERSION, swaps }).map_err(io::Error::other)?;
    let tmp = root.join(format!("{JOURNAL}.aidc-new-{}", std::process::id()));
    // Not `fsync`ed: the commit point is against a crash or kill of aidc,
    // which the page cache outlives, and a durable journal naming trees that
    // are not durable themselves would not survive a power loss either
    // (docs/output.md). The `fsync` took 0.1-0.5 ms on this machine's ext4,
    // up to 8 ms with the disk busy (docs/performance.md, stop 31).
    let made = std::fs::OpenOptions::new().write(true).create_new(true).mode(FILE_MODE).open(&tmp);
    // What is at `tmp` when `create_new` fails is not this compile's: it stays.
    let written = made.map_err(|e| (e, false)).and_then(|mut f| {
        io::Write::write_all(&mut f, &journal)
            .and_then(|()| std::fs::rename(&tmp, root.join(JOURNAL)))
            .map_err(|e| (e, true))
    });
    if let Err((e, ours)) = written {
        if ours {
            let _ = std::fs::remove_file(&tmp);
        }
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
            make_dirs(parent)?;
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::cli::outputs::{Changes, EXEC_MODE, OutputDir, Ownership};

    /// `n` files in directories of ten, a script among them.
    fn files(n: usize) -> BTreeMap<String, String> {
        (0..n)
            .map(|i| {
                let name = if i % 10 == 0 { "run.sh" } else { "file.conf" };
                (format!("image-{}/{i}/{name}", i / 10), format!("content {i}\n"))
            })
            .collect()
    }

    fn staged_leftovers(root: &Path) -> usize {
        std::fs::read_dir(root).expect("read").filter(|e| e.as_ref().is_ok_and(|e| e.file_name() != "out")).count()
    }

    #[test]
    fn many_files_are_staged_on_every_core_with_their_modes() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = OutputDir { path: root.path().join("out"), files: files(2 * PARALLEL_FILES), owns: Ownership::All };
        let staged = stage(&dir, &Changes::default()).expect("staged");
        for (path, content) in &dir.files {
            let file = staged.staged.join(path);
            assert_eq!(&std::fs::read_to_string(&file).expect("written"), content);
            let mode = std::fs::metadata(&file).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode, file_mode(path), "{path}");
        }
        let _ = std::fs::remove_dir_all(&staged.staged);
    }

    /// Small files of the same content and mode are one file (a link per
    /// name), on one core and on many; a file of the same content but
    /// another mode, or larger than [`TWIN_BYTES`], is a file of its own.
    #[test]
    fn small_files_of_the_same_content_and_mode_are_linked() {
        use std::os::unix::fs::MetadataExt;
        let large = "x".repeat(TWIN_BYTES + 1);
        for n in [4, 2 * PARALLEL_FILES] {
            let root = tempfile::tempdir().expect("tempdir");
            let mut files = BTreeMap::new();
            for i in 0..n {
                files.insert(format!("image-{i}/repos/cuda.repo"), "[cuda]\n".to_string());
                files.insert(format!("image-{i}/files/run.sh"), "[cuda]\n".to_string());
                files.insert(format!("image-{i}/Containerfile"), large.clone());
            }
            let dir = OutputDir { path: root.path().join("out"), files, owns: Ownership::All };
            let staged = stage(&dir, &Changes::default()).expect("staged");
            let meta = |p: &str| std::fs::metadata(staged.staged.join(p)).expect("written");
            let (repo, script, containerfile) =
                (meta("image-0/repos/cuda.repo"), meta("image-0/files/run.sh"), meta("image-0/Containerfile"));
            assert!(repo.nlink() > 1, "{n} files: the repository files are not linked");
            assert_ne!(repo.ino(), script.ino(), "a script and a file of the same content share an inode");
            assert_eq!(script.permissions().mode() & 0o777, EXEC_MODE);
            assert_eq!(repo.permissions().mode() & 0o777, FILE_MODE);
            assert_eq!(containerfile.nlink(), 1, "a file larger than TWIN_BYTES is linked");
            for (path, content) in &dir.files {
                assert_eq!(&std::fs::read_to_string(staged.staged.join(path)).expect("written"), content);
            }
            let _ = std::fs::remove_dir_all(&staged.staged);
        }
    }

    #[test]
    fn a_file_that_cannot_be_written_leaves_no_staged_tree() {
        let root = tempfile::tempdir().expect("tempdir");
        let mut files = files(2 * PARALLEL_FILES);
        // A directory where a file must go: its write fails among the others.
        files.insert("image-30/300".to_string(), "not a directory\n".to_string());
        let dir = OutputDir { path: root.path().join("out"), files, owns: Ownership::All };
        assert!(stage(&dir, &Changes::default()).is_err());
        assert_eq!(staged_leftovers(root.path()), 0);
    }

    /// Something already at the temporary journal's name (a committed link
    /// whose name guessed the process id) fails the commit and is left as
    /// it is: only what the commit made is removed.
    #[test]
    fn a_temporary_journal_aidc_did_not_make_is_kept() {
        let root = tempfile::tempdir().expect("tempdir");
        let root = root.path().canonicalize().expect("real root");
        let planted = root.join(format!("{JOURNAL}.aidc-new-{}", std::process::id()));
        std::os::unix::fs::symlink("elsewhere", &planted).expect("link");
        let dir = OutputDir { path: root.join("out"), files: files(3), owns: Ownership::All };
        let staged = stage(&dir, &Changes::default()).expect("staged");
        assert!(commit(&root, vec![staged]).is_err());
        assert!(std::fs::symlink_metadata(&planted).is_ok_and(|m| m.file_type().is_symlink()), "the link was removed");
        assert!(!root.join("out").exists() && !root.join(JOURNAL).exists());
        assert_eq!(staged_leftovers(&root), 1, "only the link is left beside `out`");
    }
}
