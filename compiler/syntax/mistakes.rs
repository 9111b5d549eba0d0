//! Parse errors for the slips people bring from other languages, said in
//! their own words instead of the grammar's: a `;` after a statement or
//! between list items, `:` where a property, entry, map entry or `let` wants
//! `=`, `=` where a named argument wants `:`, a parameter type without
//! its `:`, and a version written without quotes. Each points at the character to change.

use crate::diag::{Code, Diagnostic};
use crate::source::{SourceId, Span};

/// The diagnostic for a common mistake at `pos` of `full` (the failing item
/// starts at `base`), if the text there is one.
pub fn common_mistake(full: &str, base: usize, pos: usize, source: SourceId) -> Option<Diagnostic> {
    let at = |start: usize, len: usize| Span::new(source, start, start + len);
    let rest = &full[pos..];
    let innermost = open_brackets(&full[base..pos]).last().map(|&(i, c)| (base + i, c));

    if rest.starts_with(';') {
        if let Some((_, b'[' | b'(')) = innermost {
            return Some(
                Diagnostic::error(Code::Syntax, "items are separated by `,`, not `;`")
                    .label(at(pos, 1), "write `,` here")
                    .help("lists and arguments separate their items with `,`: `[\"git\", \"vim\"]`"),
            );
        }
        return Some(
            Diagnostic::error(Code::Syntax, "aidc needs no `;`: a statement or item ends where its value ends")
                .label(at(pos, 1), "remove this `;`")
                .help("put each statement or item on its own line (or separate statements with spaces)"),
        );
    }

    // `6.18` without quotes: the integer `6`, then a field `.18`.
    if let Some(d) = unquoted_version(full, pos, source) {
        return Some(d);
    }

    // `let NAME: VALUE`: the whole item fails, at `let`.
    if let Some(after_let) = rest.strip_prefix("let")
        && after_let.starts_with([' ', '\t'])
        && let Some(colon) = colon_after_word(after_let.trim_start_matches([' ', '\t']))
    {
        let colon = pos + 3 + (after_let.len() - after_let.trim_start_matches([' ', '\t']).len()) + colon;
        return Some(
            Diagnostic::error(Code::Syntax, "`let` binds a name with `=`, not `:`")
                .label(at(colon, 1), "write `=` here")
                .help("write `let driver = \"580.95.05\"`; `let` takes no type"),
        );
    }

    // `(NAME TYPE`: a parameter whose type lacks its `:`; the parameter list
    // fails as a whole, at its `(`.
    if let Some(inside) = rest.strip_prefix('(') {
        let inside = inside.trim_start();
        let name = word(inside);
        let after_name = &inside[name.len()..];
        let gap = after_name.len() - after_name.trim_start_matches([' ', '\t']).len();
        let ty = word(&after_name[gap..]);
        if !name.is_empty() && gap > 0 && is_type(ty) {
            let ty_at = pos + (rest.len() - after_name.len()) + gap;
            return Some(
                Diagnostic::error(Code::Syntax, format!("the parameter `{name}` needs `:` before its type"))
                    .label(at(ty_at, ty.len()), format!("write `{name}: {ty}`"))
                    .help("parameters are `NAME: TYPE`, with an optional default: `packages: list = []`"),
            );
        }
    }

    // `NAME = VALUE` inside a call: named arguments take `:`.
    if rest.starts_with('=') && !rest.starts_with("==") && matches!(innermost, Some((_, b'('))) {
        let name = word_before(full[..pos].trim_end());
        if !name.is_empty() {
            return Some(
                Diagnostic::error(Code::Syntax, format!("a named argument takes `:`, not `=`: `{name}: ...`"))
                    .label(at(pos, 1), "write `:` here")
                    .help(format!("write `{name}: VALUE`; `=` sets properties and entries, `:` names arguments")),
            );
        }
    }

    // `NAME: VALUE` or `"KEY": VALUE` where `=` belongs.
    let colon = if rest.starts_with(':') {
        Some(pos)
    } else if let Some(after_quote) = rest.strip_prefix('"') {
        // The parser stops at the closing quote of a map key.
        let gap = after_quote.len() - after_quote.trim_start_matches([' ', '\t']).len();
        after_quote[gap..].starts_with(':').then_some(pos + 1 + gap)
    } else {
        colon_after_word(rest).map(|c| pos + c)
    };
    if let Some(colon) = colon {
        let key_text = full[..colon].trim_end();
        let message = if key_text.ends_with('"') {
            "map entries are written with `=`, not `:`"
        } else {
            "properties and entries are set with `=`, not `:`"
        };
        // The key as written: a quoted map key or a name.
        let key = match key_text.strip_suffix('"') {
            Some(inner) => inner.rfind('"').map_or(key_text, |q| &key_text[q..]),
            None => &key_text[key_text.len() - word_before(key_text).len()..],
        };
        return Some(Diagnostic::error(Code::Syntax, message).label(at(colon, 1), "write `=` here").help(format!(
            "write `{key} = ...`; `:` only names an argument (`f(version: \"1.0\")`) or gives a parameter its type"
        )));
    }
    None
}

