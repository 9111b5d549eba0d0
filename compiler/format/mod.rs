//! `aidc fmt`'s formatter: recipe text in, the one canonical layout out. No
//! IO. It prints the pest parse tree again, so every token stays and only
//! white space moves (white space, newlines included, only separates tokens
//! in the language); comments, which the grammar drops as trivia, are found
//! in the gaps between tokens and put back where they were: on their own line,
//! or after the token they followed. Before returning, the result is parsed
//! again and compared token by token and comment by comment with the input,
//! so a formatter bug can never change what a recipe means.
//!
//! The layout: two spaces of indentation per block; one statement per line;
//! at most one blank line kept where the author left one, and one always
//! around definitions, images and pipelines; lists, maps, calls, parameter
//! lists and `signing`/`policy` entries on one line when they fit in
//! [`WIDTH`] columns and hold no comment or triple-quoted string, otherwise
//! one element per line (lists, maps and calls with a trailing comma);
//! `requires ... else ...` on one line when it fits, else `else` on the next
//! line; strings, triple-quoted strings and block comments byte for byte.

mod comments;

use pest::Parser;
use pest::iterators::Pair;

use crate::diag::Diagnostic;
use crate::source::SourceId;
use crate::syntax::grammar::{AidParser, Rule};
use comments::Comment;

/// The column a line should not pass.
pub const WIDTH: usize = 100;

/// Spaces per indentation level.
const INDENT: usize = 2;

/// Why a file was not formatted.
#[derive(Debug)]
pub enum Error {
    /// The file does not parse: its diagnostics.
    Invalid(Vec<Diagnostic>),
    /// The formatter would have changed the tokens or comments: a bug in
    /// aidc, reported as such instead of writing the file.
    Internal(String),
}

/// Formats one recipe. `source` only labels the diagnostics.
pub fn format(source: SourceId, text: &str) -> Result<String, Error> {
    let (_, diagnostics) = crate::syntax::parse(source, text);
    let errors: Vec<Diagnostic> = diagnostics.into_iter().filter(Diagnostic::is_error).collect();
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    let file =
        parse_file(text).ok_or_else(|| Error::Internal("the recipe parses item by item but not whole".into()))?;
    let comments = comments::find(text, &file);
    let mut printer = Printer::new(text, &comments);
    printer.file(file.clone());
    let out = printer.finish();
    verify(text, &file, &comments, &out)?;
    Ok(out)
}

fn parse_file(text: &str) -> Option<Pair<'_, Rule>> {
    pest::set_error_detail(false);
    AidParser::parse(Rule::file, text).ok()?.next()
}

/// The formatted text must hold the same tokens and the same comments in the
/// same order as the input: only white space (and the optional commas of
/// lists, maps, calls and entries, which are not tokens of the tree) moved.
fn verify(input: &str, file: &Pair<'_, Rule>, comments: &[Comment], out: &str) -> Result<(), Error> {
    let Some(formatted) = parse_file(out) else {
        return Err(Error::Internal("the formatted text does not parse".into()));
    };
    let (before, after) = (tokens(file), tokens(&formatted));
    if before != after {
        let at = before.iter().zip(&after).position(|(a, b)| a != b).unwrap_or(before.len().min(after.len()));
        let shown = |t: Option<&(Rule, &str)>| t.map_or("the end".to_string(), |(_, text)| format!("`{text}`"));
        return Err(Error::Internal(format!(
            "formatting would change the tokens ({} became {})",
            shown(before.get(at)),
            shown(after.get(at))
        )));
    }
    let before: Vec<&str> = comments.iter().map(|c| c.text(input)).collect();
    let after_comments = comments::find(out, &formatted);
    let after: Vec<&str> = after_comments.iter().map(|c| c.text(out)).collect();
    if before != after {
        return Err(Error::Internal("formatting would move or drop a comment".into()));
    }
    Ok(())
}

/// The leaves of the parse tree with their rules: the token sequence.
fn tokens<'a>(pair: &Pair<'a, Rule>) -> Vec<(Rule, &'a str)> {
    pair.clone()
        .into_inner()
        .flatten()
        .filter(|p| p.clone().into_inner().next().is_none())
        .map(|p| {
            let text = p.as_str();
            let text = match p.as_rule() {
                Rule::doc_line | Rule::module_doc => text.trim_end(),
                // Empty brackets: only white space and comments inside.
                Rule::block | Rule::list | Rule::map | Rule::call_args | Rule::params | Rule::entries_block => "",
                _ => text,
            };
            (p.as_rule(), text)
        })
        .collect()
}

