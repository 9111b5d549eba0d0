//! An in-memory file system for the [`Loader`]: what tests, benchmarks,
//! fuzzers and embedders without files compile from. Paths are looked up as
//! given.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::Loader;

/// Files by path.
#[derive(Clone, Debug, Default)]
pub struct MemLoader(pub BTreeMap<PathBuf, Vec<u8>>);

impl MemLoader {
    /// Adds (or replaces) the file at `path`.
    pub fn insert(&mut self, path: impl Into<PathBuf>, bytes: impl Into<Vec<u8>>) {
        self.0.insert(path.into(), bytes.into());
    }
}

impl Loader for MemLoader {
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        self.0.get(path).cloned().ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
    }
}
