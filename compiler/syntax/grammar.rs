//! The pest parser generated from `grammar/aid.pest`.

#[derive(pest_derive::Parser)]
#[grammar = "grammar/aid.pest"]
pub struct AidParser;