/// Writes the tree with comments. In flat mode (used to measure whether a
/// construct fits on one line) nothing may break a line: a comment, a
/// triple-quoted string or passing the width limit makes the attempt fail.
struct Printer<'t, 'c> {
    text: &'t str,
    comments: &'c [Comment],
    /// The first comment not yet written.
    next: usize,
    out: String,
    indent: usize,
    /// Column of the end of `out`.
    column: usize,
    /// Source position of the end of the last thing written.
    last_end: usize,
    /// A line comment was written: the next text starts a new line.
    break_pending: bool,
    /// Measuring: fail instead of breaking lines, and past `limit` bytes.
    flat: Option<usize>,
    failed: bool,
    /// Offsets in `out` where a property's key ends, for lining up the
    /// `=` of consecutive properties.
    equals: Vec<usize>,
    /// The next line starts after an empty line (around definitions, images
    /// and pipelines); a comment right before an item goes with the item.
    pending_blank: bool,
    /// Offsets in `out` where a trailing line comment starts, for lining
    /// up the comments of consecutive lines.
    trailing: Vec<usize>,
}

impl<'t, 'c> Printer<'t, 'c> {
    fn new(text: &'t str, comments: &'c [Comment]) -> Self {
        Printer {
            text,
            comments,
            next: 0,
            out: String::new(),
            indent: 0,
            column: 0,
            last_end: 0,
            break_pending: false,
            flat: None,
            failed: false,
            equals: Vec::new(),
            pending_blank: false,
            trailing: Vec::new(),
        }
    }

    fn finish(mut self) -> String {
        self.flush_before(self.text.len());
        while self.out.ends_with(['\n', ' ']) {
            self.out.pop();
        }
        if !self.out.is_empty() {
            self.out.push('\n');
        }
        align(&self.out, &self.equals, &self.trailing)
    }

    // ---- output primitives -------------------------------------------------

    fn write(&mut self, s: &str) {
        if self.failed {
            return;
        }
        if self.break_pending {
            self.newline();
        }
        if self.column == 0 && self.flat.is_none() && !s.is_empty() {
            let pad = self.indent * INDENT;
            self.out.extend(std::iter::repeat_n(' ', pad));
            self.column = pad;
        }
        self.out.push_str(s);
        match s.rfind('\n') {
            Some(i) => self.column = s.len() - i - 1,
            None => self.column += s.len(),
        }
        if let Some(limit) = self.flat
            && (self.out.len() > limit || s.contains('\n'))
        {
            self.failed = true;
        }
    }

    /// Ends the current line (a no-op at the start of a line).
    fn newline(&mut self) {
        self.break_pending = false;
        if self.flat.is_some() {
            self.failed = true;
            return;
        }
        if self.column == 0 && (self.out.is_empty() || self.out.ends_with('\n')) {
            return;
        }
        while self.out.ends_with(' ') {
            self.out.pop();
        }
        self.out.push('\n');
        self.column = 0;
    }

    /// One empty line, unless at the start of the file or of a body.
    fn blank_line(&mut self) {
        self.newline();
        if self.flat.is_some() || self.out.is_empty() || self.out.ends_with("\n\n") {
            return;
        }
        let last = self.out.trim_end_matches('\n').chars().last();
        if !matches!(last, Some('{' | '[' | '(')) {
            self.out.push('\n');
        }
    }

    /// A token taken from the source as it is.
    fn token(&mut self, pair: &Pair<'_, Rule>) {
        self.flush_before(pair.as_span().start());
        self.write(pair.as_str());
        self.last_end = pair.as_span().end();
    }

    /// Punctuation at source position `at` (a bracket the tree does not keep).
    fn punct(&mut self, s: &str, at: usize) {
        self.flush_before(at);
        self.write(s);
        self.last_end = at + s.len();
    }

    // ---- comments ----------------------------------------------------------

    /// Whether the source has an empty line between the last thing written
    /// and `pos`.
    fn blank_before(&self, pos: usize) -> bool {
        let gap = self.text.get(self.last_end..pos).unwrap_or("");
        gap.bytes().filter(|&b| b == b'\n').count() >= 2
    }

