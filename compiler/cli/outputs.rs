//! What a compile's outputs change on disk: the directories aidc writes
//! (the output directory, `.tekton/`, `konflux/`), which files in them are
//! aidc's, and which of those differ from what the recipe gives now. The
//! writing itself is in `transaction.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
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
    /// Those whose first line is this one: `.tekton/` and `konflux/` may
    /// hold files of other recipes and hand-written ones, which stay.
    Marked(String),
}

impl OutputDir {
    /// Whether the file at `path` (absolute) is aidc's, by `owns`.
    fn owned(&self, path: &Path) -> bool {
        match &self.owns {
            Ownership::All => true,
            Ownership::Marked(first_line) => {
                let mut head = vec![0; first_line.len() + 1];
                let Ok(mut file) = std::fs::File::open(path) else { return false };
                let mut read = 0;
                while read < head.len() {
                    match file.read(&mut head[read..]) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => read += n,
                    }
                }
                head.truncate(read);
                head.strip_prefix(first_line.as_bytes()).is_some_and(|rest| rest.is_empty() || rest[0] == b'\n')
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
                Kind::Dir => all,
                Kind::Symlink => all,
                Kind::File => self.owned(&self.path.join(&entry.path)),
            };
            if !owned {
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
            let same = found.contains_key(path)
                && std::fs::read(self.path.join(path)).ok().as_deref() == Some(content.as_bytes());
            if same {
                changes.unchanged.insert(path.clone());
            } else {
                changes.changed.push(path.clone());
            }
        }
        changes
    }
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
}

/// An entry under a directory, by relative `/`-separated path.
#[derive(Debug)]
pub struct Entry {
    pub path: String,
    pub kind: Kind,
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
                Ok(_) => Kind::File,
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

/// The files of `dirs` that differ from what they should hold (changed or
/// to be removed), as paths under each directory.
pub fn stale(dirs: &[OutputDir]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, dir) in dirs.iter().enumerate() {
        let changes = dir.changes();
        let mut paths: Vec<String> = changes.changed.into_iter().chain(changes.removed).collect();
        paths.sort();
        out.extend(paths.into_iter().map(|p| (i, p)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marked_files_are_owned_and_others_kept() {
        let holder = tempfile::tempdir().unwrap();
        let tmp = holder.path().to_path_buf();
        std::fs::create_dir_all(tmp.join("sub")).unwrap();
        std::fs::write(tmp.join("mine.yaml"), "# made by me\nold\n").unwrap();
        std::fs::write(tmp.join("gone.yaml"), "# made by me\n").unwrap();
        std::fs::write(tmp.join("theirs.yaml"), "# made by someone else\n").unwrap();
        std::fs::write(tmp.join("sub/x"), "# made by me, not quite\n").unwrap();
        let dir = OutputDir {
            path: tmp.clone(),
            files: [("mine.yaml".to_string(), "# made by me\nnew\n".to_string())].into(),
            owns: Ownership::Marked("# made by me".into()),
        };
        let c = dir.changes();
        assert_eq!(c.changed, ["mine.yaml"]);
        assert_eq!(c.removed, ["gone.yaml"]);
        let kept: Vec<&str> = c.kept.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(kept, ["sub", "sub/x", "theirs.yaml"]);
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
