//! The image layer of resolve: assembling each variant of an image from its
//! bodies and the layers it uses (components, metadata, repositories, steps,
//! constraints, signing), policy and licenses, and the project blocks (images
//! built from images, `pipeline`). It builds on [`super::lang`].

pub mod content;
pub mod memoized;
pub mod policy;
pub mod project;
pub mod steps;
pub mod variant;
pub mod way_out;

// The language layer's modules this layer uses, under the names they use.
use super::chains;
use super::lang::{budget, eval, facts, memo, rules, site, value, version};
use crate::validate;
