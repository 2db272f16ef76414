//! Problem details (RFC 9457), JSON request bodies and listings, shared by every
//! endpoint family; and the two bugs that change how conflicts are answered.
//!
//! Every 4xx from the server, except `/db`'s, is a [`Problem`]: `application/problem+json`
//! with `type`, `title`, `status` (always the real status) and a `detail` written for
//! the client, never internals. `/db` answers in CouchDB's own `{"error","reason"}` shape.
//! `opaque-conflict` and `conflict-500` rewrite every 409 and 412 on the way out, in
//! [`conflicts_per_bug`], so they reach every family alike.

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use super::store::Body;
use super::Bug;

/// The media type of problem details.
const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem, optionally with extension members and an `ETag` header.
#[derive(Debug, Clone)]
pub(super) struct Problem {
    status: StatusCode,
    detail: String,
    members: Map<String, Value>,
    etag: Option<String>,
}

impl Problem {
    /// A problem with this status and human-readable detail; the title is the status's
    /// standard reason phrase.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Problem {
        Problem {
            status,
            detail: detail.into(),
            members: Map::new(),
            etag: None,
        }
    }

    /// Adds an extension member, such as `current_etag` or `current_version`.
    pub fn with_member(mut self, name: &str, value: impl Into<Value>) -> Problem {
        self.members.insert(name.to_owned(), value.into());
        self
    }

    /// Also sends this `ETag` header, so a client can retry without another read.
    pub fn with_etag(mut self, etag: String) -> Problem {
        self.etag = Some(etag);
        self
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut body = json!({
            "type": "about:blank",
            "title": self.status.canonical_reason().unwrap_or("Error"),
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        if let Value::Object(fields) = &mut body {
            fields.extend(self.members);
        }
        let mut response = (self.status, body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(etag) = self.etag.and_then(|etag| HeaderValue::try_from(etag).ok()) {
            headers.insert(header::ETAG, etag);
        }
        response
    }
}

/// Parses a request body that must be a JSON object; the error says what is wrong with
/// it in words fit for a client.
pub(super) fn parse_object(bytes: &[u8]) -> Result<Body, String> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(fields)) => Ok(fields),
        Ok(other) => Err(format!(
            "the request body must be a JSON object, not {}",
            json_kind(&other)
        )),
        Err(err) => Err(format!("the request body is not valid JSON: {err}")),
    }
}

/// Parses a request body that may be empty (then it is `{}`) or a JSON object.
pub(super) fn parse_optional_object(bytes: &[u8]) -> Result<Body, String> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Body::new());
    }
    parse_object(bytes)
}

/// Parses a request body that may be any JSON value.
pub(super) fn parse_json(bytes: &[u8]) -> Result<Value, String> {
    serde_json::from_slice(bytes)
        .map_err(|err| format!("the request body is not valid JSON: {err}"))
}

/// A 400 problem for a request body the endpoint cannot use.
pub(super) fn bad_request(detail: impl Into<String>) -> Response {
    Problem::new(StatusCode::BAD_REQUEST, detail).into_response()
}

/// A 404 problem: there is no `what` with this id.
pub(super) fn not_found(what: &str, id: &str) -> Response {
    Problem::new(
        StatusCode::NOT_FOUND,
        format!("there is no {what} with id {id:?}"),
    )
    .into_response()
}

/// 200 `{"count": n, "items": [...]}`: the answer to every collection query.
pub(super) fn listing(items: Vec<Value>) -> Response {
    Json(json!({"count": items.len(), "items": items})).into_response()
}

/// Removes the server-managed `names` from a client's fields.
pub(super) fn drop_managed(fields: &mut Body, names: &[&str]) {
    for name in names {
        fields.remove(*name);
    }
}

/// A JSON object with `first` members before the client's `fields` (which cannot
/// override them): how every family shows a stored record.
pub(super) fn view(first: Vec<(&str, Value)>, fields: &Body) -> Value {
    let mut object = fields.clone();
    for (name, value) in first {
        object.insert(name.to_owned(), value);
    }
    Value::Object(object)
}

/// What `conflict-500` answers instead of a 409 or 412: a 500 whose body leaks what a
/// careless server leaks, a stack frame and a database error code.
const LEAKY_500: &str = r#"{"error":"internal error","message":"SQLSTATE 23505: duplicate key value violates unique constraint","stack":"Error: conflict\n    at db.Pool.query (pool.js:42)"}"#;

/// Response middleware: under `opaque-conflict`, every 409/412 becomes `text/plain`
/// `conflict` with no `ETag` or fields; under `conflict-500`, a 500 with [`LEAKY_500`].
/// Every other response, and every response of a server without those bugs, passes
/// through unchanged.
pub(super) async fn conflicts_per_bug(
    State(bug): State<Option<Bug>>,
    response: Response,
) -> Response {
    let status = response.status();
    if status != StatusCode::CONFLICT && status != StatusCode::PRECONDITION_FAILED {
        return response;
    }
    match bug {
        Some(Bug::OpaqueConflict) => {
            (status, [(header::CONTENT_TYPE, "text/plain")], "conflict").into_response()
        }
        Some(Bug::Conflict500) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "application/json")],
            LEAKY_500,
        )
            .into_response(),
        _ => response,
    }
}

/// "an array", "a string"...: the kind of a JSON value, for messages.
fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
