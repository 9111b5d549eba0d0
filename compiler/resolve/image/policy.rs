//! Licenses and the `policy` of a variant: what is free software, and what a
//! variant that denies proprietary software, telemetry or remote AI may hold.
//! A violation names the whole chain: variant -> layer -> repo -> license.

use super::eval::Evaluator;
use super::value::Value;
use super::variant::{Assembly, Draft, Meta};
use crate::diag::{Code, Diagnostic};
use crate::model::{self, ComponentKind, License};

/// A component's license: its own declaration, else what its repositories say.
pub fn effective_license(ev: &mut Evaluator<'_>, c: &Draft<'_>, meta: &Meta, repos: &[model::Repo]) -> License {
    match &meta.license {
        Some((Value::Str(s, _), _)) => return License::Free(s.clone()),
        Some((Value::NonFree(r), _)) => return License::NonFree(r.clone()),
        _ => {}
    }
    if let Some(r) = c.repos.iter().map(|i| &repos[*i]).find(|r| r.license.is_nonfree()) {
        return r.license.clone();
    }
    let installs = c.body.stmts.iter().any(|s| {
        matches!(s.kind, crate::syntax::ast::StmtKind::Packages(_) | crate::syntax::ast::StmtKind::Flatpak(_))
    });
    if installs && let Some(r) = c.repos.iter().map(|i| &repos[*i]).find(|r| r.license == License::Mixed) {
        ev.error(
            Diagnostic::error(
                Code::UndeclaredLicense,
                format!(
                    "`{}` installs from `{}`, which holds free and non-free software, but declares no license",
                    c.name, r.name
                ),
            )
            .label(c.def_span.unwrap_or(c.span), "no `license` here")
            .label(r.def_span, "this repository is `license = mixed`")
            .help("declare what it installs: `license = \"Apache-2.0\"` or `license = nonfree(\"...\")`"),
        );
    }
    License::Unknown
}

fn chain(label_variant: &str, c: &model::Component) -> Vec<String> {
    let mut out = vec![label_variant.to_string()];
    out.extend(c.via.iter().filter(|v| !v.is_empty()).cloned());
    out.push(c.name.clone());
    // The variant body itself is already the first element.
    out.dedup();
    out
}

fn license_text(l: &License) -> String {
    match l {
        License::NonFree(r) => format!("nonfree(\"{r}\")"),
        License::Free(s) => s.clone(),
        License::Mixed => "mixed".into(),
        License::Unknown => "unknown".into(),
    }
}

