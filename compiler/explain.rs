//! `aidc explain NAME`: what a name means, from the documentation compiled
//! into aidc. No IO. It knows diagnostic codes (docs/diagnostics.md),
//! keywords, statements, properties and facts (docs/language.md: the
//! sections whose heading names them, the rows of the property and fact
//! tables), and the standard library (its doc comments, plus what each
//! definition requires and installs, and its tables). A name it does not
//! know gets the nearest names it does.

use crate::source::SourceId;
use crate::syntax::{self, ast};

const LANGUAGE: &str = include_str!("../docs/language.md");

/// What `explain` found: Markdown text, or the names nearest the one asked.
pub enum Explained {
    Found(String),
    Unknown(Vec<String>),
}

/// Explains `name`: a diagnostic code, a keyword, statement, property or
/// fact (`target.driver`), a stdlib module (`cuda`) or definition
/// (`cuda.runtime`, `cuda.min-driver`).
pub fn explain(name: &str) -> Explained {
    let name = name.trim();
    if let Some(text) = code(name).or_else(|| stdlib(name)).or_else(|| language(name)) {
        return Explained::Found(text);
    }
    Explained::Unknown(nearest(name))
}

fn code(name: &str) -> Option<String> {
    let code = crate::diag::Code::ALL.iter().find(|c| c.as_str() == name)?;
    let doc = include_str!("../docs/diagnostics.md");
    let heading = format!("## `{name}`");
    let section = doc.split_once(&heading).map(|(_, rest)| rest.split("\n## ").next().unwrap_or("").trim().to_string());
    Some(match section {
        Some(text) if !text.is_empty() => format!("# {name}\n\n{}\n\n{text}\n", code.summary()),
        _ => format!("# {name}\n\n{}\n", code.summary()),
    })
}

/// A heading of docs/language.md: its level, its text and where its section ends.
struct Section<'a> {
    title: &'a str,
    body: &'a str,
}

fn sections() -> Vec<Section<'static>> {
    let mut out = Vec::new();
    let starts: Vec<(usize, usize)> = LANGUAGE
        .match_indices('\n')
        .map(|(i, _)| i + 1)
        .filter_map(|i| {
            let line = &LANGUAGE[i..];
            let level = line.bytes().take_while(|&b| b == b'#').count();
            (level >= 2 && line.as_bytes().get(level) == Some(&b' ')).then_some((i, level))
        })
        .collect();
    for (n, &(start, level)) in starts.iter().enumerate() {
        let end = starts[n + 1..].iter().find(|(_, l)| *l <= level).map_or(LANGUAGE.len(), |(s, _)| *s);
        let line_end = LANGUAGE[start..].find('\n').map_or(LANGUAGE.len(), |e| start + e);
        out.push(Section {
            title: LANGUAGE[start..line_end].trim_start_matches('#').trim(),
            body: &LANGUAGE[start..end],
        });
    }
    out
}

/// The backticked words of a heading: `7.12 \`enable\` and \`disable\`` -> enable, disable.
fn heading_words(title: &str) -> Vec<&str> {
    title.split('`').skip(1).step_by(2).collect()
}

/// Table rows of docs/language.md that define `name`: a property (first or,
/// in the per-kind table, second cell) or a fact (`target.NAME` or `NAME`
/// in the fact tables).
fn table_rows(name: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let bare = name.strip_prefix("target.").unwrap_or(name);
    for section in sections() {
        let facts = section.title.contains("facts") || section.title.contains("Facts");
        let mut header: Option<&str> = None;
        for line in section.body.lines() {
            if !line.starts_with('|') {
                header = None;
                continue;
            }
            if header.is_none() {
                header = Some(line);
                continue;
            }
            if line.starts_with("|---") {
                continue;
            }
            let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
            let cell = |i: usize| cells.get(i).and_then(|c| c.strip_prefix('`')).and_then(|c| c.strip_suffix('`'));
            let hit = if facts {
                cell(0) == Some(bare) || cell(0) == Some(name)
            } else {
                !name.starts_with("target.")
                    && (cell(0) == Some(name)
                        || (header.is_some_and(|h| h.contains("| kind |")) && cell(1) == Some(name)))
            };
            if hit {
                let head: Vec<&str> = header.unwrap_or("").trim_matches('|').split('|').map(str::trim).collect();
                let rendered: Vec<String> =
                    head.iter().zip(&cells).filter(|(_, v)| !v.is_empty()).map(|(h, v)| format!("{h}: {v}")).collect();
                out.push((section.title.to_string(), rendered.join("\n")));
            }
        }
    }
    out
}

