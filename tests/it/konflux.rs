//! The Konflux backend: PipelineRuns and the Application for the examples
//! and a multi-platform recipe, compiled in memory (the library does no IO),
//! compared whole with the golden files under `tests/golden-konflux/<case>/`
//! (laid out as the repository root would be; `UPDATE_EXPECT=1` rewrites
//! them), and read by the Konflux checker in `../shared/tools/konflux-check`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use aidc::konflux;

use crate::konflux_case::{Case, case, cases, drive, edited, generate, layout};
use crate::support::root;

fn runs(files: &BTreeMap<String, String>) -> Vec<&String> {
    files.keys().filter(|p| p.starts_with(".tekton/")).collect()
}

#[test]
fn the_flagship_gives_six_pipelineruns_one_per_variant_and_event() {
    let files = generate(&case("ai-desktop"));
    let runs: Vec<&str> = runs(&files).into_iter().map(String::as_str).collect();
    assert_eq!(
        runs,
        [
            ".tekton/ai-desktop-clean-pull-request.yaml",
            ".tekton/ai-desktop-clean-push.yaml",
            ".tekton/ai-desktop-cuda-runtime-pull-request.yaml",
            ".tekton/ai-desktop-cuda-runtime-push.yaml",
            ".tekton/ai-desktop-cuda-toolkit-pull-request.yaml",
            ".tekton/ai-desktop-cuda-toolkit-push.yaml",
        ]
    );
    let push = &files[".tekton/ai-desktop-cuda-toolkit-push.yaml"];
    for want in [
        "name: ai-desktop-cuda-toolkit-on-push\n",
        "appstudio.openshift.io/component: ai-desktop-cuda-toolkit\n",
        "value: quay.io/fedora-ai/ai-desktop-cuda-toolkit:{{revision}}\n",
        "  - name: target-stage\n    value: cuda-toolkit\n",
        "  - name: additional-secret\n    value: akmods-key\n",
        "  - name: dockerfile\n    value: out/ai-desktop/Containerfile\n",
        "  - name: path-context\n    value: examples/ai-desktop\n",
        r#""examples/ai-desktop/out/ai-desktop/Containerfile".pathChanged()"#,
        r#"".tekton/ai-desktop-cuda-toolkit-push.yaml".pathChanged()"#,
        "serviceAccountName: build-pipeline-ai-desktop-cuda-toolkit\n",
        "pipeline: 4h\n",
        "timeout: 3h\n",
    ] {
        assert!(push.contains(want), "missing {want:?} in\n{push}");
    }
    let pr = &files[".tekton/ai-desktop-clean-pull-request.yaml"];
    assert!(pr.contains("value: quay.io/fedora-ai/ai-desktop-clean:on-pr-{{revision}}\n"), "{pr}");
    assert!(pr.contains("  - name: image-expires-after\n    value: 5d\n"), "{pr}");
    // The clean variant signs its kernel too: its push run gets the key, its
    // pull-request run none and builds unsigned (docs/konflux.md, "Keyless pull requests").
    assert!(!pr.contains("  - name: additional-secret\n    value:"), "{pr}");
    assert!(pr.contains("  - name: build-args\n    value:\n    - AID_KMOD_SIGNING=unsigned\n"), "{pr}");
    let clean_push = &files[".tekton/ai-desktop-clean-push.yaml"];
    assert!(clean_push.contains("  - name: additional-secret\n    value: akmods-key\n"), "{clean_push}");
    assert!(!pr.contains("build-platforms"), "single platform: no matrix\n{pr}");
    let app = &files["examples/ai-desktop/konflux/application.yaml"];
    assert_eq!(app.matches("kind: Component\n").count(), 3, "{app}");
}

