//! Which statements and properties each kind of body accepts.

use crate::syntax::ast::{DefKind, StmtKind};

/// The kinds of bodies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyKind {
    Def(DefKind),
    Image,
    Variant,
    Pipeline,
}

impl BodyKind {
    pub fn describe(self) -> &'static str {
        match self {
            BodyKind::Def(DefKind::Base) => "a `base`",
            BodyKind::Def(DefKind::Repo) => "a `repo`",
            BodyKind::Def(DefKind::Kernel) => "a `kernel`",
            BodyKind::Def(DefKind::Kmod) => "a `kmod`",
            BodyKind::Def(DefKind::Layer) => "a `layer`",
            BodyKind::Image => "an `image`",
            BodyKind::Variant => "a `variant`",
            BodyKind::Pipeline => "a `pipeline`",
        }
    }
}

use BodyKind as B;
use DefKind as D;

const IMAGE_LIKE: &[BodyKind] = &[B::Image, B::Variant];
const CONTENT: &[BodyKind] = &[B::Image, B::Variant, B::Def(D::Layer), B::Def(D::Kmod)];
const PACKAGES: &[BodyKind] = &[B::Image, B::Variant, B::Def(D::Layer), B::Def(D::Kmod), B::Def(D::Kernel)];
const FACTS: &[BodyKind] =
    &[B::Image, B::Variant, B::Def(D::Layer), B::Def(D::Kmod), B::Def(D::Kernel), B::Def(D::Base)];
const ORDERED: &[BodyKind] = &[B::Def(D::Layer), B::Def(D::Kmod)];

/// The bodies a statement may appear in; `None` for properties (checked by name).
pub fn allowed_in(kind: &StmtKind) -> Option<&'static [BodyKind]> {
    Some(match kind {
        StmtKind::From(_) => &[B::Image],
        StmtKind::Variant { .. } => &[B::Image],
        StmtKind::Kernel(_) | StmtKind::Kmod(_) | StmtKind::Signing(_) | StmtKind::Policy(_) => IMAGE_LIKE,
        StmtKind::Use(_) => CONTENT,
        StmtKind::Repo(_) | StmtKind::Packages(_) => PACKAGES,
        StmtKind::Remove(_) => &[B::Image, B::Variant, B::Def(D::Layer)],
        StmtKind::Fetch { .. }
        | StmtKind::Copy { .. }
        | StmtKind::Write { .. }
        | StmtKind::Run(_)
        | StmtKind::Enable(_)
        | StmtKind::Disable(_)
        | StmtKind::Kargs(_)
        | StmtKind::Flatpak(_)
        | StmtKind::Env { .. }
        | StmtKind::Label { .. } => CONTENT,
        StmtKind::Provides { .. } | StmtKind::Requires { .. } => FACTS,
        StmtKind::After(_) => ORDERED,
        StmtKind::Property { .. } => return None,
    })
}

/// "in an `image` or a `variant`" for the help of a misplaced statement.
pub fn where_allowed(bodies: &[BodyKind]) -> String {
    let names: Vec<&str> = bodies.iter().map(|b| b.describe()).collect();
    match names.len() {
        0 => "nowhere".into(),
        1 => format!("in {}", names[0]),
        n => format!("in {} or {}", names[..n - 1].join(", "), names[n - 1]),
    }
}

/// The type a property takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PropType {
    Str,
    Bool,
    StrList,
    Duration,
    /// `rarely`, `monthly`, `weekly`, `often`.
    Changes,
    /// An SPDX string, `nonfree("...")`, or (repos) `mixed`.
    License,
    /// A map (the pipeline block's `resources`; checked where it is read).
    Map,
}

const METADATA: &[(&str, PropType)] = &[
    ("description", PropType::Str),
    ("license", PropType::License),
    ("telemetry", PropType::Bool),
    ("remote-ai", PropType::Bool),
    ("changes", PropType::Changes),
    ("version", PropType::Str),
    ("homepage", PropType::Str),
];

/// The properties a body kind accepts, beyond the metadata every definition has.
pub fn properties(kind: BodyKind) -> Vec<(&'static str, PropType)> {
    let own: &[(&str, PropType)] = match kind {
        B::Def(D::Base) => &[
            ("image", PropType::Str),
            ("builder", PropType::Str),
            ("arch", PropType::Str),
            ("repofiles", PropType::Map),
        ],
        B::Def(D::Repo) => &[
            ("id", PropType::Str),
            ("url", PropType::Str),
            ("baseurl", PropType::Str),
            ("gpgkey", PropType::Str),
            ("copr", PropType::Str),
            ("flatpakrepo", PropType::Str),
            ("sha256", PropType::Str),
            ("file", PropType::Str),
            ("keep", PropType::Bool),
        ],
        B::Def(D::Kernel) => &[("package", PropType::Str), ("vendor-signed", PropType::Bool)],
        B::Def(D::Kmod) => &[
            ("module", PropType::Str),
            ("akmod", PropType::Str),
            ("module-variant", PropType::Str),
            ("build-packages", PropType::StrList),
        ],
        B::Def(D::Layer) => &[],
        B::Image | B::Variant => &[("description", PropType::Str)],
        B::Pipeline => &[
            ("application", PropType::Str),
            ("registry", PropType::Str),
            ("platforms", PropType::StrList),
            ("branch", PropType::Str),
            ("timeout", PropType::Duration),
            ("namespace", PropType::Str),
            ("repository", PropType::Str),
            ("resources", PropType::Map),
            ("hermetic", PropType::Bool),
            ("keys", PropType::Map),
        ],
    };
    let mut all: Vec<(&str, PropType)> = own.to_vec();
    if matches!(kind, B::Def(_)) {
        all.extend_from_slice(METADATA);
    }
    all
}
