//! What a compile's outputs change on disk: the directories aidc writes
//! (the output directory, `.tekton/`, `konflux/`), which files in them are
//! aidc's, and which of those differ from what the recipe gives now. The
//! writing itself is in `transaction.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

/// One directory aidc writes, and what it should hold.
pub struct OutputDir {
    /// Absolute.
    pub path: PathBuf,
    /// Path (relative, `/`-separated) -> content.
    pub files: BTreeMap<String, String>,
    pub owns: Ownership,
}

/// Which files already in an [`OutputDir`] are aidc's to replace or remove.
pub enum Ownership {
    /// All of them: the output directory is aidc's alone.
    All,
    /// Those generated from this recipe (their first line is its header),
    /// and those generated from a recipe that is no longer there (moved,
    /// renamed or removed: orphans). `.tekton/` and `konflux/` may hold
    /// files of other recipes and hand-written ones, which stay.
    Generated {
        /// This recipe's header line.
        header: String,
        /// The repository root, which the recipes in headers are relative to.
        root: PathBuf,
    },
}

impl OutputDir {
    /// Whether the file at `path` (absolute) is aidc's, by `owns`.
    fn owned(&self, path: &Path) -> bool {
        match &self.owns {
            Ownership::All => true,
            Ownership::Generated { header, root } => {
                let Some(line) = first_line(path) else { return false };
                if line == *header {
                    return true;
                }
                // An orphan only when its recipe is a plain path inside the
                // repository that is gone (a header may name anything), and
                // the header names it as written: a path whose characters
                // the header had to escape (U+2028, say) cannot be looked up
                // again, so its files are kept, never taken for orphans.
                match crate::konflux::generated_from(&line) {
                    Some(recipe) => {
                        let plain =
                            Path::new(&recipe).components().all(|c| matches!(c, std::path::Component::Normal(_)));
                        let as_written = !recipe.contains("\\u{");
                        !recipe.is_empty()
                            && plain
                            && as_written
                            && std::fs::symlink_metadata(root.join(recipe)).is_err()
                    }
                    None => false,
                }
            }
        }
    }

    /// What writing this directory would change.
    pub fn changes(&self) -> Changes {
        let mut changes = Changes::default();
        let mut found = BTreeMap::new();
        let all = matches!(self.owns, Ownership::All);
        for entry in walk(&self.path) {
            let owned = match entry.kind {
                // A staged tree makes its own directories.
                Kind::Dir | Kind::Symlink | Kind::Other => all,
                Kind::File => self.owned(&self.path.join(&entry.path)),
            };
            if !owned {
                // Not aidc's, where aidc would write: refused, never overwritten.
                if self.files.contains_key(&entry.path) {
                    changes.conflicts.push(entry.path.clone());
                }
                changes.kept.push(entry);
                continue;
            }
            if entry.kind == Kind::Dir {
                continue;
            }
            if entry.kind == Kind::File {
                found.insert(entry.path.clone(), ());
            }
            if !self.files.contains_key(&entry.path) {
                changes.removed.push(entry.path);
            }
        }
        for (path, content) in &self.files {
            // Its mode too, as far as a checkout keeps it: files of the same
            // content are one file with a link for each name
            // (`transaction::stage`), and a `chmod` of one is a `chmod` of
            // all. Only the owner's read and execute rights count: git
            // records whether a file is executable and checks it out under
            // the user's umask (0664 under 002, 0600 under 077), which must
            // not make committed outputs stale. Read no more than the
            // content to compare (a committed file may be huge).
            let same = found.contains_key(path)
                && super::fs::open_in(&self.path.join(path), None).is_ok_and(|file| {
                    use std::os::unix::fs::PermissionsExt;
                    const KEPT: u32 = 0o500;
                    file.metadata().is_ok_and(|m| m.permissions().mode() & KEPT == file_mode(path) & KEPT)
                        && super::fs::read_capped(file, content.len() as u64).ok().as_deref()
                            == Some(content.as_bytes())
                });
            if same {
                changes.unchanged.insert(path.clone());
            } else {
                changes.changed.push(path.clone());
            }
        }
        changes
    }
}

