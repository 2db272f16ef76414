//! The embedded reference server: a small HTTP API that is correct by default and can be
//! told to misbehave in one precise way.
//!
//! It speaks the three optimistic-concurrency dialects contend tests, one collection each:
//! `etag` (`/notes`: `ETag` + `If-Match`, stale → 412), `version` (`/docs`: a JSON
//! `version` field, stale → 409) and `rev` (`/db`: CouchDB-style `_rev`, stale → 409).
//! Beside them are the endpoints of the other workloads: unique keys (`/users` with a
//! unique email, `/files` with a create-only `PUT`), state transitions (`/orders`), stock
//! (`/items`, `/slots`) and idempotency keys (`/payments`).
//!
//! For scenarios shaped like real third-party APIs there are also: logins (`/auth/token`
//! for short-lived bearer tokens, `/auth/session` for a session cookie with a CSRF
//! token) and `/secure/notes`, the `/notes` dialect behind them (`auth`); an object
//! store whose objects need their bucket created first (`/buckets`); and plain-text
//! resources whose counter lives in the text, `/texts` with version `ETag`s and `/dav`
//! with `ETag`s made from a one-second modification time, weak until a second has passed,
//! so that only paced rounds can have a winner (`texts`).
//!
//! Every guarded change in every family goes through one check-then-commit mechanism,
//! `store::WritePolicy`, which is where the race and write [`Bug`]s are injected, so each
//! bug class shows up identically wherever it applies; the two bugs about how conflicts
//! are answered rewrite every 409/412 on the way out (`problem::conflicts_per_bug`). The
//! demo run serves it on a real port; the tests use it to prove the checker catches
//! every bug class.

mod arrivals;
mod auth;
mod buckets;
mod conditional;
mod connection;
mod etag;
mod faults;
mod files;
mod orders;
mod payments;
mod problem;
mod rev;
mod stock;
mod store;
#[cfg(test)]
mod testing;
mod texts;
mod tls;
mod users;
mod version;
mod window;
pub mod workers;

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::middleware::map_response_with_state;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use crate::protocol::REQUEST_ID_HEADER;
pub use auth::{
    CSRF_COOKIE, CSRF_HEADER, DEFAULT_TOKEN_LIFETIME, LOGIN_PASSWORD, LOGIN_USER, SESSION_COOKIE,
};
pub use faults::Fault;
use store::{Collection, Doc, WritePolicy};
pub use tls::{start_tls, start_tls_with, SelfSigned};
pub(crate) use window::hold;

/// A bug to inject. [`Bug::ALL`] lists every one and [`Bug::name`] gives its name on the
/// command line; `--help` and the parse error both list the names from there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bug {
    /// The precondition is checked, the lock released, and the write committed `window`
    /// later without re-checking: writers arriving within the window all win.
    Toctou,
    /// A present token is never compared: a stale write is accepted (a missing one is
    /// still refused, so the failure mode is "stale accepted").
    IgnorePrecondition,
    /// A successful write stores the body but does not advance the version, so the old
    /// token keeps working.
    StaleToken,
    /// The body is stored before the check: a loser is told 412/409 but its body stays.
    LoserApplied,
    /// `/users` and `/files`: uniqueness is checked, the lock released, and the record
    /// inserted `window` later: every creator within the window gets 201.
    DupCreate,
    /// `/orders`: the transition is checked against the current state, the lock
    /// released, and applied `window` later: several transitions out of `pending` win.
    DoubleTransition,
    /// `/items` and `/slots`: stock or capacity is checked, the lock released, and
    /// taken `window` later: stock goes below zero, a slot is overbooked.
    Oversell,
    /// `/payments`: the `Idempotency-Key` is looked up, the lock released, and claimed
    /// `window` later: every concurrent duplicate is charged and answered 201.
    IdemDouble,
    /// `/notes` and `/docs` accept a write without `If-Match` or `version` (200)
    /// instead of answering 428.
    No428,
    /// Every 409 and 412 is `text/plain` `conflict`: no `ETag`, no current version,
    /// state or availability.
    OpaqueConflict,
    /// Every 409 and 412 becomes a 500 whose body leaks a stack trace line and an
    /// SQLSTATE.
    Conflict500,
    /// A write or transition that should get 409/412 is answered 2xx, as a winner
    /// would be, but nothing of it is stored; so is an unconditional write to `/notes`.
    PhantomSuccess,
    /// `/dav` serves its `ETag`, made from the one-second modification time and the
    /// length, strong at once instead of weak for the first second: two same-length
    /// writes within one second share one strong tag, so a stale `If-Match` matches.
    MtimeEtag,
}

