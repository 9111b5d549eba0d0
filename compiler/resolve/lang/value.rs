//! Values: what expressions evaluate to.

use std::fmt;
use std::rc::Rc;

use crate::maps::IndexMap;

use crate::source::Span;
use crate::syntax::ast::DefKind;

/// Index of a definition in the program.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DefId(pub usize);

/// Index of an image in the program.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageId(pub usize);

/// Index of a module in the program.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModuleId(pub usize);

/// A definition applied to its arguments: `cuda.runtime("13.0")`.
#[derive(Clone, Debug)]
pub struct Instance {
    pub def: DefId,
    pub kind: DefKind,
    /// `module.name` as users know it, e.g. `cuda.runtime`.
    pub name: String,
    /// Every parameter with its value (defaults filled in), in parameter
    /// order; shared with the environment of each component made from it
    /// (a copy for each was 0.6% of a large resolve).
    pub args: Rc<IndexMap<String, Value>>,
    /// Where it was called (or named, for a definition used without `()`).
    pub call: Span,
    /// Worked out once, when the instance is made: instances are shared, so
    /// an instance may hold another twice, and that one another twice, and a
    /// walk over the arguments unfolded would take 2^depth steps.
    summary: Summary,
}

#[derive(Clone, Copy, Debug)]
struct Summary {
    depth: usize,
    fingerprint: u64,
    unfolded: u64,
}

impl Instance {
    pub fn new(def: DefId, kind: DefKind, name: String, args: IndexMap<String, Value>, call: Span) -> Instance {
        let mut h = crate::maps::fingerprinter();
        std::hash::Hash::hash(&def, &mut h);
        std::hash::Hasher::write_u64(&mut h, map_fingerprint(&args));
        let summary = Summary {
            depth: super::budget::depth(args.values()),
            fingerprint: std::hash::Hasher::finish(&h),
            unfolded: args.values().fold(0, |sum: u64, v| sum.saturating_add(super::budget::unfolded(v))),
        };
        Instance { def, kind, name, args: Rc::new(args), call, summary }
    }

    /// Two uses of the same definition with the same arguments are one
    /// component. Costs up to [`Instance::unfolded`] when the two are equal
    /// but not the same instance; callers pay for that first.
    pub fn same_as(&self, other: &Instance) -> bool {
        std::ptr::eq(self, other)
            || (self.summary.fingerprint == other.summary.fingerprint
                && self.def == other.def
                && self.args == other.args)
    }

    /// [`Instance::same_as`], and every map in the arguments, however deep,
    /// written in the same order: what a memo needs before it reuses a
    /// result, since maps print and iterate in the order written
    /// (`{"a" = 1, "b" = 2}` and `{"b" = 2, "a" = 1}` are `==`, but the
    /// arguments of `l(...)` print differently). Costs what `same_as` does.
    pub fn identical(&self, other: &Instance) -> bool {
        std::ptr::eq(self, other)
            || (self.summary.fingerprint == other.summary.fingerprint
                && self.def == other.def
                && self.args.len() == other.args.len()
                && self.args.iter().zip(other.args.iter()).all(|((ka, a), (kb, b))| ka == kb && a.identical(b)))
    }

    /// A hash that agrees with [`Instance::same_as`]: equal instances have
    /// equal fingerprints. For lookups only; it never reaches the output.
    pub fn fingerprint(&self) -> u64 {
        self.summary.fingerprint
    }

    /// How deep the arguments nest.
    pub fn depth(&self) -> usize {
        self.summary.depth
    }

    /// The work of walking every argument, nested instances unfolded.
    pub fn unfolded(&self) -> u64 {
        self.summary.unfolded
    }
}

/// Maps compare equal whatever their order, so their entries' hashes are
/// summed, which does not depend on the order either.
fn map_fingerprint(map: &IndexMap<String, Value>) -> u64 {
    map.iter().fold(map.len() as u64, |sum, (k, v)| {
        let mut h = crate::maps::fingerprinter();
        std::hash::Hash::hash(k, &mut h);
        std::hash::Hasher::write_u64(&mut h, v.fingerprint());
        sum.wrapping_add(std::hash::Hasher::finish(&h))
    })
}

