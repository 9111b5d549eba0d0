//! Data-driven CLI tests of the verbs, with literal expected output (as
//! `just` tests its CLI). Each case is a directory `tests/cli/NAME/`:
//!
//! * `cmd`: the arguments, one per line (so that an argument may hold spaces);
//! * `in/` (optional): files copied into an empty temporary directory, where
//!   `aidc` runs; a `.git` directory is made there so that it is a repository;
//! * `expected`: the exit code, standard output, standard error, then every
//!   file the command created or changed in the directory, in full.
//!
//! Adding a case needs no Rust: write `cmd` and `in/`, run
//! `UPDATE_EXPECT=1 cargo test verbs`, and read the `expected` it wrote.

use std::collections::BTreeMap;
use std::path::Path;

use crate::support::{aidc, all_files, expect_file, root};

fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    all_files(dir)
        .into_iter()
        .filter(|p| !p.strip_prefix(dir).expect("inside").starts_with(".git"))
        .map(|p| {
            let rel = p.strip_prefix(dir).expect("inside").to_string_lossy().replace('\\', "/");
            (rel, std::fs::read(&p).unwrap_or_default())
        })
        .collect()
}

fn copy_tree(from: &Path, to: &Path) {
    for file in all_files(from) {
        let rel = file.strip_prefix(from).expect("inside");
        let dest = to.join(rel);
        std::fs::create_dir_all(dest.parent().expect("parent")).expect("mkdir");
        std::fs::copy(&file, &dest).expect("copy");
    }
}

fn run_case(case: &Path) -> String {
    let work = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(work.path().join(".git")).expect("mkdir .git");
    if case.join("in").is_dir() {
        copy_tree(&case.join("in"), work.path());
    }
    let before = snapshot(work.path());
    let cmd = std::fs::read_to_string(case.join("cmd")).expect("cmd");
    let args: Vec<&str> = cmd.lines().filter(|l| !l.is_empty()).collect();
    let out = aidc(work.path(), &args);
    let code = out.status.code().map_or("signal".to_string(), |c| c.to_string());
    let mut result = format!("exit: {code}\n--- stdout\n{}", String::from_utf8_lossy(&out.stdout));
    result.push_str(&format!("--- stderr\n{}", String::from_utf8_lossy(&out.stderr)));
    for (name, bytes) in snapshot(work.path()) {
        // The digest cache is not an output: it holds this machine's inode numbers and times.
        if name.rsplit('/').next() == Some(".aidc-digests") {
            continue;
        }
        if before.get(&name) != Some(&bytes) {
            result.push_str(&format!("--- file {name}\n{}", String::from_utf8_lossy(&bytes)));
        }
    }
    for name in before.keys() {
        if !work.path().join(name).exists() {
            result.push_str(&format!("--- removed {name}\n"));
        }
    }
    // Paths of the temporary directory never reach the expected files.
    result.replace(&work.path().display().to_string(), "$DIR")
}

