//! Golden cases: every example and every case under `tests/golden/` is
//! compiled in a fresh copy (another directory, so outputs cannot depend on
//! where the project lives) and its whole output tree is compared with the
//! committed `out/` beside the recipe.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use libtest_mimic::Trial;

use crate::support::{aidc, all_files, copy_tree, expect_tree, root};

pub fn trials() -> Vec<Trial> {
    let mut out = Vec::new();
    for (suite, short) in [("examples", "examples"), ("tests/golden", "golden")] {
        let base = root().join(suite);
        let mut names: Vec<String> = std::fs::read_dir(&base)
            .expect("suite dir")
            .flatten()
            .filter(|e| e.path().join("image.aid").is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        for name in names {
            let base = base.clone();
            out.push(Trial::test(format!("golden::{short}::{}", crate::ident(&name)), move || run(&base, &name)));
        }
    }
    out
}

fn run(suite: &Path, name: &str) -> Result<(), libtest_mimic::Failed> {
    // The whole suite is copied: examples import each other (`../ai-desktop`).
    let tmp = tempfile::tempdir().expect("tempdir");
    let copy = tmp.path().join("project");
    copy_tree(suite, &copy);
    // A repository: examples import each other, and imports stay inside the repository.
    std::fs::create_dir_all(copy.join(".git")).expect("a repository");
    let out = aidc(&copy.join(name), &["compile", "image.aid"]);
    if out.status.code() != Some(0) {
        return Err(format!("{name}: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    let actual = tree(&copy.join(name).join("out"));
    expect_tree(&suite.join(name).join("out"), &actual, |_| true).map_err(Into::into)
}

/// Every file under `dir`, relative path -> bytes.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    all_files(dir)
        .into_iter()
        .map(|p: PathBuf| {
            (
                p.strip_prefix(dir).expect("inside").to_string_lossy().replace('\\', "/"),
                std::fs::read(&p).expect("read"),
            )
        })
        .collect()
}
