//! aidc: the `.aid` compiler. Stages: parse -> resolve -> plan -> emit; see
//! ARCHITECTURE.md. The library does no IO: files reach it through
//! [`resolve::Loader`]. Its Rust API is not a stable interface; the language,
//! the CLI and the output formats are.

pub mod diag;
pub mod source;
pub mod syntax;
