//! The parser's fast path against the grammar of record: on every `.aid`
//! file in the repository, on generated recipes, and on mutants of them
//! (bytes deleted, duplicated, trivia inserted), `syntax::parse_fast`
//! either declines or builds exactly the module pest and lowering build;
//! and it declines no file pest reads without a diagnostic.

use std::path::{Path, PathBuf};

use aidc::source::SourceId;
use aidc::syntax;

#[path = "../../benches/scale.rs"]
#[allow(dead_code)]
pub mod scale;

fn aid_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            aid_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "aid") {
            out.push(path);
        }
    }
}

/// The texts to compare: every `.aid` file under stdlib/, examples/ and tests/.
fn corpus() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["stdlib", "examples", "tests"] {
        aid_files(&root.join(dir), &mut files);
    }
    let mut texts = Vec::new();
    for path in files {
        let bytes = std::fs::read(&path).expect("read a recipe");
        if let Ok(text) = syntax::decode(SourceId(0), &bytes) {
            texts.push((path.display().to_string(), text.to_string()));
        }
    }
    texts
}

/// Compares the two parsers on `text`; true when the fast path accepted it.
fn agree(name: &str, text: &str) -> bool {
    let (slow, diagnostics) = syntax::parse_slow(SourceId(0), text);
    match syntax::parse_fast(SourceId(0), text) {
        Some(fast) => {
            assert!(diagnostics.is_empty(), "{name}: the fast path accepted what pest refuses: {diagnostics:?}");
            assert_eq!(fast, slow, "{name}: the fast path disagrees with pest");
            true
        }
        None => false,
    }
}

/// Runs `f` on a thread with the stack aidc's own worker has (pest's
/// debug build nests deep on the hostile cases).
fn big_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new().stack_size(256 * 1024 * 1024).spawn(f).expect("spawn").join().expect("the test thread");
}

#[test]
fn the_fast_path_reads_every_valid_recipe_as_pest_does() {
    big_stack(every_valid_recipe);
}

fn every_valid_recipe() {
    let texts = corpus();
    assert!(texts.len() > 200, "only {} recipes found", texts.len());
    let mut declined = Vec::new();
    let mut accepted = 0;
    for (name, text) in &texts {
        if agree(name, text) {
            accepted += 1;
        } else if syntax::parse_slow(SourceId(0), text).1.is_empty() && !text.contains('\u{FEFF}') {
            // A text holding U+FEFF is left to pest on purpose (fast.rs):
            // tests/hostile/found keeps one, for pest's own depth checks.
            declined.push(name.clone());
        }
    }
    assert!(declined.is_empty(), "the fast path declined valid recipes: {declined:#?}");
    eprintln!("fast path: {accepted} of {} recipes accepted, each equal to pest's module", texts.len());
    assert!(accepted > 150, "the fast path accepted only {accepted} recipes");
}

#[test]
fn the_fast_path_reads_generated_recipes_as_pest_does() {
    for n in [1, 7, 60] {
        assert!(agree(&format!("scale::recipe({n})"), &scale::recipe(n)), "declined scale::recipe({n})");
    }
}

/// A small deterministic generator (64-bit LCG) for the mutants.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n.max(1)
    }
}

/// Mutants of every recipe: where the fast path accepts one, it must agree
/// with pest (spans after trivia, comments, keywords turned names, ...).
#[test]
fn the_fast_path_agrees_with_pest_on_mutants() {
    big_stack(mutants);
}

fn mutants() {
    const INSERTS: &[&str] = &[
        " ",
        "\n",
        "/* c */",
        "// c\n",
        "/// d\n",
        "=",
        ",",
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        "\"",
        "\"\"\"",
        "${",
        "$${",
        "\\",
        ".",
        ":",
        "not ",
        " or x",
        " and y",
        "==",
        "<",
        "1",
        "1h",
        "x",
        "to",
        "mode ",
        "as",
        "\r\n",
        "\u{feff}",
        "//! m\n",
        "-",
        "99999999999999999999",
    ];
    let mut rng = Lcg(0x5eed);
    let (mut tried, mut accepted) = (0, 0);
    for (name, text) in corpus() {
        for _ in 0..12 {
            let mut at = rng.below(text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            let mutant = match rng.below(3) {
                0 => format!("{}{}{}", &text[..at], INSERTS[rng.below(INSERTS.len())], &text[at..]),
                1 => {
                    let mut end = (at + 1 + rng.below(8)).min(text.len());
                    while !text.is_char_boundary(end) {
                        end += 1;
                    }
                    format!("{}{}", &text[..at], &text[end..])
                }
                _ => {
                    let mut end = (at + 1 + rng.below(24)).min(text.len());
                    while !text.is_char_boundary(end) {
                        end += 1;
                    }
                    format!("{}{}", &text[..end], &text[at..])
                }
            };
            tried += 1;
            if agree(&format!("{name} (mutant {tried})"), &mutant) {
                accepted += 1;
            }
        }
    }
    eprintln!("fast path: {accepted} of {tried} mutants accepted, each equal to pest's module");
    assert!(accepted * 10 > tried, "too few mutants accepted to test anything: {accepted} of {tried}");
}
