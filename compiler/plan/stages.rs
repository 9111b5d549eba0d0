//! Stages: the variants' layer sequences factored into a trie, so variants
//! share every layer they have in common (same parent, same content) and
//! each variant ends in a stage named after it. A stage boundary falls where
//! the set of variants changes, where paths branch, and right after the
//! kernel layer when a builder stage reads it (a kmod's, the kernel
//! signer's: they start from a plain Fedora image and bind-mount the kernel
//! stage's `/usr/lib/modules`).

use std::collections::BTreeSet;
use std::rc::Rc;

use super::layer::{BUILDER, KERNEL_STAGE, Layer};
use super::{ImagePlan, Instruction, InstructionKind, SecretMount, Stage, StageRole, Target, containerfile_string};
use crate::model::{self, Variant};

/// A node of the trie: a layer of the first variant that has it (the
/// others' equal layers are not copied).
struct Node<'l> {
    layer: &'l Layer,
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

/// The stages and targets of one image, from each variant's layer sequence.
pub fn stages(image: &model::Image, sequences: &[(&Variant, Vec<Rc<Layer>>)], options: &super::Options) -> ImagePlan {
    let (nodes, paths) = trie(sequences, options);
    let forced = forced_boundaries(&nodes, &paths);
    let variant_names: Vec<&str> = sequences.iter().map(|(v, _)| v.name.as_str()).collect();
    let mut walk = Walk {
        image,
        options,
        nodes: &nodes,
        forced: &forced,
        variant_names: &variant_names,
        stages: Vec::new(),
        stage_of: vec![None; nodes.len()],
        taken: variant_names.iter().map(|s| s.to_string()).collect(),
    };
    let mut targets = Vec::new();
    for (v, (variant, layers)) in sequences.iter().enumerate() {
        targets.push(walk.variant(variant, layers, &paths[v]));
    }
    let mut stages = walk.stages;
    // Builder stages keep their key out of the rendered comment.
    for st in &mut stages {
        if st.role == StageRole::Builder {
            st.about.truncate(1);
        }
    }
    ImagePlan { name: image.name.clone(), containerfile: format!("{}/Containerfile", image.name), stages, targets }
}

/// The trie of the variants' layer sequences, a root per distinct base
/// reference, and each variant's path through it.
fn trie<'l>(sequences: &'l [(&Variant, Vec<Rc<Layer>>)], options: &super::Options) -> (Vec<Node<'l>>, Vec<Vec<usize>>) {
    let mut nodes: Vec<Node<'l>> = Vec::new();
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
                    nodes.push(Node { layer, children: Vec::new(), variants: BTreeSet::new(), parent });
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
    (nodes, paths)
}

/// A kernel node needs a stage boundary after it when a layer below it has a builder.
fn forced_boundaries(nodes: &[Node<'_>], paths: &[Vec<usize>]) -> Vec<bool> {
    (0..nodes.len())
        .map(|n| {
            nodes[n].layer.is_kernel
                && paths.iter().any(|p| p.contains(&n) && p.iter().any(|m| nodes[*m].layer.builder.is_some()))
        })
        .collect()
}

/// Naming and filling the stages, walking each variant's path in turn.
struct Walk<'a> {
    image: &'a model::Image,
    options: &'a super::Options,
    nodes: &'a [Node<'a>],
    forced: &'a [bool],
    variant_names: &'a [&'a str],
    stages: Vec<Stage>,
    /// The stage each node's layer went into, once placed.
    stage_of: Vec<Option<usize>>,
    /// Stage names in use.
    taken: BTreeSet<String>,
}

