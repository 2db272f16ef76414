//! The top level of a scenario file: `name`, `description`, `target`, `timeout`,
//! `sync`, `writer_connections`, `headers`, `query`, `thresholds` and
//! `inconclusive_above`, and the assembly of the [`Scenario`].
//!
//! [`read_scenario`] reads the `[[setup]]` steps first (`setup.rs`: their captures are
//! placeholders in everything after them), then the root table's own keys and `[auth]`
//! (`auth.rs`), then hands each section to its reader: `[workload]` to
//! `workload_table.rs` (which names the workload every later table is checked against),
//! `[resource]` to `resource.rs`, `[write]` to `write.rs`, `[expect]` to `expect.rs` and
//! `thresholds` to `thresholds.rs`. Every section is read even when an earlier one is
//! wrong, so one pass reports every problem.

use std::time::Duration;

use super::diagnostic::Site;
use super::env::Context;
use super::keys::ROOT_KEYS;
use super::model::{ConnectionPolicy, Scenario, SyncChoice, Target};
use super::reader::{did_you_mean, list_and, Field, Reader, Table};
use super::request::{headers, shared_query, Place};
use super::workload::{names_where, WorkloadId};

pub(super) fn read_scenario(
    r: &mut Reader<'_>,
    root: &toml_edit::Table,
) -> Option<(Scenario, Site)> {
    let root = r.root(root, ROOT_KEYS);
    r.all_captures = super::setup::prescan(&root);
    let mut setup = super::setup::read(r, &root);
    let (name, name_site) = scenario_name(r, &root);
    let description = root.field("description").map_or(Some(String::new()), |f| {
        r.string(&f, Context::Plain).map(|s| s.value)
    });
    let target = root
        .field("target")
        .map_or(Some(Target::Builtin), |f| target(r, &f));
    let timeout = root
        .field("timeout")
        .map_or(Some(Duration::from_secs(10)), |f| r.positive_duration(&f));
    let headers = root
        .field("headers")
        .map_or(Some(Vec::new()), |f| headers(r, &f, Place::Headers));
    let query = root
        .field("query")
        .map_or(Some(None), |f| shared_query(r, &f).map(Some));
    let auth = super::auth::read(r, &root, setup.as_mut());
    let sync = root
        .field("sync")
        .map_or(Some(SyncChoice::Auto), |f| sync_mode(r, &f));
    let (id, workload) = super::workload_table::read(r, &root);
    let writer_connections = root
        .field("writer_connections")
        .map_or(Some(ConnectionPolicy::default()), |f| {
            writer_connections(r, &f, id, sync)
        });
    let (resource, facts) = super::resource::read(r, &root, id);
    let writes = super::write::read(r, &root, id, facts);
    let expect = super::expect::read(r, &root, id);
    let thresholds = root
        .field("thresholds")
        .and_then(|f| super::thresholds::read(r, &f, id))
        .unwrap_or_default();
    let inconclusive_above = root
        .field("inconclusive_above")
        .map_or(Some(None), |f| inconclusive_above(r, &f).map(Some));

    let (
        Some(name),
        Some(description),
        Some(target),
        Some(timeout),
        Some(headers),
        Some(query),
        Some(setup),
        Some(auth),
        Some(workload),
        Some(resource),
        Some(writes),
        Some(expect),
        Some(sync),
        Some(writer_connections),
        Some(inconclusive_above),
    ) = (
        name,
        description,
        target,
        timeout,
        headers,
        query,
        setup,
        auth,
        workload,
        resource,
        writes,
        expect,
        sync,
        writer_connections,
        inconclusive_above,
    )
    else {
        return None;
    };
    let scenario = Scenario {
        path: r.source.file.to_path_buf(),
        name,
        description,
        target,
        headers,
        query,
        setup,
        auth,
        workload,
        resource,
        writes,
        expect,
        timeout,
        sync,
        writer_connections,
        secrets: super::Secrets::of(&r.secrets),
        thresholds,
        inconclusive_above,
    };
    Some((scenario, name_site))
}

