//! Checks on the losing answers themselves, shared by every workload: statuses that are
//! neither a winner nor the promised conflict (a 409 where 412 was promised reads
//! differently from a 5xx), conflict answers that lack what a client needs to recover,
//! bodies that leak internals, and problem details whose `status` is not the real one.

use std::sync::LazyLock;

use regex::Regex;

use crate::history::{Outcome, RequestRecord};

use super::{witnesses, ViolationKind, WarningKind};

/// What the answers of one round (or of a whole counter run) show.
#[derive(Debug, Default)]
pub(super) struct Findings {
    pub violations: Vec<(ViolationKind, String)>,
    pub warnings: Vec<(WarningKind, String)>,
}

/// Every check of this module over `writes` (contended writes and probes).
pub(super) fn check(writes: &[&RequestRecord]) -> Findings {
    let mut found = Findings::default();
    if let Some(e) = unexpected_evidence(writes) {
        found.violations.push((ViolationKind::UnexpectedStatus, e));
    }
    let (violations, warnings) = unactionable(writes);
    if let Some(e) = violations {
        found
            .violations
            .push((ViolationKind::ConflictNotActionable, e));
    }
    if let Some(e) = warnings {
        found.warnings.push((WarningKind::ConflictNotActionable, e));
    }
    if let Some(e) = leaks(writes) {
        found.warnings.push((WarningKind::LeaksInternals, e));
    }
    if let Some(e) = problem_status(writes) {
        found.warnings.push((WarningKind::ProblemStatusMismatch, e));
    }
    found
}

/// The conflict statuses a write was promised, as words: `412`, `409 or 412`.
fn promised(w: &RequestRecord) -> Option<String> {
    let codes: Vec<&str> = w.promised.split_whitespace().collect();
    match codes.as_slice() {
        [] => None,
        [one] => Some((*one).to_string()),
        [rest @ .., last] => Some(format!("{} or {last}", rest.join(", "))),
    }
}

/// Statuses that mean "conflict" in some API's dialect: a mismatch between them is a
/// broken promise, not a server error.
fn is_conflict_like(status: u16) -> bool {
    matches!(status, 409 | 412 | 428)
}

/// Evidence for writes answered with neither a winner status nor the promised conflict:
/// conflict statuses other than the promised one first ("answered 409 where 412 was
/// promised"), then 5xx with their count and sample bodies, then anything else.
pub(super) fn unexpected_evidence(writes: &[&RequestRecord]) -> Option<String> {
    let unexpected: Vec<&RequestRecord> = writes
        .iter()
        .copied()
        .filter(|w| w.outcome == Outcome::Unexpected)
        .collect();
    if unexpected.is_empty() {
        return None;
    }
    let mut parts = Vec::new();
    let mut statuses: Vec<u16> = unexpected
        .iter()
        .filter_map(|w| w.status)
        .filter(|s| is_conflict_like(*s))
        .collect();
    statuses.sort_unstable();
    statuses.dedup();
    for status in statuses {
        let these: Vec<&RequestRecord> = unexpected
            .iter()
            .copied()
            .filter(|w| w.status == Some(status))
            .collect();
        let shown = witnesses(&these, |_| true);
        parts.push(match these.first().and_then(|w| promised(w)) {
            Some(p) => format!("answered {status} where {p} was promised ({shown})"),
            None => format!(
                "answered {status}, a conflict status the scenario does not promise ({shown})"
            ),
        });
    }
    let server_errors: Vec<&RequestRecord> = unexpected
        .iter()
        .copied()
        .filter(|w| w.status.is_some_and(|s| s >= 500))
        .collect();
    if !server_errors.is_empty() {
        parts.push(format!(
            "{} answered with a server error under contention ({}){}",
            server_errors.len(),
            witnesses(&server_errors, |_| true),
            sample_bodies(&server_errors)
        ));
    }
    let refused: Vec<&RequestRecord> = unexpected
        .iter()
        .copied()
        .filter(|w| matches!(w.status, Some(401 | 403)))
        .collect();
    if !refused.is_empty() {
        parts.push(format!(
            "{} answered 401 or 403: the server refused the credentials during the race ({}) \
             (an expired login? [auth] refresh = {{ every = \"...\" }} logs in again before a \
             round once the token is that old; a raced write is never sent again){}",
            refused.len(),
            witnesses(&refused, |_| true),
            sample_bodies(&refused)
        ));
    }
    let others: Vec<&RequestRecord> = unexpected
        .iter()
        .copied()
        .filter(|w| {
            w.status
                .is_some_and(|s| s < 500 && !is_conflict_like(s) && !matches!(s, 401 | 403))
        })
        .collect();
    if !others.is_empty() {
        parts.push(format!(
            "{} answered {}{}",
            others.len(),
            witnesses(&others, |_| true),
            sample_bodies(&others)
        ));
    }
    Some(format!(
        "{} write(s) got a status that is neither a winner nor the promised conflict: {}",
        unexpected.len(),
        parts.join("; ")
    ))
}

