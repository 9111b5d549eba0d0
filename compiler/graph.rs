//! `aidc graph`: the components of each variant, what orders them and the
//! stages they land in, as text for people or DOT for graphviz. No IO: it
//! reads the checked model and the plan.
//!
//! The planner (`plan/order.rs`) puts a component after everything it depends
//! on — an `after` or a `use`, the provider of a fact it reads, the kernel for
//! a kmod — and among the components free to go next takes the one that
//! changes least often, so that a change rebuilds as few layers as possible.
//! The graph shows exactly those reasons.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use crate::model::{Changes, Component, ComponentKind, Model, Variant};
use crate::plan::{Plan, StageRole};

/// One reason a component comes after another.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    /// `after X` or `use X`.
    After,
    /// It reads `target.NAME`, which the other provides.
    Fact(String),
    /// A kmod is built against the kernel.
    Kernel,
}

impl Reason {
    fn label(&self) -> String {
        match self {
            Reason::After => "after".into(),
            Reason::Fact(f) => format!("target.{f}"),
            Reason::Kernel => "kernel".into(),
        }
    }

    fn words(&self) -> String {
        match self {
            Reason::After => "`after` or `use`".into(),
            Reason::Fact(f) => format!("reads `target.{f}`, which it provides"),
            Reason::Kernel => "a kernel module builds against the kernel".into(),
        }
    }
}

/// Why `component` must come after `before`.
fn reasons(variant: &Variant, component: &Component, index: usize) -> BTreeMap<usize, BTreeSet<Reason>> {
    let mut out: BTreeMap<usize, BTreeSet<Reason>> = BTreeMap::new();
    for &a in &component.after {
        out.entry(a).or_default().insert(Reason::After);
    }
    for fact in &component.reads {
        if let Some(p) = variant.facts.get(fact).and_then(|f| f.provider) {
            out.entry(p).or_default().insert(Reason::Fact(fact.clone()));
        }
    }
    if component.kind == ComponentKind::Kmod
        && let Some(k) = variant.components.iter().position(|c| c.kind == ComponentKind::Kernel)
    {
        out.entry(k).or_default().insert(Reason::Kernel);
    }
    out.remove(&index);
    out
}

fn kind(kind: ComponentKind) -> &'static str {
    match kind {
        ComponentKind::Base => "base",
        ComponentKind::Kernel => "kernel",
        ComponentKind::Kmod => "kmod",
        ComponentKind::Layer => "layer",
        ComponentKind::Body => "body",
    }
}

fn changes(changes: Changes) -> &'static str {
    match changes {
        Changes::Rarely => "rarely",
        Changes::Monthly => "monthly",
        Changes::Weekly => "weekly",
        Changes::Often => "often",
    }
}

/// The stages a variant is built through, from its final stage back to the
/// base (builder stages aside), as indexes into the image plan's stages.
fn chain(stages: &[crate::plan::Stage], variant: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut name = variant.to_string();
    while let Some(i) = stages.iter().position(|s| s.name == name && s.role != StageRole::Builder) {
        if out.contains(&i) {
            break;
        }
        out.push(i);
        name = stages[i].from.clone();
    }
    out
}

/// The text form: for each image its stages with the components in them,
/// then each variant's build order with the reasons.
pub fn text(model: &Model, plan: &Plan, owners: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    for (image, image_plan) in model.images.iter().zip(&plan.images) {
        let _ = writeln!(out, "image {}", image.name);
        let _ = writeln!(out, "  stages ({}):", image_plan.containerfile);
        for stage in &image_plan.stages {
            let role = match stage.role {
                StageRole::Shared => "shared",
                StageRole::Builder => "builder",
                StageRole::Final => "target",
            };
            let about = stage.about.first().map(String::as_str).unwrap_or("");
            let _ = writeln!(out, "    {} [{role}] from {}: {about}", stage.name, stage.from);
            let components = stage_components(stage, owners);
            if !components.is_empty() {
                let _ = writeln!(out, "      {}", components.join(", "));
            }
        }
        for variant in &image.variants {
            let Some(order) = crate::plan::build_order(variant) else { continue };
            let _ = writeln!(
                out,
                "  variant {}: build order (least often changed first, each after what it needs)",
                variant.name
            );
            let width = order.iter().map(|&i| variant.components[i].name.len()).max().unwrap_or(0);
            for (n, &i) in order.iter().enumerate() {
                let c = &variant.components[i];
                let _ = writeln!(
                    out,
                    "    {:>2}. {:width$}  {:6}  changes {}",
                    n + 1,
                    c.name,
                    kind(c.kind),
                    changes(c.changes)
                );
                for (before, why) in reasons(variant, c, i) {
                    let words: Vec<String> = why.iter().map(Reason::words).collect();
                    let _ = writeln!(out, "          after {}: {}", variant.components[before].name, words.join("; "));
                }
                let computed: Vec<String> = c
                    .reads
                    .iter()
                    .filter(|f| variant.facts.get(*f).is_none_or(|fact| fact.provider.is_none()))
                    .map(|f| format!("target.{f}"))
                    .collect();
                if !computed.is_empty() {
                    let _ = writeln!(out, "          reads {} (computed by aidc)", computed.join(", "));
                }
            }
        }
    }
    out
}

