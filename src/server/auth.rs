//! Logins, and `/secure/notes`: the `/notes` dialect behind them, for scenarios that
//! must log in before they race.
//!
//! Two ways in, both with the one account [`LOGIN_USER`] / [`LOGIN_PASSWORD`], sent as
//! JSON `{"username", "password"}` (a wrong pair is 401, a malformed body 400):
//! - `POST /auth/token` answers `{"access_token", "token_type": "Bearer", "expires_in"}`
//!   (seconds, rounded up; `expires_in_ms` exactly). The token is accepted as
//!   `Authorization: Bearer <token>` for [`ServerConfig::token_lifetime`] (5 s unless
//!   set), so a long run must log in again; after that a request gets 401 with
//!   `WWW-Authenticate: Bearer realm="contend", error="invalid_token", …` (RFC 6750 §3).
//! - `POST /auth/session` answers 200 with two cookies, `contend_session` (`HttpOnly`)
//!   and `csrf_token`, and the same CSRF token in an `X-CSRF-Token` header and as
//!   `{"csrf_token"}`. A request that comes with the session cookie alone and changes
//!   something (any method but `GET`, `HEAD` and `OPTIONS`) must echo the token in an
//!   `X-CSRF-Token` header: without it, or with another, it gets 403. Sessions last an
//!   hour.
//!
//! The same account may also send itself on every request, `Authorization: Basic`
//! (RFC 7617) with `contend:contend-secret`, as servers behind an htpasswd file take it.
//!
//! `/secure/notes` and `/secure/notes/{id}` are the `/notes` routes with their own,
//! separate store, mounted behind a guard that answers 401 (with `WWW-Authenticate:
//! Bearer realm="contend"`) to a request with no credentials, an unknown or expired
//! token or session, or another scheme; authentication comes before every precondition,
//! so a stale write without a valid login is a 401, not a 412. `Location` headers point
//! into `/secure`. Every bug of the notes dialect applies there too. Tokens and sessions
//! are random 128-bit values: fit for a test server, not for guarding real data.
//!
//! [`ServerConfig::token_lifetime`]: super::ServerConfig::token_lifetime

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::{from_fn_with_state, map_response, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::problem::{bad_request, Problem};
use super::store::lock;

/// The one account's user name.
pub const LOGIN_USER: &str = "contend";

/// The one account's password.
pub const LOGIN_PASSWORD: &str = "contend-secret";

/// How long a bearer token is accepted unless [`ServerConfig::token_lifetime`] says
/// otherwise: a few seconds, so that any long run outlives its first token.
///
/// [`ServerConfig::token_lifetime`]: super::ServerConfig::token_lifetime
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(5);

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "contend_session";

/// The CSRF cookie's name.
pub const CSRF_COOKIE: &str = "csrf_token";

/// The header a state-changing request with a session cookie must echo the token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// How long a session lasts.
const SESSION_LIFETIME: Duration = Duration::from_secs(3600);

/// Most tokens and sessions kept at once; beyond this, logins get 503 until some expire,
/// so a client that logs in forever cannot grow the server without bound.
const MAX_LOGINS: usize = 100_000;

/// The realm every challenge names.
const REALM: &str = "contend";

/// The tokens and sessions handed out, shared by the login routes and the guard.
#[derive(Clone)]
pub(super) struct Logins {
    inner: Arc<Inner>,
}

struct Inner {
    token_lifetime: Duration,
    /// Bearer token → when it stops being accepted.
    tokens: Mutex<HashMap<String, Instant>>,
    /// Session id → its CSRF token and when it ends.
    sessions: Mutex<HashMap<String, Session>>,
}

/// One session: the CSRF token its changes must carry, and when it ends.
struct Session {
    csrf: String,
    expires: Instant,
}

/// What the guard found in a request's credentials.
#[derive(Debug, PartialEq, Eq)]
enum Credential {
    /// A bearer token still accepted, or the account's Basic credentials.
    Token,
    /// A live session, with the CSRF token it expects.
    Session { csrf: String },
}

/// Why the guard turned a request away.
#[derive(Debug, PartialEq, Eq)]
enum Denied {
    /// No credentials at all: 401 with a bare challenge.
    Missing,
    /// `Authorization` with a scheme other than Bearer.
    WrongScheme,
    /// A token never issued.
    UnknownToken,
    /// A token past its lifetime.
    ExpiredToken,
    /// A session cookie never issued, or ended.
    NoSession,
    /// Basic credentials of no account.
    WrongBasic,
}

impl Logins {
    /// No tokens or sessions yet; tokens will last `token_lifetime`.
    pub fn new(token_lifetime: Duration) -> Logins {
        Logins {
            inner: Arc::new(Inner {
                token_lifetime,
                tokens: Mutex::new(HashMap::new()),
                sessions: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Issues a bearer token, or `None` when too many are live.
    fn issue_token(&self) -> Option<String> {
        let now = Instant::now();
        let mut tokens = lock(&self.inner.tokens);
        tokens.retain(|_, expires| *expires > now);
        if tokens.len() >= MAX_LOGINS {
            return None;
        }
        let token = random_token();
        tokens.insert(token.clone(), now + self.inner.token_lifetime);
        Some(token)
    }

    /// Opens a session: its id and CSRF token, or `None` when too many are live.
    fn open_session(&self) -> Option<(String, String)> {
        let now = Instant::now();
        let mut sessions = lock(&self.inner.sessions);
        sessions.retain(|_, session| session.expires > now);
        if sessions.len() >= MAX_LOGINS {
            return None;
        }
        let (id, csrf) = (random_token(), random_token());
        let session = Session {
            csrf: csrf.clone(),
            expires: now + SESSION_LIFETIME,
        };
        sessions.insert(id.clone(), session);
        Some((id, csrf))
    }

    /// Who the request is, by its `Authorization` header or, without one, its session
    /// cookie.
    fn identify(&self, headers: &HeaderMap) -> Result<Credential, Denied> {
        let now = Instant::now();
        if let Some(authorization) = headers.get(header::AUTHORIZATION) {
            let value = authorization.to_str().map_err(|_| Denied::WrongScheme)?;
            let (scheme, token) = value.trim().split_once(' ').ok_or(Denied::WrongScheme)?;
            if scheme.eq_ignore_ascii_case("basic") {
                use base64::Engine as _;
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(token.trim())
                    .ok()
                    .and_then(|bytes| String::from_utf8(bytes).ok());
                let expected = format!("{LOGIN_USER}:{LOGIN_PASSWORD}");
                return match decoded {
                    Some(pair) if pair == expected => Ok(Credential::Token),
                    _ => Err(Denied::WrongBasic),
                };
            }
            if !scheme.eq_ignore_ascii_case("bearer") {
                return Err(Denied::WrongScheme);
            }
            let expires = lock(&self.inner.tokens).get(token.trim()).copied();
            return match expires {
                None => Err(Denied::UnknownToken),
                Some(expires) if expires <= now => Err(Denied::ExpiredToken),
                Some(_) => Ok(Credential::Token),
            };
        }
        let Some(id) = cookie(headers, SESSION_COOKIE) else {
            return Err(Denied::Missing);
        };
        let sessions = lock(&self.inner.sessions);
        match sessions.get(&id) {
            Some(session) if session.expires > now => Ok(Credential::Session {
                csrf: session.csrf.clone(),
            }),
            _ => Err(Denied::NoSession),
        }
    }
}

/// 128 random bits as 32 hex digits.
fn random_token() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// The value of the cookie `name` in the request's `Cookie` headers, if any.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim().to_owned())
}

/// The login routes, and `secured` (the notes routes with their own store) mounted
/// under `/secure` behind the guard.
pub(super) fn routes(logins: Logins, secured: Router) -> Router {
    let guarded = secured
        .layer(map_response(into_secure))
        .layer(from_fn_with_state(logins.clone(), guard));
    Router::new()
        .route("/auth/token", post(token_login))
        .route("/auth/session", post(session_login))
        .with_state(logins)
        .nest("/secure", guarded)
}

/// The body of both logins.
#[derive(Deserialize)]
struct LoginBody {
    username: String,
    password: String,
}

/// What to answer a login body instead of logging in: 400 for a malformed body, 401
/// for a wrong pair; `None` for the right one.
fn login_refused(body: &[u8]) -> Option<Response> {
    let login: LoginBody = match serde_json::from_slice(body) {
        Ok(login) => login,
        Err(err) => {
            return Some(bad_request(format!(
                "the login body must be JSON {{\"username\", \"password\"}}: {err}"
            )))
        }
    };
    if login.username == LOGIN_USER && login.password == LOGIN_PASSWORD {
        return None;
    }
    Some(challenge(
        Problem::new(StatusCode::UNAUTHORIZED, "wrong username or password"),
        None,
    ))
}

/// 503 when the login tables are full.
fn too_many_logins() -> Response {
    Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "too many live tokens or sessions; try again when some have expired",
    )
    .into_response()
}

/// `POST /auth/token`: a bearer token for the server's token lifetime.
async fn token_login(State(logins): State<Logins>, body: Bytes) -> Response {
    if let Some(refused) = login_refused(&body) {
        return refused;
    }
    let Some(token) = logins.issue_token() else {
        return too_many_logins();
    };
    let lifetime = logins.inner.token_lifetime;
    let millis = u64::try_from(lifetime.as_millis()).unwrap_or(u64::MAX);
    (
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": millis.div_ceil(1000),
            "expires_in_ms": millis,
        })),
    )
        .into_response()
}

