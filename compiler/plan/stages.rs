//! Stages: the variants' layer sequences factored into a trie, so variants
//! share every layer they have in common (same parent, same content) and
//! each variant ends in a stage named after it. A stage boundary falls where
//! the set of variants changes, where paths branch, and right after the
//! kernel layer when a kmod is built on it (its builder starts there).

use std::collections::BTreeSet;

use super::layer::{BUILDER, Layer};
use super::{ImagePlan, Instruction, InstructionKind, Stage, StageRole, Target, containerfile_string};
use crate::model::{self, Variant};

struct Node {
    layer: Layer,
    children: Vec<usize>,
    variants: BTreeSet<usize>,
    parent: Option<usize>,
}

/// The `FROM` of a variant's first stage. An image of the project is
/// referred to by tag until `aid.lock` gives its digest, then by tag and
/// digest (which Konflux's nudges keep up to date; docs/konflux.md).
fn base_reference(variant: &Variant, options: &super::Options) -> String {
    if let model::From::Project { reference, .. } = &variant.from
        && let Some(digest) = options.pins.get(super::repository(reference))
    {
        return format!("{reference}@{digest}");
    }
    match &variant.from {
        model::From::Base { component, .. } => variant.components[*component]
            .properties
            .get("image")
            .and_then(|p| p.as_str())
            .unwrap_or("scratch")
            .to_string(),
        model::From::Project { reference, .. } | model::From::Reference { reference, .. } => reference.clone(),
    }
}