fn language(name: &str) -> Option<String> {
    let mut out = String::new();
    for section in sections() {
        if heading_words(section.title).contains(&name) {
            out.push_str(section.body.trim_end());
            out.push_str("\n\n");
        }
    }
    // A row is in its section and in the sections around it: keep the innermost.
    let rows = table_rows(name);
    let innermost: Vec<&(String, String)> =
        rows.iter().enumerate().filter(|(i, r)| !rows[i + 1..].iter().any(|o| o.1 == r.1)).map(|(_, r)| r).collect();
    for (title, row) in innermost {
        let what = if name.starts_with("target.") || title.contains("acts") { "fact" } else { "property" };
        out.push_str(&format!("# {what} `{name}` (docs/language.md, {title})\n\n{row}\n\n"));
    }
    (!out.is_empty()).then(|| out.trim_end().to_string() + "\n")
}

/// A stdlib module, or a definition or table of one, with what its body
/// requires and installs.
fn stdlib(name: &str) -> Option<String> {
    let name = name.strip_prefix("std/").unwrap_or(name);
    let (module_name, item) = match name.split_once('.') {
        Some((m, i)) => (m, Some(i)),
        None => (name, None),
    };
    let text = crate::stdlib::module(module_name)?;
    let (module, _) = syntax::parse(SourceId(0), text);
    let slice = |s: crate::source::Span| text.get(s.start as usize..s.end as usize).unwrap_or("");
    let Some(item_name) = item else {
        let mut out = format!("# std/{module_name}\n\n");
        for line in &module.docs {
            out.push_str(line.trim_start_matches(' '));
            out.push('\n');
        }
        out.push_str("\nDefinitions:\n\n");
        for item in &module.items {
            let (kind, name) = match &item.kind {
                ast::ItemKind::Definition(d) => (d.kind.keyword(), d.name.name.as_str()),
                ast::ItemKind::Let(l) if !item.docs.is_empty() => ("table", l.name.name.as_str()),
                _ => continue,
            };
            let first = item.docs.first().map(|d| d.trim()).unwrap_or("");
            out.push_str(&format!("* {kind} `{module_name}.{name}`: {first}\n"));
        }
        return Some(out);
    };
    for item in &module.items {
        match &item.kind {
            ast::ItemKind::Definition(d) if d.name.name == item_name => {
                let head = text.get(item.span.start as usize..d.body.span.start as usize).unwrap_or("");
                let signature: Vec<&str> =
                    head.lines().map(str::trim).filter(|l| !l.starts_with("///") && !l.is_empty()).collect();
                let signature = signature.join(" ").replacen(' ', &format!(" {module_name}."), 1);
                let mut out = format!("# {}\n\n", signature.trim());
                for line in &item.docs {
                    out.push_str(line.trim_start_matches(' '));
                    out.push('\n');
                }
                let mut requires = Vec::new();
                let mut installs = Vec::new();
                let mut properties = Vec::new();
                let mut provides = Vec::new();
                for stmt in &d.body.stmts {
                    let written = slice(stmt.span)
                        .lines()
                        .map(str::trim)
                        .filter(|l| !l.starts_with("//"))
                        .collect::<Vec<_>>()
                        .join(" ");
                    match &stmt.kind {
                        ast::StmtKind::Requires { .. } => requires.push(written),
                        ast::StmtKind::Property { .. } => properties.push(written),
                        ast::StmtKind::Provides { .. } => provides.push(written),
                        _ => installs.push(written),
                    }
                }
                for (title, list) in [
                    ("Requires", requires),
                    ("Provides", provides),
                    ("Installs and does", installs),
                    ("Properties", properties),
                ] {
                    if !list.is_empty() {
                        out.push_str(&format!("\n{title}:\n\n"));
                        for l in list {
                            out.push_str(&format!("    {l}\n"));
                        }
                    }
                }
                return Some(out);
            }
            ast::ItemKind::Let(l) if l.name.name == item_name => {
                let mut out = format!("# table {module_name}.{item_name}\n\n");
                for line in &item.docs {
                    out.push_str(line.trim_start_matches(' '));
                    out.push('\n');
                }
                out.push_str(&format!("\n    {}\n", slice(l.value.span).replace('\n', "\n    ")));
                return Some(out);
            }
            _ => {}
        }
    }
    None
}

