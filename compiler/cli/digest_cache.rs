//! The digest cache, like git's index: for each context input file, its
//! digest and its private-key scan result, keyed by what the file system
//! says about the file (device, inode, size, mtime, ctime), so that an
//! unchanged 1 GiB model is not read again. It lives at the build-context
//! root as `.aidc-digests` (beside `out/`): that directory can never be
//! copied (`copy "."` is refused) and the walk of copied directories skips
//! the name, so it is in no input's digest and in no image.
//!
//! The format (docs/performance.md, "The digest cache"): one JSON object,
//! `{"aidc-digests": 1, "self": [dev, ino], "entries": {PATH: ENTRY}}` with
//! `ENTRY = {"dev", "ino", "size", "mtime": [s, ns], "ctime": [s, ns],
//! "digest": "b3:..." | null, "key": KIND | null}`; `PATH` is relative to the
//! context. `self` is the cache file's own device and inode.
//!
//! The cache is in the repository, so a pull request controls it. It only
//! ever saves time: anything wrong with it (missing, unreadable, too large,
//! malformed, another version, a link, not a regular file, `self` naming
//! another file) makes aidc ignore it and hash everything. An entry is used
//! only when every stat field matches the file as opened (on the
//! descriptor), and the file's mtime and ctime are strictly older than the
//! cache file's own mtime (git's racy-entry rule: a file changed in the
//! same clock tick as the cache was written may differ from its entry).
//! docs/hardening.md explains why a forged entry cannot hide a key.

use std::collections::BTreeMap;
use std::fs::{File, Metadata};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The cache's file name, at the context root.
pub const NAME: &str = ".aidc-digests";

/// The format version; another version is ignored.
const VERSION: u32 = 1;

/// Largest cache file read, in bytes (a bigger one is ignored).
const CAP: u64 = 32 << 20;

/// Most entries kept: those used by this compile first, then older ones.
const MAX_ENTRIES: usize = 100_000;

/// What the file system says about a file, as compared with an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stat {
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    pub mtime: (i64, i64),
    pub ctime: (i64, i64),
}

impl Stat {
    pub fn of(meta: &Metadata) -> Stat {
        Stat {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }

    /// Whether the file's times are strictly older than `time`.
    fn older_than(&self, time: (i64, i64)) -> bool {
        self.mtime < time && self.ctime < time
    }
}

/// One input file: its stat when it was read, and what reading found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    #[serde(flatten)]
    pub stat: Stat,
    /// `b3:<hex>` when no key was found.
    pub digest: Option<String>,
    /// The kind of private key found (the file is refused), if any.
    pub key: Option<String>,
}

impl Entry {
    /// Exactly one of a digest (`b3:` and 64 lowercase hex digits: it is
    /// written into Containerfiles) and a known key kind.
    fn valid(&self) -> bool {
        match (&self.digest, &self.key) {
            (Some(d), None) => d
                .strip_prefix("b3:")
                .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))),
            (None, Some(_)) => true,
            _ => false,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct File1 {
    #[serde(rename = "aidc-digests")]
    version: u32,
    #[serde(rename = "self")]
    own: (u64, u64),
    entries: BTreeMap<String, Entry>,
}

/// The cache of one build context: what was loaded, what this run found.
#[derive(Default)]
pub struct Cache {
    /// Entries read from the cache file.
    old: BTreeMap<String, Entry>,
    /// The cache file's mtime: entries of files not older are not used.
    written: (i64, i64),
    /// Entries this run used or made.
    new: BTreeMap<String, Entry>,
    /// Whether `new` differs from `old` for some path.
    changed: bool,
}

