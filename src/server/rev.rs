//! Dialect 3, `/db`: CouchDB-style revisions. Every document carries a `_rev`
//! (`"{n}-{32 hex}"`), an update must name the rev it replaces, and a missing or stale
//! one gets 409 `{"error":"conflict","reason":"Document update conflict."}`.
//!
//! As in CouchDB, the rev may come from the body's `_rev`, the `?rev=` query parameter or
//! `If-Match` (in that order), a `PUT` without a rev to a new id creates the document, and
//! errors use CouchDB's `{"error","reason"}` JSON rather than problem details.

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::problem::parse_object;
use super::store::{Body, Doc, WriteOutcome};
use super::SharedState;

/// The `/db` routes.
pub(super) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/db", post(create_doc))
        .route("/db/{docid}", get(read_doc).put(put_doc))
}

/// A document's revision, `"{version}-{digest}"`.
fn rev_of(doc: &Doc) -> String {
    format!("{}-{}", doc.version, doc.digest)
}

/// The `ETag` CouchDB sends for a document: its rev, quoted.
fn etag_of(doc: &Doc) -> String {
    format!("\"{}\"", rev_of(doc))
}

/// A document as CouchDB shows it: `{"_id", "_rev", ...fields}`, in that order.
#[derive(Serialize)]
struct DocView<'a> {
    #[serde(rename = "_id")]
    id: &'a str,
    #[serde(rename = "_rev")]
    rev: String,
    #[serde(flatten)]
    fields: &'a Body,
}

/// The `?rev=` query parameter.
#[derive(Debug, Deserialize)]
struct RevQuery {
    rev: Option<String>,
}

/// 201 `{"ok":true,"id","rev"}` with `Location` and `ETag`: the answer to every
/// successful write.
fn saved(id: &str, doc: &Doc) -> Response {
    (
        StatusCode::CREATED,
        [
            (header::LOCATION, format!("/db/{id}")),
            (header::ETAG, etag_of(doc)),
        ],
        Json(json!({"ok": true, "id": id, "rev": rev_of(doc)})),
    )
        .into_response()
}

/// A CouchDB error: `{"error","reason"}` as `application/json`.
fn couch_error(status: StatusCode, error: &str, reason: &str) -> Response {
    (status, Json(json!({"error": error, "reason": reason}))).into_response()
}

/// 409: the rev is missing or not the current one.
fn conflict() -> Response {
    couch_error(
        StatusCode::CONFLICT,
        "conflict",
        "Document update conflict.",
    )
}

/// 400 for a request CouchDB would refuse as malformed.
fn bad_request(reason: &str) -> Response {
    couch_error(StatusCode::BAD_REQUEST, "bad_request", reason)
}

/// Takes `_id` and `_rev` out of a client's body, returning `_rev`.
fn split_managed_fields(fields: &mut Body) -> Option<Value> {
    fields.remove("_id");
    fields.remove("_rev")
}

/// `POST /db`: stores a JSON object as a new document with a server-chosen id.
async fn create_doc(State(state): State<SharedState>, body: Bytes) -> Response {
    let mut fields = match parse_object(&body) {
        Ok(fields) => fields,
        Err(reason) => return bad_request(&reason),
    };
    split_managed_fields(&mut fields);
    let (id, doc) = state.db.create(fields);
    saved(&id, &doc)
}

/// `GET /db/{docid}`: the document with its `_id` and `_rev`.
async fn read_doc(State(state): State<SharedState>, Path(docid): Path<String>) -> Response {
    match state.db.read(&docid) {
        Some(doc) => {
            let view = DocView {
                id: &docid,
                rev: rev_of(&doc),
                fields: &doc.body,
            };
            (StatusCode::OK, [(header::ETAG, etag_of(&doc))], Json(view)).into_response()
        }
        None => couch_error(StatusCode::NOT_FOUND, "not_found", "missing"),
    }
}

