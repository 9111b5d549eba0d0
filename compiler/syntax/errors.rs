//! Turns pest's failures into diagnostics in plain words. Rule names never
//! reach users: each rule maps to a phrase, and the message names what came
//! before and what was found instead.

use super::grammar::Rule;
use crate::diag::{Code, Diagnostic};
use crate::source::{SourceId, Span};

/// The phrase for a rule in an "expected ..." list; `None` for rules that
/// only continue an expression and would make the list noisy.
fn phrase(rule: Rule) -> Option<&'static str> {
    use Rule::*;
    Some(match rule {
        EOI => "the end of the file",
        item | item_only | import | let_item | definition | image | pipeline | def_kind => {
            "an item (`import`, `let`, `base`, `repo`, `kernel`, `kmod`, `layer`, `image` or `pipeline`)"
        }
        stmt | property | from_stmt | kernel_stmt | kmod_stmt | signing_stmt | use_stmt | repo_stmt | packages_stmt
        | remove_stmt | fetch_stmt | copy_stmt | write_stmt | run_stmt | enable_stmt | disable_stmt | kargs_stmt
        | flatpak_stmt | env_stmt | label_stmt | provides_stmt | requires_stmt | after_stmt | policy_stmt
        | variant_stmt => "a statement or `}`",
        block | entries_block => "`{`",
        entry => "an entry `NAME = VALUE` or `}`",
        map_entry => "a map entry `\"key\" = value`",
        params => "`(` or `{`",
        param => "a parameter name",
        type_name => "a type (`string`, `int`, `bool`, `list`, `map` or `duration`)",
        ident | path => "a name",
        env_name => "an environment variable name",
        string | str_operand => "a string",
        str_text | str_escape | dollar_lit | interp => "the closing `\"`",
        triple_string | triple_text => "the closing `\"\"\"`",
        expr | or_expr | and_expr | not_expr | cmp_expr | postfix | primary | paren | list | map | integer
        | duration | boolean | arg => "a value",
        doc_comment | doc_line => "a documented item",
        module_doc => "a `//!` module comment",
        IMPORT => "`import`",
        AS => "`as`",
        LET => "`let`",
        TO => "`to`",
        ELSE => "`else`",
        SHA256 => "`sha256`",
        EXTRACT => "`extract`",
        MODE => "`mode`",
        EXTENDS => "`extends`",
        call_args | index | field | cmp_op | not_op | AND | OR | NOT => return None,
        _ => return None,
    })
}

/// The token at `pos`, for "found ..." (a word, a quoted character, or the end).
fn found(text: &str, pos: usize) -> String {
    let rest = &text[pos..];
    let Some(c) = rest.chars().next() else {
        return "the end of the file".to_string();
    };
    if c == '\n' || c == '\r' {
        return "the end of the line".to_string();
    }
    if c.is_ascii_alphanumeric() || c == '_' {
        let word: String =
            rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-').take(40).collect();
        return format!("`{word}`");
    }
    if c == '"' {
        return "a string".to_string();
    }
    if c.is_control() {
        return format!("the character U+{:04X}", c as u32);
    }
    format!("`{c}`")
}

/// The last token before `pos`, for "after ...".
fn previous_word(text: &str, pos: usize) -> Option<String> {
    let before = text[..pos].trim_end();
    let last = before.chars().last()?;
    if last.is_ascii_alphanumeric() || last == '_' || last == '-' {
        let word: String =
            before.chars().rev().take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-').collect();
        let word: String = word.chars().rev().collect();
        Some(word)
    } else if last == '"' {
        None
    } else {
        Some(last.to_string())
    }
}

/// Where the unterminated `"` string that is open at `pos` starts, if any.
fn open_string_start(text: &str, pos: usize) -> Option<usize> {
    let line_start = text[..pos].rfind('\n').map_or(0, |i| i + 1);
    let line = &text[line_start..pos];
    let mut open: Option<usize> = None;
    let mut chars = line.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match (open, c) {
            (None, '/') if line[i..].starts_with("//") => break,
            (None, '"') => open = Some(i),
            (Some(_), '\\') => {
                chars.next();
            }
            (Some(_), '"') => open = None,
            _ => {}
        }
    }
    open.map(|i| line_start + i)
}