#[test]
fn verb_cases_match_their_expected_output() {
    let mut cases: Vec<_> = std::fs::read_dir(root().join("tests/cli"))
        .expect("tests/cli")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("cmd").is_file())
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no cases under tests/cli");
    let failures: Vec<String> =
        cases.iter().filter_map(|case| expect_file(&case.join("expected"), &run_case(case))).collect();
    assert!(failures.is_empty(), "{} of {} cases differ:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

#[test]
fn the_bash_completion_script_loads_and_completes_verbs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let script = aidc(dir.path(), &["completions", "bash"]);
    assert_eq!(script.status.code(), Some(0));
    let path = dir.path().join("aidc.bash");
    std::fs::write(&path, &script.stdout).expect("write");
    // Ask the loaded completion function for the words after `aidc c`.
    let probe = format!(
        "source {}; COMP_WORDS=(aidc c); COMP_CWORD=1; COMP_LINE='aidc c'; COMP_POINT=6; _aidc aidc c aidc; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        path.display()
    );
    let out = std::process::Command::new("bash").args(["--norc", "-c", &probe]).output().expect("bash runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "check\ncompile\ncompletions\n");
}

#[test]
fn graph_dot_of_every_example_renders_with_graphviz() {
    if std::process::Command::new("dot").arg("-V").output().is_err() {
        assert!(
            std::env::var_os("AID_REQUIRE_TOOLS").is_none(),
            "graphviz's `dot` is required (tests/run installs it)"
        );
        return;
    }
    for example in ["ai-desktop", "ai-workstation", "gpu-server", "kde-ai"] {
        let dir = root().join("examples").join(example);
        let graph = aidc(&dir, &["graph", "--format", "dot", "image.aid"]);
        assert_eq!(graph.status.code(), Some(0), "{example}: {}", String::from_utf8_lossy(&graph.stderr));
        let mut dot = std::process::Command::new("dot")
            .arg("-Tsvg")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("dot runs");
        use std::io::Write;
        dot.stdin.take().expect("stdin").write_all(&graph.stdout).expect("write");
        let svg = dot.wait_with_output().expect("dot ends");
        assert!(svg.status.success() && svg.stderr.is_empty(), "{example}: {}", String::from_utf8_lossy(&svg.stderr));
        let svg = String::from_utf8_lossy(&svg.stdout);
        // Every stage is a cluster, and the image's own body is a node.
        let stages = String::from_utf8_lossy(&graph.stdout).matches("subgraph \"cluster_").count();
        assert!(svg.matches("class=\"cluster\"").count() == stages && stages > 1, "{example}: {stages} clusters");
        let nodes = String::from_utf8_lossy(&graph.stdout)
            .lines()
            .filter(|l| l.contains(" [label=") && !l.contains("->"))
            .count();
        assert_eq!(svg.matches("class=\"node\"").count(), nodes, "{example}: every node is drawn");
    }
}

#[test]
fn init_signing_makes_a_key_the_recipe_uses_and_keeps_it_out_of_git_and_the_image() {
    use std::os::unix::fs::PermissionsExt;
    if std::process::Command::new("openssl").arg("version").output().is_err() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join(".git")).expect("repository");
    let init = aidc(dir.path(), &["init", "lab", "--signing"]);
    assert_eq!(init.status.code(), Some(0), "{}", String::from_utf8_lossy(&init.stderr));
    let said = String::from_utf8_lossy(&init.stdout);
    assert!(said.contains("sudo mokutil --import /etc/pki/akmods/certs/lab.der"), "{said}");
    assert!(said.contains("aidc build lab lab/image.aid --secret-file lab/keys/private/lab.priv"), "{said}");
    let project = dir.path().join("lab");
    let key = project.join("keys/private/lab.priv");
    assert_eq!(std::fs::metadata(&key).expect("key").permissions().mode() & 0o777, 0o600);
    assert!(std::fs::read_to_string(&key).expect("pem").starts_with("-----BEGIN PRIVATE KEY-----"));
    // The certificate is DER X.509 for code signing.
    let x509 = std::process::Command::new("openssl")
        .args(["x509", "-inform", "DER", "-noout", "-subject", "-ext", "extendedKeyUsage", "-in"])
        .arg(project.join("keys/lab.der"))
        .output()
        .expect("openssl");
    let shown = String::from_utf8_lossy(&x509.stdout);
    assert!(shown.contains("lab kernel module signing key") && shown.contains("Code Signing"), "{shown}");
    assert!(std::fs::read_to_string(project.join(".gitignore")).expect("gitignore").contains("/keys/private/"));
    assert!(std::fs::read_to_string(project.join(".containerignore")).expect("ignore").contains("keys/private/"));
    // The recipe checks and compiles, formatted as `aidc fmt` would.
    for args in [["check", "lab/image.aid"], ["compile", "lab/image.aid"], ["fmt", "--check"]] {
        let args: Vec<&str> = if args[0] == "fmt" { vec!["fmt", "--check", "lab/image.aid"] } else { args.to_vec() };
        let out = aidc(dir.path(), &args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    // A second init refuses to overwrite anything.
    let again = aidc(dir.path(), &["init", "lab", "--signing"]);
    assert_eq!(again.status.code(), Some(2));
}

#[test]
fn explain_is_plain_on_a_pipe_and_styled_for_a_terminal() {
    let aidc::explain::Explained::Found(markdown) = aidc::explain::explain("fetch") else {
        panic!("`fetch` is explained");
    };
    let plain = aidc::explain::plain(&markdown);
    assert!(plain.starts_with("7.8 `fetch`\n"), "{plain}");
    assert!(!plain.contains("```") && !plain.contains('\x1b'), "{plain}");
    assert!(plain.contains("    fetch \"URL\" sha256 \"HEX\""), "code blocks are indented: {plain}");
    let styled = aidc::explain::styled(&markdown);
    assert!(styled.starts_with("\x1b[1m7.8 `fetch`\x1b[0m\n"), "{styled}");
    assert!(styled.contains("\x1b[36msha256\x1b[0m"), "code spans are coloured: {styled}");
    // Both sections that name `policy` (the statement and the policy chapter).
    let aidc::explain::Explained::Found(policy) = aidc::explain::explain("policy") else { panic!("policy") };
    assert!(policy.contains("7.20 `policy`") && policy.contains("10.2 `policy`"), "{policy}");
    // `tools.goose` is the layer, not the table named after it.
    let aidc::explain::Explained::Found(goose) = aidc::explain::explain("tools.goose") else { panic!("goose") };
    assert!(goose.starts_with("# layer tools.goose(version: string)"), "{goose}");
}