/// `name`, or the file stem; and where it is written (the whole file for the stem).
fn scenario_name(r: &mut Reader<'_>, root: &Table<'_>) -> (Option<String>, Site) {
    if let Some(f) = root.field("name") {
        let site = r.source.site(f.at);
        let name = r.string(&f, Context::Plain).and_then(|s| {
            if is_valid_name(&s.value) {
                return Some(s.value);
            }
            r.error(
                s.at,
                format!("`{}` is not a valid scenario name", s.value),
                format!(
                    "names use letters, digits, `_`, `.` and `-`, e.g. name = \"{}\"",
                    sanitized_name(&s.value)
                ),
            );
            None
        });
        return (name, site);
    }
    let stem = r
        .source
        .file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    if is_valid_name(&stem) {
        return (Some(stem), Site::whole_file());
    }
    r.error_at_start(
        format!("the file name does not make a valid scenario name (`{stem}`)"),
        format!(
            "add name = \"{}\" (letters, digits, `_`, `.` and `-`) or rename the file",
            sanitized_name(&stem)
        ),
    );
    (None, Site::whole_file())
}

fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

fn sanitized_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let cleaned = cleaned.trim_matches('-');
    if cleaned.is_empty() {
        "my-scenario".to_string()
    } else {
        cleaned.to_string()
    }
}

/// Reads `target`. An address from the environment is not a secret (reports show where
/// they ran), but a password in its user-info part is.
fn target(r: &mut Reader<'_>, f: &Field<'_>) -> Option<Target> {
    let known_secrets = r.secrets.len();
    let text = r.string(f, Context::Plain)?;
    r.secrets.truncate(known_secrets);
    let value = text.value.trim();
    if value == "builtin" {
        return Some(Target::Builtin);
    }
    let hint = "use \"builtin\" for the embedded reference server, or a base URL like \
                \"https://api.example.com\""
        .to_string();
    match url::Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => {
            let credentials = super::Secrets::new();
            credentials.add_credentials(&url);
            for secret in credentials.values() {
                if !r.secrets.contains(&secret) {
                    r.secrets.push(secret);
                }
            }
            Some(Target::Url(url))
        }
        Ok(url) => {
            r.error(
                text.at,
                format!(
                    "target `{value}` uses the `{}` scheme; contend speaks http and https",
                    url.scheme()
                ),
                hint,
            );
            None
        }
        Err(e) => {
            r.error(
                text.at,
                format!("target `{value}` is neither `builtin` nor a URL: {e}"),
                hint,
            );
            None
        }
    }
}

/// `inconclusive_above`: a rate, as a number from 0 to 1 or a string (`"10%"`).
fn inconclusive_above(r: &mut Reader<'_>, f: &Field<'_>) -> Option<f64> {
    let (text, at) = if let Some(n) = f.item.as_float() {
        (n.to_string(), f.at)
    } else if let Some(n) = f.item.as_integer() {
        (n.to_string(), f.at)
    } else if f.item.as_str().is_some() {
        let s = r.string(f, Context::Plain)?;
        (s.value, s.at)
    } else {
        r.wrong_type(f, "a rate like \"10%\" or 0.1");
        return None;
    };
    match crate::metrics::parse_rate(&text) {
        Ok(rate) => Some(rate),
        Err(message) => {
            r.error(
                at,
                format!("inconclusive_above: {message}"),
                format!(
                    "the share of writes that may be indeterminate or not sent before the \
                     verdict is INCONCLUSIVE, e.g. {}",
                    f.example
                ),
            );
            None
        }
    }
}

/// `sync`: `auto` or one of the [`crate::scenario::SyncMode`] names.
fn sync_mode(r: &mut Reader<'_>, f: &Field<'_>) -> Option<SyncChoice> {
    let text = r.string(f, Context::Plain)?;
    match text.value.parse::<SyncChoice>() {
        Ok(choice) => Some(choice),
        Err(message) => {
            let names = SyncChoice::ALL.map(SyncChoice::name);
            let guess = did_you_mean(text.value.trim(), &names)
                .map(|g| format!("did you mean `{g}`? "))
                .unwrap_or_default();
            r.error(
                text.at,
                message,
                format!("{guess}for example: {}", f.example),
            );
            None
        }
    }
}

