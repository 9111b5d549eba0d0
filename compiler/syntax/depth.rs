//! A linear pre-scan that bounds nesting before pest runs. pest's recursive
//! descent would overflow the stack on 100,000 nested brackets; this scan
//! follows brackets, strings, interpolations and comments with an explicit
//! stack and stops at the first place deeper than [`MAX_DEPTH`]. It also
//! finds a block comment that is never closed, which would swallow the rest
//! of the file: the parser reports it here, in words, instead of as a syntax
//! error at the end of the file.

/// Deepest nesting of brackets, block comments and interpolations accepted.
pub const MAX_DEPTH: usize = 64;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Frame {
    Bracket,
    Comment,
    Str,
    Triple,
    Interp,
}

/// What the pre-scan refuses.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The byte offset of the first opener that goes deeper than [`MAX_DEPTH`].
    TooDeep(usize),
    /// A block comment open at the end of the file: the offset of the
    /// outermost open `/*`, and of the first `/*` nested in it, if any.
    UnclosedComment { outer: usize, inner: Option<usize> },
}

/// Scans `text` once; `None` when pest may parse it.
pub fn scan(text: &str) -> Option<Refusal> {
    match walk(text) {
        Err(at) => Some(Refusal::TooDeep(at)),
        Ok(open) => {
            // The first open comment frame is the outermost one: a comment
            // only ever holds comments, so every frame above it is one too.
            let first = open.iter().position(|(frame, _)| *frame == Frame::Comment)?;
            let outer = open[first].1;
            // The comment runs to the end of the file, so any opener after it is inside it.
            let inner = text[outer + 2..].find("/*").map(|i| outer + 2 + i);
            Some(Refusal::UnclosedComment { outer, inner })
        }
    }
}

/// The bytes that begin something the scan acts on, in code (brackets,
/// comments, strings), in a block comment, in a string and in a
/// triple-quoted string; every other byte is passed over in one tight loop
/// (taking each byte through the whole match cost 40 instructions a byte,
/// 10 ms of an 800 KB recipe before any parser ran).
const CODE: [bool; 256] = acting(b"/\"([{)]}");
const COMMENT: [bool; 256] = acting(b"/*");
const STR: [bool; 256] = acting(b"$\\\"\n");
const TRIPLE: [bool; 256] = acting(b"$\"");

const fn acting(bytes: &[u8]) -> [bool; 256] {
    let mut table = [false; 256];
    let mut i = 0;
    while i < bytes.len() {
        table[bytes[i] as usize] = true;
        i += 1;
    }
    table
}

