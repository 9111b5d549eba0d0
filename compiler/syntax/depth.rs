//! A linear pre-scan that bounds nesting before pest runs. pest's recursive
//! descent would overflow the stack on 100,000 nested brackets; this scan
//! follows brackets, strings, interpolations and comments with an explicit
//! stack and stops at the first place deeper than [`MAX_DEPTH`].

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

/// The byte offset of the first opener that goes deeper than [`MAX_DEPTH`].
pub fn too_deep(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = 0;
    let push = |stack: &mut Vec<Frame>, frame: Frame, at: usize| -> Result<(), usize> {
        if stack.len() >= MAX_DEPTH {
            return Err(at);
        }
        stack.push(frame);
        Ok(())
    };
    while i < bytes.len() {
        let rest = &bytes[i..];
        let top = stack.last().copied();
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
        if let Err(at) = result {
            return Some(at);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shallow_input_passes() {
        assert_eq!(too_deep("image a { from \"x\" use f([{ \"k\" = \"${a[\"b\"]}\" }]) }"), None);
    }

    #[test]
    fn deep_brackets_are_caught_at_the_first_offending_opener() {
        let text = "[".repeat(MAX_DEPTH + 10);
        assert_eq!(too_deep(&text), Some(MAX_DEPTH));
    }

    #[test]
    fn deep_comments_and_interpolations_are_caught() {
        assert!(too_deep(&"/*".repeat(100_000)).is_some());
        assert!(too_deep(&"\"${".repeat(100_000)).is_some());
        // Brackets inside strings and comments do not count.
        assert_eq!(too_deep(&format!("\"{}\" // {}", "[".repeat(500), "(".repeat(500))), None);
    }
}
