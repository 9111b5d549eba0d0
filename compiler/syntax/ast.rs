//! The syntax tree of one `.aid` module, with spans. It says what was
//! written, nothing more: names are unresolved and values unevaluated.

use crate::source::{SourceId, Span};

/// One parsed file.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Module {
    /// Not encoded: an embedded parse is given its file when it is decoded.
    #[serde(skip)]
    pub source: Option<SourceId>,
    /// The `//!` lines at the top, without their marker.
    pub docs: Vec<String>,
    pub items: Vec<Item>,
}

/// A name as written, with where it was written.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A top-level item of a module.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Item {
    /// `///` lines before the item, without their marker.
    pub docs: Vec<String>,
    pub kind: ItemKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum ItemKind {
    Import(Import),
    Let(Let),
    Definition(Definition),
    Image(Image),
    Pipeline(Pipeline),
}

/// `import "std/cuda"` or `import "./site.aid" as site`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Import {
    pub path: String,
    pub path_span: Span,
    pub alias: Option<Ident>,
}

/// `let NAME = EXPR`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Let {
    pub name: Ident,
    pub value: Expr,
}

/// The kinds of reusable definitions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DefKind {
    Base,
    Repo,
    Kernel,
    Kmod,
    Layer,
}

impl DefKind {
    pub fn keyword(self) -> &'static str {
        match self {
            DefKind::Base => "base",
            DefKind::Repo => "repo",
            DefKind::Kernel => "kernel",
            DefKind::Kmod => "kmod",
            DefKind::Layer => "layer",
        }
    }
}

/// `KIND NAME(PARAMS) { BODY }`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Definition {
    pub kind: DefKind,
    pub name: Ident,
    /// `None` when written without parentheses.
    pub params: Option<Vec<Param>>,
    pub params_span: Option<Span>,
    pub body: Block,
}

/// `NAME: TYPE = DEFAULT`, type and default optional.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Param {
    pub name: Ident,
    pub ty: Option<Ident>,
    pub default: Option<Expr>,
    pub span: Span,
}

/// `image NAME { BODY }`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Image {
    pub name: Ident,
    pub body: Block,
}

/// `pipeline KIND { BODY }`; `konflux` is the only kind so far.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Pipeline {
    pub kind: Ident,
    pub body: Block,
}

/// `{ STMT* }`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Block {
    pub stmts: Vec<Stmt>,
    pub span: Span,
}

/// One statement of a body.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Stmt {
    pub docs: Vec<String>,
    pub kind: StmtKind,
    /// The keyword (or property name) that starts the statement.
    pub keyword: Span,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum StmtKind {
    From(Expr),
    Kernel(Expr),
    Kmod(Expr),
    Signing(Vec<Entry>),
    Use(Expr),
    Repo(Expr),
    Packages(Expr),
    Remove(Expr),
    // The operands of the statements with three or more are boxed: a
    // statement is as large as its largest kind, and five `Expr`s made
    // every statement 368 bytes (a large recipe's most allocated type).
    Fetch {
        url: Box<Expr>,
        sha256: Option<Box<Expr>>,
        extract: Option<Box<Expr>>,
        to: Box<Expr>,
        mode: Option<Box<Expr>>,
    },
    Copy {
        src: Box<Expr>,
        to: Box<Expr>,
        mode: Option<Box<Expr>>,
    },
    Write {
        dest: Box<Expr>,
        content: Box<Expr>,
        mode: Option<Box<Expr>>,
    },
    Run(Expr),
    Enable(Expr),
    Disable(Expr),
    Kargs(Expr),
    Flatpak(Expr),
    Env {
        name: Ident,
        value: Expr,
    },
    Label {
        key: Expr,
        value: Expr,
    },
    Provides {
        name: Ident,
        value: Expr,
    },
    Requires {
        condition: Expr,
        message: Expr,
    },
    After(Vec<Ident>),
    Policy(Vec<Entry>),
    Variant {
        name: Ident,
        extends: Option<Ident>,
        body: Block,
    },
    Property {
        name: Ident,
        value: Expr,
    },
}

