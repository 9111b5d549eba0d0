//! Each layer of an image planned once for all its variants: the variants
//! of an image share most components (the kernel, the tools, the image's
//! own body), and planning a component again for every variant (its `RUN`
//! line, support files and digests) was most of a large plan
//! (docs/performance.md, stop 22).
//!
//! Why a reuse is what planning again would give:
//!
//! * **Everything planning reads is in the key.** [`Reads`] holds every
//!   value `plan/layer.rs` reads to plan a component's layer or a kernel's
//!   signature: the component's own fields (name, kind, arguments in order,
//!   properties in order, steps), the variant's repositories it names (by
//!   value, in order: an index means nothing in another variant), and what
//!   only some kinds read: the base's repository files (a hermetic build's
//!   kept repository enabled by id), and for a kmod the kernel's package
//!   name, the builder's repositories (the kernel's then the module's, as
//!   `layer::builder_repos` merges them by index), the signing block and
//!   the builder image. The hermetic build's keys are compared beside it.
//!   The rest is the same for every variant of one image: the image (its
//!   name: a memo is made per image), the inputs' digests and the output
//!   directory. Spans are compared too, though they only reach diagnostics.
//! * **Support files.** `Files::add` gives the same file for the same path
//!   and content whenever it is asked (the first content at a path keeps
//!   it; another content gets a suffix made from its digest, the same each
//!   time) and never changes an entry, so planning again would add nothing
//!   and mount the same paths: the files are all there from the first time.
//! * **Diagnostics.** Only a layer whose planning pushed no diagnostic at
//!   all (duplicates included: [`Diagnostics::pushes`]) is kept; planning it
//!   again would find nothing either, as it reads the same values.
//!
//! Debug builds plan again on every hit and compare the two layers (and
//! that nothing was found), so the test suites check the memo on every case.
//! A memo lives in one call of `plan_images` for one image: nothing global,
//! nothing shared between threads. A kept layer is handed out as an
//! `Rc<Layer>`, not copied: a deep copy for every variant that reused it
//! was 6% of a large compile's instructions (docs/performance.md, stop 24).

use crate::maps::HashMap;
use std::hash::{Hash, Hasher};
use std::rc::Rc;

use crate::maps::IndexMap;

use super::hermetic::Keys;
use super::layer::Layer;
use crate::diag::Diagnostics;
use crate::model::{Component, ComponentKind, Property, Repo, Signing, Step, Variant};

/// The layers planned so far for the variants of one image.
#[derive(Default)]
pub struct Memo<'a> {
    /// By [`Reads::fingerprint`]: what planning read, the hermetic build's
    /// keys, the layer planned. A fingerprint, not the name, so that many
    /// components of one name (a layer used with many arguments) are not
    /// all compared with each other (tests/hostile/scaled.json).
    layers: HashMap<u64, Vec<Entry<'a>>>,
    /// The finishing layer, without and with the initramfs step.
    finish: [Option<Rc<Layer>>; 2],
}

/// Most layers kept under one fingerprint: equal fingerprints of distinct
/// components are collisions, rare unless crafted, and a lookup compares
/// every entry under its fingerprint; past this many, a layer is planned
/// and not kept, so a crafted recipe costs what it would without the memo.
const MAX_PER_FINGERPRINT: usize = 8;

/// What planning read, the hermetic build's keys, the layer planned.
type Entry<'a> = (Reads<'a>, Option<Keys>, Rc<Layer>);

/// An `IndexMap` compared in order (`IndexMap`'s own `==` ignores the
/// order, and a component's arguments are written in order: `describe`).
struct Ordered<'a, V>(&'a IndexMap<String, V>);

impl<V: PartialEq> PartialEq for Ordered<'_, V> {
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len() && self.0.iter().eq(other.0.iter())
    }
}

/// What planning one layer of a variant reads, besides what every variant
/// of the image shares (see the module's comment).
#[derive(PartialEq)]
pub enum Reads<'a> {
    /// `layer::component`: the component's layer.
    Component {
        of: Own<'a>,
        steps: &'a [Step],
        /// The repositories it names, in order.
        repos: Vec<&'a Repo>,
        /// A hermetic build's base repository files (`base_repo_file`).
        base_repofiles: Option<Vec<(&'a str, &'a str)>>,
        kmod: Option<Kmod<'a>>,
    },
    /// `layer::kernel_signature`: the signed kernel's layer.
    Signature { of: Own<'a>, signing: Option<&'a Signing>, builder: String },
}

/// The component's fields planning reads for itself.
#[derive(PartialEq)]
pub struct Own<'a> {
    name: &'a str,
    kind: ComponentKind,
    args: Ordered<'a, String>,
    properties: Ordered<'a, Property>,
    span: crate::source::Span,
}

/// What a kmod reads of its variant (`layer::kmod`).
#[derive(PartialEq)]
pub struct Kmod<'a> {
    kernel: Option<String>,
    repos: Vec<&'a Repo>,
    signing: Option<&'a Signing>,
    builder: String,
}

impl<'a> Own<'a> {
    fn of(c: &'a Component) -> Own<'a> {
        Own { name: &c.name, kind: c.kind, args: Ordered(&c.args), properties: Ordered(&c.properties), span: c.span }
    }
}

impl<'a> Reads<'a> {
    /// What `layer::component` reads to plan `c` in `variant`.
    pub fn component(variant: &'a Variant, c: &'a Component, hermetic: bool) -> Reads<'a> {
        let kmod = (c.kind == ComponentKind::Kmod).then(|| Kmod {
            kernel: super::layer::kernel_name(variant),
            repos: super::layer::builder_repos(variant, c).into_iter().map(|i| &variant.repos[i]).collect(),
            signing: variant.signing.as_ref(),
            builder: super::layer::builder_image(variant),
        });
        Reads::Component {
            of: Own::of(c),
            steps: &c.steps,
            repos: c.repos.iter().map(|i| &variant.repos[*i]).collect(),
            base_repofiles: if hermetic { super::hermetic::base_repofiles(variant) } else { None },
            kmod,
        }
    }

