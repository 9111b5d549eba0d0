//! Diagnostics as plain data: a stable code, a message, labelled spans and
//! help. The library only collects them; the CLI renders them.

mod codes;
mod outcome;

pub use codes::Code;
pub use outcome::Outcome;

use crate::source::Span;

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// A span with a short phrase saying what is there.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

/// One finding about the input.
///
/// Messages are lowercase, without a trailing period, with names in
/// backticks. The first label is the primary one (the culprit); the others
/// give context and may point into other files (the stdlib, an import).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    pub labels: Vec<Label>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic { code, severity: Severity::Error, message: message.into(), labels: Vec::new(), help: None }
    }

    pub fn warning(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic { code, severity: Severity::Warning, message: message.into(), labels: Vec::new(), help: None }
    }

    /// Adds a label; the first one added is the primary label.
    pub fn label(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.labels.push(Label { span, message: message.into() });
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub fn primary_span(&self) -> Option<Span> {
        self.labels.first().map(|l| l.span)
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Most diagnostics kept; past that they are counted, not stored (a huge
/// broken input would otherwise take quadratic time to report).
pub const MAX_DIAGNOSTICS: usize = 500;

/// The sink every stage writes into; stages keep going after an error so
/// that one run reports as much as it can.
#[derive(Clone, Debug, Default)]
pub struct Diagnostics {
    list: Vec<Diagnostic>,
    /// The fingerprint of every finding listed or counted.
    seen: crate::maps::HashMap<u64, Seen>,
    /// Errors and warnings past [`MAX_DIAGNOSTICS`], each finding counted
    /// once (as each is listed once), so that the counts do not depend on
    /// how sinks were split and merged (per image, per core).
    dropped_errors: usize,
    dropped_warnings: usize,
    /// Errors counted without being built ([`Diagnostics::count_dropped_error`]).
    unbuilt_errors: usize,
    /// Every diagnostic ever pushed or counted, duplicates included: how
    /// the plan's memo (plan/memo.rs) tells that a step of planning found
    /// something, which [`Diagnostics::len`] misses when it was a duplicate.
    pushes: usize,
}

/// What became of a finding.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Seen {
    Listed,
    /// Counted past the cap.
    Counted {
        error: bool,
    },
}

fn fingerprint(d: &Diagnostic) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = crate::maps::fingerprinter();
    d.hash(&mut h);
    h.finish()
}

impl Diagnostics {
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.pushes += 1;
        // The same finding reached twice (a layer used by two variants, say)
        // is reported once.
        let key = fingerprint(&diagnostic);
        if self.seen.get(&key) == Some(&Seen::Listed) && self.list.contains(&diagnostic) {
            return;
        }
        if self.list.len() >= MAX_DIAGNOSTICS {
            self.count_dropped(key, diagnostic.is_error());
            return;
        }
        self.seen.insert(key, Seen::Listed);
        self.list.push(diagnostic);
    }

    /// Counts a diagnostic past the cap by its fingerprint, unless it was
    /// kept or counted before.
    fn count_dropped(&mut self, key: u64, is_error: bool) {
        match self.seen.entry(key) {
            std::collections::hash_map::Entry::Occupied(_) => return,
            std::collections::hash_map::Entry::Vacant(v) => v.insert(Seen::Counted { error: is_error }),
        };
        if is_error {
            self.dropped_errors += 1;
        } else {
            self.dropped_warnings += 1;
        }
    }

    /// Whether an error kept so far has its primary label at `span`.
    pub fn has_error_at(&self, span: Span) -> bool {
        self.list.iter().any(|d| d.is_error() && d.labels.first().is_some_and(|l| l.span == span))
    }

    /// Whether further diagnostics are only counted.
    pub fn is_full(&self) -> bool {
        self.list.len() >= MAX_DIAGNOSTICS
    }

    /// Counts an error that was not built because the sink is full.
    pub fn count_dropped_error(&mut self) {
        self.pushes += 1;
        self.dropped_errors += 1;
        self.unbuilt_errors += 1;
    }

    /// How many diagnostics were counted but not kept.
    pub fn dropped(&self) -> usize {
        self.dropped_errors + self.dropped_warnings
    }

    /// `other`'s diagnostics after these: its kept ones pushed, then its
    /// counted ones counted, as if they had been pushed here.
    pub fn extend(&mut self, other: Diagnostics) {
        self.dropped_errors += other.unbuilt_errors;
        self.unbuilt_errors += other.unbuilt_errors;
        for d in other.list {
            self.push(d);
        }
        // In any order: each is counted once, where it was not seen.
        let counted = other.seen.into_iter().filter_map(|(key, seen)| match seen {
            Seen::Counted { error } => Some((key, error)),
            Seen::Listed => None,
        });
        counted.for_each(|(key, error)| self.count_dropped(key, error));
    }

    /// `self` followed by `other`, for chaining.
    pub fn with(mut self, other: Diagnostics) -> Diagnostics {
        self.extend(other);
        self
    }

    pub fn has_errors(&self) -> bool {
        self.dropped_errors > 0 || self.list.iter().any(Diagnostic::is_error)
    }

    pub fn error_count(&self) -> usize {
        self.dropped_errors + self.list.iter().filter(|d| d.is_error()).count()
    }

    pub fn warning_count(&self) -> usize {
        self.dropped_warnings + self.list.iter().filter(|d| !d.is_error()).count()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.list.iter()
    }

    /// How many diagnostics were ever pushed, kept, dropped or duplicates.
    pub fn pushes(&self) -> usize {
        self.pushes
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Sorted by file, then position, then code: the order users read them in,
    /// independent of the order stages found them.
    pub fn into_sorted(mut self) -> Vec<Diagnostic> {
        self.list.sort_by(|a, b| {
            let key = |d: &Diagnostic| d.primary_span().map(|s| (s.source, s.start, s.end));
            key(a)
                .cmp(&key(b))
                .then_with(|| a.code.as_str().cmp(b.code.as_str()))
                .then_with(|| a.message.cmp(&b.message))
        });
        self.list
    }
}

/// Closest candidate to `name` for a "did you mean" help, if one is close enough.
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(f64, &str)> = None;
    // A bound on the work for pathological scopes (tens of thousands of
    // names): suggestions come from the first few thousand.
    for candidate in candidates.into_iter().take(4096) {
        let prefix = name.len() >= 3 && candidate.starts_with(name);
        // Cheap first: names of very different lengths are not close.
        if !prefix && name.len().abs_diff(candidate.len()) > 2.max(name.len() / 2) {
            continue;
        }
        let score = strsim::jaro_winkler(name, candidate);
        let distance = strsim::damerau_levenshtein(name, candidate);
        // Short names are close to everything; ask more of them.
        let allowed = if name.len() <= 3 { 1 } else { 2.max(name.len() / 3) };
        let close = (distance <= allowed && distance < candidate.len().max(name.len()))
            || (score > 0.88 && name.len() >= 4)
            || prefix;
        if close && best.is_none_or(|(s, c)| score > s || (score == s && candidate < c)) {
            best = Some((score, candidate));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(n: usize) -> Diagnostic {
        Diagnostic::error(Code::MissingInput, format!("finding {n}"))
    }

    /// Past the cap each finding is counted once, as it is listed once, and
    /// sinks split any way and merged in order count what one sink counts
    /// (planning keeps a sink per image: docs/performance.md, stop 28).
    #[test]
    fn findings_past_the_cap_are_counted_once_however_the_sinks_were_split() {
        let findings: Vec<usize> = (0..MAX_DIAGNOSTICS + 300).chain(MAX_DIAGNOSTICS..MAX_DIAGNOSTICS + 300).collect();
        let mut one = Diagnostics::default();
        findings.iter().for_each(|&n| one.push(error(n)));
        assert_eq!((one.len(), one.dropped(), one.error_count()), (MAX_DIAGNOSTICS, 300, MAX_DIAGNOSTICS + 300));
        for size in [1, 7, 250, MAX_DIAGNOSTICS + 1] {
            let mut merged = Diagnostics::default();
            for part in findings.chunks(size) {
                let mut sink = Diagnostics::default();
                part.iter().for_each(|&n| sink.push(error(n)));
                merged.extend(sink);
            }
            let listed = |d: &Diagnostics| d.iter().map(|d| d.message.clone()).collect::<Vec<_>>();
            assert_eq!(listed(&merged), listed(&one), "parts of {size}");
            assert_eq!((merged.dropped(), merged.error_count()), (one.dropped(), one.error_count()), "parts of {size}");
        }
    }
}
