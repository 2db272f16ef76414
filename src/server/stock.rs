//! `/items` and `/slots`: limited stock and limited capacity, for the `stock` workload.
//!
//! A purchase takes `quantity` units of an item's stock; a booking takes one place in
//! a slot. Both check what is left and take it in one lock hold, so of N simultaneous
//! requests against K units exactly K succeed (201) and the rest get 409 with what is
//! `available`; stock never goes below zero and a slot is never overbooked.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::problem::{
    bad_request, drop_managed, not_found, parse_object, parse_optional_object, view, Problem,
};
use super::store::{Body, Collection};
use super::{Bug, SharedState};

/// The `/items` and `/slots` routes.
pub(super) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/items", post(create_item))
        .route("/items/{id}", get(read_item))
        .route("/items/{id}/purchases", post(purchase))
        .route("/slots", post(create_slot))
        .route("/slots/{id}", get(read_slot))
        .route("/slots/{id}/bookings", post(book))
}

/// Items, slots, and the counters purchase and booking ids come from.
#[derive(Debug, Default)]
pub(super) struct Stock {
    items: Collection<Item>,
    slots: Collection<Slot>,
    last_purchase: AtomicU64,
    last_booking: AtomicU64,
}

/// An item: units left, units sold, and the client's fields. Signed, so that the
/// oversell a buggy server commits shows as a negative stock.
#[derive(Debug, Clone)]
struct Item {
    stock: i64,
    sold: i64,
    fields: Body,
}

impl Item {
    /// `{"id","stock","sold", ...fields}`.
    fn view(&self, id: &str) -> Value {
        view(
            vec![
                ("id", json!(id)),
                ("stock", json!(self.stock)),
                ("sold", json!(self.sold)),
            ],
            &self.fields,
        )
    }
}

/// A slot: how many places it has, the bookings made, and the client's fields.
#[derive(Debug, Clone)]
struct Slot {
    capacity: i64,
    bookings: Vec<Booking>,
    fields: Body,
}

/// One booking of a slot.
#[derive(Debug, Clone)]
struct Booking {
    id: String,
    who: String,
}

impl Slot {
    /// Places left; negative once a buggy server has overbooked.
    fn available(&self) -> i64 {
        self.capacity - i64::try_from(self.bookings.len()).unwrap_or(i64::MAX)
    }

    /// `{"id","capacity","booked","bookings":[{"booking_id","who"}], ...fields}`.
    fn view(&self, id: &str) -> Value {
        let bookings: Vec<Value> = self
            .bookings
            .iter()
            .map(|booking| json!({"booking_id": booking.id, "who": booking.who}))
            .collect();
        view(
            vec![
                ("id", json!(id)),
                ("capacity", json!(self.capacity)),
                ("booked", json!(self.bookings.len())),
                ("bookings", Value::Array(bookings)),
            ],
            &self.fields,
        )
    }
}

/// The value of `name` in `fields` as a count of at least `min`: `default` when absent,
/// an error fit for a 400 when it is not a whole number of at least `min`.
fn count_field(fields: &Body, name: &str, min: i64, default: Option<i64>) -> Result<i64, String> {
    let wrong = || format!("\"{name}\" must be a whole number of at least {min}");
    match (fields.get(name), default) {
        (None, Some(default)) => Ok(default),
        (None, None) => Err(format!(
            "the body must carry \"{name}\": a whole number of at least {min}"
        )),
        (Some(value), _) => value.as_i64().filter(|n| *n >= min).ok_or_else(wrong),
    }
}

/// 409: fewer units left than asked for.
fn sold_out(detail: String, available: i64) -> Response {
    Problem::new(StatusCode::CONFLICT, detail)
        .with_member("available", available)
        .into_response()
}