    /// Writes the comments that start before `pos`.
    fn flush_before(&mut self, pos: usize) {
        while let Some(c) = self.comments.get(self.next).copied() {
            if c.start >= pos {
                break;
            }
            if self.flat.is_some() {
                self.failed = true;
                return;
            }
            self.next += 1;
            if c.own_line {
                if std::mem::take(&mut self.pending_blank) || self.blank_before(c.start) {
                    self.blank_line();
                } else {
                    self.newline();
                }
            } else if self.column > 0 && !self.out.ends_with(' ') {
                self.write(" ");
            }
            if !c.own_line && c.line && self.column > 0 {
                self.trailing.push(self.out.len());
            }
            self.write(c.text(self.text));
            self.last_end = c.end;
            if c.own_line || c.line {
                self.break_pending = true;
            } else {
                self.write(" ");
            }
        }
    }

    /// Writes the comments on the rest of the source line of the last thing
    /// written (`"a", // why`), at the end of the output line.
    fn flush_trailing(&mut self) {
        while let Some(c) = self.comments.get(self.next).copied() {
            let gap = self.text.get(self.last_end..c.start).unwrap_or("\n");
            if c.own_line || gap.contains('\n') || gap.contains(|ch: char| !ch.is_whitespace() && ch != ',') {
                break;
            }
            self.flush_before(c.end);
        }
    }

    /// Starts a unit (item, statement, element) on its own line, keeping one
    /// empty line where the source had one or one is pending.
    fn start_line(&mut self, start: usize) {
        self.flush_before(start);
        if std::mem::take(&mut self.pending_blank) || self.blank_before(start) {
            self.blank_line();
        } else {
            self.newline();
        }
    }

    // ---- measuring ---------------------------------------------------------

    /// Whether `pair` fits flat in the rest of the line.
    fn fits(&self, pair: &Pair<'_, Rule>, extra: usize) -> bool {
        let span = pair.as_span();
        if comments::any_within(self.comments, span.start(), span.end()) {
            return false;
        }
        let limit = WIDTH.saturating_sub(self.column.max(self.indent * INDENT) + extra);
        let mut probe = Printer::new(self.text, self.comments);
        probe.flat = Some(limit);
        probe.next = self.comments.len();
        probe.any(pair.clone());
        !probe.failed
    }

    // ---- the tree ----------------------------------------------------------

    fn file(&mut self, file: Pair<'_, Rule>) {
        let mut previous_block = false;
        let mut first = true;
        for pair in file.into_inner() {
            match pair.as_rule() {
                Rule::module_doc => {
                    self.start_line(pair.as_span().start());
                    self.doc_line(&pair);
                }
                Rule::item => {
                    let kind = pair.clone().into_inner().last().map(|p| p.as_rule());
                    let block = matches!(kind, Some(Rule::definition | Rule::image | Rule::pipeline));
                    self.pending_blank = !first && (block || previous_block);
                    self.start_line(pair.as_span().start());
                    self.item(pair);
                    self.flush_trailing();
                    previous_block = block;
                    first = false;
                }
                _ => {}
            }
        }
    }

    fn doc_line(&mut self, pair: &Pair<'_, Rule>) {
        self.flush_before(pair.as_span().start());
        self.write(pair.as_str().trim_end());
        self.last_end = pair.as_span().end();
        self.break_pending = true;
    }

    fn doc_comment(&mut self, pair: Pair<'_, Rule>) {
        for line in pair.into_inner() {
            self.doc_line(&line);
        }
    }

    fn item(&mut self, item: Pair<'_, Rule>) {
        for pair in item.into_inner() {
            match pair.as_rule() {
                Rule::doc_comment => self.doc_comment(pair),
                _ => self.any(pair),
            }
        }
    }

    /// Children separated by single spaces, with `=` where the grammar has one.
    fn spaced(&mut self, pair: Pair<'_, Rule>) {
        let rule = pair.as_rule();
        let children: Vec<_> = pair.into_inner().collect();
        let equals_before_last =
            matches!(rule, Rule::let_item | Rule::env_stmt | Rule::label_stmt | Rule::provides_stmt | Rule::property);
        let n = children.len();
        let aligned = rule == Rule::property && self.column == 0 && self.flat.is_none();
        for (i, child) in children.into_iter().enumerate() {
            if i > 0 {
                if aligned && i == n - 1 {
                    self.equals.push(self.out.len());
                }
                self.write(" ");
                if equals_before_last && i == n - 1 {
                    self.write("= ");
                }
            }
            self.any(child);
        }
    }

    /// `kind name(params) { ... }`: the parameter list hugs the name.
    fn definition(&mut self, pair: Pair<'_, Rule>) {
        for (i, child) in pair.into_inner().enumerate() {
            if i > 0 && child.as_rule() != Rule::params {
                self.write(" ");
            }
            self.any(child);
        }
    }

