//! Stage 1, parse: text to [`ast::Module`]. Parsing never fails: it returns
//! what it could read plus diagnostics, recovering at the next item after an
//! error so that one run reports every broken item.

pub mod ast;
mod depth;
mod errors;
mod fast;
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
///
/// Valid text takes the hand-written fast path (`fast.rs`); anything it
/// does not accept is parsed by pest and lowered, which decide every
/// diagnostic. Debug builds parse with both and compare.
pub fn parse(source: SourceId, text: &str) -> (ast::Module, Vec<Diagnostic>) {
    if let Some(refused) = refuse(source, text) {
        return refused;
    }
    if let Some(module) = fast::parse(source, text) {
        #[cfg(debug_assertions)]
        {
            let (slow, diagnostics) = parse_pest(source, text);
            assert!(diagnostics.is_empty(), "the fast parser accepted what pest refuses: {diagnostics:#?}\n{text}");
            assert_eq!(module, slow, "the fast parser disagrees with pest on:\n{text}");
        }
        return (module, Vec::new());
    }
    parse_pest(source, text)
}

/// The fast path alone: the module when it accepts `text` (after the same
/// pre-scans as [`parse`]), else `None`. For the fuzz oracle and tests.
pub fn parse_fast(source: SourceId, text: &str) -> Option<ast::Module> {
    if depth::scan(text).is_some() {
        return None;
    }
    fast::parse(source, text)
}

/// The grammar of record alone: pre-scans, pest and lowering, as [`parse`]
/// is without its fast path. For the fuzz oracle and tests.
pub fn parse_slow(source: SourceId, text: &str) -> (ast::Module, Vec<Diagnostic>) {
    refuse(source, text).unwrap_or_else(|| parse_pest(source, text))
}

/// The diagnostic of the pre-scans that refuse a file before any parser
/// reads it (nesting too deep, a comment never closed), as a parse result.
fn refuse(source: SourceId, text: &str) -> Option<(ast::Module, Vec<Diagnostic>)> {
    let mut diagnostics = Vec::new();
    let module = ast::Module { source: Some(source), ..ast::Module::default() };
    match depth::scan(text) {
        None => return None,
        Some(depth::Refusal::TooDeep(pos)) => diagnostics.push(too_deep(source, pos)),
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
        }
    }
    Some((module, diagnostics))
}

/// The diagnostic of nesting deeper than [`depth::MAX_DEPTH`] at `pos`.
fn too_deep(source: SourceId, pos: usize) -> Diagnostic {
    Diagnostic::error(Code::TooDeep, format!("nesting deeper than {} levels", depth::MAX_DEPTH))
        .label(Span::new(source, pos, pos + 1), "this opens one level too many")
        .help("brackets, block comments and `${...}` nest at most 64 deep; flatten the expression or use a `let`")
}

/// The nesting of `text` from `pos` on, read as code: pest is started
/// there at a line that looks like an item (a segment's cut, or where it
/// goes on after an error), which the pre-scan of the whole file may have
/// read inside a string or a comment. Deeper than [`depth::MAX_DEPTH`]
/// from there, pest is not started: its recursion would overflow the stack
/// (found by stop 27's attacker review: a triple-quoted string holding a
/// line `let x = [[[...` 15,000 deep).
fn too_deep_from(source: SourceId, text: &str, pos: usize) -> Option<Diagnostic> {
    match depth::scan(&text[pos..]) {
        Some(depth::Refusal::TooDeep(at)) => Some(too_deep(source, pos + at)),
        _ => None,
    }
}

/// pest and lowering, on text the pre-scans let through.
fn parse_pest(source: SourceId, text: &str) -> (ast::Module, Vec<Diagnostic>) {
    let mut diagnostics = Vec::new();
    let mut module = ast::Module { source: Some(source), ..ast::Module::default() };

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
    items(source, text, pos, &mut module.items, &mut diagnostics);
    (module, diagnostics)
}

