//! `.containerignore` / `.dockerignore` patterns, with buildah's semantics
//! (buildah reads them with moby/patternmatcher, `patternmatcher.go` and
//! `ignorefile/ignorefile.go`): one pattern per line, `#` comment lines,
//! surrounding white space trimmed, `!` re-includes, a leading `/` dropped;
//! `*` is any run of characters but `/`, `?` one character but `/`, `**`
//! any number of directories (`**/` eats its `/`; `**` at the end matches
//! everything below), `[...]` a character class, `\` escapes the next
//! character; a pattern that matches a directory excludes everything under
//! it; the last matching pattern wins.
//!
//! Each pattern is translated to a regular expression the way
//! patternmatcher does and matched by the `regex` crate, whose matching
//! takes time linear in the path whatever the pattern (the hand-written
//! backtracking matcher this replaces took minutes on
//! `**/*a*a*a*a*a*a*a*a*b`, and overflowed the stack on 50,000 `*`).
//! Patterns are capped at [`MAX_PATTERN`] bytes and the compiled form at
//! [`MAX_COMPILED`] bytes; a pattern over either, or one the regex syntax
//! refuses (buildah refuses it too: `filepath.ErrBadPattern`), matches
//! nothing and is reported by [`Ignore::errors`].

use regex::{Regex, RegexBuilder};

/// The longest pattern line read, in bytes.
pub const MAX_PATTERN: usize = 4096;
/// The most memory one compiled pattern may take.
const MAX_COMPILED: usize = 1 << 20;

/// The patterns of an ignore file.
pub struct Ignore {
    patterns: Vec<Pattern>,
    errors: Vec<(usize, String)>,
}

struct Pattern {
    negated: bool,
    regex: Regex,
}

impl Ignore {
    pub fn parse(text: &str) -> Ignore {
        let mut patterns = Vec::new();
        let mut errors = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (negated, p) = match line.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, line),
            };
            if p.len() > MAX_PATTERN {
                errors.push((n + 1, format!("the pattern is longer than {MAX_PATTERN} bytes")));
                continue;
            }
            let cleaned = clean(p);
            if cleaned.is_empty() {
                continue;
            }
            match RegexBuilder::new(&translate(&cleaned)).size_limit(MAX_COMPILED).dfa_size_limit(MAX_COMPILED).build()
            {
                Ok(regex) => patterns.push(Pattern { negated, regex }),
                Err(e) => errors.push((n + 1, format!("not a valid pattern: {}", first_line(&e.to_string())))),
            }
        }
        Ignore { patterns, errors }
    }

    pub fn empty() -> Ignore {
        Ignore { patterns: Vec::new(), errors: Vec::new() }
    }

    /// Lines (1-based) whose pattern was refused, and why.
    #[allow(dead_code, reason = "read by the tests; digests may report them")]
    pub fn errors(&self) -> &[(usize, String)] {
        &self.errors
    }

    /// Whether `path` (relative, `/`-separated) is excluded from the context.
    pub fn excludes(&self, path: &str) -> bool {
        let path = clean(path);
        let mut excluded = false;
        for p in &self.patterns {
            // As patternmatcher: an inclusion is only tried while not
            // excluded, an exclusion only while excluded.
            if p.negated != excluded {
                continue;
            }
            // The path itself, or one of its parent directories.
            let hit = p.regex.is_match(&path) || path.match_indices('/').any(|(i, _)| p.regex.is_match(&path[..i]));
            if hit {
                excluded = !p.negated;
            }
        }
        excluded
    }
}

fn first_line(s: &str) -> &str {
    s.lines().find(|l| !l.trim().is_empty()).unwrap_or(s)
}

