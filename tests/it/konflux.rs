//! The Konflux backend: PipelineRuns and the Application for the examples
//! and a multi-platform recipe, compiled in memory (the library does no IO),
//! compared whole with the golden files under `tests/golden-konflux/<case>/`
//! (laid out as the repository root would be; `UPDATE_EXPECT=1` rewrites
//! them), and read by the Konflux checker in `../shared/tools/konflux-check`.

use std::collections::BTreeMap;
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
    // The clean variant has no kmod, so no signing key to mount.
    assert!(!pr.contains("  - name: additional-secret\n    value:"), "{pr}");
    assert!(!pr.contains("build-platforms"), "single platform: no matrix\n{pr}");
    let app = &files["examples/ai-desktop/konflux/application.yaml"];
    assert_eq!(app.matches("kind: Component\n").count(), 3, "{app}");
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

/// `N violations` / `N warnings` from the checker's last lines.
fn count(output: &str, what: &str) -> Option<usize> {
    output.lines().rev().find_map(|l| l.strip_suffix(what)?.trim().parse().ok())
}

#[test]
fn the_konflux_checker_finds_no_violations() {
    let checker = root().join("../shared/tools/konflux-check/check_pipelinerun.py");
    if !checker.is_file() {
        eprintln!("SKIPPED: ../shared/tools/konflux-check is absent; the generated PipelineRuns were not checked");
        return;
    }
    let pyyaml = Command::new("python3").args(["-c", "import yaml"]).status().is_ok_and(|s| s.success());
    if !pyyaml {
        assert!(
            std::env::var_os("AID_REQUIRE_TOOLS").is_none(),
            "PyYAML is required by the Konflux checker (AID_REQUIRE_TOOLS is set) but not installed"
        );
        eprintln!("SKIPPED: the Konflux checker needs PyYAML (`pip install pyyaml`; tests/run installs it)");
        return;
    }
    let mut failures = Vec::new();
    for case in &cases() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let files = generate(case);
        for (path, text) in &files {
            let p = tmp.path().join(path);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(&p, text).expect("write");
        }
        for run in runs(&files) {
            let out = Command::new("python3")
                .arg(&checker)
                .arg("--reference-pipeline")
                .arg(if files[run].contains("name: build-images\n") {
                    "docker-build-multi-platform-oci-ta"
                } else {
                    "docker-build-oci-ta"
                })
                .arg(tmp.path().join(run))
                .output()
                .expect("python3 runs");
            let stdout = String::from_utf8_lossy(&out.stdout);
            let violations = count(&stdout, " violations");
            let warnings = count(&stdout, " warnings");
            eprintln!(
                "konflux-check {}/{run}: {} violations, {} warnings",
                case.name,
                violations.map_or("?".into(), |n| n.to_string()),
                warnings.map_or("?".into(), |n| n.to_string())
            );
            if violations != Some(0) || !out.status.success() {
                failures.push(format!("{}/{run}:\n{stdout}{}", case.name, String::from_utf8_lossy(&out.stderr)));
            }
        }
    }
    assert!(failures.is_empty(), "the Konflux checker reports violations:\n{}", failures.join("\n"));
}