impl Walk<'_> {
    /// `wanted`, or `wanted-2`, `wanted-3`... when taken.
    fn unique(&mut self, wanted: String) -> String {
        let mut name = wanted.clone();
        let mut i = 2;
        while self.taken.contains(&name) {
            name = format!("{wanted}-{i}");
            i += 1;
        }
        self.taken.insert(name.clone());
        name
    }

    /// Whether node `n` starts a stage: a root, a branch, a change in the
    /// set of variants, or a forced boundary before it.
    fn starts_stage(&self, n: usize) -> bool {
        match self.nodes[n].parent {
            None => true,
            Some(p) => {
                self.nodes[p].children.len() > 1 || self.nodes[p].variants != self.nodes[n].variants || self.forced[p]
            }
        }
    }

    /// Places variant `v`'s layers (`path` in the trie), then its final
    /// stage; returns its target.
    fn variant(&mut self, variant: &Variant, layers: &[Rc<Layer>], path: &[usize]) -> Target {
        let base = base_reference(variant, self.options);
        // What the next stage is built from: the base, or the stage of the
        // layer before (named when needed, not copied for every layer).
        let mut from_stage: Option<usize> = None;
        let mut current: Option<usize> = None;
        for (i, &n) in path.iter().enumerate() {
            if let Some(s) = self.stage_of[n] {
                current = Some(s);
                from_stage = Some(s);
                continue;
            }
            if self.starts_stage(n) || current.is_none() {
                let from = from_stage.map_or_else(|| base.clone(), |s| self.stages[s].name.clone());
                current = Some(self.open_stage(variant, &path[i..], &from));
            }
            let s = current.expect("a stage is open");
            // A kmod's builder stage comes before the stage that uses it,
            // and the layer names it: its own copy. Other layers' are shared.
            let layer = self.nodes[n].layer;
            let mut named = None;
            if let Some(b) = &layer.builder {
                let (builder_name, inserted) = self.builder_stage(variant, b, &path[..i], s);
                if inserted {
                    current = Some(s + 1);
                }
                let mut instructions = layer.instructions.to_vec();
                for ins in &mut instructions {
                    replace_placeholder(ins, BUILDER, &builder_name);
                }
                named = Some(instructions);
            }
            let s = current.expect("a stage is open");
            // A step that branches on the architecture reads `TARGETARCH`,
            // which a stage sees once it declares it.
            // Only such a step looks: scanning the stage for every layer was
            // quadratic in the layers of one stage (tests/hostile/scaled.json).
            if self.nodes[n].layer.per_arch {
                let arg = super::arch::targetarch_arg();
                if !self.stages[s].instructions.contains(&arg) {
                    self.stages[s].instructions.push(arg);
                }
            }
            match named {
                Some(instructions) => self.stages[s].instructions.extend(instructions),
                None => self.stages[s].instructions.push_shared(std::sync::Arc::clone(&layer.instructions)),
            }
            self.stages[s].layers.push(layer.key.clone());
            self.stage_of[n] = Some(s);
            from_stage = Some(s);
        }
        let current_from = from_stage.map_or(base, |s| self.stages[s].name.clone());
        let final_index = self.final_stage(variant, current, &current_from);
        let (labels, digest) = final_labels(self.image, variant, layers, &current_from);
        self.stages[final_index].instructions.extend(labels);
        if layers.iter().any(|l| !l.secrets.is_empty()) {
            // Whether this image's kernel and modules are signed (pull-request
            // builds are not): a variant whose builders sign something.
            self.stages[final_index].instructions.push(super::layer::signing_arg());
            self.stages[final_index].instructions.push(Instruction {
                comment: None,
                kind: InstructionKind::Label {
                    key: containerfile_string(super::SIGNING_LABEL),
                    value: format!("\"${{{}}}\"", super::SIGNING_ARG),
                },
            });
        }
        self.stages[final_index].instructions.push(Instruction {
            comment: Some("bootc's own checks of the image; the last step".to_string()),
            kind: InstructionKind::Run {
                mounts: Vec::new(),
                inputs: Vec::new(),
                commands: vec!["bootc container lint".to_string()],
            },
        });
        let mut secrets: Vec<SecretMount> = layers.iter().flat_map(|l| l.secrets.iter().cloned()).collect();
        secrets.sort();
        secrets.dedup();
        Target { variant: variant.name.clone(), inputs: digest, secrets }
    }

    /// Opens the stage that starts at `rest[0]`: the variant's final stage
    /// when the rest of its path is its own, else a shared stage named after
    /// the segment's last layer. Returns its index.
    fn open_stage(&mut self, variant: &Variant, rest: &[usize], from: &str) -> usize {
        let n = rest[0];
        let nodes = self.nodes;
        // A segment used only by this variant and running to its end is its final stage.
        let rest_own =
            rest.iter().all(|m| nodes[*m].variants.len() == 1 && !self.forced[*m]) && nodes[n].variants.len() == 1;
        let (name, role) = if rest_own {
            (variant.name.clone(), StageRole::Final)
        } else {
            let last = segment_end(nodes, self.forced, n);
            // Named after its last layer; the image's own body is its common part.
            let component = &nodes[last].layer.component;
            let what = if *component == self.image.name {
                "common".to_string()
            } else {
                super::support::stage_slug(component)
            };
            (self.unique(format!("{}-{what}", self.image.name)), StageRole::Shared)
        };
        let variants_here: Vec<&str> = nodes[n].variants.iter().map(|x| self.variant_names[*x]).collect();
        let about = match role {
            StageRole::Shared => vec![format!("Shared by {}.", variants_here.join(", "))],
            _ => vec![format!("Target `{}`.", variant.name)],
        };
        self.stages.push(Stage {
            name,
            from: from.to_string(),
            role,
            about,
            instructions: Default::default(),
            layers: Vec::new(),
        });
        self.stages.len() - 1
    }

    /// The builder stage of builder `b` (a kmod's or the kernel signer's),
    /// reading the stage of the kernel layer before it on the path
    /// (`before`): an existing one with the same key and kernel stage, or a
    /// new one inserted at `s`, before the stage that uses it.
    /// Returns its name and whether it was inserted.
    fn builder_stage(
        &mut self,
        variant: &Variant,
        b: &super::layer::Builder,
        before: &[usize],
        s: usize,
    ) -> (String, bool) {
        let kernel_stage = before
            .iter()
            .rev()
            .find(|m| self.nodes[**m].layer.is_kernel)
            .and_then(|m| self.stage_of[*m])
            .map(|k| self.stages[k].name.clone())
            .unwrap_or_else(|| base_reference(variant, self.options));
        // Builders start from a plain image and read the kernel stage
        // through a bind mount; one per (content, kernel stage).
        let identity = format!("{}@{kernel_stage}", b.key);
        let existing =
            self.stages.iter().position(|st| st.role == StageRole::Builder && st.about.last() == Some(&identity));
        if let Some(e) = existing {
            return (self.stages[e].name.clone(), false);
        }
        let slug = super::support::stage_slug(&b.module);
        let (wanted, what) = match b.role {
            "sign" => (
                format!("{}-sign-{slug}", self.image.name),
                format!("Signs the `{}` for Secure Boot; only its /out is used.", b.module),
            ),
            _ => (
                format!("{}-kmod-{slug}", self.image.name),
                format!("Builds the `{}` kernel module; only its /out is used.", b.module),
            ),
        };
        let name = self.unique(wanted);
        let mut instructions = b.instructions.clone();
        for ins in &mut instructions {
            replace_placeholder(ins, KERNEL_STAGE, &kernel_stage);
        }
        let builder = Stage {
            name: name.clone(),
            from: b.from.clone(),
            role: StageRole::Builder,
            about: vec![what, identity],
            instructions: instructions.into(),
            layers: vec![b.key.clone()],
        };
        self.stages.insert(s, builder);
        // Indexes at or after `s` moved by one.
        for st in self.stage_of.iter_mut().flatten() {
            if *st >= s {
                *st += 1;
            }
        }
        (name, true)
    }

    /// The final stage: the last stage when it is this variant's own, else a
    /// new one. Returns its index.
    fn final_stage(&mut self, variant: &Variant, current: Option<usize>, from: &str) -> usize {
        let own_final =
            current.is_some_and(|s| self.stages[s].role == StageRole::Final && self.stages[s].name == variant.name);
        if own_final {
            return current.expect("checked");
        }
        self.stages.push(Stage {
            name: variant.name.clone(),
            from: from.to_string(),
            role: StageRole::Final,
            about: vec![format!("Target `{}`.", variant.name)],
            instructions: Default::default(),
            layers: Vec::new(),
        });
        self.stages.len() - 1
    }
}

