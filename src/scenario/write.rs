//! `[write]`: the contended write, and what the workload requires of it; or `[[write]]`,
//! several, for writers that send different requests in one race (a `PUT` against a
//! `PATCH`, a write against a `DELETE`): writer `w` sends the `w mod n`-th.
//!
//! The request itself (method, path, headers, query, body and their placeholders) is
//! read by `request.rs`. What this file adds, for each write, comes from the registry
//! ([`super::workload`]): the placeholders the workload's write must send
//! ([`WorkloadRules::write_needs`], some of them in the body), that an unconditional
//! workload's write must not send `{version}`, that identical writes may not vary their
//! body by writer, and that a `{version}` or `{id}` sent has somewhere to come from in
//! `[resource]`.

use super::keys::WRITE_KEYS;
use super::model::{RequestTemplate, Var};
use super::reader::{Reader, Table};
use super::request::{request, Place, Request};
use super::resource::ResourceFacts;
use super::workload::{Need, WorkloadId, WorkloadRules};

/// Reads `[write]` (or `[[write]]`) for `workload` (`None` when unknown: only the
/// requests are checked).
pub(super) fn read(
    r: &mut Reader<'_>,
    root: &Table<'_>,
    workload: Option<WorkloadId>,
    facts: Option<ResourceFacts>,
) -> Option<Vec<RequestTemplate>> {
    let field = r.required(root, "write")?;
    let tables = r.tables(&field, WRITE_KEYS, true)?;
    if tables.is_empty() {
        r.error(
            field.at,
            "`write` lists no write",
            "write one [write] table, or several [[write]] tables".to_string(),
        );
        return None;
    }
    let rules = workload.map(WorkloadId::rules);
    if let (Some(rules), true) = (rules, tables.len() > 1) {
        if rules.identical_writes {
            r.error(
                field.key_at,
                format!(
                    "the writers' requests must be identical in an {} scenario, but                      [[write]] gives them {} different ones",
                    rules.name,
                    tables.len()
                ),
                "write one [write] table".to_string(),
            );
            return None;
        }
    }
    let mut writes = Vec::new();
    let mut ok = true;
    for t in &tables {
        match one(r, t, workload, facts) {
            Some(write) => writes.push(write),
            None => ok = false,
        }
    }
    ok.then_some(writes)
}

/// One write table, checked against the workload.
fn one(
    r: &mut Reader<'_>,
    t: &Table<'_>,
    workload: Option<WorkloadId>,
    facts: Option<ResourceFacts>,
) -> Option<RequestTemplate> {
    let request = request(r, t, Place::Write(workload), None)?;
    let deletes = request.template.method == "DELETE";
    let rules = workload.map(WorkloadId::rules);
    let mut ok = version(r, t, &request, rules, facts);
    let Some(rules) = rules else {
        return ok.then_some(request.template);
    };
    if deletes && !rules.resource_optional && facts.is_some_and(|f| !f.each_round) {
        r.error_at_table(
            t,
            format!(
                "a DELETE that wins removes the resource, so the next {} round would have \
                 nothing to race",
                rules.name
            ),
            "race a fresh resource every round: add each = \"round\" to [resource].create"
                .to_string(),
        );
        ok = false;
    }
    let vars = &request.vars;
    for need in rules.write_needs {
        if !need.in_body && need.var != Var::Version && !vars.contains(&need.var) {
            unmet(r, t, need);
            ok = false;
        }
    }
    // Only a workload whose resource is optional can be without one to give `{id}`.
    if rules.resource_optional && vars.contains(&Var::Id) && facts.is_some_and(|f| !f.has_setup) {
        r.error_at_table(
            t,
            "[write] uses `{id}`, but [resource] has neither `create` nor `id`",
            "add create = { ... } (it runs once) or id = \"/path\" to [resource], or write \
             the path itself"
                .to_string(),
        );
        ok = false;
    }
    let body_at = request.body_at.or(t.at());
    if rules.identical_writes {
        let varying: Vec<String> = [Var::Writer, Var::Marker]
            .into_iter()
            .filter(|v| request.body_vars.contains(v))
            .map(|v| format!("`{{{}}}`", v.name()))
            .collect();
        if !varying.is_empty() {
            let message = format!(
                "the writers' requests must be identical in an {} scenario, but {} in \
                 the body makes each payload different (an API answers that with 422)",
                rules.name,
                varying.join(" and ")
            );
            let hint = "keep {writer} and {marker} out of the body; headers may carry them";
            match body_at {
                Some(at) => r.error(at, message, hint.to_string()),
                None => r.error_at_table(t, message, hint.to_string()),
            }
            ok = false;
        }
    }
    // A DELETE has no body to carry a marker: its win shows as the resource gone.
    for need in rules.write_needs.iter().filter(|n| n.in_body && !deletes) {
        if !request.body_vars.contains(&need.var) {
            match body_at {
                Some(at) => r.error(at, need.why, need.example.to_string()),
                None => r.error_at_table(t, need.why, need.example.to_string()),
            }
            ok = false;
        }
    }
    ok.then_some(request.template)
}

/// `{version}`: sent when the workload needs it, not sent when its writes are
/// unconditional, and read from `[resource]` when sent. Whether all is well.
fn version(
    r: &mut Reader<'_>,
    t: &Table<'_>,
    request: &Request,
    rules: Option<&WorkloadRules>,
    facts: Option<ResourceFacts>,
) -> bool {
    let Some(rules) = rules else {
        return true;
    };
    let sends = request.vars.contains(&Var::Version);
    let need = rules
        .write_needs
        .iter()
        .find(|n| n.var == Var::Version && !n.in_body);
    match need {
        Some(need) if !sends => unmet(r, t, need),
        _ if rules.unconditional && sends => r.error_at_table(
            t,
            format!(
                "[write] sends `{{version}}`, but a {} write must be unconditional",
                rules.name
            ),
            "remove the If-Match header (or the version field): contend checks that the API \
             refuses the write without it"
                .to_string(),
        ),
        _ if sends && facts.is_some_and(|f| !f.has_version) => r.error_at_table(
            t,
            "[write] sends `{version}`, but [resource] has no `version` to read it from",
            "add version = \"header:ETag\" (or \"json:/version\") to [resource]".to_string(),
        ),
        _ => return true,
    }
    false
}

