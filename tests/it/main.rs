//! The integration tests: one binary (see ARCHITECTURE.md, "Testing").

mod cli;
mod examples;
mod hostile;
mod support;
mod ui;
