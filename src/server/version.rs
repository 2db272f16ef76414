//! Dialect 2, `/docs`: the version travels in the body as a JSON `version` field, and a
//! stale one gets 409 Conflict (RFC 9110 §15.5.10): no precondition header is involved.
//!
//! The server owns `id` and `version`: whatever a client puts there is never stored. A
//! `PUT` without a numeric `version` gets 428, the nearest status for "this write must
//! say which version it replaces" (under `no-428`, one without any `version` is
//! applied); an unknown id gets 404 first.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{Number, Value};

use super::problem::{parse_object, Problem};
use super::store::{Body, Doc, WriteOutcome};
use super::SharedState;

/// The `/docs` routes.
pub(super) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/docs", post(create_doc))
        .route("/docs/{id}", get(read_doc).put(replace_doc))
}

/// A document as the client sees it: `{"id", "version", ...fields}`, in that order.
#[derive(Serialize)]
struct DocView<'a> {
    id: &'a str,
    version: u64,
    #[serde(flatten)]
    fields: &'a Body,
}

/// The JSON answer for a document.
fn doc_view<'a>(id: &'a str, doc: &'a Doc) -> Json<DocView<'a>> {
    Json(DocView {
        id,
        version: doc.version,
        fields: &doc.body,
    })
}

/// Takes the server-managed fields out of a client's body, returning its `version`.
fn split_managed_fields(fields: &mut Body) -> Option<Value> {
    fields.remove("id");
    fields.remove("version")
}

/// `POST /docs`: stores a JSON object as a new document at version 1.
async fn create_doc(State(state): State<SharedState>, body: Bytes) -> Response {
    let mut fields = match parse_object(&body) {
        Ok(fields) => fields,
        Err(reason) => return Problem::new(StatusCode::BAD_REQUEST, reason).into_response(),
    };
    split_managed_fields(&mut fields);
    let (id, doc) = state.docs.create(fields);
    let location = [(header::LOCATION, format!("/docs/{id}"))];
    (StatusCode::CREATED, location, doc_view(&id, &doc)).into_response()
}

/// `GET /docs/{id}`: the document with its current version.
async fn read_doc(State(state): State<SharedState>, Path(id): Path<String>) -> Response {
    match state.docs.read(&id) {
        Some(doc) => (StatusCode::OK, doc_view(&id, &doc)).into_response(),
        None => doc_not_found(&id),
    }
}

/// `PUT /docs/{id}`: replaces the document if the body's `version` is the current one.
async fn replace_doc(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let Some(cell) = state.docs.get(&id) else {
        return doc_not_found(&id);
    };
    let mut fields = match parse_object(&body) {
        Ok(fields) => fields,
        Err(reason) => return Problem::new(StatusCode::BAD_REQUEST, reason).into_response(),
    };
    let sent =
        match split_managed_fields(&mut fields) {
            Some(Value::Number(sent)) => Some(sent),
            Some(_) => {
                return version_required(
                    "the \"version\" field must be a number: send the version you read",
                )
            }
            // `no-428`: a write without a version is applied unconditionally.
            None if !state.policy.requires_precondition() => None,
            None => return version_required(
                "this API requires the \"version\" field in the body: send the version you read",
            ),
        };
    let outcome = state
        .policy
        .write(&cell, fields, |doc| match &sent {
            Some(sent) => sent.as_u64() == Some(doc.version),
            None => true,
        })
        .await;
    match outcome {
        WriteOutcome::Applied(doc) => (StatusCode::OK, doc_view(&id, &doc)).into_response(),
        WriteOutcome::Rejected(doc) => {
            let detail = match &sent {
                Some(sent) => stale_detail(sent, doc.version),
                None => format!("the current version is {}", doc.version),
            };
            Problem::new(StatusCode::CONFLICT, detail)
                .with_member("current_version", doc.version)
                .into_response()
        }
    }
}

/// Why a write's `version` lost to the current one.
fn stale_detail(sent: &Number, current: u64) -> String {
    match sent.as_u64() {
        Some(sent) if sent > current => {
            format!("version {sent} does not exist yet; the current version is {current}")
        }
        _ => format!("version {sent} is stale; the current version is {current}"),
    }
}

