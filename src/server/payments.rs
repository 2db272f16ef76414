//! `/payments`: charges made once per `Idempotency-Key` (IETF httpapi draft), for the
//! `idempotency` workload.
//!
//! The first request with a key claims it (looked up and claimed in one lock hold),
//! is processed for [`WritePolicy::processing_time`](super::store::WritePolicy), and is
//! stored with its response. A duplicate arriving while the first is in flight gets
//! 409; one arriving after gets the stored response replayed with `Idempotent-Replayed:
//! true`; the same key with a different payload gets 422. So however many duplicates are
//! sent together, exactly one charge is made. A request abandoned mid-processing (its
//! client went away) releases its claim and charges nothing, so a retry can proceed.

use std::collections::HashMap;
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

use super::problem::{bad_request, drop_managed, listing, not_found, parse_object, view, Problem};
use super::store::{lock, Body};
use super::{Bug, SharedState};

/// The request header that names an idempotent request.
const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");

/// The response header that marks a replayed response.
const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// The `/payments` routes.
pub(super) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/payments", get(list_payments).post(create_payment))
        .route("/payments/{id}", get(read_payment))
}

/// The keys and the charges, behind one lock.
#[derive(Debug, Default)]
pub(super) struct Payments {
    table: Mutex<PaymentTable>,
}

/// What is known about each key, and every charge made.
#[derive(Debug, Default)]
struct PaymentTable {
    keys: HashMap<String, KeyState>,
    charges: Vec<Charge>,
    last_attempt: u64,
}

/// Where the request that claimed a key is.
#[derive(Debug, Clone)]
enum KeyState {
    /// Being processed by attempt `attempt`.
    InFlight { payload: Body, attempt: u64 },
    /// Done: the charge it made, whose view is the response to replay.
    Done { payload: Body, charge: Charge },
}

/// One charge: its id and the body it was answered with.
#[derive(Debug, Clone)]
struct Charge {
    id: String,
    key: String,
    view: Value,
}

/// Why a request with a known key is not processed.
enum Earlier {
    /// The same key came with another payload: 422.
    DifferentPayload,
    /// The first request with the key is still in flight: 409.
    InFlight,
    /// The key's request completed: replay its response.
    Completed(Charge),
}

impl Earlier {
    /// What a request with a known key is answered.
    fn answer(self) -> Response {
        match self {
            Earlier::DifferentPayload => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Idempotency-Key reused with a different payload",
            )
            .into_response(),
            Earlier::InFlight => Problem::new(
                StatusCode::CONFLICT,
                "a request with this Idempotency-Key is still being processed",
            )
            .into_response(),
            Earlier::Completed(charge) => {
                let mut response = created(&charge);
                response
                    .headers_mut()
                    .insert(REPLAYED, header::HeaderValue::from_static("true"));
                response
            }
        }
    }
}

/// 201 with `Location` and the charge's body.
fn created(charge: &Charge) -> Response {
    let location = [(header::LOCATION, format!("/payments/{}", charge.id))];
    (StatusCode::CREATED, location, Json(charge.view.clone())).into_response()
}

/// The `Idempotency-Key` sent, without the quotes of its structured-field form; `None`
/// when it is missing, empty or not text.
fn idempotency_key(headers: &HeaderMap) -> Option<String> {
    let raw = headers.get(IDEMPOTENCY_KEY)?.to_str().ok()?.trim();
    let key = raw
        .strip_prefix('"')
        .and_then(|inner| inner.strip_suffix('"'))
        .unwrap_or(raw);
    (!key.is_empty()).then(|| key.to_owned())
}

/// A claimed key being processed. Dropped before [`Claim::settle`] (the client went
/// away mid-processing), it gives the key back so a retry is processed.
struct Claim<'a> {
    payments: &'a Payments,
    key: String,
    attempt: u64,
    settled: bool,
}

impl Claim<'_> {
    /// Makes the charge and records the key as done, in one lock hold.
    fn settle(mut self, payload: Body) -> Charge {
        let mut table = lock(&self.payments.table);
        let id = (table.charges.len() + 1).to_string();
        let mut shown = payload.clone();
        shown.insert("idempotency_key".to_owned(), json!(self.key));
        let charge = Charge {
            id: id.clone(),
            key: self.key.clone(),
            view: view(vec![("id", json!(id))], &shown),
        };
        table.charges.push(charge.clone());
        let done = KeyState::Done {
            payload,
            charge: charge.clone(),
        };
        table.keys.insert(self.key.clone(), done);
        self.settled = true;
        charge
    }
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        let mut table = lock(&self.payments.table);
        let ours = matches!(
            table.keys.get(&self.key),
            Some(KeyState::InFlight { attempt, .. }) if *attempt == self.attempt
        );
        if ours {
            table.keys.remove(&self.key);
        }
    }
}

