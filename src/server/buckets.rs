//! `/buckets`: an object store whose objects need their bucket created first, as S3
//! buckets and Azure containers do, for scenarios whose set-up is several requests.
//!
//! - `PUT /buckets/{bucket}` creates an empty bucket (201 with `Location`); a bucket that
//!   exists already gets 409 (as Azure's `ContainerAlreadyExists`). `GET /buckets/{bucket}`
//!   answers `{"name", "objects"}` (how many objects it holds).
//! - `PUT /buckets/{bucket}/objects/{name}` stores the body as sent, any bytes, with its
//!   `Content-Type` (default `application/octet-stream`), and answers 201 (created) or
//!   200 (replaced) with an empty body and a strong `ETag`, the object's version (`"2"`).
//!   A bucket that does not exist gets 404 before any precondition is looked at (RFC 9110
//!   §13.2.2). `If-Match` replaces only the version it names, `If-None-Match: *` creates
//!   only; either failing is a 412 with the current `ETag` (none for a missing object).
//!   Without a precondition a `PUT` creates or overwrites, as object stores allow.
//!   `GET` answers the bytes, the content type and the `ETag`.
//!
//! The whole store is behind one lock, and every check and write is one hold of it, so
//! of N simultaneous creators of a bucket or an object, or N writers with one `If-Match`,
//! exactly one succeeds. `toctou` opens a window in `If-Match` writes, `dup-create` in
//! creations (of buckets and of objects), and the conflict bugs rewrite the 409s and 412s.

use std::collections::BTreeMap;
use std::sync::Mutex;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::put;
use axum::{Json, Router};
use serde_json::json;

use super::conditional::{Failed, Preconditions, Tag};
use super::problem::Problem;
use super::store::lock;
use super::{Bug, SharedState};

/// The content type of an object stored without one.
const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";

/// The `/buckets` routes.
pub(super) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/buckets/{bucket}", put(create_bucket).get(read_bucket))
        .route(
            "/buckets/{bucket}/objects/{name}",
            put(put_object).get(read_object),
        )
}

/// Every bucket by name, and in each its objects by name, behind one lock.
#[derive(Debug, Default)]
pub(super) struct Buckets {
    table: Mutex<BTreeMap<String, Bucket>>,
}

/// One bucket: its objects by name.
#[derive(Debug, Default)]
struct Bucket {
    objects: BTreeMap<String, StoredObject>,
}

/// One object: the bytes as sent, their content type, and the version (the `ETag`).
#[derive(Debug, Clone)]
struct StoredObject {
    content: Bytes,
    content_type: String,
    version: u64,
}

impl StoredObject {
    /// The object's strong `ETag`: its version.
    fn tag(&self) -> Tag {
        Tag::strong(self.version)
    }
}

/// A path made of these segments, each percent-encoded.
fn path_of(segments: &[&str]) -> String {
    let mut url = url::Url::parse("http://localhost/").expect("literal URL");
    if let Ok(mut path) = url.path_segments_mut() {
        path.clear().extend(segments);
    }
    url.path().to_owned()
}

/// 404: there is no such bucket, and how to make one.
fn no_bucket(bucket: &str) -> Response {
    Problem::new(
        StatusCode::NOT_FOUND,
        format!(
            "there is no bucket named {bucket:?}: create it first with PUT {}",
            path_of(&["buckets", bucket])
        ),
    )
    .into_response()
}

/// `PUT /buckets/{bucket}`: creates an empty bucket, or 409 if it exists.
async fn create_bucket(State(state): State<SharedState>, Path(bucket): Path<String>) -> Response {
    let created = state
        .policy
        .check_then_commit(
            Bug::DupCreate,
            &state.buckets.table,
            |buckets| {
                if buckets.contains_key(&bucket) {
                    Err(())
                } else {
                    Ok(())
                }
            },
            |buckets, ()| {
                buckets.insert(bucket.clone(), Bucket::default());
            },
        )
        .await;
    match created {
        Ok(()) => (
            StatusCode::CREATED,
            [(header::LOCATION, path_of(&["buckets", &bucket]))],
            Json(json!({"name": bucket, "objects": 0})),
        )
            .into_response(),
        Err(()) => Problem::new(
            StatusCode::CONFLICT,
            format!("a bucket named {bucket:?} already exists"),
        )
        .into_response(),
    }
}