    fn any(&mut self, pair: Pair<'_, Rule>) {
        if self.failed {
            return;
        }
        match pair.as_rule() {
            Rule::block => self.block(pair),
            Rule::stmt => self.stmt(pair),
            Rule::requires_stmt => self.requires(pair),
            Rule::params | Rule::call_args => self.bracketed(pair, "(", ")", true),
            Rule::list => self.bracketed(pair, "[", "]", true),
            Rule::map => self.bracketed(pair, "{", "}", true),
            Rule::entries_block => self.bracketed(pair, "{", "}", false),
            Rule::param | Rule::arg => self.param(pair),
            Rule::entry | Rule::map_entry => self.entry(pair),
            Rule::definition => self.definition(pair),
            Rule::path => {
                for (i, child) in pair.into_inner().enumerate() {
                    if i > 0 {
                        self.write(".");
                    }
                    self.any(child);
                }
            }
            Rule::postfix | Rule::type_name | Rule::str_operand | Rule::expr | Rule::primary => {
                for child in pair.into_inner() {
                    self.any(child);
                }
            }
            Rule::field => {
                self.write(".");
                for child in pair.into_inner() {
                    self.any(child);
                }
            }
            Rule::index => {
                let span = pair.as_span();
                self.punct("[", span.start());
                for child in pair.into_inner() {
                    self.any(child);
                }
                self.punct("]", span.end() - 1);
            }
            Rule::paren => {
                let span = pair.as_span();
                self.punct("(", span.start());
                for child in pair.into_inner() {
                    self.any(child);
                }
                self.punct(")", span.end() - 1);
            }
            Rule::not_expr => {
                for child in pair.into_inner() {
                    let not = child.as_rule() == Rule::not_op;
                    self.any(child);
                    if not {
                        self.write(" ");
                    }
                }
            }
            Rule::triple_string if self.flat.is_some() => self.failed = true,
            _ => {
                if pair.clone().into_inner().next().is_none() || is_token(pair.as_rule()) {
                    self.token(&pair);
                } else {
                    self.spaced(pair);
                }
            }
        }
    }

    fn block(&mut self, block: Pair<'_, Rule>) {
        let span = block.as_span();
        let stmts: Vec<_> = block.into_inner().collect();
        if stmts.is_empty() && !comments::any_within(self.comments, span.start(), span.end()) {
            self.punct("{}", span.start());
            self.last_end = span.end();
            return;
        }
        self.punct("{", span.start());
        self.flush_trailing();
        self.indent += 1;
        for stmt in stmts {
            self.start_line(stmt.as_span().start());
            self.stmt(stmt);
            self.flush_trailing();
        }
        self.flush_before(span.end() - 1);
        self.indent -= 1;
        self.newline();
        self.punct("}", span.end() - 1);
    }

    fn stmt(&mut self, stmt: Pair<'_, Rule>) {
        for pair in stmt.into_inner() {
            match pair.as_rule() {
                Rule::doc_comment => self.doc_comment(pair),
                _ => self.any(pair),
            }
        }
    }

    /// `requires COND else MESSAGE`: one line when it fits, else `else` on
    /// a continuation line.
    fn requires(&mut self, pair: Pair<'_, Rule>) {
        let flat = self.flat.is_some() || self.fits(&pair, 0);
        for (i, child) in pair.into_inner().enumerate() {
            if child.as_rule() == Rule::ELSE && !flat {
                self.flush_before(child.as_span().start());
                self.newline();
                self.indent += 1;
                self.any(child);
                continue;
            }
            if i > 0 {
                self.write(" ");
            }
            self.any(child);
        }
        if !flat {
            // The continuation indentation ends with the statement.
            self.indent -= 1;
        }
    }

    /// `name: value` (arguments) or `name: type = default` (parameters).
    fn param(&mut self, pair: Pair<'_, Rule>) {
        let rule = pair.as_rule();
        for (i, child) in pair.into_inner().enumerate() {
            match (rule, child.as_rule()) {
                _ if i == 0 => {}
                (Rule::arg, _) => self.write(": "),
                (_, Rule::type_name) => self.write(": "),
                _ => self.write(" = "),
            }
            self.any(child);
        }
    }

    /// `key = value`.
    fn entry(&mut self, pair: Pair<'_, Rule>) {
        let aligned = self.column == 0 && self.flat.is_none();
        for (i, child) in pair.into_inner().enumerate() {
            if i > 0 {
                if aligned {
                    self.equals.push(self.out.len());
                }
                self.write(" = ");
            }
            self.any(child);
        }
    }

