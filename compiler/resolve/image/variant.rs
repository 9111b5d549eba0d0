//! Assembly of one image variant: which components it holds (the image body,
//! the extended variants, every `use`d layer, kernel, kmods and repos), the
//! facts they provide, their metadata and steps, then the checks that need
//! the whole variant: constraints, kmod-needs-kernel, policy.

use crate::maps::HashMap;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use crate::maps::{IndexMap, IndexSet};

use super::eval::{Env, Eval, Evaluator, Reported};
use super::facts::{FactDef, Facts};
use super::memo::{Lookup, Part};
use super::rules::{self, BodyKind, PropType};
use super::site::Site;
use super::value::{ImageId, Instance, ModuleId, Value};
use crate::diag::{Code, Diagnostic};
use crate::model::{self, Changes, ComponentKind, License};
use crate::source::Span;
use crate::syntax::ast::{self, Block, DefKind, StmtKind};

/// A component while the variant is being assembled.
pub struct Draft<'p> {
    pub kind: ComponentKind,
    pub name: String,
    pub instance: Option<Rc<Instance>>,
    pub body: &'p Block,
    pub body_kind: BodyKind,
    pub module: ModuleId,
    pub params: Option<Rc<IndexMap<String, Value>>>,
    pub span: Span,
    pub def_span: Option<Span>,
    pub via: Vec<String>,
    /// Indexes of the components that brought this one in, outermost first.
    pub ancestors: Vec<usize>,
    pub docs: Arc<[String]>,
    pub repos: Vec<usize>,
    /// The components this one comes after (each once, in the order found).
    pub after: IndexSet<usize>,
    /// For bodies: skip `variant` statements (they are assembled separately).
    pub is_body: bool,
}

/// A repository while the variant is being assembled.
pub struct RepoDraft {
    pub instance: Rc<Instance>,
    pub span: Span,
}

/// The variant being assembled.
pub struct Assembly<'p> {
    pub image: ImageId,
    pub image_name: String,
    pub variant_name: String,
    pub components: Vec<Draft<'p>>,
    pub repos: Vec<RepoDraft>,
    pub from: Option<(model::From, Span)>,
    pub signing: Option<(&'p [ast::Entry], Span, ModuleId)>,
    pub policy: IndexMap<String, (model::Rule, Span)>,
    /// The depth (in the chain of bodies) of the body whose `kernel` counts.
    pub kernel_body: Option<usize>,
    /// The project image this one is built from, if any.
    pub from_image: Option<super::value::ImageRef>,
    /// Components by their instance's fingerprint, so that finding a use
    /// of the same definition with the same arguments is not a scan.
    pub by_instance: HashMap<u64, Vec<usize>>,
    /// Whether the component limit was reached (and reported).
    pub too_many: bool,
    /// "image `x`" or "variant `x.y`", for messages.
    pub label: String,
}

/// What a variant's chain of bodies is: the image body, then each extended
/// variant from the root down, then the variant itself.
pub struct Chain<'p> {
    pub name: String,
    pub implicit: bool,
    pub extends: Vec<String>,
    pub span: Span,
    pub bodies: Vec<(String, &'p Block)>,
}

impl<'p> Assembly<'p> {
    fn env<'f>(
        &self,
        index: usize,
        facts: Option<&'f Facts<'p>>,
        reads: Option<&'f RefCell<Vec<String>>>,
    ) -> Env<'f, 'p> {
        let c = &self.components[index];
        Env { module: c.module, params: c.params.clone(), facts, reads }
    }
}

