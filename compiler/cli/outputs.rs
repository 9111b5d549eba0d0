//! Writing the outputs all-or-nothing. The new tree is built beside the old
//! one (unchanged files hard-linked from it, so they are not rewritten), then
//! swapped in with one atomic `renameat2(RENAME_EXCHANGE)`: a compile that
//! fails or is killed leaves the previous outputs exactly as they were.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// What a write did.
#[derive(Debug, Default)]
pub struct Written {
    pub changed: Vec<String>,
    pub removed: Vec<String>,
}

/// The files under `dir`, relative, sorted.
pub fn existing(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(dir.join(&rel)) else { continue };
        for e in entries.flatten() {
            let r = rel.join(e.file_name());
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(r),
                Ok(_) => {
                    if let Ok(bytes) = std::fs::read(dir.join(&r)) {
                        out.insert(r.to_string_lossy().replace('\\', "/"), bytes);
                    }
                }
                Err(_) => {}
            }
        }
    }
    out
}

/// The files that differ between what is on disk and what should be there.
pub fn stale(dir: &Path, outputs: &BTreeMap<String, String>) -> Vec<String> {
    let now = existing(dir);
    let mut out = Vec::new();
    for (path, content) in outputs {
        if now.get(path).map(Vec::as_slice) != Some(content.as_bytes()) {
            out.push(path.clone());
        }
    }
    for path in now.keys() {
        if !outputs.contains_key(path) {
            out.push(path.clone());
        }
    }
    out.sort();
    out
}

fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    let ca = CString::new(a.as_os_str().as_bytes()).map_err(std::io::Error::other)?;
    let cb = CString::new(b.as_os_str().as_bytes()).map_err(std::io::Error::other)?;
    // SAFETY: both are valid NUL-terminated paths; renameat2 does not keep them.
    let r = unsafe { libc::renameat2(libc::AT_FDCWD, ca.as_ptr(), libc::AT_FDCWD, cb.as_ptr(), libc::RENAME_EXCHANGE) };
    if r == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) }
}

/// Replaces the tree at `dir` with `outputs`, atomically.
pub fn write(dir: &Path, outputs: &BTreeMap<String, String>) -> std::io::Result<Written> {
    let now = existing(dir);
    let mut written = Written::default();
    for (path, content) in outputs {
        if now.get(path).map(Vec::as_slice) != Some(content.as_bytes()) {
            written.changed.push(path.clone());
        }
    }
    written.removed = now.keys().filter(|p| !outputs.contains_key(*p)).cloned().collect();
    if written.changed.is_empty() && written.removed.is_empty() && dir.is_dir() {
        return Ok(written);
    }
    let parent = dir.parent().unwrap_or(Path::new("."));
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
    std::fs::create_dir_all(parent)?;
    // Staging trees of compiles that were killed before they finished.
    if let Ok(entries) = std::fs::read_dir(parent) {
        for e in entries.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.starts_with(&format!(".{name}.aidc-new-")) || n.starts_with(&format!(".{name}.aidc-old-")) {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    let staging = parent.join(format!(".{name}.aidc-new-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    let result = (|| {
        for (path, content) in outputs {
            let target = staging.join(path);
            if let Some(p) = target.parent() {
                std::fs::create_dir_all(p)?;
            }
            let old = dir.join(path);
            let same = now.get(path).map(Vec::as_slice) == Some(content.as_bytes());
            if !(same && std::fs::hard_link(&old, &target).is_ok()) {
                std::fs::write(&target, content)?;
                if path.ends_with(".sh") {
                    use std::os::unix::fs::PermissionsExt;
                    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755))?;
                }
            }
        }
        if dir.is_dir() {
            match exchange(&staging, dir) {
                Ok(()) => {}
                Err(_) => {
                    // No RENAME_EXCHANGE (old kernel or file system): two renames.
                    let old = parent.join(format!(".{name}.aidc-old-{}", std::process::id()));
                    std::fs::rename(dir, &old)?;
                    std::fs::rename(&staging, dir)?;
                    std::fs::rename(&old, &staging)?;
                }
            }
            std::fs::remove_dir_all(&staging)?;
        } else {
            std::fs::rename(&staging, dir)?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result.map(|()| written)
}

/// Writes files under `root` one by one, each through a temporary file and a
/// rename (so a reader never sees half a file); unchanged files are left
/// alone. Returns the files that changed.
pub fn write_files(root: &Path, files: &BTreeMap<String, String>) -> std::io::Result<Vec<String>> {
    let mut changed = Vec::new();
    for (path, content) in files {
        let target = root.join(path);
        if std::fs::read(&target).ok().as_deref() == Some(content.as_bytes()) {
            continue;
        }
        if let Some(p) = target.parent() {
            std::fs::create_dir_all(p)?;
        }
        let tmp = target.with_file_name(format!(
            ".{}.aidc-new-{}",
            target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            std::process::id()
        ));
        std::fs::write(&tmp, content)?;
        std::fs::rename(&tmp, &target)?;
        changed.push(path.clone());
    }
    Ok(changed)
}
