//! Dialect 1, `/notes`: the version travels in a strong `ETag`, writes must carry
//! `If-Match`, and a stale one gets 412 (RFC 9110 §13.1.1). A note is replaced with
//! `PUT`, changed field by field with `PATCH` (the fields sent replace theirs, the others
//! stay: a JSON merge patch of one level), and removed with `DELETE` (204); all three
//! take the same `If-Match`, so writers of different methods can race one version.
//!
//! An unconditional `PUT` gets 428 (RFC 6585 §3; under `no-428` it is applied, under
//! `phantom-success` acknowledged and not stored); an unknown id gets 404 before any
//! precondition is looked at (§13.2.2). `If-Match` uses the strong comparison, so a weak
//! `W/"…"` tag never matches, and `*` matches any existing note.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use super::problem::{parse_object, Problem};
use super::store::{Doc, WriteOutcome};
use super::SharedState;

/// The `/notes` routes.
pub(super) fn routes() -> Router<SharedState> {
    Router::new().route("/notes", post(create_note)).route(
        "/notes/{id}",
        get(read_note)
            .put(replace_note)
            .patch(patch_note)
            .delete(delete_note),
    )
}

/// A note's `ETag`: its version as a strong entity-tag, e.g. `"3"`.
fn etag_of(doc: &Doc) -> String {
    format!("\"{}\"", doc.version)
}

/// `POST /notes`: stores a JSON object as a new note at version 1.
async fn create_note(State(state): State<SharedState>, body: Bytes) -> Response {
    let fields = match parse_object(&body) {
        Ok(fields) => fields,
        Err(reason) => return Problem::new(StatusCode::BAD_REQUEST, reason).into_response(),
    };
    let (id, doc) = state.notes.create(fields);
    (
        StatusCode::CREATED,
        [
            (header::LOCATION, format!("/notes/{id}")),
            (header::ETAG, etag_of(&doc)),
        ],
        Json(doc.body),
    )
        .into_response()
}

/// `GET /notes/{id}`: the note as last written, with its `ETag`.
async fn read_note(State(state): State<SharedState>, Path(id): Path<String>) -> Response {
    match state.notes.read(&id).filter(|doc| !doc.deleted) {
        Some(doc) => (
            StatusCode::OK,
            [(header::ETAG, etag_of(&doc))],
            Json(doc.body),
        )
            .into_response(),
        None => note_not_found(&id),
    }
}

/// `PUT /notes/{id}`: replaces the note if `If-Match` matches its current `ETag`.
async fn replace_note(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    change_note(&state, &id, &headers, &body, false).await
}

/// `PATCH /notes/{id}`: sets the fields sent, keeping the others, if `If-Match` matches.
async fn patch_note(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    change_note(&state, &id, &headers, &body, true).await
}

/// The note's `If-Match`; `None` when it has none and one is required (`no-428` takes
/// a missing one as `*`).
fn required_if_match(state: &SharedState, headers: &HeaderMap) -> Option<IfMatch> {
    match IfMatch::from_headers(headers) {
        Some(if_match) => Some(if_match),
        // `no-428`: an unconditional write is taken as `If-Match: *`.
        None if !state.policy.requires_precondition() => Some(IfMatch::parse("*")),
        None => None,
    }
}

/// 428 for a change without `If-Match`.
fn precondition_required() -> Response {
    Problem::new(
        StatusCode::PRECONDITION_REQUIRED,
        "this API requires conditional writes: send If-Match with the ETag you read",
    )
    .into_response()
}

/// `DELETE /notes/{id}`: removes the note if `If-Match` matches its current `ETag` (204).
async fn delete_note(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(cell) = state.notes.get(&id) else {
        return note_not_found(&id);
    };
    let Some(if_match) = required_if_match(&state, &headers) else {
        return precondition_required();
    };
    let outcome = state
        .policy
        .delete(&cell, |doc| if_match.matches(&etag_of(doc)))
        .await;
    match outcome {
        WriteOutcome::Applied(_) => {
            state.notes.remove(&id);
            StatusCode::NO_CONTENT.into_response()
        }
        WriteOutcome::Rejected(doc) => stale(&if_match, &doc),
    }
}