impl Bug {
    /// Every bug class, in the order they are documented.
    pub const ALL: [Bug; 13] = [
        Bug::Toctou,
        Bug::IgnorePrecondition,
        Bug::StaleToken,
        Bug::LoserApplied,
        Bug::DupCreate,
        Bug::DoubleTransition,
        Bug::Oversell,
        Bug::IdemDouble,
        Bug::No428,
        Bug::OpaqueConflict,
        Bug::Conflict500,
        Bug::PhantomSuccess,
        Bug::MtimeEtag,
    ];

    /// The name used on the command line and in the health report.
    pub fn name(self) -> &'static str {
        match self {
            Bug::Toctou => "toctou",
            Bug::IgnorePrecondition => "ignore-precondition",
            Bug::StaleToken => "stale-token",
            Bug::LoserApplied => "loser-applied",
            Bug::DupCreate => "dup-create",
            Bug::DoubleTransition => "double-transition",
            Bug::Oversell => "oversell",
            Bug::IdemDouble => "idem-double",
            Bug::No428 => "no-428",
            Bug::OpaqueConflict => "opaque-conflict",
            Bug::Conflict500 => "conflict-500",
            Bug::PhantomSuccess => "phantom-success",
            Bug::MtimeEtag => "mtime-etag",
        }
    }
}

impl fmt::Display for Bug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Bug {
    type Err = String;

    /// Parses a command-line name (case-insensitive); the error lists the valid names.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        Bug::ALL
            .into_iter()
            .find(|bug| bug.name().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| {
                let names: Vec<&str> = Bug::ALL.iter().map(|bug| bug.name()).collect();
                format!("unknown bug {wanted:?}; valid names: {}", names.join(", "))
            })
    }
}

/// How the reference server behaves: correct (`bug: None`) or with one injected bug.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The bug to inject, if any.
    pub bug: Option<Bug>,
    /// How long a race bug (`toctou`, `ignore-precondition`, `dup-create`,
    /// `double-transition`, `oversell`, `idem-double`) waits between its check and its
    /// commit. With any bug set it is also how long a payment takes to process (10 ms
    /// without a bug).
    pub window: Duration,
    /// How long a bearer token from `POST /auth/token` is accepted
    /// ([`DEFAULT_TOKEN_LIFETIME`] by default).
    pub token_lifetime: Duration,
    /// The modification-time granularity `/dav` makes its `ETag` from, and how long it
    /// serves that tag weak after a change: one second, as file systems and static-file
    /// servers have it. A test may make it coarser, so that its unpaced rounds are certain
    /// to fall within one tick however slow the machine.
    pub mtime_granularity: Duration,
}

impl Default for ServerConfig {
    /// A correct server with a zero window and the default token lifetime.
    fn default() -> ServerConfig {
        ServerConfig {
            bug: None,
            window: Duration::ZERO,
            token_lifetime: DEFAULT_TOKEN_LIFETIME,
            mtime_granularity: Duration::from_secs(1),
        }
    }
}

/// Everything the handlers share: the check-then-commit mechanism and every family's
/// storage.
struct AppState {
    config: ServerConfig,
    policy: WritePolicy,
    notes: Collection<Doc>,
    docs: Collection<Doc>,
    db: Collection<Doc>,
    users: users::Users,
    files: files::Files,
    orders: Collection<orders::Order>,
    stock: stock::Stock,
    payments: payments::Payments,
    texts: texts::Texts,
    dav: texts::Texts,
    buckets: buckets::Buckets,
}