/// `PUT /db/{docid}`: creates the document if it does not exist and no rev is sent;
/// otherwise updates it if the rev sent is the current one.
async fn put_doc(
    State(state): State<SharedState>,
    Path(docid): Path<String>,
    query: Result<Query<RevQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(Query(query)) = query else {
        return bad_request("the query string is malformed");
    };
    let mut fields = match parse_object(&body) {
        Ok(fields) => fields,
        Err(reason) => return bad_request(&reason),
    };
    let body_rev = match split_managed_fields(&mut fields) {
        Some(Value::String(rev)) => Some(rev),
        Some(_) => return bad_request("_rev must be a string"),
        None => None,
    };
    let sent_rev = body_rev.or(query.rev).or_else(|| if_match_rev(&headers));

    let Some(cell) = state.db.get(&docid) else {
        if sent_rev.is_some() {
            // An update of a document that does not exist: CouchDB calls it a conflict.
            return conflict();
        }
        return match state.db.create_at(&docid, fields) {
            Some(doc) => saved(&docid, &doc),
            // Another writer created it between our lookup and our insert.
            None => conflict(),
        };
    };
    let Some(sent_rev) = sent_rev else {
        return conflict();
    };
    let outcome = state
        .policy
        .write(&cell, fields, |doc| rev_of(doc) == sent_rev)
        .await;
    match outcome {
        WriteOutcome::Applied(doc) => saved(&docid, &doc),
        WriteOutcome::Rejected(_) => conflict(),
    }
}