/// Where an output directory really is, links resolved: the real path of
/// its nearest existing ancestor, then the names that do not exist yet. A
/// link that leads nowhere is refused (aidc would create what it names).
fn real_target(path: &Path) -> Result<PathBuf, String> {
    if let Ok(real) = std::fs::canonicalize(path) {
        return Ok(real);
    }
    if std::fs::symlink_metadata(path).is_ok() {
        return Err(format!("`{}` is a link that leads nowhere", super::fs::shown(path)));
    }
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) => Ok(real_target(parent)?.join(name)),
        _ => Err(format!("`{}` cannot be resolved", super::fs::shown(path))),
    }
}

/// Checks every output directory before anything is read or written
/// (docs/hardening.md, "Writing"), and replaces its path by its real path:
/// it must lie inside the repository root `root` (a real path) once links
/// are resolved, not be the root, be a directory when it exists (a link
/// to a file is refused), and no two may be one directory or one inside
/// the other.
pub fn check_dirs(root: &Path, dirs: &mut [OutputDir]) -> Result<(), String> {
    for dir in dirs.iter_mut() {
        let real = real_target(&dir.path)?;
        if !real.starts_with(root) || real == root {
            return Err(format!(
                "`{}` resolves to `{}`, outside the repository `{}`; aidc writes only inside it (a committed link \
                 must not lead out of it)",
                super::fs::shown(&dir.path),
                super::fs::shown(&real),
                super::fs::shown(root)
            ));
        }
        match std::fs::symlink_metadata(&real) {
            Ok(m) if !m.file_type().is_dir() => {
                return Err(format!(
                    "`{}` is not a directory; aidc writes its outputs into a directory there",
                    super::fs::shown(&dir.path)
                ));
            }
            _ => {}
        }
        if real
            .strip_prefix(root)
            .is_ok_and(|rel| rel.as_os_str().as_encoded_bytes().iter().any(|b| *b < 0x20 || *b == 0x7f))
        {
            return Err(format!("`{}` has a control character in its name", super::fs::shown(&dir.path)));
        }
        dir.path = real;
    }
    for (i, a) in dirs.iter().enumerate() {
        for b in &dirs[i + 1..] {
            if a.path.starts_with(&b.path) || b.path.starts_with(&a.path) {
                return Err(format!(
                    "two output directories are one directory, or one inside the other, once links are resolved: \
                     `{}` and `{}`; make them separate directories",
                    super::fs::shown(&a.path),
                    super::fs::shown(&b.path)
                ));
            }
        }
    }
    Ok(())
}