/// Assembles and checks one variant, in five phases: structure (which
/// components), facts, metadata and licenses, content and constraints,
/// then the checks that need the whole variant.
pub fn assemble<'p>(ev: &mut Evaluator<'p>, image: ImageId, chain: &Chain<'p>) -> Option<model::Variant> {
    if ev.assembling.last() != Some(&image) {
        ev.assembling.push(image);
        let result = assemble(ev, image, chain);
        ev.assembling.pop();
        return result;
    }
    let errors_before = ev.diags.error_count();
    let mut asm = structure(ev, image, chain)?;
    let (facts, upstream_proprietary) = facts(ev, &asm, chain)?;
    let Licensed { metas, repos, licenses, proprietary } = licensed(ev, &asm, &facts, upstream_proprietary)?;
    facts.computed.borrow_mut().insert("proprietary".into(), (Value::Bool(proprietary), chain.span));
    // A missing kernel is reported once here, not again by every `requires`
    // that reads `target.kernel`.
    if kmod_needs_kernel(ev, &asm, &facts, &asm.label) {
        facts.suppress("kernel");
    }
    let components = content(ev, &asm, &facts, &metas, &licenses);

    // Phase 5: the checks that need the whole variant.
    let signing = super::content::signing(ev, &asm);
    if signing.is_none() && asm.signing.is_none() {
        warn_unsigned_kmods(ev, &asm);
    }
    // A variant that denies proprietary software gets the policy's error
    // (remove the component); advice to make it a remix would contradict it.
    let denied = matches!(asm.policy.get("proprietary"), Some((model::Rule::Deny, _)));
    super::policy::branding(ev, &facts, proprietary && !denied, chain.span, &asm.label);
    let policy = model::Policy {
        proprietary: asm.policy.get("proprietary").map_or(model::Rule::Allow, |(r, _)| *r),
        telemetry: asm.policy.get("telemetry").map_or(model::Rule::Allow, |(r, _)| *r),
        remote_ai: asm.policy.get("remote-ai").map_or(model::Rule::Allow, |(r, _)| *r),
    };
    let fedora_branded = super::policy::fedora_branded(ev, &facts).is_some();
    super::policy::check(ev, &asm, &components, &repos, &asm.label, fedora_branded);
    let fact_values = fact_values(ev, &facts);

    if ev.diags.error_count() > errors_before {
        return None;
    }
    let (from, _) = asm.from.take()?;
    Some(model::Variant {
        name: chain.name.clone(),
        implicit: chain.implicit,
        extends: chain.extends.clone(),
        span: chain.span,
        from,
        components,
        repos,
        facts: fact_values,
        signing,
        policy,
        proprietary,
        arch: ev.platform.0.to_string(),
        other_arches: Vec::new(),
    })
}

/// Phase 1, structure: the chain's bodies, then everything they bring in; `None`
/// when the image says no (valid) `from`.
fn structure<'p>(ev: &mut Evaluator<'p>, image: ImageId, chain: &Chain<'p>) -> Option<Assembly<'p>> {
    let info = &ev.program.images[image.0];
    let module = info.module;
    let image_name = info.image.name.name.clone();
    let label =
        if chain.implicit { format!("image `{image_name}`") } else { format!("variant `{image_name}.{}`", chain.name) };
    let mut asm = Assembly {
        image,
        image_name: image_name.clone(),
        variant_name: chain.name.clone(),
        components: Vec::new(),
        repos: Vec::new(),
        from: None,
        signing: None,
        policy: IndexMap::default(),
        kernel_body: chain
            .bodies
            .iter()
            .rposition(|(_, b)| b.stmts.iter().any(|s| matches!(s.kind, StmtKind::Kernel(_)))),
        from_image: None,
        by_instance: HashMap::default(),
        too_many: false,
        label,
    };
    for (depth, (name, block)) in chain.bodies.iter().enumerate() {
        let index = asm.components.len();
        asm.components.push(Draft {
            kind: ComponentKind::Body,
            name: name.clone(),
            instance: None,
            body: block,
            body_kind: if depth == 0 { BodyKind::Image } else { BodyKind::Variant },
            module,
            params: None,
            span: block.span,
            def_span: None,
            via: Vec::new(),
            ancestors: Vec::new(),
            docs: Arc::default(),
            repos: Vec::new(),
            after: IndexSet::default(),
            is_body: true,
        });
        walk(ev, &mut asm, index, depth);
    }
    if asm.from.is_some() {
        return Some(asm);
    }
    // A `from` that was there but wrong was reported already.
    if !info.image.body.stmts.iter().any(|s| matches!(s.kind, StmtKind::From(_))) {
        ev.error(
            Diagnostic::error(Code::MissingFrom, format!("image `{image_name}` does not say what it is built from"))
                .label(info.image.name.span, "no `from` in this image")
                .help(
                    "add `from fedora.bootc(44)` (with `import \"std/fedora\"`), another image, or an image reference",
                ),
        );
    }
    None
}