/// A `PUT` (the whole note) or a `PATCH` (`merge`: the fields sent over the current ones).
async fn change_note(
    state: &SharedState,
    id: &str,
    headers: &HeaderMap,
    body: &[u8],
    merge: bool,
) -> Response {
    let Some(cell) = state.notes.get(id) else {
        return note_not_found(id);
    };
    let mut fields = match parse_object(body) {
        Ok(fields) => fields,
        Err(reason) => return Problem::new(StatusCode::BAD_REQUEST, reason).into_response(),
    };
    let if_match = required_if_match(state, headers);
    if merge {
        // The fields as they are now; if the note changes before the write, its `ETag`
        // does too, and If-Match fails rather than merging over a stale copy.
        let mut merged = super::store::lock(&cell).body.clone();
        merged.append(&mut fields);
        fields = merged;
    }
    let Some(if_match) = if_match else {
        // `phantom-success`: it is acknowledged as if written, and nothing is stored.
        if state.policy.has(super::Bug::PhantomSuccess) {
            let told = state.policy.phantom(&cell, fields);
            return (
                StatusCode::OK,
                [(header::ETAG, etag_of(&told))],
                Json(told.body),
            )
                .into_response();
        }
        return precondition_required();
    };
    let outcome = state
        .policy
        .write(&cell, fields, |doc| {
            !doc.deleted && if_match.matches(&etag_of(doc))
        })
        .await;
    match outcome {
        WriteOutcome::Applied(doc) => (
            StatusCode::OK,
            [(header::ETAG, etag_of(&doc))],
            Json(doc.body),
        )
            .into_response(),
        WriteOutcome::Rejected(doc) => stale(&if_match, &doc),
    }
}

/// 412 for an `If-Match` that does not match the note (or a note just deleted).
fn stale(if_match: &IfMatch, doc: &Doc) -> Response {
    if doc.deleted {
        return Problem::new(
            StatusCode::PRECONDITION_FAILED,
            format!(
                "If-Match {} matches nothing: the note was deleted",
                if_match.raw
            ),
        )
        .into_response();
    }
    let current = etag_of(doc);
    Problem::new(
        StatusCode::PRECONDITION_FAILED,
        format!(
            "If-Match {} does not match the current ETag {current}",
            if_match.raw
        ),
    )
    .with_member("current_etag", current.clone())
    .with_etag(current)
    .into_response()
}

/// 404 for a note id that does not exist.
fn note_not_found(id: &str) -> Response {
    Problem::new(
        StatusCode::NOT_FOUND,
        format!("there is no note with id {id:?}"),
    )
    .into_response()
}

/// A parsed `If-Match` header: `*` or a list of entity-tags (RFC 9110 §13.1.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct IfMatch {
    /// The header as sent (several lines joined with ", "), for messages.
    pub(super) raw: String,
    /// What it asks for.
    condition: Condition,
}

/// The two forms of `If-Match`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Condition {
    /// `*`: any current representation.
    Any,
    /// One of these entity-tags; items that do not parse are dropped, so they match
    /// nothing.
    Tags(Vec<EntityTag>),
}

/// One entity-tag: `"opaque"` or, weak, `W/"opaque"`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct EntityTag {
    weak: bool,
    opaque: String,
}

impl IfMatch {
    /// The request's `If-Match`, or `None` when it has none. Several header lines are
    /// one comma-separated list (RFC 9110 §5.3).
    pub(super) fn from_headers(headers: &HeaderMap) -> Option<IfMatch> {
        header_list(headers, header::IF_MATCH).map(|raw| IfMatch::parse(&raw))
    }

    /// Parses a field value. Lenient in form, strict in effect: anything that is not a
    /// well-formed entity-tag is dropped, and so can never make a write succeed.
    fn parse(raw: &str) -> IfMatch {
        let condition = if raw.trim() == "*" {
            Condition::Any
        } else {
            Condition::Tags(parse_entity_tags(raw))
        };
        IfMatch {
            raw: raw.to_owned(),
            condition,
        }
    }

    /// Whether this precondition holds for a document whose `ETag` is `current` (always
    /// strong), using the strong comparison: weak tags never match.
    pub(super) fn matches(&self, current: &str) -> bool {
        match &self.condition {
            Condition::Any => true,
            Condition::Tags(tags) => {
                let current_opaque = current.strip_prefix('"').and_then(|c| c.strip_suffix('"'));
                tags.iter()
                    .any(|tag| !tag.weak && Some(tag.opaque.as_str()) == current_opaque)
            }
        }
    }
}