impl AppState {
    /// Fresh, empty storage for every family, writing through `policy`.
    fn new(config: ServerConfig, policy: WritePolicy) -> AppState {
        AppState {
            config,
            policy,
            notes: Collection::new(),
            docs: Collection::new(),
            db: Collection::new(),
            users: users::Users::default(),
            files: files::Files::default(),
            orders: Collection::new(),
            stock: stock::Stock::default(),
            payments: payments::Payments::default(),
            texts: texts::Texts::default(),
            dav: texts::Texts::default(),
            buckets: buckets::Buckets::default(),
        }
    }
}

/// The collection paths the server answers, for the health report and `contend serve`.
pub const ENDPOINTS: [&str; 15] = [
    "/notes",
    "/docs",
    "/db",
    "/users",
    "/files",
    "/orders",
    "/items",
    "/slots",
    "/payments",
    "/texts",
    "/dav",
    "/buckets",
    "/auth/token",
    "/auth/session",
    "/secure/notes",
];

/// Shared state as the handlers receive it.
type SharedState = Arc<AppState>;

/// The reference server's routes, with fresh empty collections.
pub fn router(config: ServerConfig) -> Router {
    let bug = config.bug;
    let policy = WritePolicy::new(config.bug, config.window);
    let windows = policy.window_stats();
    let logins = auth::Logins::new(config.token_lifetime);
    // `/secure/notes` has a store of its own, written through the same policy.
    let secured = etag::routes()
        .layer(map_response_with_state(bug, problem::conflicts_per_bug))
        .with_state(Arc::new(AppState::new(config.clone(), policy.clone())));
    let state = Arc::new(AppState::new(config, policy));
    let arrivals = arrivals::Arrivals::new();
    Router::new()
        .route("/_contend/health", get(health))
        .merge(etag::routes())
        .merge(version::routes())
        .merge(rev::routes())
        .merge(users::routes())
        .merge(files::routes())
        .merge(orders::routes())
        .merge(stock::routes())
        .merge(payments::routes())
        .merge(texts::routes())
        .merge(buckets::routes())
        .layer(map_response_with_state(bug, problem::conflicts_per_bug))
        .with_state(state)
        .merge(auth::routes(logins, secured))
        .merge(arrivals::routes(arrivals.clone()))
        .merge(window::routes(windows))
        .layer(axum::middleware::from_fn_with_state(
            arrivals,
            arrivals::stamp,
        ))
}

/// `GET /_contend/health`: says the server is up, which bug, if any, it carries, how
/// long a payment takes to process, and which collections it serves.
async fn health(State(state): State<SharedState>) -> Json<serde_json::Value> {
    let millis = |duration: Duration| u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
    Json(json!({
        "status": "ok",
        "bug": state.config.bug.map(Bug::name),
        "window_ms": millis(state.config.window),
        "processing_ms": millis(state.policy.processing_time()),
        "endpoints": ENDPOINTS,
    }))
}

/// Binds (e.g. 127.0.0.1:0 for an ephemeral port) and serves in a background tokio task.
///
/// Connections are HTTP/1.1 with keep-alive, or HTTP/2 with prior knowledge (h2c), with
/// `TCP_NODELAY`, so a client can reuse one connection per writer (or put every write on
/// one HTTP/2 connection) and its last bytes are not held back by Nagle. An HTTP/2
/// connection's streams run in its own task (see `connection.rs`).
pub async fn start(config: ServerConfig, addr: SocketAddr) -> std::io::Result<RunningServer> {
    start_with(config, None, addr).await
}

