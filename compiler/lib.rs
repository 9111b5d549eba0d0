//! aidc: the `.aid` compiler. Stages: parse -> resolve -> plan -> emit and
//! konflux, run by [`driver`]; see ARCHITECTURE.md. The library does no IO: files reach it through
//! [`resolve::Loader`]. Its Rust API is not a stable interface; the language,
//! the CLI and the output formats are.

pub mod cli;
pub mod diag;
pub mod driver;
pub mod embedded;
pub mod emit;
pub mod explain;
pub mod format;
pub mod graph;
pub mod hash;
pub mod json;
pub mod konflux;
pub mod maps;
pub mod model;
pub mod par;
pub mod paths;
pub mod plan;
pub mod resolve;
pub mod source;
pub mod stdlib;
pub mod stdlib_docs;
pub mod syntax;
pub mod validate;