/// A header's lines joined into one comma-separated list (RFC 9110 §5.3), or `None`
/// when the request has no such header.
fn header_list(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    let lines: Vec<String> = headers
        .get_all(name)
        .iter()
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
        .collect();
    (!lines.is_empty()).then(|| lines.join(", "))
}

/// A parsed `If-None-Match` header (RFC 9110 §13.1.2), used by the create-only `PUT` of
/// `/files`: the same syntax as `If-Match`, compared weakly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct IfNoneMatch(IfMatch);

impl IfNoneMatch {
    /// The request's `If-None-Match`, or `None` when it has none.
    pub(super) fn from_headers(headers: &HeaderMap) -> Option<IfNoneMatch> {
        header_list(headers, header::IF_NONE_MATCH).map(|raw| IfNoneMatch(IfMatch::parse(&raw)))
    }

    /// The header as sent, for messages.
    pub(super) fn raw(&self) -> &str {
        &self.0.raw
    }

    /// Whether the condition is false for a resource whose current `ETag` is `current`
    /// (`None`: there is no resource): `*` is false for any existing resource, a list
    /// when one of its tags matches the current one under the weak comparison.
    pub(super) fn fails_for(&self, current: Option<&str>) -> bool {
        let Some(current) = current else {
            return false;
        };
        match &self.0.condition {
            Condition::Any => true,
            Condition::Tags(tags) => {
                let current_opaque = current.strip_prefix('"').and_then(|c| c.strip_suffix('"'));
                tags.iter()
                    .any(|tag| Some(tag.opaque.as_str()) == current_opaque)
            }
        }
    }
}

