//! Scenario files for the workload kinds beyond stale-write, one module per workload
//! (plus keys of one kind used in another, and `actionable`): each shape parses into
//! the model, and each mistake is one located diagnostic with a hint.

mod actionable;
mod counter;
mod idempotency;
mod kinds;
mod precondition_required;
mod stock;
mod transition;
mod unique_create;

use std::path::Path;

use contend::scenario::{parse_str, Diagnostic, Scenario};

/// Parses `text` as `scenarios/test.toml`.
fn parse(text: &str) -> Result<Scenario, Vec<Diagnostic>> {
    parse_str(Path::new("scenarios/test.toml"), text, &|_| None)
}

/// The one diagnostic `text` gets.
fn only_error(text: &str) -> Diagnostic {
    match parse(text) {
        Ok(s) => panic!("expected an error, parsed {}", s.name),
        Err(errors) => {
            assert_eq!(errors.len(), 1, "expected one error: {errors:#?}");
            errors.into_iter().next().expect("one error")
        }
    }
}

/// (line, column) of the first `needle` in `text`.
fn position_of(text: &str, needle: &str) -> (usize, usize) {
    let offset = text.find(needle).expect("needle in text");
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, column)
}

/// (line, column) of a diagnostic.
fn at(d: &Diagnostic) -> (usize, usize) {
    (d.line, d.column)
}