pub fn stages(image: &model::Image, sequences: &[(&Variant, Vec<Layer>)], options: &super::Options) -> ImagePlan {
    // Build the trie; a root per distinct base reference.
    let mut nodes: Vec<Node> = Vec::new();
    let mut roots: Vec<(String, Vec<usize>)> = Vec::new();
    let mut paths: Vec<Vec<usize>> = Vec::new();
    for (v, (variant, layers)) in sequences.iter().enumerate() {
        let base = base_reference(variant, options);
        let root = match roots.iter().position(|(b, _)| *b == base) {
            Some(r) => r,
            None => {
                roots.push((base, Vec::new()));
                roots.len() - 1
            }
        };
        let mut parent: Option<usize> = None;
        let mut path = Vec::new();
        for layer in layers {
            let siblings: &Vec<usize> = match parent {
                Some(p) => &nodes[p].children,
                None => &roots[root].1,
            };
            let found = siblings.iter().copied().find(|&n| nodes[n].layer.key == layer.key);
            let n = match found {
                Some(n) => n,
                None => {
                    nodes.push(Node { layer: layer.clone(), children: Vec::new(), variants: BTreeSet::new(), parent });
                    let n = nodes.len() - 1;
                    match parent {
                        Some(p) => nodes[p].children.push(n),
                        None => roots[root].1.push(n),
                    }
                    n
                }
            };
            nodes[n].variants.insert(v);
            path.push(n);
            parent = Some(n);
        }
        paths.push(path);
    }

    // A kernel node needs a stage boundary after it when a kmod below it has a builder.
    let forced: Vec<bool> = (0..nodes.len())
        .map(|n| {
            nodes[n].layer.is_kernel
                && paths.iter().any(|p| p.contains(&n) && p.iter().any(|m| nodes[*m].layer.builder.is_some()))
        })
        .collect();
    // Stage starts.
    let starts_stage = |n: usize| match nodes[n].parent {
        None => true,
        Some(p) => nodes[p].children.len() > 1 || nodes[p].variants != nodes[n].variants || forced[p],
    };

    // Name and fill the stages, walking each variant's path.
    let mut stages: Vec<Stage> = Vec::new();
    let mut stage_of: Vec<Option<usize>> = vec![None; nodes.len()];
    let variant_names: Vec<&str> = sequences.iter().map(|(v, _)| v.name.as_str()).collect();
    let mut taken: BTreeSet<String> = variant_names.iter().map(|s| s.to_string()).collect();
    let unique = |wanted: String, taken: &mut BTreeSet<String>| {
        let mut name = wanted.clone();
        let mut i = 2;
        while taken.contains(&name) {
            name = format!("{wanted}-{i}");
            i += 1;
        }
        taken.insert(name.clone());
        name
    };
    let mut targets = Vec::new();
    for (v, (variant, _)) in sequences.iter().enumerate() {
        let path = &paths[v];
        let mut current_from = base_reference(variant, options);
        let mut current: Option<usize> = None;
        for (i, &n) in path.iter().enumerate() {
            if let Some(s) = stage_of[n] {
                current = Some(s);
                current_from = stages[s].name.clone();
                continue;
            }
            if starts_stage(n) || current.is_none() {
                // A segment used only by this variant and running to its end is its final stage.
                let rest_own = path[i..].iter().all(|m| nodes[*m].variants.len() == 1 && !forced[*m])
                    && nodes[n].variants.len() == 1;
                let (name, role) = if rest_own {
                    (variant.name.clone(), StageRole::Final)
                } else {
                    let last = segment_end(&nodes, &forced, n);
                    // Named after its last layer; the image's own body is its common part.
                    let component = &nodes[last].layer.component;
                    let what = if *component == image.name {
                        "common".to_string()
                    } else {
                        super::support::stage_slug(component)
                    };
                    (unique(format!("{}-{what}", image.name), &mut taken), StageRole::Shared)
                };
                let variants_here: Vec<&str> = nodes[n].variants.iter().map(|x| variant_names[*x]).collect();
                let about = match role {
                    StageRole::Shared => vec![format!("Shared by {}.", variants_here.join(", "))],
                    _ => vec![format!("Target `{}`.", variant.name)],
                };
                stages.push(Stage {
                    name,
                    from: current_from.clone(),
                    role,
                    about,
                    instructions: Vec::new(),
                    layers: Vec::new(),
                });
                current = Some(stages.len() - 1);
            }
            let s = current.expect("a stage is open");
            // A kmod's builder stage comes before the stage that uses it.
            let mut instructions = nodes[n].layer.instructions.clone();
            if let Some(b) = &nodes[n].layer.builder {
                let kernel_stage = path[..i]
                    .iter()
                    .rev()
                    .find(|m| nodes[**m].layer.is_kernel)
                    .and_then(|m| stage_of[*m])
                    .map(|k| stages[k].name.clone())
                    .unwrap_or_else(|| base_reference(variant, options));
                let existing = stages.iter().position(|st| {
                    st.role == StageRole::Builder && st.from == kernel_stage && st.about.last() == Some(&b.key)
                });
                let builder_name = match existing {
                    Some(e) => stages[e].name.clone(),
                    None => {
                        let name = unique(
                            format!("{}-kmod-{}", image.name, super::support::stage_slug(&b.module)),
                            &mut taken,
                        );
                        let builder = Stage {
                            name: name.clone(),
                            from: kernel_stage,
                            role: StageRole::Builder,
                            about: vec![
                                format!("Builds the `{}` kernel module; only its /out is used.", b.module),
                                b.key.clone(),
                            ],
                            instructions: b.instructions.clone(),
                            layers: vec![b.key.clone()],
                        };
                        stages.insert(s, builder);
                        // Indexes at or after `s` moved by one.
                        for st in stage_of.iter_mut().flatten() {
                            if *st >= s {
                                *st += 1;
                            }
                        }
                        current = Some(s + 1);
                        name
                    }
                };
                for ins in &mut instructions {
                    replace_builder(ins, &builder_name);
                }
            }
            let s = current.expect("a stage is open");
            stages[s].instructions.extend(instructions);
            stages[s].layers.push(nodes[n].layer.key.clone());
            stage_of[n] = Some(s);
            current_from = stages[s].name.clone();
        }
        // The final stage: the last stage when it is this variant's own, else a new one.
        let own_final = current.is_some_and(|s| stages[s].role == StageRole::Final && stages[s].name == variant.name);
        let final_index = if own_final {
            current.expect("checked")
        } else {
            stages.push(Stage {
                name: variant.name.clone(),
                from: current_from.clone(),
                role: StageRole::Final,
                about: vec![format!("Target `{}`.", variant.name)],
                instructions: Vec::new(),
                layers: Vec::new(),
            });
            stages.len() - 1
        };
        let (labels, digest) = final_labels(image, variant, &sequences[v].1, &current_from);
        stages[final_index].instructions.extend(labels);
        if variant.signing.is_some() && variant.kmods().next().is_some() {
            // Whether this image's kernel modules are signed (pull-request builds are not).
            stages[final_index].instructions.push(super::layer::signing_arg());
            stages[final_index].instructions.push(Instruction {
                comment: None,
                kind: InstructionKind::Label {
                    key: containerfile_string(crate::konflux::SIGNING_LABEL),
                    value: format!("\"${{{}}}\"", crate::konflux::SIGNING_ARG),
                },
            });
        }
        stages[final_index].instructions.push(Instruction {
            comment: Some("bootc's own checks of the image; the last step".to_string()),
            kind: InstructionKind::Run {
                mounts: Vec::new(),
                inputs: Vec::new(),
                commands: vec!["bootc container lint".to_string()],
            },
        });
        let mut secrets: Vec<String> = sequences[v].1.iter().flat_map(|l| l.secrets.iter().cloned()).collect();
        secrets.sort();
        secrets.dedup();
        targets.push(Target { variant: variant.name.clone(), inputs: digest, secrets });
    }
    // Builder stages keep their key out of the rendered comment.
    for st in &mut stages {
        if st.role == StageRole::Builder {
            st.about.truncate(1);
        }
    }
    ImagePlan { name: image.name.clone(), containerfile: format!("{}/Containerfile", image.name), stages, targets }
}

