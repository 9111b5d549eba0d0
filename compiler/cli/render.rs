//! Rendering diagnostics: through miette for people (no colour when
//! `NO_COLOR` is set or standard error is not a terminal), or as a JSON array
//! for CI. Labels in other files than the primary one are shown as related
//! reports, each with its own file.

use std::fmt;
use std::io::IsTerminal;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents, SourceCode, SourceSpan,
    SpanContents,
};
use serde::Serialize;

use super::Format;
use crate::diag::{Diagnostic, Diagnostics, Severity};
use crate::source::{SourceFile, SourceId, SourceMap};

/// Width the human renderer wraps at when output is not a terminal (and in tests).
pub const WIDTH: usize = 100;

/// A diagnostic bound to its sources, as miette wants it.
struct Report<'s> {
    message: String,
    code: Option<String>,
    severity: miette::Severity,
    help: Option<String>,
    source: Option<FileSource<'s>>,
    labels: Vec<LabeledSpan>,
    related: Vec<Report<'s>>,
}

/// A file as miette reads it. miette finds the lines around a span by
/// scanning from the start of the file, which makes 500 diagnostics in a
/// large file slow; this hands it only a few lines around the span (found in
/// the file's line table), then moves what it read back into place.
struct FileSource<'s> {
    file: &'s SourceFile,
}

impl SourceCode for FileSource<'_> {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let text = self.file.text.as_bytes();
        let starts = self.file.line_starts();
        let end = span.offset() + span.len();
        // miette also counts a lone `\r` as a line break; such files are read whole.
        if end > text.len() || self.file.has_lone_cr() {
            let contents = text.read_span(span, context_lines_before, context_lines_after)?;
            return Ok(Box::new(
                MietteSpanContents::new_named(
                    self.file.name.clone(),
                    contents.data(),
                    *contents.span(),
                    contents.line(),
                    contents.column(),
                    contents.line_count(),
                )
                .with_language("aid"),
            ));
        }
        let line_of = |offset: usize| starts.partition_point(|&s| s as usize <= offset) - 1;
        // Two lines of margin each way: the window must hold all miette reads.
        let first = line_of(span.offset()).saturating_sub(context_lines_before + 2);
        let last = line_of(end.saturating_sub(1).max(span.offset())) + context_lines_after + 2;
        let from = starts[first] as usize;
        let to = starts.get(last + 1).map_or(text.len(), |s| *s as usize);
        let local = SourceSpan::new((span.offset() - from).into(), span.len());
        let inner = text[from..to].read_span(&local, context_lines_before, context_lines_after)?;
        Ok(Box::new(
            MietteSpanContents::new_named(
                self.file.name.clone(),
                inner.data(),
                SourceSpan::new((inner.span().offset() + from).into(), inner.span().len()),
                inner.line() + first,
                inner.column(),
                inner.line_count() + first,
            )
            .with_language("aid"),
        ))
    }
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Report<'_> {}

impl miette::Diagnostic for Report<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.code.as_ref().map(|c| Box::new(c) as Box<dyn fmt::Display>)
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help.as_ref().map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() { None } else { Some(Box::new(self.labels.iter().cloned())) }
    }
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        if self.related.is_empty() {
            None
        } else {
            Some(Box::new(self.related.iter().map(|r| r as &dyn miette::Diagnostic)))
        }
    }
}

fn named(sources: &SourceMap, id: SourceId) -> FileSource<'_> {
    FileSource { file: sources.get(id) }
}

fn span_of(s: crate::source::Span) -> SourceSpan {
    SourceSpan::new((s.start as usize).into(), s.len())
}

fn report<'s>(sources: &'s SourceMap, d: &Diagnostic) -> Report<'s> {
    let severity = match d.severity {
        Severity::Error => miette::Severity::Error,
        Severity::Warning => miette::Severity::Warning,
    };
    let primary = d.primary_span().map(|s| s.source);
    let mut labels = Vec::new();
    // Labels in other files become related reports, one per label, so that
    // two labels far apart in the stdlib do not print everything between them.
    let mut others: Vec<(SourceId, LabeledSpan)> = Vec::new();
    for (i, l) in d.labels.iter().enumerate() {
        let labeled = if i == 0 {
            LabeledSpan::new_primary_with_span(Some(l.message.clone()), span_of(l.span))
        } else {
            LabeledSpan::new_with_span(Some(l.message.clone()), span_of(l.span))
        };
        // A label far from the primary one would make miette print every line
        // between them, and start the snippet far from the culprit.
        let near = d.labels.first().is_none_or(|p| {
            let file = sources.get(p.span.source);
            let (a, _) = file.line_column(p.span.start);
            let (b, _) = file.line_column(l.span.start);
            a.abs_diff(b) <= 6
        });
        if Some(l.span.source) == primary && near {
            labels.push(labeled);
        } else {
            others.push((l.span.source, labeled));
        }
    }
    let related = others
        .into_iter()
        .map(|(id, label)| Report {
            message: format!("in {}", sources.get(id).name),
            code: None,
            severity: miette::Severity::Advice,
            help: None,
            source: Some(named(sources, id)),
            labels: vec![label],
            related: Vec::new(),
        })
        .collect();
    Report {
        message: d.message.clone(),
        code: Some(d.code.as_str().to_string()),
        severity,
        help: d.help.clone(),
        source: primary.map(|id| named(sources, id)),
        labels,
        related,
    }
}