/// The last node of the segment starting at `n` (same variants, no branch, no forced boundary).
fn segment_end(nodes: &[Node<'_>], forced: &[bool], n: usize) -> usize {
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

fn replace_placeholder(ins: &mut Instruction, placeholder: &str, name: &str) {
    if let InstructionKind::Run { mounts, inputs, .. } = &mut ins.kind {
        // Most hold none: `str::replace` would copy every one.
        for m in mounts.iter_mut().filter(|m| m.contains(placeholder)) {
            *m = m.replace(placeholder, name);
        }
        for (what, _) in inputs.iter_mut().filter(|(w, _)| w.contains(placeholder)) {
            *what = what.replace(placeholder, name);
        }
    }
}

/// The final stage's labels and the digest of the variant's own inputs.
fn final_labels(
    image: &model::Image,
    variant: &Variant,
    layers: &[Rc<Layer>],
    base: &str,
) -> (Vec<Instruction>, String) {
    let mut parts: Vec<Vec<u8>> = vec![base.as_bytes().to_vec()];
    parts.extend(layers.iter().map(|l| l.key.as_bytes().to_vec()));
    let mut user: Vec<(String, String)> = layers.iter().flat_map(|l| l.labels.iter().cloned()).collect();
    for (k, v) in &user {
        parts.push([k.as_bytes(), b"=", v.as_bytes()].concat());
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