/// Phase 2, facts: who provides what (each fact once), the computed `image` and
/// `variant`, and what a project image built from another inherits from it
/// (its facts and whether it is non-free, the second value).
fn facts<'p>(ev: &mut Evaluator<'p>, asm: &Assembly<'p>, chain: &Chain<'p>) -> Option<(Facts<'p>, bool)> {
    let mut facts = Facts::new(asm.label.clone());
    facts.denies_proprietary = matches!(asm.policy.get("proprietary"), Some((model::Rule::Deny, _)));
    for (index, c) in asm.components.iter().enumerate() {
        for stmt in own_stmts(c) {
            if let StmtKind::Provides { name, value } = &stmt.kind {
                facts.defs.entry(name.name.clone()).or_default().push(FactDef {
                    component: index,
                    component_name: c.name.clone(),
                    expr: value,
                    module: c.module,
                    params: c.params.clone(),
                    span: stmt.span,
                    call: c.span,
                });
            }
        }
    }
    for (name, defs) in &facts.defs {
        if defs.len() > 1 {
            let d =
                Diagnostic::error(Code::DuplicateFact, format!("`target.{name}` is provided twice in {}", asm.label))
                    .label(defs[1].call, format!("`{}` provides it", defs[1].component_name))
                    .label(defs[0].call, format!("`{}` provides it too", defs[0].component_name))
                    .label(defs[1].span, "here")
                    .label(defs[0].span, "and here");
            ev.error(d.help("a fact has one provider per variant; remove one of the components"));
        }
    }
    {
        let info = &ev.program.images[asm.image.0];
        let mut computed = facts.computed.borrow_mut();
        computed
            .insert("image".into(), (Value::Str(asm.image_name.clone(), info.image.name.span), info.image.name.span));
        computed.insert("variant".into(), (Value::Str(chain.name.clone(), chain.span), chain.span));
        // The architecture is the build's, not the base's: each of the
        // pipeline's platforms resolves the variant again (resolve/mod.rs).
        computed.insert("arch".into(), (Value::Str(ev.platform.0.to_string(), chain.span), chain.span));
    }
    base_arch(ev, &facts);
    let Some(r) = asm.from_image.clone() else { return Some((facts, false)) };
    // An image built from another image of the project inherits its facts
    // (release, arch, kernel, driver, ...) and its non-free status.
    let up = upstream(ev, &r)?;
    {
        let mut computed = facts.computed.borrow_mut();
        for (name, fact) in &up.facts {
            if !facts.defs.contains_key(name) && !computed.contains_key(name) {
                computed.insert(name.clone(), (super::content::from_property(&fact.value, r.span), r.span));
            }
        }
    }
    Some((facts, up.proprietary))
}

/// A component that provides `arch` (a base built for one architecture
/// only) says which architecture it exists for: building it for another of
/// the pipeline's platforms is `aid::constraint::no_platform`. Reads of
/// `target.arch` see the architecture being built either way.
fn base_arch<'p>(ev: &mut Evaluator<'p>, facts: &Facts<'p>) {
    let Some(def) = facts.defs.get("arch").and_then(|d| d.first()) else { return };
    let env = Env { module: def.module, params: def.params.clone(), facts: Some(facts), reads: None };
    let Ok(Value::Str(arch, _)) = ev.eval(def.expr, &env) else { return };
    if arch == ev.platform.0 {
        return;
    }
    let (span, call, name) = (def.span, def.call, def.component_name.clone());
    let d = ev.as_component(&name, |ev| {
        ev.first_no_platform().then(|| ev.no_platform(&format!("it provides `arch = \"{}\"`", arch.escape_debug())))
    });
    if let Some(d) = d {
        let platform = ev.platform.1.clone();
        ev.error(
            d.label(call, format!("`{name}` is used here")).label(span, "the one architecture it is built for").help(
                format!("take `{platform}` out of the pipeline's `platforms`, or build from a base that exists for it"),
            ),
        );
    }
}