/// Reports a placeholder the workload's write must send and does not.
fn unmet(r: &mut Reader<'_>, t: &Table<'_>, need: &Need) {
    r.error_at_table(t, need.why, need.example.to_string());
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::scenario::model::*;
    use crate::scenario::test_support::*;

    #[test]
    fn a_write_without_version_is_an_error_suggesting_if_match() {
        let text = STALE_WRITE.replace("headers = { \"If-Match\" = \"{version}\" }\n", "");
        let d = only_error(&text);
        assert!(
            d.message.contains("never sends `{version}`"),
            "{}",
            d.message
        );
        assert_eq!(at(&d), position_of(&text, "[write]"));
        assert_eq!(
            d.hint.as_deref(),
            Some("send the version you read: headers = { \"If-Match\" = \"{version}\" } or json = { version = \"{version}\" }")
        );
    }

    #[test]
    fn version_in_the_query_or_body_counts_as_sent() {
        let text = STALE_WRITE.replace(
            "headers = { \"If-Match\" = \"{version}\" }",
            "query = { v = \"{version}\" }",
        );
        assert!(parse(&text).is_ok());
    }

    #[test]
    fn a_stale_write_without_marker_in_the_body_is_an_error() {
        let text = STALE_WRITE.replace("text = \"{marker}\"", "text = \"mine\"");
        let d = only_error(&text);
        assert_eq!(
            d.message,
            "the [write] body must contain `{marker}` in a stale-write scenario"
        );
        assert_eq!(at(&d), position_of(&text, "{ text = \"mine\""));
        assert_eq!(
            d.hint.as_deref(),
            Some("put {marker} in the body so the final state shows which writer won, e.g. json = { text = \"{marker}\" }")
        );
    }

    #[test]
    fn a_counter_write_must_send_next() {
        let text = COUNTER.replace("count = \"{next}\"", "count = \"{value}\"");
        let d = only_error(&text);
        assert!(d.message.contains("must contain `{next}`"), "{}", d.message);
    }

    #[test]
    fn filtered_placeholders_count_as_sent_and_render_encoded() {
        let s = parse(ETCD_COUNTER).expect("valid: {next|base64} counts as sending {next}");
        let vars = crate::scenario::Vars {
            id: Some("/contend/counter".into()),
            version: Some(json!("12")),
            value: Some(6),
            ..Default::default()
        };
        let Body::Json(body) = &s.writes[0].body else {
            panic!("expected a JSON body");
        };
        let sent = crate::scenario::template::render_json(body, &vars);
        assert_eq!(sent["compare"][0]["key"], "L2NvbnRlbmQvY291bnRlcg==");
        assert_eq!(sent["compare"][0]["mod_revision"], "12");
        assert_eq!(sent["success"][0]["request_put"]["value"], "Nw==");
    }

    #[test]
    fn writers_may_take_different_writes_in_turn_and_a_delete_needs_no_marker() {
        let text = STALE_WRITE
            .replace("id = \"header:Location\" }", "id = \"header:Location\", each = \"round\" }")
            .replace("[write]", "[[write]]")
            .replace(
                "\n[expect]",
                "\n[[write]]\nmethod = \"DELETE\"\npath = \"{id}\"\nheaders = { \"If-Match\" = \"{version}\" }\n\n[expect]",
            );
        let s = parse(&text).expect("valid");
        let methods: Vec<&str> = s.writes.iter().map(|w| w.method.as_str()).collect();
        assert_eq!(methods, ["PUT", "DELETE"]);
        assert_eq!(s.write_for(3).method, "DELETE");
        assert_eq!(s.write_for(4).method, "PUT");

        let once = text.replace(", each = \"round\"", "");
        let d = only_error(&once);
        assert_eq!(
            d.message,
            "a DELETE that wins removes the resource, so the next stale-write round would have \
             nothing to race"
        );
        assert_eq!(at(&d), position_of(&once, "[[write]]\nmethod = \"DELETE\""));
    }

    #[test]
    fn each_write_is_checked_on_its_own_and_idempotent_writers_send_one() {
        let text = STALE_WRITE.replace("[write]", "[[write]]").replace(
            "\n[expect]",
            "\n[[write]]\nmethod = \"PATCH\"\npath = \"{id}\"\njson = { text = \"{marker}\" }\n\n[expect]",
        );
        let d = only_error(&text);
        assert!(
            d.message.contains("never sends `{version}`"),
            "{}",
            d.message
        );
        assert_eq!(at(&d), position_of(&text, "[[write]]\nmethod = \"PATCH\""));

        let (_, idempotency) = shipped(crate::scenario::WorkloadId::Idempotency);
        let at_write = idempotency.find("[write]").unwrap();
        let end = idempotency[at_write..].find("\n[expect]").unwrap() + at_write;
        let table = idempotency[at_write..end].replace("[write]", "[[write]]");
        let text = format!(
            "{}{table}\n{table}{}",
            &idempotency[..at_write],
            &idempotency[end..]
        );
        let d = only_error(&text);
        assert!(
            d.message
                .starts_with("the writers' requests must be identical in an idempotency scenario"),
            "{}",
            d.message
        );
    }
}
