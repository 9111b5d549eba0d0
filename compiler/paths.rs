//! The one path-normalisation helper, lexical (no file system): every
//! module, import, build-context and output path goes through
//! [`normalize`], so two spellings of one file are one key.

use std::path::{Component, Path, PathBuf};

/// Lexical normalisation: `a/./b/../c` -> `a/c`; keeps leading `..`.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out: Vec<Component<'_>> = Vec::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.last() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir) => {}
                _ => out.push(c),
            },
            other => out.push(other),
        }
    }
    if out.is_empty() {
        return PathBuf::from(".");
    }
    out.iter().collect()
}

/// `path` relative to the directory `base`, lexically (both already
/// normalised and both relative or both absolute): `a/b/x.aid` from `a/c`
/// is `../b/x.aid`. `None` when one is absolute and the other is not.
pub fn relative_to(base: &Path, path: &Path) -> Option<PathBuf> {
    if base.is_absolute() != path.is_absolute() {
        return None;
    }
    let b: Vec<Component<'_>> = base.components().filter(|c| *c != Component::CurDir).collect();
    let p: Vec<Component<'_>> = path.components().filter(|c| *c != Component::CurDir).collect();
    let common = b.iter().zip(&p).take_while(|(x, y)| x == y).count();
    if b[common..].contains(&Component::ParentDir) {
        return None;
    }
    let mut out = PathBuf::new();
    for _ in common..b.len() {
        out.push("..");
    }
    for c in &p[common..] {
        out.push(c.as_os_str());
    }
    Some(out)
}

/// Shows a path with `/` on every platform, for stable messages.
pub fn display_path(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}
