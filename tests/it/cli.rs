//! The command line as a contract: exit codes, formats, defaults.

use crate::support::{aidc, root};

fn temp_project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    dir
}

const OK: &str = "image x { from \"quay.io/fedora/fedora-bootc:44\" }\n";
const BROKEN: &str = "image x { from \"quay.io/fedora/fedora-bootc:44\"\n  packages [\"a b\"]\n}\n";

#[test]
fn a_clean_recipe_exits_0_and_says_so() {
    let dir = temp_project(&[("image.aid", OK)]);
    let out = aidc(dir.path(), &["check", "image.aid"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "checked 1 image, 1 variant: no errors\n");
}

#[test]
fn errors_exit_1_with_file_line_and_column() {
    let dir = temp_project(&[("image.aid", BROKEN)]);
    let out = aidc(dir.path(), &["check", "image.aid"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("aid::validate::package_name"), "{err}");
    // The culprit: the list item, not the list.
    assert!(err.contains("[image.aid:2:13]"), "{err}");
    assert!(err.ends_with("aidc: 1 error\n"), "{err}");
}

#[test]
fn json_lists_every_field_ci_needs() {
    let dir = temp_project(&[("image.aid", BROKEN)]);
    let out = aidc(dir.path(), &["check", "--format", "json", "image.aid"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json on stdout");
    let d = &v[0];
    assert_eq!(d["code"], "aid::validate::package_name");
    assert_eq!(d["severity"], "error");
    assert_eq!(d["file"], "image.aid");
    assert_eq!(d["line"], 2);
    assert_eq!(d["column"], 13);
    assert!(d["message"].as_str().is_some_and(|m| m.contains("a b")));
    assert!(d["help"].is_string());
    assert_eq!(d["labels"][0]["file"], "image.aid");
    assert_eq!(d["labels"][0]["line"], 2);
    assert!(out.stderr.is_empty(), "json mode keeps stderr quiet");
}

#[test]
fn json_of_a_clean_recipe_is_an_empty_array() {
    let dir = temp_project(&[("image.aid", OK)]);
    let out = aidc(dir.path(), &["check", "--format", "json", "image.aid"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "[]");
}

#[test]
fn without_files_check_reads_the_aid_files_of_the_directory() {
    let dir = temp_project(&[("a.aid", OK), ("b.aid", "image y { from \"quay.io/fedora/fedora-bootc:44\" }\n")]);
    let out = aidc(dir.path(), &["check"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "checked 2 images, 2 variants: no errors\n");
}

#[test]
fn usage_and_io_errors_exit_2() {
    let dir = temp_project(&[]);
    let none = aidc(dir.path(), &["check"]);
    assert_eq!(none.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&none.stderr).contains("no `*.aid` file"));
    let missing = aidc(dir.path(), &["check", "nope.aid"]);
    assert_eq!(missing.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&missing.stderr), "aidc: error: cannot read `nope.aid`: no such file\n");
    let bad_flag = aidc(dir.path(), &["check", "--frobnicate"]);
    assert_eq!(bad_flag.status.code(), Some(2));
    let help = aidc(dir.path(), &["--help"]);
    assert_eq!(help.status.code(), Some(0));
}

#[test]
fn warnings_pass_unless_denied() {
    // A kmod without `signing` is a warning.
    let recipe = r#"
kernel k { package = "kernel" version = "6.17.1" provides kernel = "6.17.1" }
kmod m { module = "m" version = "1" }
image x {
  from "quay.io/fedora/fedora-bootc:44"
  kernel k
  kmod m
}
"#;
    let dir = temp_project(&[("image.aid", recipe)]);
    let out = aidc(dir.path(), &["check", "image.aid"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("warning"));
    let denied = aidc(dir.path(), &["check", "--deny-warnings", "image.aid"]);
    assert_eq!(denied.status.code(), Some(1));
}

#[test]
fn lib_dirs_and_aid_path_resolve_library_imports() {
    let dir = temp_project(&[
        ("vendor/acme/gpu.aid", "layer tools() { packages [\"htop\"] }\n"),
        ("image.aid", "import \"acme/gpu\"\nimage x { from \"quay.io/fedora/fedora-bootc:44\" use gpu.tools() }\n"),
    ]);
    let missing = aidc(dir.path(), &["check", "image.aid"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("aid::module::not_found"));
    let with_lib = aidc(dir.path(), &["check", "--lib", "vendor", "image.aid"]);
    assert_eq!(with_lib.status.code(), Some(0), "{}", String::from_utf8_lossy(&with_lib.stderr));
    let with_env = std::process::Command::new(env!("CARGO_BIN_EXE_aidc"))
        .args(["check", "image.aid"])
        .current_dir(dir.path())
        .env("AID_PATH", "vendor")
        .output()
        .expect("runs");
    assert_eq!(with_env.status.code(), Some(0), "{}", String::from_utf8_lossy(&with_env.stderr));
}

#[test]
fn stdlib_override_reads_modules_from_a_directory() {
    let dir = temp_project(&[
        (
            "std/fedora.aid",
            "base bootc(release: int) { image = \"localhost/fixture:${release}\" provides release = release }\n",
        ),
        ("image.aid", "import \"std/fedora\"\nimage x { from fedora.bootc(44) }\n"),
    ]);
    let out = aidc(dir.path(), &["check", "--stdlib", "std", "image.aid"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    // The real stdlib also works with the override pointing at the repository's stdlib/.
    let real = aidc(&root(), &["check", "--stdlib", "stdlib", "examples/ai-desktop/image.aid"]);
    assert_eq!(real.status.code(), Some(0), "{}", String::from_utf8_lossy(&real.stderr));
}

#[test]
fn output_does_not_depend_on_the_working_directory() {
    let a = aidc(&root(), &["check", "--format", "json", "tests/ui/names/misspelt-layer.aid"]);
    let b = aidc(&root().join("tests"), &["check", "--format", "json", "ui/names/misspelt-layer.aid"]);
    let strip = |o: &std::process::Output| String::from_utf8_lossy(&o.stdout).replace("tests/ui/", "ui/");
    assert_eq!(a.status.code(), Some(1));
    assert_eq!(strip(&a), strip(&b));
}

#[test]
fn explain_shows_stdlib_docs_and_diagnostic_codes() {
    let dir = root();
    let def = aidc(&dir, &["explain", "cuda.runtime"]);
    assert_eq!(def.status.code(), Some(0));
    let text = String::from_utf8_lossy(&def.stdout);
    assert!(text.starts_with("layer cuda.runtime(version: string)\n"), "{text}");
    assert!(text.contains("nonfree(\"NVIDIA CUDA EULA\")"), "{text}");
    let module = aidc(&dir, &["explain", "std/nvidia"]);
    assert!(String::from_utf8_lossy(&module.stdout).contains("* kmod `nvidia.open`"));
    let code = aidc(&dir, &["explain", "aid::validate::missing_checksum"]);
    assert_eq!(code.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&code.stdout).contains("sha256"));
    let unknown = aidc(&dir, &["explain", "cuda.nothing"]);
    assert_eq!(unknown.status.code(), Some(2));
}

/// `check` and `compile` run the one driver: a library module's `copy` reads
/// beside the recipe (the build context) in both, and a missing input is an
/// error in both.
#[test]
fn check_and_compile_hash_inputs_in_the_same_build_context() {
    let lib = "layer extra() {\n  copy \"files/motd\" to \"/etc/motd\"\n}\n";
    let recipe =
        "import \"./lib/extra.aid\"\nimage x {\n  from \"quay.io/fedora/fedora-bootc:44\"\n  use extra.extra()\n}\n";
    let dir = temp_project(&[("app/image.aid", recipe), ("app/lib/extra.aid", lib), ("app/files/motd", "hi\n")]);
    let check = aidc(dir.path(), &["check", "app/image.aid"]);
    assert_eq!(check.status.code(), Some(0), "{}", String::from_utf8_lossy(&check.stderr));
    let compile = aidc(dir.path(), &["compile", "app/image.aid"]);
    assert_eq!(compile.status.code(), Some(0), "{}", String::from_utf8_lossy(&compile.stderr));
    // Beside the module only: both report the same error.
    std::fs::rename(dir.path().join("app/files"), dir.path().join("app/lib/files")).expect("move");
    let check = aidc(dir.path(), &["check", "app/image.aid"]);
    let compile = aidc(dir.path(), &["compile", "app/image.aid"]);
    assert_eq!(check.status.code(), Some(1));
    assert_eq!(compile.status.code(), Some(1));
    let check_err = String::from_utf8_lossy(&check.stderr);
    assert!(check_err.contains("aid::plan::missing_input"), "{check_err}");
    assert_eq!(check_err, String::from_utf8_lossy(&compile.stderr));
}
