//! The integration tests: one binary (see ARCHITECTURE.md, "Testing").

mod atomic;
mod build;
mod cli;
mod determinism;
mod digest_cache;
mod e2e;
mod examples;
mod fmt;
mod golden;
mod hostile;
mod injection;
mod keys;
mod konflux;
mod plans;
mod secrets;
mod stdlib;
mod support;
mod ui;
mod verbs;