/// `POST /auth/session`: a session cookie and its CSRF token (cookie, header and body).
async fn session_login(State(logins): State<Logins>, body: Bytes) -> Response {
    if let Some(refused) = login_refused(&body) {
        return refused;
    }
    let Some((id, csrf)) = logins.open_session() else {
        return too_many_logins();
    };
    let max_age = SESSION_LIFETIME.as_secs();
    let mut response = (
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({"csrf_token": csrf})),
    )
        .into_response();
    let headers = response.headers_mut();
    let cookies = [
        format!("{SESSION_COOKIE}={id}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict"),
        format!("{CSRF_COOKIE}={csrf}; Path=/; Max-Age={max_age}; SameSite=Strict"),
    ];
    for cookie in cookies {
        if let Ok(value) = HeaderValue::try_from(cookie) {
            headers.append(header::SET_COOKIE, value);
        }
    }
    if let Ok(value) = HeaderValue::try_from(csrf) {
        headers.insert(HeaderName::from_static(CSRF_HEADER), value);
    }
    response
}

/// A 401 problem with a Bearer challenge; `error` is RFC 6750's code with its
/// description.
fn challenge(problem: Problem, error: Option<(&str, &str)>) -> Response {
    let value = match error {
        None => format!("Bearer realm=\"{REALM}\""),
        Some((code, description)) => format!(
            "Bearer realm=\"{REALM}\", error=\"{code}\", error_description=\"{description}\""
        ),
    };
    let mut response = problem.into_response();
    if let Ok(value) = HeaderValue::try_from(value) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// Whether a request with this method changes something, and so needs the CSRF token
/// when it rides on a session cookie.
fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Middleware in front of `/secure`: lets through a valid bearer token, or a live
/// session cookie (with the CSRF header on changes); answers 401 or 403 otherwise.
async fn guard(State(logins): State<Logins>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let how = "log in with POST /auth/token (then send Authorization: Bearer <access_token>) \
               or POST /auth/session (then send its cookies), or send Authorization: Basic";
    match logins.identify(headers) {
        Ok(Credential::Token) => next.run(request).await,
        Ok(Credential::Session { csrf }) => {
            let echoed = headers
                .get(CSRF_HEADER)
                .and_then(|value| value.to_str().ok());
            if changes_state(request.method()) && echoed != Some(csrf.as_str()) {
                let detail = match echoed {
                    None => format!(
                        "a change made with a session cookie must send the session's CSRF \
                         token in an {CSRF_HEADER} header (the {CSRF_COOKIE} cookie)"
                    ),
                    Some(_) => format!("the {CSRF_HEADER} header is not this session's token"),
                };
                return Problem::new(StatusCode::FORBIDDEN, detail).into_response();
            }
            next.run(request).await
        }
        Err(denied) => {
            let (detail, error) = match denied {
                Denied::Missing => (format!("this resource needs a login: {how}"), None),
                Denied::WrongScheme => (
                    format!("only Bearer tokens and Basic credentials are accepted here: {how}"),
                    None,
                ),
                Denied::UnknownToken => (
                    format!("the bearer token is not one this server issued: {how}"),
                    Some(("invalid_token", "the access token is unknown")),
                ),
                Denied::ExpiredToken => (
                    format!("the bearer token expired: {how}"),
                    Some(("invalid_token", "the access token expired")),
                ),
                Denied::NoSession => (format!("the session is unknown or has ended: {how}"), None),
                Denied::WrongBasic => (format!("wrong username or password: {how}"), None),
            };
            challenge(Problem::new(StatusCode::UNAUTHORIZED, detail), error)
        }
    }
}

/// Response middleware inside `/secure`: a `Location` the notes routes set (`/notes/1`)
/// points into `/secure` (`/secure/notes/1`).
async fn into_secure(mut response: Response) -> Response {
    let moved = response
        .headers()
        .get(header::LOCATION)
        .and_then(|value| value.to_str().ok())
        .filter(|location| location.starts_with('/'))
        .and_then(|location| HeaderValue::try_from(format!("/secure{location}")).ok());
    if let Some(moved) = moved {
        response.headers_mut().insert(header::LOCATION, moved);
    }
    response
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use reqwest::header::HeaderMap as ReplyHeaders;
    use serde_json::{json, Value};

    use super::*;
    use crate::server::testing::{json_body, send, statuses, Reply, TestServer};
    use crate::server::{Bug, ServerConfig};

    fn credentials() -> Value {
        json!({"username": LOGIN_USER, "password": LOGIN_PASSWORD})
    }

    /// Logs in at `POST /auth/token` and returns the token.
    /// Logs in, creates `/secure/notes/1` and sends it `writers` simultaneous PUTs, each
    /// with the token and `If-Match: "1"`.
    async fn race_behind_the_login(server: &TestServer, writers: usize) -> Vec<Reply> {
        let token = bearer(server).await;
        let auth = [("authorization", token.as_str())];
        server
            .post_with("/secure/notes", &auth, &json!({"v": 0}))
            .await;
        let url = server.url("/secure/notes/1");
        server
            .burst(writers, |client, i| {
                let put = client
                    .put(&url)
                    .header("authorization", &token)
                    .header("if-match", "\"1\"");
                json_body(put, &json!({"writer": i}))
            })
            .await
    }

    async fn bearer(server: &TestServer) -> String {
        let login = server.post("/auth/token", &credentials()).await;
        assert_eq!(login.status, 200, "{login:?}");
        let token = login.body["access_token"].as_str().expect("a token");
        format!("Bearer {token}")
    }

    /// The `name=value` part of each `Set-Cookie`, by name.
    fn set_cookies(headers: &ReplyHeaders) -> HashMap<String, String> {
        headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .filter_map(|line| line.split(';').next())
            .filter_map(|pair| pair.split_once('='))
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect()
    }

    /// `method path` with these headers and, unless `null`, a JSON body.
    async fn request(
        server: &TestServer,
        method: reqwest::Method,
        path: &str,
        headers: &[(&str, &str)],
        body: &Value,
    ) -> Reply {
        let mut builder = reqwest::Client::new().request(method, server.url(path));
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        if !body.is_null() {
            builder = json_body(builder, body);
        }
        send(builder).await
    }

    #[tokio::test]
    async fn secure_notes_without_credentials_get_401_with_a_bearer_challenge() {
        let server = TestServer::correct().await;
        for reply in [
            server.get("/secure/notes/1").await,
            server.post("/secure/notes", &json!({"v": 1})).await,
        ] {
            assert_eq!(reply.status, 401, "{reply:?}");
            assert_eq!(
                reply.header("www-authenticate"),
                Some("Bearer realm=\"contend\"")
            );
            assert_eq!(
                reply.header("content-type"),
                Some("application/problem+json")
            );
        }
        let basic = request(
            &server,
            reqwest::Method::GET,
            "/secure/notes/1",
            &[("authorization", "Basic Y29udGVuZDpjb250ZW5kLXNlY3JldA==")],
            &Value::Null,
        )
        .await;
        assert_eq!(
            basic.status, 404,
            "the account's Basic credentials get past the guard"
        );
        let wrong_basic = request(
            &server,
            reqwest::Method::GET,
            "/secure/notes/1",
            &[("authorization", "Basic Y29udGVuZDp3cm9uZw==")],
            &Value::Null,
        )
        .await;
        assert_eq!(wrong_basic.status, 401);
        let forged = request(
            &server,
            reqwest::Method::GET,
            "/secure/notes/1",
            &[("authorization", "Bearer 0123")],
            &Value::Null,
        )
        .await;
        assert_eq!(forged.status, 401);
        assert_eq!(
            forged.header("www-authenticate"),
            Some(
                "Bearer realm=\"contend\", error=\"invalid_token\", \
                 error_description=\"the access token is unknown\""
            )
        );
        server.stop().await;
    }

    #[tokio::test]
    async fn a_wrong_password_is_401_and_a_malformed_login_400() {
        let server = TestServer::correct().await;
        let wrong = json!({"username": LOGIN_USER, "password": "guess"});
        for path in ["/auth/token", "/auth/session"] {
            let refused = server.post(path, &wrong).await;
            assert_eq!(refused.status, 401, "{path}");
            assert_eq!(refused.body["detail"], "wrong username or password");
            assert!(refused.header("set-cookie").is_none());
            assert_eq!(server.post(path, &json!({"user": 1})).await.status, 400);
        }
        server.stop().await;
    }

    #[tokio::test]
    async fn a_token_login_answers_a_bearer_token_with_its_lifetime() {
        let server = TestServer::correct().await;
        let login = server.post("/auth/token", &credentials()).await;
        assert_eq!(login.status, 200);
        assert_eq!(login.header("cache-control"), Some("no-store"));
        assert_eq!(login.body["token_type"], "Bearer");
        assert_eq!(login.body["expires_in"], 5);
        assert_eq!(login.body["expires_in_ms"], 5000);
        let token = login.body["access_token"].as_str().expect("a token");
        assert_eq!(token.len(), 32);
        assert_ne!(
            bearer(&server).await,
            format!("Bearer {token}"),
            "fresh each time"
        );
        server.stop().await;
    }

    #[tokio::test]
    async fn with_a_token_secure_notes_behave_as_notes_with_their_own_store() {
        let server = TestServer::correct().await;
        let token = bearer(&server).await;
        let auth = [("authorization", token.as_str())];
        let created = server
            .post_with("/secure/notes", &auth, &json!({"v": 1}))
            .await;
        assert_eq!(created.status, 201);
        assert_eq!(created.header("location"), Some("/secure/notes/1"));
        assert_eq!(created.header("etag"), Some("\"1\""));
        let read = request(
            &server,
            reqwest::Method::GET,
            "/secure/notes/1",
            &auth,
            &Value::Null,
        )
        .await;
        assert_eq!((read.status, read.body.clone()), (200, json!({"v": 1})));
        let write = [("authorization", token.as_str()), ("if-match", "\"1\"")];
        assert_eq!(
            server
                .put("/secure/notes/1", &write, &json!({"v": 2}))
                .await
                .status,
            200
        );
        let stale = server
            .put("/secure/notes/1", &write, &json!({"v": 3}))
            .await;
        assert_eq!(stale.status, 412);
        assert_eq!(stale.header("etag"), Some("\"2\""));
        assert_eq!(server.get("/notes/1").await.status, 404, "a separate store");
        let unauthenticated = server
            .put(
                "/secure/notes/1",
                &[("if-match", "\"2\"")],
                &json!({"v": 3}),
            )
            .await;
        assert_eq!(
            unauthenticated.status, 401,
            "authentication before preconditions"
        );
        server.stop().await;
    }

    #[tokio::test]
    async fn an_expired_token_gets_401_invalid_token_and_a_new_login_works_again() {
        let server = TestServer::start(ServerConfig {
            token_lifetime: Duration::from_secs(1),
            ..ServerConfig::default()
        })
        .await;
        let login = server.post("/auth/token", &credentials()).await;
        assert_eq!(
            (
                login.body["expires_in"].clone(),
                login.body["expires_in_ms"].clone()
            ),
            (json!(1), json!(1000))
        );
        let token = format!(
            "Bearer {}",
            login.body["access_token"].as_str().expect("token")
        );
        let auth = [("authorization", token.as_str())];
        let fresh = server
            .post_with("/secure/notes", &auth, &json!({"v": 1}))
            .await;
        assert_eq!(fresh.status, 201);
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let expired = server
            .post_with("/secure/notes", &auth, &json!({"v": 2}))
            .await;
        assert_eq!(expired.status, 401);
        assert_eq!(
            expired.header("www-authenticate"),
            Some(
                "Bearer realm=\"contend\", error=\"invalid_token\", \
                 error_description=\"the access token expired\""
            )
        );
        let refreshed = bearer(&server).await;
        let again = server
            .post_with(
                "/secure/notes",
                &[("authorization", refreshed.as_str())],
                &json!({"v": 2}),
            )
            .await;
        assert_eq!(again.status, 201);
        server.stop().await;
    }

    #[tokio::test]
    async fn a_session_login_sets_a_session_cookie_and_a_csrf_token_three_ways() {
        let server = TestServer::correct().await;
        let login = server.post("/auth/session", &credentials()).await;
        assert_eq!(login.status, 200);
        let cookies = set_cookies(&login.headers);
        let csrf = login.body["csrf_token"].as_str().expect("csrf in the body");
        assert_eq!(cookies.get(CSRF_COOKIE).map(String::as_str), Some(csrf));
        assert_eq!(login.header(CSRF_HEADER), Some(csrf));
        assert_eq!(cookies[SESSION_COOKIE].len(), 32);
        let lines: Vec<&str> = login
            .headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .collect();
        assert!(
            lines[0].ends_with("; Path=/; Max-Age=3600; HttpOnly; SameSite=Strict"),
            "{lines:?}"
        );
        server.stop().await;
    }

    #[tokio::test]
    async fn a_change_with_a_session_cookie_needs_the_csrf_header_and_a_read_does_not() {
        let server = TestServer::correct().await;
        let login = server.post("/auth/session", &credentials()).await;
        let cookies = set_cookies(&login.headers);
        let csrf = cookies[CSRF_COOKIE].clone();
        let jar = format!(
            "{SESSION_COOKIE}={}; {CSRF_COOKIE}={csrf}",
            cookies[SESSION_COOKIE]
        );
        let note = json!({"v": 1});
        let without = server
            .post_with("/secure/notes", &[("cookie", &jar)], &note)
            .await;
        assert_eq!(without.status, 403);
        assert_eq!(
            without.body["detail"],
            "a change made with a session cookie must send the session's CSRF token in an \
             x-csrf-token header (the csrf_token cookie)"
        );
        let wrong = [("cookie", jar.as_str()), (CSRF_HEADER, "0000")];
        assert_eq!(
            server
                .post_with("/secure/notes", &wrong, &note)
                .await
                .status,
            403
        );
        let with = [("cookie", jar.as_str()), (CSRF_HEADER, csrf.as_str())];
        let created = server.post_with("/secure/notes", &with, &note).await;
        assert_eq!(created.status, 201);
        let read = request(
            &server,
            reqwest::Method::GET,
            "/secure/notes/1",
            &[("cookie", &jar)],
            &Value::Null,
        )
        .await;
        assert_eq!(read.status, 200, "a read needs no CSRF token");
        let ended = request(
            &server,
            reqwest::Method::GET,
            "/secure/notes/1",
            &[("cookie", "contend_session=0000")],
            &Value::Null,
        )
        .await;
        assert_eq!(ended.status, 401);
        server.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn behind_a_login_exactly_one_of_16_simultaneous_writers_wins() {
        let server = TestServer::correct().await;
        let replies = race_behind_the_login(&server, 16).await;
        assert_eq!(statuses(&replies), [(200, 1), (412, 15)].into());
        server.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn toctou_applies_behind_the_login_too() {
        let server = TestServer::with_bug(Bug::Toctou, Duration::from_millis(200)).await;
        let replies = race_behind_the_login(&server, 8).await;
        let winners = replies.iter().filter(|reply| reply.is_success()).count();
        assert!(winners > 1, "{replies:?}");
        server.stop().await;
    }

    #[test]
    fn a_cookie_is_found_among_several_on_several_lines() {
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, HeaderValue::from_static("a=1; b=2"));
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("contend_session=s3"),
        );
        assert_eq!(cookie(&headers, "b"), Some("2".to_owned()));
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("s3".to_owned()));
        assert_eq!(cookie(&headers, "c"), None);
    }

    #[test]
    fn only_safe_methods_are_exempt_from_the_csrf_check() {
        assert!(!changes_state(&Method::GET));
        assert!(!changes_state(&Method::HEAD));
        assert!(changes_state(&Method::PUT));
        assert!(changes_state(&Method::POST));
        assert!(changes_state(&Method::DELETE));
    }
}