/// [`start`], with a [`Fault`] injected into the answers to writes (see `faults.rs`):
/// the server then speaks through its own faulty front instead of hyper.
pub async fn start_with(
    config: ServerConfig,
    fault: Option<Fault>,
    addr: SocketAddr,
) -> std::io::Result<RunningServer> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    if let Some(fault) = fault {
        let (shutdown, shutdown_requested) = oneshot::channel::<()>();
        let task = tokio::spawn(faults::serve(
            listener,
            router(config),
            fault,
            shutdown_requested,
        ));
        return Ok(RunningServer {
            addr,
            shutdown,
            task,
        });
    }
    let (shutdown, shutdown_requested) = oneshot::channel::<()>();
    let task = tokio::spawn(connection::accept(
        listener,
        router(config),
        true,
        None,
        shutdown_requested,
    ));
    Ok(RunningServer {
        addr,
        shutdown,
        task,
    })
}

/// A server started by [`start`]. Dropping it also shuts the server down, without waiting.
pub struct RunningServer {
    addr: SocketAddr,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// The address actually bound (the real port when 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL to send requests to, e.g. `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections, lets requests in flight finish (for up to
    /// [`connection::GRACE`], then closes the connections still open), and waits for the
    /// task.
    pub async fn stop(self) {
        let _ = self.shutdown.send(());
        let _ = self.task.await;
    }
}