/// The leading name of `text` (letters, digits, `-`, `_`).
fn word(text: &str) -> &str {
    let end = text.find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_')).unwrap_or(text.len());
    &text[..end]
}

/// The trailing name of `text`.
fn word_before(text: &str) -> &str {
    let start = text
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .last()
        .map_or(text.len(), |(i, _)| i);
    &text[start..]
}

/// Where the `:` after `text`'s leading name is, if one follows it (`NAME :`).
fn colon_after_word(text: &str) -> Option<usize> {
    let name = word(text);
    if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let after = &text[name.len()..];
    let gap = after.len() - after.trim_start_matches([' ', '\t']).len();
    (after[gap..].starts_with(':') && !after[gap..].starts_with("::")).then_some(name.len() + gap)
}

fn is_type(word: &str) -> bool {
    matches!(word, "string" | "int" | "bool" | "list" | "map" | "duration")
}

/// The brackets (`{`, `[`, `(`) still open at the end of `text`, outermost
/// first, with their offsets; strings and comments are skipped.
pub fn open_brackets(text: &str) -> Vec<(usize, u8)> {
    let bytes = text.as_bytes();
    let find = |from: usize, needle: &[u8]| bytes[from..].windows(needle.len()).position(|w| w == needle);
    let mut stack: Vec<(usize, u8)> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let rest = &bytes[i..];
        if rest.starts_with(b"\"\"\"") {
            i = find(i + 3, b"\"\"\"").map_or(bytes.len(), |e| i + 3 + e + 3);
        } else if rest.starts_with(b"\"") {
            let mut j = i + 1;
            while j < bytes.len() && !matches!(bytes[j], b'"' | b'\n') {
                j += if bytes[j] == b'\\' { 2 } else { 1 };
            }
            i = j + 1;
        } else if rest.starts_with(b"//") {
            i = find(i, b"\n").map_or(bytes.len(), |e| i + e);
        } else if rest.starts_with(b"/*") {
            i = find(i + 2, b"*/").map_or(bytes.len(), |e| i + 2 + e + 2);
        } else {
            match bytes[i] {
                c @ (b'{' | b'[' | b'(') => stack.push((i, c)),
                c @ (b'}' | b']' | b')') => {
                    let open = match c {
                        b'}' => b'{',
                        b']' => b'[',
                        _ => b'(',
                    };
                    if stack.last().is_some_and(|&(_, o)| o == open) {
                        stack.pop();
                    }
                }
                _ => {}
            }
            i += 1;
        }
    }
    stack
}

/// `kernel.longterm(6.18)`: the parser reads `6`, then fails at the field
/// name `18`; the version was meant as a string.
fn unquoted_version(full: &str, pos: usize, source: SourceId) -> Option<Diagnostic> {
    let rest = &full[pos..];
    if !rest.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let before = full[..pos].strip_suffix('.')?;
    let number = before.trim_end_matches(|c: char| c.is_ascii_digit());
    if number.len() == before.len()
        || number.ends_with(|c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return None;
    }
    let start = number.len();
    let tail = rest.trim_start_matches(|c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+' | '~'));
    let end = pos + rest.len() - tail.len();
    let text = &full[start..end];
    Some(
        Diagnostic::error(Code::Syntax, format!("a version is a string: write \"{text}\""))
            .label(Span::new(source, start, end), "put this in quotes")
            .help("versions are text, like \"6.18\" or \"580.95.05\"; only whole numbers, such as a Fedora release (`44`), go without quotes"),
    )
}
