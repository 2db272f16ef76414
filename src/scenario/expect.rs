//! `[expect]`: what the API promises to answer: the winner and conflict statuses, what a
//! conflict answer must carry (`actionable`), and how to tell a winner from a conflict
//! when both share a status (`winner_when`).
//!
//! A workload whose writes are all to be refused (precondition-required) promises 428
//! and no winner unless the file says otherwise; for every other workload `winner` and
//! `conflict` are required and must not overlap.

use super::env::Context;
use super::keys::{ACTIONABLE_KEYS, EXPECT_KEYS, WINNER_WHEN_KEYS};
use super::model::{Actionable, BodyMatch, Expect, Level, Locator};
use super::reader::{Element, Field, Reader, Spanned, Table};
use super::request::locator_text;
use super::workload::WorkloadId;

/// Reads `[expect]` for `workload`. An unconditional workload (the registry's
/// [`WorkloadRules::unconditional`](super::workload::WorkloadRules::unconditional))
/// may leave it out, and may not name a winner.
pub(super) fn read(
    r: &mut Reader<'_>,
    root: &Table<'_>,
    workload: Option<WorkloadId>,
) -> Option<Expect> {
    let unconditional = workload.is_some_and(|w| w.rules().unconditional);
    // What an unconditional write promises: any 2xx is a failure, 428 the refusal.
    if unconditional && root.field("expect").is_none() {
        return Some(Expect {
            winner: (200..300).collect(),
            conflict: vec![428],
            actionable: None,
            winner_when: None,
        });
    }
    let t = r
        .required(root, "expect")
        .and_then(|f| r.table(&f, EXPECT_KEYS))?;
    let winner = match (unconditional, t.field("winner")) {
        (true, Some(f)) => {
            r.error(
                f.key_at,
                format!(
                    "a {} scenario has no winner: every unconditional write must be refused",
                    workload.map_or("this", WorkloadId::name)
                ),
                "remove `winner`; a 2xx answer is reported as precondition_not_required"
                    .to_string(),
            );
            None
        }
        (true, None) => Some(Spanned {
            value: (200..300).collect(),
            at: 0,
        }),
        (false, _) => r.required(&t, "winner").and_then(|f| r.statuses(&f)),
    };
    let conflict = match (unconditional, t.field("conflict")) {
        (true, None) => Some(Spanned {
            value: vec![428],
            at: 0,
        }),
        (_, Some(f)) => r.statuses(&f),
        (false, None) => r.required(&t, "conflict").and_then(|f| r.statuses(&f)),
    };
    let actionable = t
        .field("actionable")
        .map_or(Some(None), |f| actionable(r, &f).map(Some));
    let winner_when = t
        .field("winner_when")
        .map_or(Some(None), |f| winner_when(r, &f).map(Some));
    let (winner, conflict, actionable, winner_when) =
        (winner?, conflict?, actionable?, winner_when?);
    let both: Vec<String> = conflict
        .value
        .iter()
        .filter(|c| winner.value.contains(c))
        .map(u16::to_string)
        .collect();
    if !both.is_empty() && winner_when.is_none() {
        r.error(
            conflict.at,
            format!(
                "status {} is listed as both a winner and a conflict",
                both.join(", ")
            ),
            "a status can mean only one outcome: remove it from one of the lists, or, when the \
             API answers both with it and its body tells them apart, add \
             winner_when = { json = \"/succeeded\", equals = true }"
                .to_string(),
        );
        return None;
    }
    Some(Expect {
        winner: winner.value,
        conflict: conflict.value,
        actionable,
        winner_when,
    })
}

/// `winner_when = { json = "/pointer", equals = VALUE }`.
fn winner_when(r: &mut Reader<'_>, f: &Field<'_>) -> Option<BodyMatch> {
    let t = r.table(f, WINNER_WHEN_KEYS)?;
    let pointer = r.required(&t, "json").and_then(|f| {
        let text = r.string(&f, Context::Plain)?;
        let pointer = text.value.trim();
        if pointer.is_empty() || pointer.starts_with('/') {
            return Some(pointer.to_string());
        }
        r.error(
            text.at,
            format!("JSON pointer `{pointer}` must be empty or start with `/`"),
            format!("write json = \"/{pointer}\""),
        );
        None
    });
    let equals = r
        .required(&t, "equals")
        .and_then(|f| r.json(&f))
        .map(|(json, _)| json);
    Some(BodyMatch {
        pointer: pointer?,
        equals: equals?,
    })
}

