//! The file-system [`Loader`] and the search path from flags and `AID_PATH`.

use std::path::{Path, PathBuf};

use super::args::InputArgs;
use crate::resolve::{Loader, SearchPath};

/// Reads files from disk, relative to the current directory.
pub struct FsLoader;

impl Loader for FsLoader {
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        let meta = std::fs::metadata(path)?;
        if meta.is_dir() {
            return Err(std::io::Error::new(std::io::ErrorKind::IsADirectory, "is a directory"));
        }
        // Refuse to slurp a huge file: the parser refuses more than this anyway.
        if meta.len() > (crate::syntax::MAX_FILE_SIZE as u64) * 2 {
            let mut head = vec![0; crate::syntax::MAX_FILE_SIZE + 1];
            use std::io::Read;
            let n = std::fs::File::open(path)?.read(&mut head)?;
            head.truncate(n);
            head.resize(crate::syntax::MAX_FILE_SIZE + 1, b' ');
            return Ok(head);
        }
        std::fs::read(path)
    }
}

/// `--stdlib`, `--lib` and `AID_PATH` (colon-separated) as a search path.
pub fn search_path(args: &InputArgs) -> SearchPath {
    let mut lib_dirs: Vec<PathBuf> = args.lib.clone();
    if let Some(path) = std::env::var_os("AID_PATH") {
        lib_dirs.extend(std::env::split_paths(&path).filter(|p| !p.as_os_str().is_empty()));
    }
    SearchPath { stdlib_dir: args.stdlib.clone(), lib_dirs }
}

/// The `*.aid` files of the current directory, sorted, when none are given.
pub fn default_files() -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(".")?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "aid") && p.is_file())
        .map(|p| p.strip_prefix("./").map(Path::to_path_buf).unwrap_or(p))
        .collect();
    files.sort();
    Ok(files)
}
