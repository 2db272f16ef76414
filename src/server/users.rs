//! `/users`: records with a unique `email`, for the `unique-create` workload.
//!
//! `POST /users` checks the email against one index and inserts under the same lock
//! hold, so of N simultaneous creators with one email exactly one gets 201 and the rest
//! 409 naming the conflicting field and the existing user. `GET /users?email=X` scans
//! the records themselves, not the index, so duplicates a buggy server lets in show up.
//! Emails are compared exactly as sent.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::problem::{bad_request, drop_managed, listing, not_found, parse_object, view, Problem};
use super::store::{lock, Body};
use super::{Bug, SharedState};

/// The `/users` routes.
pub(super) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/users", get(list_users).post(create_user))
        .route("/users/{id}", get(read_user))
}

/// Every user, and the email index the uniqueness check reads, behind one lock.
#[derive(Debug, Default)]
pub(super) struct Users {
    table: Mutex<UserTable>,
}

/// The records (id → fields, `email` among them) and the index (email → id).
#[derive(Debug, Default)]
struct UserTable {
    by_id: BTreeMap<u64, Body>,
    by_email: HashMap<String, u64>,
    last_id: u64,
}

impl UserTable {
    /// Stores a new user under the next id and points the index at it.
    fn insert(&mut self, email: String, fields: Body) -> u64 {
        self.last_id += 1;
        let id = self.last_id;
        self.by_email.insert(email, id);
        self.by_id.insert(id, fields);
        id
    }
}

/// A user as the client sees it: `{"id", "email", ...fields}`.
fn user_view(id: u64, fields: &Body) -> Value {
    view(vec![("id", json!(id.to_string()))], fields)
}

/// `POST /users`: creates a user if no user has this email yet.
async fn create_user(State(state): State<SharedState>, body: Bytes) -> Response {
    let mut fields = match parse_object(&body) {
        Ok(fields) => fields,
        Err(reason) => return bad_request(reason),
    };
    drop_managed(&mut fields, &["id"]);
    let Some(Value::String(email)) = fields.get("email").cloned() else {
        return bad_request("the body must carry the user's \"email\" as a string");
    };
    let outcome = state
        .policy
        .check_then_commit(
            Bug::DupCreate,
            &state.users.table,
            |users| match users.by_email.get(&email) {
                Some(existing) => Err(*existing),
                None => Ok(()),
            },
            |users, ()| {
                let id = users.insert(email.clone(), fields.clone());
                user_view(id, &fields)
            },
        )
        .await;
    match outcome {
        Ok(user) => {
            let location = format!("/users/{}", user["id"].as_str().unwrap_or_default());
            (
                StatusCode::CREATED,
                [(header::LOCATION, location)],
                Json(user),
            )
                .into_response()
        }
        Err(existing) => Problem::new(
            StatusCode::CONFLICT,
            format!("email {email} is already taken"),
        )
        .with_member("conflicting_field", "email")
        .with_member("existing", format!("/users/{existing}"))
        .into_response(),
    }
}

/// `GET /users/{id}`.
async fn read_user(State(state): State<SharedState>, Path(id): Path<String>) -> Response {
    let users = lock(&state.users.table);
    match id
        .parse()
        .ok()
        .and_then(|n: u64| Some((n, users.by_id.get(&n)?)))
    {
        Some((n, fields)) => Json(user_view(n, fields)).into_response(),
        None => not_found("user", &id),
    }
}

/// The query of `GET /users`.
#[derive(Debug, Deserialize)]
struct UserQuery {
    email: Option<String>,
}

