//! Stage 4, emit: renders the plan into files — one Containerfile per image
//! (through the minijinja templates embedded here), the support files, and
//! the manifest with the digest of every input, layer and output. Templates
//! only render; every decision was made by the planner.

mod containerfile;

use std::collections::BTreeMap;

use minijinja::syntax::SyntaxConfig;
use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, context};

use crate::plan::{Inputs, Plan};

/// The templates, embedded: (name, source).
pub const TEMPLATES: &[(&str, &str)] = &[("Containerfile.j2", include_str!("templates/Containerfile.j2"))];

/// Name of the manifest in the output directory.
pub const MANIFEST: &str = "aid-manifest.json";

/// The output directory's files, by path relative to it.
pub type Files = BTreeMap<String, String>;

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::None);
    if let Ok(syntax) = SyntaxConfig::builder().keep_trailing_newline(true).build() {
        env.set_syntax(syntax);
    }
    // `{{ x | comment }}`: the one escaping of `#` comment text (plan/shell.rs).
    env.add_filter("comment", |s: String| crate::plan::shell::comment(&s));
    for (name, source) in TEMPLATES {
        env.add_template(name, source).expect("embedded templates parse");
    }
    env
}

/// The Containerfile of `image` as the template renders it: what
/// `containerfile::render` writes (debug builds compare every one).
fn template_render(recipe: &str, containerfile: &str, image: &crate::plan::ImagePlan) -> String {
    let env = environment();
    let template = env.get_template("Containerfile.j2").expect("embedded template");
    template
        .render(context! {
            recipe => recipe,
            containerfile => containerfile,
            targets => Serde(&image.targets),
            stages => Serde(&image.stages),
        })
        .unwrap_or_else(|e| format!("# aidc: internal error rendering the Containerfile: {e}\n"))
}

/// The manifest's fields, written as serde_json's pretty printer writes a
/// struct of them in this order (`version` and `compiler` first; the test
/// below checks it against that printer), by hand with `crate::json`'s
/// strings: serde's printer took most of what was left on one thread at
/// the end of emitting 1,000 images, and each image's entry, written on
/// every core, went in checked again as a `RawValue`.
struct Manifest<'a> {
    recipe: &'a str,
    inputs: BTreeMap<&'a str, &'a str>,
    modules: &'a BTreeMap<String, String>,
    templates: BTreeMap<&'a str, String>,
    /// Each image's entry, as [`manifest_image`] wrote it.
    images: BTreeMap<String, Vec<u8>>,
    outputs: &'a BTreeMap<String, String>,
}

/// The manifest's format version.
const MANIFEST_VERSION: u32 = 1;

impl Manifest<'_> {
    fn text(&self) -> String {
        use crate::json::string;
        let entries = |map: &BTreeMap<String, String>| map.iter().map(|(k, v)| k.len() + v.len() + 16).sum::<usize>();
        let size = self.images.iter().map(|(name, entry)| name.len() + entry.len() + 16).sum::<usize>()
            + entries(self.outputs)
            + entries(self.modules)
            + 4096;
        let mut out = Vec::with_capacity(size);
        out.extend_from_slice(format!("{{\n  \"version\": {MANIFEST_VERSION},\n  \"compiler\": ").as_bytes());
        string(&mut out, COMPILER);
        out.extend_from_slice(b",\n  \"recipe\": ");
        string(&mut out, self.recipe);
        map(&mut out, "inputs", self.inputs.iter().map(|(k, v)| (*k, *v)), string);
        map(&mut out, "modules", self.modules.iter().map(|(k, v)| (k.as_str(), v)), |out, v| string(out, v));
        map(&mut out, "templates", self.templates.iter().map(|(k, v)| (*k, v)), |out, v| string(out, v));
        map(&mut out, "images", self.images.iter().map(|(k, v)| (k.as_str(), v)), |out, v| out.extend_from_slice(v));
        map(&mut out, "outputs", self.outputs.iter().map(|(k, v)| (k.as_str(), v)), |out, v| string(out, v));
        out.extend_from_slice(b"\n}\n");
        String::from_utf8(out).unwrap_or_default()
    }
}

/// `,` and a field of the manifest holding a map, its values written by `value`.
fn map<'a, V>(
    out: &mut Vec<u8>,
    name: &str,
    entries: impl Iterator<Item = (&'a str, V)>,
    value: impl Fn(&mut Vec<u8>, V),
) {
    out.extend_from_slice(b",\n  ");
    crate::json::string(out, name);
    out.extend_from_slice(b": {");
    let mut empty = true;
    for (key, v) in entries {
        out.extend_from_slice(if empty { b"\n    " } else { b",\n    " });
        crate::json::string(out, key);
        out.extend_from_slice(b": ");
        value(out, v);
        empty = false;
    }
    out.extend_from_slice(if empty { b"}" } else { b"\n  }" });
}

const COMPILER: &str = concat!("aidc ", env!("CARGO_PKG_VERSION"));