/// The first line of a file (without `\r\n` or `\n`: a checkout may have
/// turned the line ends), read no further than 4 KiB.
fn first_line(path: &Path) -> Option<String> {
    let mut head = vec![0; 4096];
    let mut file = super::fs::open_in(path, None).ok()?;
    let mut read = 0;
    while read < head.len() {
        match file.read(&mut head[read..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => read += n,
        }
    }
    head.truncate(read);
    let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    String::from_utf8(line.to_vec()).ok()
}

/// The bundle lines of this recipe's committed PipelineRuns: the regular
/// files directly in `dir` (`.tekton/` of the repository at `root`) whose
/// first line is `header`, by `.tekton/<name>`; of each, only the lines that
/// can be a task bundle reference (`value: …/task-…@sha256:…`), which is all
/// the lock reads (konflux::bundles). Hostile input costs little: a `.tekton`
/// that is a link, or leaves the repository, is not read at all; links,
/// FIFOs and other recipes' files are never read; each file is opened once
/// (the safe open) and read no further than 1 MiB (a generated one is about
/// 15 KiB), at most 256 files and 16 MiB in all.
pub fn committed_runs(root: &Path, dir: &Path, header: &str) -> BTreeMap<String, String> {
    const LIMIT: u64 = 1 << 20;
    const FILES: usize = 256;
    const TOTAL: u64 = 16 << 20;
    let mut out = BTreeMap::new();
    let linked = std::fs::symlink_metadata(dir).map_or(true, |m| !m.is_dir());
    let root = super::fs::real(root);
    if linked || !super::fs::real(dir).starts_with(&root) {
        return out;
    }
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    names.sort();
    let mut budget = TOTAL;
    for name in names.into_iter().take(FILES) {
        let Ok(file) = super::fs::open_in(&dir.join(&name), Some(&root)) else { continue };
        let allowed = LIMIT.min(budget);
        let mut reader = std::io::BufReader::new(file.take(allowed));
        // The header first: another recipe's file costs one line.
        let mut first = String::new();
        let header_read = reader.read_line(&mut first).is_ok() && first.trim_end_matches(['\n', '\r']) == header;
        let mut text = String::new();
        let read = header_read && reader.read_to_string(&mut text).is_ok();
        // What was taken from the file counts, read as text or not (a
        // first line that is not UTF-8 is read, and refused, all the same).
        budget -= allowed - reader.get_ref().limit();
        if !read {
            continue;
        }
        let bundles: String = text
            .lines()
            .filter(|l| l.trim_start().starts_with("value: ") && l.contains("@sha256:"))
            .flat_map(|l| [l, "\n"])
            .collect();
        out.insert(format!(".tekton/{name}"), bundles);
        if budget == 0 {
            break;
        }
    }
    out
}

/// What writing one [`OutputDir`] changes.
#[derive(Debug, Default)]
pub struct Changes {
    /// Files written anew or with other content.
    pub changed: Vec<String>,
    /// aidc's files the recipe no longer gives.
    pub removed: Vec<String>,
    /// aidc's files that stay as they are.
    pub unchanged: BTreeSet<String>,
    /// What is not aidc's (directories, other files), kept as it is.
    pub kept: Vec<Entry>,
    /// Paths aidc would write that hold something not aidc's: a hand-written
    /// file, another recipe's, a link. Nothing is written while there are any.
    pub conflicts: Vec<String>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.removed.is_empty()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    /// A FIFO, socket or device: never opened, only linked over.
    Other,
}

/// An entry under a directory, by relative `/`-separated path.
#[derive(Debug)]
pub struct Entry {
    pub path: String,
    pub kind: Kind,
}

/// The fixed modes of the files aidc writes, whatever the umask.
pub const FILE_MODE: u32 = 0o644;
pub const EXEC_MODE: u32 = 0o755;

/// The mode of the output file at `path`: scripts are executable.
pub fn file_mode(path: &str) -> u32 {
    if path.ends_with(".sh") { EXEC_MODE } else { FILE_MODE }
}

/// Every entry under `dir` (none when it is missing), sorted, directories
/// before what they hold.
pub fn walk(dir: &Path) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut stack = vec![String::new()];
    while let Some(rel) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(dir.join(&rel)) else { continue };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let path = if rel.is_empty() { name } else { format!("{rel}/{name}") };
            let kind = match e.file_type() {
                Ok(t) if t.is_symlink() => Kind::Symlink,
                Ok(t) if t.is_dir() => Kind::Dir,
                Ok(t) if t.is_file() => Kind::File,
                Ok(_) => Kind::Other,
                Err(_) => continue,
            };
            if kind == Kind::Dir {
                stack.push(path.clone());
            }
            out.push(Entry { path, kind });
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// The files that differ from what their directory should hold (changed or
/// to be removed), by index of the directory in `changes`.
pub fn stale(changes: &[Changes]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, c) in changes.iter().enumerate() {
        let mut paths: Vec<&String> = c.changed.iter().chain(&c.removed).collect();
        paths.sort();
        out.extend(paths.into_iter().map(|p| (i, p.clone())));
    }
    out
}

