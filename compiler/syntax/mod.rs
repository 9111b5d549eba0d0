//! Stage 1, parse: text to [`ast::Module`]. Parsing never fails: it returns
//! what it could read plus diagnostics, recovering at the next item after an
//! error so that one run reports every broken item.

pub mod ast;
mod depth;
mod errors;
pub(crate) mod grammar;
mod lower;
mod mistakes;

use pest::Parser;

use crate::diag::{Code, Diagnostic};
use crate::source::{SourceId, Span};
use grammar::{AidParser, Rule};
use lower::Lowerer;

pub use depth::MAX_DEPTH;

/// Largest recipe file accepted, in bytes.
pub const MAX_FILE_SIZE: usize = 16 * 1024 * 1024;

/// Most parse errors reported for one file before giving up on it.
const MAX_ERRORS_PER_FILE: usize = 20;

/// Checks raw bytes before parsing: size, UTF-8, NUL. Returns the text or the
/// diagnostic that refuses it.
pub fn decode(source: SourceId, bytes: &[u8]) -> Result<&str, Diagnostic> {
    let at = |start: usize, end: usize| Span::new(source, start, end);
    if bytes.len() > MAX_FILE_SIZE {
        return Err(Diagnostic::error(
            Code::FileTooLarge,
            // Readers stop one byte past the limit: the size beyond is unknown.
            format!("this file is more than the limit of {MAX_FILE_SIZE} bytes"),
        )
        .label(at(0, 0), "file starts here")
        .help("split the recipe into modules and import them"));
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let valid = e.valid_up_to();
            return Err(Diagnostic::error(Code::InvalidUtf8, format!("this file is not valid UTF-8 (byte {valid})"))
                .label(at(valid, valid), "the invalid bytes start here")
                .help("save the recipe as UTF-8"));
        }
    };
    if let Some(pos) = text.find('\0') {
        return Err(Diagnostic::error(Code::NulByte, "this file contains a NUL byte")
            .label(at(pos, pos + 1), "NUL byte here")
            .help("recipes are text; remove the NUL byte"));
    }
    Ok(text)
}

/// Parses one module. Never fails; the module holds every item that parsed.
pub fn parse(source: SourceId, text: &str) -> (ast::Module, Vec<Diagnostic>) {
    let mut diagnostics = Vec::new();
    let mut module = ast::Module { source: Some(source), ..ast::Module::default() };
    match depth::scan(text) {
        None => {}
        Some(depth::Refusal::TooDeep(pos)) => {
            diagnostics.push(
                Diagnostic::error(Code::TooDeep, format!("nesting deeper than {} levels", depth::MAX_DEPTH))
                    .label(Span::new(source, pos, pos + 1), "this opens one level too many")
                    .help(
                        "brackets, block comments and `${...}` nest at most 64 deep; flatten the expression or use a `let`",
                    ),
            );
            return (module, diagnostics);
        }
        Some(depth::Refusal::UnclosedComment { outer, inner }) => {
            let mut d = Diagnostic::error(Code::UnterminatedComment, "unterminated block comment")
                .label(Span::new(source, outer, outer + 2), "this comment is never closed");
            d = match inner {
                Some(inner) => d
                    .label(Span::new(source, inner, inner + 2), "this `/*` opens a comment inside it")
                    .help("block comments nest: every `/*`, also one inside a comment, needs its own `*/`; the first `*/` closes the inner comment"),
                None => d.help("close the comment with `*/`"),
            };
            diagnostics.push(d);
            return (module, diagnostics);
        }
    }

    // pest's error detail (the punctuation that would have fitted) costs a
    // third of the parse time, so it is turned on only to re-parse an item
    // that failed.
    pest::set_error_detail(false);

    // The head: module docs.
    let mut pos = 0;
    if let Ok(mut pairs) = AidParser::parse(Rule::file_head, text) {
        let head = pairs.next().expect("file_head yields one pair");
        pos = head.as_span().end();
        let mut lowerer = Lowerer { source, base: 0, diagnostics: &mut diagnostics };
        module.docs = lowerer.module_docs(head.into_inner());
    }

    // Items, one at a time, so that an error in one does not hide the next.
    let mut errors = 0;
    loop {
        let rest = &text[pos..];
        let skipped = skip_trivia(rest);
        if skipped == rest.len() {
            break;
        }
        match AidParser::parse(Rule::item_only, rest) {
            Ok(mut pairs) => {
                let pair = pairs.next().expect("item_only yields one pair");
                let end = pair.as_span().end();
                let Some(item) = pair.into_inner().find(|p| p.as_rule() == Rule::item) else {
                    break;
                };
                let before = diagnostics.len();
                let mut lowerer = Lowerer { source, base: pos, diagnostics: &mut diagnostics };
                match lowerer.item(item) {
                    Some(item) => module.items.push(item),
                    None if diagnostics.len() == before => diagnostics.push(
                        Diagnostic::error(
                            Code::InternalRule,
                            "internal error: an item was read but could not be lowered",
                        )
                        .label(Span::new(source, pos + skipped, pos + end), "this item")
                        .help("this is a bug in aidc; please report it with the recipe that triggers it"),
                    ),
                    None => {}
                }
                pos += end.max(1);
            }
            Err(error) => {
                pest::set_error_detail(true);
                let detailed = AidParser::parse(Rule::item_only, rest).err().unwrap_or(error);
                pest::set_error_detail(false);
                diagnostics.push(errors::from_pest(&detailed, source, text, pos));
                errors += 1;
                if errors >= MAX_ERRORS_PER_FILE {
                    break;
                }
                match next_item_start(text, pos + skipped + 1) {
                    Some(next) => pos = next,
                    None => break,
                }
            }
        }
    }
    (module, diagnostics)
}