/// `writer_connections`: one of the [`ConnectionPolicy`] names, refused where it means
/// nothing: a workload whose writers run free, and `kept` with `single-packet` (`sync`
/// as the file says; `None` when it is wrong, and then not checked against).
fn writer_connections(
    r: &mut Reader<'_>,
    f: &Field<'_>,
    id: Option<WorkloadId>,
    sync: Option<SyncChoice>,
) -> Option<ConnectionPolicy> {
    let text = r.string(f, Context::Plain)?;
    let policy = match text.value.parse::<ConnectionPolicy>() {
        Ok(policy) => policy,
        Err(message) => {
            let names = ConnectionPolicy::ALL.map(ConnectionPolicy::name);
            let guess = did_you_mean(text.value.trim(), &names)
                .map(|g| format!("did you mean `{g}`? "))
                .unwrap_or_default();
            r.error(
                text.at,
                message,
                format!("{guess}for example: {}", f.example),
            );
            return None;
        }
    };
    if let Some(rules) = id.map(WorkloadId::rules).filter(|w| !w.released_together) {
        let owners = list_and(&names_where(|w| w.released_together));
        r.error(
            f.key_at,
            format!(
                "`writer_connections` is for workloads whose writes are released together \
                 ({owners}); a {} workload's writers run free, each on one connection kept \
                 for the run",
                rules.name
            ),
            "remove it".to_string(),
        );
        return None;
    }
    if let Some(why) = sync.and_then(|mode| policy.refused_in(mode)) {
        r.error(
            text.at,
            format!("writer_connections = \"{policy}\" cannot be used: {why}"),
            "write writer_connections = \"fresh\" (what single-packet does), or remove it"
                .to_string(),
        );
        return None;
    }
    Some(policy)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_json::json;

    use super::*;
    use crate::scenario::model::*;
    use crate::scenario::parse_str;
    use crate::scenario::test_support::*;

    #[test]
    fn inconclusive_above_takes_a_fraction_or_a_percentage_and_refuses_anything_else() {
        let with = |value: &str| {
            STALE_WRITE.replacen(
                "timeout",
                &format!("inconclusive_above = {value}\ntimeout"),
                1,
            )
        };
        assert_eq!(
            parse(&with("0.25")).expect("valid").inconclusive_above,
            Some(0.25)
        );
        assert_eq!(
            parse(&with("\"5%\"")).expect("valid").inconclusive_above,
            Some(0.05)
        );
        assert_eq!(parse(STALE_WRITE).expect("valid").inconclusive_above, None);
        let d = only_error(&with("\"lots\""));
        assert!(
            d.message
                .starts_with("inconclusive_above: `lots` is not a number"),
            "{}",
            d.message
        );
        assert!(d.hint.unwrap_or_default().contains("INCONCLUSIVE"));
        let d = only_error(&with("2"));
        assert!(
            d.message.contains("not a rate from 0 to 1"),
            "{}",
            d.message
        );
        let d = only_error(&with("[1]"));
        assert!(d.message.starts_with("wrong type for"), "{}", d.message);
    }

    #[test]
    fn a_full_stale_write_file_with_inline_tables_parses_into_the_model() {
        let s = parse(STALE_WRITE).expect("valid");
        assert_eq!(s.name, "notes-etag-stale-write");
        assert_eq!(s.description, "Concurrent edits of one note");
        assert_eq!(s.path, Path::new("scenarios/test.toml"));
        assert_eq!(
            s.target,
            Target::Url(url::Url::parse("https://api.example.com/v1/").unwrap())
        );
        assert_eq!(s.timeout, Duration::from_secs(2));
        assert_eq!(s.headers.len(), 1);
        assert_eq!(s.headers[0].0, "Authorization");
        assert_eq!(s.headers[0].1, Template::literal("Bearer token"));
        assert_eq!(s.workload.kind, WorkloadKind::StaleWrite);
        assert_eq!((s.workload.writers, s.workload.rounds), (32, 200));

        let Setup::Create {
            request,
            expect,
            id,
        } = &s.resource.setup
        else {
            panic!("expected Setup::Create, got {:?}", s.resource.setup);
        };
        assert_eq!(request.method, "POST", "methods are upper-cased");
        assert_eq!(rendered(&request.path), "/notes");
        assert!(matches!(&request.body, Body::Json(j) if *j == json!({"text": "seed"})));
        assert_eq!(expect, &vec![201]);
        assert_eq!(id, &Locator::Header("Location".into()));

        assert_eq!(s.resource.read.method, "GET", "read method defaults to GET");
        assert_eq!(rendered(&s.resource.read.path), "/notes/1");
        assert_eq!(s.resource.version, Some(Locator::Header("ETag".into())));
        assert_eq!(s.resource.value, None);

        assert_eq!(s.writes[0].method, "PUT");
        assert_eq!(s.writes[0].headers[0].0, "If-Match");
        assert_eq!(rendered(&s.writes[0].headers[0].1), "v7");
        let Body::Json(body) = &s.writes[0].body else {
            panic!("expected a JSON body, got {:?}", s.writes[0].body);
        };
        assert_eq!(
            body,
            &json!({"text": "{marker}", "by": "{writer}", "round": "{round}", "tags": ["a", 1, true]})
        );
        assert_eq!(s.expect.winner, vec![200, 204]);
        assert_eq!(s.expect.conflict, vec![412]);
        assert!(s.secrets.is_empty());
    }

    #[test]
    fn optional_keys_take_their_defaults() {
        let text = r#"
[workload]
kind = "stale-write"
[resource]
create = { path = "/notes", id = "json:/id" }
read = { path = "{id}" }
version = "json:"
[write]
method = "PUT"
path = "{id}"
body = "{version} {marker}"
[expect]
winner = [200]
conflict = [409]
"#;
        let s = parse(text).expect("valid");
        assert_eq!(s.name, "test");
        assert_eq!(s.description, "");
        assert_eq!(s.target, Target::Builtin);
        assert_eq!(s.timeout, Duration::from_secs(10));
        assert_eq!(s.sync, SyncChoice::Auto);
        assert!(s.headers.is_empty());
        assert_eq!((s.workload.writers, s.workload.rounds), (16, 50));
        let Setup::Create {
            request, expect, ..
        } = &s.resource.setup
        else {
            panic!("expected Setup::Create");
        };
        assert_eq!(request.method, "POST");
        assert_eq!(expect, &vec![200, 201]);
        assert!(matches!(request.body, Body::None));
        assert_eq!(s.resource.version, Some(Locator::Json(String::new())));
        assert!(matches!(&s.writes[0].body, Body::Text(_)));

        let counter = text
            .replace("stale-write", "counter")
            .replace(
                "version = \"json:\"",
                "version = \"json:\"\nvalue = \"json:/n\"",
            )
            .replace("{marker}", "{next}");
        let c = parse(&counter).expect("valid counter");
        assert_eq!(
            c.workload.kind,
            WorkloadKind::Counter {
                retry: RetryPolicy::default(),
                strategies: vec![Strategy {
                    kind: StrategyKind::Backoff,
                    retry: RetryPolicy::default(),
                }],
            }
        );
        assert_eq!(c.workload.rounds, 10, "increments default to 10");
    }

    #[test]
    fn environment_references_are_interpolated_and_their_values_kept_as_secrets() {
        let text = STALE_WRITE
            .replace(
                "target = \"https://api.example.com/v1/\"",
                "target = \"${CONTEND_TARGET:-builtin}\"",
            )
            .replace("Bearer token", "Bearer ${API_TOKEN}")
            .replace(
                "description = \"Concurrent edits of one note\"",
                "description = \"costs $$5 ${UNSET:-or less}\"",
            );
        let env = |name: &str| match name {
            "API_TOKEN" => Some("t0k3n{x}".to_string()),
            _ => None,
        };
        let s = parse_str(Path::new("a.toml"), &text, &env).expect("valid");
        assert_eq!(s.target, Target::Builtin, "the default applies when unset");
        assert_eq!(s.description, "costs $5 or less");
        assert_eq!(
            rendered(&s.headers[0].1),
            "Bearer t0k3n{x}",
            "braces from the environment are data, not placeholders"
        );
        assert_eq!(s.secrets.values(), vec!["t0k3n{x}".to_string()]);

        let env =
            |name: &str| (name == "CONTEND_TARGET").then(|| "http://localhost:8080".to_string());
        let text = text.replace("${API_TOKEN}", "${API_TOKEN:-}");
        let s = parse_str(Path::new("a.toml"), &text, &env).expect("valid");
        assert_eq!(
            s.target,
            Target::Url(url::Url::parse("http://localhost:8080").unwrap())
        );
        assert!(s.secrets.is_empty(), "an address is not a secret");

        let env = |name: &str| {
            (name == "CONTEND_TARGET").then(|| "https://ci:pa55word@staging.example".to_string())
        };
        let s = parse_str(Path::new("a.toml"), &text, &env).expect("valid");
        assert_eq!(
            s.secrets.values(),
            vec!["pa55word".to_string(), "ci:pa55word".to_string()],
            "a password in it is, and so are the Basic credentials made of it"
        );
    }

    #[test]
    fn an_unset_environment_variable_is_an_error_at_its_value() {
        let text = STALE_WRITE.replace("Bearer token", "Bearer ${API_TOKEN}");
        let d = only_error(&text);
        assert_eq!(d.message, "environment variable API_TOKEN is not set");
        assert_eq!(
            d.hint.as_deref(),
            Some("export API_TOKEN=... or give a default: ${API_TOKEN:-value}")
        );
        assert_eq!(at(&d), position_of(&text, "\"Bearer"));
    }

    #[test]
    fn sync_names_the_release_mode_or_auto() {
        for choice in SyncChoice::ALL {
            let text = format!("sync = \"{}\"\n{STALE_WRITE}", choice.name());
            assert_eq!(parse(&text).expect("valid").sync, choice);
        }
        for mode in SyncMode::ALL {
            let text = format!("sync = \"{}\"\n{STALE_WRITE}", mode.name());
            assert_eq!(parse(&text).expect("valid").sync, SyncChoice::Fixed(mode));
        }
    }

    #[test]
    fn kept_connections_with_auto_leave_single_packet_out_of_the_choice() {
        let text = format!("writer_connections = \"kept\"\n{STALE_WRITE}");
        let s = parse(&text).expect("valid: auto then chooses among the other modes");
        assert_eq!(
            s.sync.candidates(s.writer_connections),
            vec![SyncMode::LastByte, SyncMode::Barrier]
        );
        assert_eq!(
            SyncChoice::Auto.candidates(ConnectionPolicy::Fresh),
            vec![
                SyncMode::SinglePacket,
                SyncMode::LastByte,
                SyncMode::Barrier
            ]
        );
    }

    #[test]
    fn an_unknown_sync_mode_is_an_error_with_a_suggestion() {
        let text = format!("sync = \"last_byte\"\n{STALE_WRITE}");
        let d = only_error(&text);
        assert_eq!(
            d.message,
            "unknown sync mode `last_byte`; the modes are auto (the default), barrier, last-byte \
             and single-packet"
        );
        assert_eq!(at(&d), (1, 8));
        assert!(d
            .hint
            .unwrap_or_default()
            .starts_with("did you mean `last-byte`?"),);
    }

    #[test]
    fn writer_connections_are_fresh_unless_the_file_keeps_them() {
        assert_eq!(
            parse(STALE_WRITE).expect("valid").writer_connections,
            ConnectionPolicy::Fresh
        );
        for policy in ConnectionPolicy::ALL {
            let text = format!("writer_connections = \"{policy}\"\n{STALE_WRITE}");
            assert_eq!(parse(&text).expect("valid").writer_connections, policy);
        }
        let text =
            format!("sync = \"single-packet\"\nwriter_connections = \"fresh\"\n{STALE_WRITE}");
        assert_eq!(
            parse(&text).expect("valid").writer_connections,
            ConnectionPolicy::Fresh,
            "what single-packet does anyway"
        );
    }

    #[test]
    fn an_unknown_connection_policy_is_an_error_with_a_suggestion() {
        let text = format!("writer_connections = \"frsh\"\n{STALE_WRITE}");
        let d = only_error(&text);
        assert_eq!(
            d.message,
            "unknown connection policy `frsh`; the policies are fresh (new connections every \
             round) and kept (kept for the scenario)"
        );
        assert_eq!(at(&d), (1, 22));
        assert_eq!(
            d.hint.as_deref(),
            Some("did you mean `fresh`? for example: writer_connections = \"fresh\"")
        );
    }

    #[test]
    fn kept_connections_are_refused_with_single_packet_which_opens_one_every_round() {
        let text =
            format!("sync = \"single-packet\"\nwriter_connections = \"kept\"\n{STALE_WRITE}");
        let d = only_error(&text);
        assert_eq!(
            d.message,
            "writer_connections = \"kept\" cannot be used: sync = \"single-packet\" opens one \
             HTTP/2 connection for every round (all of the round's writes on it), so its \
             connections cannot be kept"
        );
        assert_eq!(at(&d), position_of(&text, "\"kept\""));
    }

    #[test]
    fn writer_connections_are_refused_where_writers_run_free() {
        for (name, text) in [("counter", COUNTER), ("sustained", SUSTAINED)] {
            let text = format!("writer_connections = \"fresh\"\n{text}");
            let d = only_error(&text);
            assert_eq!(
                d.message,
                format!(
                    "`writer_connections` is for workloads whose writes are released together \
                     (stale-write, unique-create, transition, stock, idempotency and \
                     precondition-required); a {name} workload's writers run free, each on one \
                     connection kept for the run"
                )
            );
            assert_eq!(at(&d), (1, 1));
            assert_eq!(d.hint.as_deref(), Some("remove it"));
        }
    }

    #[test]
    fn a_policy_written_as_connections_is_pointed_at_writer_connections() {
        let text = format!("connections = \"kept\"\n{STALE_WRITE}");
        let d = only_error(&text);
        assert_eq!(d.message, "unknown key `connections` at the top level");
        assert!(
            d.hint
                .as_deref()
                .unwrap_or_default()
                .starts_with("did you mean `writer_connections`? valid keys: "),
            "not `belongs in [workload]`: {:?}",
            d.hint
        );

        let text = STALE_WRITE.replace("rounds = 200", "rounds = 200\nconnections = \"fresh\"");
        let d = only_error(&text);
        assert_eq!(
            d.message,
            "`connections` is the number of connections of sustained workloads"
        );
        assert_eq!(
            d.hint.as_deref(),
            Some(
                "to say how the writers' connections live, write writer_connections = \"fresh\" \
                 at the top level (above [workload])"
            )
        );
    }

    #[test]
    fn a_missing_top_level_section_points_at_the_file_start() {
        let end = STALE_WRITE.find("[expect]").unwrap();
        let d = only_error(&STALE_WRITE[..end]);
        assert_eq!(d.message, "missing required section [expect]");
        assert_eq!(d.snippet, None);
        assert_eq!(at(&d), (1, 1));
        assert!(d.hint.unwrap_or_default().contains("winner = [200, 204]"));
    }

    #[test]
    fn every_problem_in_a_file_is_reported_in_file_order() {
        let text = STALE_WRITE
            .replace("timeout = \"2s\"", "timeout = 2")
            .replace("writers = 32", "writers = 0")
            .replace("conflict = [412]", "conflict = [412, 42]");
        let errors = errors(&text);
        let messages: Vec<&str> = errors.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(errors.len(), 3, "{messages:#?}");
        assert!(messages[0].contains("`timeout` at the top level: expected a duration string"));
        assert!(messages[1].contains("`writers` in [workload] must be between 1 and 4096, found 0"));
        assert!(messages[2].contains("42 in `conflict` in [expect] is not an HTTP status code"));
    }

    #[test]
    fn target_must_be_builtin_or_an_http_url() {
        let d = only_error(&STALE_WRITE.replace("https://api.example.com/v1/", "ftp://x"));
        assert!(d.message.contains("uses the `ftp` scheme"), "{}", d.message);
        let d = only_error(&STALE_WRITE.replace("https://api.example.com/v1/", "localhost"));
        assert!(
            d.message.contains("neither `builtin` nor a URL"),
            "{}",
            d.message
        );
    }

    #[test]
    fn names_and_header_names_are_checked() {
        let d = only_error(&STALE_WRITE.replace("notes-etag-stale-write", "notes etag"));
        assert_eq!(d.message, "`notes etag` is not a valid scenario name");
        assert!(d.hint.unwrap_or_default().contains("name = \"notes-etag\""));

        let d = only_error(&STALE_WRITE.replace("\"If-Match\" =", "\"If Match\" ="));
        assert_eq!(d.message, "`If Match` is not a valid header name");
    }

    #[test]
    fn dotted_keys_read_like_tables() {
        let text = STALE_WRITE
            .replace(
                "[workload]\nkind = \"stale-write\"",
                "[workload]\nkind.x = 1",
            )
            .replace(
                "read = { path = \"{id}\" }",
                "read.path = \"{id}\"\nread.methd = \"GET\"",
            );
        let errors = errors(&text);
        assert_eq!(errors.len(), 2, "{errors:#?}");
        assert_eq!(
            errors[0].message,
            "wrong type for `kind` in [workload]: expected a string, found a table"
        );
        assert_eq!(at(&errors[0]), position_of(&text, "kind.x"));
        assert_eq!(errors[1].message, "unknown key `methd` in [resource.read]");
        assert_eq!(at(&errors[1]), position_of(&text, "methd"));
    }

    #[test]
    fn an_array_of_tables_is_not_a_table() {
        let text = STALE_WRITE.replace("[expect]", "[[expect]]");
        let d = only_error(&text);
        assert_eq!(
            d.message,
            "wrong type for `expect` at the top level: expected a table, found an array of tables"
        );
        assert_eq!(at(&d), position_of(&text, "[[expect]]"));
    }

    #[test]
    fn every_shipped_scenario_parses_and_together_they_run_every_workload() {
        let mut ran = Vec::new();
        for (path, text) in SHIPPED {
            let s = parse(text).unwrap_or_else(|e| panic!("{path}: {e:#?}"));
            ran.push(s.workload.kind.id());
        }
        for id in crate::scenario::WorkloadId::ALL {
            assert!(ran.contains(&id), "no scenario in scenarios/ runs {id}");
        }
    }
}
