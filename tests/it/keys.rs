//! The private-key scan of context inputs (compiler/cli/keyscan.rs), data
//! driven: every file in `tests/keys/private/` (one per key format, made by
//! openssl, ssh-keygen and gpg; see tests/keys/README.md) must be refused
//! when a recipe copies it: alone, inside a copied directory, and buried in
//! a file of more than 1 MiB of random bytes at several offsets around the
//! scanner's first chunk boundary. Every file in `tests/keys/clean/`
//! (certificates, public keys, prose) and a 16 MiB random file must compile.
//! A new case is a file in one of the two directories.

use std::path::Path;

use crate::support::{aidc, root};

/// Where the scanner's first read ends: 1 MiB plus its lookahead and
/// lookbehind (keyscan.rs: `CHUNK + LOOKAHEAD + LOOKBEHIND`).
const BOUNDARY: usize = (1 << 20) + 64 * 1024 + 16 + 10;

/// Deterministic bytes that look random (xorshift64).
fn random(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

fn fixtures(kind: &str) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(root().join("tests/keys").join(kind))
        .expect("fixtures")
        .map(|e| e.expect("entry").path())
        .map(|p| (p.file_name().expect("name").to_string_lossy().into_owned(), std::fs::read(&p).expect("read")))
        .collect();
    out.sort();
    assert!(out.len() >= 5, "too few fixtures in tests/keys/{kind}");
    out
}

/// Compiles a recipe copying `src` in a context holding `files`; returns
/// the exit code and everything aidc printed.
fn compile(src: &str, files: &[(&str, &[u8])]) -> (Option<i32>, String) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let recipe =
        format!("image x {{\n  from \"localhost/aid-fixture-base:44\"\n  copy \"{src}\" to \"/usr/share/x\"\n}}\n");
    std::fs::write(tmp.path().join("image.aid"), recipe).expect("write");
    for (p, bytes) in files {
        let path = tmp.path().join(p);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, bytes).expect("write");
    }
    let out = aidc(tmp.path(), &["compile", "--format", "json", "image.aid"]);
    let printed = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if out.status.code() != Some(0) {
        assert!(!tmp.path().join("out").exists(), "a refused compile wrote outputs");
    }
    (out.status.code(), printed)
}

/// Asserts a refusal that names the key's kind and never shows its bytes.
fn assert_refused(case: &str, key: &[u8], (code, printed): (Option<i32>, String)) {
    assert_eq!(code, Some(1), "{case}: {printed}");
    assert!(printed.contains("aid::validate::private_key"), "{case}: {printed}");
    assert!(printed.contains("private key"), "{case}: {printed}");
    // No 24-byte run of the key (its base64 lines, its hex) reaches the output.
    let text = String::from_utf8_lossy(key);
    for line in
        text.lines().filter(|l| l.len() >= 24 && l.is_ascii() && !l.starts_with("-----") && !l.starts_with("---- "))
    {
        assert!(!printed.contains(&line[..24]), "{case}: the key's text was printed: {printed}");
    }
}

#[test]
fn every_private_key_format_is_refused_alone_and_in_a_directory() {
    for (name, key) in fixtures("private") {
        let path = format!("files/{name}");
        assert_refused(&name, &key, compile(&path, &[(&path, &key)]));
        assert_refused(
            &format!("{name} in a directory"),
            &key,
            compile("files", &[(&path, &key), ("files/a.txt", b"a\n")]),
        );
    }
}

#[test]
fn a_key_in_a_large_file_is_found_across_the_chunk_boundary() {
    let prefix = random(BOUNDARY, 7);
    for (name, key) in fixtures("private") {
        // Where the key starts in the fixture itself (a PKCS#12 bundle's is inside it).
        let alone = compile("k", &[("k", &key)]).1;
        let inner: usize = alone
            .split("at byte ")
            .nth(1)
            .and_then(|r| r.split(')').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{name}: no offset in {alone}"));
        // Across the boundary, split in its middle and after its first byte.
        for at in [BOUNDARY - key.len() / 2, BOUNDARY - 1] {
            let mut bytes = prefix[..at].to_vec();
            bytes.extend_from_slice(&key);
            bytes.extend_from_slice(&prefix[..64 << 10]);
            let case = format!("{name} at byte {at}");
            let result = compile("model.bin", &[("model.bin", &bytes)]);
            assert!(result.1.contains(&format!("at byte {})", at + inner)), "{case}: {}", result.1);
            assert_refused(&case, &key, result);
        }
    }
}

#[test]
fn clean_files_and_random_bytes_are_not_keys() {
    let mut cases = fixtures("clean");
    cases.push(("random.bin".into(), random(16 << 20, 3)));
    cases.push((
        "flagship certificate".into(),
        std::fs::read(root().join("examples/ai-desktop/keys/ai-desktop.der")).expect("cert"),
    ));
    for (name, bytes) in cases {
        let (code, printed) = compile("files/input", &[("files/input", &bytes)]);
        assert_eq!(code, Some(0), "{name}: {printed}");
    }
}

#[test]
fn the_fixture_formats_are_what_their_names_say() {
    // Guards the data: each private fixture is what its name claims, so a
    // regenerated fixture cannot quietly test something else.
    let dir = root().join("tests/keys/private");
    let starts = |f: &str, prefix: &[u8]| std::fs::read(dir.join(f)).expect(f).starts_with(prefix);
    assert!(starts("pgp-private.asc", b"-----BEGIN PGP PRIVATE KEY BLOCK-----"));
    assert!(starts("openssh-ed25519", b"-----BEGIN OPENSSH PRIVATE KEY-----"));
    assert!(starts("openssh-binary.bin", b"openssh-key-v1\0"));
    assert!(starts("rsa-pkcs1.pem", b"-----BEGIN RSA PRIVATE KEY-----"));
    assert!(starts("ec-sec1.pem", b"-----BEGIN EC PRIVATE KEY-----"));
    assert!(starts("ec-encrypted.pem", b"-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    assert!(starts("rsa-pkcs8.der", b"\x30\x82"));
    assert!(Path::new(&dir.join("bundle.p12")).exists());
}