/// A reference to an image (and variant) of the project.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageRef {
    pub image: ImageId,
    pub variant: Option<String>,
    pub span: Span,
}

/// A value.
#[derive(Clone, Debug)]
pub enum Value {
    /// A string and the span of the expression that made it: the literal
    /// (through `let`s, parameters and tables), or the whole interpolating
    /// string. Diagnostics about the value point there; `==` ignores it.
    Str(String, Span),
    Int(i64),
    Bool(bool),
    /// Seconds.
    Duration(u64),
    /// A list and the span of the list expression that made it.
    List(Vec<Value>, Span),
    Map(IndexMap<String, Value>),
    /// A bare word with a fixed meaning: `allow`, `deny`, `rarely`, `mixed`, ...
    Symbol(&'static str),
    /// `secret("id")`: a build secret, never a value in the image.
    Secret(String),
    /// `file("path")`: a file of the build context.
    File(String),
    /// `script("path")`: a shell script of the build context.
    Script(String),
    /// `nonfree("reason")`: a license class.
    NonFree(String),
    Instance(Rc<Instance>),
    Image(ImageRef),
    Module(ModuleId),
}

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        use Value::*;
        match (self, other) {
            (Str(a, _), Str(b, _))
            | (Secret(a), Secret(b))
            | (File(a), File(b))
            | (Script(a), Script(b))
            | (NonFree(a), NonFree(b)) => a == b,
            (Int(a), Int(b)) => a == b,
            (Bool(a), Bool(b)) => a == b,
            (Duration(a), Duration(b)) => a == b,
            (List(a, _), List(b, _)) => a == b,
            (Map(a), Map(b)) => a == b,
            (Symbol(a), Symbol(b)) => a == b,
            (Instance(a), Instance(b)) => a.same_as(b),
            (Image(a), Image(b)) => a.image == b.image && a.variant == b.variant,
            (Module(a), Module(b)) => a == b,
            _ => false,
        }
    }
}

impl Value {
    /// `==`, and every map written in the same order (see
    /// [`Instance::identical`]).
    pub fn identical(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::List(a, _), Value::List(b, _)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.identical(y))
            }
            (Value::Map(a), Value::Map(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|((ka, x), (kb, y))| ka == kb && x.identical(y))
            }
            (Value::Instance(a), Value::Instance(b)) => a.identical(b),
            _ => self == other,
        }
    }

    /// A hash that agrees with `==`: equal values have equal fingerprints.
    pub fn fingerprint(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = crate::maps::fingerprinter();
        std::mem::discriminant(self).hash(&mut h);
        match self {
            Value::Str(s, _) | Value::Secret(s) | Value::File(s) | Value::Script(s) | Value::NonFree(s) => {
                s.hash(&mut h)
            }
            Value::Int(n) => n.hash(&mut h),
            Value::Bool(b) => b.hash(&mut h),
            Value::Duration(d) => d.hash(&mut h),
            Value::List(items, _) => {
                items.len().hash(&mut h);
                for item in items {
                    h.write_u64(item.fingerprint());
                }
            }
            Value::Map(entries) => h.write_u64(map_fingerprint(entries)),
            Value::Symbol(s) => s.hash(&mut h),
            Value::Instance(inst) => h.write_u64(inst.fingerprint()),
            Value::Image(r) => {
                r.image.hash(&mut h);
                r.variant.hash(&mut h);
            }
            Value::Module(m) => m.hash(&mut h),
        }
        h.finish()
    }
}

/// The bare words that evaluate to themselves.
pub const SYMBOLS: &[&str] = &["allow", "deny", "rarely", "monthly", "weekly", "often", "mixed"];

/// The parameter types of the language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    String,
    Int,
    Bool,
    List,
    Map,
    Duration,
}