/// `[expect.actionable]`: what every conflict answer must carry.
fn actionable(r: &mut Reader<'_>, f: &Field<'_>) -> Option<Actionable> {
    let t = r.table(f, ACTIONABLE_KEYS)?;
    let carries = t.field("carries").map_or(Some(Vec::new()), |f| {
        let elements = r.elements(&f, &[], "locators like \"header:ETag\"")?;
        let found: Vec<Option<Locator>> = elements
            .into_iter()
            .map(|e| match e {
                Element::Text(text) => locator_text(r, &text, &f.describe()),
                Element::Table(_) => None,
            })
            .collect();
        found.into_iter().collect::<Option<Vec<_>>>()
    });
    let content_types = t.field("content_type").map_or(Some(Vec::new()), |f| {
        let elements = r.elements(&f, &[], "media types like \"application/problem+json\"")?;
        let mut out = Vec::new();
        let mut ok = true;
        for e in elements {
            let Element::Text(text) = e else {
                ok = false;
                continue;
            };
            let value = text.value.trim().to_ascii_lowercase();
            let valid = value == "json"
                || value
                    .split_once('/')
                    .is_some_and(|(a, b)| is_media_token(a) && is_media_token(b));
            if valid {
                out.push(value);
            } else {
                r.error(
                    text.at,
                    format!("`{}` is not a media type", text.value),
                    "write a type/subtype such as \"application/problem+json\", or \"json\" for \
                     application/json and every +json type"
                        .to_string(),
                );
                ok = false;
            }
        }
        ok.then_some(out)
    });
    let level = t.field("level").map_or(Some(Level::Violation), |f| {
        let text = r.string(&f, Context::Plain)?;
        match text.value.trim() {
            "violation" => Some(Level::Violation),
            "warning" => Some(Level::Warning),
            other => {
                r.error(
                    text.at,
                    format!("unknown level `{other}` for {}", f.describe()),
                    "write level = \"violation\" (fails the scenario) or level = \"warning\""
                        .to_string(),
                );
                None
            }
        }
    });
    let (carries, content_types, level) = (carries?, content_types?, level?);
    if carries.is_empty() && content_types.is_empty() {
        r.error_at_table(
            &t,
            format!("{} asks for nothing", f.describe()),
            "list what a conflict answer must carry: carries = [\"header:ETag\"] and/or \
             content_type = [\"application/problem+json\"]"
                .to_string(),
        );
        return None;
    }
    Some(Actionable {
        carries,
        content_types,
        level,
    })
}

fn is_media_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$&-^_.+".contains(c))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::scenario::test_support::*;

    #[test]
    fn winner_when_lets_one_status_mean_either_outcome() {
        let s = parse(ETCD_COUNTER).expect("valid");
        assert_eq!(s.expect.winner, vec![200]);
        assert_eq!(s.expect.conflict, vec![200]);
        assert_eq!(
            s.expect.winner_when,
            Some(crate::scenario::BodyMatch {
                pointer: "/succeeded".into(),
                equals: json!(true),
            })
        );
        let without = ETCD_COUNTER.replace(
            "winner_when = { json = \"/succeeded\", equals = true }\n",
            "",
        );
        let d = only_error(&without);
        assert_eq!(
            d.message,
            "status 200 is listed as both a winner and a conflict"
        );
        assert!(d.hint.unwrap_or_default().contains("winner_when"));
    }

    #[test]
    fn winner_when_needs_a_pointer_and_a_value() {
        let text = ETCD_COUNTER.replace("json = \"/succeeded\"", "json = \"succeeded\"");
        let d = only_error(&text);
        assert_eq!(
            d.message,
            "JSON pointer `succeeded` must be empty or start with `/`"
        );
        assert_eq!(d.hint.as_deref(), Some("write json = \"/succeeded\""));

        let text = ETCD_COUNTER.replace(", equals = true", "");
        let d = only_error(&text);
        assert!(d.message.contains("equals"), "{}", d.message);

        let text = ETCD_COUNTER.replace("equals = true", "equal = true");
        let messages: Vec<String> = errors(&text).into_iter().map(|d| d.message).collect();
        assert!(
            messages.iter().any(|m| m.contains("unknown key `equal`")),
            "{messages:?}"
        );
    }

    #[test]
    fn winner_and_conflict_must_be_disjoint_status_lists() {
        let d = only_error(&STALE_WRITE.replace("conflict = [412]", "conflict = [412, 200]"));
        assert_eq!(
            d.message,
            "status 200 is listed as both a winner and a conflict"
        );

        let d = only_error(&STALE_WRITE.replace("conflict = [412]", "conflict = 412"));
        assert_eq!(d.hint.as_deref(), Some("write a list: conflict = [412]"));

        let d = only_error(&STALE_WRITE.replace("conflict = [412]", "conflict = []"));
        assert!(d.message.contains("is empty"));
    }
}
