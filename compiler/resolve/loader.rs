//! Loading modules: the entry files, then every import, each file read and
//! parsed once. The core does no IO itself: it asks a [`Loader`].

use crate::maps::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diag::{Code, Diagnostic, Diagnostics};
pub use crate::paths::{display_path, normalize, relative_to};
use crate::source::{Origin, SourceFile, SourceId, SourceMap, Span};
use crate::syntax::{self, ast};

use super::value::ModuleId;

/// How the core reads files; the CLI implements it on the file system, tests
/// in memory.
pub trait Loader {
    /// The bytes of the file at `path`, or why not.
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>>;
}

/// Where imports are looked up.
#[derive(Clone, Debug, Default)]
pub struct SearchPath {
    /// `--stdlib DIR`: read `std/NAME` from `DIR/NAME.aid` instead of the binary.
    pub stdlib_dir: Option<PathBuf>,
    /// `--lib DIR` (in order), then the entries of `AID_PATH`.
    pub lib_dirs: Vec<PathBuf>,
}

/// One loaded module.
#[derive(Debug)]
pub struct LoadedModule {
    pub source: SourceId,
    /// `std/cuda` for stdlib modules, the normalised path otherwise.
    pub key: String,
    /// The directory relative imports and context paths start from.
    pub dir: PathBuf,
    pub ast: ast::Module,
    /// Resolved imports: binding name, its span, the module.
    pub imports: Vec<(String, Span, ModuleId)>,
    pub is_std: bool,
}

/// All modules of a compilation.
#[derive(Debug, Default)]
pub struct Loaded {
    pub sources: SourceMap,
    pub modules: Vec<LoadedModule>,
    /// The entry modules, in the order given.
    pub roots: Vec<ModuleId>,
}

struct LoadState<'a> {
    loader: &'a dyn Loader,
    search: &'a SearchPath,
    out: Loaded,
    by_key: HashMap<String, ModuleId>,
    diagnostics: Diagnostics,
}

/// Loads the entry files and everything they import. An entry that cannot
/// be read is returned as an error (a usage error for the CLI).
pub fn load(entries: &[PathBuf], loader: &dyn Loader, search: &SearchPath) -> Result<(Loaded, Diagnostics), String> {
    let mut state = LoadState {
        loader,
        search,
        out: Loaded::default(),
        by_key: HashMap::default(),
        diagnostics: Diagnostics::default(),
    };
    for entry in entries {
        // A recipe's path reaches the outputs (headers, manifests): no line breaks in it.
        if entry.as_os_str().as_encoded_bytes().iter().any(|b| *b < 0x20 || *b == 0x7f) {
            return Err(format!(
                "`{}` has a control character in its path; rename it (its name reaches the outputs)",
                display_path(entry).escape_debug()
            ));
        }
        let path = normalize(entry);
        let bytes =
            loader.read(&path).map_err(|e| format!("cannot read `{}`: {}", display_path(entry), io_reason(&e)))?;
        let id = state.add_file(&path, bytes, false);
        if !state.out.roots.contains(&id) {
            state.out.roots.push(id);
        }
    }
    // Imports, breadth-first over newly added modules.
    let mut next = 0;
    while next < state.out.modules.len() {
        state.resolve_imports(ModuleId(next));
        next += 1;
    }
    state.check_cycles();
    Ok((state.out, state.diagnostics))
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::IsADirectory => "it is a directory".into(),
        _ => e.to_string(),
    }
}

