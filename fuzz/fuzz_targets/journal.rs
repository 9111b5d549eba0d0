#![no_main]
//! Hostile journals: a committed `.aidc-journal.json` is repository text,
//! so recovery gets arbitrary journals (structured ones whose targets and
//! staged names mix aidc's pattern with absolute paths, `..`, links and
//! control characters, and whose inodes are those of real directories, the
//! canary's included; and raw bytes) in a scratch repository beside a
//! canary directory. Oracle: the canary never changes, and a refused
//! journal changes nothing in the repository either.

use std::path::{Path, PathBuf};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum Piece {
    Out,
    Staged,
    OtherStaged,
    Canary,
    CanaryAbsolute,
    DotDot,
    ThroughLink,
    Raw(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
struct Swap {
    target: Piece,
    staged: Piece,
    /// Whose device and inode the swap names: 0 out, 1 the staged tree, 2 the canary, else raw.
    id_of: u8,
    raw_inode: u64,
}

#[derive(Arbitrary, Debug)]
enum Input {
    Structured { version: u8, swaps: Vec<Swap> },
    Raw(Vec<u8>),
}

fn bytes(p: &Piece, outside: &Path) -> Vec<u8> {
    match p {
        Piece::Out => b"out".to_vec(),
        Piece::Staged => b".out.aidc-new-1".to_vec(),
        Piece::OtherStaged => b".out.aidc-new-22".to_vec(),
        Piece::Canary => b"../outside/canary".to_vec(),
        Piece::CanaryAbsolute => outside.join("canary").as_os_str().as_encoded_bytes().to_vec(),
        Piece::DotDot => b"..".to_vec(),
        Piece::ThroughLink => b"lnk/canary".to_vec(),
        Piece::Raw(b) => b.clone(),
    }
}

/// Every path under `dir` with its bytes (links as their targets).
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(m) = std::fs::symlink_metadata(&d) else { continue };
        let content = if m.file_type().is_symlink() {
            std::fs::read_link(&d).unwrap_or_default().as_os_str().as_encoded_bytes().to_vec()
        } else if m.is_dir() {
            stack.extend(std::fs::read_dir(&d).into_iter().flatten().flatten().map(|e| e.path()));
            b"<dir>".to_vec()
        } else {
            std::fs::read(&d).unwrap_or_default()
        };
        out.push((d, content));
    }
    out.sort();
    out
}

fuzz_target!(|input: Input| {
    use std::os::unix::fs::MetadataExt;
    let tmp = tempfile::tempdir().expect("tempdir");
    let base = tmp.path().canonicalize().expect("real");
    let (repo, outside) = (base.join("repo"), base.join("outside"));
    for d in [repo.join(".git"), repo.join("out"), repo.join(".out.aidc-new-1"), outside.join("canary/sub")] {
        std::fs::create_dir_all(d).expect("mkdir");
    }
    std::fs::write(repo.join("out/old"), "old").expect("write");
    std::fs::write(repo.join(".out.aidc-new-1/new"), "new").expect("write");
    std::fs::write(outside.join("canary/sub/keep"), "keep").expect("write");
    std::os::unix::fs::symlink("../outside", repo.join("lnk")).expect("symlink");
    let id = |p: PathBuf| std::fs::symlink_metadata(p).map(|m| (m.dev(), m.ino())).unwrap_or_default();
    let journal = match &input {
        Input::Raw(b) => b.clone(),
        Input::Structured { version, swaps } => {
            let swaps: Vec<_> = swaps
                .iter()
                .take(8)
                .map(|s| {
                    let (device, inode) = match s.id_of {
                        0 => id(repo.join("out")),
                        1 => id(repo.join(".out.aidc-new-1")),
                        2 => id(outside.join("canary")),
                        _ => (0, s.raw_inode),
                    };
                    serde_json::json!({
                        "target": bytes(&s.target, &outside),
                        "staged": bytes(&s.staged, &outside),
                        "device": device,
                        "inode": inode,
                    })
                })
                .collect();
            serde_json::to_vec(&serde_json::json!({ "version": version % 4, "swaps": swaps })).expect("json")
        }
    };
    std::fs::write(repo.join(".aidc-journal.json"), &journal).expect("write");
    let (canary, repo_before) = (snapshot(&outside), snapshot(&repo));
    let result = aidc::cli::recover_journal(&repo);
    assert_eq!(snapshot(&outside), canary, "recovery changed what is outside the repository: {input:?}");
    if result.is_err() {
        assert_eq!(snapshot(&repo), repo_before, "a refused journal changed the repository: {input:?}");
    }
});