/// `POST /items {"stock": K}`: a new item with `K` units.
async fn create_item(State(state): State<SharedState>, body: Bytes) -> Response {
    let mut fields = match parse_object(&body) {
        Ok(fields) => fields,
        Err(reason) => return bad_request(reason),
    };
    let stock = match count_field(&fields, "stock", 0, None) {
        Ok(stock) => stock,
        Err(reason) => return bad_request(reason),
    };
    drop_managed(&mut fields, &["id", "stock", "sold"]);
    let item = Item {
        stock,
        sold: 0,
        fields,
    };
    let id = state.stock.items.insert(item.clone());
    let location = [(header::LOCATION, format!("/items/{id}"))];
    (StatusCode::CREATED, location, Json(item.view(&id))).into_response()
}

/// `GET /items/{id}`.
async fn read_item(State(state): State<SharedState>, Path(id): Path<String>) -> Response {
    match state.stock.items.read(&id) {
        Some(item) => Json(item.view(&id)).into_response(),
        None => not_found("item", &id),
    }
}

/// `POST /items/{id}/purchases {"quantity": q}` (default 1): takes `q` units if at
/// least `q` are left.
async fn purchase(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let Some(cell) = state.stock.items.get(&id) else {
        return not_found("item", &id);
    };
    let quantity = match parse_optional_object(&body)
        .and_then(|fields| count_field(&fields, "quantity", 1, Some(1)))
    {
        Ok(quantity) => quantity,
        Err(reason) => return bad_request(reason),
    };
    let outcome = state
        .policy
        .check_then_commit(
            Bug::Oversell,
            &cell,
            |item| {
                if item.stock >= quantity {
                    Ok(())
                } else {
                    Err(item.stock)
                }
            },
            |item, ()| {
                item.stock -= quantity;
                item.sold += quantity;
                item.stock
            },
        )
        .await;
    match outcome {
        Ok(remaining) => {
            let purchase_id = state.stock.last_purchase.fetch_add(1, Ordering::Relaxed) + 1;
            let receipt = json!({
                "purchase_id": purchase_id.to_string(),
                "item": id,
                "quantity": quantity,
                "remaining": remaining,
            });
            (StatusCode::CREATED, Json(receipt)).into_response()
        }
        Err(available) => sold_out(format!("only {available} left"), available),
    }
}

/// `POST /slots {"capacity": K}` (default 1): a new slot with `K` places.
async fn create_slot(State(state): State<SharedState>, body: Bytes) -> Response {
    let mut fields = match parse_optional_object(&body) {
        Ok(fields) => fields,
        Err(reason) => return bad_request(reason),
    };
    let capacity = match count_field(&fields, "capacity", 0, Some(1)) {
        Ok(capacity) => capacity,
        Err(reason) => return bad_request(reason),
    };
    drop_managed(&mut fields, &["id", "capacity", "booked", "bookings"]);
    let slot = Slot {
        capacity,
        bookings: Vec::new(),
        fields,
    };
    let id = state.stock.slots.insert(slot.clone());
    let location = [(header::LOCATION, format!("/slots/{id}"))];
    (StatusCode::CREATED, location, Json(slot.view(&id))).into_response()
}

/// `GET /slots/{id}`.
async fn read_slot(State(state): State<SharedState>, Path(id): Path<String>) -> Response {
    match state.stock.slots.read(&id) {
        Some(slot) => Json(slot.view(&id)).into_response(),
        None => not_found("slot", &id),
    }
}

