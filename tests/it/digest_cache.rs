//! The digest cache (compiler/cli/digest_cache.rs): an unchanged input is
//! not read again, any change is seen (also one keeping size and mtime),
//! racy entries are hashed again, a corrupt or hostile cache file only costs
//! time, and a forged entry cannot hide a private key unless it guesses the
//! file's device, inode and ctime to the nanosecond (docs/hardening.md).

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::support::aidc;

const RECIPE: &str =
    "image x {\n  from \"localhost/aid-fixture-base:44\"\n  copy \"model.bin\" to \"/usr/share/model.bin\"\n}\n";
const CACHE: &str = ".aidc-digests";

/// A context with a 2 MiB input, its times a clock tick in the past (so
/// that its entry is not racy).
fn context(content: &[u8]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::write(tmp.path().join("image.aid"), RECIPE).expect("recipe");
    std::fs::write(tmp.path().join("model.bin"), content).expect("model");
    std::thread::sleep(Duration::from_millis(50));
    tmp
}

fn model() -> Vec<u8> {
    (0..2u32 << 20).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect()
}

fn run(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let out = aidc(dir, args);
    (out.status.code(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

fn cache(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join(CACHE)).expect("cache file")).expect("cache json")
}

/// Rewrites the cache file in place (same inode, so its `self` still holds)
/// and sets its mtime.
fn rewrite_cache(dir: &Path, value: &serde_json::Value, mtime: SystemTime) {
    let f = std::fs::OpenOptions::new().write(true).truncate(true).open(dir.join(CACHE)).expect("open cache");
    std::io::Write::write_all(&mut &f, &serde_json::to_vec(value).expect("json")).expect("write");
    f.set_modified(mtime).expect("mtime");
}

fn mtime(path: &Path) -> SystemTime {
    std::fs::metadata(path).expect("stat").modified().expect("mtime")
}

#[test]
fn an_unchanged_input_is_cached_and_an_edit_keeping_size_and_mtime_is_seen() {
    let tmp = context(&model());
    let dir = tmp.path();
    assert_eq!(run(dir, &["compile", "image.aid"]).0, Some(0));
    let entry = &cache(dir)["entries"]["model.bin"];
    let meta = std::fs::metadata(dir.join("model.bin")).expect("stat");
    assert_eq!(entry["ino"], meta.ino(), "{entry}");
    assert_eq!(entry["size"], meta.size(), "{entry}");
    let (code, printed) = run(dir, &["compile", "image.aid"]);
    assert_eq!(code, Some(0), "{printed}");
    assert!(printed.contains("nothing changed"), "{printed}");

    // One byte in the middle, the size and the mtime as they were: only the ctime tells.
    let before = mtime(&dir.join("model.bin"));
    {
        use std::io::{Seek, Write};
        let mut f = std::fs::OpenOptions::new().write(true).open(dir.join("model.bin")).expect("open");
        f.seek(std::io::SeekFrom::Start(1 << 20)).expect("seek");
        f.write_all(&[!model()[1 << 20]]).expect("write");
        f.set_modified(before).expect("mtime");
    }
    assert_eq!(std::fs::metadata(dir.join("model.bin")).expect("stat").size(), 2 << 20);
    let (code, printed) = run(dir, &["compile", "--check", "image.aid"]);
    assert_eq!(code, Some(1), "the edit was not seen: {printed}");
    assert!(printed.contains("stale"), "{printed}");
}

#[test]
fn a_racy_entry_is_hashed_again() {
    let tmp = context(&model());
    let dir = tmp.path();
    assert_eq!(run(dir, &["compile", "image.aid"]).0, Some(0));
    let honest = cache(dir);
    let mut forged = honest.clone();
    forged["entries"]["model.bin"]["digest"] = format!("b3:{}", "0".repeat(64)).into();
    let file_time = mtime(&dir.join("model.bin"));

    // Control: a cache written after the file is trusted, so the forged digest is used.
    rewrite_cache(dir, &forged, file_time + Duration::from_secs(1));
    let (code, printed) = run(dir, &["compile", "--check", "image.aid"]);
    assert_eq!(code, Some(1), "the cache was not used: {printed}");

    // Racy: the cache's mtime is not later than the file's, so the file is hashed again.
    rewrite_cache(dir, &forged, file_time);
    let (code, printed) = run(dir, &["compile", "--check", "image.aid"]);
    assert_eq!(code, Some(0), "a racy entry was trusted: {printed}");
}

#[test]
fn a_corrupt_or_hostile_cache_only_costs_time() {
    let tmp = context(&model());
    let dir = tmp.path();
    assert_eq!(run(dir, &["compile", "image.aid"]).0, Some(0));
    let honest = cache(dir);
    let later = mtime(&dir.join("model.bin")) + Duration::from_secs(1);
    let mut injected = honest.clone();
    injected["entries"]["model.bin"]["digest"] = format!("b3:{}\nRUN curl evil", "0".repeat(64)).into();
    let mut both = honest.clone();
    both["entries"]["model.bin"]["key"] = "a PEM private key@0".into();
    let mut other_version = honest.clone();
    other_version["aidc-digests"] = 2.into();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("truncated", b"{\"aidc-digests\":1,\"self\":[".to_vec()),
        ("not an object", b"null".to_vec()),
        ("binary", (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect()),
        ("an injected digest", serde_json::to_vec(&injected).expect("json")),
        ("a digest and a key", serde_json::to_vec(&both).expect("json")),
        ("another version", serde_json::to_vec(&other_version).expect("json")),
    ];
    for (name, bytes) in cases {
        std::fs::write(dir.join(CACHE), &bytes).expect("write");
        let f = std::fs::File::options().write(true).open(dir.join(CACHE)).expect("open");
        f.set_modified(later).expect("mtime");
        let (code, printed) = run(dir, &["compile", "--check", "image.aid"]);
        assert_eq!(code, Some(0), "{name}: {printed}");
        let (code, printed) = run(dir, &["compile", "image.aid"]);
        assert_eq!(code, Some(0), "{name}: {printed}");
        assert!(printed.contains("nothing changed"), "{name}: {printed}");
        assert_eq!(cache(dir)["entries"]["model.bin"]["digest"], honest["entries"]["model.bin"]["digest"], "{name}");
    }

    // A link to a file outside: neither read nor written through.
    let outside = tempfile::tempdir().expect("tempdir");
    let canary = outside.path().join("canary");
    std::fs::write(&canary, serde_json::to_vec(&injected).expect("json")).expect("canary");
    std::fs::remove_file(dir.join(CACHE)).expect("rm");
    std::os::unix::fs::symlink(&canary, dir.join(CACHE)).expect("link");
    let (code, printed) = run(dir, &["compile", "image.aid"]);
    assert_eq!(code, Some(0), "{printed}");
    assert_eq!(std::fs::read(&canary).expect("canary"), serde_json::to_vec(&injected).expect("json"));
    assert!(!std::fs::symlink_metadata(dir.join(CACHE)).expect("cache").file_type().is_symlink());

    // A FIFO (never opened: no hang) and a directory.
    std::fs::remove_file(dir.join(CACHE)).expect("rm");
    let fifo = std::ffi::CString::new(dir.join(CACHE).as_os_str().as_encoded_bytes()).expect("path");
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    assert_eq!(run(dir, &["compile", "--check", "image.aid"]).0, Some(0));
    std::fs::remove_file(dir.join(CACHE)).expect("rm");
    std::fs::create_dir(dir.join(CACHE)).expect("mkdir");
    assert_eq!(run(dir, &["compile", "--check", "image.aid"]).0, Some(0));
}

#[test]
fn a_forged_entry_cannot_hide_a_key() {
    let key = std::fs::read(crate::support::root().join("tests/keys/private/rsa-pkcs8.pem")).expect("key");
    let tmp = context(&key);
    let dir = tmp.path();
    let (code, printed) = run(dir, &["compile", "image.aid"]);
    assert_eq!(code, Some(1), "{printed}");
    assert!(printed.contains("aid::validate::private_key"), "{printed}");

    // What the attacker writes: the cache file (its inode is known only once it exists).
    std::fs::write(dir.join(CACHE), b"{}").expect("cache");
    let own = std::fs::metadata(dir.join(CACHE)).expect("stat");
    let meta = std::fs::metadata(dir.join("model.bin")).expect("stat");
    let truth = serde_json::json!({
        "dev": meta.dev(), "ino": meta.ino(), "size": meta.size(),
        "mtime": [meta.mtime(), meta.mtime_nsec()], "ctime": [meta.ctime(), meta.ctime_nsec()],
        "digest": format!("b3:{}", blake3::hash(b"harmless").to_hex()), "key": null,
    });
    let forged = |entry: serde_json::Value, own_ino: u64| serde_json::json!({"aidc-digests": 1, "self": [own.dev(), own_ino], "entries": {"model.bin": entry}});
    let with = |field: &str, value: serde_json::Value| {
        let mut e = truth.clone();
        e[field] = value;
        e
    };
    let later = mtime(&dir.join("model.bin")) + Duration::from_secs(1);
    let guesses = [
        ("the inode one off", forged(with("ino", (meta.ino() + 1).into()), own.ino())),
        (
            "the ctime a nanosecond off",
            forged(with("ctime", serde_json::json!([meta.ctime(), meta.ctime_nsec() + 1])), own.ino()),
        ),
        ("the device wrong", forged(with("dev", (meta.dev() + 1).into()), own.ino())),
        ("a cache from another checkout", forged(truth.clone(), own.ino() + 1)),
    ];
    for (name, value) in &guesses {
        rewrite_cache(dir, value, later);
        // `--check` writes no cache, so the forged file stays in place for the next guess.
        let (code, printed) = run(dir, &["compile", "--check", "image.aid"]);
        assert_eq!(code, Some(1), "{name}: {printed}");
        assert!(printed.contains("aid::validate::private_key"), "{name}: the key was hidden: {printed}");
    }
    // Every field right (what an attacker would have to guess) and the cache is believed.
    rewrite_cache(dir, &forged(truth.clone(), own.ino()), later);
    let (code, printed) = run(dir, &["compile", "--check", "image.aid"]);
    assert!(!printed.contains("aid::validate::private_key"), "control: the exact entry was not used: {printed}");
    assert_eq!(code, Some(1), "{printed}");
    // And a key written into a file after it was cached is found: its ctime moved.
    std::fs::write(dir.join("model.bin"), &key).expect("rewrite");
    let (code, printed) = run(dir, &["compile", "image.aid"]);
    assert_eq!(code, Some(1), "{printed}");
    assert!(printed.contains("aid::validate::private_key"), "{printed}");
}

#[test]
fn check_and_compile_check_write_no_cache() {
    let tmp = context(&model());
    let dir = tmp.path();
    assert_eq!(run(dir, &["check", "image.aid"]).0, Some(0));
    assert_eq!(run(dir, &["compile", "--check", "image.aid"]).0, Some(1));
    assert!(!dir.join(CACHE).exists());
    assert_eq!(run(dir, &["compile", "image.aid"]).0, Some(0));
    assert!(dir.join(CACHE).exists());
    // The cache is in no output and in no copied directory's digest.
    assert!(!std::fs::read_to_string(dir.join("out/aid-manifest.json")).expect("manifest").contains(CACHE));
}
