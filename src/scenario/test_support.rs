//! What the scenario parser's tests share: the fixtures that several table readers are
//! tested on, and helpers that parse one and point at what it says.
//!
//! Fixtures are inline where a test asserts on their exact lines (a position, a value);
//! where a shipped file fits, it is included from `scenarios/` or `real-servers/`.

use std::path::Path;

use serde_json::json;

use super::model::Template;
use super::{parse_str, Diagnostic, Scenario, WorkloadId};

/// The spec's stale-write example: sections with inline sub-tables.
pub(crate) const STALE_WRITE: &str = r#"name = "notes-etag-stale-write"
description = "Concurrent edits of one note"
target = "https://api.example.com/v1/"
timeout = "2s"
headers = { Authorization = "Bearer token" }

[workload]
kind = "stale-write"
writers = 32
rounds = 200

[resource]
create = { method = "post", path = "/notes", json = { text = "seed" }, expect = [201], id = "header:Location" }
read = { path = "{id}" }
version = "header:ETag"

[write]
method = "PUT"
path = "{id}"
headers = { "If-Match" = "{version}" }
json = { text = "{marker}", by = "{writer}", round = "{round}", tags = ["a", 1, true] }

[expect]
winner = [200, 204]
conflict = [412]
"#;

/// A counter scenario written entirely in `[table]` form.
pub(crate) const COUNTER: &str = r#"[workload]
kind = "counter"
writers = 8
increments = 20

[workload.retry]
budget = 5
base = "2ms"
max = "1s"

[resource]
id = "/counters/1"
version = "json:/version"
value = "json:/count"

[resource.read]
method = "get"
path = "{id}"

[write]
method = "PATCH"
path = "{id}"

[write.query]
rev = "{version}"

[write.json]
count = "{next}"

[expect]
winner = [200]
conflict = [409, 412]
"#;

/// A sustained scenario: 4 connections on 2 hot notes for 100 attempts, open model.
pub(crate) const SUSTAINED: &str = r#"name = "sus"
target = "builtin"

[workload]
kind = "sustained"
connections = 4
resources = 2
requests = 100
rate = 500

[resource]
create = { method = "POST", path = "/notes", json = { count = 0 }, id = "header:Location" }
read = { path = "{id}" }
version = "header:ETag"
value = "json:/count"

[write]
method = "PUT"
path = "{id}"
headers = { "If-Match" = "{version}" }
json = { count = "{next}" }

[expect]
winner = [200]
conflict = [412]
"#;

/// A stale-write behind a login: a `[[setup]]` step that captures a token, `[auth]`
/// sending it and refreshing it, a bucket made first, and a shared query.
pub(crate) const LOGIN: &str = r#"name = "secure"
target = "builtin"
query = { api-version = "2" }

[[setup]]
name = "login"
path = "/auth/token"
json = { username = "contend", password = "contend-secret" }
capture = { token = "json:/access_token" }

[[setup]]
name = "bucket"
method = "PUT"
path = "/buckets/b-{unique}"
headers = { "X-Token-Seen" = "{token}" }
expect = [201]
capture = { bucket = "header:Location" }

[auth]
bearer = "{token}"
refresh = { every = "50s", on = [401] }

[workload]
kind = "stale-write"
writers = 4
rounds = 5
pace = "10ms"

[resource]
id = "{bucket}/objects/a"
create = { method = "PUT", path = "{id}", body = "seed", expect = [201] }
read = { path = "{id}" }
version = "header:ETag"

[write]
method = "PUT"
path = "{id}"
headers = { "If-Match" = "{version}" }
body = "{marker}"

[expect]
winner = [200]
conflict = [412]
"#;

/// etcd's compare-and-swap counter, as shipped in real-servers/etcd: a known key, base64
/// templates, a body that decides the winner, and a decoded counter value. Its target is
/// `${ETCD_URL}`, which [`parse`] sets.
pub(crate) const ETCD_COUNTER: &str = include_str!("../../real-servers/etcd/counter.toml");