/// "; sample bodies: "a", "b"": up to two distinct bodies, cut short.
fn sample_bodies(writes: &[&RequestRecord]) -> String {
    let mut bodies: Vec<String> = Vec::new();
    for w in writes.iter().filter(|w| !w.body.is_empty()) {
        let body: String = w.body.chars().take(160).collect();
        if !bodies.contains(&body) {
            bodies.push(body);
        }
        if bodies.len() == 2 {
            break;
        }
    }
    match bodies.as_slice() {
        [] => String::new(),
        [one] => format!("; sample body: {one:?}"),
        many => format!(
            "; sample bodies: {}",
            many.iter()
                .map(|b| format!("{b:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Conflict answers that lack what the scenario requires: (as violations, as warnings).
fn unactionable(writes: &[&RequestRecord]) -> (Option<String>, Option<String>) {
    let conflicts = writes
        .iter()
        .filter(|w| w.outcome == Outcome::Conflict)
        .count();
    let mut out = (None, None);
    for (prefix, slot) in [("violation:", &mut out.0), ("warning:", &mut out.1)] {
        let lacking: Vec<(&RequestRecord, &str)> = writes
            .iter()
            .copied()
            .filter_map(|w| {
                w.conflict_missing
                    .strip_prefix(prefix)
                    .map(|missing| (w, missing.trim()))
            })
            .collect();
        if lacking.is_empty() {
            continue;
        }
        let shown: Vec<String> = lacking
            .iter()
            .take(3)
            .map(|(w, missing)| {
                let who = witnesses(&[*w], |_| true);
                format!("{who} lacks {missing}")
            })
            .collect();
        let more = if lacking.len() > 3 {
            format!(", and {} more", lacking.len() - 3)
        } else {
            String::new()
        };
        let records: Vec<&RequestRecord> = lacking.iter().map(|(w, _)| *w).collect();
        *slot = Some(format!(
            "{} of {conflicts} conflict answer(s) lack what a client needs to recover: {}{more}{}",
            lacking.len(),
            shown.join("; "),
            sample_bodies(&records)
        ));
    }
    out
}

/// Patterns that show a stack trace in a response body.
const STACK_TRACE: &str = concat!(
    r"\bat [\w$.<>]+ ?\([^()\s]+:\d+(?::\d+)?\)",
    r"|Traceback \(most recent call last\)",
    r#"|File "[^"]+", line \d+"#,
    r"|goroutine \d+ \[",
    r"|panicked at ",
    r"|\.rb:\d+:in ",
    r"|Stack trace:",
    r"|#\d+ \S+\.php\(\d+\)",
    r"|\bat [\w.]+\([^)]*\) in \S+:line \d+",
    r"|\b(?:[a-z]\w*\.)+[A-Z]\w*(?:Exception|Error)\b",
);

/// Patterns that show SQL or a database driver's error in a response body.
const SQL: &str = concat!(
    r"SQLSTATE",
    r"|duplicate key value violates",
    r"|\bviolates (?:foreign key|unique|not-null|check) constraint\b",
    r"|\bORA-\d{5}\b",
    r"|\bSQLITE_[A-Z]+\b",
    r"|\bER_[A-Z_]{4,}\b",
    r"|syntax error at or near",
    r"|\bSELECT\s[^\n]{1,200}?\sFROM\s",
    r"|\bINSERT INTO\s",
    r"|\bUPDATE\s+\S+\s+SET\s",
    r"|\bDELETE FROM\s",
    r"|psycopg2|\bPG::|org\.postgresql|java\.sql\.|SqlException|SequelizeUniqueConstraintError",
);

/// Both kinds of pattern as one: almost no answer shows either, and one search for both
/// is one pass over the body, not two.
static EITHER: LazyLock<Regex> = LazyLock::new(|| pattern(&format!("(?:{STACK_TRACE})|(?:{SQL})")));

/// Each kind apart, to say what was found; built the first time an answer shows one.
static EACH: LazyLock<[Regex; 2]> = LazyLock::new(|| [STACK_TRACE, SQL].map(pattern));

fn pattern(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|e| unreachable!("the pattern is valid: {e}"))
}

/// What in `body` shows internals: "a stack trace (`at x (y.js:1)`)", "SQL (`SQLSTATE`)".
pub(super) fn internals(body: &str) -> Vec<String> {
    let mut found = Vec::new();
    if !EITHER.is_match(body) {
        return found;
    }
    let [stack_trace, sql] = &*EACH;
    for (what, pattern) in [("a stack trace", stack_trace), ("SQL", sql)] {
        if let Some(m) = pattern.find(body) {
            let text: String = m.as_str().chars().take(80).collect();
            found.push(format!("{what} (`{text}`)"));
        }
    }
    found
}

/// Losing answers (conflicts and unexpected statuses) whose bodies leak internals.
fn leaks(writes: &[&RequestRecord]) -> Option<String> {
    let leaking: Vec<(&RequestRecord, Vec<String>)> = writes
        .iter()
        .copied()
        .filter(|w| matches!(w.outcome, Outcome::Conflict | Outcome::Unexpected))
        .map(|w| (w, internals(&w.body)))
        .filter(|(_, found)| !found.is_empty())
        .collect();
    let (first, what) = leaking.first()?;
    let records: Vec<&RequestRecord> = leaking.iter().map(|(w, _)| *w).collect();
    Some(format!(
        "{} losing answer(s) show internals ({}); {} shows {}",
        leaking.len(),
        witnesses(&records, |_| true),
        witnesses(&[*first], |_| true),
        what.join(" and ")
    ))
}

/// Problem details (RFC 9457) whose `status` member differs from the answer's status.
fn problem_status(writes: &[&RequestRecord]) -> Option<String> {
    let mismatched: Vec<(&RequestRecord, i64)> = writes
        .iter()
        .copied()
        .filter(|w| {
            crate::scenario::media_type_matches("application/problem+json", &w.content_type)
        })
        .filter_map(|w| {
            if w.status.is_some_and(|s| plainly_states(&w.body, s)) {
                return None;
            }
            let claimed = status_member(&w.body)?;
            (Some(claimed) != w.status.map(i64::from)).then_some((w, claimed))
        })
        .collect();
    let (first, claimed) = mismatched.first()?;
    let records: Vec<&RequestRecord> = mismatched.iter().map(|(w, _)| *w).collect();
    Some(format!(
        "{} problem+json answer(s) carry a `status` member that is not their status ({}); {} says \"status\": {claimed}",
        mismatched.len(),
        witnesses(&records, |_| true),
        witnesses(&[*first], |_| true),
    ))
}

/// Whether `body` plainly has no `status` member but `status` (or none): no `\u` escape
/// could spell a name, and the one `"status"` in it, if any, is followed by `:` and
/// that number. A quick yes for the common answer spares parsing it
/// ([`status_member`]); no means it must be parsed. Any member named `status` is
/// written `"status"` when no `\u` spells it, so the one found is the only candidate:
/// it is the member, with the number seen (or a value that is no integer, or the body
/// is no JSON object), or there is no such member.
fn plainly_states(body: &str, status: u16) -> bool {
    use memchr::memmem::Finder;
    static ESCAPE: LazyLock<Finder> = LazyLock::new(|| Finder::new(b"\\u"));
    static NAME: LazyLock<Finder> = LazyLock::new(|| Finder::new(b"\"status\""));
    let bytes = body.as_bytes();
    if ESCAPE.find(bytes).is_some() {
        return false;
    }
    let mut found = NAME.find_iter(bytes);
    let Some(at) = found.next() else {
        return true;
    };
    if found.next().is_some() {
        return false;
    }
    let blank = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    let after = &bytes[at + b"\"status\"".len()..];
    let Some(value) = after
        .iter()
        .position(|b| !blank(b))
        .and_then(|i| after[i..].strip_prefix(b":"))
    else {
        return false;
    };
    let value = &value[value.iter().position(|b| !blank(b)).unwrap_or(value.len())..];
    let digits = value.iter().take_while(|b| b.is_ascii_digit()).count();
    let mut number = itoa::Buffer::new();
    &value[..digits] == number.format(status).as_bytes()
}

/// The integer `status` member of a JSON object `body` (the last one, as a JSON value
/// reads a repeated member), if the body is one; its other members are skipped unread
/// (no value built), since every losing answer of a long run passes through here.
fn status_member(body: &str) -> Option<i64> {
    use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};

    /// Whether a member's name is `status`, read borrowed or unescaped, never kept.
    struct IsStatus(bool);
    impl<'de> serde::Deserialize<'de> for IsStatus {
        fn deserialize<D: Deserializer<'de>>(de: D) -> Result<IsStatus, D::Error> {
            struct Name;
            impl Visitor<'_> for Name {
                type Value = IsStatus;

                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("a member name")
                }

                fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<IsStatus, E> {
                    Ok(IsStatus(name == "status"))
                }
            }
            de.deserialize_str(Name)
        }
    }

    struct Status;
    impl<'de> Visitor<'de> for Status {
        type Value = Option<i64>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON object")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<i64>, A::Error> {
            let mut status = None;
            while let Some(IsStatus(is_status)) = map.next_key()? {
                if is_status {
                    status = map.next_value::<serde_json::Value>()?.as_i64();
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(status)
        }
    }
    let mut de = serde_json::Deserializer::from_str(body);
    let status = (&mut de).deserialize_map(Status).ok()?;
    de.end().ok()?;
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_stack_traces_and_sql_in_bodies() {
        let body = r#"{"error":"internal error","trace":"at db.Pool.query (pool.js:42)","code":"SQLSTATE 23505"}"#;
        let found = internals(body);
        assert_eq!(
            found,
            [
                "a stack trace (`at db.Pool.query (pool.js:42)`)",
                "SQL (`SQLSTATE`)"
            ]
        );
        assert_eq!(
            internals("Traceback (most recent call last):\n  File \"app.py\", line 3").len(),
            1
        );
        assert_eq!(
            internals("org.hibernate.exception.ConstraintViolationException: could not insert")
                .len(),
            1
        );
        assert_eq!(
            internals("ERROR: duplicate key value violates unique constraint \"users_email\"")
                .len(),
            1
        );
    }

    #[test]
    fn the_status_member_is_read_from_a_json_object_body_only() {
        let body = r#"{"type":"about:blank","detail":"If-Match \"4\" does not match","status":412,"x":[1,{"status":500}]}"#;
        assert_eq!(status_member(body), Some(412));
        assert_eq!(status_member(r#"{"status":409,"status":412}"#), Some(412));
        assert_eq!(status_member(r#"{"status":"412"}"#), None);
        assert_eq!(status_member(r#"{"title":"Conflict"}"#), None);
        assert_eq!(status_member(r#"[{"status":412}]"#), None);
        assert_eq!(status_member(r#"{"status":412} trailing"#), None);
        assert_eq!(status_member("not json"), None);
    }

    #[test]
    fn a_status_plainly_stated_is_one_the_body_states_when_parsed() {
        let common = r#"{"current_etag":"\"6\"","detail":"If-Match \"5\" does not match the current ETag \"6\"","status":412,"title":"Precondition Failed","type":"about:blank"}"#;
        assert!(
            plainly_states(common, 412),
            "the common answer takes the quick way"
        );
        assert!(!plainly_states(common, 409));
        for body in [
            common,
            r#"{"title":"Conflict"}"#,
            r#"{"status" : 412 }"#,
            "{\"status\"\n:\t412}",
            r#"{"status":412.5}"#,
            r#"{"status":4120}"#,
            r#"{"status":-412}"#,
            r#"{"status":0412}"#,
            r#"{"status":"412"}"#,
            r#"{"status":409,"status":412}"#,
            r#"{"error":{"status":500}}"#,
            r#"{"error":{"status":412},"status":500}"#,
            r#"{"\u0073tatus":500,"x":{"status":412}}"#,
            r#"{"x\"status":500}"#,
            r#"{"x\"status":412,"status":500}"#,
            r#"{"detail":"the \"status\": 412 line","status":500}"#,
            r#"[{"status":412}]"#,
            r#"{"status":412} trailing"#,
            "not json \"status\": 412",
            "",
        ] {
            let parsed = status_member(body);
            if plainly_states(body, 412) {
                assert!(matches!(parsed, None | Some(412)), "{body}: {parsed:?}");
            }
        }
    }

    #[test]
    fn ordinary_conflict_bodies_show_no_internals() {
        for body in [
            r#"{"type":"about:blank","title":"Conflict","status":409,"detail":"email a@b.c is already taken"}"#,
            r#"{"detail":"cannot go from cancelled to shipped","current_state":"cancelled"}"#,
            "conflict",
            r#"{"error":"conflict","reason":"Document update conflict."}"#,
            "Please select a different name from the list and update the settings.",
        ] {
            assert!(internals(body).is_empty(), "{body}: {:?}", internals(body));
        }
    }
}
