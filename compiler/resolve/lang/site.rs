//! Where a diagnostic about a value points: where the value was written
//! (its literal, carried through `let`s, parameters and tables) and where it
//! is used, so a bad argument of a stdlib layer is reported at the argument
//! in the recipe, not at the statement inside the layer.

use super::eval::{Evaluator, Reported};
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

    /// Reports `d`, labelled at `site` with `reason`, unless the value
    /// travelled there and already has an error where it was written: a
    /// value passed on is checked wherever it is used (`version = version`,
    /// then `"kernel-${version}"`), and one mistake gives one message.
    pub fn error_at(&mut self, d: Diagnostic, site: Site, reason: impl Into<String>) -> Reported {
        if self.reported_before(site) {
            return Reported;
        }
        let d = self.label_site(d, site, reason);
        self.error(d)
    }

    /// [`Evaluator::repoint`], then reports `d` as [`Evaluator::error_at`] does.
    pub fn error_repointed(&mut self, d: Diagnostic, site: Site) -> Reported {
        if self.reported_before(site) {
            return Reported;
        }
        let d = self.repoint(d, site);
        self.error(d)
    }

    fn reported_before(&self, site: Site) -> bool {
        site.written != site.used && !site.used.contains(site.written) && self.diags.has_error_at(site.written)
    }

    /// `d` with its primary label, if it is at `site.used`, moved to the
    /// culprit as [`Evaluator::label_site`] places it (the other labels kept).
    pub fn repoint(&self, mut d: Diagnostic, site: Site) -> Diagnostic {
        if d.labels.first().is_none_or(|l| l.span != site.used) {
            return d;
        }
        let primary = d.labels.remove(0);
        let others = std::mem::take(&mut d.labels);
        let mut d = self.label_site(d, site, primary.message);
        d.labels.extend(others);
        d
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
