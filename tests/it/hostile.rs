//! Hostile input: any byte sequence ends with exit 0 or 1 and diagnostics,
//! never a crash, a hang or a stack overflow.

use crate::support::aidc;

fn check_bytes(name: &str, bytes: &[u8]) -> std::process::Output {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("input.aid"), bytes).expect("write");
    let out = aidc(dir.path(), &["check", "input.aid"]);
    let code = out.status.code();
    assert!(matches!(code, Some(0) | Some(1)), "{name}: exit {code:?}\n{}", String::from_utf8_lossy(&out.stderr));
    out
}

fn assert_code(name: &str, out: &std::process::Output, code: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(code), "{name}: expected {code}, got:\n{}", &err[..err.len().min(2000)]);
}

/// A small deterministic generator (xorshift), so failures reproduce.
fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[test]
fn empty_file_is_fine() {
    let out = check_bytes("empty", b"");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn invalid_utf8_and_nul_bytes_are_refused_in_words() {
    assert_code("utf8", &check_bytes("utf8", b"let a = \"\xff\xfe\"\n"), "aid::parse::invalid_utf8");
    assert_code("nul", &check_bytes("nul", b"let a = \"x\0y\"\n"), "aid::parse::nul_byte");
}

#[test]
fn deep_nesting_of_every_kind_hits_the_limit() {
    let n = 100_000;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("brackets", format!("let a = {}", "[".repeat(n)).into_bytes()),
        ("parens", format!("let a = {}", "(".repeat(n)).into_bytes()),
        ("maps", format!("let a = {}", "{\"k\" = ".repeat(n)).into_bytes()),
        ("comments", "/*".repeat(n).into_bytes()),
        ("interpolations", format!("let a = {}", "\"${".repeat(n)).into_bytes()),
        ("blocks", format!("image x {}", "{".repeat(n)).into_bytes()),
        ("closed brackets", format!("let a = {}1{}", "[".repeat(n), "]".repeat(n)).into_bytes()),
    ];
    for (name, input) in cases {
        assert_code(name, &check_bytes(name, &input), "aid::parse::too_deep");
    }
}

#[test]
fn long_operator_chains_hit_the_limit() {
    let cases = [
        ("nots", format!("let a = {}true\n", "not ".repeat(200_000))),
        ("ors", format!("let a = true{}\n", " or true".repeat(200_000))),
        ("ands", format!("let a = true{}\n", " and true".repeat(200_000))),
        ("fields", format!("let a = b{}\n", ".c".repeat(200_000))),
        ("calls", format!("let a = b{}\n", "()".repeat(200_000))),
    ];
    for (name, text) in cases {
        assert_code(name, &check_bytes(name, text.as_bytes()), "aid::parse::too_deep");
    }
    // Sixty-four of each is fine.
    let ok = format!("let a = {}true{}\n", "not ".repeat(64), " or true".repeat(60));
    assert_eq!(check_bytes("ok", ok.as_bytes()).status.code(), Some(0));
}

#[test]
fn huge_string_is_read() {
    let s = format!("let a = \"{}\"\n", "x".repeat(8 * 1024 * 1024));
    let out = check_bytes("8 MiB string", s.as_bytes());
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn too_large_file_has_its_own_diagnostic() {
    let s = format!("// {}\n", "x".repeat(17 * 1024 * 1024));
    assert_code("17 MiB", &check_bytes("17 MiB", s.as_bytes()), "aid::parse::file_too_large");
}

#[test]
fn two_hundred_thousand_items() {
    let mut s = String::from("let big = [");
    for i in 0..200_000 {
        s.push_str(&format!("\"p{i}\", "));
    }
    s.push_str("]\n");
    for i in 0..20_000 {
        s.push_str(&format!("layer l{i}() {{ packages [\"p{i}\"] }}\n"));
    }
    let out = check_bytes("items", s.as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn many_errors_are_capped_per_file() {
    let s = "image {\n".repeat(10_000);
    let out = check_bytes("errors", s.as_bytes());
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.matches("aid::parse::syntax").count() <= 20, "too many errors reported");
}

#[test]
fn random_bytes_never_crash() {
    for seed in 1..=200u64 {
        let len = (seed as usize * 37) % 4096;
        check_bytes(&format!("random seed {seed}"), &bytes(seed, len));
    }
}

#[test]
fn random_tokens_never_crash() {
    const TOKENS: &[&str] = &[
        "image",
        "variant",
        "extends",
        "layer",
        "kmod",
        "kernel",
        "base",
        "repo",
        "use",
        "from",
        "{",
        "}",
        "(",
        ")",
        "[",
        "]",
        "\"x\"",
        "\"\"\"\n a\n\"\"\"",
        "=",
        "==",
        ">=",
        ",",
        ".",
        "a",
        "b-c",
        "target",
        "requires",
        "else",
        "not",
        "and",
        "or",
        "1",
        "3h",
        "true",
        "\n",
        "//c\n",
        "/* c */",
        "///d\n",
        "${",
        "secret(\"k\")",
        "policy",
        "packages",
        "copy",
        "to",
        "fetch",
        "sha256",
        "import \"std/x\"",
        "let",
        "provides",
        "after",
        ":",
        "$${",
    ];
    for seed in 1..=300u64 {
        let mut x = seed.wrapping_mul(0x9E3779B97F4A7C15) | 1;
        let mut s = String::new();
        for _ in 0..(seed % 200) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            s.push_str(TOKENS[(x % TOKENS.len() as u64) as usize]);
            s.push(' ');
        }
        check_bytes(&format!("tokens seed {seed}"), s.as_bytes());
    }
}

#[test]
fn self_import_and_long_import_chains() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("self.aid"), "import \"./self.aid\" as me\n").expect("write");
    let out = aidc(dir.path(), &["check", "self.aid"]);
    assert_eq!(out.status.code(), Some(1));
    assert_code("self import", &out, "aid::module::cycle");

    let n = 500;
    for i in 0..n {
        let next = if i + 1 < n { format!("import \"./m{}.aid\"\n", i + 1) } else { String::new() };
        std::fs::write(dir.path().join(format!("m{i}.aid")), format!("{next}layer l{i}() {{}}\n")).expect("write");
    }
    let out = aidc(dir.path(), &["check", "m0.aid"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn tens_of_thousands_of_errors_are_capped_not_quadratic() {
    let text: String = (0..50_000).map(|i| format!("let a{i} = unknown{i}\n")).collect();
    let out = check_bytes("50,000 unknown names", text.as_bytes());
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("more diagnostics not shown"), "{}", &err[err.len().saturating_sub(500)..]);
    assert!(err.trim_end().ends_with("aidc: 50000 errors"), "{}", &err[err.len().saturating_sub(500)..]);
}