/// The paths aidc would write that hold something not aidc's, by index of
/// the directory in `changes`.
pub fn conflicts(changes: &[Changes]) -> Vec<(usize, String)> {
    changes.iter().enumerate().flat_map(|(i, c)| c.conflicts.iter().map(move |p| (i, p.clone()))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(recipe: &str) -> String {
        crate::konflux::header(&crate::konflux::RepoLayout {
            recipe_dir: recipe.rsplit_once('/').map_or(".", |(d, _)| d).into(),
            recipe_file: recipe.rsplit('/').next().unwrap_or(recipe).into(),
        })
    }

    #[test]
    fn committed_runs_keeps_bundle_lines_only() {
        let holder = tempfile::tempdir().unwrap();
        let root = holder.path().to_path_buf();
        let tekton = root.join(".tekton");
        std::fs::create_dir_all(tekton.join("sub")).unwrap();
        let mine = header("image.aid");
        let bundle = "    value: quay.io/konflux-ci/tekton-catalog/task-init:0.4.9@sha256:0123";
        let filler = "x".repeat(1000);
        let text = format!("{mine}{bundle}\n{}", format!("{filler}\n").repeat(2000));
        std::fs::write(tekton.join("a.yaml"), &text).unwrap();
        std::fs::write(tekton.join("sub/b.yaml"), &text).unwrap();
        std::fs::write(tekton.join("other.yaml"), format!("# by hand\n{bundle}\n")).unwrap();
        std::os::unix::fs::symlink(tekton.join("a.yaml"), tekton.join("link.yaml")).unwrap();
        let runs = committed_runs(&root, &tekton, mine.trim_end());
        // Only this recipe's top-level regular file, and of it the bundle line
        // (the rest, past 1 MiB, is not even read).
        assert_eq!(runs, BTreeMap::from([(".tekton/a.yaml".to_string(), format!("{bundle}\n"))]));

        // A `.tekton` that is a link is not read at all.
        let linked = root.join("linked");
        std::os::unix::fs::symlink(&tekton, &linked).unwrap();
        assert!(committed_runs(&root, &linked, mine.trim_end()).is_empty());
    }

    #[test]
    fn generated_files_are_owned_and_others_kept() {
        let holder = tempfile::tempdir().unwrap();
        let root = holder.path().to_path_buf();
        let tmp = root.join(".tekton");
        std::fs::create_dir_all(tmp.join("sub")).unwrap();
        std::fs::create_dir_all(root.join("b")).unwrap();
        std::fs::write(root.join("b/image.aid"), "").unwrap();
        let mine = header("a/image.aid");
        std::fs::write(tmp.join("mine.yaml"), format!("{mine}old\n")).unwrap();
        std::fs::write(tmp.join("gone.yaml"), &mine).unwrap();
        // Another recipe's, which exists: kept. One of a recipe that is gone: an orphan, aidc's.
        std::fs::write(tmp.join("theirs.yaml"), header("b/image.aid")).unwrap();
        std::fs::write(tmp.join("orphan.yaml"), header("c/image.aid")).unwrap();
        std::fs::write(tmp.join("hand.yaml"), "# written by hand\n").unwrap();
        std::fs::write(tmp.join("sub/x"), format!("#{mine}")).unwrap();
        std::fs::write(tmp.join("crlf.yaml"), format!("{}\r\nx\r\n", mine.trim_end())).unwrap();
        let owns = || Ownership::Generated { header: mine.trim_end().to_string(), root: root.clone() };
        let dir = OutputDir {
            path: tmp.clone(),
            files: [("mine.yaml".to_string(), format!("{mine}new\n"))].into(),
            owns: owns(),
        };
        let c = dir.changes();
        assert_eq!(c.changed, ["mine.yaml"]);
        assert_eq!(c.removed, ["crlf.yaml", "gone.yaml", "orphan.yaml"]);
        let kept: Vec<&str> = c.kept.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(kept, ["hand.yaml", "sub", "sub/x", "theirs.yaml"]);
        assert!(c.conflicts.is_empty());
        // Something not aidc's where aidc would write is a conflict.
        let files = [("theirs.yaml".to_string(), mine.clone()), ("hand.yaml".to_string(), mine.clone())].into();
        let clash = OutputDir { path: tmp, files, owns: owns() };
        assert_eq!(clash.changes().conflicts, ["hand.yaml", "theirs.yaml"]);
    }

    #[test]
    fn the_output_directory_is_owned_whole() {
        let holder = tempfile::tempdir().unwrap();
        let tmp = holder.path().to_path_buf();
        std::fs::create_dir_all(tmp.join("a")).unwrap();
        std::fs::write(tmp.join("a/same"), "1").unwrap();
        std::fs::write(tmp.join("a/old"), "1").unwrap();
        let dir = OutputDir {
            path: tmp,
            files: [("a/same".to_string(), "1".to_string()), ("b".to_string(), "2".to_string())].into(),
            owns: Ownership::All,
        };
        let c = dir.changes();
        assert_eq!((c.changed, c.removed), (vec!["b".to_string()], vec!["a/old".to_string()]));
        assert_eq!(c.unchanged.into_iter().collect::<Vec<_>>(), ["a/same"]);
        assert!(c.kept.is_empty());
    }
}