/// `GET /buckets/{bucket}`: `{"name", "objects"}`.
async fn read_bucket(State(state): State<SharedState>, Path(bucket): Path<String>) -> Response {
    let objects = lock(&state.buckets.table)
        .get(&bucket)
        .map(|found| found.objects.len());
    match objects {
        Some(objects) => Json(json!({"name": bucket, "objects": objects})).into_response(),
        None => no_bucket(&bucket),
    }
}

/// Why an object write was refused.
enum Refused {
    /// The bucket does not exist: 404.
    NoBucket,
    /// A precondition failed against the current tag (`None`: no object): 412.
    Failed(Failed, Option<Tag>),
}

/// `PUT /buckets/{bucket}/objects/{name}`: creates or replaces under the request's
/// preconditions.
async fn put_object(
    State(state): State<SharedState>,
    Path((bucket, name)): Path<(String, String)>,
    headers: HeaderMap,
    content: Bytes,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or(DEFAULT_CONTENT_TYPE)
        .to_owned();
    let preconditions = Preconditions::from_headers(&headers);
    let racy_under = if preconditions.if_match.is_some() {
        Bug::Toctou
    } else {
        Bug::DupCreate
    };
    let outcome = state
        .policy
        .check_then_commit(
            racy_under,
            &state.buckets.table,
            |buckets| {
                let objects = &buckets.get(&bucket).ok_or(Refused::NoBucket)?.objects;
                let current = objects.get(&name).map(StoredObject::tag);
                match preconditions.evaluate(current.as_ref()) {
                    Ok(()) => Ok(current.is_some()),
                    Err(failed) => Err(Refused::Failed(failed, current)),
                }
            },
            |buckets, existed| {
                // Buckets are never removed, so the one checked is still there.
                let objects = &mut buckets.entry(bucket.clone()).or_default().objects;
                let object = objects
                    .entry(name.clone())
                    .and_modify(|object| {
                        object.version += 1;
                    })
                    .or_insert_with(|| StoredObject {
                        content: Bytes::new(),
                        content_type: String::new(),
                        version: 1,
                    });
                object.content = content;
                object.content_type = content_type;
                let status = if existed {
                    StatusCode::OK
                } else {
                    StatusCode::CREATED
                };
                (status, object.tag())
            },
        )
        .await;
    match outcome {
        Ok((status, tag)) => {
            let mut response = (status, [(header::ETAG, tag.header())]).into_response();
            if status == StatusCode::CREATED {
                if let Ok(location) = path_of(&["buckets", &bucket, "objects", &name]).parse() {
                    response.headers_mut().insert(header::LOCATION, location);
                }
            }
            response
        }
        Err(Refused::NoBucket) => no_bucket(&bucket),
        Err(Refused::Failed(failed, current)) => {
            let sent = preconditions.failed_header(&failed);
            let detail = match (&failed, &current) {
                (Failed::NothingToMatch, _) | (_, None) => {
                    format!("there is no object {name:?} in bucket {bucket:?} for {sent} to match")
                }
                (Failed::Exists, Some(current)) if preconditions.create_only() => format!(
                    "an object named {name:?} already exists in bucket {bucket:?} (ETag {})",
                    current.header()
                ),
                (_, Some(current)) => {
                    let verb = if failed == Failed::Exists {
                        "matches"
                    } else {
                        "does not match"
                    };
                    format!("{sent} {verb} the current ETag {}", current.header())
                }
            };
            let problem = Problem::new(StatusCode::PRECONDITION_FAILED, detail);
            match current {
                Some(current) => problem
                    .with_member("current_etag", current.header())
                    .with_etag(current.header())
                    .into_response(),
                None => problem.into_response(),
            }
        }
    }
}

