//! The key catalogue: every table a scenario file may have, the keys it accepts, and an
//! example line for each (used in hints).
//!
//! These tables are the only list of keys. The [`Reader`](super::reader::Reader)
//! reports any other key as unknown, suggesting the closest one or, through
//! [`homes`], the section a misplaced key belongs to; those homes are derived from the
//! tables here, never written by hand. Which workload takes which `[workload]` key, and
//! which reads which `[resource]` locator, is the registry's business
//! ([`super::workload`]); the names of those keys come from its [`WorkloadKey`] and
//! [`LocatorKey`], so the two cannot drift apart.

use std::sync::OnceLock;

use super::reader::KeySpec;
use super::workload::{LocatorKey, WorkloadKey};

const fn key(name: &'static str, example: &'static str) -> KeySpec {
    KeySpec { name, example }
}

const fn workload_key(key: WorkloadKey, example: &'static str) -> KeySpec {
    KeySpec {
        name: key.name(),
        example,
    }
}

const fn locator_key(key: LocatorKey, example: &'static str) -> KeySpec {
    KeySpec {
        name: key.name(),
        example,
    }
}

/// The top level of a file. A key whose example starts with `[` is a section.
pub(super) const ROOT_KEYS: &[KeySpec] = &[
    key("name", r#"name = "notes-etag-stale-write""#),
    key(
        "description",
        r#"description = "Concurrent edits of a note""#,
    ),
    key("target", r#"target = "https://api.example.com""#),
    key("timeout", r#"timeout = "10s""#),
    key("sync", r#"sync = "last-byte""#),
    key("writer_connections", r#"writer_connections = "fresh""#),
    key(
        "headers",
        r#"headers = { Authorization = "Bearer ${API_TOKEN}" }"#,
    ),
    key(
        "query",
        r#"query = "sv=2021-08-06&sig=${SAS_SIGNATURE}" (sent as written) or query = { api-version = "2" }"#,
    ),
    key(
        "setup",
        r#"[[setup]] with name = "login", path = "/auth/token", json = { username = "${USER}", password = "${PASSWORD}" } and capture = { token = "json:/access_token" }"#,
    ),
    key(
        "auth",
        r#"[auth] with bearer = "{token}" (or basic = { user = "${USER}", password = "${PASSWORD}" })"#,
    ),
    key("workload", r#"[workload] with kind = "stale-write""#),
    key(
        "resource",
        r#"[resource] with create = { path = "/notes", id = "header:Location" }, read = { path = "{id}" } and version = "header:ETag""#,
    ),
    key(
        "write",
        r#"[write] with method = "PUT", path = "{id}", headers = { "If-Match" = "{version}" } and json = { text = "{marker}" }"#,
    ),
    key(
        "expect",
        r#"[expect] with winner = [200, 204] and conflict = [412]"#,
    ),
    key(
        "thresholds",
        r#"thresholds = ["latency.winner.p99 < 50ms", "lost_updates == 0"]"#,
    ),
    key("inconclusive_above", r#"inconclusive_above = "10%""#),
];

/// `[workload]`: `kind`, then every [`WorkloadKey`].
pub(super) const WORKLOAD_KEYS: &[KeySpec] = &[
    key("kind", r#"kind = "stale-write""#),
    workload_key(WorkloadKey::Writers, "writers = 16"),
    workload_key(WorkloadKey::Rounds, "rounds = 50"),
    workload_key(WorkloadKey::Increments, "increments = 10"),
    workload_key(
        WorkloadKey::Retry,
        r#"retry = { budget = 50, base = "1ms", max = "100ms" }"#,
    ),
    workload_key(
        WorkloadKey::Strategies,
        r#"strategies = ["backoff", "immediate", { name = "give-up", budget = 3 }]"#,
    ),
    workload_key(
        WorkloadKey::Targets,
        r#"targets = ["cancelled", "shipped"]"#,
    ),
    workload_key(WorkloadKey::Units, "units = 3"),
    workload_key(WorkloadKey::Connections, "connections = 8"),
    workload_key(WorkloadKey::Resources, "resources = 4"),
    workload_key(WorkloadKey::Duration, r#"duration = "10s""#),
    workload_key(WorkloadKey::Requests, "requests = 10000"),
    workload_key(WorkloadKey::Rate, "rate = 500"),
    workload_key(WorkloadKey::Pace, r#"pace = "1s""#),
];

/// A table in `[workload].strategies`.
pub(super) const STRATEGY_KEYS: &[KeySpec] = &[
    key("name", r#"name = "backoff""#),
    key("budget", "budget = 50"),
    key("base", r#"base = "1ms""#),
    key("max", r#"max = "100ms""#),
];

/// A table in `[workload].targets`.
pub(super) const TARGET_KEYS: &[KeySpec] = &[
    key("send", r#"send = "cancel""#),
    key("state", r#"state = "cancelled""#),
];

/// `[workload.retry]`.
pub(super) const RETRY_KEYS: &[KeySpec] = &[
    key("budget", "budget = 50"),
    key("base", r#"base = "1ms""#),
    key("max", r#"max = "100ms""#),
];

/// `[resource]`: how the resource is set up and read, then every [`LocatorKey`].
pub(super) const RESOURCE_KEYS: &[KeySpec] = &[
    key(
        "create",
        r#"create = { path = "/notes", json = { text = "seed" }, id = "header:Location" }"#,
    ),
    key("id", r#"id = "/notes/42""#),
    key("read", r#"read = { path = "{id}" }"#),
    locator_key(
        LocatorKey::Version,
        r#"version = "header:ETag" (or version = { read = "json:/_rev", write = "json:/rev" })"#,
    ),
    locator_key(LocatorKey::Value, r#"value = "json:/count""#),
    locator_key(LocatorKey::State, r#"state = "json:/state""#),
    locator_key(LocatorKey::Count, r#"count = "json:/count""#),
    locator_key(LocatorKey::Remaining, r#"remaining = "json:/stock""#),
    locator_key(LocatorKey::Claimed, r#"claimed = "json:/booked""#),
];

/// `[resource.create]`: a request, its expected statuses and where the new id is.
pub(super) const CREATE_KEYS: &[KeySpec] = &[
    key("method", r#"method = "POST""#),
    key("path", r#"path = "/notes""#),
    key(
        "headers",
        r#"headers = { "Content-Type" = "application/json" }"#,
    ),
    key("query", r#"query = { draft = "true" }"#),
    key("json", r#"json = { text = "seed" }"#),
    key("body", r#"body = "seed""#),
    key("expect", "expect = [200, 201]"),
    key("id", r#"id = "header:Location""#),
    key("each", r#"each = "round""#),
];

/// `version = { read, write }` in `[resource]`: where the version is in a read's answer
/// and in a write's.
pub(super) const VERSION_KEYS: &[KeySpec] = &[
    key("read", r#"read = "json:/_rev""#),
    key("write", r#"write = "json:/rev""#),
];

/// A `[[setup]]` step: a request, its expected statuses and what it captures.
pub(super) const SETUP_KEYS: &[KeySpec] = &[
    key("name", r#"name = "login""#),
    key("method", r#"method = "POST""#),
    key("path", r#"path = "/auth/token""#),
    key(
        "headers",
        r#"headers = { "Content-Type" = "application/json" }"#,
    ),
    key("query", r#"query = { restype = "container" }"#),
    key(
        "json",
        r#"json = { username = "${USER}", password = "${PASSWORD}" }"#,
    ),
    key("body", r#"body = "grant_type=client_credentials""#),
    key("expect", "expect = [200]"),
    key("capture", r#"capture = { token = "json:/access_token" }"#),
    key("secret", "secret = true"),
];

/// `[auth]`.
pub(super) const AUTH_KEYS: &[KeySpec] = &[
    key(
        "basic",
        r#"basic = { user = "${API_USER}", password = "${API_PASSWORD}" }"#,
    ),
    key("bearer", r#"bearer = "{token}""#),
    key("refresh", r#"refresh = { every = "50s", on = [401] }"#),
    key("cookies", "cookies = true"),
];

/// `[auth.basic]`.
pub(super) const BASIC_KEYS: &[KeySpec] = &[
    key("user", r#"user = "${API_USER}""#),
    key("password", r#"password = "${API_PASSWORD}""#),
];

/// `[auth.refresh]`.
pub(super) const REFRESH_KEYS: &[KeySpec] = &[
    key("step", r#"step = "login""#),
    key("every", r#"every = "50s""#),
    key("on", "on = [401]"),
];

/// `[resource.read]`: a request.
pub(super) const READ_KEYS: &[KeySpec] = &[
    key("method", r#"method = "GET""#),
    key("path", r#"path = "{id}""#),
    key("headers", r#"headers = { Accept = "application/json" }"#),
    key("query", r#"query = { fields = "all" }"#),
    key("json", r#"json = { id = "{id}" }"#),
    key("body", r#"body = "{id}""#),
];

/// `[write]`: a request.
pub(super) const WRITE_KEYS: &[KeySpec] = &[
    key("method", r#"method = "PUT""#),
    key("path", r#"path = "{id}""#),
    key("headers", r#"headers = { "If-Match" = "{version}" }"#),
    key("query", r#"query = { rev = "{version}" }"#),
    key("json", r#"json = { text = "{marker}" }"#),
    key("body", r#"body = "{marker}""#),
];

/// `[expect]`.
pub(super) const EXPECT_KEYS: &[KeySpec] = &[
    key("winner", "winner = [200, 204]"),
    key("conflict", "conflict = [412]"),
    key(
        "actionable",
        r#"actionable = { carries = ["header:ETag"], content_type = ["json"] }"#,
    ),
    key(
        "winner_when",
        r#"winner_when = { json = "/succeeded", equals = true }"#,
    ),
];

/// `[expect.actionable]`.
pub(super) const ACTIONABLE_KEYS: &[KeySpec] = &[
    key("carries", r#"carries = ["header:ETag"]"#),
    key(
        "content_type",
        r#"content_type = ["application/problem+json"]"#,
    ),
    key("level", r#"level = "violation""#),
];

/// `[expect.winner_when]`.
pub(super) const WINNER_WHEN_KEYS: &[KeySpec] = &[
    key("json", r#"json = "/succeeded""#),
    key("equals", "equals = true"),
];

/// The sections a misplaced key can be sent home to, and how hints name each.
const SECTIONS: [(&[KeySpec], &str); 6] = [
    (ROOT_KEYS, "at the top level (above the first [section])"),
    (WORKLOAD_KEYS, "in [workload]"),
    (RESOURCE_KEYS, "in [resource]"),
    (WRITE_KEYS, "in [write]"),
    (EXPECT_KEYS, "in [expect]"),
    (AUTH_KEYS, "in [auth]"),
];

/// The request tables, whose keys (`method`, `path`, `headers`, ...) have no one home.
const REQUEST_TABLES: [&[KeySpec]; 4] = [CREATE_KEYS, READ_KEYS, WRITE_KEYS, SETUP_KEYS];

/// Keys that belong to one section only, and where that is (`in [workload]`), for the
/// unknown-key hint: a key written under the wrong header is told where to move.
///
/// A key has a home when exactly one section accepts it, no request table does (those
/// keys could be meant for any request), and it is not itself a section (`expect` is
/// also a key of `create`).
pub(super) fn homes() -> &'static [(&'static str, &'static str)] {
    static HOMES: OnceLock<Vec<(&'static str, &'static str)>> = OnceLock::new();
    HOMES.get_or_init(|| {
        let in_table = |table: &[KeySpec], name: &str| table.iter().any(|k| k.name == name);
        let mut homes = Vec::new();
        for (table, home) in SECTIONS {
            for spec in table {
                let sections = SECTIONS
                    .iter()
                    .filter(|(t, _)| in_table(t, spec.name))
                    .count();
                let in_a_request = REQUEST_TABLES.iter().any(|t| in_table(t, spec.name));
                let is_section = spec.example.starts_with('[');
                if sections == 1 && !in_a_request && !is_section {
                    homes.push((spec.name, home));
                }
            }
        }
        homes
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::test_support::*;

    fn home(key: &str) -> Option<&'static str> {
        homes().iter().find(|(k, _)| *k == key).map(|(_, h)| *h)
    }

    #[test]
    fn every_workload_and_locator_key_of_the_registry_is_in_the_catalogue_once() {
        let workload: Vec<&str> = WORKLOAD_KEYS.iter().map(|k| k.name).collect();
        let registry: Vec<&str> = WorkloadKey::ALL.iter().map(|k| k.name()).collect();
        assert_eq!(workload[0], "kind");
        assert_eq!(workload[1..], registry[..]);
        for locator in LocatorKey::ALL {
            let found = RESOURCE_KEYS
                .iter()
                .filter(|k| k.name == locator.name())
                .count();
            assert_eq!(found, 1, "{locator:?} in [resource]");
        }
    }

    #[test]
    fn homes_are_derived_from_the_key_tables_sustained_keys_included() {
        assert_eq!(home("writers"), Some("in [workload]"));
        assert_eq!(home("connections"), Some("in [workload]"));
        assert_eq!(home("rate"), Some("in [workload]"));
        assert_eq!(home("claimed"), Some("in [resource]"));
        assert_eq!(home("winner_when"), Some("in [expect]"));
        assert_eq!(
            home("timeout"),
            Some("at the top level (above the first [section])")
        );
        assert_eq!(home("thresholds"), home("timeout"));
        for shared in [
            "method", "path", "headers", "json", "id", "expect", "budget",
        ] {
            assert_eq!(home(shared), None, "`{shared}` has more than one home");
        }
    }

    #[test]
    fn an_unknown_key_is_located_and_suggests_the_closest_valid_key() {
        let text = STALE_WRITE.replace("writers = 32", "writerz = 4");
        let d = only_error(&text);
        assert_eq!(d.message, "unknown key `writerz` in [workload]");
        assert_eq!(at(&d), (9, 1));
        assert_eq!(
            d.hint.as_deref(),
            Some("did you mean `writers`? valid keys: kind, writers, rounds, increments, retry, strategies, targets, units, connections, resources, duration, requests, rate, pace")
        );
        assert_eq!(d.snippet.as_deref(), Some("writerz = 4"));
    }

    #[test]
    fn an_unknown_key_in_an_inline_table_is_located_too() {
        let text = STALE_WRITE.replace("read = { path", "read = { pth = \"{id}\", path");
        let d = only_error(&text);
        assert_eq!(d.message, "unknown key `pth` in [resource.read]");
        assert_eq!(at(&d), position_of(&text, "pth"));
        assert!(d
            .hint
            .as_deref()
            .unwrap_or("")
            .starts_with("did you mean `path`?"));
    }

    #[test]
    fn a_top_level_key_written_under_a_section_is_told_where_it_belongs() {
        let text = STALE_WRITE.replace("conflict = [412]", "conflict = [412]\nwriters = 5");
        let d = only_error(&text);
        assert!(
            d.hint
                .as_deref()
                .unwrap_or_default()
                .starts_with("`writers` belongs in [workload]"),
            "not `winner`: {:?}",
            d.hint
        );

        let text = STALE_WRITE.replace("conflict = [412]", "conflict = [412]\ntimeout = \"5s\"");
        let d = only_error(&text);
        assert_eq!(d.message, "unknown key `timeout` in [expect]");
        assert!(
            d.hint
                .as_deref()
                .unwrap_or_default()
                .starts_with("`timeout` belongs at the top level (above the first [section])"),
            "{:?}",
            d.hint
        );
    }

    #[test]
    fn a_sustained_key_written_under_resource_is_told_it_belongs_in_workload() {
        let text = include_str!("../../scenarios/notes-etag-sustained.toml").replace(
            "value = \"json:/count\"",
            "value = \"json:/count\"\nrate = 100",
        );
        let d = only_error(&text);
        assert_eq!(d.message, "unknown key `rate` in [resource]");
        assert!(
            d.hint
                .as_deref()
                .unwrap_or_default()
                .starts_with("`rate` belongs in [workload]"),
            "{:?}",
            d.hint
        );
    }

    #[test]
    fn diagnostics_display_like_rustc() {
        let text = STALE_WRITE.replace("writers = 32", "writerz = 4");
        let d = only_error(&text);
        assert_eq!(
            d.to_string(),
            "error: scenarios/test.toml:9:1: unknown key `writerz` in [workload]\n  \
             |\n9 | writerz = 4\n  | ^^^^^^^\n  = hint: did you mean `writers`? valid keys: \
             kind, writers, rounds, increments, retry, strategies, targets, units, connections, \
             resources, duration, requests, rate, pace"
        );
    }
}