/// Below this many bytes of items per core, a file is parsed on the calling
/// thread (pest reads about 1 KB of recipe in half a millisecond).
const SEGMENT_BYTES: usize = 64 * 1024;

/// The items of `text` from `from` (where the module docs end) on.
///
/// A large file is cut into segments at lines that look like the start of
/// an item (`next_item_start`), and the segments are parsed on every core
/// (`crate::par`). Each segment's items are exactly those of a parse in a
/// row when the item before it ends where it starts; where one does not (a
/// cut inside a string or a comment), parsing in a row takes over up to the
/// next cut. Diagnostics anywhere, and the whole file is parsed again in a
/// row: how many errors are reported, and their wording, depend on it.
fn items(source: SourceId, text: &str, from: usize, items: &mut Vec<ast::Item>, diagnostics: &mut Vec<Diagnostic>) {
    let mut errors = 0;
    let Some(bounds) = segments(text, from) else {
        items_until(source, text, from, None, &mut errors, items, diagnostics);
        return;
    };
    let parsed = crate::par::map(&bounds, |&(start, stop)| {
        let (mut items, mut diagnostics, mut errors) = (Vec::new(), Vec::new(), 0);
        let end = match too_deep_from(source, text, start).filter(|_| start != from) {
            Some(refused) => {
                diagnostics.push(refused);
                None
            }
            None => items_until(source, text, start, stop, &mut errors, &mut items, &mut diagnostics),
        };
        (items, diagnostics, end)
    });
    if parsed.iter().any(|(_, d, _)| !d.is_empty()) {
        items_until(source, text, from, None, &mut errors, items, diagnostics);
        return;
    }
    // Where the items so far end: the start of the next one, or `None` once
    // parsing in a row stopped (the end of the file, too many errors).
    let mut at = Some(from);
    for ((start, stop), (segment, _, end)) in bounds.into_iter().zip(parsed) {
        match at {
            None => break,
            Some(at_start) if at_start == start => {
                items.extend(segment);
                at = end;
            }
            // Where the segment before ended, read in a row from a cut
            // whose nesting was checked: that segment's items end there.
            Some(other) => at = items_until(source, text, other, stop, &mut errors, items, diagnostics),
        }
    }
}

/// The segments of a large file's items from `from` on, each from where it
/// starts to where the next one does (`None`: the end of the file), cut at
/// lines that look like the start of an item (`next_item_start`, with the
/// doc comments above it); `None` for a file of less than two segments'
/// worth of items per core, parsed in a row. A cut may fall inside a string
/// or a comment: the parsers check that each segment ends where the next
/// one starts.
pub(crate) fn segments(text: &str, from: usize) -> Option<Vec<(usize, Option<usize>)>> {
    let mut segments = (text.len() - from) / SEGMENT_BYTES;
    if segments < 2 {
        return None;
    }
    segments = segments.min(4 * crate::par::cores());
    let mut starts = vec![from];
    for k in 1..segments {
        let at = from + (text.len() - from) * k / segments;
        if let Some(cut) = next_item_start(text, at).map(|line| docs_above(text, line))
            && cut > *starts.last().unwrap_or(&0)
        {
            starts.push(cut);
        }
    }
    if starts.len() < 2 {
        return None;
    }
    Some(starts.iter().enumerate().map(|(k, &start)| (start, starts.get(k + 1).copied())).collect())
}