/// What phase 3 finds: each component's metadata and license, the
/// variant's repositories, and whether anything in it is non-free.
struct Licensed {
    metas: Vec<Meta>,
    repos: Vec<model::Repo>,
    licenses: Vec<License>,
    proprietary: bool,
}

/// Phase 3, metadata, so licenses are known before anything reads
/// `target.proprietary`; `None` when a repository is wrong (reported).
fn licensed<'p>(
    ev: &mut Evaluator<'p>,
    asm: &Assembly<'p>,
    facts: &Facts<'p>,
    upstream_proprietary: bool,
) -> Option<Licensed> {
    let mut metas = Vec::new();
    for index in 0..asm.components.len() {
        let (span, note) = usage(asm, index);
        let name = asm.components[index].name.clone();
        metas.push(
            ev.within(span, note, |ev| ev.as_component(&name, |ev| super::content::metadata(ev, asm, index, facts))),
        );
    }
    let repos: Vec<model::Repo> = (0..asm.repos.len())
        .filter_map(|i| {
            let name = ev.program.defs[asm.repos[i].instance.def.0].qualified.to_string();
            // Where the repository is used, for an error about its platform.
            let at = asm.repos[i].span;
            let outer = ev.component_use.replace(at);
            let repo = ev.as_component(&name, |ev| super::content::repo(ev, asm, i, facts));
            ev.component_use = outer;
            repo
        })
        .collect();
    if repos.len() != asm.repos.len() {
        return None;
    }
    let licenses: Vec<License> = metas
        .iter()
        .enumerate()
        .map(|(i, m)| super::policy::effective_license(ev, &asm.components[i], m, &repos))
        .collect();
    let proprietary = upstream_proprietary
        || licenses.iter().any(License::is_nonfree)
        || repos.iter().any(|r| r.license.is_nonfree());
    Some(Licensed { metas, repos, licenses, proprietary })
}

/// Phase 4, content and constraints: each component's steps, what it provides
/// and comes after, checked against the facts.
fn content<'p>(
    ev: &mut Evaluator<'p>,
    asm: &Assembly<'p>,
    facts: &Facts<'p>,
    metas: &[Meta],
    licenses: &[License],
) -> Vec<model::Component> {
    // Its full size at once: a model keeps every variant's components to
    // the end, and a vector grown by doubling kept a quarter of them empty.
    let mut components = Vec::with_capacity(asm.components.len());
    let after_names = super::content::AfterNames::new(asm);
    for index in 0..asm.components.len() {
        let reads = RefCell::new(Vec::new());
        let (span, note) = usage(asm, index);
        let name = asm.components[index].name.clone();
        let steps = ev.within(span, note, |ev| {
            ev.as_component(&name, |ev| {
                let steps = super::steps::steps(ev, asm, index, facts, &reads);
                super::content::constraints(ev, asm, index, facts, &reads, &asm.label);
                steps
            })
        });
        let c = &asm.components[index];
        let meta = &metas[index];
        let provides: Vec<String> = own_stmts(c)
            .filter_map(|s| match &s.kind {
                StmtKind::Provides { name, .. } => Some(name.name.clone()),
                _ => None,
            })
            .collect();
        // Make sure every provided fact evaluates, even if nobody reads it.
        for p in &provides {
            let _ = facts.get(ev, p, c.span);
        }
        let (after, after_clauses) = super::content::after(ev, asm, &after_names, index);
        components.push(model::Component {
            kind: c.kind,
            name: c.name.clone(),
            args: c.instance.as_ref().map(|i| args(ev, i)).unwrap_or_default(),
            span: c.span,
            def_span: c.def_span,
            via: c.via.clone(),
            docs: c.docs.clone(),
            license: licenses[index].clone(),
            telemetry: meta.telemetry,
            remote_ai: meta.remote_ai,
            changes: meta.changes,
            properties: meta.properties.clone(),
            repos: c.repos.clone(),
            steps,
            after,
            after_clauses,
            reads: reads.into_inner(),
            provides,
        });
    }
    components
}