/// Checks the variant's components and repositories against its policy.
pub fn check(
    ev: &mut Evaluator<'_>,
    asm: &Assembly<'_>,
    components: &[model::Component],
    repos: &[model::Repo],
    label: &str,
    fedora_branded: bool,
) {
    // Where a denied component can go instead; on a Fedora base that variant
    // is a remix (Fedora's trademark guidelines).
    let elsewhere = if fedora_branded {
        "move it to a remix variant: one whose policy says `proprietary = allow` and that has `use fedora.remix()`"
    } else {
        "move it to a variant whose policy says `proprietary = allow`"
    };
    let variant_name = if asm.variant_name == asm.image_name {
        asm.image_name.clone()
    } else {
        format!("{}.{}", asm.image_name, asm.variant_name)
    };
    if let Some((model::Rule::Deny, deny_span)) = asm.policy.get("proprietary") {
        for c in components {
            if c.kind == ComponentKind::Body && c.license == License::Unknown {
                continue;
            }
            let inherited = c.repos.iter().any(|r| repos[*r].license == c.license);
            if let License::NonFree(reason) = &c.license
                && !inherited
            {
                let path = chain(&variant_name, c).join(" -> ");
                ev.error(
                    Diagnostic::error(
                        Code::PolicyProprietary,
                        format!("{label} denies proprietary software, but `{}` is not free ({reason})", c.name),
                    )
                    .label(c.span, format!("{path} -> {}", license_text(&c.license)))
                    .label(*deny_span, "proprietary software is denied here")
                    .help(format!("remove `{}` from this variant, or {elsewhere}", c.name)),
                );
            }
        }
        for (i, r) in repos.iter().enumerate() {
            let License::NonFree(reason) = &r.license else {
                continue;
            };
            // Report through the first component that uses the repository.
            let user = components.iter().find(|c| c.repos.contains(&i));
            let path = match user {
                Some(c) => chain(&variant_name, c),
                None => vec![variant_name.clone()],
            };
            let path = format!("{} -> {} -> {}", path.join(" -> "), r.name, license_text(&r.license));
            let mut d = Diagnostic::error(
                Code::PolicyProprietary,
                format!("{label} denies proprietary software, but it uses the repository `{}` ({reason})", r.name),
            )
            .label(user.map_or(r.span, |c| c.span), path);
            if user.is_some_and(|c| c.span != r.span) {
                d = d.label(r.span, "the repository is used here");
            }
            d = d.label(r.def_span, format!("`{}` is `license = nonfree(\"{reason}\")`", r.name));
            d = d.label(*deny_span, "proprietary software is denied here");
            ev.error(d.help("a clean variant cannot enable a non-free repository, even for one step; move what needs it to a variant with `proprietary = allow`"));
        }
    }
    for (key, code, what) in
        [("telemetry", Code::PolicyTelemetry, "telemetry"), ("remote-ai", Code::PolicyRemoteAi, "remote AI services")]
    {
        let Some((model::Rule::Deny, deny_span)) = asm.policy.get(key) else {
            continue;
        };
        for c in components {
            let on = if key == "telemetry" { c.telemetry } else { c.remote_ai };
            if !on {
                continue;
            }
            let path = chain(&variant_name, c).join(" -> ");
            ev.error(
                Diagnostic::error(code, format!("{label} denies {what}, but `{}` declares `{key} = true`", c.name))
                    .label(c.span, format!("{path} -> {key} = true"))
                    .label(*deny_span, format!("{what} denied here"))
                    .help(if key == "telemetry" {
                        "use a layer that ships the tool with telemetry turned off (the stdlib's tools do), or allow telemetry in this variant"
                    } else {
                        "use a layer that points the tool at a local model (the stdlib's tools do), or allow `remote-ai` in this variant"
                    }),
            );
        }
    }
}

/// Where the base that brings Fedora's branding (`trademark = "fedora"`)
/// is used, if the variant has one.
pub fn fedora_branded<'p>(ev: &mut Evaluator<'p>, facts: &super::facts::Facts<'p>) -> Option<crate::source::Span> {
    let def_span = facts.defs.get("trademark")?[0].call;
    match facts.get(ev, "trademark", def_span) {
        Ok(Value::Str(mark, _)) if mark == "fedora" => Some(def_span),
        _ => None,
    }
}

/// Fedora's trademark guidelines: an image that adds software Fedora does not
/// ship is a remix and must not carry Fedora's branding. The Fedora bases
/// provide `trademark = "fedora"`; `fedora.remix()` provides `remix = true`.
pub fn branding<'p>(
    ev: &mut Evaluator<'p>,
    facts: &super::facts::Facts<'p>,
    proprietary: bool,
    span: crate::source::Span,
    label: &str,
) {
    if !proprietary {
        return;
    }
    let Some(def_span) = fedora_branded(ev, facts) else { return };
    let remixed = facts.defs.contains_key("remix") && matches!(facts.get(ev, "remix", span), Ok(Value::Bool(true)));
    if remixed {
        return;
    }
    ev.diags.push(
        Diagnostic::warning(Code::FedoraBranding, format!("{label} contains non-free software but keeps Fedora's branding"))
            .label(span, "this variant is not free software")
            .label(def_span, "the Fedora base brings Fedora's name and logos")
            .help("Fedora's trademark guidelines call this a remix: add `use fedora.remix()` to swap in generic-release and generic-logos"),
    );
}