/// Every name `explain` knows.
fn known() -> Vec<String> {
    let mut names: Vec<String> = crate::diag::Code::ALL.iter().map(|c| c.as_str().to_string()).collect();
    for section in sections() {
        names.extend(heading_words(section.title).into_iter().filter(|w| !w.contains(' ')).map(str::to_string));
    }
    for (module_name, text) in crate::stdlib::MODULES {
        names.push(module_name.to_string());
        let (module, _) = syntax::parse(SourceId(0), text);
        for item in &module.items {
            match &item.kind {
                ast::ItemKind::Definition(d) => names.push(format!("{module_name}.{}", d.name.name)),
                ast::ItemKind::Let(l) if !item.docs.is_empty() => names.push(format!("{module_name}.{}", l.name.name)),
                _ => {}
            }
        }
    }
    for fact in ["release", "arch", "trademark", "kernel", "driver", "remix", "image", "variant", "proprietary"] {
        names.push(format!("target.{fact}"));
    }
    names.sort();
    names.dedup();
    names
}

/// Up to three known names nearest `name`.
fn nearest(name: &str) -> Vec<String> {
    let mut scored: Vec<(f64, String)> = known()
        .into_iter()
        .map(|k| {
            let tail = k.rsplit(['.', ':']).next().unwrap_or(&k);
            let score = strsim::jaro_winkler(name, &k).max(strsim::jaro_winkler(name, tail) - 0.05);
            (score, k)
        })
        .filter(|(s, _)| *s > 0.8)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    scored.into_iter().take(3).map(|(_, k)| k).collect()
}

/// Markdown as plain text: links as their text, no emphasis markers.
pub fn plain(markdown: &str) -> String {
    render(markdown, false)
}

/// Markdown for a terminal: headings bold, code cyan.
pub fn styled(markdown: &str) -> String {
    render(markdown, true)
}

fn render(markdown: &str, color: bool) -> String {
    let mut out = String::new();
    let mut fenced = false;
    for line in markdown.lines() {
        if line.starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            out.push_str("    ");
            out.push_str(&paint(line, "36", color));
            out.push('\n');
            continue;
        }
        let heading = line.trim_start_matches('#');
        if heading.len() < line.len() && heading.starts_with(' ') {
            out.push_str(&paint(&inline(heading.trim(), false), "1", color));
            out.push('\n');
            continue;
        }
        out.push_str(&inline(line, color));
        out.push('\n');
    }
    out
}

fn paint(text: &str, code: &str, color: bool) -> String {
    if color { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_string() }
}

/// One line: `[text](link)` -> text, `**x**` -> x, code spans cyan in colour.
fn inline(line: &str, color: bool) -> String {
    let mut out = String::new();
    let mut rest = line.replace("**", "");
    while let Some(open) = rest.find('[') {
        let Some(mid) = rest[open..].find("](").map(|m| open + m) else { break };
        let Some(close) = rest[mid..].find(')').map(|c| mid + c) else { break };
        out.push_str(&rest[..open]);
        out.push_str(&rest[open + 1..mid]);
        rest = rest[close + 1..].to_string();
    }
    out.push_str(&rest);
    if !color {
        return out;
    }
    let mut painted = String::new();
    for (i, part) in out.split('`').enumerate() {
        if i % 2 == 1 { painted.push_str(&paint(part, "36", true)) } else { painted.push_str(part) }
    }
    painted
}