/// An instance's arguments as text, kept in the memo: the same arguments
/// print the same whatever the variant (a value prints without its span).
fn args(ev: &mut Evaluator<'_>, instance: &Rc<Instance>) -> Arc<IndexMap<String, String>> {
    let depth = ev.budget.depth;
    let slot = match ev.memo.lookup(instance, depth, Part::Args, |_| true) {
        Lookup::Known(kept, ..) => match kept.downcast_ref::<Arc<IndexMap<String, String>>>() {
            Some(args) => return args.clone(),
            None => None,
        },
        Lookup::Evaluate(slot) => slot,
    };
    let args: Arc<IndexMap<String, String>> =
        Arc::new(instance.args.iter().map(|(k, v)| (k.clone(), v.to_string())).collect());
    if let Some(slot) = slot {
        ev.memo.record(slot, true, 0, Rc::new([]), || Rc::new(args.clone()));
    }
    args
}

/// A kmod without a signing key will not load under Secure Boot: a warning
/// per kmod.
fn warn_unsigned_kmods(ev: &mut Evaluator<'_>, asm: &Assembly<'_>) {
    for c in asm.components.iter().filter(|c| c.kind == ComponentKind::Kmod) {
        ev.diags.push(
            Diagnostic::warning(
                Code::UnsignedKmod,
                format!("`{}` is built without a signing key in {}", c.name, asm.label),
            )
            .label(c.span, "this module will not load under Secure Boot unless it is signed")
            .help("add `signing { key = secret(\"ID\"), cert = file(\"keys/NAME.der\") }` to the image"),
        );
    }
}

/// The variant's facts as model values: provided ones (with their
/// provider), then computed and inherited ones.
fn fact_values<'p>(ev: &mut Evaluator<'p>, facts: &Facts<'p>) -> IndexMap<String, model::Fact> {
    let mut values = IndexMap::default();
    for (name, defs) in &facts.defs {
        if let Ok(v) = facts.get(ev, name, defs[0].span)
            && let Some(p) = super::content::to_property(&v)
        {
            values
                .insert(name.clone(), model::Fact { value: p, provider: Some(defs[0].component), span: defs[0].span });
        }
    }
    for (name, (v, span)) in facts.computed.borrow().iter() {
        if let Some(p) = super::content::to_property(v) {
            values.insert(name.clone(), model::Fact { value: p, provider: None, span: *span });
        }
    }
    values
}

/// Where a component was brought into the variant, as a label for errors
/// found inside its definition.
fn usage(asm: &Assembly<'_>, index: usize) -> (Span, String) {
    let c = &asm.components[index];
    match &c.instance {
        Some(_) => (c.span, c.name.clone()),
        None => (Span::new(crate::source::SourceId(u32::MAX), 0, 0), String::new()),
    }
}

/// Assembles the variant of another project image this one is built from.
fn upstream(ev: &mut Evaluator<'_>, r: &super::value::ImageRef) -> Option<model::Variant> {
    if ev.assembling.contains(&r.image) {
        let names: Vec<String> = ev
            .assembling
            .iter()
            .chain(std::iter::once(&r.image))
            .map(|i| ev.program.images[i.0].image.name.name.clone())
            .collect();
        ev.error(
            Diagnostic::error(
                Code::ExtendsCycle,
                format!("images are built from each other in a cycle: {}", names.join(" -> ")),
            )
            .label(r.span, "this `from` closes the cycle")
            .help("an image cannot be built, directly or through others, from itself"),
        );
        return None;
    }
    // Each image of the chain assembles the one it is built from first, on
    // the stack: without a limit, 20,000 images each built from the last
    // overflowed it (docs/hardening.md).
    if ev.assembling.len() > super::budget::MAX_CHAIN {
        let first = ev.program.images[ev.assembling[0].0].image.name.name.clone();
        ev.error(
            Diagnostic::error(
                Code::EvalTooDeep,
                format!(
                    "images are built from images more than {} deep here (from `{first}` down)",
                    super::budget::MAX_CHAIN
                ),
            )
            .label(r.span, "this `from` is one too many")
            .help("a chain of images built `from` each other is at most 64 long; build several from one base image"),
        );
        return None;
    }
    let chains = super::chains(ev.program, r.image);
    let chain = chains.into_iter().find(|c| r.variant.as_deref().is_none_or(|v| c.name == v))?;
    ev.assembling.push(r.image);
    let variant = assemble(ev, r.image, &chain);
    ev.assembling.pop();
    variant
}