/// The well-formed entity-tags in a comma-separated list, in order.
fn parse_entity_tags(list: &str) -> Vec<EntityTag> {
    let is_separator = |c: char| c == ',' || c == ' ' || c == '\t';
    let mut tags = Vec::new();
    let mut rest = list;
    loop {
        rest = rest.trim_start_matches(is_separator);
        if rest.is_empty() {
            return tags;
        }
        let (weak, after_prefix) = match rest.strip_prefix("W/") {
            Some(after) => (true, after),
            None => (false, rest),
        };
        if let Some((opaque, after_tag)) = after_prefix
            .strip_prefix('"')
            .and_then(|quoted| quoted.split_once('"'))
        {
            let tail = after_tag.trim_start_matches([' ', '\t']);
            if tail.is_empty() || tail.starts_with(',') {
                tags.push(EntityTag {
                    weak,
                    opaque: opaque.to_owned(),
                });
                rest = tail;
                continue;
            }
        }
        // Not an entity-tag: skip this item.
        rest = rest.split_once(',').map_or("", |(_, next)| next);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;
    use crate::server::testing::TestServer;

    fn strong(opaque: &str) -> EntityTag {
        EntityTag {
            weak: false,
            opaque: opaque.to_owned(),
        }
    }

    #[test]
    fn if_match_parses_a_list_of_strong_and_weak_tags() {
        let parsed = IfMatch::parse(r#""1", W/"2" ,"a,b""#);
        let weak_two = EntityTag {
            weak: true,
            opaque: "2".to_owned(),
        };
        assert_eq!(
            parsed.condition,
            Condition::Tags(vec![strong("1"), weak_two, strong("a,b")])
        );
    }

    #[test]
    fn if_match_drops_malformed_items_but_keeps_the_rest() {
        let parsed = IfMatch::parse(r#"3, "4"x, w/"5", "6""#);
        assert_eq!(parsed.condition, Condition::Tags(vec![strong("6")]));
    }

    #[test]
    fn if_none_match_fails_only_for_an_existing_resource_it_names() {
        let star = IfNoneMatch(IfMatch::parse("*"));
        assert!(!star.fails_for(None));
        assert!(star.fails_for(Some("\"1\"")));
        let weak = IfNoneMatch(IfMatch::parse(r#"W/"2", "5""#));
        assert!(weak.fails_for(Some("\"2\"")), "weak comparison");
        assert!(weak.fails_for(Some("\"5\"")));
        assert!(!weak.fails_for(Some("\"3\"")));
        assert!(!weak.fails_for(None));
    }

    #[test]
    fn if_match_star_matches_any_etag() {
        assert!(IfMatch::parse(" * ").matches("\"7\""));
    }

    #[test]
    fn if_match_uses_the_strong_comparison() {
        assert!(IfMatch::parse(r#""7""#).matches("\"7\""));
        assert!(IfMatch::parse(r#""1", "7""#).matches("\"7\""));
        assert!(!IfMatch::parse(r#"W/"7""#).matches("\"7\""));
        assert!(!IfMatch::parse("7").matches("\"7\""));
        assert!(!IfMatch::parse(r#""8""#).matches("\"7\""));
    }

    #[tokio::test]
    async fn creating_a_note_answers_201_with_location_strong_etag_and_the_stored_body() {
        let server = TestServer::correct().await;
        let created = server.post("/notes", &json!({"title": "a"})).await;
        assert_eq!(created.status, 201);
        assert_eq!(created.header("location"), Some("/notes/1"));
        assert_eq!(created.header("etag"), Some("\"1\""));
        assert_eq!(created.body, json!({"title": "a"}));
        server.stop().await;
    }

    #[tokio::test]
    async fn reading_a_note_returns_it_as_json_with_its_etag() {
        let server = TestServer::correct().await;
        server
            .post("/notes", &json!({"title": "a", "tags": [1, 2]}))
            .await;
        let read = server.get("/notes/1").await;
        assert_eq!(read.status, 200);
        assert_eq!(read.header("content-type"), Some("application/json"));
        assert_eq!(read.header("etag"), Some("\"1\""));
        assert_eq!(read.body, json!({"title": "a", "tags": [1, 2]}));
        server.stop().await;
    }

    #[tokio::test]
    async fn a_body_that_is_not_a_json_object_is_a_400_problem() {
        let server = TestServer::correct().await;
        let array = server.post("/notes", &json!([1])).await;
        assert_eq!(array.status, 400);
        assert_eq!(
            array.header("content-type"),
            Some("application/problem+json")
        );
        assert_eq!(array.body["status"], 400);
        server.post("/notes", &json!({})).await;
        let garbage = server.put_raw("/notes/1", "{not json").await;
        assert_eq!(garbage.status, 400);
        assert_eq!(garbage.body["title"], "Bad Request");
        server.stop().await;
    }

    #[tokio::test]
    async fn put_with_the_current_etag_replaces_the_note_and_advances_its_etag() {
        let server = TestServer::correct().await;
        server.post("/notes", &json!({"title": "a"})).await;
        let replaced = server
            .put("/notes/1", &[("if-match", "\"1\"")], &json!({"body": "b"}))
            .await;
        assert_eq!(replaced.status, 200);
        assert_eq!(replaced.header("etag"), Some("\"2\""));
        assert_eq!(replaced.body, json!({"body": "b"}));
        let read = server.get("/notes/1").await;
        assert_eq!(read.header("etag"), Some("\"2\""));
        assert_eq!(read.body, json!({"body": "b"}), "PUT replaces, not merges");
        server.stop().await;
    }

    #[tokio::test]
    async fn put_with_a_stale_etag_gets_412_naming_the_current_etag() {
        let server = TestServer::correct().await;
        server.post("/notes", &json!({"v": 1})).await;
        for token in ["\"1\"", "\"2\"", "\"3\""] {
            let write = server
                .put("/notes/1", &[("if-match", token)], &json!({"v": 0}))
                .await;
            assert_eq!(write.status, 200);
        }
        let stale = server
            .put("/notes/1", &[("if-match", "\"3\"")], &json!({"v": "stale"}))
            .await;
        assert_eq!(stale.status, 412);
        assert_eq!(stale.header("etag"), Some("\"4\""));
        assert_eq!(
            stale.header("content-type"),
            Some("application/problem+json")
        );
        assert_eq!(
            stale.body,
            json!({
                "type": "about:blank",
                "title": "Precondition Failed",
                "status": 412,
                "detail": "If-Match \"3\" does not match the current ETag \"4\"",
                "current_etag": "\"4\"",
            })
        );
        assert_eq!(server.get("/notes/1").await.body, json!({"v": 0}));
        server.stop().await;
    }

    #[tokio::test]
    async fn put_without_if_match_gets_428_problem() {
        let server = TestServer::correct().await;
        server.post("/notes", &json!({"v": 1})).await;
        let unconditional = server.put("/notes/1", &[], &json!({"v": 2})).await;
        assert_eq!(unconditional.status, 428);
        assert_eq!(
            unconditional.header("content-type"),
            Some("application/problem+json")
        );
        assert_eq!(unconditional.body["status"], 428);
        assert_eq!(unconditional.body["title"], "Precondition Required");
        assert_eq!(
            unconditional.body["detail"],
            "this API requires conditional writes: send If-Match with the ETag you read"
        );
        assert_eq!(server.get("/notes/1").await.body, json!({"v": 1}));
        server.stop().await;
    }

    #[tokio::test]
    async fn a_weak_etag_never_matches_even_with_the_current_value() {
        let server = TestServer::correct().await;
        server.post("/notes", &json!({"v": 1})).await;
        let weak = server
            .put("/notes/1", &[("if-match", "W/\"1\"")], &json!({"v": 2}))
            .await;
        assert_eq!(weak.status, 412);
        assert_eq!(server.get("/notes/1").await.header("etag"), Some("\"1\""));
        server.stop().await;
    }

    #[tokio::test]
    async fn if_match_star_replaces_any_existing_note() {
        let server = TestServer::correct().await;
        server.post("/notes", &json!({"v": 1})).await;
        let star = server
            .put("/notes/1", &[("if-match", "*")], &json!({"v": 2}))
            .await;
        assert_eq!(star.status, 200);
        assert_eq!(star.header("etag"), Some("\"2\""));
        server.stop().await;
    }

    #[tokio::test]
    async fn if_match_with_a_list_succeeds_when_any_tag_is_current() {
        let server = TestServer::correct().await;
        server.post("/notes", &json!({"v": 1})).await;
        let listed = server
            .put(
                "/notes/1",
                &[("if-match", "\"7\", W/\"1\", \"1\"")],
                &json!({"v": 2}),
            )
            .await;
        assert_eq!(listed.status, 200);
        server.stop().await;
    }

    #[tokio::test]
    async fn an_unknown_note_gets_404_before_any_precondition_is_checked() {
        let server = TestServer::correct().await;
        let read = server.get("/notes/99").await;
        assert_eq!(read.status, 404);
        assert_eq!(
            read.header("content-type"),
            Some("application/problem+json")
        );
        assert_eq!(read.body["status"], 404);
        let unconditional = server.put("/notes/99", &[], &json!({})).await;
        assert_eq!(unconditional.status, 404, "404 before 428");
        let stale = server
            .put("/notes/99", &[("if-match", "\"1\"")], &json!({}))
            .await;
        assert_eq!(stale.status, 404, "404 before 412");
        server.stop().await;
    }

    #[tokio::test]
    async fn patch_merges_the_fields_sent_and_delete_removes_the_note_both_under_if_match() {
        let server = TestServer::correct().await;
        server
            .post("/notes", &json!({"title": "a", "body": "x"}))
            .await;
        let client = reqwest::Client::new();
        let patch = |tag: &'static str, body: Value| {
            let request = client.patch(server.url("/notes/1")).header("if-match", tag);
            crate::server::testing::send(crate::server::testing::json_body(request, &body))
        };
        let patched = patch("\"1\"", json!({"body": "y"})).await;
        assert_eq!(patched.status, 200);
        assert_eq!(patched.header("etag"), Some("\"2\""));
        assert_eq!(
            patched.body,
            json!({"title": "a", "body": "y"}),
            "PATCH merges"
        );
        assert_eq!(patch("\"1\"", json!({"body": "z"})).await.status, 412);

        let delete = |tag: &'static str| {
            crate::server::testing::send(
                client
                    .delete(server.url("/notes/1"))
                    .header("if-match", tag),
            )
        };
        assert_eq!(
            delete("\"1\"").await.status,
            412,
            "a stale DELETE is refused"
        );
        assert_eq!(server.get("/notes/1").await.status, 200);
        assert_eq!(delete("\"2\"").await.status, 204);
        assert_eq!(server.get("/notes/1").await.status, 404);
        assert_eq!(delete("\"2\"").await.status, 404, "nothing left to delete");
        let unconditional =
            crate::server::testing::send(client.delete(server.url("/notes/9"))).await;
        assert_eq!(unconditional.status, 404, "404 before 428");
        server.stop().await;
    }
}
