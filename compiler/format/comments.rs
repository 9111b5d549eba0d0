//! Finding the comments the grammar drops as trivia. Outside strings and
//! doc comments nothing else in the language starts with `/`, so every `//`
//! and `/*` in the gaps between those is a comment.

use pest::iterators::Pair;

use crate::syntax::grammar::Rule;

/// A plain comment: `// ...` (without the line break) or `/* ... */`.
#[derive(Clone, Copy, Debug)]
pub struct Comment {
    pub start: usize,
    pub end: usize,
    /// A `//` comment, which runs to the end of its line.
    pub line: bool,
    /// Nothing but white space before it on its line.
    pub own_line: bool,
}

impl Comment {
    /// The comment's text, without trailing white space.
    pub fn text<'t>(&self, source: &'t str) -> &'t str {
        source[self.start..self.end].trim_end()
    }
}

/// The comments of `text`, in order; `file` is its parse tree.
pub fn find(text: &str, file: &Pair<'_, Rule>) -> Vec<Comment> {
    // Strings and doc comments are opaque: a `//` in them is text.
    let mut opaque: Vec<(usize, usize)> = Vec::new();
    for pair in file.clone().into_inner().flatten() {
        if matches!(pair.as_rule(), Rule::string | Rule::triple_string | Rule::doc_line | Rule::module_doc) {
            let span = pair.as_span();
            if opaque.last().is_none_or(|&(_, end)| span.start() >= end) {
                opaque.push((span.start(), span.end()));
            }
        }
    }
    let bytes = text.as_bytes();
    let mut comments = Vec::new();
    let mut gap_start = 0;
    for (start, end) in opaque.into_iter().chain(std::iter::once((text.len(), text.len()))) {
        let mut i = gap_start;
        while i + 1 < start {
            if bytes[i] == b'/' && bytes[i + 1] == b'/' {
                let end = text[i..start].find('\n').map_or(start, |n| i + n);
                comments.push(comment(text, i, end, true));
                i = end;
            } else if bytes[i] == b'/' && bytes[i + 1] == b'*' {
                let end = block_end(bytes, i, start);
                comments.push(comment(text, i, end, false));
                i = end;
            } else {
                i += 1;
            }
        }
        gap_start = end;
    }
    comments
}

fn comment(text: &str, start: usize, end: usize, line: bool) -> Comment {
    let line_start = text[..start].rfind('\n').map_or(0, |n| n + 1);
    let own_line = text[line_start..start].chars().all(char::is_whitespace);
    let end = start + text[start..end].trim_end().len();
    Comment { start, end, line, own_line }
}

/// The end of the (nested) block comment opening at `start`.
fn block_end(bytes: &[u8], start: usize, limit: usize) -> usize {
    let mut depth = 0usize;
    let mut i = start;
    while i + 1 < limit {
        match (bytes[i], bytes[i + 1]) {
            (b'/', b'*') => {
                depth += 1;
                i += 2;
            }
            (b'*', b'/') => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return i;
                }
            }
            _ => i += 1,
        }
    }
    limit
}

/// Whether a comment starts inside `start..end`.
pub fn any_within(comments: &[Comment], start: usize, end: usize) -> bool {
    let first = comments.partition_point(|c| c.start < start);
    comments.get(first).is_some_and(|c| c.start < end)
}
