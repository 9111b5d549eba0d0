//! The integration tests: one binary (see ARCHITECTURE.md, "Testing").

mod cli;
mod e2e;
mod examples;
mod golden;
mod hostile;
mod konflux;
mod plans;
mod stdlib;
mod support;
mod ui;