/// An image's entry in the manifest: its pretty JSON as it stands there,
/// two levels in (`"images": { "name": ... }`), as serde_json's pretty
/// printer writes the manifest (the test below checks it against that
/// printer), written by hand with `crate::json`'s strings: serde_json's
/// printer and the indenting after it were a twentieth of a large compile.
/// Made with the image's Containerfile, on every core for a large project
/// (the manifest of 1,000 images was 16 ms on one).
fn manifest_image(img: &crate::plan::ImagePlan) -> Vec<u8> {
    use crate::json::string;
    // A later target of the same name wins, as in a map built from them.
    let targets: BTreeMap<&str, &str> = img.targets.iter().map(|t| (t.variant.as_str(), t.inputs.as_str())).collect();
    let mut out = Vec::with_capacity(256 + img.stages.iter().map(|s| 128 + s.layers.len() * 90).sum::<usize>());
    out.extend_from_slice(b"{\n      \"containerfile\": ");
    string(&mut out, &img.containerfile);
    out.extend_from_slice(b",\n      \"targets\": {");
    for (i, (variant, inputs)) in targets.iter().enumerate() {
        out.extend_from_slice(if i == 0 { b"\n        " } else { b",\n        " });
        string(&mut out, variant);
        out.extend_from_slice(b": ");
        string(&mut out, inputs);
    }
    out.extend_from_slice(if targets.is_empty() { b"}" } else { b"\n      }" });
    out.extend_from_slice(b",\n      \"stages\": [");
    for (i, stage) in img.stages.iter().enumerate() {
        out.extend_from_slice(if i == 0 { b"\n        {" } else { b",\n        {" });
        out.extend_from_slice(b"\n          \"name\": ");
        string(&mut out, &stage.name);
        out.extend_from_slice(b",\n          \"from\": ");
        string(&mut out, &stage.from);
        out.extend_from_slice(match stage.role {
            crate::plan::StageRole::Shared => b",\n          \"role\": \"shared\"".as_slice(),
            crate::plan::StageRole::Builder => b",\n          \"role\": \"builder\"",
            crate::plan::StageRole::Final => b",\n          \"role\": \"final\"",
        });
        out.extend_from_slice(b",\n          \"layers\": [");
        for (j, key) in stage.layers.iter().enumerate() {
            out.extend_from_slice(if j == 0 { b"\n            " } else { b",\n            " });
            string(&mut out, key);
        }
        out.extend_from_slice(if stage.layers.is_empty() { b"]" } else { b"\n          ]" });
        out.extend_from_slice(b"\n        }");
    }
    out.extend_from_slice(if img.stages.is_empty() { b"]" } else { b"\n      ]" });
    out.extend_from_slice(b"\n    }");
    out
}

