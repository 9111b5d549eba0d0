//! The integration tests: one binary (see ARCHITECTURE.md, "Testing").

mod architecture;
mod atomic;
mod build;
mod cli;
mod determinism;
mod digest_cache;
mod e2e;
mod examples;
mod fast_parse;
mod fedora_rules;
mod fmt;
mod golden;
mod hermetic_build;
mod hostile;
#[allow(dead_code)] // shared with tests/cases
mod hostile_case;
mod injection;
mod keys;
mod konflux;
#[allow(dead_code)] // shared with tests/cases
mod konflux_case;
mod pages;
mod plans;
mod repos;
mod secrets;
mod stdlib;
mod store;
#[allow(dead_code)] // shared with tests/cases
mod support;
mod ui;
mod verbs;