/// The statements of a component's own body (a body skips nested variants).
pub fn own_stmts<'a, 'p>(c: &'a Draft<'p>) -> impl Iterator<Item = &'p ast::Stmt> + 'a {
    let is_body = c.is_body;
    c.body.stmts.iter().filter(move |s| !(is_body && matches!(s.kind, StmtKind::Variant { .. })))
}

/// Walks a component's body for what it brings in: base, kernel, kmods,
/// layers, repos; recursing into the bodies of what it brings.
fn walk<'p>(ev: &mut Evaluator<'p>, asm: &mut Assembly<'p>, index: usize, body_depth: usize) {
    let stmts: Vec<&'p ast::Stmt> = own_stmts(&asm.components[index]).collect();
    for stmt in stmts {
        let env = asm.env(index, None, None);
        match &stmt.kind {
            StmtKind::From(e) => from(ev, asm, e, &env),
            StmtKind::Kernel(e) => {
                // Only the deepest body that names a kernel counts: a variant's
                // `kernel` replaces the image's.
                if body_depth != usize::MAX && Some(body_depth) != asm.kernel_body {
                    continue;
                }
                if let Ok(inst) = component_value(ev, e, &env, DefKind::Kernel, "kernel") {
                    add(ev, asm, index, inst, ComponentKind::Kernel);
                }
            }
            StmtKind::Kmod(e) => {
                if let Ok(inst) = component_value(ev, e, &env, DefKind::Kmod, "kmod") {
                    add(ev, asm, index, inst, ComponentKind::Kmod);
                }
            }
            StmtKind::Use(e) => {
                if let Ok(inst) = component_value(ev, e, &env, DefKind::Layer, "use") {
                    add(ev, asm, index, inst, ComponentKind::Layer);
                }
            }
            StmtKind::Repo(e) => {
                if let Ok(inst) = component_value(ev, e, &env, DefKind::Repo, "repo") {
                    let existing = asm.repos.iter().position(|r| r.instance.same_as(&inst));
                    let r = existing.unwrap_or_else(|| {
                        asm.repos.push(RepoDraft { instance: inst.clone(), span: e.span });
                        asm.repos.len() - 1
                    });
                    if !asm.components[index].repos.contains(&r) {
                        asm.components[index].repos.push(r);
                    }
                }
            }
            StmtKind::Signing(entries) => asm.signing = Some((entries, stmt.keyword, asm.components[index].module)),
            StmtKind::Policy(entries) => {
                for e in entries {
                    if let ast::ExprKind::Name(word) = &e.value.kind {
                        let rule = if word == "deny" { model::Rule::Deny } else { model::Rule::Allow };
                        asm.policy.insert(e.name.name.clone(), (rule, e.value.span));
                    }
                }
            }
            _ => {}
        }
    }
}

/// Evaluates the operand of `kernel`/`kmod`/`use`/`repo`/`from` to an
/// instance of the expected kind.
fn component_value<'p>(
    ev: &mut Evaluator<'p>,
    e: &'p ast::Expr,
    env: &Env<'_, 'p>,
    kind: DefKind,
    keyword: &str,
) -> Eval<Rc<Instance>> {
    match ev.eval_expecting(e, env, Some(kind))? {
        Value::Instance(inst) if inst.kind == kind => Ok(inst),
        Value::Instance(inst) => Err(ev.error(
            Diagnostic::error(
                Code::WrongKind,
                format!("`{}` is a {}, but `{keyword}` takes a {}", inst.name, inst.kind.keyword(), kind.keyword()),
            )
            .label(e.span, format!("a {}", inst.kind.keyword()))
            .help(match inst.kind {
                DefKind::Layer => format!("bring a layer in with `use {}`", inst.name),
                DefKind::Repo => format!("make a repository available with `repo {}`", inst.name),
                DefKind::Kernel => format!("pin a kernel with `kernel {}`", inst.name),
                DefKind::Kmod => format!("build a kernel module with `kmod {}`", inst.name),
                DefKind::Base => format!("build on a base with `from {}`", inst.name),
            }),
        )),
        other => Err(ev.error(
            Diagnostic::error(
                Code::WrongKind,
                format!("`{keyword}` takes a {}, found {}", kind.keyword(), other.describe()),
            )
            .label(e.span, format!("this is {}", other.describe()))
            .help(format!("name a `{}` definition, e.g. `{keyword} module.name(...)`", kind.keyword())),
        )),
    }
}