/// The diagnostic for a pest failure in `text` (which starts at `base` in the file).
pub fn from_pest(error: &pest::error::Error<Rule>, source: SourceId, full: &str, base: usize) -> Diagnostic {
    let local = match error.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((s, _)) => s,
    };
    let pos = (base + local).min(full.len());
    let (positives, negatives): (Vec<Rule>, Vec<Rule>) = match &error.variant {
        pest::error::ErrorVariant::ParsingError { positives, negatives } => (positives.clone(), negatives.clone()),
        pest::error::ErrorVariant::CustomError { .. } => (Vec::new(), Vec::new()),
    };
    let at = |start: usize, end: usize| Span::new(source, start, end.max(start));
    let token_end = |p: usize| full[p..].char_indices().nth(1).map_or(full.len(), |(i, _)| p + i).min(full.len());

    if positives.iter().any(|r| matches!(r, Rule::triple_text)) && pos == full.len() {
        return Diagnostic::error(Code::UnterminatedString, "unterminated triple-quoted string")
            .label(
                at(full[..pos].rfind("\"\"\"").unwrap_or(pos), full[..pos].rfind("\"\"\"").map_or(pos, |o| o + 3)),
                "this string is never closed",
            )
            .help("close the string with `\"\"\"`");
    }
    // An unterminated one-line string is the commonest slip; say so plainly.
    let in_string =
        positives.iter().any(|r| matches!(r, Rule::str_text | Rule::str_escape | Rule::dollar_lit | Rule::interp));
    let at_line_end = full[pos..].starts_with('\n') || full[pos..].starts_with('\r') || pos == full.len();
    if in_string && at_line_end {
        let start = open_string_start(full, pos).unwrap_or(pos);
        return Diagnostic::error(Code::UnterminatedString, "unterminated string")
            .label(at(start, pos), "this string is not closed before the end of the line")
            .help("close it with `\"` on the same line, or use `\"\"\"...\"\"\"` for text over several lines");
    }

    if let Some(d) = fetch_order(full, pos, source) {
        return d;
    }
    let wants_statement = positives.iter().any(|r| matches!(r, Rule::stmt | Rule::entry));
    if wants_statement && let Some(d) = unclosed_body(full, base, pos, source) {
        return d;
    }
    if let Some(d) = super::mistakes::common_mistake(full, base, pos, source) {
        return d;
    }

    // The positives name the rules that failed; pest's parse attempts add
    // the punctuation that would have fitted (`,`, `]`, `=`).
    let mut phrases: Vec<String> = Vec::new();
    fn push(phrases: &mut Vec<String>, p: String) {
        if !phrases.contains(&p) {
            phrases.push(p);
        }
    }
    let previous = previous_word(full, pos);
    // After a keyword whose operand is a string, "a value" is "a string".
    let wants_string = previous.as_deref().is_some_and(|w| {
        matches!(
            w,
            "copy"
                | "write"
                | "fetch"
                | "enable"
                | "disable"
                | "flatpak"
                | "label"
                | "to"
                | "sha256"
                | "extract"
                | "mode"
                | "import"
        )
    });
    for rule in &positives {
        if let Some(p) = phrase(*rule) {
            let p = if wants_string && p == "a value" { "a string" } else { p };
            push(&mut phrases, p.to_string());
        }
    }
    if let Some(attempts) = error.parse_attempts() {
        for token in attempts.expected_tokens() {
            let token = token.to_string();
            let statement_expected = phrases.iter().any(|p| p.starts_with("a statement") || p.starts_with("an entry"));
            let fallback = phrases.is_empty() && matches!(token.as_str(), "=" | "{" | "(" | ":");
            if fallback || matches!(token.as_str(), "]" | ")" | ",") || (token == "}" && !statement_expected) {
                push(&mut phrases, format!("`{token}`"));
            }
        }
    }
    if std::env::var_os("AID_DEBUG_PEST").is_some() {
        eprintln!("positives {positives:?} negatives {negatives:?} attempts {:?}", error.parse_attempts());
    }
    let found = found(full, pos);
    let rest = &full[pos..];
    let mut help = None;
    let message = if rest.starts_with("///") || rest.starts_with("//!") {
        help = Some(if rest.starts_with("//!") {
            "`//!` documents the whole module and goes at the top of the file; use `//` for a plain comment"
        } else {
            "a `///` doc comment documents the item or statement after it; use `//` for a plain comment"
        });
        "a doc comment is not followed by anything it could document".to_string()
    } else if phrases.is_empty() && !negatives.is_empty() {
        format!("unexpected {found}")
    } else {
        let list = match phrases.len() {
            0 => "something else".to_string(),
            1 => phrases[0].clone(),
            n => format!("{} or {}", phrases[..n - 1].join(", "), phrases[n - 1]),
        };
        match previous {
            Some(prev) if !prev.is_empty() => {
                format!("expected {list} after `{prev}`, found {found}")
            }
            _ => format!("expected {list}, found {found}"),
        }
    };
    if help.is_none() {
        help = syntax_help(full, pos, &positives);
    }
    let mut d = Diagnostic::error(Code::Syntax, message).label(at(pos, token_end(pos)), "unexpected here");
    if let Some(h) = help {
        d = d.help(h);
    }
    d
}