/// 428 for a write that does not say which version it replaces.
fn version_required(detail: &str) -> Response {
    Problem::new(StatusCode::PRECONDITION_REQUIRED, detail).into_response()
}

/// 404 for a document id that does not exist.
fn doc_not_found(id: &str) -> Response {
    Problem::new(
        StatusCode::NOT_FOUND,
        format!("there is no document with id {id:?}"),
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::server::testing::TestServer;

    #[tokio::test]
    async fn creating_a_doc_answers_201_with_server_managed_id_and_version_1() {
        let server = TestServer::correct().await;
        let created = server
            .post("/docs", &json!({"id": "mine", "version": 9, "title": "a"}))
            .await;
        assert_eq!(created.status, 201);
        assert_eq!(created.header("location"), Some("/docs/1"));
        assert_eq!(created.body, json!({"id": "1", "version": 1, "title": "a"}));
        let read = server.get("/docs/1").await;
        assert_eq!(read.status, 200);
        assert_eq!(read.body, json!({"id": "1", "version": 1, "title": "a"}));
        server.stop().await;
    }

    #[tokio::test]
    async fn put_with_the_current_version_replaces_the_fields_and_advances_the_version() {
        let server = TestServer::correct().await;
        server.post("/docs", &json!({"title": "a"})).await;
        let replaced = server
            .put("/docs/1", &[], &json!({"version": 1, "body": "b"}))
            .await;
        assert_eq!(replaced.status, 200);
        assert_eq!(replaced.body, json!({"id": "1", "version": 2, "body": "b"}));
        let read = server.get("/docs/1").await;
        assert_eq!(read.body, json!({"id": "1", "version": 2, "body": "b"}));
        server.stop().await;
    }

    #[tokio::test]
    async fn put_with_a_stale_version_gets_409_naming_the_current_version() {
        let server = TestServer::correct().await;
        server.post("/docs", &json!({"v": 0})).await;
        for version in 1..=3 {
            let write = server
                .put("/docs/1", &[], &json!({"version": version, "v": version}))
                .await;
            assert_eq!(write.status, 200);
        }
        let stale = server
            .put("/docs/1", &[], &json!({"version": 3, "v": "stale"}))
            .await;
        assert_eq!(stale.status, 409);
        assert_eq!(
            stale.header("content-type"),
            Some("application/problem+json")
        );
        assert_eq!(
            stale.body,
            json!({
                "type": "about:blank",
                "title": "Conflict",
                "status": 409,
                "detail": "version 3 is stale; the current version is 4",
                "current_version": 4,
            })
        );
        let read = server.get("/docs/1").await;
        assert_eq!(read.body, json!({"id": "1", "version": 4, "v": 3}));
        server.stop().await;
    }

    #[tokio::test]
    async fn put_without_a_numeric_version_gets_428_problem() {
        let server = TestServer::correct().await;
        server.post("/docs", &json!({"v": 0})).await;
        let missing = server.put("/docs/1", &[], &json!({"v": 1})).await;
        assert_eq!(missing.status, 428);
        assert_eq!(
            missing.header("content-type"),
            Some("application/problem+json")
        );
        assert_eq!(missing.body["status"], 428);
        assert!(missing.body["detail"]
            .as_str()
            .is_some_and(|detail| detail.contains("\"version\" field")));
        let textual = server
            .put("/docs/1", &[], &json!({"version": "1", "v": 1}))
            .await;
        assert_eq!(textual.status, 428);
        assert_eq!(
            server.get("/docs/1").await.body,
            json!({"id": "1", "version": 1, "v": 0})
        );
        server.stop().await;
    }

    #[tokio::test]
    async fn an_unknown_doc_gets_404_before_the_version_is_checked() {
        let server = TestServer::correct().await;
        let read = server.get("/docs/99").await;
        assert_eq!(read.status, 404);
        assert_eq!(
            read.header("content-type"),
            Some("application/problem+json")
        );
        let unversioned = server.put("/docs/99", &[], &json!({})).await;
        assert_eq!(unversioned.status, 404, "404 before 428");
        let stale = server.put("/docs/99", &[], &json!({"version": 1})).await;
        assert_eq!(stale.status, 404, "404 before 409");
        server.stop().await;
    }
}