/// Renders every output: the Containerfiles of `plan`, the support files it
/// made (`support`, taken out of it: moved into the outputs, not copied),
/// the manifest. `recipe` is the recipe's file name as shown in the
/// header; `modules` maps every module read to its digest. It finds nothing
/// wrong: every decision was the plan's.
pub fn emit(
    plan: &Plan,
    support: crate::plan::FileMap,
    inputs: &Inputs,
    recipe: &str,
    modules: &BTreeMap<String, String>,
) -> crate::diag::Outcome<Files> {
    // Many images render on every core (`crate::par`), each Containerfile
    // digested where it was rendered.
    let render = |image: &crate::plan::ImagePlan| {
        let containerfile_path = format!("{}/{}", plan.out_dir, image.containerfile);
        let text = containerfile::render(recipe, &containerfile_path, image);
        debug_assert_eq!(
            text,
            template_render(recipe, &containerfile_path, image),
            "the Containerfile writer disagrees with templates/Containerfile.j2"
        );
        let digest = crate::hash::digest(text.as_bytes());
        Some((image.containerfile.clone(), text, digest, (image.name.clone(), manifest_image(image))))
    };
    let (rendered, _) =
        crate::par::pulled(&plan.images, || (), |_, image| render(image), |_| ()).expect("rendering never stops");
    // The maps are built from lists in one go (sorted once, a later entry
    // for the same path winning, as inserting one by one would have it):
    // 12,000 inserts were 12 ms of a 1,000-image project.
    let (mut files, mut digests) = (Vec::new(), Vec::new());
    let mut manifest_images = BTreeMap::new();
    for (path, text, digest, (name, entry)) in rendered {
        digests.push((path.clone(), digest));
        files.push((path, text));
        manifest_images.insert(name, entry);
    }
    for (path, (content, digest)) in support {
        debug_assert_eq!(
            digest,
            crate::hash::digest(content.as_bytes()),
            "a support file changed after it was digested"
        );
        digests.push((path.clone(), digest));
        files.push((path, content));
    }
    // The files' map and the manifest on two cores for a large project:
    // both ran alone on the main thread while the workers waited.
    let many = plan.images.len() >= crate::par::MIN_ITEMS;
    let (mut out, text) = crate::par::join(
        many,
        || files.into_iter().collect::<Files>(),
        || {
            let digests: BTreeMap<String, String> = digests.into_iter().collect();
            let manifest = Manifest {
                recipe,
                inputs: inputs.entries.iter().map(|(p, i)| (p.as_str(), i.digest.as_str())).collect(),
                modules,
                templates: TEMPLATES.iter().map(|(n, s)| (*n, crate::hash::digest_text(s))).collect(),
                images: manifest_images,
                outputs: &digests,
            };
            manifest.text()
        },
    );
    out.insert(MANIFEST.to_string(), text);
    crate::diag::Outcome::ok(out, Default::default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{ImagePlan, Stage, StageRole, Target};
    use serde::Serialize;

    #[derive(Serialize)]
    struct ManifestImage<'a> {
        containerfile: &'a str,
        targets: BTreeMap<&'a str, &'a str>,
        stages: Vec<ManifestStage<'a>>,
    }

    #[derive(Serialize)]
    struct ManifestStage<'a> {
        name: &'a str,
        from: &'a str,
        role: crate::plan::StageRole,
        layers: &'a [String],
    }

    /// The manifest written by hand, each image's entry made on its own,
    /// is byte for byte what serde_json's pretty printer writes for it,
    /// with strings serde_json escapes, line and paragraph separators,
    /// non-ASCII, every stage role, empty maps, targets, stages and
    /// layers, and repeated names.
    #[test]
    fn the_manifest_is_what_serde_jsons_printer_writes() {
        let weird = ["a\"b\\c", "line\nbreak\r\t", "\u{1}\u{1f}\u{7f}", "\u{2028}\u{2029}", "é€😀", "", "    ", "}\n{"];
        let stage = |i: usize, layers: Vec<String>| Stage {
            name: weird[i % weird.len()].to_string(),
            from: weird[(i + 1) % weird.len()].to_string(),
            role: [StageRole::Shared, StageRole::Builder, StageRole::Final][i % 3],
            about: Vec::new(),
            instructions: Default::default(),
            layers,
        };
        let target = |v: &str, i: &str| Target { variant: v.into(), inputs: i.into(), secrets: Vec::new() };
        let images: Vec<ImagePlan> = (0..weird.len())
            .map(|i| ImagePlan {
                name: weird[i].to_string(),
                containerfile: weird[(i + 2) % weird.len()].to_string(),
                stages: match i % 3 {
                    0 => Vec::new(),
                    1 => vec![stage(i, Vec::new())],
                    _ => vec![stage(i, weird.iter().map(|s| s.to_string()).collect()), stage(i + 3, vec!["x".into()])],
                },
                targets: match i % 2 {
                    0 => Vec::new(),
                    _ => weird
                        .iter()
                        .map(|w| target(w, weird[i]))
                        .chain([target("dup", "1"), target("dup", "2")])
                        .collect(),
                },
            })
            .chain([ImagePlan {
                name: "é€😀".into(),
                containerfile: "again".into(),
                stages: Vec::new(),
                targets: Vec::new(),
            }])
            .collect();
        #[derive(Serialize)]
        struct Whole<'a> {
            version: u32,
            compiler: &'a str,
            recipe: &'a str,
            inputs: BTreeMap<&'a str, &'a str>,
            modules: BTreeMap<String, String>,
            templates: BTreeMap<&'a str, String>,
            images: BTreeMap<&'a str, ManifestImage<'a>>,
            outputs: BTreeMap<String, String>,
        }
        let pairs: BTreeMap<String, String> = weird.iter().map(|w| (w.to_string(), format!("{w}{w}"))).collect();
        for full in [true, false] {
            let pairs = if full { pairs.clone() } else { BTreeMap::new() };
            let images = if full { &images[..] } else { &[] };
            let whole = Whole {
                version: MANIFEST_VERSION,
                compiler: COMPILER,
                recipe: weird[0],
                inputs: pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect(),
                modules: pairs.clone(),
                templates: pairs.iter().map(|(k, v)| (k.as_str(), v.clone())).collect(),
                images: images
                    .iter()
                    .map(|img| {
                        let entry = ManifestImage {
                            containerfile: img.containerfile.as_str(),
                            targets: img.targets.iter().map(|t| (t.variant.as_str(), t.inputs.as_str())).collect(),
                            stages: img
                                .stages
                                .iter()
                                .map(|s| ManifestStage {
                                    name: &s.name,
                                    from: &s.from,
                                    role: s.role,
                                    layers: &s.layers,
                                })
                                .collect(),
                        };
                        (img.name.as_str(), entry)
                    })
                    .collect(),
                outputs: pairs.clone(),
            };
            let by_hand = Manifest {
                recipe: weird[0],
                inputs: whole.inputs.clone(),
                modules: &pairs,
                templates: whole.templates.clone(),
                images: images.iter().map(|img| (img.name.clone(), manifest_image(img))).collect(),
                outputs: &pairs,
            };
            let printed = serde_json::to_string_pretty(&whole).expect("json") + "\n";
            assert_eq!(by_hand.text(), printed);
        }
    }
}