/// Length of the white space and comments at the start of `text`.
fn skip_trivia(text: &str) -> usize {
    let mut i = 0;
    let bytes = text.as_bytes();
    loop {
        while i < bytes.len() && matches!(bytes[i], b' ' | b'\t' | b'\r' | b'\n') {
            i += 1;
        }
        let rest = &text[i..];
        if rest.starts_with("//") && !rest.starts_with("///") && !rest.starts_with("//!") || rest.starts_with("////") {
            i += rest.find('\n').unwrap_or(rest.len());
        } else if rest.starts_with("/*") {
            // Nested block comments; the depth pre-scan bounds them.
            let mut depth = 0;
            let mut j = 0;
            let rb = rest.as_bytes();
            while j < rb.len() {
                if rb[j..].starts_with(b"/*") {
                    depth += 1;
                    j += 2;
                } else if rb[j..].starts_with(b"*/") {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            if depth != 0 {
                return i;
            }
            i += j;
        } else {
            return i;
        }
    }
}

/// Where parsing resumes after an error: the next line that starts, at its
/// first column, with a word that can begin an item.
fn next_item_start(text: &str, from: usize) -> Option<usize> {
    const STARTS: &[&str] = &["import", "let", "base", "repo", "kernel", "kmod", "layer", "image", "pipeline", "///"];
    let mut offset = from.min(text.len());
    while !text.is_char_boundary(offset) {
        offset += 1;
    }
    for (i, _) in text[offset..].match_indices('\n') {
        let line_start = offset + i + 1;
        let line = &text[line_start..];
        for word in STARTS {
            if let Some(after) = line.strip_prefix(word) {
                let boundary =
                    after.chars().next().is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'));
                if boundary || *word == "///" {
                    return Some(line_start);
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> ast::Module {
        let (m, d) = parse(SourceId(0), text);
        assert!(d.is_empty(), "unexpected diagnostics: {d:#?}");
        m
    }

    /// The grammar alone, without the pre-scan that reports unclosed
    /// comments first: an unclosed comment nested 40 deep fails at once
    /// (it took 2^40 steps when an inner `/*` could also be read as text).
    #[test]
    fn unclosed_nested_comments_fail_in_linear_time() {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let text = "/*x".repeat(40);
            let _ = tx.send(AidParser::parse(Rule::file, &text).is_err());
        });
        let failed = rx.recv_timeout(std::time::Duration::from_secs(10)).expect("the parse ends within 10 s");
        assert!(failed);
        // Closed ones still nest.
        assert!(AidParser::parse(Rule::file, "/* a /* b */ c */").is_ok());
    }

    #[test]
    fn flagship_shapes_parse() {
        let m = parse_ok(
            r#"
/// doc
import "std/fedora"
let driver = "580.95.05"
image ai-desktop {
  from fedora.silverblue(44)
  kernel kernel.longterm("6.18")
  use tools.goose(version: "1.4.0")
  copy "files/a.conf" to "/usr/lib/sysctl.d/a.conf"
  policy { proprietary = deny, telemetry = deny }
  signing {
    key  = secret("akmods-key")
    cert = file("keys/ai-desktop.der")
  }
  variant clean {}
  variant cuda-toolkit extends cuda-runtime { use cuda.toolkit("13.0") }
}
"#,
        );
        assert_eq!(m.items.len(), 3);
        assert_eq!(m.items[0].docs, vec!["doc".to_string()]);
    }

    #[test]
    fn triple_strings_lose_common_indentation() {
        let m = parse_ok("let x = \"\"\"\n    a\n      b $${HOME} ${y}\n    \"\"\"");
        let ast::ItemKind::Let(l) = &m.items[0].kind else { panic!() };
        let ast::ExprKind::Str(parts) = &l.value.kind else { panic!() };
        let ast::StrPart::Lit(first) = &parts[0] else { panic!() };
        assert_eq!(first, "a\n  b ${HOME} ");
        assert_eq!(parts.len(), 2);
    }

    #[test]
    fn errors_recover_at_the_next_item() {
        let (m, d) = parse(SourceId(0), "let a = \nlet b = \"x\"\nimage x { from }\nlet c = 1\n");
        assert_eq!(d.len(), 2, "{d:#?}");
        assert_eq!(m.items.len(), 2);
    }

    #[test]
    fn unterminated_strings_are_named() {
        let (_, d) = parse(SourceId(0), "let a = \"abc\nlet b = 1\n");
        assert_eq!(d[0].code, Code::UnterminatedString);
    }
}
