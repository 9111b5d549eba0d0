//! Support files the plan writes next to the Containerfile: the contents of
//! `write`, inline `run` scripts, repository files, kernel-argument files,
//! Flatpak preinstall files, and aidc's own helper scripts. Each is
//! bind-mounted into the step that reads it, with its digest in that step.

use std::collections::BTreeMap;

/// aidc's helper scripts: (file name, content). Written to `<out>/scripts/`.
pub const SCRIPTS: &[(&str, &str)] = &[
    ("aid-finalize.sh", include_str!("scripts/aid-finalize.sh")),
    ("aid-kernel-sign.sh", include_str!("scripts/aid-kernel-sign.sh")),
    ("aid-kernel.sh", include_str!("scripts/aid-kernel.sh")),
    ("aid-kmod-build.sh", include_str!("scripts/aid-kmod-build.sh")),
    ("aid-kmod-install.sh", include_str!("scripts/aid-kmod-install.sh")),
];

/// A support file as a step uses it.
#[derive(Clone, Debug)]
pub struct SupportFile {
    /// Path relative to the build context (what `--mount source=` takes).
    pub context_path: String,
    pub digest: String,
}

/// The support files of a plan, by path relative to the output directory,
/// each with its digest: every variant adds the same helper scripts and most
/// of the same files again, and hashing them again was a twentieth of a large
/// plan (docs/performance.md).
pub struct Files {
    out_dir: String,
    files: FileMap,
    /// Every [`Files::add`] since [`Files::record`], in order.
    log: Option<Vec<Added>>,
}

/// One [`Files::add`]: the path asked for, the content and its digest, and
/// the path given (the one asked for, or it with a digest suffix).
#[derive(Clone, Debug, PartialEq)]
pub struct Added {
    pub asked: String,
    pub content: String,
    pub digest: String,
    pub given: String,
}

impl Files {
    pub fn new(out_dir: &str) -> Files {
        Files { out_dir: out_dir.to_string(), files: BTreeMap::new(), log: None }
    }

    /// Adds a file at `path` (relative to the output directory); a different
    /// content at a taken path gets a digest suffix.
    pub fn add(&mut self, path: &str, content: String) -> SupportFile {
        let digest = match self.files.get(path) {
            Some((existing, digest)) if *existing == content => digest.clone(),
            _ => crate::hash::digest_text(&content),
        };
        self.add_digested(path, content, digest)
    }

    /// [`Files::add`] of a content whose digest is known.
    pub fn add_digested(&mut self, path: &str, content: String, digest: String) -> SupportFile {
        let given = self.given(path, &content, &digest);
        self.add_given(path, given, content, digest)
    }

    /// [`Files::add_digested`] at `path`, where `given` is what
    /// [`Files::given`] gives it (a caller that asked already).
    pub fn add_given(&mut self, path: &str, given: String, content: String, digest: String) -> SupportFile {
        self.log(path, &content, &digest, &given);
        let file = SupportFile { context_path: [&self.out_dir, "/", &given].concat(), digest: digest.clone() };
        self.files.insert(given, (content, digest));
        file
    }

    fn log(&mut self, asked: &str, content: &str, digest: &str, given: &str) {
        if let Some(log) = &mut self.log {
            log.push(Added {
                asked: asked.to_string(),
                content: content.to_string(),
                digest: digest.to_string(),
                given: given.to_string(),
            });
        }
    }

