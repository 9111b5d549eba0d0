//! `.containerignore` / `.dockerignore` patterns, as buildah reads them: one
//! pattern per line, `#` comments, `!` re-includes, `*` and `?` within a path
//! segment, `**` across segments; a pattern that matches a directory
//! excludes everything under it; the last matching pattern wins.

/// The patterns of an ignore file.
pub struct Ignore {
    patterns: Vec<(bool, Vec<String>)>,
}

impl Ignore {
    pub fn parse(text: &str) -> Ignore {
        let patterns = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| {
                let (negated, p) = match l.strip_prefix('!') {
                    Some(rest) => (true, rest.trim()),
                    None => (false, l),
                };
                let p = p.trim_start_matches('/').trim_end_matches('/');
                let segments = p.split('/').filter(|s| !s.is_empty() && *s != ".").map(str::to_string).collect();
                (negated, segments)
            })
            .collect();
        Ignore { patterns }
    }

    pub fn empty() -> Ignore {
        Ignore { patterns: Vec::new() }
    }

    /// Whether `path` (relative, `/`-separated) is excluded from the context.
    pub fn excludes(&self, path: &str) -> bool {
        let segments: Vec<&str> = path.split('/').collect();
        let mut excluded = false;
        for (negated, pattern) in &self.patterns {
            // The pattern matches the path or one of its parent directories.
            let hit = (1..=segments.len()).any(|n| matches(pattern, &segments[..n]));
            if hit {
                excluded = !negated;
            }
        }
        excluded
    }
}

fn matches(pattern: &[String], path: &[&str]) -> bool {
    match pattern.first() {
        None => path.is_empty(),
        Some(p) if p == "**" => (0..=path.len()).any(|skip| matches(&pattern[1..], &path[skip..])),
        Some(p) => !path.is_empty() && glob(p.as_bytes(), path[0].as_bytes()) && matches(&pattern[1..], &path[1..]),
    }
}

/// `*` and `?` within one segment (no `/` to cross).
fn glob(p: &[u8], s: &[u8]) -> bool {
    match (p.first(), s.first()) {
        (None, None) => true,
        (Some(b'*'), _) => glob(&p[1..], s) || (!s.is_empty() && glob(p, &s[1..])),
        (Some(b'?'), Some(_)) => glob(&p[1..], &s[1..]),
        (Some(a), Some(b)) if a == b => glob(&p[1..], &s[1..]),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_as_buildah_reads_them() {
        let i = Ignore::parse("# comment\n*.log\nbuild/\n!build/keep.txt\n**/secret*\n");
        assert!(i.excludes("a.log"));
        assert!(!i.excludes("dir/a.log"));
        assert!(i.excludes("build/x"));
        assert!(!i.excludes("build/keep.txt"));
        assert!(i.excludes("files/deep/secret.key"));
        assert!(!i.excludes("files/a.conf"));
    }
}
