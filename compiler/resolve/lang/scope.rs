//! The program's name tables: every definition, image, `let` and import of
//! every module, bound by name, with duplicates and malformed names reported.

use crate::maps::IndexMap;

use super::loader::Loaded;
use super::value::{DefId, ImageId, ModuleId};
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::source::Span;
use crate::syntax::ast;

/// What a name in a module's scope stands for.
#[derive(Clone, Copy, Debug)]
pub enum Binding {
    Module(ModuleId),
    /// The index of the `let` in [`Program::lets`] of the module.
    Let(usize),
    Def(DefId),
    Image(ImageId),
}

/// A definition and where it lives.
#[derive(Debug)]
pub struct DefInfo<'a> {
    pub module: ModuleId,
    pub def: &'a ast::Definition,
    /// Its `///` lines, made once and shared by every component made
    /// from it (a copy for each was a large resolve's most copied text).
    pub docs: std::sync::Arc<[String]>,
    /// `cuda.runtime`: module binding and name, as users call it.
    pub qualified: String,
}

#[derive(Debug)]
pub struct ImageInfo<'a> {
    pub module: ModuleId,
    pub image: &'a ast::Image,
    pub docs: &'a [String],
}

/// All modules with their scopes.
#[derive(Debug)]
pub struct Program<'a> {
    pub loaded: &'a Loaded,
    pub defs: Vec<DefInfo<'a>>,
    pub images: Vec<ImageInfo<'a>>,
    /// Per module: name -> (binding, where it is bound).
    pub scopes: Vec<IndexMap<String, (Binding, Span)>>,
    /// Per module: its `let` items.
    pub lets: Vec<Vec<&'a ast::Let>>,
    /// Per module: its `pipeline` blocks.
    pub pipelines: Vec<Vec<&'a ast::Pipeline>>,
}

/// The short name a module is known by in qualified names: `cuda` for
/// `std/cuda`, the file stem otherwise.
pub fn module_short_name(loaded: &Loaded, id: ModuleId) -> String {
    let key = &loaded.modules[id.0].key;
    let last = key.rsplit('/').next().unwrap_or(key);
    last.strip_suffix(".aid").unwrap_or(last).to_string()
}

/// Names of definitions, lets and parameters: lowercase kebab or snake case.
pub fn check_name(name: &crate::syntax::ast::Ident, what: &str, strict_kebab: bool, diags: &mut Diagnostics) {
    let n = &name.name;
    let ok_start = n.starts_with(|c: char| c.is_ascii_lowercase() || (!strict_kebab && c == '_'));
    let ok_chars =
        n.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || (!strict_kebab && c == '_'));
    let ok_end = !n.ends_with('-') && !n.contains("--");
    if ok_start && ok_chars && ok_end && n.len() <= 63 {
        return;
    }
    // A suggestion that follows every rule, the length too: never the name itself.
    let mut suggestion: String = n
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| if c.is_ascii_lowercase() || c.is_ascii_digit() || (!strict_kebab && c == '_') { c } else { '-' })
        .collect();
    while suggestion.contains("--") {
        suggestion = suggestion.replace("--", "-");
    }
    let mut suggestion = suggestion.trim_matches('-').to_string();
    if !suggestion.starts_with(|c: char| c.is_ascii_lowercase() || (!strict_kebab && c == '_')) {
        suggestion.insert_str(0, "x-");
    }
    suggestion.truncate(63);
    let suggestion = suggestion.trim_end_matches('-').to_string();
    let rule = if strict_kebab {
        "lowercase letters, digits and `-`, starting with a letter, at most 63 characters (it becomes a build target and a Konflux component name)"
    } else {
        "lowercase letters, digits, `-` and `_`, starting with a letter or `_`, at most 63 characters"
    };
    diags.push(
        Diagnostic::error(Code::InvalidName, format!("`{n}` is not a valid {what} name"))
            .label(name.span, format!("{what} names use {rule}"))
            .help(if n.len() > 63 {
                format!("shorten it to at most 63 characters, for example to `{suggestion}`")
            } else {
                format!("rename it, for example to `{suggestion}`")
            }),
    );
}

impl<'a> Program<'a> {
    pub fn build(loaded: &'a Loaded, diags: &mut Diagnostics) -> Program<'a> {
        let mut program = Program {
            loaded,
            defs: Vec::new(),
            images: Vec::new(),
            scopes: Vec::new(),
            lets: Vec::new(),
            pipelines: Vec::new(),
        };
        for (index, module) in loaded.modules.iter().enumerate() {
            let id = ModuleId(index);
            let short = module_short_name(loaded, id);
            let mut scope: IndexMap<String, (Binding, Span)> = IndexMap::default();
            let mut lets = Vec::new();
            let mut pipelines = Vec::new();
            let bind = |scope: &mut IndexMap<String, (Binding, Span)>,
                        name: &ast::Ident,
                        binding: Binding,
                        diags: &mut Diagnostics| {
                if let Some((_, first)) = scope.get(&name.name) {
                    diags.push(
                        Diagnostic::error(Code::DuplicateDefinition, format!("`{}` is defined twice", name.name))
                            .label(name.span, "defined again here")
                            .label(*first, "first defined here")
                            .help("rename one of them; names are unique within a module (imports included)"),
                    );
                    return;
                }
                scope.insert(name.name.clone(), (binding, name.span));
            };
            for (binding, span, target) in &module.imports {
                let ident = ast::Ident { name: binding.clone(), span: *span };
                bind(&mut scope, &ident, Binding::Module(*target), diags);
            }
            for item in &module.ast.items {
                match &item.kind {
                    ast::ItemKind::Import(_) => {}
                    ast::ItemKind::Let(l) => {
                        check_name(&l.name, "`let`", false, diags);
                        bind(&mut scope, &l.name, Binding::Let(lets.len()), diags);
                        lets.push(l);
                    }
                    ast::ItemKind::Definition(d) => {
                        check_name(&d.name, d.kind.keyword(), false, diags);
                        let def = DefId(program.defs.len());
                        let qualified = if loaded.roots.contains(&id) {
                            d.name.name.clone()
                        } else {
                            format!("{short}.{}", d.name.name)
                        };
                        program.defs.push(DefInfo { module: id, def: d, docs: item.docs.as_slice().into(), qualified });
                        bind(&mut scope, &d.name, Binding::Def(def), diags);
                    }
                    ast::ItemKind::Image(img) => {
                        check_name(&img.name, "image", true, diags);
                        let image = ImageId(program.images.len());
                        program.images.push(ImageInfo { module: id, image: img, docs: &item.docs });
                        bind(&mut scope, &img.name, Binding::Image(image), diags);
                    }
                    ast::ItemKind::Pipeline(p) => pipelines.push(p),
                }
            }
            program.scopes.push(scope);
            program.lets.push(lets);
            program.pipelines.push(pipelines);
        }
        program
    }

    pub fn source_name(&self, module: ModuleId) -> &str {
        &self.loaded.sources.get(self.loaded.modules[module.0].source).name
    }
}
