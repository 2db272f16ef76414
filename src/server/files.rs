//! `/files`: named JSON files with a create-only `PUT` (`If-None-Match: *`, RFC 9110
//! §13.1.2), for the `unique-create` workload.
//!
//! `PUT /files/{name}` with `If-None-Match: *` creates the file if it is absent (201)
//! and answers 412 with the current `ETag` if it exists; the existence check and the
//! insert are one lock hold, so of N simultaneous creators exactly one gets 201. A list
//! of entity-tags in `If-None-Match` fails when one matches (weak comparison); without
//! `If-None-Match` a `PUT` overwrites (200) or creates (201). Every file counts how many
//! times it was created (`X-Create-Count`), so a checker can see a duplicate create.

use std::collections::BTreeMap;
use std::sync::Mutex;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::etag::IfNoneMatch;
use super::problem::{bad_request, listing, parse_json, Problem};
use super::store::lock;
use super::{Bug, SharedState};

/// The header that says how many times a file was created.
const CREATE_COUNT: HeaderName = HeaderName::from_static("x-create-count");

/// The `/files` routes.
pub(super) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/files", get(list_files))
        .route("/files/{name}", get(read_file).put(put_file))
}

/// Every file by name, behind one lock (the existence check needs the whole table).
#[derive(Debug, Default)]
pub(super) struct Files {
    table: Mutex<BTreeMap<String, StoredFile>>,
}

/// One file: its content, its version (the `ETag`) and how many times it was created.
#[derive(Debug, Clone)]
struct StoredFile {
    content: Value,
    version: u64,
    creates: u64,
}

impl StoredFile {
    /// The file's strong `ETag`: its version, e.g. `"2"`.
    fn etag(&self) -> String {
        format!("\"{}\"", self.version)
    }
}

/// `/files/{name}` with the name percent-encoded as one path segment.
fn location_of(name: &str) -> String {
    let mut url = url::Url::parse("http://localhost/files/").expect("literal URL");
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.pop().push(name);
    }
    url.path().to_owned()
}

