//! RPM version comparison (rpmvercmp) and version patterns like `"6.18.*"`.
//! Strings that look like versions compare as RPM compares them, so
//! `"580.95.05" >= "580.65.06"` and `"6.18.10" > "6.18.9"` hold.

use std::cmp::Ordering;

/// A string that looks like a version: starts with a digit, then digits,
/// letters and `.`, `_`, `+`, `~`, `^`, `-`; `pattern` when it ends in `.*`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version<'a> {
    pub text: &'a str,
    pub pattern: bool,
}

impl<'a> Version<'a> {
    pub fn parse(text: &'a str) -> Option<Version<'a>> {
        let (body, pattern) = match text.strip_suffix(".*") {
            Some(body) => (body, true),
            None => (text, false),
        };
        let mut chars = body.chars();
        let first = chars.next()?;
        if !first.is_ascii_digit() {
            return None;
        }
        if !body.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '~' | '^' | '-')) {
            return None;
        }
        if body.ends_with('.') || body.contains("..") {
            return None;
        }
        Some(Version { text: body, pattern })
    }

    /// Whether `other` (exact) is one of the versions this pattern stands for.
    pub fn matches(&self, other: &str) -> bool {
        if self.pattern {
            other == self.text
                || other.strip_prefix(self.text).is_some_and(|rest| rest.starts_with(['.', '-', '_', '+']))
        } else {
            rpmvercmp(self.text, other) == Ordering::Equal
        }
    }
}

/// The outcome of comparing versions when a pattern is involved: a pattern
/// stands for many versions, so an ordering may hold for some and not others.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Truth {
    Yes,
    No,
    /// Holds for some versions the pattern stands for, not for others.
    Unknown,
}

/// Compares `a OP b`, either side possibly a pattern.
pub fn compare(a: &Version<'_>, op: crate::syntax::ast::CmpOp, b: &Version<'_>) -> Truth {
    use crate::syntax::ast::CmpOp::*;
    let yes = |c: bool| if c { Truth::Yes } else { Truth::No };
    match (a.pattern, b.pattern) {
        (false, false) => {
            let ord = rpmvercmp(a.text, b.text);
            yes(match op {
                Eq => ord == Ordering::Equal,
                Ne => ord != Ordering::Equal,
                Lt => ord == Ordering::Less,
                Le => ord != Ordering::Greater,
                Gt => ord == Ordering::Greater,
                Ge => ord != Ordering::Less,
            })
        }
        (true, true) => match op {
            Eq => yes(a.text == b.text),
            Ne => yes(a.text != b.text),
            _ => Truth::Unknown,
        },
        (true, false) => pattern_vs_exact(a, op, b.text),
        (false, true) => {
            let flipped = match op {
                Lt => Gt,
                Le => Ge,
                Gt => Lt,
                Ge => Le,
                other => other,
            };
            pattern_vs_exact(b, flipped, a.text)
        }
    }
}

/// The segments rpmvercmp compares: runs of digits or of letters; `~` and
/// `^` stand alone; everything else separates.
fn segments(v: &str) -> Vec<&str> {
    let b = v.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'~' || c == b'^' {
            out.push(&v[i..i + 1]);
            i += 1;
        } else if c.is_ascii_digit() || c.is_ascii_alphabetic() {
            let digit = c.is_ascii_digit();
            let start = i;
            while i < b.len() && (if digit { b[i].is_ascii_digit() } else { b[i].is_ascii_alphabetic() }) {
                i += 1;
            }
            out.push(&v[start..i]);
        } else {
            i += 1;
        }
    }
    out
}

/// Where the versions a pattern `p.*` stands for lie relative to `x`:
/// `Some(ordering)` when all of them are on one side, `None` when `x` falls
/// among them. Members are `p` itself and `p` followed by more segments.
fn pattern_position(p: &str, x: &str) -> Option<Ordering> {
    let (ps, xs) = (segments(p), segments(x));
    for (i, seg) in ps.iter().enumerate() {
        match xs.get(i) {
            // x ends inside p's prefix: every member is longer, hence newer
            // (unless the member continues with `~`, which sorts before the end).
            None => return Some(Ordering::Greater),
            Some(other) if other != seg => {
                // The first differing segment decides for every member alike.
                let ord = rpmvercmp(&ps[..=i].join("."), &xs[..=i].join("."));
                return if ord == Ordering::Equal { None } else { Some(ord) };
            }
            Some(_) => {}
        }
    }
    if xs.len() == ps.len() {
        // x is `p` itself: the members are `p` and versions after it.
        return None;
    }
    // x extends p: some members sort before it, some after.
    None
}

/// `P OP x` for a pattern `P` (prefix `p`) and an exact version `x`: true when
/// it holds for every version `P` stands for, false when for none.
fn pattern_vs_exact(p: &Version<'_>, op: crate::syntax::ast::CmpOp, x: &str) -> Truth {
    use crate::syntax::ast::CmpOp::*;
    let inside = p.matches(x);
    match op {
        Eq => return if inside { Truth::Yes } else { Truth::No },
        Ne => return if inside { Truth::No } else { Truth::Yes },
        _ => {}
    }
    let position = pattern_position(p.text, x);
    let at_p = segments(p.text) == segments(x);
    let yes = |b: bool| if b { Truth::Yes } else { Truth::No };
    match (op, position) {
        (Lt | Le, Some(ord)) => yes(ord == Ordering::Less),
        (Gt | Ge, Some(ord)) => yes(ord == Ordering::Greater),
        // x is p itself: every member is >= x, and only p itself is not > x.
        (Ge, None) if at_p => Truth::Yes,
        (Lt, None) if at_p => Truth::No,
        _ => Truth::Unknown,
    }
}

