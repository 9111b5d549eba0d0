//! The integration tests: one binary (see ARCHITECTURE.md, "Testing").

mod atomic;
mod build;
mod cli;
mod determinism;
mod e2e;
mod examples;
mod fmt;
mod golden;
mod hostile;
mod injection;
mod konflux;
mod plans;
mod repos;
mod secrets;
mod stdlib;
mod support;
mod ui;
mod verbs;
