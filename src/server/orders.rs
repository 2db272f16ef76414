//! `/orders`: a small state machine, for the `transition` workload.
//!
//! An order starts `pending`; `POST /orders/{id}/transitions {"to": S}` moves it along
//! the allowed edges (pending → cancelled | shipped | approved | rejected, shipped →
//! delivered). The allowed-from check and the move are one lock hold, so of N
//! simultaneous transitions out of `pending` exactly one succeeds and the rest get 409
//! naming the current state and version. Every applied transition is kept in `history`,
//! so a checker can see two transitions out of one state.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::problem::{bad_request, drop_managed, not_found, parse_object, view, Problem};
use super::store::Body;
use super::{Bug, SharedState};

/// The `/orders` routes.
pub(super) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/orders", post(create_order))
        .route("/orders/{id}", get(read_order))
        .route("/orders/{id}/transitions", post(transition_order))
}

/// The states of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OrderState {
    Pending,
    Cancelled,
    Shipped,
    Delivered,
    Approved,
    Rejected,
}

impl OrderState {
    /// The states a client may ask to move to (every state but the initial one).
    const TARGETS: [OrderState; 5] = [
        OrderState::Cancelled,
        OrderState::Shipped,
        OrderState::Delivered,
        OrderState::Approved,
        OrderState::Rejected,
    ];

    /// The state's name in JSON.
    fn name(self) -> &'static str {
        match self {
            OrderState::Pending => "pending",
            OrderState::Cancelled => "cancelled",
            OrderState::Shipped => "shipped",
            OrderState::Delivered => "delivered",
            OrderState::Approved => "approved",
            OrderState::Rejected => "rejected",
        }
    }

    /// The target state with this name, if it is one.
    fn target(name: &str) -> Option<OrderState> {
        OrderState::TARGETS
            .into_iter()
            .find(|state| state.name() == name)
    }

    /// Whether an order in this state may move to `to`.
    fn can_go_to(self, to: OrderState) -> bool {
        matches!(
            (self, to),
            (
                OrderState::Pending,
                OrderState::Cancelled
                    | OrderState::Shipped
                    | OrderState::Approved
                    | OrderState::Rejected
            ) | (OrderState::Shipped, OrderState::Delivered)
        )
    }
}

/// One order: its state, version (1, plus one per transition), every transition
/// applied, and the client's fields.
#[derive(Debug, Clone)]
pub(super) struct Order {
    state: OrderState,
    version: u64,
    history: Vec<(OrderState, OrderState)>,
    fields: Body,
}

impl Order {
    /// Applies the transition `from → to` (`from` as the check saw it).
    fn apply(&mut self, from: OrderState, to: OrderState) {
        self.state = to;
        self.version += 1;
        self.history.push((from, to));
    }

    /// `{"id","state","version","history":[{"from","to"}...], ...fields}`.
    fn view(&self, id: &str) -> Value {
        let history: Vec<Value> = self
            .history
            .iter()
            .map(|(from, to)| json!({"from": from.name(), "to": to.name()}))
            .collect();
        view(
            vec![
                ("id", json!(id)),
                ("state", json!(self.state.name())),
                ("version", json!(self.version)),
                ("history", Value::Array(history)),
            ],
            &self.fields,
        )
    }
}

/// `POST /orders`: a new order, `pending` at version 1.
async fn create_order(State(state): State<SharedState>, body: Bytes) -> Response {
    let mut fields = match parse_object(&body) {
        Ok(fields) => fields,
        Err(reason) => return bad_request(reason),
    };
    drop_managed(&mut fields, &["id", "state", "version", "history"]);
    let order = Order {
        state: OrderState::Pending,
        version: 1,
        history: Vec::new(),
        fields,
    };
    let id = state.orders.insert(order.clone());
    let location = [(header::LOCATION, format!("/orders/{id}"))];
    (StatusCode::CREATED, location, Json(order.view(&id))).into_response()
}