/// Follows the nesting of `text`: the frames still open at its end, with
/// the offsets of their openers, or the offset of the opener too deep.
fn walk(text: &str) -> Result<Vec<(Frame, usize)>, usize> {
    let bytes = text.as_bytes();
    let mut stack: Vec<(Frame, usize)> = Vec::new();
    let mut i = 0;
    let push = |stack: &mut Vec<(Frame, usize)>, frame: Frame, at: usize| -> Result<(), usize> {
        if stack.len() >= MAX_DEPTH {
            return Err(at);
        }
        stack.push((frame, at));
        Ok(())
    };
    while i < bytes.len() {
        let top = stack.last().map(|(frame, _)| *frame);
        let acts = match top {
            Some(Frame::Comment) => &COMMENT,
            Some(Frame::Str) => &STR,
            Some(Frame::Triple) => &TRIPLE,
            _ => &CODE,
        };
        while i < bytes.len() && !acts[bytes[i] as usize] {
            i += 1;
        }
        if i == bytes.len() {
            break;
        }
        let rest = &bytes[i..];
        let result = match top {
            Some(Frame::Comment) => {
                if rest.starts_with(b"/*") {
                    let r = push(&mut stack, Frame::Comment, i);
                    i += 2;
                    r
                } else if rest.starts_with(b"*/") {
                    stack.pop();
                    i += 2;
                    Ok(())
                } else {
                    i += 1;
                    Ok(())
                }
            }
            Some(Frame::Str) | Some(Frame::Triple) => {
                let triple = top == Some(Frame::Triple);
                if rest.starts_with(b"$${") {
                    i += 3;
                    Ok(())
                } else if rest.starts_with(b"${") {
                    let r = push(&mut stack, Frame::Interp, i);
                    i += 2;
                    r
                } else if !triple && rest[0] == b'\\' {
                    i += 2;
                    Ok(())
                } else if triple && rest.starts_with(b"\"\"\"") {
                    stack.pop();
                    i += 3;
                    Ok(())
                } else if !triple && (rest[0] == b'"' || rest[0] == b'\n') {
                    // A newline ends an unterminated string; the parser reports it.
                    stack.pop();
                    i += 1;
                    Ok(())
                } else {
                    i += 1;
                    Ok(())
                }
            }
            _ => {
                if rest.starts_with(b"//") {
                    while i < bytes.len() && bytes[i] != b'\n' {
                        i += 1;
                    }
                    Ok(())
                } else if rest.starts_with(b"/*") {
                    let r = push(&mut stack, Frame::Comment, i);
                    i += 2;
                    r
                } else if rest.starts_with(b"\"\"\"") {
                    let r = push(&mut stack, Frame::Triple, i);
                    i += 3;
                    r
                } else {
                    let b = rest[0];
                    i += 1;
                    match b {
                        b'"' => push(&mut stack, Frame::Str, i - 1),
                        b'(' | b'[' | b'{' => push(&mut stack, Frame::Bracket, i - 1),
                        b'}' if top == Some(Frame::Interp) => {
                            stack.pop();
                            Ok(())
                        }
                        b')' | b']' | b'}' => {
                            if top == Some(Frame::Bracket) {
                                stack.pop();
                            }
                            Ok(())
                        }
                        _ => Ok(()),
                    }
                }
            }
        };
        result?;
    }
    Ok(stack)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shallow_input_passes() {
        assert_eq!(scan("image a { from \"x\" use f([{ \"k\" = \"${a[\"b\"]}\" }]) }"), None);
    }

    #[test]
    fn deep_brackets_are_caught_at_the_first_offending_opener() {
        let text = "[".repeat(MAX_DEPTH + 10);
        assert_eq!(scan(&text), Some(Refusal::TooDeep(MAX_DEPTH)));
    }

    #[test]
    fn deep_comments_and_interpolations_are_caught() {
        assert!(matches!(scan(&"/*".repeat(100_000)), Some(Refusal::TooDeep(_))));
        assert!(matches!(scan(&"\"${".repeat(100_000)), Some(Refusal::TooDeep(_))));
        // Brackets inside strings and comments do not count.
        assert_eq!(scan(&format!("\"{}\" // {}", "[".repeat(500), "(".repeat(500))), None);
    }

    /// Each state passes over the bytes it does not act on, and acts on
    /// the rest: what brackets count, and where, after strings, escapes,
    /// line ends, comments and interpolations.
    #[test]
    fn every_state_acts_on_its_own_bytes() {
        let deep = "[".repeat(MAX_DEPTH + 1);
        // An escaped quote does not end a string; a line break does.
        assert_eq!(scan(&format!("\"a\\\"{deep}\"")), None);
        assert_eq!(scan(&format!("\"a\n{deep}")), Some(Refusal::TooDeep(3 + MAX_DEPTH)));
        // A quote in a comment opens no string; `*/` ends the comment.
        assert_eq!(scan(&format!("/* \" */{deep}")), Some(Refusal::TooDeep(7 + MAX_DEPTH)));
        // A triple-quoted string ends at `\"\"\"` only, and `$${` opens nothing.
        assert_eq!(scan(&format!("\"\"\" \" $${{ {deep} \"\"\"")), None);
        let nested = "\"\"\"${".repeat(MAX_DEPTH / 2 + 1);
        assert!(matches!(scan(&nested), Some(Refusal::TooDeep(_))));
        // `}` closes an interpolation, back in the string around it.
        assert_eq!(scan(&format!("\"${{x}} {deep}\"")), None);
    }

    #[test]
    fn unclosed_comments_are_found_with_their_openers() {
        assert_eq!(scan("let a = 1 /* x"), Some(Refusal::UnclosedComment { outer: 10, inner: None }));
        assert_eq!(scan("{ /* a /* b */"), Some(Refusal::UnclosedComment { outer: 2, inner: Some(7) }));
        assert_eq!(scan("/* a /* b /* c"), Some(Refusal::UnclosedComment { outer: 0, inner: Some(5) }));
        assert_eq!(scan("/* a /* b */ c */ let a = 1"), None);
        // Openers in strings and line comments open nothing.
        assert_eq!(scan("let a = \"/*\" // /*\n"), None);
        // Unclosed brackets and strings are the parser's to report.
        assert_eq!(scan("let a = [\"x"), None);
    }
}