impl Cache {
    /// The cache at `context` (a real path), or an empty one.
    pub fn load(context: &Path) -> Cache {
        let Ok(file) = super::digests::open_regular(&context.join(NAME), context) else {
            return Cache::default();
        };
        let Ok(meta) = file.metadata() else { return Cache::default() };
        let mut bytes = Vec::with_capacity(meta.len().min(CAP) as usize + 1);
        use std::io::Read;
        if meta.len() > CAP || file.take(CAP).read_to_end(&mut bytes).is_err() {
            return Cache::default();
        }
        match serde_json::from_slice::<File1>(&bytes) {
            Ok(f) if f.version == VERSION && f.own == (meta.dev(), meta.ino()) => {
                Cache { old: f.entries, written: (meta.mtime(), meta.mtime_nsec()), ..Cache::default() }
            }
            _ => Cache::default(),
        }
    }

    /// The entry for `path` if it is still true of the file whose stat
    /// (taken on the opened descriptor) is `stat`.
    pub fn get(&mut self, path: &str, stat: &Stat) -> Option<Entry> {
        let e = self.old.get(path).filter(|e| e.stat == *stat && stat.older_than(self.written) && e.valid())?.clone();
        self.new.insert(path.to_string(), e.clone());
        Some(e)
    }

    /// Records what reading `path` found.
    pub fn put(&mut self, path: &str, entry: Entry) {
        if self.old.get(path) != Some(&entry) {
            self.changed = true;
        }
        self.new.insert(path.to_string(), entry);
    }

    /// Notes that `path` was read but its entry cannot be kept (it changed
    /// while it was read, or too recently to tell).
    pub fn forget(&mut self, path: &str) {
        self.changed |= self.old.contains_key(path);
    }

    pub fn changed(&self) -> bool {
        self.changed
    }
}

/// A cache file being written: created before any file is read, so that its
/// creation time bounds the times of what is read after it.
pub struct Writer {
    file: File,
    tmp: PathBuf,
    target: PathBuf,
    own: (u64, u64),
    /// The file system's time when this file was created.
    started: (i64, i64),
}

impl Writer {
    /// Creates a fresh temporary file beside the cache in `context`.
    pub fn create(context: &Path) -> std::io::Result<Writer> {
        let target = context.join(NAME);
        // Temporary files of compiles that were killed (a live one's loss only costs it time).
        let prefix = format!("{NAME}.aidc-new-");
        for e in std::fs::read_dir(context)?.flatten() {
            if e.file_name().to_string_lossy().starts_with(&prefix) && e.file_type().is_ok_and(|t| t.is_file()) {
                let _ = std::fs::remove_file(e.path());
            }
        }
        let tmp = context.join(format!("{prefix}{}", std::process::id()));
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&tmp)?;
        let meta = file.metadata()?;
        Ok(Writer { file, tmp, target, own: (meta.dev(), meta.ino()), started: (meta.mtime(), meta.mtime_nsec()) })
    }

    /// Whether an entry with this stat may be kept: a file changed in the
    /// clock tick the cache was started in (or later) could change again
    /// within that tick with no trace in its stat.
    pub fn keeps(&self, stat: &Stat) -> bool {
        stat.older_than(self.started)
    }

    /// Writes the entries this run used or made, then older ones, and
    /// renames the file over the cache (a link there is replaced, not followed).
    pub fn finish(mut self, mut cache: Cache) -> std::io::Result<()> {
        let mut entries = std::mem::take(&mut cache.new);
        entries.retain(|_, e| self.keeps(&e.stat));
        for (path, e) in std::mem::take(&mut cache.old) {
            if entries.len() >= MAX_ENTRIES {
                break;
            }
            entries.entry(path).or_insert(e);
        }
        let bytes = serde_json::to_vec(&File1 { version: VERSION, own: self.own, entries })?;
        let result = self.file.write_all(&bytes).and_then(|()| std::fs::rename(&self.tmp, &self.target));
        if result.is_err() {
            let _ = std::fs::remove_file(&self.tmp);
        }
        result
    }

    /// Removes the temporary file.
    pub fn abandon(self) {
        let _ = std::fs::remove_file(&self.tmp);
    }
}