/// Renders one diagnostic for people, without colour, at `width` columns.
pub fn human(sources: &SourceMap, d: &Diagnostic, color: bool, width: usize) -> String {
    let theme = if color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(width).with_links(false).with_context_lines(1);
    let mut out = String::new();
    let _ = handler.render_report(&mut out, &report(sources, d));
    out
}

/// One label in the JSON output.
#[derive(Serialize)]
struct JsonLabel {
    file: String,
    line: usize,
    column: usize,
    message: String,
}

/// One diagnostic in the JSON output.
#[derive(Serialize)]
struct JsonDiagnostic {
    code: &'static str,
    severity: Severity,
    message: String,
    help: Option<String>,
    file: Option<String>,
    line: Option<usize>,
    column: Option<usize>,
    labels: Vec<JsonLabel>,
}

fn json(sources: &SourceMap, d: &Diagnostic) -> JsonDiagnostic {
    let place = |s: crate::source::Span| {
        let file = sources.get(s.source);
        let (line, column) = file.line_column(s.start);
        (file.name.clone(), line, column)
    };
    let primary = d.primary_span().map(place);
    JsonDiagnostic {
        code: d.code.as_str(),
        severity: d.severity,
        message: d.message.clone(),
        help: d.help.clone(),
        file: primary.as_ref().map(|p| p.0.clone()),
        line: primary.as_ref().map(|p| p.1),
        column: primary.as_ref().map(|p| p.2),
        labels: d
            .labels
            .iter()
            .map(|l| {
                let (file, line, column) = place(l.span);
                JsonLabel { file, line, column, message: l.message.clone() }
            })
            .collect(),
    }
}

/// Whether to colour human output.
fn use_color() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}

/// Prints every diagnostic in the chosen format, sorted by position.
pub fn diagnostics(format: Format, sources: &SourceMap, diagnostics: Diagnostics) {
    diagnostics_denying(format, sources, diagnostics, false);
}

/// Like [`diagnostics`]; with `deny_warnings`, says that warnings failed the run.
pub fn diagnostics_denying(format: Format, sources: &SourceMap, diagnostics: Diagnostics, deny_warnings: bool) {
    runs(format, vec![(sources, diagnostics)], deny_warnings);
}

/// The diagnostics of several compilations (`aidc check a.aid b.aid`), each
/// with its own sources, as one report: in order of the runs, each sorted by
/// position, a finding two runs share (in a module both import) shown once.
pub fn runs(format: Format, runs: Vec<(&SourceMap, Diagnostics)>, deny_warnings: bool) {
    let several = runs.len() > 1;
    let mut seen = std::collections::BTreeSet::new();
    let (mut dropped, mut shown, mut errors, mut warnings) = (0, 0, 0, 0);
    let mut json_list = Vec::new();
    let color = use_color();
    let width = if color { terminal_width() } else { WIDTH };
    for (sources, diagnostics) in runs {
        dropped += diagnostics.dropped();
        // Past the cap, findings are only counted.
        let listed_errors = diagnostics.iter().filter(|d| d.is_error()).count();
        errors += diagnostics.error_count() - listed_errors;
        warnings += diagnostics.warning_count() - (diagnostics.len() - listed_errors);
        for d in diagnostics.into_sorted() {
            if several && !seen.insert(human(sources, &d, false, WIDTH)) {
                continue;
            }
            shown += 1;
            match d.severity {
                Severity::Error => errors += 1,
                Severity::Warning => warnings += 1,
            }
            match format {
                Format::Json => json_list.push(json(sources, &d)),
                Format::Human => eprint!("{}", human(sources, &d, color, width)),
            }
        }
    }
    match format {
        Format::Json => {
            println!("{}", serde_json::to_string_pretty(&json_list).unwrap_or_else(|_| "[]".into()));
        }
        Format::Human => {
            if dropped > 0 {
                eprintln!("aidc: {dropped} more diagnostics not shown (the first {shown} are)");
            }
            if errors + warnings > 0 {
                eprintln!("{}", summary(errors, warnings));
            }
            if deny_warnings && warnings > 0 {
                eprintln!("aidc: warnings are errors with `--deny-warnings`");
            }
        }
    }
}

/// `2 errors, 1 warning`.
pub fn summary(errors: usize, warnings: usize) -> String {
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    match (errors, warnings) {
        (0, w) => format!("aidc: {}", plural(w, "warning")),
        (e, 0) => format!("aidc: {}", plural(e, "error")),
        (e, w) => format!("aidc: {}, {}", plural(e, "error"), plural(w, "warning")),
    }
}

fn terminal_width() -> usize {
    std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()).unwrap_or(WIDTH)
}

/// Prints a usage or IO error (no source to point at) and returns exit code 2.
pub fn usage_error(format: Format, message: &str) -> i32 {
    match format {
        Format::Json => {
            let d = serde_json::json!([{
                "code": "aid::cli::usage",
                "severity": "error",
                "message": message,
                "help": null,
                "file": null,
                "line": null,
                "column": null,
                "labels": [],
            }]);
            println!("{}", serde_json::to_string_pretty(&d).unwrap_or_default());
        }
        Format::Human => eprintln!("aidc: error: {message}"),
    }
    2
}