/// Parses items in a row from `pos` until the first item that starts at or
/// after `stop`: where that item starts, or `None` when parsing stopped
/// before (the end of `text`, or too many errors).
fn items_until(
    source: SourceId,
    text: &str,
    mut pos: usize,
    stop: Option<usize>,
    errors: &mut usize,
    items: &mut Vec<ast::Item>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<usize> {
    loop {
        let rest = &text[pos..];
        let skipped = skip_trivia(rest);
        if skipped == rest.len() {
            return None;
        }
        if let Some(stop) = stop
            && pos + skipped >= stop
        {
            return Some(pos + skipped);
        }
        match AidParser::parse(Rule::item_only, rest) {
            Ok(mut pairs) => {
                let pair = pairs.next().expect("item_only yields one pair");
                let end = pair.as_span().end();
                let item = pair.into_inner().find(|p| p.as_rule() == Rule::item)?;
                let before = diagnostics.len();
                let mut lowerer = Lowerer { source, base: pos, diagnostics: &mut *diagnostics };
                match lowerer.item(item) {
                    Some(item) => items.push(item),
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
                *errors += 1;
                if *errors >= MAX_ERRORS_PER_FILE {
                    return None;
                }
                match next_item_start(text, pos + skipped + 1) {
                    Some(next) => pos = next,
                    None => return None,
                }
                if let Some(refused) = too_deep_from(source, text, pos) {
                    diagnostics.push(refused);
                    return None;
                }
            }
        }
    }
}

/// The start of the `///` lines right above `line` (the item's docs), or
/// `line` itself.
fn docs_above(text: &str, mut line: usize) -> usize {
    while line > 0 {
        let above = text[..line - 1].rfind('\n').map_or(0, |i| i + 1);
        if !text[above..line].starts_with("///") {
            break;
        }
        line = above;
    }
    line
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

    /// A file large enough to parse on every core gives what a parse in a
    /// row gives, also where a cut falls inside a string or a comment (a
    /// line in them that looks like an item's start), and with errors.
    #[test]
    fn segments_parse_as_a_row() {
        let mut text = String::from("//! module docs\n\n");
        for i in 0..3000 {
            text.push_str(&format!(
                "/// Image {i}.\n/// Second line.\nimage gen-{i} {{\n  from \"quay.io/x:{i}\"\n  write \"/etc/{i}\" \"\"\"\n\
                 image not-an-item {{\n    \"\"\"\n}}\n/* a comment\nimage also-not-one {{}}\n*/\nlet v{i} = [{i}, \"x\"]\n\n"
            ));
        }
        assert!(text.len() > 4 * SEGMENT_BYTES);
        let in_a_row = |text: &str| {
            let (mut items, mut diagnostics, mut errors) = (Vec::new(), Vec::new(), 0);
            let head = text.find("\n\n").unwrap_or(0);
            items_until(SourceId(0), text, head, None, &mut errors, &mut items, &mut diagnostics);
            (items, diagnostics)
        };
        // pest's path itself: the fast path would read this valid file in a row.
        let (m, d) = parse_pest(SourceId(0), &text);
        assert!(d.is_empty(), "{d:#?}");
        assert_eq!(m.items.len(), 6000);
        let json = |items: &[ast::Item]| serde_json::to_string(items).expect("json");
        let (items, _) = in_a_row(&text);
        assert_eq!(json(&m.items), json(&items));
        // An error in the middle: the same diagnostics as in a row.
        let broken = text.replacen("let v1500 = [1500, \"x\"]", "let v1500 = [1500, ", 1);
        let (m, d) = parse(SourceId(0), &broken);
        let (items, diagnostics) = in_a_row(&broken);
        assert_eq!((json(&m.items), d.len()), (json(&items), diagnostics.len()));
        assert_eq!(d.len(), 1);
    }

    /// The fast path reads a large file in segments on every core and gives
    /// what pest gives: where no cut falls inside an item, and where cuts
    /// fall inside strings and comments (it then reads in a row).
    #[test]
    fn fast_segments_read_as_pest_does() {
        for tricky in [false, true] {
            let mut text = String::from("//! module docs\n\n");
            for i in 0..3000 {
                text.push_str(&format!("/// Image {i}.\nimage gen-{i} {{\n  from \"quay.io/x:{i}\"\n"));
                if tricky {
                    text.push_str(&format!(
                        "  write \"/etc/{i}\" \"\"\"\nimage not-an-item {{\n    \"\"\"\n/* a comment\nlet also-not-one = 1\n*/\n"
                    ));
                }
                text.push_str(&format!("}}\nlet v{i} = [{i}, \"x\"]\n\n"));
            }
            assert!(segments(&text, text.find("\n\n").unwrap_or(0)).is_some_and(|s| s.len() > 2));
            let read = fast::parse(SourceId(0), &text).expect("the fast path reads it");
            let (slow, d) = parse_pest(SourceId(0), &text);
            assert!(d.is_empty(), "{d:#?}");
            assert_eq!(read.items.len(), 6000);
            assert_eq!(read, slow, "tricky: {tricky}");
        }
    }

    /// Segments cut next to everything that can look like
    /// an item start or sit between a doc comment and its item: lines at the
    /// first column inside triple strings, nested block comments and lists
    /// (`layer` and `image` as names), `////` lines and blank lines between
    /// docs and items, CRLF, multi-byte characters right at the cut offsets,
    /// interpolations, and items whose span runs over trailing comments.
    /// The fast path must accept every file and give pest's module.
    #[test]
    fn fast_segments_read_as_pest_does_around_tricky_cuts() {
        const UNITS: &[&str] = &[
            "/// Image {i}.\nimage gen-{i} {\n  from \"quay.io/x:{i}\"\n}\n",
            "let t{i} = \"\"\"\nimage not-{i} {\n/// doc\nlet z = 1\n  \"\"\"\n",
            "/* outer\nimage a {\n/* inner\nlet b = 2\n*/\nlayer c {}\n*/\nlet after{i} = 1\n",
            "//// not a doc\nlet v{i} = [{i}, \"x\"]\n",
            "/// doc {i}\n\nlet d{i} = {i}\n",
            "/// crlf {i}\r\nlet c{i} = \"\u{e9}\u{20ac}\u{1f600} {i}\"\r\n\r\n",
            "let s{i} = \"a ${v0} b ${[1, 2][0]} \u{1f600}\"\n",
            "let o{i} = x{i} // trailing\n\n",
            "let o{i} = x{i} or y /* trailing */\n/// next\n\nlet p{i} = 2 == 3\n",
            "let w{i} = [\nlayer,\nimage,\nlet-x\n]\n",
            "layer l{i}(a: string = \"x\", b: int = 1) {\n  packages [a]\n  write \"/etc/{i}\" \"\"\"\n    ${a}\nimage fake {\n    \"\"\" mode \"0644\"\n}\n",
            "\u{e9}\u{e9}\u{e9}",
            "// \u{1f600}\u{1f600}\u{1f600}\u{1f600}\u{1f600}\n",
            "image h{i} {\n  from \"q:{i}\"\n  variant v {\n    packages [\"p\"] // c\n  }\n}\n\n\n",
        ];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n as u64) as usize
        };
        for round in 0..6 {
            let mut text = String::from("//! module docs\n\n");
            let mut i = 0;
            while text.len() < 200 * 1024 + round * 37 * 1024 {
                let unit = UNITS[next(UNITS.len())];
                if unit.starts_with('\u{e9}') {
                    // Multi-byte characters inside a comment, at any offset.
                    text.push_str("/* ");
                    text.push_str(&unit.repeat(next(50)));
                    text.push_str(" */\n");
                } else {
                    text.push_str(&unit.replace("{i}", &i.to_string()));
                }
                i += 1;
            }
            let from = text.find("\n\n").unwrap_or(0);
            let cuts = segments(&text, from).expect("segments");
            assert!(cuts.len() > 2, "round {round}: {} segments", cuts.len());
            let read =
                fast::parse(SourceId(0), &text).unwrap_or_else(|| panic!("round {round}: the fast path declined"));
            let (slow, d) = parse_pest(SourceId(0), &text);
            assert!(d.is_empty(), "round {round}: {d:#?}");
            assert_eq!(read, slow, "round {round}");
        }
    }

    #[test]
    fn unterminated_strings_are_named() {
        let (_, d) = parse(SourceId(0), "let a = \"abc\nlet b = 1\n");
        assert_eq!(d[0].code, Code::UnterminatedString);
    }
}