/// The rev in an `If-Match` header, quotes stripped, if there is one.
fn if_match_rev(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::IF_MATCH)?;
    let value = String::from_utf8_lossy(value.as_bytes());
    let value = value.trim();
    let unquoted = value
        .strip_prefix('"')
        .and_then(|inner| inner.strip_suffix('"'))
        .unwrap_or(value);
    Some(unquoted.to_owned())
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use crate::server::testing::TestServer;

    /// Whether `rev` has the form `{version}-{32 hex digits}`.
    fn is_rev_of_version(rev: &Value, version: u64) -> bool {
        rev.as_str()
            .and_then(|rev| rev.split_once('-'))
            .is_some_and(|(n, hex)| {
                n == version.to_string()
                    && hex.len() == 32
                    && hex.chars().all(|c| c.is_ascii_hexdigit())
            })
    }

    #[tokio::test]
    async fn posting_a_doc_answers_201_ok_with_id_and_a_first_rev() {
        let server = TestServer::correct().await;
        let created = server.post("/db", &json!({"title": "a"})).await;
        assert_eq!(created.status, 201);
        assert_eq!(created.header("location"), Some("/db/1"));
        assert_eq!(created.body["ok"], true);
        assert_eq!(created.body["id"], "1");
        assert!(is_rev_of_version(&created.body["rev"], 1), "{created:?}");
        let etag = format!("\"{}\"", created.body["rev"].as_str().unwrap_or_default());
        assert_eq!(created.header("etag"), Some(etag.as_str()));
        server.stop().await;
    }

    #[tokio::test]
    async fn reading_a_doc_shows_id_rev_and_fields_with_the_rev_as_etag() {
        let server = TestServer::correct().await;
        let created = server.post("/db", &json!({"title": "a"})).await;
        let rev = created.body["rev"].clone();
        let read = server.get("/db/1").await;
        assert_eq!(read.status, 200);
        assert_eq!(read.body, json!({"_id": "1", "_rev": rev, "title": "a"}));
        assert_eq!(read.header("etag"), created.header("etag"));
        server.stop().await;
    }

    #[tokio::test]
    async fn an_unknown_doc_reads_as_couchdb_not_found() {
        let server = TestServer::correct().await;
        let read = server.get("/db/nope").await;
        assert_eq!(read.status, 404);
        assert_eq!(
            read.body,
            json!({"error": "not_found", "reason": "missing"})
        );
        server.stop().await;
    }

    #[tokio::test]
    async fn put_without_rev_to_a_new_id_creates_the_doc() {
        let server = TestServer::correct().await;
        let created = server.put("/db/chosen", &[], &json!({"title": "a"})).await;
        assert_eq!(created.status, 201);
        assert_eq!(created.header("location"), Some("/db/chosen"));
        assert_eq!(created.body["id"], "chosen");
        assert!(is_rev_of_version(&created.body["rev"], 1));
        let read = server.get("/db/chosen").await;
        assert_eq!(read.body["title"], "a");
        server.stop().await;
    }

    #[tokio::test]
    async fn put_with_the_current_rev_in_the_body_stores_the_doc_under_a_new_rev() {
        let server = TestServer::correct().await;
        let created = server.post("/db", &json!({"title": "a"})).await;
        let rev = created.body["rev"].clone();
        let updated = server
            .put(
                "/db/1",
                &[],
                &json!({"_id": "1", "_rev": rev, "title": "b"}),
            )
            .await;
        assert_eq!(updated.status, 201);
        assert_eq!(updated.body["ok"], true);
        assert_eq!(updated.body["id"], "1");
        assert!(is_rev_of_version(&updated.body["rev"], 2), "{updated:?}");
        let read = server.get("/db/1").await;
        assert_eq!(
            read.body,
            json!({"_id": "1", "_rev": updated.body["rev"], "title": "b"})
        );
        server.stop().await;
    }

    #[tokio::test]
    async fn the_rev_may_come_from_the_query_or_from_if_match() {
        let server = TestServer::correct().await;
        let created = server.post("/db", &json!({"v": 1})).await;
        let first = created.body["rev"].as_str().unwrap_or_default().to_owned();
        let by_query = server
            .put(&format!("/db/1?rev={first}"), &[], &json!({"v": 2}))
            .await;
        assert_eq!(by_query.status, 201, "{by_query:?}");
        let second = by_query.body["rev"].as_str().unwrap_or_default().to_owned();
        let quoted = format!("\"{second}\"");
        let by_header = server
            .put("/db/1", &[("if-match", quoted.as_str())], &json!({"v": 3}))
            .await;
        assert_eq!(by_header.status, 201, "{by_header:?}");
        assert!(is_rev_of_version(&by_header.body["rev"], 3));
        server.stop().await;
    }

    #[tokio::test]
    async fn the_body_rev_takes_precedence_over_the_query_rev() {
        let server = TestServer::correct().await;
        let created = server.post("/db", &json!({"v": 1})).await;
        let current = created.body["rev"].as_str().unwrap_or_default().to_owned();
        let write = server
            .put(
                &format!("/db/1?rev={current}"),
                &[],
                &json!({"_rev": "1-00000000000000000000000000000000", "v": 2}),
            )
            .await;
        assert_eq!(write.status, 409);
        server.stop().await;
    }

    #[tokio::test]
    async fn put_with_a_stale_rev_gets_the_couchdb_conflict() {
        let server = TestServer::correct().await;
        let created = server.post("/db", &json!({"v": 1})).await;
        let stale = created.body["rev"].clone();
        let first = server
            .put("/db/1", &[], &json!({"_rev": stale, "v": 2}))
            .await;
        assert_eq!(first.status, 201);
        let second = server
            .put("/db/1", &[], &json!({"_rev": stale, "v": "stale"}))
            .await;
        assert_eq!(second.status, 409);
        assert_eq!(second.header("content-type"), Some("application/json"));
        assert_eq!(
            second.body,
            json!({"error": "conflict", "reason": "Document update conflict."})
        );
        assert_eq!(server.get("/db/1").await.body["v"], 2);
        server.stop().await;
    }

    #[tokio::test]
    async fn put_without_rev_to_an_existing_doc_is_a_conflict() {
        let server = TestServer::correct().await;
        server.post("/db", &json!({"v": 1})).await;
        let blind = server.put("/db/1", &[], &json!({"v": 2})).await;
        assert_eq!(blind.status, 409);
        assert_eq!(blind.body["error"], "conflict");
        assert_eq!(server.get("/db/1").await.body["v"], 1);
        server.stop().await;
    }
}