#[test]
fn every_component_gets_an_integration_test_from_its_recipe() {
    let files = generate(&case("ai-desktop"));
    let app = &files["examples/ai-desktop/konflux/application.yaml"];
    assert_eq!(app.matches("kind: IntegrationTestScenario\n").count(), 3, "{app}");
    assert!(app.contains(
        "    - name: pathInRepo\n      value: examples/ai-desktop/konflux/integration/ai-desktop-clean.yaml\n"
    ));
    assert!(app.contains("  - name: component_ai-desktop-clean\n"), "{app}");
    let dir = "examples/ai-desktop/konflux/integration";
    let clean = &files[&format!("{dir}/ai-desktop-clean.yaml")];
    let runtime = &files[&format!("{dir}/ai-desktop-cuda-runtime.yaml")];
    for pipeline in [clean, runtime] {
        assert!(pipeline.contains("bootc container lint\n"), "{pipeline}");
    }
    // clean denies proprietary software: its SBOM must not list what the other variants install.
    assert!(clean.contains("name: sbom-policy\n") && clean.contains("            nvidia-driver\n"), "{clean}");
    assert!(!clean.contains("name: module-signer\n"), "clean has no kmods\n{clean}");
    // cuda-runtime allows it, and signs the NVIDIA module with the recipe's certificate.
    assert!(!runtime.contains("name: sbom-policy\n"), "{runtime}");
    assert!(runtime.contains("name: module-signer\n"), "{runtime}");
    assert!(runtime.contains("          value: /etc/pki/akmods/certs/ai-desktop.der\n"), "{runtime}");
    assert!(runtime.contains("        - name: MODULES\n          value: nvidia\n"), "{runtime}");
}

#[test]
fn the_recipes_resources_size_the_build_step_of_heavy_components_only() {
    let files = generate(&case("ai-desktop"));
    let toolkit = &files[".tekton/ai-desktop-cuda-toolkit-pull-request.yaml"];
    let want = "  taskRunSpecs:\n  - pipelineTaskName: build-container\n    stepSpecs:\n    - name: build\n      computeResources:\n        limits:\n          cpu: '4'\n          memory: 24Gi\n        requests:\n          cpu: '4'\n          memory: 24Gi\n";
    assert!(toolkit.contains(want), "{toolkit}");
    assert!(files[".tekton/ai-desktop-cuda-runtime-push.yaml"].contains("          memory: 16Gi\n"));
    assert!(!files[".tekton/ai-desktop-clean-push.yaml"].contains("taskRunSpecs"));
}