/// Adds a component brought in by `parent` (or reuses the same one already
/// there); returns its index.
fn add<'p>(
    ev: &mut Evaluator<'p>,
    asm: &mut Assembly<'p>,
    parent: usize,
    inst: Rc<Instance>,
    kind: ComponentKind,
) -> Option<usize> {
    let mut chain = asm.components[parent].via.clone();
    chain.push(asm.components[parent].name.clone());
    let mut ancestors = asm.components[parent].ancestors.clone();
    ancestors.push(parent);
    let cycle = |ev: &mut Evaluator<'p>, chain: &mut Vec<String>| {
        chain.push(inst.name.clone());
        // The chain starts at the variant's body; show it from the first repeat.
        let first = chain.iter().position(|n| *n == inst.name).unwrap_or(0);
        ev.error(
            Diagnostic::error(Code::UseCycle, format!("`{}` uses itself: {}", inst.name, chain[first..].join(" -> ")))
                .label(inst.call, "this use closes the cycle")
                .help("a layer cannot use itself, directly or through other layers"),
        );
    };
    let fingerprint = inst.fingerprint();
    // An equal instance built apart is compared whole: paid for first.
    let candidates = asm.by_instance.get(&fingerprint).cloned().unwrap_or_default();
    let mut existing = None;
    for c in candidates {
        let Some(other) = asm.components[c].instance.clone() else { continue };
        if !Rc::ptr_eq(&other, &inst) && ev.charge(inst.unfolded(), inst.call).is_err() {
            return None;
        }
        if other.same_as(&inst) {
            existing = Some(c);
            break;
        }
    }
    if let Some(existing) = existing {
        if ancestors.contains(&existing) {
            cycle(ev, &mut chain);
            return None;
        }
        if existing != parent {
            asm.components[parent].after.insert(existing);
        }
        return Some(existing);
    }
    if ancestors.len() > super::budget::MAX_CHAIN {
        let shown = |names: &[String]| names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(" -> ");
        ev.error(
            Diagnostic::error(
                Code::EvalTooDeep,
                format!("layers use layers more than {} deep here", super::budget::MAX_CHAIN),
            )
            .label(inst.call, format!("{} -> ... -> {}", shown(&chain[..2]), shown(&chain[chain.len() - 2..])))
            .help("a chain of `use` is at most 64 long; let one layer use several others instead of each the next"),
        );
        return None;
    }
    // The same definition again below itself (with other arguments) recurses forever.
    if ancestors.iter().any(|a| asm.components[*a].instance.as_ref().is_some_and(|i| i.def == inst.def)) {
        cycle(ev, &mut chain);
        return None;
    }
    let info = &ev.program.defs[inst.def.0];
    let index = asm.components.len();
    asm.components.push(Draft {
        kind,
        name: inst.name.clone(),
        instance: Some(inst.clone()),
        body: &info.def.body,
        body_kind: BodyKind::Def(info.def.kind),
        module: info.module,
        params: Some(inst.args.clone()),
        span: inst.call,
        def_span: Some(info.def.name.span),
        via: chain,
        ancestors,
        docs: info.docs.clone(),
        repos: Vec::new(),
        after: IndexSet::default(),
        is_body: false,
    });
    asm.by_instance.entry(fingerprint).or_default().push(index);
    if kind == ComponentKind::Layer {
        // The user comes after what it uses.
        asm.components[parent].after.insert(index);
    }
    if asm.components.len() > super::budget::MAX_COMPONENTS {
        // Once per variant: every later use would say the same.
        if !asm.too_many {
            asm.too_many = true;
            ev.error(
                Diagnostic::error(Code::EvalTooLarge, format!("{} brings in more than 10,000 components", asm.label))
                    .label(inst.call, "the limit is reached while adding this")
                    .help("a variant is made of at most 10,000 layers, kernels, kmods and bases; split the image"),
            );
        }
        return None;
    }
    walk(ev, asm, index, usize::MAX);
    Some(index)
}

