//! The order of a variant's components: a dependency graph (petgraph) with
//! an edge from each fact's provider to its readers, from a used layer to its
//! user, from `after`, and from the kernel to every kmod; then a topological
//! order that, among the components free to go next, takes the one that
//! changes least often (then the lower kind: base < kernel < kmod < layer <
//! body; then the order written).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use petgraph::graph::{DiGraph, NodeIndex};

use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::model::{ComponentKind, Variant};

fn kind_rank(kind: ComponentKind) -> u8 {
    match kind {
        ComponentKind::Base => 0,
        ComponentKind::Kernel => 1,
        ComponentKind::Kmod => 2,
        ComponentKind::Layer => 3,
        ComponentKind::Body => 4,
    }
}

/// The dependency graph of a variant: nodes are component indexes.
pub fn graph(variant: &Variant) -> DiGraph<usize, ()> {
    let mut g = DiGraph::new();
    let nodes: Vec<NodeIndex> = (0..variant.components.len()).map(|i| g.add_node(i)).collect();
    let edge = |from: usize, to: usize, g: &mut DiGraph<usize, ()>| {
        if from != to && g.find_edge(nodes[from], nodes[to]).is_none() {
            g.add_edge(nodes[from], nodes[to], ());
        }
    };
    let kernel = variant.components.iter().position(|c| c.kind == ComponentKind::Kernel);
    for (i, c) in variant.components.iter().enumerate() {
        for a in &c.after {
            edge(*a, i, &mut g);
        }
        for fact in &c.reads {
            if let Some(p) = variant.facts.get(fact).and_then(|f| f.provider) {
                edge(p, i, &mut g);
            }
        }
        if c.kind == ComponentKind::Kmod
            && let Some(k) = kernel
        {
            edge(k, i, &mut g);
        }
    }
    g
}

/// The components in build order, or `None` after reporting a cycle.
pub fn order(variant: &Variant, diagnostics: &mut Diagnostics) -> Option<Vec<usize>> {
    let g = graph(variant);
    // Cycles: every strongly connected component with more than one node.
    let mut cyclic = false;
    for scc in petgraph::algo::tarjan_scc(&g) {
        if scc.len() < 2 {
            continue;
        }
        cyclic = true;
        let mut members: Vec<usize> = scc.iter().map(|n| g[*n]).collect();
        members.sort();
        // Walk the cycle from its first member to print the chain in order.
        let mut chain = vec![members[0]];
        let mut current = members[0];
        loop {
            let next = g
                .neighbors(NodeIndex::new(current))
                .map(|n| g[n])
                .filter(|n| members.contains(n))
                .min()
                .unwrap_or(members[0]);
            if chain.contains(&next) {
                chain.push(next);
                break;
            }
            chain.push(next);
            current = next;
        }
        let names: Vec<&str> = chain.iter().map(|i| variant.components[*i].name.as_str()).collect();
        let mut d = Diagnostic::error(Code::DependencyCycle, format!("dependency cycle: {}", names.join(" -> ")));
        for (n, i) in chain.iter().take(chain.len() - 1).enumerate() {
            let c = &variant.components[*i];
            let next = &variant.components[chain[n + 1]];
            // The culprit is the `after` clause when there is one, else
            // where the component was brought in (`use`, a fact it reads).
            match next.after_clauses.iter().find(|(named, _)| *named == *i) {
                Some((_, clause)) => {
                    d = d.label(*clause, format!("this puts `{}` after `{}`", next.name, c.name));
                }
                None => d = d.label(c.span, format!("`{}` must come before `{}`", c.name, next.name)),
            }
        }
        diagnostics.push(
            d.help("break the cycle: remove an `after`, a `use`, or a `requires` that reads a fact of the other"),
        );
    }
    if cyclic {
        return None;
    }
    let mut indegree: Vec<usize> =
        (0..g.node_count()).map(|i| g.neighbors_directed(NodeIndex::new(i), petgraph::Incoming).count()).collect();
    let key = |i: usize| {
        let c = &variant.components[i];
        Reverse((c.changes, kind_rank(c.kind), i))
    };
    let mut ready: BinaryHeap<Reverse<(crate::model::Changes, u8, usize)>> = BinaryHeap::new();
    for (i, d) in indegree.iter().enumerate() {
        if *d == 0 {
            ready.push(key(i));
        }
    }
    let mut out = Vec::with_capacity(indegree.len());
    while let Some(Reverse((_, _, i))) = ready.pop() {
        out.push(i);
        for n in g.neighbors(NodeIndex::new(i)) {
            let j = g[n];
            indegree[j] -= 1;
            if indegree[j] == 0 {
                ready.push(key(j));
            }
        }
    }
    Some(out)
}