/// The components whose layers a stage holds, in order, each once.
fn stage_components(stage: &crate::plan::Stage, owners: &BTreeMap<String, String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for key in &stage.layers {
        if let Some(owner) = owners.get(key)
            && !out.contains(owner)
        {
            out.push(owner.clone());
        }
    }
    out
}

/// A DOT string: quoted, with `"` and `\` escaped and line breaks as `\n`.
fn dot_string(s: &str) -> String {
    let mut out = String::from("\"");
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The DOT form: a cluster per stage holding its components' nodes, an edge
/// per dependency labelled with its reason, and from each kmod builder stage
/// an edge to the kmod that installs its output.
pub fn dot(model: &Model, plan: &Plan, owners: &BTreeMap<String, String>) -> String {
    let mut out = String::from("digraph aidc {\n  rankdir=TB;\n  node [shape=box, fontname=\"monospace\"];\n");
    for (m, (image, image_plan)) in model.images.iter().zip(&plan.images).enumerate() {
        // Nodes: (stage, component) -> id; components outside any stage (a
        // base that adds no layer) get a node of their own.
        let mut nodes: BTreeMap<(Option<usize>, String), String> = BTreeMap::new();
        let mut edges: BTreeSet<(String, String, String)> = BTreeSet::new();
        let node_id = |nodes: &mut BTreeMap<(Option<usize>, String), String>, stage: Option<usize>, name: &str| {
            let n = nodes.len();
            nodes.entry((stage, name.to_string())).or_insert_with(|| format!("i{m}n{n}")).clone()
        };
        for variant in &image.variants {
            let stages = chain(&image_plan.stages, &variant.name);
            let stage_of = |name: &str| {
                stages
                    .iter()
                    .copied()
                    .find(|&s| stage_components(&image_plan.stages[s], owners).iter().any(|c| c == name))
            };
            for (i, c) in variant.components.iter().enumerate() {
                let to = node_id(&mut nodes, stage_of(&c.name), &c.name);
                for (before, why) in reasons(variant, c, i) {
                    let name = &variant.components[before].name;
                    let from = node_id(&mut nodes, stage_of(name), name);
                    let labels: Vec<String> = why.iter().map(Reason::label).collect();
                    edges.insert((from, to.clone(), labels.join(", ")));
                }
            }
        }
        // Builder stages: their kmod, built there, installs into the target.
        for (s, stage) in image_plan.stages.iter().enumerate() {
            if stage.role != StageRole::Builder {
                continue;
            }
            for owner in stage_components(stage, owners) {
                let from = node_id(&mut nodes, Some(s), &owner);
                let targets: Vec<String> = nodes
                    .iter()
                    .filter(|((st, n), _)| *n == owner && *st != Some(s))
                    .map(|(_, id)| id.clone())
                    .collect();
                for to in targets {
                    edges.insert((from.clone(), to, "/out".into()));
                }
            }
        }
        let describe = |name: &str| {
            image
                .variants
                .iter()
                .flat_map(|v| v.components.iter())
                .find(|c| c.name == name)
                .map(|c| format!("{}\n{}, changes {}", c.name, kind(c.kind), changes(c.changes)))
                .unwrap_or_else(|| name.to_string())
        };
        let _ = writeln!(out, "  subgraph {} {{", dot_string(&format!("cluster_image_{m}")));
        let _ = writeln!(out, "    label={};", dot_string(&format!("image {}", image.name)));
        for (s, stage) in image_plan.stages.iter().enumerate() {
            let _ = writeln!(out, "    subgraph {} {{", dot_string(&format!("cluster_{m}_{s}")));
            let role = match stage.role {
                StageRole::Shared => "shared",
                StageRole::Builder => "builder",
                StageRole::Final => "target",
            };
            let _ = writeln!(
                out,
                "      label={}; style=rounded;",
                dot_string(&format!("{} [{role}]\nfrom {}", stage.name, stage.from))
            );
            let mut empty = true;
            for ((st, name), id) in &nodes {
                if *st == Some(s) {
                    empty = false;
                    let _ = writeln!(out, "      {id} [label={}];", dot_string(&describe(name)));
                }
            }
            if empty {
                // graphviz drops empty clusters; every stage is shown.
                let _ = writeln!(out, "      i{m}s{s} [label=\"(no layers of its own)\", shape=plaintext];");
            }
            let _ = writeln!(out, "    }}");
        }
        for ((st, name), id) in &nodes {
            if st.is_none() {
                let _ = writeln!(out, "    {id} [label={}, style=dashed];", dot_string(&describe(name)));
            }
        }
        let _ = writeln!(out, "  }}");
        for (from, to, label) in &edges {
            let _ = writeln!(out, "  {from} -> {to} [label={}];", dot_string(label));
        }
    }
    out.push_str("}\n");
    out
}