fn from<'p>(ev: &mut Evaluator<'p>, asm: &mut Assembly<'p>, e: &'p ast::Expr, env: &Env<'_, 'p>) {
    let Ok(value) = ev.eval_expecting(e, env, Some(DefKind::Base)) else {
        return;
    };
    let site = Site::of(&value, e.span);
    let result = match value {
        Value::Instance(inst) if inst.kind == DefKind::Base => {
            let Some(index) = add(ev, asm, 0, inst, ComponentKind::Base) else {
                return;
            };
            // The reference is the base's `image` property, evaluated later; keep a placeholder.
            model::From::Base { component: index, reference: String::new() }
        }
        Value::Image(r) => match super::project::reference(ev, &r, asm.image, e.span) {
            Ok(f) => {
                asm.from_image = Some(r);
                f
            }
            Err(Reported) => return,
        },
        Value::Str(s, _) => {
            if let Err(reason) = super::validate::image_reference(&s) {
                let d = Diagnostic::error(
                    Code::ImageReference,
                    format!("\"{}\" is not a valid image reference", s.escape_debug()),
                );
                ev.error(ev.label_site(d, site, reason).help(
                    "write `registry/name:tag` or `registry/name@sha256:...`, e.g. \"quay.io/fedora/fedora-bootc:44\"",
                ));
                return;
            }
            model::From::Reference { reference: s, span: e.span }
        }
        other => {
            let d = Diagnostic::error(
                Code::WrongKind,
                format!("`from` takes a base, an image of the project or a reference, found {}", other.describe()),
            );
            ev.error(
                ev.label_site(d, site, format!("this is {}", other.describe()))
                    .help("write `from fedora.bootc(44)`, `from other-image.variant` or `from \"quay.io/...\"`"),
            );
            return;
        }
    };
    asm.from = Some((result, e.span));
}

/// A kmod is built against the shipped kernel, so one must be pinned.
fn kmod_needs_kernel(ev: &mut Evaluator<'_>, asm: &Assembly<'_>, facts: &Facts<'_>, label: &str) -> bool {
    let has_kernel =
        asm.components.iter().any(|c| c.kind == ComponentKind::Kernel) || facts.defs.contains_key("kernel");
    if has_kernel {
        return false;
    }
    let mut reported = false;
    for c in asm.components.iter().filter(|c| c.kind == ComponentKind::Kmod) {
        let mut d = Diagnostic::error(
            Code::KmodWithoutKernel,
            format!("`{}` is built against the kernel, but {label} pins no kernel", c.name),
        )
        .label(c.span, "this kernel module needs a pinned kernel");
        if let Some((_, span)) = &asm.from {
            d = d.label(*span, "this base does not provide a `kernel` fact (its kernel rolls)");
        }
        ev.error(d.help("pin the kernel the module is built for, e.g. `kernel kernel.longterm(\"6.18\")` with `import \"std/kernel\"`"));
        reported = true;
    }
    reported
}

/// The metadata properties of a component, evaluated.
#[derive(Clone, Debug)]
pub struct Meta {
    pub license: Option<(Value, Span)>,
    pub telemetry: bool,
    pub remote_ai: bool,
    pub changes: Changes,
    pub properties: Arc<IndexMap<String, model::Property>>,
}

/// Default `changes` per kind: base < kernel < kmod < layers (tools) < bodies (config).
pub fn default_changes(kind: ComponentKind) -> Changes {
    match kind {
        ComponentKind::Base | ComponentKind::Kernel => Changes::Rarely,
        ComponentKind::Kmod => Changes::Monthly,
        ComponentKind::Layer => Changes::Weekly,
        ComponentKind::Body => Changes::Often,
    }
}

pub fn prop_type(kind: BodyKind, name: &str) -> Option<PropType> {
    rules::properties(kind).into_iter().find(|(n, _)| *n == name).map(|(_, t)| t)
}