/// RPM's version segment comparison (`rpmvercmp` in librpm).
pub fn rpmvercmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    let sep = |c: u8| !(c.is_ascii_alphanumeric() || c == b'~' || c == b'^');
    loop {
        while let Some(&c) = a.first().filter(|&&c| sep(c)) {
            let _ = c;
            a = &a[1..];
        }
        while let Some(&c) = b.first().filter(|&&c| sep(c)) {
            let _ = c;
            b = &b[1..];
        }
        // Tilde sorts before everything, even the end.
        if a.first() == Some(&b'~') || b.first() == Some(&b'~') {
            if a.first() != Some(&b'~') {
                return Ordering::Greater;
            }
            if b.first() != Some(&b'~') {
                return Ordering::Less;
            }
            a = &a[1..];
            b = &b[1..];
            continue;
        }
        // Caret sorts after the end but before anything else.
        if a.first() == Some(&b'^') || b.first() == Some(&b'^') {
            if a.is_empty() {
                return Ordering::Less;
            }
            if b.is_empty() {
                return Ordering::Greater;
            }
            if a.first() != Some(&b'^') {
                return Ordering::Greater;
            }
            if b.first() != Some(&b'^') {
                return Ordering::Less;
            }
            a = &a[1..];
            b = &b[1..];
            continue;
        }
        if a.is_empty() || b.is_empty() {
            break;
        }
        let numeric = a[0].is_ascii_digit();
        let take = |s: &[u8]| -> usize {
            s.iter().take_while(|c| if numeric { c.is_ascii_digit() } else { c.is_ascii_alphabetic() }).count()
        };
        let (la, lb) = (take(a), take(b));
        let (sa, sb) = (&a[..la], &b[..lb]);
        if lb == 0 {
            // Numeric segments are newer than alphabetic ones.
            return if numeric { Ordering::Greater } else { Ordering::Less };
        }
        let ord = if numeric {
            let ta = trim_zeros(sa);
            let tb = trim_zeros(sb);
            ta.len().cmp(&tb.len()).then_with(|| ta.cmp(tb))
        } else {
            sa.cmp(sb)
        };
        if ord != Ordering::Equal {
            return ord;
        }
        a = &a[la..];
        b = &b[lb..];
    }
    match (a.is_empty(), b.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        _ => Ordering::Greater,
    }
}

fn trim_zeros(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&c| c == b'0').count();
    &s[n..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::ast::CmpOp;

    #[test]
    fn rpmvercmp_matches_rpm() {
        // Cases from rpm's own test suite (tests/rpmvercmp.at).
        let cases = [
            ("1.0", "1.0", 0),
            ("1.0", "2.0", -1),
            ("2.0.1", "2.0.1", 0),
            ("2.0", "2.0.1", -1),
            ("2.0.1a", "2.0.1", 1),
            ("5.5p1", "5.5p2", -1),
            ("5.5p10", "5.5p1", 1),
            ("10xyz", "10.1xyz", -1),
            ("xyz10", "xyz10.1", -1),
            ("xyz.4", "8", -1),
            ("1.0aa", "1.0a", 1),
            ("1.0~rc1", "1.0", -1),
            ("1.0~rc1", "1.0~rc2", -1),
            ("1.0^", "1.0", 1),
            ("1.0^git1", "1.0.1", -1),
            ("580.95.05", "580.65.06", 1),
            ("6.18.10", "6.18.9", 1),
            ("010", "10", 0),
        ];
        for (a, b, want) in cases {
            let got = match rpmvercmp(a, b) {
                Ordering::Less => -1,
                Ordering::Equal => 0,
                Ordering::Greater => 1,
            };
            assert_eq!(got, want, "rpmvercmp({a}, {b})");
        }
    }

    #[test]
    fn patterns_hold_only_when_they_hold_for_every_member() {
        let p = Version::parse("6.18.*").unwrap();
        let v = |s| Version::parse(s).unwrap();
        assert_eq!(compare(&p, CmpOp::Ge, &v("6.6")), Truth::Yes);
        assert_eq!(compare(&p, CmpOp::Ge, &v("4.15")), Truth::Yes);
        assert_eq!(compare(&p, CmpOp::Ge, &v("6.18.5")), Truth::Unknown);
        assert_eq!(compare(&p, CmpOp::Ge, &v("6.19")), Truth::No);
        assert_eq!(compare(&p, CmpOp::Lt, &v("6.19")), Truth::Yes);
        assert_eq!(compare(&p, CmpOp::Lt, &v("6.12")), Truth::No);
        assert_eq!(compare(&p, CmpOp::Eq, &v("6.18.3")), Truth::Yes);
        assert_eq!(compare(&v("6.6"), CmpOp::Le, &p), Truth::Yes);
        // "6.18a" sorts between members (6.18 < 6.18a < 6.18.5): undecided.
        assert_eq!(compare(&p, CmpOp::Lt, &v("6.18a")), Truth::Unknown);
        assert_eq!(compare(&p, CmpOp::Lt, &v("6.18^1")), Truth::Unknown);
        assert_eq!(compare(&p, CmpOp::Gt, &v("6.17.99")), Truth::Yes);
        assert_eq!(compare(&p, CmpOp::Ge, &v("6.18")), Truth::Yes);
        assert_eq!(compare(&p, CmpOp::Le, &v("6.18")), Truth::Unknown);
        assert_eq!(compare(&p, CmpOp::Lt, &v("7")), Truth::Yes);
    }
}
