//! The language layer of resolve: name tables, statement placement, values,
//! evaluation and its budget, facts and versions. It knows nothing of images
//! beyond the syntax: assembling variants is [`super::image`]'s, which may use
//! this layer but never the reverse.

pub mod budget;
pub mod eval;
pub mod facts;
pub mod memo;
pub mod names;
pub mod rules;
pub mod scope;
pub mod site;
pub mod structure;
pub mod value;
pub mod version;

// What this layer's modules use from outside it, under the names they use.
use super::loader;
use crate::validate;