/// The last node of the segment starting at `n` (same variants, no branch, no forced boundary).
fn segment_end(nodes: &[Node], forced: &[bool], n: usize) -> usize {
    let mut cur = n;
    while nodes[cur].children.len() == 1 && !forced[cur] {
        let c = nodes[cur].children[0];
        if nodes[c].variants != nodes[cur].variants {
            break;
        }
        cur = c;
    }
    cur
}

fn replace_builder(ins: &mut Instruction, name: &str) {
    if let InstructionKind::Run { mounts, inputs, .. } = &mut ins.kind {
        for m in mounts {
            *m = m.replace(BUILDER, name);
        }
        for (what, _) in inputs {
            *what = what.replace(BUILDER, name);
        }
    }
}

/// The final stage's labels and the digest of the variant's own inputs.
fn final_labels(image: &model::Image, variant: &Variant, layers: &[Layer], base: &str) -> (Vec<Instruction>, String) {
    let mut parts: Vec<Vec<u8>> = vec![base.as_bytes().to_vec()];
    parts.extend(layers.iter().map(|l| l.key.as_bytes().to_vec()));
    let mut user: Vec<(String, String)> = layers.iter().flat_map(|l| l.labels.iter().cloned()).collect();
    for (k, v) in &user {
        parts.push(format!("{k}={v}").into_bytes());
    }
    let digest = crate::hash::digest_parts(parts.iter().map(Vec::as_slice));
    let target = if variant.implicit { image.name.clone() } else { format!("{}-{}", image.name, variant.name) };
    let mut labels = vec![("containers.bootc".to_string(), "1".to_string())];
    if !user.iter().any(|(k, _)| k == "org.opencontainers.image.title") {
        labels.push(("org.opencontainers.image.title".to_string(), target.clone()));
    }
    if let Some(doc) = image.docs.first()
        && !user.iter().any(|(k, _)| k == "org.opencontainers.image.description")
    {
        labels.push(("org.opencontainers.image.description".to_string(), doc.clone()));
    }
    labels.append(&mut user);
    labels.push(("dev.aidc.variant".to_string(), target));
    labels.push(("dev.aidc.inputs".to_string(), digest.clone()));
    let instructions = labels
        .into_iter()
        .map(|(k, v)| Instruction {
            comment: None,
            kind: InstructionKind::Label { key: containerfile_string(&k), value: containerfile_string(&v) },
        })
        .collect();
    (instructions, digest)
}
