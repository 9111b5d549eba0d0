//! Hostile-repository cases: one folder each under `tests/hostile/repos/`
//! (see `hostile_case.rs` for `case.json`), each run in its own sandbox.

use libtest_mimic::Trial;

use crate::hostile_case::{cases, check_case};

pub fn trials() -> Vec<Trial> {
    cases()
        .into_iter()
        .map(|dir| {
            let name = dir.file_name().unwrap_or_default().to_string_lossy().into_owned();
            Trial::test(format!("hostile::{}", crate::ident(&name)), move || {
                let fails = check_case(&dir);
                if fails.is_empty() { Ok(()) } else { Err(fails.join("\n").into()) }
            })
        })
        .collect()
}