    /// What `layer::kernel_signature` reads to sign `kernel` in `variant`.
    pub fn signature(variant: &'a Variant, kernel: &'a Component) -> Reads<'a> {
        Reads::Signature {
            of: Own::of(kernel),
            signing: variant.signing.as_ref(),
            builder: super::layer::builder_image(variant),
        }
    }

    /// A hash of the parts that tell components apart best (cheap next to
    /// hashing whole steps): equal [`Reads`] have equal fingerprints.
    fn fingerprint(&self) -> u64 {
        let mut h = crate::maps::fingerprinter();
        let of = match self {
            Reads::Component { of, steps, repos, .. } => {
                0u8.hash(&mut h);
                steps.len().hash(&mut h);
                for r in repos {
                    r.id.hash(&mut h);
                }
                of
            }
            Reads::Signature { of, .. } => {
                1u8.hash(&mut h);
                of
            }
        };
        of.name.hash(&mut h);
        of.kind.hash(&mut h);
        for (k, v) in of.args.0 {
            k.hash(&mut h);
            v.hash(&mut h);
        }
        h.finish()
    }
}

impl<'a> Memo<'a> {
    /// The layer planned for `reads` with `keys` before, else `plan`'s,
    /// kept when its planning pushed no diagnostic.
    pub fn layer(
        &mut self,
        reads: Reads<'a>,
        keys: Option<&Keys>,
        diagnostics: &mut Diagnostics,
        plan: impl FnOnce(&mut Diagnostics) -> Option<Layer>,
    ) -> Option<Rc<Layer>> {
        let fingerprint = reads.fingerprint();
        let entries = self.layers.entry(fingerprint).or_default();
        let planned = entries.iter().find(|(r, k, _)| *r == reads && k.as_ref() == keys);
        if let Some((_, _, layer)) = planned {
            #[cfg(debug_assertions)]
            {
                let pushes = diagnostics.pushes();
                let again = plan(diagnostics);
                assert_eq!(diagnostics.pushes(), pushes, "planning `{}` again found something", layer.component);
                assert_eq!(again.as_ref(), Some(&**layer), "the memo's layer is not what planning again gives");
            }
            return Some(Rc::clone(layer));
        }
        let pushes = diagnostics.pushes();
        let layer = plan(diagnostics).map(Rc::new);
        if diagnostics.pushes() == pushes
            && entries.len() < MAX_PER_FINGERPRINT
            && let Some(layer) = &layer
        {
            entries.push((reads, keys.cloned(), Rc::clone(layer)));
        }
        layer
    }

    /// How many layers were planned and kept.
    #[cfg(test)]
    pub fn planned(&self) -> usize {
        self.layers.values().map(Vec::len).sum()
    }

    /// The finishing layer (`initramfs` or not), planned once.
    pub fn finish(&mut self, initramfs: bool, plan: impl FnOnce() -> Layer) -> Rc<Layer> {
        let slot = &mut self.finish[usize::from(initramfs)];
        match slot {
            Some(layer) => {
                #[cfg(debug_assertions)]
                assert_eq!(&plan(), &**layer, "the memo's finishing layer is not what planning again gives");
                Rc::clone(layer)
            }
            None => Rc::clone(slot.insert(Rc::new(plan()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::{MemLoader, SearchPath};

    /// Arguments chosen to collide under a fingerprint seed written in the
    /// source (after the parameter name `nfkvb`, every 16-byte argument text
    /// starting with the 8 bytes `">5K.E5Z` hashed to one value: foldhash's
    /// folded multiply by zero) do not collide under the per-process seed:
    /// with one fingerprint, the memo's list was scanned whole for every use
    /// (4,000 uses in 16 variants took 48 s in a debug build, 6.5 s with
    /// other arguments). Found by stop 23's attacker review.
    #[test]
    fn crafted_arguments_do_not_share_a_fingerprint() {
        let mut recipe = String::from(
            "layer p(nfkvb: string) {\n  packages [\"tool\"]\n}\nimage x {\n  from \"localhost/base:1\"\n",
        );
        for i in 0..64 {
            recipe.push_str(&format!("  use p(\">5K.E5Zvalue{i:02}\")\n"));
        }
        recipe.push_str("}\n");
        let mut loader = MemLoader::default();
        loader.insert("r/image.aid", recipe);
        let resolved =
            crate::resolve::resolve(&["r/image.aid".into()], &loader, &SearchPath::default()).expect("entry");
        let mut diagnostics = Diagnostics::default();
        let model = resolved.model.into_value(&mut diagnostics).expect("the recipe resolves");
        assert!(!diagnostics.has_errors(), "{diagnostics:?}");
        let variant = &model.images[0].variants[0];
        let uses: Vec<_> = variant.components.iter().filter(|c| c.name == "p").collect();
        assert_eq!(uses.len(), 64);
        let fingerprints: crate::maps::HashSet<u64> =
            uses.iter().map(|c| Reads::component(variant, c, false).fingerprint()).collect();
        assert!(fingerprints.len() > 32, "64 distinct components share {} fingerprints", fingerprints.len());
    }
}