/// A file's content with its `ETag` and `X-Create-Count`, under `status`.
fn file_response(status: StatusCode, file: &StoredFile, location: Option<String>) -> Response {
    let mut response = (
        status,
        [
            (header::ETAG, file.etag()),
            (CREATE_COUNT, file.creates.to_string()),
        ],
        Json(file.content.clone()),
    )
        .into_response();
    if let Some(location) = location.and_then(|l| l.parse().ok()) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// `PUT /files/{name}`: creates or, unless `If-None-Match` forbids it, overwrites.
async fn put_file(
    State(state): State<SharedState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content = match parse_json(&body) {
        Ok(content) => content,
        Err(reason) => return bad_request(reason),
    };
    let condition = IfNoneMatch::from_headers(&headers);
    let outcome = state
        .policy
        .check_then_commit(
            Bug::DupCreate,
            &state.files.table,
            |files| {
                let current = files.get(&name).map(StoredFile::etag);
                match &condition {
                    Some(condition) if condition.fails_for(current.as_deref()) => {
                        Err(current.unwrap_or_default())
                    }
                    _ => Ok(current.is_some()),
                }
            },
            |files, existed| match files.get_mut(&name) {
                Some(file) => {
                    file.content = content;
                    file.version += 1;
                    if existed {
                        return (StatusCode::OK, file.clone());
                    }
                    // Absent when checked, created since: a second creation.
                    file.creates += 1;
                    (StatusCode::CREATED, file.clone())
                }
                None => {
                    let file = StoredFile {
                        content,
                        version: 1,
                        creates: 1,
                    };
                    files.insert(name.clone(), file.clone());
                    (StatusCode::CREATED, file)
                }
            },
        )
        .await;
    match outcome {
        Ok((status, file)) => {
            let location = (status == StatusCode::CREATED).then(|| location_of(&name));
            file_response(status, &file, location)
        }
        Err(current) => {
            let raw = condition.as_ref().map_or("", IfNoneMatch::raw);
            let detail = if raw.trim() == "*" {
                format!("a file named {name:?} already exists (ETag {current})")
            } else {
                format!("If-None-Match {raw} matches the current ETag {current}")
            };
            Problem::new(StatusCode::PRECONDITION_FAILED, detail)
                .with_member("current_etag", current.clone())
                .with_etag(current)
                .into_response()
        }
    }
}

/// `GET /files/{name}`: the content as stored, its `ETag` and `X-Create-Count`.
async fn read_file(State(state): State<SharedState>, Path(name): Path<String>) -> Response {
    let file = lock(&state.files.table).get(&name).cloned();
    match file {
        Some(file) => file_response(StatusCode::OK, &file, None),
        None => Problem::new(
            StatusCode::NOT_FOUND,
            format!("there is no file named {name:?}"),
        )
        .into_response(),
    }
}

/// The query of `GET /files`.
#[derive(Debug, Deserialize)]
struct FileQuery {
    prefix: Option<String>,
}

/// `GET /files?prefix=P`: every file whose name starts with `P`, by name, each as
/// `{"name", "etag", "create_count", "content"}`.
async fn list_files(
    State(state): State<SharedState>,
    query: Result<Query<FileQuery>, QueryRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return bad_request("the query string is malformed");
    };
    let prefix = query.prefix.unwrap_or_default();
    let files = lock(&state.files.table);
    let matching = files
        .range(prefix.clone()..)
        .take_while(|(name, _)| name.starts_with(&prefix))
        .map(|(name, file)| {
            json!({
                "name": name,
                "etag": file.etag(),
                "create_count": file.creates,
                "content": file.content,
            })
        })
        .collect();
    listing(matching)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::location_of;
    use crate::server::testing::{json_body, statuses, TestServer};
    use crate::server::Bug;

    const CREATE_ONLY: [(&str, &str); 1] = [("if-none-match", "*")];

    #[test]
    fn a_location_percent_encodes_the_name() {
        assert_eq!(location_of("a b/c"), "/files/a%20b%2Fc");
        assert_eq!(location_of("plain.json"), "/files/plain.json");
    }

    #[tokio::test]
    async fn create_only_put_creates_an_absent_file_with_201_etag_and_location() {
        let server = TestServer::correct().await;
        let created = server
            .put("/files/a.json", &CREATE_ONLY, &json!({"v": 1}))
            .await;
        assert_eq!(created.status, 201);
        assert_eq!(created.header("etag"), Some("\"1\""));
        assert_eq!(created.header("location"), Some("/files/a.json"));
        let read = server.get("/files/a.json").await;
        assert_eq!(read.status, 200);
        assert_eq!(read.body, json!({"v": 1}));
        assert_eq!(read.header("etag"), Some("\"1\""));
        assert_eq!(read.header("x-create-count"), Some("1"));
        server.stop().await;
    }

    #[tokio::test]
    async fn create_only_put_of_an_existing_file_gets_412_with_the_current_etag() {
        let server = TestServer::correct().await;
        server.put("/files/a", &[], &json!(1)).await;
        server.put("/files/a", &[], &json!(2)).await;
        let again = server.put("/files/a", &CREATE_ONLY, &json!(3)).await;
        assert_eq!(again.status, 412);
        assert_eq!(again.header("etag"), Some("\"2\""));
        assert_eq!(
            again.header("content-type"),
            Some("application/problem+json")
        );
        assert_eq!(
            again.body,
            json!({
                "type": "about:blank",
                "title": "Precondition Failed",
                "status": 412,
                "detail": "a file named \"a\" already exists (ETag \"2\")",
                "current_etag": "\"2\"",
            })
        );
        let read = server.get("/files/a").await;
        assert_eq!(read.body, json!(2));
        assert_eq!(read.header("x-create-count"), Some("1"));
        server.stop().await;
    }

    #[tokio::test]
    async fn put_without_if_none_match_creates_with_201_then_overwrites_with_200() {
        let server = TestServer::correct().await;
        let created = server.put("/files/a", &[], &json!({"v": 1})).await;
        assert_eq!(created.status, 201);
        let overwritten = server.put("/files/a", &[], &json!({"v": 2})).await;
        assert_eq!(overwritten.status, 200);
        assert_eq!(overwritten.header("etag"), Some("\"2\""));
        assert_eq!(overwritten.header("location"), None);
        let read = server.get("/files/a").await;
        assert_eq!(read.body, json!({"v": 2}));
        assert_eq!(read.header("x-create-count"), Some("1"));
        server.stop().await;
    }

    #[tokio::test]
    async fn if_none_match_with_tags_refuses_only_when_one_matches_weakly() {
        let server = TestServer::correct().await;
        server.put("/files/a", &[], &json!(1)).await;
        let other = server
            .put("/files/a", &[("if-none-match", "\"7\"")], &json!(2))
            .await;
        assert_eq!(other.status, 200);
        let current = server
            .put("/files/a", &[("if-none-match", "W/\"2\"")], &json!(3))
            .await;
        assert_eq!(current.status, 412);
        assert_eq!(
            current.body["detail"],
            "If-None-Match W/\"2\" matches the current ETag \"2\""
        );
        server.stop().await;
    }

    #[tokio::test]
    async fn files_are_listed_by_prefix_and_bad_requests_are_400_or_404() {
        let server = TestServer::correct().await;
        for name in ["r1-b", "r1-a", "r2-a"] {
            server
                .put(&format!("/files/{name}"), &CREATE_ONLY, &json!(name))
                .await;
        }
        let listed = server.get("/files?prefix=r1-").await;
        assert_eq!(
            listed.body,
            json!({"count": 2, "items": [
                {"name": "r1-a", "etag": "\"1\"", "create_count": 1, "content": "r1-a"},
                {"name": "r1-b", "etag": "\"1\"", "create_count": 1, "content": "r1-b"},
            ]})
        );
        assert_eq!(server.get("/files").await.body["count"], 3);
        assert_eq!(server.put_raw("/files/x", "{nope").await.status, 400);
        assert_eq!(server.get("/files/x").await.status, 404);
        server.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn of_16_simultaneous_create_only_puts_exactly_one_creates() {
        let server = TestServer::correct().await;
        let replies = server
            .burst(16, |client, i| {
                let put = client
                    .put(server.url("/files/one"))
                    .header("if-none-match", "*");
                json_body(put, &json!({"writer": i}))
            })
            .await;
        assert_eq!(statuses(&replies), [(201, 1), (412, 15)].into());
        for loser in replies.iter().filter(|reply| reply.status == 412) {
            assert_eq!(loser.header("etag"), Some("\"1\""));
        }
        let read = server.get("/files/one").await;
        assert_eq!(read.header("x-create-count"), Some("1"));
        server.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dup_create_lets_simultaneous_create_only_puts_all_create() {
        let server = TestServer::with_bug(Bug::DupCreate, Duration::from_millis(150)).await;
        let replies = server
            .burst(8, |client, i| {
                let put = client
                    .put(server.url("/files/one"))
                    .header("if-none-match", "*");
                json_body(put, &json!({"writer": i}))
            })
            .await;
        let created = replies.iter().filter(|reply| reply.status == 201).count();
        assert!(created > 1, "{replies:?}");
        let read = server.get("/files/one").await;
        assert_eq!(
            read.header("x-create-count"),
            Some(created.to_string().as_str())
        );
        server.stop().await;
    }
}
