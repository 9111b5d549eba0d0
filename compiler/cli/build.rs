//! `aidc build TARGET [FILE]`: compiles the recipe, then builds one target
//! with podman or buildah: `-t` the name it is published under (the
//! `pipeline` block's registry, else `localhost/`), plus `localhost/NAME` so
//! that recipes built on it find it with `--local`; the build secrets from
//! files (`--secret-file [ID=]PATH`) or environment variables
//! (`AID_SECRET_<ID>`, passed by name, never read by aidc); `--local` builds
//! on the `localhost/` images of other recipes instead of their published
//! names (the Containerfile, with those `FROM`s changed, goes to the engine
//! on standard input); `--dry-run` prints the command and writes nothing.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use super::args::{BuildArgs, CompileArgs, Engine, InputArgs};
use super::{Format, digests, one_recipe, render};
use crate::driver::Mode;
use crate::model;
use crate::plan::quote;

/// The environment variable that can hold the secret `id` (`akmods-key/key`
/// -> `AID_SECRET_AKMODS_KEY`).
pub fn secret_env(id: &str) -> String {
    let name: String = crate::plan::SecretMount::of(id)
        .name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' })
        .collect();
    format!("AID_SECRET_{name}")
}

pub fn run(args: &BuildArgs) -> i32 {
    let human = Format::Human;
    let input = InputArgs { stdlib: args.stdlib.clone(), lib: args.lib.clone(), format: human, deny_warnings: false };
    let (recipe, layout, compiled) = match one_recipe::compile(
        args.file.as_deref(),
        &input,
        "build",
        Mode::Compile,
        digests::CacheMode::ReadWrite,
    ) {
        Ok(done) => done,
        Err(code) => return code,
    };
    let (Some(model), Some(planned), Some(outputs)) = (&compiled.model, &compiled.plan, &compiled.outputs) else {
        return 1;
    };
    let Some((image_plan, image, target, variant)) = find_target(planned, model, &args.target) else {
        let names: Vec<&str> =
            planned.images.iter().flat_map(|i| i.targets.iter().map(|t| t.variant.as_str())).collect();
        let guess = crate::diag::suggest(&args.target, names.iter().copied())
            .map(|g| format!("; did you mean `{g}`?"))
            .unwrap_or_default();
        return render::usage_error(
            human,
            &format!("`{}` has no target `{}`{guess} (targets: {})", recipe.display(), args.target, names.join(", ")),
        );
    };
    let tags = tags(args, model, image, variant);
    let secret_args = match secret_args(args, target) {
        Ok(s) => s,
        Err(message) => return render::usage_error(human, &message),
    };

    // --local: the Containerfile with other recipes' images taken from localhost/.
    let containerfile_rel = Path::new(&layout.out_in_context).join(&image_plan.containerfile);
    let remapped = if args.local { local_images(image) } else { Vec::new() };
    let stdin_text = args.local.then(|| {
        let text = outputs.get(&image_plan.containerfile).map(String::as_str).unwrap_or_default();
        local_froms(text, &remapped)
    });

    let engine = match args.engine {
        Engine::Podman => "podman",
        Engine::Buildah => "buildah",
    };
    let file_arg = if stdin_text.is_some() { "-".to_string() } else { containerfile_rel.display().to_string() };
    let words = command_words(engine, file_arg, &target.variant, &tags, &secret_args, &args.engine_args);
    let context = layout.context.clone();
    let shown_context = if context.as_os_str() == "." {
        String::new()
    } else {
        format!("cd {} && ", quote(&context.display().to_string()))
    };
    let line: Vec<String> = words.iter().map(|w| quote(w)).collect();
    if args.dry_run {
        for (from, to) in &remapped {
            println!("# --local: FROM {from} -> FROM {to}");
        }
        if stdin_text.is_some() {
            println!("# {} with those FROMs goes to standard input", containerfile_rel.display());
        }
        println!("{shown_context}{}", line.join(" "));
        return 0;
    }

    // Outputs first (what `aidc compile` writes), then the build.
    let compile_args = CompileArgs { file: Some(recipe.clone()), out: None, check: false, input, quiet: true };
    let code = super::compile::run(&compile_args);
    if code != 0 {
        return code;
    }
    eprintln!("{shown_context}{}", line.join(" "));
    execute(engine, &words, &context, stdin_text.as_deref(), &tags)
}

/// The target named `name`: its image's plan, the image, the target and its
/// variant.
fn find_target<'a>(
    planned: &'a crate::plan::Plan,
    model: &'a model::Model,
    name: &str,
) -> Option<(&'a crate::plan::ImagePlan, &'a model::Image, &'a crate::plan::Target, &'a model::Variant)> {
    planned.images.iter().zip(&model.images).find_map(|(ip, image)| {
        let target = ip.targets.iter().find(|t| t.variant == name)?;
        let variant = image.variants.iter().find(|v| v.name == name)?;
        Some((ip, image, target, variant))
    })
}

