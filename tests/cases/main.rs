//! One named test per file-based case (libtest-mimic), so a case runs and
//! fails on its own: `cargo test --test cases ui::names::invalid_name`, or
//! `cargo test ui::names` for a whole area. A case is a file or a
//! directory; adding one needs no Rust.
//!
//! * `ui::AREA::NAME`: `tests/ui/AREA/NAME.aid` (or `NAME/main.aid`) checked,
//!   its exit code and diagnostics against `NAME.out`.
//! * `golden::SUITE::NAME`: `examples/NAME` and `tests/golden/NAME`
//!   compiled, the whole `out/` tree against the committed one.
//! * `konflux::NAME`: `tests/golden-konflux/NAME/`, the Konflux files
//!   against the tree laid out there.
//! * `hostile::NAME`: `tests/hostile/repos/NAME/case.json`, a hostile
//!   repository laid out in a sandbox and aidc run on it: nothing outside
//!   changes or leaks, and the expected refusal comes.
//!
//! A failure shows a unified diff. `UPDATE_EXPECT=1 cargo test` rewrites the
//! expected files.

#[allow(dead_code)]
#[path = "../it/hostile_case.rs"]
mod hostile_case;
#[allow(dead_code)]
#[path = "../it/konflux_case.rs"]
mod konflux_case;
#[allow(dead_code)]
#[path = "../it/support.rs"]
mod support;

mod golden;
mod hostile;
mod konflux;
mod ui;

use libtest_mimic::{Arguments, Trial};

fn main() {
    let args = Arguments::from_args();
    let mut trials: Vec<Trial> = Vec::new();
    trials.extend(ui::trials());
    trials.extend(golden::trials());
    trials.extend(konflux::trials());
    trials.extend(hostile::trials());
    libtest_mimic::run(&args, trials).exit();
}

/// A file or directory name as a test name part: `invalid-name` -> `invalid_name`.
fn ident(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect()
}
