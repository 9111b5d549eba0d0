//! The one shape every stage returns: the value it made, if it could make
//! one, and every diagnostic it found (warnings beside a value, errors
//! instead of one).

use super::Diagnostics;

/// What a stage gives.
#[derive(Debug)]
pub struct Outcome<T> {
    /// `None` when the stage found errors it cannot build past.
    pub value: Option<T>,
    pub diagnostics: Diagnostics,
}

impl<T> Outcome<T> {
    /// A value and the warnings found making it.
    pub fn ok(value: T, diagnostics: Diagnostics) -> Outcome<T> {
        Outcome { value: Some(value), diagnostics }
    }

    /// No value: the diagnostics say why.
    pub fn failed(diagnostics: Diagnostics) -> Outcome<T> {
        Outcome { value: None, diagnostics }
    }

    /// The value when `diagnostics` hold no error, else none.
    pub fn unless_errors(value: T, diagnostics: Diagnostics) -> Outcome<T> {
        if diagnostics.has_errors() { Outcome::failed(diagnostics) } else { Outcome::ok(value, diagnostics) }
    }

    /// Moves the diagnostics into `sink` and returns the value.
    pub fn into_value(self, sink: &mut Diagnostics) -> Option<T> {
        sink.extend(self.diagnostics);
        self.value
    }

    /// The value, or the diagnostics when there is none or they hold an
    /// error (warnings beside a value are dropped).
    pub fn into_result(self) -> Result<T, Diagnostics> {
        match self.value {
            Some(v) if !self.diagnostics.has_errors() => Ok(v),
            _ => Err(self.diagnostics),
        }
    }
}