/// Every scenario shipped in `scenarios/`, with its path.
pub(crate) const SHIPPED: [(&str, &str); 13] = [
    (
        "scenarios/db-rev-stale-write.toml",
        include_str!("../../scenarios/db-rev-stale-write.toml"),
    ),
    (
        "scenarios/docs-version-stale-write.toml",
        include_str!("../../scenarios/docs-version-stale-write.toml"),
    ),
    (
        "scenarios/files-create-only.toml",
        include_str!("../../scenarios/files-create-only.toml"),
    ),
    (
        "scenarios/items-stock.toml",
        include_str!("../../scenarios/items-stock.toml"),
    ),
    (
        "scenarios/notes-etag-counter-strategies.toml",
        include_str!("../../scenarios/notes-etag-counter-strategies.toml"),
    ),
    (
        "scenarios/notes-etag-counter.toml",
        include_str!("../../scenarios/notes-etag-counter.toml"),
    ),
    (
        "scenarios/notes-etag-stale-write.toml",
        include_str!("../../scenarios/notes-etag-stale-write.toml"),
    ),
    (
        "scenarios/notes-etag-sustained.toml",
        include_str!("../../scenarios/notes-etag-sustained.toml"),
    ),
    (
        "scenarios/notes-precondition-required.toml",
        include_str!("../../scenarios/notes-precondition-required.toml"),
    ),
    (
        "scenarios/orders-transition.toml",
        include_str!("../../scenarios/orders-transition.toml"),
    ),
    (
        "scenarios/payments-idempotency.toml",
        include_str!("../../scenarios/payments-idempotency.toml"),
    ),
    (
        "scenarios/slots-booking.toml",
        include_str!("../../scenarios/slots-booking.toml"),
    ),
    (
        "scenarios/users-unique-create.toml",
        include_str!("../../scenarios/users-unique-create.toml"),
    ),
];

/// The first shipped scenario of workload `id`, parsed and as text.
pub(crate) fn shipped(id: WorkloadId) -> (Scenario, &'static str) {
    SHIPPED
        .iter()
        .find_map(|(_, text)| {
            let s = parse(text).ok()?;
            (s.workload.kind.id() == id).then_some((s, *text))
        })
        .unwrap_or_else(|| panic!("no scenario in scenarios/ runs {id}"))
}

/// `text` with `line` added at the top of `section` (`[workload]`, say).
pub(crate) fn with_line_in(text: &str, section: &str, line: &str) -> String {
    let header = format!("\n{section}");
    let at = text.find(&header).expect("the section is in the text") + header.len();
    let at = at + text[at..].find('\n').map_or(text.len() - at, |i| i + 1);
    format!("{}{line}\n{}", &text[..at], &text[at..])
}

/// `text` without the first line of `section` that starts with `prefix`.
pub(crate) fn without_line_in(text: &str, section: &str, prefix: &str) -> String {
    let start = text
        .find(&format!("\n{section}"))
        .expect("the section is in the text")
        + 1;
    let at = start
        + text[start..]
            .find(&format!("\n{prefix}"))
            .expect("the line is in the section")
        + 1;
    let end = at + text[at..].find('\n').map_or(text.len() - at, |i| i + 1);
    format!("{}{}", &text[..at], &text[end..])
}

/// The environment the tests parse in: only `ETCD_URL` is set.
pub(crate) fn test_env(name: &str) -> Option<String> {
    (name == "ETCD_URL").then(|| "http://127.0.0.1:2379".to_string())
}

/// Parses `text` as `scenarios/test.toml`.
pub(crate) fn parse(text: &str) -> Result<Scenario, Vec<Diagnostic>> {
    parse_str(Path::new("scenarios/test.toml"), text, &test_env)
}

/// Every diagnostic for `text`, which must not parse.
pub(crate) fn errors(text: &str) -> Vec<Diagnostic> {
    match parse(text) {
        Ok(s) => panic!("expected errors, parsed {}", s.name),
        Err(errors) => errors,
    }
}

/// The only diagnostic for `text`.
pub(crate) fn only_error(text: &str) -> Diagnostic {
    let errors = errors(text);
    assert_eq!(errors.len(), 1, "expected one error: {errors:#?}");
    errors.into_iter().next().unwrap_or_else(|| unreachable!())
}

/// (line, column) of the first `needle` in `text`.
pub(crate) fn position_of(text: &str, needle: &str) -> (usize, usize) {
    let offset = text.find(needle).expect("needle in text");
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, column)
}

/// Where a diagnostic points.
pub(crate) fn at(d: &Diagnostic) -> (usize, usize) {
    (d.line, d.column)
}

/// A template rendered with `{id}` = `/notes/1` and `{version}` = `v7`.
pub(crate) fn rendered(t: &Template) -> String {
    t.render(&crate::scenario::Vars {
        id: Some("/notes/1".into()),
        version: Some(json!("v7")),
        ..Default::default()
    })
}
