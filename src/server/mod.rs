//! The embedded reference server: a small HTTP API that is correct by default and can be
//! told to misbehave in one precise way.
//!
//! It speaks the three optimistic-concurrency dialects contend tests, one collection each:
//! `etag` (`/notes`: `ETag` + `If-Match`, stale → 412), `version` (`/docs`: a JSON
//! `version` field, stale → 409) and `rev` (`/db`: CouchDB-style `_rev`, stale → 409).
//! Every conditional write in every dialect goes through one check-then-commit mechanism,
//! `store::WritePolicy`, which is also the only place a [`Bug`] is injected, so each bug
//! class shows up identically in all three dialects. The demo run serves it on a real
//! port; the tests use it to prove the checker catches every bug class.

mod arrivals;
mod etag;
mod problem;
mod rev;
mod store;
#[cfg(test)]
mod testing;
mod tls;
mod version;
mod window;

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::{Json, Router};
use serde_json::json;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use arrivals::REQUEST_ID_HEADER;
use store::{Collection, WritePolicy};
pub use tls::{start_tls, SelfSigned};

/// A bug to inject. Names on the command line: toctou, ignore-precondition, stale-token, loser-applied
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
}

impl Bug {
    /// Every bug class, in the order they are documented.
    pub const ALL: [Bug; 4] = [
        Bug::Toctou,
        Bug::IgnorePrecondition,
        Bug::StaleToken,
        Bug::LoserApplied,
    ];

    /// The name used on the command line and in the health report.
    pub fn name(self) -> &'static str {
        match self {
            Bug::Toctou => "toctou",
            Bug::IgnorePrecondition => "ignore-precondition",
            Bug::StaleToken => "stale-token",
            Bug::LoserApplied => "loser-applied",
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
#[derive(Debug, Clone, Default)]
pub struct ServerConfig {
    /// The bug to inject, if any.
    pub bug: Option<Bug>,
    /// How long a `Toctou` or `IgnorePrecondition` write waits between its check and its
    /// commit; ignored otherwise.
    pub window: Duration,
}

/// Everything the handlers share: one collection per dialect and the write mechanism.
struct AppState {
    config: ServerConfig,
    policy: WritePolicy,
    notes: Collection,
    docs: Collection,
    db: Collection,
}

/// Shared state as the handlers receive it.
type SharedState = Arc<AppState>;

/// The reference server's routes, with fresh empty collections.
pub fn router(config: ServerConfig) -> Router {
    let state = Arc::new(AppState {
        policy: WritePolicy::new(config.bug, config.window),
        config,
        notes: Collection::new(),
        docs: Collection::new(),
        db: Collection::new(),
    });
    let arrivals = arrivals::Arrivals::new();
    let windows = state.policy.window_stats();
    Router::new()
        .route("/_contend/health", get(health))
        .merge(etag::routes())
        .merge(version::routes())
        .merge(rev::routes())
        .with_state(state)
        .merge(arrivals::routes(arrivals.clone()))
        .merge(window::routes(windows))
        .layer(axum::middleware::from_fn_with_state(
            arrivals,
            arrivals::stamp,
        ))
}

/// `GET /_contend/health`: says the server is up and which bug, if any, it carries.
async fn health(State(state): State<SharedState>) -> Json<serde_json::Value> {
    let window_ms = u64::try_from(state.config.window.as_millis()).unwrap_or(u64::MAX);
    Json(json!({
        "status": "ok",
        "bug": state.config.bug.map(Bug::name),
        "window_ms": window_ms,
    }))
}

/// Binds (e.g. 127.0.0.1:0 for an ephemeral port) and serves in a background tokio task.
///
/// Connections are HTTP/1.1 with keep-alive, or HTTP/2 with prior knowledge (h2c), with
/// `TCP_NODELAY`, so a client can reuse one connection per writer (or put every write on
/// one HTTP/2 connection) and its last bytes are not held back by Nagle.
pub async fn start(config: ServerConfig, addr: SocketAddr) -> std::io::Result<RunningServer> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let listener = listener.tap_io(|stream| {
        // Best effort: without it responses are merely slower, never wrong.
        let _ = stream.set_nodelay(true);
    });
    let (shutdown, shutdown_requested) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, router(config))
            .with_graceful_shutdown(async move {
                // Either an explicit stop or the handle being dropped ends the server.
                let _ = shutdown_requested.await;
            })
            .await
    });
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

    /// Stops accepting connections, lets requests in flight finish, and waits for the task.
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

    use super::testing::{Dialect, TestServer};
    use super::*;

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
            err.contains("toctou, ignore-precondition, stale-token, loser-applied"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn health_reports_the_injected_bug_and_window() {
        let correct = TestServer::correct().await;
        let health = correct.get("/_contend/health").await;
        assert_eq!(health.status, 200);
        assert_eq!(
            health.body,
            json!({"status": "ok", "bug": null, "window_ms": 0})
        );
        correct.stop().await;

        let buggy = TestServer::with_bug(Bug::Toctou, Duration::from_millis(50)).await;
        let health = buggy.get("/_contend/health").await;
        assert_eq!(
            health.body,
            json!({"status": "ok", "bug": "toctou", "window_ms": 50})
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
