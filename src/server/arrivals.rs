//! Arrival stamps: when the last byte of each tagged request reached the reference server.
//!
//! A client that wants to know how simultaneous its writes really were tags each one with
//! an [`REQUEST_ID_HEADER`] header. A middleware reads such a request's whole body before
//! the handler runs and stamps the instant the body ended (for a body-less request, the
//! instant its head was parsed): the arrival of the request's last byte as the
//! application sees it. `GET /_contend/arrivals?ids=a,b,c` hands the stamps back, in
//! nanoseconds on the server's own monotonic clock, and forgets them. Only differences
//! between stamps mean anything: they are the arrival spread of a round.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::problem::Problem;
use crate::protocol::{ARRIVALS_PATH, REQUEST_ID_HEADER};

/// Longest request body the stamping middleware buffers (axum's default body limit).
const BODY_LIMIT: usize = 2 * 1024 * 1024;

/// Stamps kept at most; beyond this, new stamps are dropped until some are fetched, so a
/// client that never fetches cannot grow the server without bound.
const MAX_STAMPS: usize = 1_000_000;

/// Longest request id accepted, in bytes.
const MAX_ID_LEN: usize = 128;

/// The server's arrival stamps, shared by the middleware and the endpoint.
#[derive(Clone)]
pub(super) struct Arrivals {
    inner: Arc<Inner>,
}

struct Inner {
    /// Time zero of the server's clock.
    origin: Instant,
    /// Request id → nanoseconds since `origin`.
    stamps: Mutex<HashMap<String, u64>>,
}

impl Arrivals {
    /// An empty set of stamps, with the clock starting now.
    pub fn new() -> Arrivals {
        Arrivals {
            inner: Arc::new(Inner {
                origin: Instant::now(),
                stamps: Mutex::new(HashMap::new()),
            }),
        }
    }

    fn record(&self, id: &str, at: Instant) {
        let ns = u64::try_from(at.saturating_duration_since(self.inner.origin).as_nanos())
            .unwrap_or(u64::MAX);
        let mut stamps = self
            .inner
            .stamps
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if stamps.len() < MAX_STAMPS || stamps.contains_key(id) {
            stamps.insert(id.to_owned(), ns);
        }
    }

    /// Removes and returns the stamps of these ids; unknown ids are left out.
    fn take(&self, ids: &[&str]) -> HashMap<String, u64> {
        let mut stamps = self
            .inner
            .stamps
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        ids.iter()
            .filter_map(|id| stamps.remove_entry(*id))
            .collect()
    }
}

/// The `/_contend/arrivals` route, with its own state.
pub(super) fn routes(arrivals: Arrivals) -> Router {
    Router::new()
        .route(ARRIVALS_PATH, get(fetch))
        .with_state(arrivals)
}

/// The query of `GET /_contend/arrivals`.
#[derive(Deserialize)]
struct IdsQuery {
    /// Comma-separated request ids.
    #[serde(default)]
    ids: String,
}

/// `GET /_contend/arrivals?ids=a,b`: `{"clock": ..., "arrivals": {"a": ns, ...}}`, the
/// stamps of those ids (which are then forgotten).
async fn fetch(State(arrivals): State<Arrivals>, Query(query): Query<IdsQuery>) -> Response {
    let ids: Vec<&str> = query.ids.split(',').filter(|id| !id.is_empty()).collect();
    let found = arrivals.take(&ids);
    Json(json!({
        "clock": "nanoseconds since the server started (monotonic)",
        "arrivals": found,
    }))
    .into_response()
}

/// Middleware: for a request carrying [`REQUEST_ID_HEADER`], reads the whole body, stamps
/// the instant it ended, and passes the request on with the body it read.
pub(super) async fn stamp(
    State(arrivals): State<Arrivals>,
    request: Request,
    next: Next,
) -> Response {
    let id = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|id| !id.is_empty() && id.len() <= MAX_ID_LEN)
        .map(str::to_owned);
    let Some(id) = id else {
        return next.run(request).await;
    };
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(bytes) => bytes,
        Err(e) => {
            return Problem::new(
                StatusCode::BAD_REQUEST,
                format!("could not read the request body: {e}"),
            )
            .into_response()
        }
    };
    arrivals.record(&id, Instant::now());
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_handed_out_once_and_unknown_ids_are_left_out() {
        let arrivals = Arrivals::new();
        let origin = arrivals.inner.origin;
        arrivals.record("a", origin + std::time::Duration::from_micros(5));
        arrivals.record("b", origin + std::time::Duration::from_micros(7));
        let found = arrivals.take(&["a", "b", "c"]);
        assert_eq!(found.len(), 2);
        assert_eq!(found["b"] - found["a"], 2_000);
        assert!(
            arrivals.take(&["a", "b"]).is_empty(),
            "stamps are forgotten"
        );
    }

    #[tokio::test]
    async fn the_server_stamps_a_tagged_write_and_hands_the_stamp_out_once() {
        let server = crate::server::start(Default::default(), ([127, 0, 0, 1], 0).into())
            .await
            .expect("bind");
        let base = server.base_url();
        let client = reqwest::Client::new();
        let created = client
            .post(format!("{base}/notes"))
            .header(REQUEST_ID_HEADER, "create-1")
            .header("content-type", "application/json")
            .body(r#"{"text": "seed"}"#)
            .send()
            .await
            .expect("create");
        assert_eq!(
            created.status(),
            201,
            "the stamp does not change the answer"
        );
        let fetch = |ids: &str| {
            let url = format!("{base}/_contend/arrivals?ids={ids}");
            let client = client.clone();
            async move {
                let bytes = client.get(url).send().await.expect("arrivals").bytes();
                serde_json::from_slice::<serde_json::Value>(&bytes.await.expect("body"))
                    .expect("json")
            }
        };
        let stamps = fetch("create-1,unknown").await;
        let arrivals = stamps["arrivals"].as_object().expect("an object");
        assert_eq!(arrivals.len(), 1, "{stamps}");
        assert!(arrivals["create-1"].is_u64(), "{stamps}");
        let again = fetch("create-1").await;
        assert_eq!(again["arrivals"], json!({}));
        server.stop().await;
    }

    #[tokio::test]
    async fn the_server_speaks_http2_with_prior_knowledge() {
        let server = crate::server::start(Default::default(), ([127, 0, 0, 1], 0).into())
            .await
            .expect("bind");
        let client = reqwest::Client::builder()
            .http2_prior_knowledge()
            .build()
            .expect("client");
        let health = client
            .get(format!("{}/_contend/health", server.base_url()))
            .send()
            .await
            .expect("h2c request");
        assert_eq!(health.version(), reqwest::Version::HTTP_2);
        assert_eq!(health.status(), 200);
        server.stop().await;
    }
}