impl StmtKind {
    /// `fetch URL [sha256 ...] [extract ...] to DEST [mode ...]`, its operands boxed.
    pub fn fetch(url: Expr, sha256: Option<Expr>, extract: Option<Expr>, to: Expr, mode: Option<Expr>) -> StmtKind {
        StmtKind::Fetch {
            url: Box::new(url),
            sha256: sha256.map(Box::new),
            extract: extract.map(Box::new),
            to: Box::new(to),
            mode: mode.map(Box::new),
        }
    }

    /// `copy SRC to DEST [mode ...]`, its operands boxed.
    pub fn copy(src: Expr, to: Expr, mode: Option<Expr>) -> StmtKind {
        StmtKind::Copy { src: Box::new(src), to: Box::new(to), mode: mode.map(Box::new) }
    }

    /// `write DEST CONTENT [mode ...]`, its operands boxed.
    pub fn write(dest: Expr, content: Expr, mode: Option<Expr>) -> StmtKind {
        StmtKind::Write { dest: Box::new(dest), content: Box::new(content), mode: mode.map(Box::new) }
    }

    /// The word users know the statement by, as used in messages.
    pub fn keyword(&self) -> &'static str {
        match self {
            StmtKind::From(_) => "from",
            StmtKind::Kernel(_) => "kernel",
            StmtKind::Kmod(_) => "kmod",
            StmtKind::Signing(_) => "signing",
            StmtKind::Use(_) => "use",
            StmtKind::Repo(_) => "repo",
            StmtKind::Packages(_) => "packages",
            StmtKind::Remove(_) => "remove",
            StmtKind::Fetch { .. } => "fetch",
            StmtKind::Copy { .. } => "copy",
            StmtKind::Write { .. } => "write",
            StmtKind::Run(_) => "run",
            StmtKind::Enable(_) => "enable",
            StmtKind::Disable(_) => "disable",
            StmtKind::Kargs(_) => "kargs",
            StmtKind::Flatpak(_) => "flatpak",
            StmtKind::Env { .. } => "env",
            StmtKind::Label { .. } => "label",
            StmtKind::Provides { .. } => "provides",
            StmtKind::Requires { .. } => "requires",
            StmtKind::After(_) => "after",
            StmtKind::Policy(_) => "policy",
            StmtKind::Variant { .. } => "variant",
            StmtKind::Property { .. } => "property",
        }
    }
}

/// `NAME = EXPR` inside `signing { }` and `policy { }`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Entry {
    pub name: Ident,
    pub value: Expr,
}

/// An expression with its span.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum ExprKind {
    /// A string; one part per literal run or `${...}`.
    Str(Vec<StrPart>),
    Int(i64),
    Bool(bool),
    /// A duration in seconds.
    Duration(u64),
    List(Vec<Expr>),
    Map(Vec<MapEntry>),
    Name(String),
    Field(Box<Expr>, Ident),
    Index(Box<Expr>, Box<Expr>),
    Call(Box<Expr>, Vec<Arg>),
    Compare(Box<Expr>, CmpOp, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum StrPart {
    Lit(String),
    Interp(Expr),
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MapEntry {
    pub key: String,
    pub key_span: Span,
    pub value: Expr,
}

/// A call argument, positional or named.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Arg {
    pub name: Option<Ident>,
    pub value: Expr,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

impl Expr {
    /// The literal text of a string without interpolations.
    pub fn as_plain_str(&self) -> Option<String> {
        match &self.kind {
            ExprKind::Str(parts) => {
                let mut s = String::new();
                for p in parts {
                    match p {
                        StrPart::Lit(l) => s.push_str(l),
                        StrPart::Interp(_) => return None,
                    }
                }
                Some(s)
            }
            _ => None,
        }
    }
}