/// `POST /payments` with `Idempotency-Key`: charges once per key.
async fn create_payment(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(key) = idempotency_key(&headers) else {
        return bad_request("this API requires an Idempotency-Key header on POST /payments");
    };
    let mut payload = match parse_object(&body) {
        Ok(fields) => fields,
        Err(reason) => return bad_request(reason),
    };
    if !payload.get("amount").is_some_and(Value::is_number) {
        return bad_request("the body must carry \"amount\" as a number");
    }
    drop_managed(&mut payload, &["id", "idempotency_key"]);
    let claimed = state
        .policy
        .check_then_commit(
            Bug::IdemDouble,
            &state.payments.table,
            |table| match table.keys.get(&key) {
                None => Ok(()),
                Some(KeyState::InFlight { payload: first, .. }) if *first != payload => {
                    Err(Earlier::DifferentPayload)
                }
                Some(KeyState::InFlight { .. }) => Err(Earlier::InFlight),
                Some(KeyState::Done { payload: first, .. }) if *first != payload => {
                    Err(Earlier::DifferentPayload)
                }
                Some(KeyState::Done { charge, .. }) => Err(Earlier::Completed(charge.clone())),
            },
            |table, ()| {
                table.last_attempt += 1;
                let attempt = table.last_attempt;
                let in_flight = KeyState::InFlight {
                    payload: payload.clone(),
                    attempt,
                };
                table.keys.insert(key.clone(), in_flight);
                attempt
            },
        )
        .await;
    let attempt = match claimed {
        Ok(attempt) => attempt,
        Err(earlier) => return earlier.answer(),
    };
    let claim = Claim {
        payments: &state.payments,
        key,
        attempt,
        settled: false,
    };
    tokio::time::sleep(state.policy.processing_time()).await;
    created(&claim.settle(payload))
}

/// `GET /payments/{id}`.
async fn read_payment(State(state): State<SharedState>, Path(id): Path<String>) -> Response {
    let table = lock(&state.payments.table);
    match table.charges.iter().find(|charge| charge.id == id) {
        Some(charge) => Json(charge.view.clone()).into_response(),
        None => not_found("payment", &id),
    }
}

/// The query of `GET /payments`.
#[derive(Debug, Deserialize)]
struct PaymentQuery {
    key: Option<String>,
}