/// Go's `filepath.Clean` on a relative pattern, with the leading `/`
/// dropped: no empty or `.` segments, `..` folded where it can be.
fn clean(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for segment in p.split('/') {
        match segment {
            "" | "." => {}
            ".." if parts.last().is_some_and(|l| *l != "..") => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    parts.join("/")
}

/// The regular expression of a cleaned pattern, as patternmatcher builds it.
fn translate(p: &str) -> String {
    let mut re = String::from("^");
    let mut chars = p.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                if chars.peek() == Some(&'/') {
                    chars.next();
                }
                re.push_str(if chars.peek().is_none() { ".*" } else { "(.*/)?" });
            }
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            '\\' => match chars.next() {
                Some(next) => re.push_str(&regex::escape(&next.to_string())),
                None => re.push_str("\\\\"),
            },
            '[' | ']' | '^' | '-' => re.push(c),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    re
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `regex` is built without its Unicode tables (they were 8,600 of the
    /// binary's relocations, paid at every start): `*`, `?`, `[...]` and
    /// literals still match any UTF-8 name, as Go's patternmatcher does.
    #[test]
    fn non_ascii_names_match_without_unicode_tables() {
        let i = Ignore::parse("modèles/*.bin\n?.txt\n[é-ê]x\nnaïve/**\n");
        assert!(i.errors.is_empty(), "{:?}", i.errors);
        assert!(i.excludes("modèles/poids.bin"));
        assert!(!i.excludes("modeles/poids.bin"));
        assert!(i.excludes("é.txt"));
        assert!(!i.excludes("éé.txt"));
        assert!(i.excludes("êx"));
        assert!(i.excludes("naïve/a/b"));
    }

    #[test]
    fn patterns_as_buildah_reads_them() {
        let i = Ignore::parse("# comment\n*.log\nbuild/\n!build/keep.txt\n**/secret*\n");
        assert!(i.excludes("a.log"));
        assert!(!i.excludes("dir/a.log"));
        assert!(i.excludes("build/x"));
        assert!(!i.excludes("build/keep.txt"));
        assert!(i.excludes("files/deep/secret.key"));
        assert!(i.excludes("secret.key"));
        assert!(!i.excludes("files/a.conf"));
    }

    #[test]
    fn classes_escapes_and_double_stars() {
        let i = Ignore::parse("[abc].txt\n[^x]y\nlit\\*eral\n/rooted\n**/deep/**\ndocs/**\nf?o\na.b+c\n");
        assert!(i.excludes("a.txt") && i.excludes("c.txt") && !i.excludes("d.txt"));
        assert!(i.excludes("zy") && !i.excludes("xy"));
        assert!(i.excludes("lit*eral") && !i.excludes("litXeral"));
        assert!(i.excludes("rooted/x"));
        assert!(i.excludes("deep/x") && i.excludes("a/b/deep/c/d"));
        assert!(i.excludes("docs/a/b"));
        assert!(i.excludes("foo") && !i.excludes("f/o"));
        assert!(i.excludes("a.b+c") && !i.excludes("aXb+c"));
        // `.` and `+` are literal, not regular-expression syntax.
        assert!(!i.excludes("abbbc"));
    }

    #[test]
    fn negation_applies_in_order() {
        let i = Ignore::parse("*\n!keep\n!dir/**\ndir/no\n");
        assert!(i.excludes("x"));
        assert!(!i.excludes("keep"));
        assert!(!i.excludes("dir/yes"));
        assert!(i.excludes("dir/no"));
    }

    #[test]
    fn hostile_patterns_end_fast_and_are_reported() {
        let slow = "**/*a*a*a*a*a*a*a*a*b\n";
        let i = Ignore::parse(slow);
        let start = std::time::Instant::now();
        let path = format!("{}/{}", "a".repeat(2000), "a".repeat(2000));
        assert!(!i.excludes(&path));
        assert!(start.elapsed() < std::time::Duration::from_secs(2), "{:?}", start.elapsed());
        let stars = Ignore::parse(&"*".repeat(50_000));
        assert_eq!(stars.errors().len(), 1);
        assert!(!stars.excludes("x"));
        let bad = Ignore::parse("ok\n[z-a]\n");
        assert_eq!(bad.errors().len(), 1);
        assert_eq!(bad.errors()[0].0, 2);
        assert!(bad.excludes("ok"));
    }
}