/// `GET /users?email=X`: every user with this email (all users without `email`), by id.
async fn list_users(
    State(state): State<SharedState>,
    query: Result<Query<UserQuery>, QueryRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return bad_request("the query string is malformed");
    };
    let users = lock(&state.users.table);
    let matching = users
        .by_id
        .iter()
        .filter(|(_, fields)| match &query.email {
            Some(email) => fields.get("email").and_then(Value::as_str) == Some(email),
            None => true,
        })
        .map(|(id, fields)| user_view(*id, fields))
        .collect();
    listing(matching)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use crate::server::testing::{json_body, statuses, TestServer};
    use crate::server::Bug;

    #[tokio::test]
    async fn creating_a_user_answers_201_with_location_and_the_user() {
        let server = TestServer::correct().await;
        let created = server
            .post(
                "/users",
                &json!({"email": "a@b.c", "name": "A", "id": "mine"}),
            )
            .await;
        assert_eq!(created.status, 201);
        assert_eq!(created.header("location"), Some("/users/1"));
        assert_eq!(
            created.body,
            json!({"id": "1", "email": "a@b.c", "name": "A"})
        );
        let read = server.get("/users/1").await;
        assert_eq!(read.status, 200);
        assert_eq!(read.body, created.body);
        let by_email = server.get("/users?email=a@b.c").await;
        assert_eq!(by_email.body, json!({"count": 1, "items": [created.body]}));
        let other = server.get("/users?email=x@y.z").await;
        assert_eq!(other.body, json!({"count": 0, "items": []}));
        server.stop().await;
    }

    #[tokio::test]
    async fn a_taken_email_gets_409_naming_the_field_and_the_existing_user() {
        let server = TestServer::correct().await;
        server.post("/users", &json!({"email": "x@y.z"})).await;
        server.post("/users", &json!({"email": "a@b.c"})).await;
        let duplicate = server.post("/users", &json!({"email": "a@b.c"})).await;
        assert_eq!(duplicate.status, 409);
        assert_eq!(
            duplicate.header("content-type"),
            Some("application/problem+json")
        );
        assert_eq!(
            duplicate.body,
            json!({
                "type": "about:blank",
                "title": "Conflict",
                "status": 409,
                "detail": "email a@b.c is already taken",
                "conflicting_field": "email",
                "existing": "/users/2",
            })
        );
        let by_email = server.get("/users?email=a@b.c").await;
        assert_eq!(by_email.body["count"], 1);
        server.stop().await;
    }

    #[tokio::test]
    async fn a_missing_or_non_string_email_is_a_400_and_an_unknown_user_a_404() {
        let server = TestServer::correct().await;
        for body in [json!({"name": "A"}), json!({"email": 7}), json!(["a@b.c"])] {
            let refused = server.post("/users", &body).await;
            assert_eq!(refused.status, 400, "{body}");
            assert_eq!(refused.body["status"], 400);
        }
        assert_eq!(server.get("/users").await.body["count"], 0);
        assert_eq!(server.get("/users/1").await.status, 404);
        assert_eq!(server.get("/users/abc").await.status, 404);
        server.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn of_16_simultaneous_creates_with_one_email_exactly_one_wins() {
        let server = TestServer::correct().await;
        let replies = server
            .burst(16, |client, i| {
                let user = json!({"email": "a@b.c", "writer": i});
                json_body(client.post(server.url("/users")), &user)
            })
            .await;
        assert_eq!(statuses(&replies), [(201, 1), (409, 15)].into());
        let by_email = server.get("/users?email=a@b.c").await;
        assert_eq!(by_email.body["count"], 1);
        server.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dup_create_lets_simultaneous_creators_insert_the_same_email() {
        let server = TestServer::with_bug(Bug::DupCreate, Duration::from_millis(150)).await;
        let replies = server
            .burst(8, |client, i| {
                let user = json!({"email": "a@b.c", "writer": i});
                json_body(client.post(server.url("/users")), &user)
            })
            .await;
        let created = replies.iter().filter(|reply| reply.status == 201).count();
        assert!(created > 1, "{replies:?}");
        let by_email = server.get("/users?email=a@b.c").await;
        assert_eq!(by_email.body["count"], created);
        server.stop().await;
    }
}