/// `GET /buckets/{bucket}/objects/{name}`: the bytes as stored, with their content type
/// and `ETag`.
async fn read_object(
    State(state): State<SharedState>,
    Path((bucket, name)): Path<(String, String)>,
) -> Response {
    let found = lock(&state.buckets.table)
        .get(&bucket)
        .map(|found| found.objects.get(&name).cloned());
    match found {
        None => no_bucket(&bucket),
        Some(None) => Problem::new(
            StatusCode::NOT_FOUND,
            format!("there is no object {name:?} in bucket {bucket:?}"),
        )
        .into_response(),
        Some(Some(object)) => (
            StatusCode::OK,
            [
                (header::ETAG, object.tag().header()),
                (header::CONTENT_TYPE, object.content_type),
            ],
            object.content,
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use reqwest::Client;
    use serde_json::json;

    use super::path_of;
    use crate::server::testing::{send, statuses, Reply, TestServer};
    use crate::server::Bug;

    /// `PUT path` with these headers and a body.
    async fn put_bytes(
        server: &TestServer,
        path: &str,
        headers: &[(&str, &str)],
        body: &'static str,
    ) -> Reply {
        let mut put = Client::new().put(server.url(path)).body(body);
        for (name, value) in headers {
            put = put.header(*name, *value);
        }
        send(put).await
    }

    const OBJECT: &str = "/buckets/b1/objects/o1";

    #[test]
    fn paths_percent_encode_each_segment() {
        assert_eq!(
            path_of(&["buckets", "b 1", "objects", "a/b"]),
            "/buckets/b%201/objects/a%2Fb"
        );
    }

    #[tokio::test]
    async fn an_object_in_a_missing_bucket_is_404_until_the_bucket_is_created() {
        let server = TestServer::correct().await;
        let orphan = put_bytes(&server, OBJECT, &[("if-none-match", "*")], "hello").await;
        assert_eq!(orphan.status, 404);
        assert_eq!(
            orphan.header("content-type"),
            Some("application/problem+json")
        );
        assert_eq!(
            orphan.body["detail"],
            "there is no bucket named \"b1\": create it first with PUT /buckets/b1"
        );
        assert_eq!(server.get(OBJECT).await.status, 404);

        let bucket = put_bytes(&server, "/buckets/b1", &[], "").await;
        assert_eq!(bucket.status, 201);
        assert_eq!(bucket.header("location"), Some("/buckets/b1"));
        assert_eq!(bucket.body, json!({"name": "b1", "objects": 0}));
        let headers = [("if-none-match", "*"), ("content-type", "text/plain")];
        let created = put_bytes(&server, OBJECT, &headers, "hello").await;
        assert_eq!(created.status, 201);
        assert_eq!(created.header("etag"), Some("\"1\""));
        assert_eq!(created.header("location"), Some(OBJECT));
        assert_eq!(created.text, "");

        let read = server.get(OBJECT).await;
        assert_eq!(read.status, 200);
        assert_eq!(read.text, "hello");
        assert_eq!(read.header("content-type"), Some("text/plain"));
        assert_eq!(read.header("etag"), Some("\"1\""));
        let listed = server.get("/buckets/b1").await;
        assert_eq!(listed.body, json!({"name": "b1", "objects": 1}));
        server.stop().await;
    }

    #[tokio::test]
    async fn a_bucket_that_exists_gets_409() {
        let server = TestServer::correct().await;
        put_bytes(&server, "/buckets/b1", &[], "").await;
        let again = put_bytes(&server, "/buckets/b1", &[], "").await;
        assert_eq!(again.status, 409);
        assert_eq!(again.body["detail"], "a bucket named \"b1\" already exists");
        assert_eq!(server.get("/buckets/nope").await.status, 404);
        server.stop().await;
    }

    #[tokio::test]
    async fn object_preconditions_answer_412_and_a_blind_put_overwrites() {
        let server = TestServer::correct().await;
        put_bytes(&server, "/buckets/b1", &[], "").await;
        let missing = put_bytes(&server, OBJECT, &[("if-match", "\"1\"")], "x").await;
        assert_eq!(missing.status, 412);
        assert_eq!(missing.header("etag"), None);
        assert_eq!(
            missing.body["detail"],
            "there is no object \"o1\" in bucket \"b1\" for If-Match \"1\" to match"
        );
        put_bytes(&server, OBJECT, &[("if-none-match", "*")], "v1").await;
        let exists = put_bytes(&server, OBJECT, &[("if-none-match", "*")], "v2").await;
        assert_eq!(exists.status, 412);
        assert_eq!(exists.header("etag"), Some("\"1\""));
        assert_eq!(
            exists.body["detail"],
            "an object named \"o1\" already exists in bucket \"b1\" (ETag \"1\")"
        );
        let replaced = put_bytes(&server, OBJECT, &[("if-match", "\"1\"")], "v2").await;
        assert_eq!(
            (replaced.status, replaced.header("etag")),
            (200, Some("\"2\""))
        );
        let stale = put_bytes(&server, OBJECT, &[("if-match", "\"1\"")], "v3").await;
        assert_eq!(stale.status, 412);
        assert_eq!(stale.body["current_etag"], "\"2\"");
        assert_eq!(
            stale.body["detail"],
            "If-Match \"1\" does not match the current ETag \"2\""
        );
        let blind = put_bytes(&server, OBJECT, &[], "v4").await;
        assert_eq!((blind.status, blind.header("etag")), (200, Some("\"3\"")));
        let read = server.get(OBJECT).await;
        assert_eq!(read.text, "v4");
        assert_eq!(
            read.header("content-type"),
            Some("application/octet-stream")
        );
        server.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn of_16_simultaneous_writers_of_an_object_exactly_one_wins() {
        let server = TestServer::correct().await;
        put_bytes(&server, "/buckets/b1", &[], "").await;
        let url = server.url(OBJECT);
        let creates = server
            .burst(16, |client, i| {
                client
                    .put(&url)
                    .header("if-none-match", "*")
                    .body(format!("creator {i}"))
            })
            .await;
        assert_eq!(statuses(&creates), [(201, 1), (412, 15)].into());
        let writes = server
            .burst(16, |client, i| {
                client
                    .put(&url)
                    .header("if-match", "\"1\"")
                    .body(format!("writer {i}"))
            })
            .await;
        assert_eq!(statuses(&writes), [(200, 1), (412, 15)].into());
        let read = server.get(OBJECT).await;
        assert_eq!(read.header("etag"), Some("\"2\""));
        assert!(read.text.starts_with("writer "), "{read:?}");
        server.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn of_16_simultaneous_bucket_creators_exactly_one_gets_201() {
        let server = TestServer::correct().await;
        let url = server.url("/buckets/b1");
        let replies = server.burst(16, |client, _| client.put(&url)).await;
        assert_eq!(statuses(&replies), [(201, 1), (409, 15)].into());
        server.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dup_create_lets_several_simultaneous_bucket_creators_get_201() {
        let server = TestServer::with_bug(Bug::DupCreate, Duration::from_millis(150)).await;
        let url = server.url("/buckets/b1");
        let replies = server.burst(8, |client, _| client.put(&url)).await;
        let created = replies.iter().filter(|reply| reply.status == 201).count();
        assert!(created > 1, "{replies:?}");
        server.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn toctou_lets_several_simultaneous_if_match_writers_of_an_object_win() {
        let server = TestServer::with_bug(Bug::Toctou, Duration::from_millis(200)).await;
        put_bytes(&server, "/buckets/b1", &[], "").await;
        put_bytes(&server, OBJECT, &[], "v1").await;
        let url = server.url(OBJECT);
        let replies = server
            .burst(8, |client, i| {
                client
                    .put(&url)
                    .header("if-match", "\"1\"")
                    .body(format!("writer {i}"))
            })
            .await;
        let winners = replies.iter().filter(|reply| reply.is_success()).count();
        assert!(winners > 1, "{replies:?}");
        server.stop().await;
    }

    #[tokio::test]
    async fn opaque_conflict_rewrites_a_bucket_409_and_an_object_412() {
        let server = TestServer::with_bug(Bug::OpaqueConflict, Duration::ZERO).await;
        put_bytes(&server, "/buckets/b1", &[], "").await;
        let bucket = put_bytes(&server, "/buckets/b1", &[], "").await;
        put_bytes(&server, OBJECT, &[], "v1").await;
        let object = put_bytes(&server, OBJECT, &[("if-none-match", "*")], "v2").await;
        for (reply, status) in [(bucket, 409), (object, 412)] {
            assert_eq!(reply.status, status);
            assert_eq!(reply.text, "conflict");
            assert_eq!(reply.header("etag"), None);
        }
        server.stop().await;
    }
}