/// `GET /payments?key=K`: every charge made with key `K` (all charges without `key`).
async fn list_payments(
    State(state): State<SharedState>,
    query: Result<Query<PaymentQuery>, QueryRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return bad_request("the query string is malformed");
    };
    let table = lock(&state.payments.table);
    let matching = table
        .charges
        .iter()
        .filter(|charge| query.key.as_ref().is_none_or(|key| *key == charge.key))
        .map(|charge| charge.view.clone())
        .collect();
    listing(matching)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use crate::server::testing::{json_body, statuses, Reply, TestServer};
    use crate::server::Bug;

    /// `POST /payments` with this key and body.
    async fn pay(server: &TestServer, key: &str, body: serde_json::Value) -> Reply {
        server
            .post_with("/payments", &[("idempotency-key", key)], &body)
            .await
    }

    /// `count` simultaneous payments of 10 with key `k1`.
    async fn duplicates(server: &TestServer, count: usize) -> Vec<Reply> {
        server
            .burst(count, |client, _| {
                let post = client
                    .post(server.url("/payments"))
                    .header("idempotency-key", "k1");
                json_body(post, &json!({"amount": 10}))
            })
            .await
    }

    #[tokio::test]
    async fn a_first_payment_is_charged_and_answered_201_with_location() {
        let server = TestServer::correct().await;
        let paid = pay(&server, "k1", json!({"amount": 10, "to": "acme"})).await;
        assert_eq!(paid.status, 201);
        assert_eq!(paid.header("location"), Some("/payments/1"));
        assert_eq!(paid.header("idempotent-replayed"), None);
        assert_eq!(
            paid.body,
            json!({"id": "1", "amount": 10, "to": "acme", "idempotency_key": "k1"})
        );
        assert_eq!(server.get("/payments/1").await.body, paid.body);
        let charges = server.get("/payments?key=k1").await;
        assert_eq!(charges.body, json!({"count": 1, "items": [paid.body]}));
        assert_eq!(server.get("/payments?key=k2").await.body["count"], 0);
        server.stop().await;
    }

    #[tokio::test]
    async fn a_completed_key_replays_the_same_response_marked_replayed() {
        let server = TestServer::correct().await;
        let first = pay(&server, "k1", json!({"amount": 10})).await;
        let again = pay(&server, "\"k1\"", json!({"amount": 10})).await;
        assert_eq!(again.status, 201);
        assert_eq!(again.body, first.body);
        assert_eq!(again.header("location"), first.header("location"));
        assert_eq!(again.header("idempotent-replayed"), Some("true"));
        assert_eq!(server.get("/payments?key=k1").await.body["count"], 1);
        server.stop().await;
    }

    #[tokio::test]
    async fn a_reused_key_with_a_different_payload_gets_422() {
        let server = TestServer::correct().await;
        pay(&server, "k1", json!({"amount": 10})).await;
        let reused = pay(&server, "k1", json!({"amount": 11})).await;
        assert_eq!(reused.status, 422);
        assert_eq!(
            reused.header("content-type"),
            Some("application/problem+json")
        );
        assert_eq!(
            reused.body["detail"],
            "Idempotency-Key reused with a different payload"
        );
        assert_eq!(server.get("/payments?key=k1").await.body["count"], 1);
        server.stop().await;
    }

    #[tokio::test]
    async fn a_payment_without_a_key_or_amount_is_400() {
        let server = TestServer::correct().await;
        let keyless = server.post("/payments", &json!({"amount": 10})).await;
        assert_eq!(keyless.status, 400);
        assert_eq!(keyless.body["status"], 400);
        assert_eq!(pay(&server, "", json!({"amount": 10})).await.status, 400);
        assert_eq!(
            pay(&server, "k1", json!({"amount": "10"})).await.status,
            400
        );
        assert_eq!(server.get("/payments").await.body["count"], 0);
        assert_eq!(server.get("/payments/1").await.status, 404);
        server.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_duplicate_sent_while_the_first_is_in_flight_gets_409() {
        // Any bug sets the processing time to the window; toctou leaves payments alone,
        // so the first request with the key is in flight for 200 ms.
        let server = TestServer::with_bug(Bug::Toctou, Duration::from_millis(200)).await;
        let replies = duplicates(&server, 8).await;
        assert_eq!(statuses(&replies), [(201, 1), (409, 7)].into());
        for duplicate in replies.iter().filter(|reply| reply.status == 409) {
            assert_eq!(
                duplicate.body["detail"],
                "a request with this Idempotency-Key is still being processed"
            );
        }
        assert_eq!(server.get("/payments?key=k1").await.body["count"], 1);
        server.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn of_16_simultaneous_duplicates_exactly_one_is_charged() {
        let server = TestServer::correct().await;
        let replies = duplicates(&server, 16).await;
        let original: Vec<&Reply> = replies
            .iter()
            .filter(|reply| reply.status == 201 && reply.header("idempotent-replayed").is_none())
            .collect();
        assert_eq!(original.len(), 1, "{replies:?}");
        for other in replies
            .iter()
            .filter(|reply| reply.header("idempotent-replayed").is_some())
        {
            assert_eq!(other.status, 201);
            assert_eq!(other.body, original[0].body);
        }
        let accounted = replies
            .iter()
            .filter(|reply| reply.status == 409 || reply.status == 201)
            .count();
        assert_eq!(accounted, 16, "{replies:?}");
        assert_eq!(server.get("/payments?key=k1").await.body["count"], 1);
        server.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn idem_double_charges_every_simultaneous_duplicate() {
        let server = TestServer::with_bug(Bug::IdemDouble, Duration::from_millis(150)).await;
        let replies = duplicates(&server, 6).await;
        let charged = replies.iter().filter(|reply| reply.status == 201).count();
        assert!(charged > 1, "{replies:?}");
        let charges = server.get("/payments?key=k1").await;
        assert_eq!(charges.body["count"], charged);
        server.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_request_abandoned_in_flight_releases_its_key() {
        let server = TestServer::with_bug(Bug::Toctou, Duration::from_millis(300)).await;
        let impatient = reqwest::Client::builder()
            .timeout(Duration::from_millis(50))
            .build()
            .expect("client");
        let abandoned = json_body(
            impatient
                .post(server.url("/payments"))
                .header("idempotency-key", "k1"),
            &json!({"amount": 10}),
        )
        .send()
        .await;
        assert!(abandoned.is_err(), "the client gave up: {abandoned:?}");
        // The server notices the closed connection and drops the request; poll until
        // the key is free (a retry is then processed), at most 2 s.
        let mut retried = pay(&server, "k1", json!({"amount": 10})).await;
        for _ in 0..40 {
            if retried.status != 409 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            retried = pay(&server, "k1", json!({"amount": 10})).await;
        }
        assert_eq!(retried.status, 201, "{retried:?}");
        assert_eq!(retried.header("idempotent-replayed"), None);
        assert_eq!(server.get("/payments?key=k1").await.body["count"], 1);
        server.stop().await;
    }
}
