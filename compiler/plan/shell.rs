//! Quoting for the places a value lands in: POSIX shell words, Containerfile
//! `ENV`/`LABEL` values, `--mount` option values, TOML strings, and the text
//! of `#` comment lines in Containerfiles and YAML ([`comment`]).

/// Text for one `#` comment line of a Containerfile or a YAML file: every
/// control character (line breaks included, and the Unicode line and
/// paragraph separators and NEL, which some readers take as line breaks)
/// escaped as `\u{..}`, so that nothing a name holds can end the comment
/// and start an instruction or a YAML document. Every comment aidc writes
/// goes through here; names that reach outputs are also refused when they
/// hold such characters, so this is the second line of defence
/// (docs/hardening.md, "Text").
pub fn comment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// A POSIX shell word that the shell reads back as exactly `s`.
pub fn quote(s: &str) -> String {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./:=+@%,".contains(&b)) {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// A double-quoted Containerfile value (`ENV`, `LABEL`): backslash, quote and
/// `$` escaped so the builder neither ends the string nor expands variables.
pub fn containerfile_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '$' => out.push_str("\\$"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A TOML basic string.
pub fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_round_trip_through_sh() {
        let nasty = ["plain", "", "a b", "it's", "$(id)", "`id`", "a;b", "x\ny", "*", "\\", "'", "\"$HOME\""];
        for s in nasty {
            let out =
                std::process::Command::new("sh").arg("-c").arg(format!("printf %s {}", quote(s))).output().expect("sh");
            assert_eq!(String::from_utf8_lossy(&out.stdout), s, "quote({s:?}) = {}", quote(s));
        }
    }

    #[test]
    fn containerfile_strings_escape_what_the_builder_reads() {
        assert_eq!(containerfile_string("a \"b\" $HOME \\"), "\"a \\\"b\\\" \\$HOME \\\\\"");
    }
}