    /// The path [`Files::add`] gives `content` (with `digest`) asked at
    /// `path`: `path` when it is free or holds that content, else `path`
    /// with a digest suffix, the first of these free or holding that
    /// content: 12 hex digits of the digest, all 64, then those and `-2`,
    /// `-3`... A recipe can write a file at the 12-digit name on purpose
    /// (the digest of another file's content is known in advance), and the
    /// file given that name later overwrote it, leaving the step that
    /// wrote it with another content than its digest says (found by stop
    /// 27's attacker review).
    pub fn given(&self, path: &str, content: &str, digest: &str) -> String {
        let holds = |candidate: &str| self.files.get(candidate).is_none_or(|(existing, _)| existing == content);
        if holds(path) {
            return path.to_string();
        }
        let hex = digest.get(3..).unwrap_or(digest);
        let short = format!("{path}.{}", hex.get(..12).unwrap_or(hex));
        if holds(&short) {
            return short;
        }
        let long = format!("{path}.{hex}");
        (1..)
            .map(|n| if n == 1 { long.clone() } else { format!("{long}-{n}") })
            .find(|candidate| holds(candidate))
            .unwrap_or(long)
    }

    /// No files, with the same output directory.
    pub fn empty(&self) -> Files {
        Files::new(&self.out_dir)
    }

    /// Starts logging every add.
    pub fn record(&mut self) {
        self.log = Some(Vec::new());
    }

    /// The adds logged since [`Files::record`]; logging stops.
    pub fn recorded(&mut self) -> Vec<Added> {
        self.log.take().unwrap_or_default()
    }

    /// The file at `path` if it holds `content` already.
    fn same(&self, path: &str, content: &str) -> Option<SupportFile> {
        let (existing, digest) = self.files.get(path)?;
        (existing == content)
            .then(|| SupportFile { context_path: format!("{}/{path}", self.out_dir), digest: digest.clone() })
    }

    /// One of aidc's helper scripts.
    pub fn script(&mut self, name: &str) -> SupportFile {
        let content = SCRIPTS.iter().find(|(n, _)| *n == name).map_or("", |(_, c)| c);
        let path = format!("scripts/{name}");
        match self.same(&path, content) {
            Some(file) => {
                self.log(&path, content, &file.digest, &path);
                file
            }
            None => self.add(&path, content.to_string()),
        }
    }

    /// The files of the workers that planned the images (each its images in
    /// the model's order), as planning them in a row gives them: `None`
    /// when a path holds different contents in two workers' (planned in a
    /// row, the later one would have been renamed). One sort of every
    /// entry, stable so that the first worker's comes first: taking them in
    /// one by one was 11,000 lookups and inserts into one map on one core.
    pub fn merged(chunks: impl IntoIterator<Item = Files>) -> Option<Files> {
        let mut chunks = chunks.into_iter();
        let first = chunks.next()?;
        let mut entries: Vec<(String, (String, String))> =
            first.files.into_iter().chain(chunks.flat_map(|chunk| chunk.files)).collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut kept: Vec<(String, (String, String))> = Vec::with_capacity(entries.len());
        for (path, file) in entries {
            match kept.last() {
                Some((last, (content, _))) if *last == path => {
                    if *content != file.0 {
                        return None;
                    }
                }
                _ => kept.push((path, file)),
            }
        }
        Some(Files { out_dir: first.out_dir, files: kept.into_iter().collect(), log: first.log })
    }

    /// The files by path, each with its digest.
    pub fn into_map(self) -> FileMap {
        self.files
    }
}

/// Support files by path relative to the output directory: (content, digest).
pub type FileMap = BTreeMap<String, (String, String)>;

/// A name safe as one path segment: `tools.ramalama` -> `tools.ramalama`,
/// anything outside `[A-Za-z0-9._-]` becomes `-`.
pub fn slug(name: &str) -> String {
    slug_with(name, false)
}

/// A stage name: like [`slug`], with `.` as `-` too (`kernel.longterm` -> `kernel-longterm`).
pub fn stage_slug(name: &str) -> String {
    slug_with(&name.to_ascii_lowercase(), true)
}

fn slug_with(name: &str, dots: bool) -> String {
    let s: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' || (c == '.' && !dots) { c } else { '-' })
        .collect();
    let s = s.trim_matches(|c| c == '.' || c == '-').to_string();
    if s.is_empty() { "x".to_string() } else { s }
}