#[test]
fn a_hermetic_recipe_prefetches_per_variant_and_its_fetches_read_the_prefetch() {
    let files = generate(&case("hermetic"));
    let dir = "konflux/prefetch";
    // Each variant its own lock directory: clean's lists no CUDA, no NVIDIA.
    let clean: Vec<&String> = files.keys().filter(|p| p.starts_with(&format!("{dir}/ai-hermetic-clean/"))).collect();
    let want: Vec<String> = [
        "artifacts.lock.yaml",
        "repos/base/fedora-cisco-openh264.repo",
        "repos/base/fedora-updates.repo",
        "repos/base/fedora.repo",
        "rpms.in.yaml",
    ]
    .iter()
    .map(|f| format!("{dir}/ai-hermetic-clean/{f}"))
    .collect();
    assert_eq!(clean, want.iter().collect::<Vec<_>>());
    for (path, text) in files.iter().filter(|(p, _)| p.starts_with(&format!("{dir}/ai-hermetic-clean/"))) {
        assert!(!text.contains("cuda") && !text.contains("nvidia"), "{path}:\n{text}");
    }
    let cuda = &files[&format!("{dir}/ai-hermetic-cuda/rpms.in.yaml")];
    assert!(
        cuda.contains("- cuda-libraries-13-0\n") && cuda.contains("  image: quay.io/fedora/fedora-bootc:44\n"),
        "{cuda}"
    );
    // The base's own repositories are in the resolution.
    for line in [
        "  - repos/base/fedora.repo\n",
        "  - repos/base/fedora-updates.repo\n",
        "  - repos/cuda-fedora44-x86_64.repo\n",
    ] {
        assert!(cuda.contains(line), "{line:?} not in:\n{cuda}");
    }
    assert!(!cuda.contains("fedora-updates-testing"), "{cuda}");
    // What the builder stages install (the kmod builder's, the kernel
    // signer's) is resolved against the image they start from, in a lock of
    // its own that the prefetch input lists first.
    let builder = &files[&format!("{dir}/ai-hermetic-cuda/builder/rpms.in.yaml")];
    for line in [
        "  - ../repos/base/fedora.repo\n",
        "- akmods\n",
        "- kernel-longterm-devel-matched\n",
        "- akmod-nvidia-580.95.05\n",
        "- sbsigntools\n",
        "  image: quay.io/fedora/fedora:44\n",
    ] {
        assert!(builder.contains(line), "{line:?} not in:\n{builder}");
        assert!(!line.starts_with('-') || !cuda.contains(line), "{line:?} in the image's own lock:\n{cuda}");
    }
    let run = &files[".tekton/ai-hermetic-cuda-push.yaml"];
    assert!(
        run.contains(r#"value: '[{"type":"rpm","path":"konflux/prefetch/ai-hermetic-cuda/builder"},{"type":"rpm","path":"konflux/prefetch/ai-hermetic-cuda"},"#),
        "{run}"
    );
    let goose = "6b7f583fa74560ee7d76745295a260fd03e9fbfc7d6c15cfd36f28a1a3e917cc";
    let lock = &files[&format!("{dir}/ai-hermetic-clean/artifacts.lock.yaml")];
    assert!(lock.contains(&format!("  checksum: sha256:{goose}\n  filename: {goose}\n")), "{lock}");
    let run = &files[".tekton/ai-hermetic-clean-push.yaml"];
    assert!(run.contains("  - name: hermetic\n    value: 'true'\n"), "{run}");
    assert!(
        run.contains(r#"value: '[{"type":"rpm","path":"konflux/prefetch/ai-hermetic-clean"},{"type":"generic","path":"konflux/prefetch/ai-hermetic-clean"}]'"#),
        "{run}"
    );

    // The Containerfile takes the prefetched file when it is there.
    let tmp = tempfile::tempdir().expect("tempdir");
    let src = root().join("tests/golden/hermetic");
    std::fs::create_dir(tmp.path().join(".git")).expect("git dir");
    std::fs::create_dir(tmp.path().join("keys")).expect("keys");
    std::fs::copy(src.join("image.aid"), tmp.path().join("image.aid")).expect("recipe");
    // The certificate and the repositories' signing keys.
    for key in std::fs::read_dir(src.join("keys")).expect("keys").flatten() {
        std::fs::copy(key.path(), tmp.path().join("keys").join(key.file_name())).expect("key");
    }
    let out = crate::support::aidc(tmp.path(), &["compile", "image.aid"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let containerfile =
        std::fs::read_to_string(tmp.path().join("out/ai-hermetic/Containerfile")).expect("Containerfile");
    let prefetched = format!("/cachi2/output/deps/generic/{goose}");
    assert!(containerfile.contains(&format!("if [ -f {prefetched} ]; then cp {prefetched} ")), "{containerfile}");
}

#[test]
fn a_hermetic_multi_platform_prefetch_lists_every_architectures_repositories() {
    let files = generate(&case("hermetic-multi-arch"));
    let dir = "konflux/prefetch/ai-base";
    let rpms = &files[&format!("{dir}/rpms.in.yaml")];
    for line in [
        "  - repos/cuda-fedora43-x86_64.repo\n",
        "  - repos/cuda-fedora43-sbsa.repo\n",
        "  - repos/rpmfusion-free.repo\n",
        "  - repos/base/fedora-updates-testing.repo\n",
        "- aarch64\n- x86_64\n",
    ] {
        assert!(rpms.contains(line), "{line:?} not in:\n{rpms}");
    }
    // RPM Fusion's file names the architecture: once, as dnf's `$basearch`.
    let fusion = &files[&format!("{dir}/repos/rpmfusion-free.repo")];
    assert!(fusion.contains("/releases/43/Everything/$basearch/os/\n"), "{fusion}");
    // updates-testing, enabled by id for one step, is switched on for the resolution.
    let testing = &files[&format!("{dir}/repos/base/fedora-updates-testing.repo")];
    assert!(testing.contains("[updates-testing]\n") && testing.contains("\nenabled=1\n"), "{testing}");
    assert!(!testing.contains("enabled=0"), "{testing}");
    let lock = &files[&format!("{dir}/artifacts.lock.yaml")];
    assert!(lock.contains("goose-aarch64-") && lock.contains("goose-x86_64-"), "{lock}");
}

/// The block scalars under `script: |` in a YAML text, de-indented.
fn scripts(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if !line.trim_start().starts_with("script: |") {
            continue;
        }
        let Some(first) = lines.peek() else { break };
        let indent = first.len() - first.trim_start().len();
        let mut script = String::new();
        while let Some(l) = lines.peek() {
            if !l.is_empty() && l.len() - l.trim_start().len() < indent {
                break;
            }
            script.push_str(l.get(indent..).unwrap_or(""));
            script.push('\n');
            lines.next();
        }
        out.push(script);
    }
    out
}

#[test]
fn the_integration_tests_scripts_parse() {
    let mut checked = 0;
    for case in &cases() {
        for (path, text) in generate(case).iter().filter(|(p, _)| p.contains("konflux/integration/")) {
            for script in scripts(text) {
                let shell = if script.starts_with("#!/bin/bash") { "bash" } else { "sh" };
                let mut child = Command::new(shell)
                    .arg("-n")
                    .stdin(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .expect("shell runs");
                use std::io::Write as _;
                child.stdin.take().expect("stdin").write_all(script.as_bytes()).expect("script");
                let out = child.wait_with_output().expect("shell");
                assert!(out.status.success(), "{path}: {}\n{script}", String::from_utf8_lossy(&out.stderr));
                checked += 1;
            }
        }
    }
    // find-image and lint everywhere; the signer's two steps and the SBOM check where they apply.
    assert!(checked >= 12, "only {checked} scripts found");
}

#[test]
fn two_platforms_give_the_matrix_pipeline() {
    let files = generate(&case("multi-arch"));
    let push = &files[".tekton/ai-base-push.yaml"];
    for want in [
        "  - name: build-platforms\n    value:\n    - linux/x86_64\n    - linux/arm64\n",
        "name: build-images\n",
        "value: buildah-remote-oci-ta\n",
        "- name: PLATFORM\n",
        "$(tasks.build-images.results.IMAGE_REF[*])",
        "pipeline: 6h\n",
        "timeout: 5h\n",
        "namespace: fedora-ai-tenant\n",
        "build.appstudio.openshift.io/repo: https://github.com/fedora-ai/images?rev={{revision}}\n",
        // At the repository root every change is the recipe's: no path terms.
        "on-cel-expression: event == \"push\" && target_branch == \"f44\"\n",
        "  - name: path-context\n    value: .\n",
    ] {
        assert!(push.contains(want), "missing {want:?} in\n{push}");
    }
    assert!(!push.contains("build-container"), "{push}");
    let app = &files["konflux/application.yaml"];
    assert!(app.contains(r#"build.appstudio.openshift.io/pipeline: '{"name":"docker-build-multi-platform-oci-ta","bundle":"latest"}'"#), "{app}");
}

#[test]
fn the_downstream_example_is_nudged_by_the_flagships_toolkit_variant() {
    let files = generate(&case("ai-workstation"));
    assert_eq!(runs(&files), [".tekton/ai-workstation-pull-request.yaml", ".tekton/ai-workstation-push.yaml"]);
    let app = &files["examples/ai-workstation/konflux/application.yaml"];
    let upstream = app
        .split("---\n")
        .find(|doc| doc.contains("\n  name: ai-desktop-cuda-toolkit\n"))
        .unwrap_or_else(|| panic!("no Component for the upstream in\n{app}"));
    assert!(upstream.contains("  build-nudges-ref:\n  - ai-workstation\n"), "{upstream}");
    assert!(upstream.contains("  containerImage: quay.io/fedora-ai/ai-desktop-cuda-toolkit\n"), "{upstream}");
    // Push runs of every component carry the nudge file patterns.
    let flagship = generate(&case("ai-desktop"));
    let toolkit = &flagship[".tekton/ai-desktop-cuda-toolkit-push.yaml"];
    assert!(
        toolkit.contains("build.appstudio.openshift.io/build-nudge-files: .*Containerfile.*,.*aid\\.lock\n"),
        "{toolkit}"
    );
}

/// The codes of the errors compiling `case` edited gives, Konflux
/// output included (asked for even without a `pipeline` block).
fn refused(case: &Case, from: &str, to: &str) -> Vec<&'static str> {
    let compiled = drive(case, &edited(case, from, to));
    if compiled.diagnostics.has_errors() {
        return compiled.diagnostics.into_sorted().iter().map(|d| d.code.as_str()).collect();
    }
    let (model, plan) = (compiled.model.expect("model"), compiled.plan.expect("plan"));
    match konflux::files(&model, &plan, &layout(case)).into_result() {
        Ok(files) => panic!("expected diagnostics, got {:?}", files.keys().collect::<Vec<_>>()),
        Err(d) => d.into_sorted().iter().map(|d| d.code.as_str()).collect(),
    }
}

#[test]
fn a_recipe_without_a_pipeline_block_has_no_konflux_output() {
    let flagship = case("ai-desktop");
    let text = std::fs::read_to_string(root().join(&flagship.recipe)).expect("recipe");
    let block = &text[text.find("pipeline konflux").expect("pipeline block")..];
    assert_eq!(refused(&flagship, block, ""), ["aid::resolve::missing_pipeline"]);
}

#[test]
fn a_secret_id_that_cannot_name_a_kubernetes_secret_is_refused() {
    let codes = refused(&case("ai-desktop"), "secret(\"akmods-key\")", "secret(\"Akmods_Key\")");
    assert!(!codes.is_empty() && codes.iter().all(|c| *c == "aid::resolve::invalid_name"), "{codes:?}");
}

#[test]
fn output_is_the_same_run_to_run() {
    for case in &cases() {
        assert_eq!(generate(case), generate(case), "{}", case.name);
    }
}

/// Whether a generated file (by path) is Tekton's: a PipelineRun under
/// `.tekton/` or an integration test's Pipeline under `konflux/integration/`.
fn is_tekton(path: &str) -> bool {
    path.starts_with(".tekton/") || path.contains("/.tekton/") || path.contains("konflux/integration/")
}

/// Whether a generated file is a hermetic build's prefetch input (Hermeto's
/// and rpm-lockfile-prototype's formats, not Kubernetes objects).
fn is_prefetch(path: &str) -> bool {
    path.contains("konflux/prefetch/")
}

/// `N violations` / `N warnings` from the checker's last lines.
fn count(output: &str, what: &str) -> Option<usize> {
    output.lines().rev().find_map(|l| l.strip_suffix(what)?.trim().parse().ok())
}

/// The checker `script` of `../shared/tools/konflux-check`, when it and
/// PyYAML are there (`None`: skipped, said on stderr; with
/// `AID_REQUIRE_TOOLS` set a missing PyYAML fails).
fn checker(script: &str) -> Option<PathBuf> {
    let checker = root().join("../shared/tools/konflux-check").join(script);
    if !checker.is_file() {
        eprintln!("SKIPPED: ../shared/tools/konflux-check is absent; the generated Konflux files were not checked");
        return None;
    }
    let pyyaml = Command::new("python3").args(["-c", "import yaml"]).status().is_ok_and(|s| s.success());
    if !pyyaml {
        assert!(
            std::env::var_os("AID_REQUIRE_TOOLS").is_none(),
            "PyYAML is required by the Konflux checker (AID_REQUIRE_TOOLS is set) but not installed"
        );
        eprintln!("SKIPPED: the Konflux checker needs PyYAML (`pip install pyyaml`; tests/run installs it)");
        return None;
    }
    Some(checker)
}

/// Runs `checker` on `files` with `args`; `Err` with its output unless it
/// says `0 violations` and exits 0.
fn run_checker(checker: &Path, args: &[&str], files: &[PathBuf], what: &str) -> Result<(), String> {
    let out = Command::new("python3").arg(checker).args(args).args(files).output().expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let violations = count(&stdout, " violations");
    let warnings = count(&stdout, " warnings");
    eprintln!(
        "{} {what}: {} violations, {} warnings",
        checker.file_name().and_then(|n| n.to_str()).unwrap_or("checker"),
        violations.map_or("?".into(), |n| n.to_string()),
        warnings.map_or("?".into(), |n| n.to_string())
    );
    if violations == Some(0) && out.status.success() {
        Ok(())
    } else {
        Err(format!("{what}:\n{stdout}{}", String::from_utf8_lossy(&out.stderr)))
    }
}

/// The pipeline a PipelineRun's text follows, for `--reference-pipeline`.
fn reference_pipeline(text: &str) -> &'static str {
    if text.contains("name: build-images\n") { "docker-build-multi-platform-oci-ta" } else { "docker-build-oci-ta" }
}

/// Both checkers on a set of Konflux files under `dir`: every PipelineRun on
/// its own (against the pipeline it follows), every onboarding file together
/// (references resolve across them).
fn check_tree(dir: &Path, runs: &[PathBuf], manifests: &[PathBuf], what: &str, failures: &mut Vec<String>) {
    let (Some(pipelinerun), Some(manifest)) = (checker("check_pipelinerun.py"), checker("check_manifests.py")) else {
        return;
    };
    for run in runs {
        let text = std::fs::read_to_string(run).expect("read");
        let name = run.strip_prefix(dir).unwrap_or(run).display().to_string();
        // The integration tests' Pipelines follow no Konflux pipeline.
        let args: &[&str] = if text.contains("\nkind: PipelineRun\n") {
            &["--reference-pipeline", reference_pipeline(&text)]
        } else {
            &[]
        };
        if let Err(e) = run_checker(&pipelinerun, args, std::slice::from_ref(run), &format!("{what}/{name}")) {
            failures.push(e);
        }
    }
    if !manifests.is_empty()
        && let Err(e) = run_checker(&manifest, &[], manifests, &format!("{what} onboarding files"))
    {
        failures.push(e);
    }
}

#[test]
fn the_konflux_checkers_find_no_violations_in_generated_files() {
    let mut failures = Vec::new();
    for case in &cases() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let files = generate(case);
        let (mut run_paths, mut manifests) = (Vec::new(), Vec::new());
        for (path, text) in &files {
            let p = tmp.path().join(path);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(&p, text).expect("write");
            if is_tekton(path) {
                run_paths.push(p)
            } else if !is_prefetch(path) {
                manifests.push(p)
            }
        }
        assert!(!run_paths.is_empty() && !manifests.is_empty(), "{}: nothing to check", case.name);
        check_tree(tmp.path(), &run_paths, &manifests, &case.name, &mut failures);
    }
    assert!(failures.is_empty(), "the Konflux checkers report violations:\n{}", failures.join("\n"));
}

/// The committed files, as a tenant applies them: every golden case and the
/// examples' outputs (`.tekton/` at this repository's root and each
/// example's `konflux/application.yaml`, applied together).
#[test]
fn the_konflux_checkers_find_no_violations_in_committed_files() {
    let mut failures = Vec::new();
    for case in cases() {
        let dir = root().join("tests/golden-konflux").join(&case.name);
        let all: Vec<PathBuf> =
            crate::support::files(&dir, "yaml").into_iter().filter(|p| !is_prefetch(&p.to_string_lossy())).collect();
        let (runs, manifests): (Vec<PathBuf>, Vec<PathBuf>) =
            all.into_iter().partition(|p| p.strip_prefix(&dir).is_ok_and(|r| is_tekton(&r.to_string_lossy())));
        check_tree(&dir, &runs, &manifests, &format!("tests/golden-konflux/{}", case.name), &mut failures);
    }
    let repo = root();
    let mut runs = crate::support::files(&repo.join(".tekton"), "yaml");
    let examples = crate::support::files(&repo.join("examples"), "yaml");
    let manifests: Vec<PathBuf> = examples
        .iter()
        .filter(|p| p.parent().and_then(Path::file_name).is_some_and(|n| n == "konflux"))
        .cloned()
        .collect();
    runs.extend(examples.into_iter().filter(|p| is_tekton(&p.to_string_lossy())));
    assert!(runs.len() >= 8 && manifests.len() >= 4, "the examples' Konflux files are missing");
    check_tree(&repo, &runs, &manifests, "examples", &mut failures);
    assert!(failures.is_empty(), "the Konflux checkers report violations:\n{}", failures.join("\n"));
}

/// A bundle reference as MintMaker writes it: `task`'s bundle at `version`, another digest.
fn bot_reference(task: &str, version: &str) -> String {
    format!("quay.io/konflux-ci/tekton-catalog/task-{task}:{version}@sha256:{}", "ab".repeat(32))
}

/// `text` with the bundle reference of `task` replaced by `new`.
fn with_bundle(text: &str, task: &str, new: &str) -> String {
    let old = aidc::konflux::bundles::bundle(task);
    assert!(text.contains(old), "no {old} in\n{text}");
    text.replace(old, new)
}

/// [`generate`] with the committed PipelineRuns `committed` (path -> text) as the bundle lock.
fn generate_locked(case: &Case, committed: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let loader = crate::konflux_case::RepoLoader::default();
    let entry = PathBuf::from(&case.recipe);
    let hash = aidc::driver::hash_with_loader(&loader, entry.parent().expect("recipe dir").to_path_buf());
    let search = aidc::resolve::SearchPath::default();
    let mut request = aidc::driver::Request::new(&entry, &loader, &search, &hash);
    request.repo = layout(case);
    request.locked = konflux::bundles::Locked::from_files(committed);
    let compiled = aidc::driver::run(&request, aidc::driver::Mode::Compile).expect("recipe readable");
    assert!(!compiled.diagnostics.has_errors(), "{}: {:#?}", case.name, compiled.diagnostics.into_sorted());
    compiled.konflux
}

#[test]
fn a_bots_bundle_update_in_the_committed_files_is_kept() {
    let case = &case("ai-desktop");
    let fresh = generate(case);
    let file = ".tekton/ai-desktop-cuda-toolkit-push.yaml";
    // A newer patch of the same minor (and the digest with it): kept, byte for byte.
    let updated = with_bundle(&fresh[file], "buildah-oci-ta", &bot_reference("buildah-oci-ta", "0.12.9"));
    let again = generate_locked(case, &BTreeMap::from([(file.to_string(), updated.clone())]));
    assert_eq!(again[file], updated, "a recompile reverted the bot's update");
    // Only that file keeps it; the others are as before.
    let other = ".tekton/ai-desktop-clean-push.yaml";
    assert_eq!(again[other], fresh[other]);
    // An older minor version is replaced by aidc's table.
    let older = with_bundle(&fresh[file], "init", &bot_reference("init", "0.3.1"));
    let again = generate_locked(case, &BTreeMap::from([(file.to_string(), older)]));
    assert_eq!(again[file], fresh[file], "an older minor version was kept");
}

#[test]
fn compile_and_check_accept_a_bots_bundle_update() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let repo = tmp.path();
    std::fs::create_dir(repo.join(".git")).expect("git dir");
    std::fs::create_dir(repo.join("img")).expect("recipe dir");
    std::fs::write(
        repo.join("img/image.aid"),
        "image img {\n  from \"quay.io/fedora/fedora-bootc:44\"\n}\n\n\
         pipeline konflux {\n  application = \"img\"\n  registry = \"quay.io/example\"\n  \
         repository = \"https://github.com/example/img\"\n}\n",
    )
    .expect("recipe");
    let out = crate::support::aidc(repo, &["compile", "img/image.aid"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let run = repo.join(".tekton/img-push.yaml");
    let text = std::fs::read_to_string(&run).expect("push run");
    let updated = with_bundle(&text, "git-clone-oci-ta", &bot_reference("git-clone-oci-ta", "0.2.99"));
    std::fs::write(&run, &updated).expect("bot edit");
    let check = crate::support::aidc(repo, &["compile", "--check", "img/image.aid"]);
    assert!(
        check.status.success(),
        "--check refused the bot's update:\n{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    let out = crate::support::aidc(repo, &["compile", "img/image.aid"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read_to_string(&run).expect("push run"), updated, "a recompile reverted the bot's update");
}