/// `GET /orders/{id}`.
async fn read_order(State(state): State<SharedState>, Path(id): Path<String>) -> Response {
    match state.orders.read(&id) {
        Some(order) => Json(order.view(&id)).into_response(),
        None => not_found("order", &id),
    }
}

/// `POST /orders/{id}/transitions {"to": S}`: moves the order to `S` if its current
/// state allows it.
async fn transition_order(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let Some(cell) = state.orders.get(&id) else {
        return not_found("order", &id);
    };
    let fields = match parse_object(&body) {
        Ok(fields) => fields,
        Err(reason) => return bad_request(reason),
    };
    let Some(Value::String(target)) = fields.get("to") else {
        return bad_request("the body must name the target state as a string: {\"to\": ...}");
    };
    let Some(to) = OrderState::target(target) else {
        let names: Vec<&str> = OrderState::TARGETS.iter().map(|s| s.name()).collect();
        return Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "{target:?} is not a state an order can move to; the states are {}",
                names.join(", ")
            ),
        )
        .into_response();
    };
    let outcome = state
        .policy
        .check_then_commit(
            Bug::DoubleTransition,
            &cell,
            |order| {
                if order.state.can_go_to(to) {
                    Ok(order.state)
                } else {
                    Err(order.clone())
                }
            },
            |order, from| {
                order.apply(from, to);
                order.clone()
            },
        )
        .await;
    match outcome {
        Ok(order) => Json(order.view(&id)).into_response(),
        Err(mut current) if state.policy.has(Bug::PhantomSuccess) => {
            // Answered as if applied; the stored order is left as it was.
            current.apply(current.state, to);
            Json(current.view(&id)).into_response()
        }
        Err(current) => Problem::new(
            StatusCode::CONFLICT,
            format!("cannot go from {} to {}", current.state.name(), to.name()),
        )
        .with_member("current_state", current.state.name())
        .with_member("current_version", current.version)
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::OrderState;
    use crate::server::testing::{json_body, statuses, Reply, TestServer};
    use crate::server::Bug;

    #[test]
    fn only_the_documented_edges_are_allowed() {
        use OrderState::*;
        let all = [Pending, Cancelled, Shipped, Delivered, Approved, Rejected];
        let allowed = [
            (Pending, Cancelled),
            (Pending, Shipped),
            (Pending, Approved),
            (Pending, Rejected),
            (Shipped, Delivered),
        ];
        for from in all {
            for to in all {
                assert_eq!(
                    from.can_go_to(to),
                    allowed.contains(&(from, to)),
                    "{from:?} → {to:?}"
                );
            }
        }
    }

    #[tokio::test]
    async fn an_order_starts_pending_and_moves_along_allowed_transitions() {
        let server = TestServer::correct().await;
        let created = server
            .post("/orders", &json!({"item": "book", "state": "delivered"}))
            .await;
        assert_eq!(created.status, 201);
        assert_eq!(created.header("location"), Some("/orders/1"));
        assert_eq!(
            created.body,
            json!({"id": "1", "state": "pending", "version": 1, "history": [], "item": "book"})
        );
        let shipped = server
            .post("/orders/1/transitions", &json!({"to": "shipped"}))
            .await;
        assert_eq!(shipped.status, 200);
        assert_eq!(shipped.body["state"], "shipped");
        assert_eq!(shipped.body["version"], 2);
        let delivered = server
            .post("/orders/1/transitions", &json!({"to": "delivered"}))
            .await;
        assert_eq!(delivered.status, 200);
        let read = server.get("/orders/1").await;
        assert_eq!(
            read.body,
            json!({
                "id": "1",
                "state": "delivered",
                "version": 3,
                "history": [
                    {"from": "pending", "to": "shipped"},
                    {"from": "shipped", "to": "delivered"},
                ],
                "item": "book",
            })
        );
        server.stop().await;
    }

    #[tokio::test]
    async fn a_transition_not_allowed_from_the_current_state_gets_409_naming_it() {
        let server = TestServer::correct().await;
        server.post("/orders", &json!({})).await;
        server
            .post("/orders/1/transitions", &json!({"to": "cancelled"}))
            .await;
        let refused = server
            .post("/orders/1/transitions", &json!({"to": "shipped"}))
            .await;
        assert_eq!(refused.status, 409);
        assert_eq!(
            refused.header("content-type"),
            Some("application/problem+json")
        );
        assert_eq!(
            refused.body,
            json!({
                "type": "about:blank",
                "title": "Conflict",
                "status": 409,
                "detail": "cannot go from cancelled to shipped",
                "current_state": "cancelled",
                "current_version": 2,
            })
        );
        assert_eq!(server.get("/orders/1").await.body["version"], 2);
        server.stop().await;
    }

    #[tokio::test]
    async fn an_unknown_target_is_422_a_malformed_body_400_an_unknown_order_404() {
        let server = TestServer::correct().await;
        server.post("/orders", &json!({})).await;
        for target in ["lost", "pending"] {
            let unknown = server
                .post("/orders/1/transitions", &json!({"to": target}))
                .await;
            assert_eq!(unknown.status, 422, "{target}");
            assert_eq!(unknown.body["status"], 422);
        }
        let missing = server.post("/orders/1/transitions", &json!({})).await;
        assert_eq!(missing.status, 400);
        let nowhere = server
            .post("/orders/9/transitions", &json!({"to": "shipped"}))
            .await;
        assert_eq!(nowhere.status, 404);
        assert_eq!(server.get("/orders/9").await.status, 404);
        assert_eq!(server.get("/orders/1").await.body["state"], "pending");
        server.stop().await;
    }

    /// 16 simultaneous transitions of order 1, alternating `cancelled` and `shipped`.
    async fn sixteen_transitions_out_of_pending(server: &TestServer) -> Vec<Reply> {
        server.post("/orders", &json!({})).await;
        server
            .burst(16, |client, i| {
                let to = if i % 2 == 0 { "cancelled" } else { "shipped" };
                json_body(
                    client.post(server.url("/orders/1/transitions")),
                    &json!({"to": to}),
                )
            })
            .await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn of_16_simultaneous_transitions_out_of_pending_exactly_one_wins() {
        let server = TestServer::correct().await;
        let replies = sixteen_transitions_out_of_pending(&server).await;
        assert_eq!(statuses(&replies), [(200, 1), (409, 15)].into());
        let read = server.get("/orders/1").await;
        assert_eq!(read.body["version"], 2);
        assert_eq!(read.body["history"].as_array().map(Vec::len), Some(1));
        server.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn double_transition_lets_several_transitions_out_of_pending_win() {
        let server = TestServer::with_bug(Bug::DoubleTransition, Duration::from_millis(150)).await;
        let replies = sixteen_transitions_out_of_pending(&server).await;
        let won = replies.iter().filter(|reply| reply.status == 200).count();
        assert!(won > 1, "{replies:?}");
        let read = server.get("/orders/1").await;
        let history = read.body["history"].as_array().cloned().unwrap_or_default();
        assert_eq!(history.len(), won);
        assert!(
            history.iter().all(|step| step["from"] == "pending"),
            "{history:?}"
        );
        server.stop().await;
    }

    #[tokio::test]
    async fn phantom_success_answers_a_refused_transition_200_but_keeps_the_order() {
        let server = TestServer::with_bug(Bug::PhantomSuccess, Duration::ZERO).await;
        server.post("/orders", &json!({})).await;
        server
            .post("/orders/1/transitions", &json!({"to": "cancelled"}))
            .await;
        let phantom = server
            .post("/orders/1/transitions", &json!({"to": "shipped"}))
            .await;
        assert_eq!(phantom.status, 200);
        assert_eq!(phantom.body["state"], "shipped");
        assert_eq!(phantom.body["version"], 3);
        let read = server.get("/orders/1").await;
        assert_eq!(read.body["state"], "cancelled");
        assert_eq!(read.body["version"], 2);
        assert_eq!(
            read.body["history"],
            json!([{"from": "pending", "to": "cancelled"}])
        );
        server.stop().await;
    }
}