impl LoadState<'_> {
    /// Adds a file (already read), parses it, and returns its module id.
    fn add_file(&mut self, path: &Path, bytes: Vec<u8>, is_std: bool) -> ModuleId {
        let key = if is_std { path.to_string_lossy().into_owned() } else { display_path(path) };
        if let Some(id) = self.by_key.get(&key) {
            return *id;
        }
        // NUL bytes are refused; in a file that is otherwise valid UTF-8 they
        // are shown as `␀`, so the message stays printable text. (Offsets before
        // the first NUL, where its label points, do not move.)
        // A file over the size limit is refused without showing any of it
        // (its first line may be megabytes long).
        let shown = match std::str::from_utf8(&bytes) {
            _ if bytes.len() > syntax::MAX_FILE_SIZE => String::new(),
            Ok(t) => t.replace('\0', "\u{2400}"),
            Err(_) => String::from_utf8_lossy(&bytes).into_owned(),
        };
        let text: Arc<str> = Arc::from(shown.as_str());
        let origin = if is_std { Origin::Std } else { Origin::File };
        let name = if is_std { format!("{key}.aid") } else { key.clone() };
        let source = self.out.sources.add(SourceFile::new(name, origin, text.clone()));
        let (ast, diags) = match syntax::decode(source, &bytes) {
            Ok(text) if is_std => match crate::stdlib::parsed(text, source) {
                Some(module) => (module, Vec::new()),
                None => syntax::parse(source, text),
            },
            Ok(text) => syntax::parse(source, text),
            Err(mut d) => {
                if d.code == crate::diag::Code::NulByte
                    && let Some(l) = d.labels.first_mut()
                {
                    l.span.end = l.span.start + '\u{2400}'.len_utf8() as u32;
                }
                (ast::Module { source: Some(source), ..ast::Module::default() }, vec![d])
            }
        };
        for d in diags {
            self.diagnostics.push(d);
        }
        let dir = if is_std { PathBuf::new() } else { path.parent().map(Path::to_path_buf).unwrap_or_default() };
        let id = ModuleId(self.out.modules.len());
        self.out.modules.push(LoadedModule { source, key: key.clone(), dir, ast, imports: Vec::new(), is_std });
        self.by_key.insert(key, id);
        id
    }

    fn resolve_imports(&mut self, id: ModuleId) {
        let module = &self.out.modules[id.0];
        let importer_std = module.is_std;
        let dir = module.dir.clone();
        let imports: Vec<ast::Import> = module
            .ast
            .items
            .iter()
            .filter_map(|i| match &i.kind {
                ast::ItemKind::Import(imp) => Some(imp.clone()),
                _ => None,
            })
            .collect();
        let mut bound: HashMap<String, Span> = HashMap::default();
        for imp in imports {
            let Some(target) = self.find(&imp, &dir, importer_std) else {
                continue;
            };
            let binding = match &imp.alias {
                Some(a) => a.name.clone(),
                None => default_binding(&imp.path),
            };
            let binding_span = imp.alias.as_ref().map_or(imp.path_span, |a| a.span);
            if let Some(first) = bound.get(&binding) {
                self.diagnostics.push(
                    Diagnostic::error(Code::DuplicateImport, format!("two imports are both named `{binding}`"))
                        .label(binding_span, "this import")
                        .label(*first, "is already bound here")
                        .help(format!("give one of them another name: `import \"{}\" as OTHER`", imp.path)),
                );
                continue;
            }
            bound.insert(binding.clone(), binding_span);
            self.out.modules[id.0].imports.push((binding, imp.path_span, target));
        }
    }

    /// Finds and loads the module an import names.
    fn find(&mut self, imp: &ast::Import, dir: &Path, importer_std: bool) -> Option<ModuleId> {
        let path = imp.path.as_str();
        let bad = |msg: &str, help: &str| {
            Diagnostic::error(Code::ImportPath, msg.to_string())
                .label(imp.path_span, "this import")
                .help(help.to_string())
        };
        if path.chars().any(char::is_control) {
            self.diagnostics.push(bad(
                "an import path cannot contain a control character (a line break could forge lines in the outputs)",
                "name the module by a path of printable characters",
            ));
            return None;
        }
        if path.is_empty() || path.starts_with('/') || path.contains('\\') || path.contains('\0') {
            self.diagnostics.push(bad(
                "an import path is relative: `std/NAME`, `./file.aid` or a library path",
                "write `import \"std/fedora\"`, `import \"./site.aid\"` or `import \"lib/x\"`",
            ));
            return None;
        }
        if let Some(name) = path.strip_prefix("std/") {
            if let Some(dir) = &self.search.stdlib_dir {
                let file = dir.join(format!("{name}.aid"));
                return self.read_file(&file, imp, true, name);
            }
            return match crate::stdlib::module(name) {
                Some(text) => Some(self.add_file(Path::new(&format!("std/{name}")), text.as_bytes().to_vec(), true)),
                None => {
                    let known: Vec<&str> = crate::stdlib::MODULES.iter().map(|(n, _)| *n).collect();
                    let mut d =
                        Diagnostic::error(Code::ImportNotFound, format!("the standard library has no module `{path}`"))
                            .label(imp.path_span, "not in the standard library");
                    d = match crate::diag::suggest(name, known.iter().copied()) {
                        Some(s) => d.help(format!("did you mean `std/{s}`?")),
                        None => d.help(format!(
                            "the stdlib modules are: {}",
                            known.iter().map(|k| format!("`std/{k}`")).collect::<Vec<_>>().join(", ")
                        )),
                    };
                    self.diagnostics.push(d);
                    None
                }
            };
        }
        if path.starts_with("./") || path.starts_with("../") {
            // Only modules are read: never a credentials file, `/proc/...` or a device.
            if !path.ends_with(".aid") {
                self.diagnostics.push(bad(
                    "a relative import names a module file, which ends in `.aid`",
                    "write the module's file name, like `import \"./site.aid\"`",
                ));
                return None;
            }
            if importer_std && self.search.stdlib_dir.is_none() {
                self.diagnostics.push(bad("a stdlib module can only import `std/` modules", "import `std/NAME`"));
                return None;
            }
            let file = normalize(&dir.join(path));
            return self.read_file(&file, imp, false, path);
        }
        // A library path: the first `--lib` / `AID_PATH` directory that has it.
        if path.split('/').any(|s| s == ".." || s == ".") {
            self.diagnostics.push(bad(
                "a library path names a module inside a library directory; it has no `.` or `..` segments",
                "write `import \"lib/x\"`, or `./` / `../` for a file next to this one",
            ));
            return None;
        }
        let file_name = if path.ends_with(".aid") { path.to_string() } else { format!("{path}.aid") };
        let mut tried = Vec::new();
        for lib in &self.search.lib_dirs {
            let candidate = normalize(&lib.join(&file_name));
            if self.loader.read(&candidate).is_ok() {
                return self.read_file(&candidate, imp, false, path);
            }
            tried.push(display_path(&candidate));
        }
        let help = if tried.is_empty() {
            "no library directory is set: pass `--lib DIR` or set `AID_PATH`; for a file next to this one write `./NAME.aid`".to_string()
        } else {
            format!("looked in: {}; for a file next to this one write `./{file_name}`", tried.join(", "))
        };
        self.diagnostics.push(
            Diagnostic::error(Code::ImportNotFound, format!("cannot find module `{path}`"))
                .label(imp.path_span, "imported here")
                .help(help),
        );
        None
    }

    fn read_file(&mut self, file: &Path, imp: &ast::Import, is_std: bool, shown: &str) -> Option<ModuleId> {
        let key_path = if is_std { PathBuf::from(format!("std/{shown}")) } else { file.to_path_buf() };
        let key = display_path(&key_path);
        if let Some(id) = self.by_key.get(&key) {
            return Some(*id);
        }
        match self.loader.read(file) {
            Ok(bytes) => Some(self.add_file(&key_path, bytes, is_std)),
            Err(e) => {
                let (code, message) = if e.kind() == std::io::ErrorKind::NotFound {
                    (Code::ImportNotFound, format!("cannot find module `{shown}`"))
                } else {
                    (Code::ImportUnreadable, format!("cannot read module `{shown}`: {}", io_reason(&e)))
                };
                self.diagnostics.push(
                    Diagnostic::error(code, message)
                        .label(imp.path_span, "imported here")
                        .help(format!("looked for `{}`", display_path(file))),
                );
                None
            }
        }
    }

    /// Reports every import cycle once, with the whole chain.
    fn check_cycles(&mut self) {
        let n = self.out.modules.len();
        // 0 = unvisited, 1 = on stack, 2 = done
        let mut state = vec![0u8; n];
        let mut reported: Vec<Vec<usize>> = Vec::new();
        for start in 0..n {
            if state[start] != 0 {
                continue;
            }
            // Iterative DFS: (module, next import index)
            let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
            state[start] = 1;
            while let Some(&mut (m, ref mut i)) = stack.last_mut() {
                let imports = &self.out.modules[m].imports;
                if *i < imports.len() {
                    let (_, span, target) = imports[*i].clone();
                    *i += 1;
                    match state[target.0] {
                        0 => {
                            state[target.0] = 1;
                            stack.push((target.0, 0));
                        }
                        1 => {
                            let pos = stack.iter().position(|(x, _)| *x == target.0).unwrap_or(0);
                            let mut cycle: Vec<usize> = stack[pos..].iter().map(|(x, _)| *x).collect();
                            let mut key = cycle.clone();
                            key.sort();
                            if reported.contains(&key) {
                                continue;
                            }
                            reported.push(key);
                            cycle.push(target.0);
                            let chain: Vec<String> = cycle
                                .iter()
                                .map(|x| self.out.sources.get(self.out.modules[*x].source).name.clone())
                                .collect();
                            self.diagnostics.push(
                                Diagnostic::error(Code::ImportCycle, format!("import cycle: {}", chain.join(" -> ")))
                                    .label(span, "this import closes the cycle")
                                    .help("modules cannot import each other; move what both need into a third module"),
                            );
                        }
                        _ => {}
                    }
                } else {
                    state[m] = 2;
                    stack.pop();
                }
            }
        }
    }
}

/// `std/cuda` -> `cuda`; `./site.aid` -> `site`; `../ai-desktop/image.aid` -> `image`.
fn default_binding(path: &str) -> String {
    let last = path.rsplit('/').next().unwrap_or(path);
    last.strip_suffix(".aid").unwrap_or(last).to_string()
}