impl fmt::Debug for RunningServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunningServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::testing::{json_body, Dialect, Reply, TestServer};
    use super::*;

    /// Provokes one conflict in every family, on a fresh server: a stale write in each
    /// dialect, a taken email, an existing file, a refused transition, a sold-out item
    /// and slot, and a payment duplicate sent with the first (in flight for `window`).
    async fn provoke_every_conflict(server: &TestServer) -> Vec<(&'static str, Reply)> {
        let mut conflicts = Vec::new();
        for (name, dialect) in [
            ("notes", Dialect::Notes),
            ("docs", Dialect::Docs),
            ("db", Dialect::Db),
        ] {
            let doc = dialect.create(server, &json!({"writer": "creator"})).await;
            server
                .write(dialect, &doc, &doc.token, &json!({"writer": 1}))
                .await;
            let stale = server
                .write(dialect, &doc, &doc.token, &json!({"writer": 2}))
                .await;
            conflicts.push((name, stale));
        }
        server.post("/users", &json!({"email": "a@b.c"})).await;
        conflicts.push((
            "users",
            server.post("/users", &json!({"email": "a@b.c"})).await,
        ));
        let create_only = [("if-none-match", "*")];
        server.put("/files/f", &create_only, &json!(1)).await;
        conflicts.push((
            "files",
            server.put("/files/f", &create_only, &json!(2)).await,
        ));
        server.post("/orders", &json!({})).await;
        server
            .post("/orders/1/transitions", &json!({"to": "cancelled"}))
            .await;
        let refused = server
            .post("/orders/1/transitions", &json!({"to": "shipped"}))
            .await;
        conflicts.push(("orders", refused));
        server.post("/items", &json!({"stock": 0})).await;
        conflicts.push(("items", server.post("/items/1/purchases", &json!({})).await));
        server.post("/slots", &json!({"capacity": 0})).await;
        let booking = json!({"who": "ann"});
        conflicts.push(("slots", server.post("/slots/1/bookings", &booking).await));
        let mut payments = server
            .burst(2, |client, _| {
                let post = client
                    .post(server.url("/payments"))
                    .header("idempotency-key", "k");
                json_body(post, &json!({"amount": 1}))
            })
            .await;
        payments.sort_by_key(|reply| reply.status);
        if let Some(duplicate) = payments.pop() {
            conflicts.push(("payments", duplicate));
        }
        conflicts
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_correct_server_answers_every_conflict_409_or_412_with_details() {
        let server = TestServer::with_bug(Bug::Toctou, Duration::from_millis(150)).await;
        // toctou only touches the dialects' simultaneous writes; these are sequential.
        for (family, reply) in provoke_every_conflict(&server).await {
            let expected = if family == "notes" || family == "files" {
                412
            } else {
                409
            };
            assert_eq!(reply.status, expected, "{family}: {reply:?}");
            let content_type = reply.header("content-type").unwrap_or_default();
            assert!(content_type.ends_with("json"), "{family}: {reply:?}");
        }
        server.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn opaque_conflict_answers_every_conflict_as_bare_text_without_a_version() {
        let server = TestServer::with_bug(Bug::OpaqueConflict, Duration::from_millis(150)).await;
        let conflicts = provoke_every_conflict(&server).await;
        assert_eq!(conflicts.len(), 9);
        for (family, reply) in conflicts {
            assert!([409, 412].contains(&reply.status), "{family}: {reply:?}");
            assert_eq!(reply.header("content-type"), Some("text/plain"), "{family}");
            assert_eq!(reply.text, "conflict", "{family}");
            assert_eq!(reply.header("etag"), None, "{family}");
        }
        server.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn conflict_500_answers_every_conflict_500_leaking_internals() {
        let server = TestServer::with_bug(Bug::Conflict500, Duration::from_millis(150)).await;
        let conflicts = provoke_every_conflict(&server).await;
        assert_eq!(conflicts.len(), 9);
        for (family, reply) in conflicts {
            assert_eq!(reply.status, 500, "{family}: {reply:?}");
            assert_eq!(reply.body["error"], "internal error", "{family}");
            assert!(
                reply.text.contains("at db.Pool.query (pool.js:42)"),
                "{family}"
            );
            assert!(reply.text.contains("SQLSTATE 23505"), "{family}");
        }
        // Only conflicts are rewritten.
        assert_eq!(server.get("/orders/1").await.status, 200);
        assert_eq!(server.get("/orders/9").await.status, 404);
        server.stop().await;
    }

    #[tokio::test]
    async fn no_428_applies_an_unconditional_write_to_notes_and_docs() {
        let server = TestServer::with_bug(Bug::No428, Duration::ZERO).await;
        for dialect in [Dialect::Notes, Dialect::Docs] {
            let doc = dialect.create(&server, &json!({"writer": "creator"})).await;
            let blind = server.put(&doc.path, &[], &json!({"writer": 1})).await;
            assert_eq!(blind.status, 200, "{dialect:?}: {blind:?}");
            let read = dialect.read(&server, &doc.path).await;
            assert_eq!(read.fields, json!({"writer": 1}), "{dialect:?}");
            assert_ne!(read.token, doc.token, "{dialect:?}");
            let stale = server
                .write(dialect, &doc, &doc.token, &json!({"writer": 2}))
                .await;
            assert_eq!(
                stale.status,
                dialect.conflict_status(),
                "{dialect:?}: still checked"
            );
        }
        server.stop().await;
    }

    #[tokio::test]
    async fn phantom_success_answers_a_stale_write_2xx_but_stores_nothing() {
        let server = TestServer::with_bug(Bug::PhantomSuccess, Duration::ZERO).await;
        for dialect in Dialect::ALL {
            let doc = dialect.create(&server, &json!({"writer": "creator"})).await;
            let winner = server
                .write(dialect, &doc, &doc.token, &json!({"writer": 1}))
                .await;
            assert!(winner.is_success(), "{dialect:?}: {winner:?}");
            let phantom = server
                .write(dialect, &doc, &doc.token, &json!({"writer": 2}))
                .await;
            assert!(phantom.is_success(), "{dialect:?}: {phantom:?}");
            let read = dialect.read(&server, &doc.path).await;
            assert_eq!(read.fields, json!({"writer": 1}), "{dialect:?}");
            assert_eq!(read.token, dialect.token_of_write(&winner), "{dialect:?}");
        }
        server.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn phantom_success_tells_every_simultaneous_writer_it_won_but_keeps_one_write() {
        let server = TestServer::with_bug(Bug::PhantomSuccess, Duration::ZERO).await;
        for dialect in Dialect::ALL {
            let doc = dialect.create(&server, &json!({"writer": "creator"})).await;
            let replies = server.race(dialect, &doc, &doc.token, 8).await;
            assert!(
                replies.iter().all(Reply::is_success),
                "{dialect:?}: {replies:?}"
            );
            let read = dialect.read(&server, &doc.path).await;
            let stored = read.fields["writer"].as_u64().expect("one writer's write");
            let stored_reply = &replies[usize::try_from(stored).expect("small index")];
            assert_eq!(
                read.token,
                dialect.token_of_write(stored_reply),
                "{dialect:?}"
            );
        }
        server.stop().await;
    }

    #[test]
    fn bug_names_round_trip() {
        for bug in Bug::ALL {
            assert_eq!(bug.name().parse::<Bug>(), Ok(bug));
        }
        assert_eq!("Stale-Token".parse::<Bug>(), Ok(Bug::StaleToken));
    }

    #[test]
    fn an_unknown_bug_name_is_an_error_listing_the_valid_names() {
        let err = "toctu".parse::<Bug>().expect_err("not a bug name");
        assert!(
            err.contains(
                "toctou, ignore-precondition, stale-token, loser-applied, dup-create, \
                 double-transition, oversell, idem-double, no-428, opaque-conflict, \
                 conflict-500, phantom-success, mtime-etag"
            ),
            "{err}"
        );
    }

    #[tokio::test]
    async fn health_reports_the_injected_bug_and_window() {
        let correct = TestServer::correct().await;
        let health = correct.get("/_contend/health").await;
        assert_eq!(health.status, 200);
        let endpoints = json!([
            "/notes",
            "/docs",
            "/db",
            "/users",
            "/files",
            "/orders",
            "/items",
            "/slots",
            "/payments",
            "/texts",
            "/dav",
            "/buckets",
            "/auth/token",
            "/auth/session",
            "/secure/notes"
        ]);
        assert_eq!(
            health.body,
            json!({
                "status": "ok",
                "bug": null,
                "window_ms": 0,
                "processing_ms": 10,
                "endpoints": endpoints,
            })
        );
        correct.stop().await;

        let buggy = TestServer::with_bug(Bug::DupCreate, Duration::from_millis(50)).await;
        let health = buggy.get("/_contend/health").await;
        assert_eq!(
            health.body,
            json!({
                "status": "ok",
                "bug": "dup-create",
                "window_ms": 50,
                "processing_ms": 50,
                "endpoints": endpoints,
            })
        );
        buggy.stop().await;
    }

    #[tokio::test]
    async fn a_stopped_server_refuses_connections() {
        let server = start(ServerConfig::default(), ([127, 0, 0, 1], 0).into())
            .await
            .expect("bind");
        let base_url = server.base_url();
        assert_eq!(
            base_url,
            format!("http://127.0.0.1:{}", server.addr().port())
        );
        server.stop().await;
        let after = reqwest::get(format!("{base_url}/_contend/health")).await;
        assert!(after.is_err(), "{after:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn correct_server_lets_exactly_one_of_16_simultaneous_writers_win() {
        let server = TestServer::correct().await;
        for dialect in Dialect::ALL {
            let doc = dialect.create(&server, &json!({"writer": "creator"})).await;
            let replies = server.race(dialect, &doc, &doc.token, 16).await;

            let winners: Vec<_> = replies.iter().filter(|reply| reply.is_success()).collect();
            assert_eq!(winners.len(), 1, "{dialect:?}: {replies:?}");
            let losers = replies.iter().filter(|reply| !reply.is_success());
            for loser in losers {
                assert_eq!(loser.status, dialect.conflict_status(), "{dialect:?}");
            }
            let winner_token = dialect.token_of_write(winners[0]);
            let read = dialect.read(&server, &doc.path).await;
            assert_eq!(read.token, winner_token, "{dialect:?}");
            assert_ne!(read.token, doc.token, "{dialect:?}");
        }
        server.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn toctou_lets_more_than_one_of_8_simultaneous_writers_win() {
        // Every writer checks within milliseconds of the first; the first commits only
        // after the window, so a 200 ms window leaves no doubt.
        let server = TestServer::with_bug(Bug::Toctou, Duration::from_millis(200)).await;
        for dialect in Dialect::ALL {
            let doc = dialect.create(&server, &json!({"writer": "creator"})).await;
            let replies = server.race(dialect, &doc, &doc.token, 8).await;
            let winners = replies.iter().filter(|reply| reply.is_success()).count();
            assert!(winners > 1, "{dialect:?}: {replies:?}");
        }
        server.stop().await;
    }

    #[tokio::test]
    async fn ignore_precondition_accepts_a_sequentially_stale_token() {
        let server = TestServer::with_bug(Bug::IgnorePrecondition, Duration::from_millis(1)).await;
        for dialect in Dialect::ALL {
            let doc = dialect.create(&server, &json!({"writer": "creator"})).await;
            let first = server
                .write(dialect, &doc, &doc.token, &json!({"writer": 1}))
                .await;
            assert!(first.is_success(), "{dialect:?}: {first:?}");
            let stale = server
                .write(dialect, &doc, &doc.token, &json!({"writer": 2}))
                .await;
            assert!(
                stale.is_success(),
                "{dialect:?}: stale token accepted: {stale:?}"
            );
            let read = dialect.read(&server, &doc.path).await;
            assert_eq!(read.fields, json!({"writer": 2}), "{dialect:?}");
        }
        server.stop().await;
    }

    #[tokio::test]
    async fn ignore_precondition_still_refuses_a_write_without_any_token() {
        let server = TestServer::with_bug(Bug::IgnorePrecondition, Duration::ZERO).await;
        for (dialect, refused) in [
            (Dialect::Notes, 428),
            (Dialect::Docs, 428),
            (Dialect::Db, 409),
        ] {
            let doc = dialect.create(&server, &json!({"writer": "creator"})).await;
            let blind = server.put(&doc.path, &[], &json!({"writer": 1})).await;
            assert_eq!(blind.status, refused, "{dialect:?}");
        }
        server.stop().await;
    }

    #[tokio::test]
    async fn stale_token_applies_a_write_without_changing_the_token() {
        let server = TestServer::with_bug(Bug::StaleToken, Duration::ZERO).await;
        for dialect in Dialect::ALL {
            let doc = dialect.create(&server, &json!({"writer": "creator"})).await;
            let first = server
                .write(dialect, &doc, &doc.token, &json!({"writer": 1}))
                .await;
            assert!(first.is_success(), "{dialect:?}: {first:?}");
            assert_eq!(dialect.token_of_write(&first), doc.token, "{dialect:?}");
            let read = dialect.read(&server, &doc.path).await;
            assert_eq!(read.token, doc.token, "{dialect:?}: token unchanged");
            assert_eq!(read.fields, json!({"writer": 1}), "{dialect:?}");

            let again = server
                .write(dialect, &doc, &doc.token, &json!({"writer": 2}))
                .await;
            assert!(again.is_success(), "{dialect:?}: old token still accepted");
        }
        server.stop().await;
    }

    #[tokio::test]
    async fn loser_applied_rejects_a_stale_write_but_keeps_its_body() {
        let server = TestServer::with_bug(Bug::LoserApplied, Duration::ZERO).await;
        for dialect in Dialect::ALL {
            let doc = dialect.create(&server, &json!({"writer": "creator"})).await;
            let winner = server
                .write(dialect, &doc, &doc.token, &json!({"writer": 1}))
                .await;
            assert!(winner.is_success(), "{dialect:?}: {winner:?}");
            let loser = server
                .write(dialect, &doc, &doc.token, &json!({"writer": 2}))
                .await;
            assert_eq!(loser.status, dialect.conflict_status(), "{dialect:?}");

            let read = dialect.read(&server, &doc.path).await;
            assert_eq!(
                read.fields,
                json!({"writer": 2}),
                "{dialect:?}: loser applied"
            );
            assert_eq!(read.token, dialect.token_of_write(&winner), "{dialect:?}");
        }
        server.stop().await;
    }
}