    /// A bracketed, comma-separated sequence: flat when it fits, else one
    /// element per line (with a trailing comma when `commas`).
    fn bracketed(&mut self, pair: Pair<'_, Rule>, open: &str, close: &str, commas: bool) {
        let span = pair.as_span();
        let elements: Vec<_> = pair.clone().into_inner().collect();
        // Entries and maps the author opened with a line break stay one per line.
        let keep_broken =
            open == "{" && self.text[span.start() + 1..].trim_start_matches([' ', '\t', '\r']).starts_with('\n');
        let flat = self.flat.is_some() || (!keep_broken && self.fits(&pair, 0));
        // Entries blocks and maps read `{ a = b }`; lists and calls `[a]`.
        let pad = if open == "{" && !elements.is_empty() { " " } else { "" };
        self.punct(open, span.start());
        if flat {
            self.write(pad);
            for (i, e) in elements.into_iter().enumerate() {
                if i > 0 {
                    self.write(", ");
                }
                self.any(e);
            }
            self.write(pad);
            self.punct(close, span.end() - 1);
            return;
        }
        self.flush_trailing();
        self.indent += 1;
        for e in elements {
            self.start_line(e.as_span().start());
            self.any(e);
            if commas {
                self.write(",");
            }
            self.flush_trailing();
        }
        self.flush_before(span.end() - 1);
        self.indent -= 1;
        self.newline();
        self.punct(close, span.end() - 1);
    }
}

/// Lines up, gofmt-style, the `=` of properties and entries on consecutive
/// lines at the same indentation (`equals`: offsets where keys end), then the
/// trailing comments of consecutive lines (`trailing`: offsets where they
/// start). Both only ever insert spaces before an `=` or a `//`.
fn align(out: &str, equals: &[usize], trailing: &[usize]) -> String {
    let mut lines: Vec<String> = out.split('\n').map(str::to_string).collect();
    let starts: Vec<usize> = std::iter::once(0).chain(out.match_indices('\n').map(|(i, _)| i + 1)).collect();
    let locate = |offset: usize| {
        let line = starts.partition_point(|&s| s <= offset) - 1;
        (line, offset - starts[line])
    };
    let indent = |line: &str| line.len() - line.trim_start().len();
    // (line, column) marks; a mark per line at most.
    let pad = |lines: &mut Vec<String>, marks: Vec<(usize, usize)>, same_indent: bool| {
        let mut group: Vec<(usize, usize)> = Vec::new();
        let flush = |lines: &mut Vec<String>, group: &mut Vec<(usize, usize)>| {
            if group.len() > 1 {
                let target = group.iter().map(|&(_, c)| c).max().unwrap_or(0);
                for &(l, c) in group.iter() {
                    lines[l].insert_str(c, &" ".repeat(target - c));
                }
            }
            group.clear();
        };
        for (line, column) in marks {
            let joins = group
                .last()
                .is_some_and(|&(l, _)| l + 1 == line && (!same_indent || indent(&lines[l]) == indent(&lines[line])));
            if !joins {
                flush(lines, &mut group);
            }
            group.push((line, column));
        }
        flush(lines, &mut group);
    };
    let mut equal_marks: Vec<(usize, usize)> = equals.iter().map(|&o| locate(o)).collect();
    equal_marks.dedup_by_key(|m| m.0);
    // Comments are found from the line's end: aligning the `=` moved them.
    let comment_from_end: Vec<(usize, usize)> = trailing
        .iter()
        .map(|&o| {
            let (line, column) = locate(o);
            (line, lines[line].len() - column)
        })
        .collect();
    pad(&mut lines, equal_marks, true);
    let comment_marks: Vec<(usize, usize)> = comment_from_end
        .into_iter()
        .map(|(line, from_end)| {
            let start = lines[line].len() - from_end;
            (line, lines[line][..start].trim_end().len() + 1)
        })
        .collect();
    for &(line, column) in &comment_marks {
        let comment = lines[line][column..].trim_start().to_string();
        lines[line].truncate(column);
        lines[line].push_str(&comment);
    }
    pad(&mut lines, comment_marks, false);
    lines.join("\n")
}

/// Rules written as one token even though pest gives them inner pairs.
fn is_token(rule: Rule) -> bool {
    matches!(rule, Rule::string | Rule::triple_string | Rule::cmp_op | Rule::not_op | Rule::def_kind)
}
