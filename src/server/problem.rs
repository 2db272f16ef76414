//! Problem details (RFC 9457) and JSON request bodies, shared by the dialects.
//!
//! Every 4xx from `/notes` and `/docs` is a [`Problem`]: `application/problem+json` with
//! `type`, `title`, `status` (always the real status) and a `detail` written for the
//! client, never internals. `/db` answers in CouchDB's own `{"error","reason"}` shape.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use super::store::Body;

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