impl Type {
    pub const NAMES: &'static [&'static str] = &["string", "int", "bool", "list", "map", "duration"];

    pub fn parse(name: &str) -> Option<Type> {
        Some(match name {
            "string" => Type::String,
            "int" => Type::Int,
            "bool" => Type::Bool,
            "list" => Type::List,
            "map" => Type::Map,
            "duration" => Type::Duration,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Type::String => "string",
            Type::Int => "int",
            Type::Bool => "bool",
            Type::List => "list",
            Type::Map => "map",
            Type::Duration => "duration",
        }
    }

    /// `an integer`, `a string`: for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Type::String => "a string",
            Type::Int => "an integer",
            Type::Bool => "a boolean",
            Type::List => "a list",
            Type::Map => "a map",
            Type::Duration => "a duration",
        }
    }

    pub fn accepts(self, value: &Value) -> bool {
        matches!(
            (self, value),
            (Type::String, Value::Str(..))
                | (Type::Int, Value::Int(_))
                | (Type::Bool, Value::Bool(_))
                | (Type::List, Value::List(..))
                | (Type::Map, Value::Map(_))
                | (Type::Duration, Value::Duration(_))
        )
    }
}

impl Value {
    /// The type name used in messages: `a string`, `a list`, `a layer`.
    pub fn describe(&self) -> String {
        match self {
            Value::Str(..) => "a string".into(),
            Value::Int(_) => "an integer".into(),
            Value::Bool(_) => "a boolean".into(),
            Value::Duration(_) => "a duration".into(),
            Value::List(..) => "a list".into(),
            Value::Map(_) => "a map".into(),
            Value::Symbol(s) => format!("the word `{s}`"),
            Value::Secret(_) => "a secret".into(),
            Value::File(_) => "a file".into(),
            Value::Script(_) => "a script".into(),
            Value::NonFree(_) => "a license class".into(),
            Value::Instance(i) => format!("the {} `{}`", i.kind.keyword(), i.name),
            Value::Image(_) => "an image".into(),
            Value::Module(_) => "a module".into(),
        }
    }

    /// Where the value was written, when it keeps that: a string's literal
    /// or a list's brackets, wherever the value travelled since.
    pub fn origin(&self) -> Option<Span> {
        match self {
            Value::Str(_, at) | Value::List(_, at) => Some(*at),
            Value::Image(r) => Some(r.span),
            _ => None,
        }
    }

    /// The text of the value inside `${...}`, if it has one.
    pub fn interpolate(&self) -> Option<String> {
        match self {
            Value::Str(s, _) => Some(s.clone()),
            Value::Int(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Symbol(s) => Some(s.to_string()),
            Value::Duration(d) => Some(format_duration(*d)),
            _ => None,
        }
    }
}

/// `5400` -> `1h30m`.
pub fn format_duration(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    out
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s, _) => write!(f, "\"{}\"", s.escape_debug()),
            Value::Int(n) => write!(f, "{n}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Duration(d) => write!(f, "{}", format_duration(*d)),
            Value::List(items, _) => {
                write!(f, "[")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{v}")?;
                }
                write!(f, "]")
            }
            Value::Map(m) => {
                write!(f, "{{")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        write!(f, ",")?;
                    }
                    write!(f, " \"{}\" = {v}", k.escape_debug())?;
                }
                write!(f, " }}")
            }
            Value::Symbol(s) => write!(f, "{s}"),
            Value::Secret(s) => write!(f, "secret(\"{s}\")"),
            Value::File(s) => write!(f, "file(\"{s}\")"),
            Value::Script(s) => write!(f, "script(\"{s}\")"),
            Value::NonFree(s) => write!(f, "nonfree(\"{s}\")"),
            Value::Instance(i) => write!(f, "{}", i.name),
            Value::Image(_) => write!(f, "<image>"),
            Value::Module(_) => write!(f, "<module>"),
        }
    }
}