/// The names to tag: the published one (or `--tag`), and the local one.
fn tags(args: &BuildArgs, model: &model::Model, image: &model::Image, variant: &model::Variant) -> Vec<String> {
    let component =
        crate::resolve::component_name(&image.name, if variant.implicit { None } else { Some(variant.name.as_str()) });
    let local = format!("localhost/{component}:latest");
    let published = match model.pipeline.as_ref().and_then(|p| p.registry.as_ref()) {
        Some(registry) => format!("{registry}/{component}:latest"),
        None => local.clone(),
    };
    let mut tags = vec![args.tag.clone().unwrap_or(published)];
    if !tags.contains(&local) {
        tags.push(local);
    }
    tags
}

/// The engine's `--secret` values: each id the target mounts, from a file
/// or an environment variable; a message when one is missing.
fn secret_args(args: &BuildArgs, target: &crate::plan::Target) -> Result<Vec<String>, String> {
    let unnamed: Vec<&String> = args.secret_files.iter().filter(|s| !s.contains('=')).collect();
    if unnamed.len() > 1 || (unnamed.len() == 1 && target.secrets.len() > 1) {
        return Err(format!(
            "target `{}` needs the secrets {}; give each as `--secret-file ID=PATH`",
            target.variant,
            target.secrets.iter().map(|s| s.id.as_str()).collect::<Vec<_>>().join(", ")
        ));
    }
    let mut secret_args = Vec::new();
    for secret in &target.secrets {
        let (id, name) = (secret.id.as_str(), secret.name.as_str());
        let named = args.secret_files.iter().find_map(|s| {
            let (k, v) = s.split_once('=')?;
            (k == id || k == name).then_some(v)
        });
        let file = named.or(unnamed.first().map(|s| s.as_str()));
        let env = secret_env(id);
        let arg = match file {
            Some(path) => {
                if !Path::new(path).is_file() {
                    return Err(format!("the secret file `{path}` for `{id}` does not exist"));
                }
                let absolute = digests::absolute(Path::new(path));
                format!("id={id},src={}", absolute.display())
            }
            None if std::env::var_os(&env).is_some() => format!("id={id},env={env}"),
            None => {
                return Err(format!(
                    "target `{}` needs the build secret `{id}` (the recipe's `secret(\"{name}\")`): pass `--secret-file PATH` or set {env}",
                    target.variant
                ));
            }
        };
        secret_args.push(arg);
    }
    Ok(secret_args)
}

/// Each other recipe's image this image's variants build on, with the
/// `localhost/` name `aidc build` gave it.
fn local_images(image: &model::Image) -> Vec<(String, String)> {
    let mut remapped: Vec<(String, String)> = Vec::new();
    for v in &image.variants {
        if let model::From::Project { component, reference, .. } = &v.from {
            let to = format!("localhost/{component}:latest");
            if *reference != to && !remapped.iter().any(|(r, _)| r == reference) {
                remapped.push((reference.clone(), to));
            }
        }
    }
    remapped
}

/// `ENGINE build -f FILE --target T -t TAG… --secret S… ARGS… .`
fn command_words(
    engine: &str,
    file_arg: String,
    target: &str,
    tags: &[String],
    secret_args: &[String],
    engine_args: &[String],
) -> Vec<String> {
    let mut words: Vec<String> = vec![engine.into(), "build".into()];
    words.extend(["-f".into(), file_arg, "--target".into(), target.to_string()]);
    for t in tags {
        words.extend(["-t".into(), t.clone()]);
    }
    for s in secret_args {
        words.extend(["--secret".into(), s.clone()]);
    }
    words.extend(engine_args.iter().cloned());
    words.push(".".into());
    words
}

/// Runs the engine in the build context, the Containerfile on its standard
/// input when `stdin_text` is given.
fn execute(engine: &str, words: &[String], context: &Path, stdin_text: Option<&str>, tags: &[String]) -> i32 {
    let mut command = Command::new(&words[0]);
    command.args(&words[1..]).current_dir(context);
    if stdin_text.is_some() {
        command.stdin(Stdio::piped());
    }
    let mut child = match command.spawn() {
        Ok(c) => c,
        Err(e) => {
            return render::usage_error(
                Format::Human,
                &format!("cannot run `{engine}`: {e}; install it, or choose the other with `--engine`"),
            );
        }
    };
    if let (Some(text), Some(mut stdin)) = (stdin_text, child.stdin.take())
        && stdin.write_all(text.as_bytes()).is_err()
    {
        let _ = child.kill();
    }
    match child.wait() {
        Ok(status) if status.success() => {
            eprintln!("built {}", tags.join(", "));
            0
        }
        Ok(status) => {
            eprintln!("aidc: error: `{engine} build` failed ({status})");
            1
        }
        Err(e) => render::usage_error(Format::Human, &format!("`{engine}` did not finish: {e}")),
    }
}

/// The Containerfile with each `FROM <reference>[@digest]` of `remap`
/// pointing at the local image instead.
fn local_froms(text: &str, remap: &[(String, String)]) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let mut replaced = None;
        if let Some(rest) = line.strip_prefix("FROM ") {
            let image = rest.split_whitespace().next().unwrap_or("");
            let bare = image.split('@').next().unwrap_or(image);
            if let Some((_, to)) = remap.iter().find(|(from, _)| from == bare) {
                replaced = Some(format!("FROM {to}{}", &rest[image.len()..]));
            }
        }
        out.push_str(replaced.as_deref().unwrap_or(line));
    }
    out
}
