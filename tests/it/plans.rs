//! Properties of the plan that make routine changes cheap: what a change
//! rebuilds, and where the heavy layers go. Each test compares plans of the
//! flagship before and after an edit.

use aidc::plan::{InstructionKind, Plan, StageRole};

use crate::support::{plan_in_memory, root};

fn flagship() -> (String, Vec<(&'static str, Vec<u8>)>) {
    let dir = root().join("examples/ai-desktop");
    let recipe = std::fs::read_to_string(dir.join("image.aid")).expect("flagship");
    let files = vec![
        ("files/90-ai-desktop.conf", std::fs::read(dir.join("files/90-ai-desktop.conf")).expect("conf")),
        ("keys/ai-desktop.der", std::fs::read(dir.join("keys/ai-desktop.der")).expect("cert")),
    ];
    (recipe, files)
}

fn plan(recipe: &str, files: &[(&str, Vec<u8>)]) -> Plan {
    let borrowed: Vec<(&str, &[u8])> = files.iter().map(|(p, b)| (*p, b.as_slice())).collect();
    plan_in_memory("ai-desktop", recipe, &borrowed)
}

/// (stage, comment) -> instruction, for every instruction of the plan's image.
fn instructions(plan: &Plan) -> Vec<(String, String, aidc::plan::Instruction)> {
    let image = &plan.images[0];
    let mut out = Vec::new();
    for stage in &image.stages {
        for ins in &stage.instructions {
            out.push((stage.name.clone(), ins.comment.clone().unwrap_or_default(), ins.clone()));
        }
    }
    out
}

fn is_heavy(comment: &str) -> bool {
    ["kernel.", "nvidia.", "cuda.", "fedora.remix"].iter().any(|p| comment.contains(p))
}

#[test]
fn a_package_added_to_the_common_body_changes_no_kernel_kmod_or_cuda_step() {
    let (recipe, files) = flagship();
    let before = plan(&recipe, &files);
    let edited = recipe.replace("  use tools.ramalama()\n", "  use tools.ramalama()\n  packages [\"htop\"]\n");
    assert_ne!(edited, recipe);
    let after = plan(&edited, &files);
    let heavy_before: Vec<_> = instructions(&before).into_iter().filter(|(_, c, _)| is_heavy(c)).collect();
    let heavy_after: Vec<_> = instructions(&after).into_iter().filter(|(_, c, _)| is_heavy(c)).collect();
    assert!(heavy_before.len() >= 5, "expected kernel, kmod, toolkit and CUDA steps: {heavy_before:#?}");
    assert_eq!(heavy_before, heavy_after, "a change to the common body moved or changed a heavy step");
    // The builder and the shared stages are untouched as a whole.
    let shared = |p: &Plan| -> Vec<aidc::plan::Stage> {
        p.images[0].stages.iter().filter(|s| s.role != StageRole::Final).cloned().collect::<Vec<_>>()
    };
    let (a, b) = (shared(&before), shared(&after));
    assert_eq!(serde_json::to_string(&a).unwrap(), serde_json::to_string(&b).unwrap());
}

#[test]
fn an_edit_to_one_variant_leaves_the_other_variants_identical() {
    let (recipe, files) = flagship();
    let before = plan(&recipe, &files);
    let edited = recipe.replace(
        "    use cuda.toolkit(cuda-release)\n",
        "    use cuda.toolkit(cuda-release)\n    packages [\"nvtop\"]\n",
    );
    assert_ne!(edited, recipe);
    let after = plan(&edited, &files);
    let stage = |p: &Plan, name: &str| {
        serde_json::to_string(p.images[0].stages.iter().find(|s| s.name == name).expect("stage")).unwrap()
    };
    for untouched in ["clean", "cuda-runtime"] {
        assert_eq!(stage(&before, untouched), stage(&after, untouched), "{untouched} changed");
    }
    assert_ne!(stage(&before, "cuda-toolkit"), stage(&after, "cuda-toolkit"));
    let inputs =
        |p: &Plan, v: &str| p.images[0].targets.iter().find(|t| t.variant == v).expect("target").inputs.clone();
    assert_eq!(inputs(&before, "clean"), inputs(&after, "clean"));
    assert_eq!(inputs(&before, "cuda-runtime"), inputs(&after, "cuda-runtime"));
    assert_ne!(inputs(&before, "cuda-toolkit"), inputs(&after, "cuda-toolkit"));
}

/// The order of the components a target is built from, following its stages back to the base.
fn target_order(plan: &Plan, target: &str) -> Vec<String> {
    let stages = &plan.images[0].stages;
    let mut chain = Vec::new();
    let mut current = target.to_string();
    while let Some(stage) = stages.iter().find(|s| s.name == current) {
        chain.push(stage);
        current = stage.from.clone();
    }
    chain.reverse();
    chain
        .iter()
        .flat_map(|s| s.instructions.iter())
        .filter(|i| matches!(i.kind, InstructionKind::Run { .. }))
        .filter_map(|i| i.comment.clone())
        .collect()
}

#[test]
fn cuda_layers_come_before_tool_layers_and_the_kernel_first() {
    let (recipe, files) = flagship();
    let p = plan(&recipe, &files);
    for target in ["cuda-runtime", "cuda-toolkit"] {
        let order = target_order(&p, target);
        let pos = |prefix: &str| {
            order.iter().position(|c| c.starts_with(prefix)).unwrap_or_else(|| panic!("{prefix} missing in {order:?}"))
        };
        assert_eq!(pos("kernel.longterm"), 0, "{order:?}");
        assert!(pos("nvidia.open") < pos("cuda.runtime"), "{order:?}");
        for tool in ["tools.ramalama", "tools.goose-release", "tools.podman-desktop"] {
            assert!(pos("cuda.runtime") < pos(tool), "{target}: {order:?}");
            if target == "cuda-toolkit" {
                assert!(pos("cuda.toolkit") < pos(tool), "{order:?}");
            }
        }
    }
    // The clean target has nothing of NVIDIA or CUDA.
    let clean = target_order(&p, "clean");
    assert!(clean.iter().all(|c| !c.contains("nvidia") && !c.contains("cuda")), "{clean:?}");
}

#[test]
fn variants_share_the_kernel_and_the_cuda_stack() {
    let (recipe, files) = flagship();
    let p = plan(&recipe, &files);
    let stages = &p.images[0].stages;
    let kernel_stages: Vec<_> = stages
        .iter()
        .filter(|s| {
            s.instructions.iter().any(|i| i.comment.as_deref().is_some_and(|c| c.starts_with("kernel.longterm")))
        })
        .collect();
    assert_eq!(kernel_stages.len(), 1, "the kernel step is built once for all variants");
    let cuda_runtime_steps = stages
        .iter()
        .flat_map(|s| &s.instructions)
        .filter(|i| i.comment.as_deref() == Some("cuda.runtime(\"13.0\")"))
        .count();
    assert_eq!(cuda_runtime_steps, 1, "cuda-runtime and cuda-toolkit share the CUDA runtime step");
    let builders: Vec<&str> = stages.iter().filter(|s| s.role == StageRole::Builder).map(|s| s.name.as_str()).collect();
    assert_eq!(builders, ["ai-desktop-sign-kernel", "ai-desktop-kmod-nvidia"], "one kernel signer, one kmod builder");
    // Every final stage ends with bootc container lint.
    for t in &p.images[0].targets {
        let stage = stages.iter().find(|s| s.name == t.variant).expect("final stage");
        let last = stage.instructions.last().expect("instructions");
        assert!(
            matches!(&last.kind, InstructionKind::Run { commands, .. } if commands == &vec!["bootc container lint".to_string()])
        );
    }
}
