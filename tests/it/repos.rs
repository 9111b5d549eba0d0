//! Hostile repositories, the property: random trees of files, links inside
//! and outside, FIFOs, devices and hostile names never make aidc reach
//! outside its checkout. The hand-written reproducers are the `hostile::`
//! cases (tests/cases/hostile.rs, harness in `hostile_case.rs`).

use std::path::Path;
use std::time::Duration;

use crate::hostile_case::{Node, contains, mkfifo, run, sandbox, snapshot};

/// One entry of a random repository tree.
#[derive(Debug, Clone)]
enum Entry {
    File(&'static str, &'static str),
    Dir(&'static str),
    Link(&'static str, &'static str),
    Fifo(&'static str),
    /// A character device like `/dev/null` (made only when aidc's tests run as root).
    Device(&'static str),
}

/// Names a tree may use: the ones aidc reads or writes, and hostile ones.
const NAMES: &[&str] = &[
    "m.aid",
    "data.txt",
    "files",
    "files/a.conf",
    "files/sub",
    "files/link",
    "files/.env",
    "files/.git",
    "out",
    ".tekton",
    "konflux",
    ".aidc-journal.json",
    ".containerignore",
    ".env",
    ".git/config",
    "x\nRUN touch pwned\n.aid",
    "a b",
    "-rf",
    "ü.aid",
    ".out.aidc-new-1",
    "aid.lock",
];

/// Where a link may point: inside, outside, to the marker, to devices.
const TARGETS: &[&str] = &[
    "files",
    "m.aid",
    "data.txt",
    "../outside/canary",
    "../outside/secret",
    "../outside/secret.aid",
    "../../outside/canary",
    "../outside/new",
    "/proc/self/environ",
    "/dev/zero",
    "/dev/stdin",
    "out",
    ".",
    "..",
    "nowhere",
];

/// Contents a file may have.
const CONTENTS: &[&str] = &[
    "",
    "x = 1\n",
    "layer l() {\n  packages [\"vim\"]\n}\n",
    "import \"../outside/secret.aid\" as s\n",
    "import \"./data.txt\" as d\n",
    "**/*a*a*a*a*a*a*a*a*b\n*\n!files\n",
    "{\"version\":2,\"swaps\":[{\"target\":[111,117,116],\"staged\":[46,46],\"device\":1,\"inode\":1}]}",
    "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
];

fn entry() -> impl proptest::strategy::Strategy<Value = Entry> {
    use proptest::prelude::*;
    let name = proptest::sample::select(NAMES);
    prop_oneof![
        4 => (name.clone(), proptest::sample::select(CONTENTS)).prop_map(|(n, c)| Entry::File(n, c)),
        2 => name.clone().prop_map(Entry::Dir),
        4 => (name.clone(), proptest::sample::select(TARGETS)).prop_map(|(n, t)| Entry::Link(n, t)),
        1 => name.clone().prop_map(Entry::Fifo),
        1 => name.prop_map(Entry::Device),
    ]
}

/// Lays out `entries` under `repo` (an entry whose place is taken, or
/// whose parent is not a directory, is skipped).
fn lay_out(repo: &Path, entries: &[Entry]) {
    for e in entries {
        let (name, made) = match e {
            Entry::File(n, c) => (*n, Some(c)),
            Entry::Dir(n) | Entry::Link(n, _) | Entry::Fifo(n) | Entry::Device(n) => (*n, None),
        };
        let p = repo.join(name);
        if std::fs::symlink_metadata(&p).is_ok() {
            continue;
        }
        if let Some(parent) = p.parent()
            && std::fs::create_dir_all(parent).is_err()
        {
            continue;
        }
        let _ = match e {
            Entry::File(..) => std::fs::write(&p, made.copied().unwrap_or_default()),
            Entry::Dir(_) => std::fs::create_dir_all(&p),
            Entry::Link(_, t) => std::os::unix::fs::symlink(t, &p),
            Entry::Fifo(_) => {
                mkfifo(&p);
                Ok(())
            }
            Entry::Device(_) => {
                let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).expect("path");
                // SAFETY: a valid NUL-terminated path; (1, 3) is the null device.
                unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3)) };
                Ok(())
            }
        };
    }
}

/// The recipe of every random tree: it imports `m.aid` and copies `files`
/// and `data.txt`, whatever they turn out to be.
const TREE_RECIPE: &str = "import \"./m.aid\" as m\nimage x {\n  from \"localhost/aid-fixture-base:44\"\n  copy \"files\" to \"/usr/share/x\"\n  copy \"data.txt\" to \"/etc/x\"\n}\npipeline konflux {\n  application = \"x\"\n  registry = \"quay.io/example\"\n  repository = \"https://github.com/example/x\"\n}\n";

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: std::env::var("AIDC_TREE_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(24),
        failure_persistence: None,
        ..Default::default()
    })]

    /// Over random trees (files, links inside and outside, FIFOs, devices,
    /// hostile names, hostile journals and ignore files), `check`, `compile
    /// --check` and `compile` never change anything outside the repository,
    /// never print the marker from outside, never put it in a file they
    /// write, end with 0, 1 or 2, and end in time.
    #[test]
    fn random_trees_stay_inside_their_roots(entries in proptest::collection::vec(entry(), 0..14)) {
        let (_tmp, sandbox, marker) = sandbox(|marker| format!("// {marker}\nlet s = \"{marker}\"\n"));
        let outside = sandbox.join("outside");
        let repo = sandbox.join("repo");
        std::fs::write(repo.join("image.aid"), TREE_RECIPE).expect("write");
        lay_out(&repo, &entries);
        let before = snapshot(&outside);
        for args in [&["check", "image.aid"][..], &["compile", "--check", "image.aid"], &["compile", "image.aid"]] {
            let repo_before = snapshot(&repo);
            let spec = serde_json::json!({ "args": args });
            let ran = run(&sandbox, &spec, &marker, Duration::from_secs(30));
            let err = String::from_utf8_lossy(&ran.stderr);
            proptest::prop_assert!(!ran.timed_out, "{args:?} hung on {entries:?}");
            proptest::prop_assert!(matches!(ran.code, Some(0..=2)), "{args:?} exit {:?} on {entries:?}: {err}", ran.code);
            proptest::prop_assert!(!contains(&ran.stdout, &marker) && !contains(&ran.stderr, &marker),
                "{args:?} printed the marker on {entries:?}: {err}");
            proptest::prop_assert!(snapshot(&outside) == before, "{args:?} changed outside/ on {entries:?}: {err}");
            for (rel, node) in snapshot(&repo) {
                if repo_before.get(&rel) != Some(&node)
                    && let Node::File { bytes, .. } = &node
                {
                    proptest::prop_assert!(!contains(bytes, &marker), "{args:?} wrote the marker into {rel:?} on {entries:?}");
                }
            }
        }
    }
}
