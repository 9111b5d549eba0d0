//! Where a diagnostic about a value points: where the value was written
//! (its literal, carried through `let`s, parameters and tables) and where it
//! is used, so a bad argument of a stdlib layer is reported at the argument
//! in the recipe, not at the statement inside the layer.

use super::eval::Evaluator;
use super::value::Value;
use crate::diag::Diagnostic;
use crate::source::{Origin, Span};

/// A value's two places: `written`, the expression it was made by (the
/// literal, or the whole interpolating string), and `used`, the expression
/// of the statement or property that reads it. Equal when the value has no
/// span of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Site {
    pub written: Span,
    pub used: Span,
}

impl Site {
    /// The site of `value`, read by the expression at `used`.
    pub fn of(value: &Value, used: Span) -> Site {
        Site { written: value.origin().unwrap_or(used), used }
    }

    /// A site with one place.
    pub fn at(span: Span) -> Site {
        Site { written: span, used: span }
    }
}

impl Evaluator<'_> {
    /// Labels `d` at the culprit of `site` with `reason`: where the value was
    /// written, which is what the user edits, with its use as a second label
    /// when that is elsewhere. A value written in the standard library but
    /// used in a recipe is the recipe's to fix: the use comes first there.
    /// (A value written in a recipe and used inside the standard library is
    /// labelled at the recipe's literal; `Evaluator::error` drops the call
    /// around it, which would add nothing.)
    pub fn label_site(&self, d: Diagnostic, site: Site, reason: impl Into<String>) -> Diagnostic {
        let Site { written, used } = site;
        if !self.is_real(written) {
            return d.label(used, reason);
        }
        if used.contains(written) {
            return d.label(written, reason);
        }
        if self.is_std(written) && !self.is_std(used) {
            return d.label(used, reason).label(written, "the value comes from here");
        }
        d.label(written, reason).label(used, "used here")
    }

    /// Whether `span` lies in the standard library (not the user's to edit).
    pub fn is_std(&self, span: Span) -> bool {
        self.is_real(span) && self.program.loaded.sources.get(span.source).origin == Origin::Std
    }

    /// Spans of bodies without a use site carry an impossible source.
    fn is_real(&self, span: Span) -> bool {
        (span.source.0 as usize) < self.program.loaded.sources.len()
    }
}