/// `fetch URL to DEST sha256 HEX`: the clauses of `fetch` in the wrong order.
fn fetch_order(full: &str, pos: usize, source: SourceId) -> Option<Diagnostic> {
    let rest = &full[pos..];
    let word: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
    if !matches!(word.as_str(), "sha256" | "extract" | "mode" | "to") {
        return None;
    }
    // The statement so far: from the last `fetch` or `copy` keyword on.
    let line_start = full[..pos].rfind(['{', '}']).map_or(0, |i| i + 1);
    let before = &full[line_start..pos];
    let keyword_at = ["fetch ", "copy "].iter().filter_map(|k| before.rfind(k).map(|i| (i, *k))).max()?;
    let statement = &before[keyword_at.0..];
    // `copy to ...`: the source is missing, not out of order.
    if statement.trim_end() == keyword_at.1.trim() {
        return None;
    }
    if statement.contains('\n') && statement.trim_end().lines().count() > 3 {
        return None;
    }
    let order = if keyword_at.1 == "fetch " {
        "`fetch \"URL\" sha256 \"HEX\" [extract \"MEMBER\"] to \"DEST\" [mode \"MODE\"]`"
    } else {
        "`copy \"SRC\" to \"DEST\" [mode \"MODE\"]`"
    };
    let keyword = keyword_at.1.trim();
    Some(
        Diagnostic::error(
            Code::Syntax,
            format!("`{word}` is out of place in `{keyword}`: its clauses go in a fixed order"),
        )
        .label(Span::new(source, pos, pos + word.len()), format!("`{word}` cannot come here"))
        .help(format!("write {order}")),
    )
}

/// A body whose `{` is never closed: the parser only notices at the next
/// item or at the end of the file, so the error points at the brace.
fn unclosed_body(full: &str, base: usize, pos: usize, source: SourceId) -> Option<Diagnostic> {
    let rest = &full[pos..];
    let word: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
    let next_item = matches!(word.as_str(), "import" | "let" | "base" | "layer" | "image" | "pipeline");
    if !(next_item || rest.trim().is_empty()) {
        return None;
    }
    let open = super::mistakes::open_brackets(&full[base..pos])
        .into_iter()
        .rev()
        .find(|&(_, c)| c == b'{')
        .map(|(i, _)| base + i)?;
    let found = if rest.trim().is_empty() { "the end of the file".to_string() } else { format!("`{word}`") };
    Some(
        Diagnostic::error(Code::Syntax, format!("this `{{` is never closed: {found} comes first"))
            .label(Span::new(source, open, open + 1), "this `{` is never closed")
            .label(Span::new(source, pos, pos + word.len()), "expected `}` before this")
            .help("add the missing `}` where the body ends"),
    )
}

/// A hint for the mistakes people coming from other languages make.
fn syntax_help(full: &str, pos: usize, positives: &[Rule]) -> Option<&'static str> {
    let rest = &full[pos..];
    let before = full[..pos].trim_end();
    if rest.starts_with('.') && before.ends_with(|c: char| c.is_ascii_digit()) {
        return Some("versions are strings: write them in quotes, like \"6.18\"");
    }
    if rest.starts_with('\'') {
        return Some("strings use double quotes: \"...\"");
    }
    if (rest.starts_with('"') || rest.starts_with(|c: char| c.is_ascii_alphanumeric()))
        && before.ends_with(|c: char| c == '"' || c == ']' || c.is_ascii_alphanumeric())
        && (positives.contains(&Rule::expr) || positives.is_empty())
    {
        return Some("list items and map entries are separated by `,`");
    }
    None
}