/// `POST /slots/{id}/bookings {"who": "..."}`: books one place if one is left.
async fn book(State(state): State<SharedState>, Path(id): Path<String>, body: Bytes) -> Response {
    let Some(cell) = state.stock.slots.get(&id) else {
        return not_found("slot", &id);
    };
    let fields = match parse_object(&body) {
        Ok(fields) => fields,
        Err(reason) => return bad_request(reason),
    };
    let Some(Value::String(who)) = fields.get("who").cloned() else {
        return bad_request("the body must say who books, as a string: {\"who\": ...}");
    };
    let outcome = state
        .policy
        .check_then_commit(
            Bug::Oversell,
            &cell,
            |slot| {
                if slot.available() >= 1 {
                    Ok(())
                } else {
                    Err(slot.available())
                }
            },
            |slot, ()| {
                let booking_id = state.stock.last_booking.fetch_add(1, Ordering::Relaxed) + 1;
                let booking = Booking {
                    id: booking_id.to_string(),
                    who: who.clone(),
                };
                slot.bookings.push(booking.clone());
                booking
            },
        )
        .await;
    match outcome {
        Ok(booking) => {
            let receipt = json!({"booking_id": booking.id, "slot": id, "who": booking.who});
            (StatusCode::CREATED, Json(receipt)).into_response()
        }
        Err(available) => sold_out("slot is fully booked".to_owned(), available),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use crate::server::testing::{json_body, statuses, TestServer};
    use crate::server::Bug;

    #[tokio::test]
    async fn an_item_is_created_with_its_stock_and_purchases_take_from_it() {
        let server = TestServer::correct().await;
        let created = server
            .post("/items", &json!({"stock": 5, "sku": "A1"}))
            .await;
        assert_eq!(created.status, 201);
        assert_eq!(created.header("location"), Some("/items/1"));
        assert_eq!(
            created.body,
            json!({"id": "1", "stock": 5, "sold": 0, "sku": "A1"})
        );
        let one = server.post("/items/1/purchases", &json!({})).await;
        assert_eq!(one.status, 201);
        assert_eq!(
            one.body,
            json!({"purchase_id": "1", "item": "1", "quantity": 1, "remaining": 4})
        );
        let three = server
            .post("/items/1/purchases", &json!({"quantity": 3}))
            .await;
        assert_eq!(three.status, 201);
        assert_eq!(three.body["remaining"], 1);
        let read = server.get("/items/1").await;
        assert_eq!(
            read.body,
            json!({"id": "1", "stock": 1, "sold": 4, "sku": "A1"})
        );
        server.stop().await;
    }

    #[tokio::test]
    async fn a_purchase_of_more_than_is_left_gets_409_with_what_is_available() {
        let server = TestServer::correct().await;
        server.post("/items", &json!({"stock": 2})).await;
        let too_many = server
            .post("/items/1/purchases", &json!({"quantity": 3}))
            .await;
        assert_eq!(too_many.status, 409);
        assert_eq!(too_many.body["detail"], "only 2 left");
        assert_eq!(too_many.body["available"], 2);
        server
            .post("/items/1/purchases", &json!({"quantity": 2}))
            .await;
        let none_left = server.post("/items/1/purchases", &json!({})).await;
        assert_eq!(
            none_left.header("content-type"),
            Some("application/problem+json")
        );
        assert_eq!(
            none_left.body,
            json!({
                "type": "about:blank",
                "title": "Conflict",
                "status": 409,
                "detail": "only 0 left",
                "available": 0,
            })
        );
        assert_eq!(server.get("/items/1").await.body["stock"], 0);
        server.stop().await;
    }

    #[tokio::test]
    async fn bad_stock_or_quantity_is_400_and_an_unknown_item_404() {
        let server = TestServer::correct().await;
        for body in [
            json!({}),
            json!({"stock": -1}),
            json!({"stock": "5"}),
            json!({"stock": 1.5}),
        ] {
            assert_eq!(server.post("/items", &body).await.status, 400, "{body}");
        }
        server.post("/items", &json!({"stock": 1})).await;
        for body in [json!({"quantity": 0}), json!({"quantity": "1"}), json!([1])] {
            let refused = server.post("/items/1/purchases", &body).await;
            assert_eq!(refused.status, 400, "{body}");
        }
        assert_eq!(server.get("/items/1").await.body["stock"], 1);
        assert_eq!(
            server.post("/items/9/purchases", &json!({})).await.status,
            404
        );
        assert_eq!(server.get("/items/9").await.status, 404);
        server.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn of_12_simultaneous_purchases_of_stock_5_exactly_5_succeed() {
        let server = TestServer::correct().await;
        server.post("/items", &json!({"stock": 5})).await;
        let replies = server
            .burst(12, |client, _| {
                json_body(
                    client.post(server.url("/items/1/purchases")),
                    &json!({"quantity": 1}),
                )
            })
            .await;
        assert_eq!(statuses(&replies), [(201, 5), (409, 7)].into());
        let read = server.get("/items/1").await;
        assert_eq!(read.body["stock"], 0);
        assert_eq!(read.body["sold"], 5);
        server.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn oversell_sells_more_than_the_stock() {
        let server = TestServer::with_bug(Bug::Oversell, Duration::from_millis(150)).await;
        server.post("/items", &json!({"stock": 2})).await;
        let replies = server
            .burst(8, |client, _| {
                json_body(client.post(server.url("/items/1/purchases")), &json!({}))
            })
            .await;
        let sold = replies.iter().filter(|reply| reply.status == 201).count();
        assert!(sold > 2, "{replies:?}");
        let read = server.get("/items/1").await;
        assert_eq!(read.body["sold"], sold);
        assert!(
            read.body["stock"].as_i64().is_some_and(|stock| stock < 0),
            "{read:?}"
        );
        server.stop().await;
    }

    #[tokio::test]
    async fn a_slot_takes_bookings_up_to_its_capacity_then_409() {
        let server = TestServer::correct().await;
        let created = server.post("/slots", &json!({})).await;
        assert_eq!(created.status, 201);
        assert_eq!(created.header("location"), Some("/slots/1"));
        assert_eq!(
            created.body,
            json!({"id": "1", "capacity": 1, "booked": 0, "bookings": []})
        );
        let booked = server
            .post("/slots/1/bookings", &json!({"who": "ann"}))
            .await;
        assert_eq!(booked.status, 201);
        assert_eq!(
            booked.body,
            json!({"booking_id": "1", "slot": "1", "who": "ann"})
        );
        let full = server
            .post("/slots/1/bookings", &json!({"who": "bob"}))
            .await;
        assert_eq!(full.status, 409);
        assert_eq!(
            full.body,
            json!({
                "type": "about:blank",
                "title": "Conflict",
                "status": 409,
                "detail": "slot is fully booked",
                "available": 0,
            })
        );
        let read = server.get("/slots/1").await;
        assert_eq!(
            read.body,
            json!({
                "id": "1",
                "capacity": 1,
                "booked": 1,
                "bookings": [{"booking_id": "1", "who": "ann"}],
            })
        );
        assert_eq!(
            server.post("/slots/1/bookings", &json!({})).await.status,
            400
        );
        assert_eq!(
            server
                .post("/slots/9/bookings", &json!({"who": "x"}))
                .await
                .status,
            404
        );
        server.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn of_10_simultaneous_bookings_of_3_places_exactly_3_succeed() {
        let server = TestServer::correct().await;
        server.post("/slots", &json!({"capacity": 3})).await;
        let replies = server
            .burst(10, |client, i| {
                let who = json!({"who": format!("w{i}")});
                json_body(client.post(server.url("/slots/1/bookings")), &who)
            })
            .await;
        assert_eq!(statuses(&replies), [(201, 3), (409, 7)].into());
        assert_eq!(server.get("/slots/1").await.body["booked"], 3);
        server.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn oversell_overbooks_a_slot() {
        let server = TestServer::with_bug(Bug::Oversell, Duration::from_millis(150)).await;
        server.post("/slots", &json!({"capacity": 1})).await;
        let replies = server
            .burst(6, |client, i| {
                let who = json!({"who": format!("w{i}")});
                json_body(client.post(server.url("/slots/1/bookings")), &who)
            })
            .await;
        let booked = replies.iter().filter(|reply| reply.status == 201).count();
        assert!(booked > 1, "{replies:?}");
        assert_eq!(server.get("/slots/1").await.body["booked"], booked);
        server.stop().await;
    }
}
